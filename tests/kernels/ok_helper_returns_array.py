# sig: void(float64[:,:], float64[:])
# layout: (n,m)->(n)
# expect: ok
# kernel: k
# funcs: 2
# local s: array(float64, 1d)
def first(a):
    s = np.zeros(a.shape[0])
    for i in range(a.shape[0]):
        s[i] = a[i, 0]
    return s

def k(a, out):
    s = first(a)
    out[:] = s
