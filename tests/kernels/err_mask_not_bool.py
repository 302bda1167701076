# sig: void(float64[:], float64[:])
# layout: (n)->(n)
# expect error UG_ETYPE line 5 col 9: an array index must be a boolean mask
def f(a, out):
    out[a] = 0
