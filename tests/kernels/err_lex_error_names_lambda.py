# sig: float64(float64)
# expect error UG_ESYNTAX line 3 col 17: kernel 'k', line 3, column 17: invalid character
k = lambda x: x $ 2
