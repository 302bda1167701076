# sig: void(float32[:], float32[:])
# layout: (n)->(n)
# expect: ok
# local t: array(float32, 1d)
# local m: array(bool, 1d)
def f(a, out):
    t = a * 2.0 + 1
    m = np.isnan(a) | (a > 3)
    out[:] = t
    out[m] = 0
    out[1:] *= 2
