# sig: void(float16[:, :, :], float16[:])
# layout: (l,m,n)->()
# expect error UG_EUNSUPPORTED line 6 col 17: sum() is not supported on float16 elements
import numpy as np
def f(a, out):
    out[0] = np.sum(a)
