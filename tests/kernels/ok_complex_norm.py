# sig: void(complex64[:, :], complex128[:], float32[:], float64[:])
# layout: (n,m),(k)->(m),()
# expect: ok
import numpy as np
def f(a, v, cols, out):
    cols[:] = np.linalg.norm(a, axis=0)
    out[0] = np.linalg.norm(v) + np.linalg.norm(v, np.inf) + np.linalg.norm(a, 'fro') + np.linalg.norm(a, 1, axis=(1, 0))
