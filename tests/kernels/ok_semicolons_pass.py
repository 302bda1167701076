# sig: (int32)
# expect: ok
# local a: int32
def f(x):
    a = x; pass; a += 1
    if a: pass
    return a
