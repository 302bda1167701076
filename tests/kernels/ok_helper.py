# sig: float32(float32)
# expect: ok
# funcs: 2
def sq(v):
    return v * v

def k(x):
    return sq(x) + 1
