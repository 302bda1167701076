# sig: (int8)
# expect: ok
# out: complex128
def f(i):
    return i - 1.5j
