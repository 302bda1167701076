# sig: (float64, int32)
# expect error UG_ETYPE line 4 col 14: cannot bitwise-and float64 and int32
def f(x, i):
    return x & i
