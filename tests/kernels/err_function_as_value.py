# sig: float64(float64)
# kernel: f
# expect error UG_ETYPE line 8 col 12: function 'g' cannot be used as a value
def g(x):
    return x

def f(x):
    return g
