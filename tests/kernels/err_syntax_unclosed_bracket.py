# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ESYNTAX line 5 col 18: ']' expected (to close '[' at line 5)
def f(a, out):
    out[0] = a[0 1]
