# sig: int64(int64)
# expect: ok
# local n: int64
# local steps: int64
def collatz(x):
    n = x
    steps = 0
    while True:
        if n == 1:
            break
        steps += 1
        if n % 2 == 0:
            n //= 2
            continue
        n = 3 * n + 1
    return steps
