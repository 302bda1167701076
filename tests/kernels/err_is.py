# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 10: 'is' is not supported in kernels
def f(x):
    if x is None:
        return 0
    return x
