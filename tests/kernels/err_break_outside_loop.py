# sig: float64(float64)
# expect error UG_ESYNTAX line 5 col 9: 'break' outside loop
def f(x):
    if x:
        break
    return x
