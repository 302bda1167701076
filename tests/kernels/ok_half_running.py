# sig: void(float16[:], float16[:])
# layout: (n)->(n)
# expect: ok
import numpy as np
def f(a, out):
    b = np.cumsum(a) + a.cumprod()
    d = np.diff(a, 2)
    for i in range(d.shape[0]):
        out[i] = b[i] + d[i]
