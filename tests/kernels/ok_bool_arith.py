# sig: (bool, bool)
# expect: ok
# local s: int64
# local t: bool
# local u: int64
def f(a, b):
    s = a + b
    t = a & b | a ^ b
    u = a << 1
    return s + t + u
