# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect: ok
# local s: shape(1)
def f(a, out):
    s = a.shape
    out[0] = 0
