# sig: (float64, complex64)
# expect: ok
# out: complex128
def f(x, z):
    return x / z
