# sig: float64(float64)
# expect error UG_ETYPE line 3 col 1: may reach its end without returning a value
def f(x):
    if x > 0:
        return x
