#!/usr/bin/env python3
"""Complex and float16 kernels: ufuncgen vs NumPy, Numba and C.

    python3 bench/bench_dtypes.py [--quick] [--n N] [--reps R] [--out DIR]

(`bash bench/run.sh --dtypes` installs what it needs, compiles
bench/cref_dtypes.c with gcc -O3 -march=native, with and without
-ffast-math, and runs this.)

Kernels, on n = 10M elements (--quick: 2M), 1 thread, outputs preallocated:
  muladd   a * b + c            complex128, complex64, float16
  abs2     abs(z) ** 2          complex128, complex64
  rotate   exp(1j * theta) * z  complex128, complex64 (theta the part float)
NumPy is the same expression on arrays (temporaries and all), Numba the
same kernel through numba.vectorize (float16: not supported by Numba), C the
loop in cref_dtypes.c. Results are checked first (ufuncgen against NumPy:
bit for bit for muladd and abs2, 4 ulp for rotate). Median ms per call;
GB/s counts each operand's bytes once; ratios > 1 mean ufuncgen is faster.
Writes bench/results/dtypes.json.
"""
import argparse
import ctypes
import json
import os
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_arrayfns import time_it  # noqa: E402  (median per call, rounds in rotated order)

KERNELS = {
    "muladd": ("lambda a, b, c: a * b + c", 3),
    "abs2": ("lambda z: abs(z) ** 2", 1),
    "rotate": ("def rotate(theta, z):\n    return np.exp(1j * theta) * z\n", 2),
}
CASES = [("muladd", np.complex128), ("muladd", np.complex64), ("abs2", np.complex128), ("abs2", np.complex64),
         ("rotate", np.complex128), ("rotate", np.complex64), ("muladd", np.float16)]
CFUN = {("muladd", np.complex128): "cd_muladd", ("muladd", np.complex64): "cf_muladd",
        ("abs2", np.complex128): "cd_abs2", ("abs2", np.complex64): "cf_abs2",
        ("rotate", np.complex128): "cd_rotate", ("rotate", np.complex64): "cf_rotate",
        ("muladd", np.float16): "h_muladd"}


def part(dt):
    return {np.complex128: np.float64, np.complex64: np.float32}.get(dt, dt)


def inputs(name, dt, n, rng):
    def z():
        return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dt)
    if dt == np.float16:
        return [rng.standard_normal(n).astype(dt) for _ in range(3)]
    if name == "muladd":
        return [z(), z(), z()]
    if name == "abs2":
        return [z()]
    return [rng.uniform(-np.pi, np.pi, n).astype(part(dt)), z()]


def numpy_expr(name, args):
    if name == "muladd":
        return args[0] * args[1] + args[2]
    if name == "abs2":
        return np.abs(args[0]) ** 2
    return np.exp(1j * args[0]) * args[1]


def out_dtype(name, dt):
    return part(dt) if name == "abs2" else dt


def load_c(path):
    try:
        return ctypes.CDLL(path)
    except OSError:
        return None


def c_call(lib, fname, args, out):
    fn = getattr(lib, fname)
    ptrs = [ctypes.c_void_p(a.ctypes.data) for a in args] + [ctypes.c_void_p(out.ctypes.data)]
    n = ctypes.c_long(out.size)
    return lambda: fn(*ptrs, n)


def check(name, got, want):
    if name == "rotate":
        tol = 4 * np.finfo(got.real.dtype).eps * np.maximum(np.abs(want), 1e-30)
        return bool(np.all(np.abs(got - want) <= tol))
    return bool(np.array_equal(got, want, equal_nan=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    import ufuncgen

    try:
        import numba
    except ImportError:
        numba = None
    ufuncgen.set_num_threads(1)
    n = args.n or (2_000_000 if args.quick else 10_000_000)
    reps = args.reps or (5 if args.quick else 11)
    cdir = os.environ.get("BENCH_CREF_DIR", os.path.join(HERE, "build"))
    clibs = {"c": load_c(os.path.join(cdir, "libcref_dtypes.so")),
             "c_fast": load_c(os.path.join(cdir, "libcref_dtypes_fast.so"))}
    rng = np.random.default_rng(0)
    print(f"complex and float16 kernels, n = {n:,}, 1 thread; median ms per call (ratio > 1: ufuncgen faster)")
    cols = ["ufuncgen", "numpy", "numba", "c", "c_fast"]
    print(f"{'kernel':<9} {'dtype':<11}" + "".join(f"{c:>9}" for c in cols) +
          f"{'GB/s':>7}{'vs numpy':>9}{'vs numba':>9}{'vs C':>7}  check")
    results = []
    for name, dt in CASES:
        src, nin = KERNELS[name]
        xs = inputs(name, dt, n, rng)
        odt = out_dtype(name, dt)
        sig = f"{np.dtype(odt).name}({', '.join(np.dtype(x.dtype).name for x in xs)})"
        ug = ufuncgen.vectorize(src, [sig], background=False)
        out = np.empty(n, odt)
        with np.errstate(all="ignore"):
            want = numpy_expr(name, xs)
            ug(*xs, out=out)
        ok = check(name, out, want)
        fns = {"ufuncgen": lambda: ug(*xs, out=out), "numpy": lambda: numpy_expr(name, xs)}
        if numba and dt != np.float16:
            try:
                ns = {"np": np}
                exec(compile(src if src.startswith("def") else f"k = {src}\n", "<kernel>", "exec"), ns)
                py = ns.get("rotate") or ns["k"]
                nb = numba.vectorize([sig.replace("complex128", "complex128")], nopython=True)(py)
                nb_out = np.empty(n, odt)
                nb(*xs, out=nb_out)
                fns["numba"] = lambda: nb(*xs, out=nb_out)
            except Exception as e:  # noqa: BLE001 - a column that cannot run says so
                print(f"  (numba: {type(e).__name__}: {str(e).splitlines()[0][:80]})")
        c_out = np.empty(n, odt)
        for col, lib in clibs.items():
            if lib is not None:
                fns[col] = c_call(lib, CFUN[(name, dt)], xs, c_out)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            t = time_it(fns, reps)
        nbytes = sum(x.nbytes for x in xs) + out.nbytes
        row = {"kernel": name, "dtype": np.dtype(dt).name, "n": n, "check": "ok" if ok else "WRONG",
               **{k + "_ms": v * 1e3 for k, v in t.items()}, "gb_per_s": nbytes / t["ufuncgen"] / 1e9}
        row["vs_numpy"] = t["numpy"] / t["ufuncgen"]
        row["vs_numba"] = t["numba"] / t["ufuncgen"] if "numba" in t else None
        row["vs_c"] = t["c"] / t["ufuncgen"] if "c" in t else None
        results.append(row)
        fmt = lambda v, w=9: f"{v:{w}.2f}" if v is not None else f"{'n/a':>{w}}"  # noqa: E731
        print(f"{name:<9} {row['dtype']:<11}" + "".join(fmt(row.get(c + "_ms")) for c in cols) +
              f"{row['gb_per_s']:7.1f}{fmt(row['vs_numpy'])}{fmt(row['vs_numba'])}{fmt(row['vs_c'], 7)}  {row['check']}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "dtypes.json"), "w") as f:
        json.dump({"n": n, "threads": 1, "results": results}, f, indent=1)
    return 0 if all(r["check"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
