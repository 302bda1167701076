# sig: float64(float64, float64, float64)
# expect: ok
# tree: (return (+ (* a:float64 b:float64):float64 c:float64):float64)
def fma(a, b, c):
    return a * b + c
