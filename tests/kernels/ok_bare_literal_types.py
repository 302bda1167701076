# sig: (float32)
# expect: ok
# local n: int64
# local b: bool
# local f: float64
# local g: float32
# out: float64
def k(x):
    n = 0
    b = True
    f = -1.5
    g = x * 2.0
    return g + f + n + b
