# sig: (complex128, complex64)
# expect: ok
# out: bool
def f(z, w):
    return z == w or z != 1j or not z
