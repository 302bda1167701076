# sig: float64(float64)
# kernel: g
# expect error UG_ESYNTAX line 6 col 3: kernel 'g', line 6, column 3: unindent does not match
def g(x):
    if x > 0:
  return x
    return -x
