# sig: float64(float64)
# expect error UG_ESYNTAX line 5 col 5: ')' expected (to close '(' at line 4)
def f(x):
    y = (x + 1
    return y
