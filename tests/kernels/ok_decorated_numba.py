# sig: float64(float64)
# expect: ok
from numba import vectorize

@vectorize(["float64(float64)"], target="cpu", cache=True)
def f(x):
    return x + 1
