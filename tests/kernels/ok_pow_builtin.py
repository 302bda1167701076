# sig: (float32, int8)
# expect: ok
# out: float32
def p(a, b):
    return pow(a, b) + np.power(a, 2)
