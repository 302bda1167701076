"""The ahead-of-time example (examples/aot/), run by scripts/demo.sh in a venv that has NumPy and the example package
but not ufuncgen: ufuncs compiled ahead of time, imported with no compiler."""
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402

t1 = time.perf_counter()
import ugaot_example as ex  # noqa: E402

t2 = time.perf_counter()
print(f"import numpy {1e3 * (t1 - t0):.1f} ms; import ugaot_example {1e3 * (t2 - t1):.2f} ms "
      f"(CPU level: {ex.cpu_level})")
try:
    import ufuncgen  # noqa: F401
    print("ufuncgen is installed here")
except ImportError:
    print("ufuncgen is not installed here; LLVM in the process:", "LLVM" in open("/proc/self/maps").read())
x = np.linspace(-2, 2, 5)
print("sigmoid:", ex.sigmoid(x), type(ex.sigmoid).__name__)
print("clamp:  ", ex.clamp(x, -1.0, 1.0))
stack = np.arange(24.0).reshape(4, 6)
print("movmean (parallel gufunc), row 3:", ex.movmean(stack, 3)[3])
