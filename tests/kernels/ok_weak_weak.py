# sig: (int8)
# expect: ok
# local k: int64
# local f: float64
# out: int8
# tree: (= k:int64 (+ 2:int64 3:int64):int64)
def g(x):
    k = 2 + 3
    f = 1 + 2.5
    return x + k * 0
