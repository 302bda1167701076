# sig: void(complex64[:], float64[:], complex128[:])
# layout: (n),(n)->()
# expect: ok
import numpy as np
def f(a, b, out):
    out[0] = np.dot(a, b) + a @ a + a.dot(b) + np.vdot(a, b)
