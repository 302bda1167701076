# sig: void(complex128[:], complex128[:])
# layout: (n)->(n)
# expect: ok
# local s: array(complex128, 1d)
# local i: array(int64, 1d)
# local m: complex128
import numpy as np
def f(a, out):
    s = np.sort(a)
    i = np.argsort(a)
    b = a.copy()
    b.sort()
    m = np.median(a) + np.nanmedian(a)
    out[:] = np.partition(s, 1)
    out[0] = np.sort([a[0], a[1]])[0] + m + b[0] + np.unique(a)[0] + i[0]
