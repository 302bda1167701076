# sig: (float64)
# expect error UG_ESYNTAX line 4 col 16: invalid number literal
def f(x):
    return x + 2jx
