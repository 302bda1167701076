# sig: (bool, bool)
# expect: ok
# local s: bool
# local t: bool
# local u: int64
# local v: int8
# local w: int64
# local p: bool
def f(a, b):
    s = a + b
    t = a & b | a ^ b
    u = a << 1
    v = a // b
    w = a - b
    p = a * b
    return s + t + u
