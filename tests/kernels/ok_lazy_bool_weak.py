# sig: ()
# expect: ok
# out: int64
def f():
    return 1 + True
