# sig: float64(float64)
# kernel: nothere
# expect error UG_ENAME line -1 col -1: no function named 'nothere'
def f(x):
    return x
