# sig: (int32)
# expect: ok
# local x: float64
# out: float64
# tree: (= x:float64 x:int32)
def f(x):
    x = x * 0.5
    return x
