# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 16: arrays have no attribute 'dtype'
def f(a, out):
    out[0] = a.dtype
