# sig: (float32)
# expect: ok
# local acc: float64
def f(x):
    acc = 0
    acc += x
    acc = acc / 3
    return acc
