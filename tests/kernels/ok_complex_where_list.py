# sig: void(complex64[:], complex64[:])
# layout: (n)->(n)
# expect: ok
# local b: array(complex64, 1d)
def f(a, out):
    b = [a[0], a[1] * 2]
    out[:2] = np.where(np.isnan(a[:2]), b, a[:2].copy())
