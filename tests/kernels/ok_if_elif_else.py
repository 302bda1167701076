# sig: float64(float64)
# expect: ok
# local y: float64
def f(x):
    if x < 0:
        y = -x
    elif x < 1:
        y = x * x
    else:
        y = 1
    return y
