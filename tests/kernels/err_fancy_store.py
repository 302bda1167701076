# sig: void(float64[:], int64[:], float64[:])
# layout: (n),(m)->()
# expect error UG_EUNSUPPORTED line 5 col 6: a[indices] = v is not supported in kernels
def f(a, idx, out):
    a[idx] = 0.0
    out[0] = a[0]
