# sig: (float32)
# expect: ok
# local a: float64
# local b: float64
def f(x):
    a = 0
    b = 0
    for i in range(10):
        a = b + 1
        b = a * 0.5
    return a + x
