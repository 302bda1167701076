# sig: (float32)
# expect error UG_ETYPE line 4 col 12: bad operand type for ~: float32
def f(x):
    return ~x
