# sig: void(complex128[:], complex128[:])
# layout: (n)->()
# expect error UG_EUNSUPPORTED line 6 col 17: sum() is not supported on complex128 elements
import numpy as np
def f(a, out):
    out[0] = np.sum(a)
