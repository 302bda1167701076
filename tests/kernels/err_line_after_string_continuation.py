# sig: float64(float64)
# expect error UG_ENAME line 7 col 16: name 'z' is not defined
def f(x):
    """a docstring \
continued by a backslash;
    lines after it keep their numbers"""
    return x + z
