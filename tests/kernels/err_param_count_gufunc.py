# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 4 col 1: kernel takes 3 parameters but the signature has 1 input and 1 output
def f(a, b, out):
    out[0] = a[0]
