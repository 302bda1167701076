# sig: void(float16[:, :, :], float16[:, :, :, :], float16[:], int64[:], float16[:, :], float16[:, :, :])
# layout: (l,m,n),(h,i,j,k)->(),(),(m,n),(h,j,k)
# expect: ok
import numpy as np
def f(a, b, out, idx, rows, cols):
    out[0] = np.sum(a) + a.prod() + np.nanmean(b) + np.var(a, ddof=1) + np.nanstd(b) + a.max() + np.nanmin(b)
    idx[0] = np.argmin(a) + b.argmax() + np.nanargmax(a) + np.count_nonzero(b) + np.any(a) + b.all()
    rows[:, :] = np.mean(a, axis=0) + a.sum(axis=-3) + np.nanprod(a, axis=0) + np.amin(a, axis=0)
    cols[:, :, :] = np.std(b, axis=1) + b.min(axis=1) + np.nansum(b * b, axis=-3)
