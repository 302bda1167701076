# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 5: nested functions are not supported in kernels
def f(x):
    def g(y):
        return y
    return g(x)
