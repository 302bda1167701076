# sig: float64(float64)
# expect error UG_ETYPE line 4 col 9: strings are not supported as values in kernels
def f(x):
    y = "abc"
    return x
