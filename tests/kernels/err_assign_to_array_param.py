# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 5: 'out' holds array(float64, 1d) elsewhere: it cannot also hold float64
def f(a, out):
    out = 1.0
