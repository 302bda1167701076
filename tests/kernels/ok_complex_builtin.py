# sig: (float32, int32)
# expect: ok
# local z: complex128
# out: complex128
import numpy as np
def f(x, y):
    z = complex(x, y)
    return np.exp(z) ** 2 + np.sqrt(-z) - np.log1p(z)
