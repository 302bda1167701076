# sig: void(float64[:], float64[:])
# layout: (n)->(n)
# expect: ok
# local prev: float64
def lagdiff(a, out):
    for i in range(len(a)):
        if i > 0:
            out[i] = a[i] - prev
        else:
            out[i] = 0.0
        prev = a[i]
