# sig: float64(float64)
# expect error UG_ESYNTAX line 3 col 1: expected 'def' or 'lambda'
class A:
    pass
