# sig: float64(float64)
# expect error UG_ETYPE line 5 col 12: kernel 'f', line 5, column 12: strings are not supported as values
def f(x):    y = x    return "a" + y