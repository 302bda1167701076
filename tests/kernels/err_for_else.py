# sig: int64(int64)
# expect error UG_ESYNTAX line 6 col 5: 'else' after a loop is not supported
def f(n):
    for i in range(n):
        pass
    else:
        pass
    return n
