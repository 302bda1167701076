# sig: void(float64[:], float64[:])
# layout: (n)->(n)
# expect: ok
# local t: array(float64, 1d)
# local u: array(int32, 2d)
# local v: array(float64, 1d)
# local w: array(bool, 1d)
def f(a, out):
    n = len(a)
    t = np.zeros(n)
    u = np.ones((2, n), dtype=np.int32)
    v = np.full_like(a, 2.5)
    w = np.empty(n, dtype=np.bool_)
    out[0] = t[0] + u[1, 0] + v[0] + w[0]
