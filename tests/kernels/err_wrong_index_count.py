# sig: void(float64[:,:], float64[:])
# layout: (m,n)->()
# expect error UG_ETYPE line 5 col 15: has 2 dimensions but is indexed with 1 index
def f(a, out):
    out[0] = a[0]
