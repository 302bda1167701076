# sig: (complex64, float32)
# expect error UG_ETYPE line 4 col 14: cannot floor-divide complex64 and float32
def f(z, x):
    return z // x
