# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 16: cannot compare array(float64, 1d) and float64
def f(a, out):
    out[0] = a < 1.0
