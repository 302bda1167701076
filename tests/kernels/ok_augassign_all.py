# sig: int32(int32, int32)
# expect: ok
# local k: int64
# local f: float64
def f(a, b):
    k = 1
    k += a; k -= b; k *= 2; k //= 3; k %= 5; k **= 2; k &= 7; k |= 8; k ^= 1; k <<= 1; k >>= 1
    f = 1
    f /= 2
    a += 1
    return k + a
