# sig: void(float16[:], float16[:])
# layout: (n)->(n)
# expect error UG_EUNSUPPORTED line 5 col 17: sort() is not supported on float16 elements
def f(a, out):
    out[:] = np.sort(a)
