# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 22: index 1 is out of range for the shape of a 1-d array
def f(a, out):
    out[0] = a.shape[1]
