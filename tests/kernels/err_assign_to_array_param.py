# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 5: cannot assign to array argument 'out'
def f(a, out):
    out = 1.0
