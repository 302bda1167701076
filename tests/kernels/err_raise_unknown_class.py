# sig: float64(float64)
# expect error UG_EUNSUPPORTED line 5 col 15: raising 'KeyboardInterrupt' is not supported
def f(x):
    if x < 0:
        raise KeyboardInterrupt("no")
    return x
