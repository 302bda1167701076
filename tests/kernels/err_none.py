# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 12: None is not supported in kernels
def f(x):
    return None
