# sig: (float64, float64)
# expect: ok
# out: float64
def f(a, b):
    return np.maximum(a, b) + minimum(a, b) + fmax(a, b) + np.fmin(a, b)
