# sig: (int32, int32)
# expect: ok
# out: float64
# tree: (/ a:int32 b:int32):float64
def div(a, b):
    return a / b
