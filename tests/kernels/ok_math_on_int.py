# sig: (int32)
# expect: ok
# out: float64
def f(x):
    return math.exp(x) + np.sqrt(x) + log1p(x) + cbrt(x) + arctan2(x, 1) + hypot(x, x)
