# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 6 col 5: 't' holds array(float64, 1d) elsewhere: it cannot also hold
def f(a, out):
    t = np.zeros(3)
    t = 1.0
    out[0] = t
