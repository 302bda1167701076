# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 9: strings are not supported in kernels
def f(x):
    y = "abc"
    return x
