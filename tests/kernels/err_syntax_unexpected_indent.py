# sig: float64(float64)
# expect error UG_ESYNTAX line 5 col 9: unexpected indent
def f(x):
    y = x
        return y
