# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 5: 'yield' is not supported in kernels
def f(x):
    yield x
