# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 16: array index must be an integer, not float64
def f(a, out):
    out[0] = a[1.5]
