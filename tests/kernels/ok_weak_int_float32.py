# sig: float32(float32)
# expect: ok
# tree: (* x:float32 2:float32):float32
def dbl(x):
    return x * 2
