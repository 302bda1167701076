# sig: void(float64[:, :], float64[:])
# layout: (n,m)->(k)
# expect error UG_EUNSUPPORTED line 6 col 32: cumsum() along an axis of a 2-d array is not supported
import numpy as np
def f(a, out):
    out[:] = np.cumsum(a, axis=1)
