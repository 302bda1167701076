# sig: void(float32[:, :], complex128[:, :], int64[:, :], float64[:])
# layout: (n,m),(n,m),(n,m)->()
# expect: ok
import numpy as np
def f(a, z, i, out):
    out[0] = np.linalg.norm(a, 2) + np.linalg.norm(z, -2) + np.linalg.norm(i, 'nuc') + np.linalg.norm(a, 2, axis=(1, 0))
