# sig: float64(float64)
# expect error UG_ETYPE line 4 col 12: exp() takes 1 argument (2 given)
def f(x):
    return exp(x, 2)
