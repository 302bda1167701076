# sig: float64(float64)
# expect error UG_ENAME line 6 col 12: local variable 'y' may be used before assignment
def f(x):
    if x > 0:
        y = x
    return y
