# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 11: chained assignment is not supported
def f(x):
    a = b = x
    return a
