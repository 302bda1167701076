# sig: float64(float64)
# expect error UG_ENAME line 6 col 16: name 'z' is not defined
def f(x):    """lone CRs end lines,    also inside strings"""    return x + z