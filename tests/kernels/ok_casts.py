# sig: (float64)
# expect: ok
# local a: int64
# local b: float64
# local c: bool
# local d: int8
# local e: float32
# local g: uint16
# tree: (= d:int8 (cast x:float64):int8)
def f(x):
    a = int(x)
    b = float(a)
    c = bool(x)
    d = int8(x)
    e = np.float32(x)
    g = numpy.uint16(d)
    return a + b + c + d + e + g
