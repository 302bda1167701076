"""The kernels of the ahead-of-time example: plain ufuncgen decorators.
`python -m ufuncgen.aot kernels.py -m ugaot_kernels -o DIR` compiles them
when the package is built (meson.build); the package imports the compiled
loops with no LLVM."""
import math

import ufuncgen


@ufuncgen.vectorize(["float64(float64)", "float32(float32)"])
def sigmoid(x):
    """The logistic function."""
    return 1.0 / (1.0 + math.exp(-x))


@ufuncgen.vectorize(["float64(float64, float64, float64)", "int64(int64, int64, int64)"], identity=None)
def clamp(x, lo, hi):
    """x limited to [lo, hi]."""
    return min(max(x, lo), hi)


@ufuncgen.guvectorize(["void(float64[:], int64, float64[:])", "void(float32[:], int64, float32[:])"],
                      "(n),()->(n)", target="parallel")
def movmean(a, window, out):
    """Moving mean over the last `window` values (fewer at the start)."""
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
        if i >= window:
            s -= a[i - window]
        out[i] = s / min(i + 1, window)
