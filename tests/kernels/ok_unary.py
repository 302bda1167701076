# sig: (uint8, bool)
# expect: ok
# local n: uint8
# local m: int64
# local p: bool
def f(x, b):
    n = -x
    m = -b
    p = not x
    return n + m + p + +x
