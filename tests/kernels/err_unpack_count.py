# sig: void(float64[:,:], float64[:])
# layout: (m,n)->()
# expect error UG_ETYPE line 5 col 13: cannot unpack this shape into 3 names
def f(a, out):
    m, n, p = a.shape
    out[0] = m
