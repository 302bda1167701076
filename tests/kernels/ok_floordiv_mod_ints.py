# sig: (int32, int16)
# expect: ok
# local q: int32
# local r: int32
# out: int32
def divmod_(a, b):
    q = a // b
    r = a % b
    return q + r
