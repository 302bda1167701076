# sig: (float32)
# expect: ok
# local acc: float64
# out: float64
def f(x):
    acc = 0.0
    for i in range(3):
        acc += x
    return acc
