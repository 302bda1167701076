# sig: (int8)
# expect: ok
# out: int8
def f(x):
    return np.sign(x)
