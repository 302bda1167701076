"""Compile time of deeply nested kernels: each statement kind (for with
continue, while with break, if) nested 10 to 64 deep, one signature each,
cache off. The front end must stay near-linear in the size of the kernel:
the time per nesting level should not grow with depth.

    python3 bench/bench_frontend.py
"""
import statistics
import sys
import time
from pathlib import Path

import ufuncgen

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
from test_language import _nested  # noqa: E402  (the kernels the test compiles)


def main():
    print(f"{'kind':6} {'depth':>5} {'ms':>8} {'ms/level':>9}")
    for kind in ("for", "while", "if"):
        for depth in (10, 20, 40, 64):
            times = []
            for rep in range(3):
                src = _nested(kind, depth).replace("s = 0.0", f"s = {rep}.5")  # fresh code: no JIT reuse
                t = time.perf_counter()
                ufuncgen.vectorize(src, ["f8(f8)"])
                times.append((time.perf_counter() - t) * 1e3)
            ms = statistics.median(times)
            print(f"{kind:6} {depth:5d} {ms:8.1f} {ms / depth:9.2f}")


if __name__ == "__main__":
    main()
