# sig: float32(float32)
# expect: ok
# ret: float32
# out: float32
# tree: (/ 1:float32 (+ 1:float32 (call exp (- x:float32):float32):float32):float32):float32
import numpy as np

def sigmoid(x):
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))
