# sig: (complex128)
# expect error UG_ETYPE line 5 col 15: floor() is not supported for complex128 arguments
import numpy as np
def f(z):
    return np.floor(z)
