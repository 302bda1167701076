# sig: float64(float64)
# expect error UG_ETYPE line 4 col 13: tuple constant 'P' (2 values) takes a constant index in range
def f(x):
    return P[int(x)]

P = (1.0, 2.0)
