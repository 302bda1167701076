# sig: float64(float64)
# expect: ok
# local a: float64
# local b: float64
def f(x):
    a = b = x
    return a
