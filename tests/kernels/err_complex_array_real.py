# sig: void(complex128[:], float64[:])
# layout: (n)->(n)
# expect error UG_EUNSUPPORTED line 5 col 16: a.real of an array is not supported
def f(a, out):
    out[:] = a.real
