# sig: void(int32[:, :], int64[:, :], int64[:, :])
# layout: (n,m)->(n,m),(n,m)
# expect: ok
import numpy as np
def f(a, s, p):
    s[:, :] = np.cumsum(a, axis=0) + a.cumsum(axis=-1)
    p[:, :] = np.cumprod(a, axis=-2) * a.cumprod(axis=1)
