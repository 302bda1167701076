# sig: (complex64, float32)
# expect: ok
# out: complex64
# tree: (+ (+ (* z:complex64 2.5:complex64):complex64 1j:complex64):complex64 x:float32):complex64
def f(z, x):
    return z * 2.5 + 1j + x
