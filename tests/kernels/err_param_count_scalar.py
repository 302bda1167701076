# sig: float64(float64, float64)
# expect error UG_ETYPE line 3 col 1: kernel takes 1 parameter but the signature has 2 inputs
def f(x):
    return x
