# sig: float64(float64)
# expect: ok
# local y: float64
def f(x: float) -> float:
    y: float = x * 2
    return y
