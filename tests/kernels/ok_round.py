# sig: (float32, int32)
# expect: ok
# local r: float32
# local k: int32
def f(x, i):
    r = round(x)
    k = round(i)
    return r + k
