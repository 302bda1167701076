# sig: void(float32[:,:], float32[:])
# layout: (m,n)->()
# expect: ok
# local r: array(float32, 1d)
# local v: array(float32, 1d)
# local x: float32
# local i: int64
# local y: float32
# local idx: shape(2)
# local p: float32
def f(a, out):
    s = 0.0
    for r in a:
        v = r[::-1]
        for i, x in enumerate(v[1:], 1):
            s += x * i
    for x, y in zip(a[0], a[1]):
        s += x - y
    for idx in np.ndindex(a.shape):
        p = a[idx]
    out[0] = s + p
