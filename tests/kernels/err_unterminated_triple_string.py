# sig: float64(float64)
# expect error UG_ESYNTAX line 5 col 5: kernel 'f', line 5, column 5: unterminated string literal
def f(x):
    return x
    """never
closed
