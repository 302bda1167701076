# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 18: expected a number, found array(float64, 1d)
def f(a, out):
    out[0] = 1.0 + a
