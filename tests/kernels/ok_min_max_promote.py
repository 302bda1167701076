# sig: (int8, float32)
# expect: ok
# local lo: float32
# local hi: int8
# out: float32
def f(a, b):
    lo = min(a, b)
    hi = max(a, 1, 2)
    return lo + hi
