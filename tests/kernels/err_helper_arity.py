# sig: float64(float64)
# kernel: f
# expect error UG_ETYPE line 8 col 12: g() takes 2 arguments (1 given)
def g(a, b):
    return a + b

def f(x):
    return g(x)
