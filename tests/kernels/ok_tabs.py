# sig: (float64)
# expect: ok
def f(x):
	if x > 0:
		return x
	return -x
