# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ETYPE line 5 col 9: zip() gives 2 values per iteration, unpacked into 1 name
def f(a, out):
    for x in zip(a, a):
        out[0] = 1
