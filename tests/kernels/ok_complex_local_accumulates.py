# sig: (float32)
# expect: ok
# local s: complex128
def f(x):
    s = 0j
    for i in range(3):
        s += x * 1j
    return s
