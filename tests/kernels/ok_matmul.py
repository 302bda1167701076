# sig: void(float64[:,:], float64[:,:], float64[:,:])
# layout: (m,n),(n,p)->(m,p)
# expect: ok
# local m: int64
# local p: int64
# local s: float64
def matmul(A, B, C):
    m, n = A.shape
    p = B.shape[1]
    for i in range(m):
        for j in range(p):
            s = 0.0
            for k in range(n):
                s += A[i, k] * B[k, j]
            C[i, j] = s
