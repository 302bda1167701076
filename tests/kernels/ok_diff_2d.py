# sig: void(float16[:, :], float16[:, :])
# layout: (n,m)->(n,m)
# expect: ok
import numpy as np
def f(a, out):
    out[:, :] = 0
    out[:, :a.shape[1] - 1] = np.diff(a)
    out[:a.shape[0] - 2, :] += np.diff(a, n=2, axis=0)
