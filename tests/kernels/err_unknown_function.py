# sig: float64(float64)
# expect error UG_ENAME line 4 col 12: unknown function 'frobnicate'
def f(x):
    return frobnicate(x)
