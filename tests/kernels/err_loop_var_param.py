# sig: int64(int64)
# expect error UG_ETYPE line 4 col 9: the loop variable 'n' cannot be an argument
def f(n):
    for n in range(3):
        pass
    return n
