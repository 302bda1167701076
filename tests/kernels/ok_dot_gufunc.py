# sig: void(float64[:], float64[:], float64[:])
# layout: (n),(n)->()
# expect: ok
# local acc: float64
# local i: int64
# param a: array(float64, 1d)
# param out: array(float64, 1d)
# ret: void
def dot(a, b, out):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    out[0] = acc
