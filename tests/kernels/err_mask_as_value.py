# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_EUNSUPPORTED line 5 col 10: a[mask] as a value is not supported
def f(a, out):
    v = a[a > 0]
    out[0] = v[0]
