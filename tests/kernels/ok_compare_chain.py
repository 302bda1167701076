# sig: (float32, int8)
# expect: ok
# out: bool
# tree: (cmp 0:float32 < x:float32 <= 1:float32)
def f(x, i):
    return 0 < x <= 1 and i != 3 or x == i
