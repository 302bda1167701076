# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 21: keyword arguments are not supported in kernels
def f(x):
    return round(x, ndigits=2)
