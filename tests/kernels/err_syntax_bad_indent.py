# sig: float64(float64)
# expect error UG_ESYNTAX line 5 col 7: unindent does not match any outer indentation level
def f(x):
        y = x
      return y
