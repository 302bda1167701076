# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 5: 'global' is not supported in kernels
def f(x):
    global y
    return x
