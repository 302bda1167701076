# sig: int16(int16)
# expect: ok
# tree: (= x:int16 (* x:int16 2:int16):int16)
def f(x):
    x = x * 2
    return x
