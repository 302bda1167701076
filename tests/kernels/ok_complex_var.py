# sig: void(complex64[:], float32[:])
# layout: (n)->()
# expect: ok
import numpy as np
def f(a, out):
    out[0] = np.var(a) + np.nanstd(a, ddof=1) + a.std()
