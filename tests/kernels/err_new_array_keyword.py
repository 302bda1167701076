# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 27: zeros() got an unexpected keyword argument 'order'
def f(a, out):
    t = np.zeros(3, order="C")
    out[0] = t[0]
