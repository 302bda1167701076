# sig: float64(int32)
# expect: ok
# tree: (call exp (- x:int32):int32):float64
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))
