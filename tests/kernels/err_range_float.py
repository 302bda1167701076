# sig: int64(float64)
# expect error UG_ETYPE line 5 col 20: range() arguments must be integers, not float64
def f(x):
    s = 0
    for i in range(x):
        s += i
    return s
