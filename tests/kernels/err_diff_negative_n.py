# sig: void(float16[:, :], float16[:, :])
# layout: (n,m)->(n,m)
# expect error UG_ETYPE line 6 col 28: diff()'s n must be a non-negative integer constant
import numpy as np
def f(a, out):
    out[:, :] = np.diff(a, -1, 0)
