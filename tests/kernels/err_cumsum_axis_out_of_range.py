# sig: void(float64[:, :], float64[:, :])
# layout: (n,m)->(n,m)
# expect error UG_ETYPE line 6 col 35: axis 2 is out of bounds for an array of dimension 2
import numpy as np
def f(a, out):
    out[:, :] = np.cumsum(a, axis=2)
