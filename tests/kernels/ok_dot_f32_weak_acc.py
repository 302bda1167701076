# sig: void(float32[:], float32[:], float32)
# layout: (n),(n)->()
# expect: ok
# local acc: float64
# param out: array(float32, 1d)
def dot(a, b, out):
    acc = 0.0
    for i in range(len(a)):
        acc += a[i] * b[i]
    out[0] = acc
