# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 5: arrays cannot be stored in variables
def f(a, out):
    b = a
    out[0] = b[0]
