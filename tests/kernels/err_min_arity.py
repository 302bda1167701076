# sig: float64(float64)
# expect error UG_ETYPE line 4 col 16: 'x' is float64, not an array: it cannot be reduced
def f(x):
    return min(x)
