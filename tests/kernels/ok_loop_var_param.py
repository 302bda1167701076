# sig: int64(int64)
# expect: ok
# local n: int64
def f(n):
    for n in range(3):
        pass
    return n
