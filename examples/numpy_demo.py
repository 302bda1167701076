"""numpy_demo.py — generated ufuncs inside NumPy.

Three kernels become real numpy.ufunc objects (cache=True: the first run
compiles and writes the on-disk cache, the next run loads machine code from
it). They then behave like NumPy's own ufuncs: broadcasting, out=, where=,
reduce, a gufunc with axes=, and results checked against plain NumPy.

    python3 examples/numpy_demo.py      (after `pip install .`)
"""
import time

t0 = time.perf_counter()
import numpy as np

t_numpy = time.perf_counter()
import ufuncgen

t_import = time.perf_counter()


@ufuncgen.vectorize(["float32(float32)", "float64(float64)"], cache=True, target="parallel")
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@ufuncgen.vectorize(["int64(int64, int64)", "float64(float64, float64)"], cache=True, identity=0)
def add_sq(a, b):
    return a + b * b


@ufuncgen.guvectorize(["void(float64[:], float64[:], float64[:])"], "(n),(n)->()", cache=True)
def dot(a, b, out):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    out[0] = acc


t_made = time.perf_counter()
print(f"import numpy {1e3 * (t_numpy - t0):.1f} ms; import ufuncgen {1e3 * (t_import - t_numpy):.1f} ms; "
      f"three ufuncs (5 loops) created in {1e3 * (t_made - t_import):.1f} ms "
      "(loops compile, or load from the cache, in the background: a first call waits for its own)")
print("isinstance(sigmoid, np.ufunc):", isinstance(sigmoid, np.ufunc), "| types:", sigmoid.types)

rng = np.random.default_rng(0)
x = rng.standard_normal(1_000_000)
ref = 1.0 / (1.0 + np.exp(-x))
y = sigmoid(x)
print("sigmoid on 1M float64 (parallel target): max |diff| vs NumPy =", float(np.max(np.abs(y - ref))))

def best_of(f, reps=5):
    """The fastest of a few calls: one call can wait for a core another process holds."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


t_ug = best_of(lambda: sigmoid(x, out=y))
t_np = best_of(lambda: 1.0 / (1.0 + np.exp(-x)))
print(f"  time (best of 5): ufuncgen {1e3 * t_ug:.2f} ms, NumPy expression {1e3 * t_np:.2f} ms")

a = np.arange(10, dtype=np.int64)
print("add_sq.reduce(arange(10)) =", add_sq.reduce(a), "(expected", int(np.sum(a[1:] ** 2)) + 0, ")")
m = np.arange(12.0).reshape(3, 4)
print("add_sq(m, [1,2,3,4], where=m>4):\n", add_sq(m, np.array([1.0, 2, 3, 4]), where=m > 4, out=np.zeros_like(m)))

u = rng.standard_normal((5, 3))
v = rng.standard_normal((3, 5))
d = dot(u, v, axes=[(1,), (0,), ()])  # the core dimension of v is its first axis
print("dot with axes=: matches einsum:", bool(np.allclose(d, np.einsum("ij,ji->i", u, v))))
