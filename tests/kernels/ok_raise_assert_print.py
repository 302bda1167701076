# sig: float64(float64)
# expect: ok
def f(x):
    assert x == x, "x is NaN"
    if x < 0:
        raise ValueError("negative")
    print("x is", x)
    return x
