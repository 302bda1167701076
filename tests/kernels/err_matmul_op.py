# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 14: matrix multiplication '@' is not supported
def f(x):
    return x @ x
