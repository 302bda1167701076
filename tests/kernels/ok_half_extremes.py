# sig: void(float16[:], float16[:])
# layout: (n)->()
# expect: ok
import numpy as np
def f(a, out):
    out[0] = np.min(a) + np.nanmax(a) + a.argmax() + np.nanargmin(a) + np.count_nonzero(a) + (a.any() and np.all(a))
