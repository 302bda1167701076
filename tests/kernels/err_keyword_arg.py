# sig: float64(float64)
# expect error UG_ETYPE line 4 col 29: round() takes no keyword argument 'ndigits' in kernels
def f(x):
    return round(x, ndigits=2)
