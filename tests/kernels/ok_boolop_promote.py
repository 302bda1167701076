# sig: (int8, float32)
# expect: ok
# out: float32
def f(a, b):
    return a and b
