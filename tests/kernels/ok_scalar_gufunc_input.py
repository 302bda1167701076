# sig: void(float64[:], float64, float64[:])
# layout: (n),()->(n)
# expect: ok
# param s: float64
def scale(a, s, out):
    for i in range(a.shape[0]):
        out[i] = a[i] * s
