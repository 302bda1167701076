# sig: (complex128, complex128)
# expect error UG_ETYPE line 4 col 14: '<' is not supported between complex128 and complex128
def f(z, w):
    return z < w
