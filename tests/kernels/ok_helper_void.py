# sig: void(float64[:], float64[:])
# layout: (n)->(n)
# expect: ok
def fill(o, v):
    for i in range(o.shape[0]):
        o[i] = v
    return

def k(a, out):
    fill(out, a[0])
