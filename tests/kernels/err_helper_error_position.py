# sig: float64(float64)
# kernel: f
# expect error UG_ENAME line 5 col 16: name 'zz' is not defined
def g(v):
    return v + zz

def f(x):
    return g(x)
