# sig: (uint64, int64)
# expect: ok
# out: float64
def f(a, b):
    return a + b
