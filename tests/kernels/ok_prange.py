# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect: ok
def f(a, out):
    s = 0.0
    for i in prange(a.shape[0]):
        s += a[i]
    out[0] = s
