# sig: (uint8, uint8)
# expect: ok
# out: uint8
def f(a, b):
    return (a & b) | (a ^ ~b) | (a << 1) >> 2
