# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 11: slice bounds must be integers, not float64
def f(a, out):
    v = a[1.5:]
    out[0] = v[0]
