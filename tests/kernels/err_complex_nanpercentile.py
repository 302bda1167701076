# sig: void(complex64[:, :], complex64[:])
# layout: (m,n)->(n)
# expect error UG_ETYPE line 6 col 17: nanpercentile() of complex64 elements: NumPy refuses complex data too
import numpy as np
def f(a, out):
    out[:] = np.nanpercentile(a, 50.0, axis=0)
