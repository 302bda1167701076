# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_EUNSUPPORTED line 6 col 32: this ord of linalg.norm() is not supported in kernels
import numpy as np
def f(a, out):
    out[0] = np.linalg.norm(a, 'nuc')
