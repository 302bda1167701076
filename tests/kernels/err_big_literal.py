# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 16: integer literal is too large
def f(x):
    return x + 99999999999999999999
