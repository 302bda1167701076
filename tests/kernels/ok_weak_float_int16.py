# sig: (int16)
# expect: ok
# ret: float64
# out: float64
# tree: (* x:int16 0.5:float64):float64
def half(x):
    return x * 0.5
