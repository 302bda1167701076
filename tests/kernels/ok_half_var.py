# sig: void(float16[:], float16[:])
# layout: (n)->()
# expect: ok
import numpy as np
def f(a, out):
    out[0] = np.var(a) + a.std(ddof=1) + np.nanvar(a) + np.nanstd(a, ddof=1)
