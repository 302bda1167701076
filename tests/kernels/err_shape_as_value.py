# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 11: a.shape can only be indexed
def f(a, out):
    s = a.shape
    out[0] = 0
