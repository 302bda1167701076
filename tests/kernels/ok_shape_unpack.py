# sig: void(float64[:,:], int64[:])
# layout: (m,n)->()
# expect: ok
# local r: int64
# local c: int64
def f(a, out):
    r, c = a.shape
    out[0] = r * c + a.size + a.ndim + len(a)
