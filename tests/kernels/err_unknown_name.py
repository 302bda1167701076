# sig: float64(float64)
# expect error UG_ENAME line 4 col 16: name 'y' is not defined
def f(x):
    return x + y
