# sig: void(complex64[:], complex64[:])
# layout: (n)->()
# expect: ok
import numpy as np
def f(a, out):
    out[0] = np.sum(a) + np.mean(a) + np.nanprod(a)
