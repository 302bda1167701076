# sig: (complex64, complex64)
# expect error UG_ETYPE line 4 col 12: min() is not supported for complex64 arguments
def f(z, w):
    return min(z, w)
