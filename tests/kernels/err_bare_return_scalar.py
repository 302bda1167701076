# sig: float64(float64)
# expect error UG_ETYPE line 5 col 9: a scalar kernel must return a value
def f(x):
    if x > 0:
        return
    return x
