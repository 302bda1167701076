# sig: float64(float64)
# expect error UG_ETYPE line 4 col 12: tuples are not supported as values
def f(x):
    return x, x
