# sig: float64(float64)
# kernel: f
# expect error UG_ETYPE line 8 col 12: this call returns no value
def g(x):
    pass

def f(x):
    return g(x) + 1
