# sig: int64(int64)
# expect: ok
# local i: int64
def f(n):
    for i in range(n):
        pass
    return i
