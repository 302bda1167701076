# sig: (float64)
# expect: ok
# local e: float64
def f(x):
    e = exp(x)
    return e + 1
