# sig: void(complex128[:], complex128[:])
# layout: (n)->(n)
# expect error UG_EUNSUPPORTED line 5 col 17: sort() is not supported on complex128 elements
def f(a, out):
    out[:] = np.sort([a[0], a[1]])
