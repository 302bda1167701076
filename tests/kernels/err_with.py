# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 5: 'with' is not supported in kernels
def f(x):
    with x:
        pass
    return x
