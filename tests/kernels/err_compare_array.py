# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 16: expected a number, found array(bool, 1d)
def f(a, out):
    out[0] = a < 1.0
