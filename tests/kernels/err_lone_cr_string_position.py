# sig: float64(float64)
# expect error UG_ESYNTAX line 5 col 12: kernel 'f', line 5, column 12: strings are not supported
def f(x):    y = x    return "a" + y