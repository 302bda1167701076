# sig: void(complex128[:, :], float64[:])
# layout: (n,m)->()
# expect error UG_EUNSUPPORTED line 6 col 32: linalg.norm() of a matrix with ord=2 needs singular values
import numpy as np
def f(a, out):
    out[0] = np.linalg.norm(a, 2)
