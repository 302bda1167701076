# sig: void(complex128[:], float64[:])
# layout: (n)->()
# expect error UG_EUNSUPPORTED line 6 col 17: median() is not supported on complex128 elements
import numpy as np
def f(a, out):
    out[0] = np.median(a)
