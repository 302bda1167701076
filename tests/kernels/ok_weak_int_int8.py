# sig: int8(int8)
# expect: ok
# tree: (+ x:int8 1:int8):int8
def inc(x):
    return x + 1
