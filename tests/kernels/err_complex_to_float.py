# sig: (complex128)
# expect error UG_ETYPE line 4 col 12: cannot convert a complex number to float
def f(z):
    return float(z) + 1
