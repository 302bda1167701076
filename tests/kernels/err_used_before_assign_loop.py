# sig: int64(int64)
# expect error UG_ENAME line 6 col 12: local variable 'i' may be used before assignment
def f(n):
    for i in range(n):
        pass
    return i
