# sig: (int32)
# expect: ok
# out: int32
f = lambda x: x * 3
