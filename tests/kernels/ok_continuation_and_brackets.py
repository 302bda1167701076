# sig: (float64, float64)
# expect: ok
def f(a,
      b):
    x = a + \
        b
    y = (a *
         b)
    return x + y  # trailing comment
