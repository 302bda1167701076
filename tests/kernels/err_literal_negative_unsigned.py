# sig: uint16(uint16)
# expect error UG_ETYPE line 5 col 13: integer literal -1 is out of range for uint16
def f(x):
    y = x
    y = y + -1
    return y
