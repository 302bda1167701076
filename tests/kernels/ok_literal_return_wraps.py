# sig: uint8(uint8)
# expect: ok
# NumPy casts a returned value with astype(unsafe): 300 -> 44, no error
def f(x):
    if x > 1000:
        return x
    return 300
