# sig: bool(bool)
# expect: ok
# tree: (~ a:bool):bool
def f(a):
    return ~a
