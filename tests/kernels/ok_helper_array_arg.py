# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect: ok
# funcs: 2
def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s

def k(a, out):
    out[0] = total(a)
