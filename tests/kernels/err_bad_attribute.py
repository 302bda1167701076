# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 16: a.dtype can only be used as a.dtype.type(x)
def f(a, out):
    out[0] = a.dtype
