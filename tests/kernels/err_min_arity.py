# sig: float64(float64)
# expect error UG_ETYPE line 4 col 12: min() needs at least 2 arguments (1 given)
def f(x):
    return min(x)
