# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 6 col 5: a gufunc kernel cannot return a value
def f(a, out):
    out[0] = a[0]
    return 1
