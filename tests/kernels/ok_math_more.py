# sig: (float64, float64)
# expect: ok
# out: float64
def f(x, y):
    return exp2(x) + expm1(x) + log(x) + log2(x) + log10(x) + floor(x) + ceil(y) + trunc(x) + rint(y) + fabs(x) + copysign(x, y) + fmod(x, y) + erf(x) + erfc(y) + gamma(x) + lgamma(y)
