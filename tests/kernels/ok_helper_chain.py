# sig: (float64)
# kernel: top
# expect: ok
# funcs: 3
def a(x):
    return x + 1

def b(x):
    return a(x) * 2

def top(x):
    return b(x)
