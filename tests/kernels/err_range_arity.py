# sig: int64(int64)
# expect error UG_ETYPE line 4 col 14: range() takes 1 to 3 arguments
def f(n):
    for i in range(1, 2, 3, 4):
        pass
    return n
