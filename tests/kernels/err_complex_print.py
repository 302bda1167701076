# sig: (complex128)
# expect error UG_EUNSUPPORTED line 4 col 16: print() of complex values
def f(z):
    print("z", z)
    return z
