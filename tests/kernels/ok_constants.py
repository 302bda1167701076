# sig: (float32)
# expect: ok
# out: float32
# tree: (* x:float32 3.14159:float32):float32
def f(x):
    return x * np.pi + math.e - inf + nan
