# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect: ok
# local b: array(float64, 1d)
def f(a, out):
    b = a
    out[0] = b[0]
