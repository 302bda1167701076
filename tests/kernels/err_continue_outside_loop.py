# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 5: 'continue' outside loop
def f(x):
    continue
