# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 5: 'try' is not supported in kernels
def f(x):
    try:
        return x
