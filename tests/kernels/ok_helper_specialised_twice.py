# sig: float64(float32, int16)
# kernel: k
# expect: ok
# funcs: 3
def sq(v):
    return v * v

def k(x, i):
    return sq(x) + sq(i)
