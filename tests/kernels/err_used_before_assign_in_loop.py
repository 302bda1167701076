# sig: float64(float64)
# expect error UG_ENAME line 5 col 17: local variable 'z' may be used before assignment
def f(x):
    while x > 0:
        x = x - z
    z = 1.0
    return x
