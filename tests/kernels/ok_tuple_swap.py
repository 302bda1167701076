# sig: (int8, float32)
# expect: ok
# local p: float32
# local q: float32
def f(x, y):
    p, q = x, y
    p, q = q, p
    return p - q
