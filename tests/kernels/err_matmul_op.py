# sig: float64(float64)
# expect error UG_ETYPE line 4 col 12: 'x' is float64, not an array: it cannot be a linear algebra operand
def f(x):
    return x @ x
