# sig: (int8, uint8)
# expect: ok
# out: int16
def f(a, b):
    return a + b
