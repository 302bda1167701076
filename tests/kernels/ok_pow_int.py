# sig: (int64, int64)
# expect: ok
# out: int64
# tree: (** a:int64 b:int64):int64
def p(a, b):
    return a ** b
