# sig: (complex64)
# expect: ok
# local r: float32
# local c: complex64
# local a: float32
# out: float32
import numpy as np
def f(z):
    r = z.real + z.imag
    c = z.conjugate() * np.conj(z)
    a = abs(z) + np.angle(z)
    return r + a + c.real + np.real(c) + np.imag(z)
