# sig: int64(int64)
# expect error UG_ETYPE line 5 col 26: range() step must not be zero
def f(n):
    s = 0
    for i in range(0, n, 0):
        s += i
    return s
