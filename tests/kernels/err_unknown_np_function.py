# sig: float64(float64)
# expect error UG_ENAME line 4 col 15: unknown function 'sinc'
def f(x):
    return np.sinc(x)
