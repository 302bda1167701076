# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 8: the truth value of an array is ambiguous
def f(a, out):
    if a:
        out[0] = 1
