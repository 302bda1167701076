# sig: void(float16[:, :], float16[:])
# layout: (n,m)->()
# expect error UG_ETYPE line 6 col 24: array type float16 is unsupported in linalg
import numpy as np
def f(a, out):
    out[0] = np.linalg.norm(a, 'nuc')
