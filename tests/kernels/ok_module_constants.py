# sig: float32(float32)
# expect: ok
# tree: (* x:float32 (cast 0.5:float64):float64)
# kernel: k
def k(x):
    return x * SCALE + PAIR[1] + WIDE

SCALE = 0.5
PAIR = (1, 2)
WIDE = np.float32(3)
