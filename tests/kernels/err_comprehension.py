# sig: float64(float64)
# expect error UG_ESYNTAX line 4 col 15: list comprehensions are not supported in kernels
def f(x):
    return [i for i in range(3)]
