# sig: (float32)
# expect: ok
# out: float32
def half(x):
    return x * 0.5 + 1
