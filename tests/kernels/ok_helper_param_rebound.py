# sig: float32(float32)
# kernel: k
# expect: ok
# funcs: 2
def clamp(v):
    if v > 1:
        v = 1
    return v

def k(x):
    return clamp(x) * 2
