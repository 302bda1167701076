# sig: int64(int64)
# expect: ok
# local s: int64
def f(n):
    s = 0
    for i in range(n):
        s += i
    for i in range(2, n):
        s -= i
    for j in range(n, 0, -1):
        s += j
    return s
