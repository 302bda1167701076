# sig: (int64)
# expect: ok
# local h: int64
# local big: uint64
# local fl: float64
def f(x):
    h = 0xFF + 0o17 + 0b1010 + 1_000_000
    big = 18446744073709551615
    fl = 1e-3 + .5 + 2. + 1_0.5e1_0
    return h + x
