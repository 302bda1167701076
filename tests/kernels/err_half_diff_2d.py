# sig: void(float16[:, :], float16[:, :])
# layout: (n,m)->(n,m)
# expect error UG_EUNSUPPORTED line 6 col 21: diff() of a 2-d array is not supported
import numpy as np
def f(a, out):
    out[:, :1] = np.diff(a)
