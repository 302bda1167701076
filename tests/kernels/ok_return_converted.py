# sig: int8(float64)
# expect: ok
# ret: int8
# out: int8
def f(x):
    return x * 2.5
