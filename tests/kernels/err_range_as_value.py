# sig: int64(int64)
# expect error UG_ETYPE line 4 col 9: range() can only be used in a for loop header
def f(x):
    r = range(x)
    return x
