# sig: int64(int64)
# expect error UG_ETYPE line 6 col 16: recursive call to 'fact' is not supported
def fact(n):
    if n <= 1:
        return 1
    return n * fact(n - 1)
