# sig: (float16, float16)
# expect: ok
# out: float16
# tree: (+ (* a:float16 b:float16):float16 0.1:float16):float16
def f(a, b):
    return a * b + 0.1
