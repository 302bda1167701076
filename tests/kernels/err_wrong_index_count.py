# sig: void(float64[:,:], float64[:])
# layout: (m,n)->()
# expect error UG_ETYPE line 5 col 15: expected a number, found array(float64, 1d)
def f(a, out):
    out[0] = a[0]
