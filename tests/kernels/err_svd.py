# sig: void(float64[:, :], float64[:])
# layout: (n,n)->()
# expect error UG_EUNSUPPORTED line 5 col 19: np.linalg.svd is not supported in kernels
def f(a, out):
    u = np.linalg.svd(a)
    out[0] = 0.0
