# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 9: a lambda inside a kernel is not supported
def f(x):
    g = lambda y: y
    return x
