# sig: uint8(uint8)
# expect error UG_ETYPE line 4 col 16: integer literal 300 is out of range for uint8
def f(x):
    return x + 300
