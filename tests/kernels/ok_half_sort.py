# sig: void(float16[:, :], float16[:], float16[:])
# layout: (m,n)->(n),()
# expect: ok
# local s: array(float16, 2d)
# local i: array(int64, 2d)
# local m: array(float16, 1d)
# local q: float16
import numpy as np
def f(a, out, r):
    s = np.sort(a)
    i = np.argsort(a)
    b = a[0].copy()
    b.sort()
    m = np.nanmedian(a, axis=0)
    q = np.quantile(a, 0.25) + np.nanpercentile(a[0], 75.0) + np.median(a) + np.percentile(b, 10.0)
    out[:] = np.partition(b, [0, 2]) + m + s[0] + i[0]
    r[0] = q + np.nanquantile(a, 0.5) + np.unique(a)[0]
