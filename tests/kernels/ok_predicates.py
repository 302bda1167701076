# sig: (float32)
# expect: ok
# out: bool
# tree: (call isnan x:float32):bool
def f(x):
    return isnan(x) or np.isinf(x) or not math.isfinite(x)
