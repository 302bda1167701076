# sig: float64(float64)
# kernel: f
# expect error UG_ETYPE line 7 col 5: returns a value on some paths and nothing on others
def g(x):
    if x > 0:
        return x
    return

def f(x):
    return g(x)
