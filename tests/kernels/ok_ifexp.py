# sig: (int32)
# expect: ok
# out: float64
# tree: (ifexp (cmp x:int32 > 0:int32):bool x:int32 0.5:float64):float64
def relu(x):
    return x if x > 0 else 0.5
