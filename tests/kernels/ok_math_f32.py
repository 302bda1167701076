# sig: (float32)
# expect: ok
# out: float32
def f(x):
    return sin(x) * cos(x) + tan(x) - arcsin(x) + acos(x) + np.arctan(x) + sinh(x) + cosh(x) + tanh(x) + asinh(x) + arccosh(x) + atanh(x)
