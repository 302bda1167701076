# sig: (float16, int8, int16)
# expect: ok
# local x: float16
# local y: float32
def f(a, i, j):
    x = a + i
    y = a + j
    return x + y
