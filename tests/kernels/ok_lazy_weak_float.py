# sig: ()
# expect: ok
# out: float64
def f():
    return 2.5
