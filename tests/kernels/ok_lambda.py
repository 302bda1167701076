# sig: float64(float64, float64)
# expect: ok
# tree: (return (+ x:float64 (* 2:float64 y:float64):float64):float64)
lambda x, y: x + 2 * y
