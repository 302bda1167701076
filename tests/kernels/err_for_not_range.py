# sig: void(float64[:], float64[:])
# layout: (n)->()
# expect error UG_ESYNTAX line 5 col 14: loops other than 'for ... in range(...)' are not supported
def f(a, out):
    for v in enumerate(a):
        pass
