# sig: int64(int64)
# kernel: even
# expect error UG_ETYPE line 7 col 12: recursive call to 'even' is not supported
def odd(n):
    if n == 0:
        return 0
    return even(n - 1)

def even(n):
    if n == 0:
        return 1
    return odd(n - 1)
