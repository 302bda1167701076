# sig: (float32)
# expect: ok
# out: complex64
def f(x):
    return x * 2j
