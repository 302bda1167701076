# sig: void(complex128[:], complex128[:])
# layout: (n)->()
# expect error UG_ETYPE line 6 col 17: quantile() of complex128 elements: NumPy refuses complex data too (TypeError: a must be an array of real numbers)
import numpy as np
def f(a, out):
    out[0] = np.quantile(a, 0.5)
