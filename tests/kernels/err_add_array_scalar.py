# sig: void(float64[:], float64[:], float64[:])
# layout: (n),(n)->()
# expect error UG_ETYPE line 7 col 13: cannot add float64 and array(float64, 1d)
def dot(a, b, out):
    acc = 0.0
    for i in range(3):
        acc += a[i] * b
    out[0] = acc
