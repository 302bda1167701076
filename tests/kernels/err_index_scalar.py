# sig: float64(float64)
# expect error UG_ETYPE line 4 col 12: 'x' is float64, not an array
def f(x):
    return x[0]
