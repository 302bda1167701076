# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 6 col 14: 'n' is int64, not an array: it cannot be iterated over
def f(a, out):
    n = 3
    for v in n:
        pass
