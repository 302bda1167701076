# sig: void(complex128[:], complex128[:])
# layout: (n)->(n)
# expect: ok
import numpy as np
def f(a, out):
    c = np.cumsum(a) + np.cumprod(a)
    d = np.diff(a)
    out[0] = c[0] + d[0]
