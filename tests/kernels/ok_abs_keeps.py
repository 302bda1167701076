# sig: (int16)
# expect: ok
# out: int16
def f(x):
    return abs(x)
