#!/usr/bin/env python3
"""Array functions inside gufunc kernels: ufuncgen vs Numba vs NumPy.

    python3 bench/bench_arrayfns.py [--quick] [--only nanmean,sort] [--reps N] [--out DIR]

(`bash bench/run.sh --arrayfns` installs what it needs and runs this.)

Each operation is one gufunc kernel, row by row over a stack: a (10000, 1000)
float64 array with 10% NaN (--quick: (2000, 1000)), layout "(n)->()" (or
"(n)->(n)" for the operations that return an array). The same kernel source
is compiled by ufuncgen.guvectorize and numba.guvectorize (target='cpu',
1 thread), and compared with NumPy's own vectorised call over the stack
(e.g. np.nanmean(x, axis=-1)). Results are checked first (ufuncgen against
NumPy: exact where the kernel's arithmetic is NumPy's, else allclose); then
each candidate is timed in rounds, order rotated, median ms per call.
ratio > 1: ufuncgen is faster. The fused row `out[:] = a * w + b` is
compared with the hand-written element loop instead of a NumPy call.
Writes bench/results/arrayfns.json.
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (kernel body using a and out, layout, numpy reference over the stack x, exact)
OPS = {
    "sum": ("out[0] = np.sum(a)", "(n)->()", lambda x: np.sum(x, axis=-1), True),
    "mean": ("out[0] = a.mean()", "(n)->()", lambda x: np.mean(x, axis=-1), True),
    "var": ("out[0] = np.var(a)", "(n)->()", lambda x: np.var(x, axis=-1), True),
    "std": ("out[0] = a.std()", "(n)->()", lambda x: np.std(x, axis=-1), True),
    "nansum": ("out[0] = np.nansum(a)", "(n)->()", lambda x: np.nansum(x, axis=-1), True),
    "nanmean": ("out[0] = np.nanmean(a)", "(n)->()", lambda x: np.nanmean(x, axis=-1), True),
    "nanvar": ("out[0] = np.nanvar(a)", "(n)->()", lambda x: np.nanvar(x, axis=-1), True),
    "nanstd": ("out[0] = np.nanstd(a)", "(n)->()", lambda x: np.nanstd(x, axis=-1), True),
    "max": ("out[0] = a.max()", "(n)->()", lambda x: np.max(x, axis=-1), True),
    "nanmin": ("out[0] = np.nanmin(a)", "(n)->()", lambda x: np.nanmin(x, axis=-1), True),
    "argmax": ("out[0] = np.argmax(a)", "(n)->()", lambda x: np.argmax(x, axis=-1).astype(float), True),
    "nanargmin": ("out[0] = np.nanargmin(a)", "(n)->()", lambda x: np.nanargmin(x, axis=-1).astype(float), True),
    "count_nonzero": ("out[0] = np.count_nonzero(a > 0)", "(n)->()",
                      lambda x: np.count_nonzero(x > 0, axis=-1).astype(float), True),
    "any": ("out[0] = np.any(np.isnan(a))", "(n)->()", lambda x: np.any(np.isnan(x), axis=-1).astype(float), True),
    "median": ("out[0] = np.median(a)", "(n)->()", lambda x: np.median(x, axis=-1), True),
    "nanmedian": ("out[0] = np.nanmedian(a)", "(n)->()", lambda x: np.nanmedian(x, axis=-1), True),
    "nanquantile": ("out[0] = np.nanquantile(a, 0.3)", "(n)->()", lambda x: np.nanquantile(x, 0.3, axis=-1), True),
    "sumsq_dev": ("out[0] = np.sum((a - np.nanmean(a)) ** 2)", "(n)->()",
                  lambda x: np.sum((x - np.nanmean(x, axis=-1, keepdims=True)) ** 2, axis=-1), False),
    "dot": ("out[0] = np.dot(a, a)", "(n)->()", lambda x: np.einsum("ij,ij->i", x, x), False),
    "norm": ("out[0] = np.linalg.norm(a)", "(n)->()", lambda x: np.linalg.norm(x, axis=-1), False),
    "where": ("out[:] = np.where(np.isnan(a), 0.0, a)", "(n)->(n)", lambda x: np.where(np.isnan(x), 0.0, x), True),
    "sort": ("out[:] = np.sort(a)", "(n)->(n)", lambda x: np.sort(x, axis=-1), True),
    "cumsum": ("out[:] = np.cumsum(a)", "(n)->(n)", lambda x: np.cumsum(x, axis=-1), True),
    "mask_mean": ("out[0] = a[~np.isnan(a)].mean()", "(n)->()", lambda x: np.nanmean(x, axis=-1), False),
}

FUSED = "def k(a, w, b, out):\n    out[:] = a * w + b\n"
LOOP = "def k(a, w, b, out):\n    for i in range(a.shape[0]):\n        out[i] = a[i] * w + b\n"


def source(body):
    return "def k(a, out):\n    " + body.replace("\n", "\n    ") + "\n"


def from_source(src):
    ns = {"np": np}
    exec(compile(src, "<kernel>", "exec"), ns)
    return ns["k"]


def time_it(fns, reps):
    """Median seconds per call of each fn, rounds with rotated order."""
    per = {}
    for name, f in fns.items():
        f()
        t0 = time.perf_counter()
        f()
        per[name] = max(1, int(0.2 / max(time.perf_counter() - t0, 1e-6)))
    samples = {n: [] for n in fns}
    names = list(fns)
    for r in range(reps):
        for name in names[r % len(names):] + names[: r % len(names)]:
            f, k = fns[name], per[name]
            t0 = time.perf_counter()
            for _ in range(k):
                f()
            samples[name].append((time.perf_counter() - t0) / k)
    return {n: statistics.median(s) for n, s in samples.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    import ufuncgen

    try:
        import numba
    except ImportError:
        numba = None
    ufuncgen.set_num_threads(1)
    if numba:
        numba.set_num_threads(1)
    rows = 2000 if args.quick else 10000
    reps = args.reps or (3 if args.quick else 7)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, 1000))
    x[rng.random(x.shape) < 0.1] = np.nan
    only = set(filter(None, args.only.split(",")))
    results = []
    print(f"array functions in kernels, {x.shape} float64, 10% NaN, 1 thread; median ms per call (ratio > 1: ufuncgen faster)")
    print(f"{'op':<14} {'ufuncgen':>9} {'numba':>9} {'numpy':>9} {'vs numba':>9} {'vs numpy':>9}  check")
    for name, (body, layout, ref, exact) in OPS.items():
        if only and name not in only:
            continue
        src = source(body)
        sig = ["void(float64[:], float64[:])"]
        ug = ufuncgen.guvectorize(src, sig, layout)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            want = ref(x)
            got = ug(x)
        ok = np.array_equal(got, want, equal_nan=True) if exact else np.allclose(got, want, rtol=1e-9, equal_nan=True)
        fns = {"ufuncgen": lambda: ug(x), "numpy": lambda: ref(x)}
        if numba:
            try:
                nb = numba.guvectorize(sig, layout, nopython=True)(from_source(src))
                with np.errstate(all="ignore"):
                    nb(x)
                fns["numba"] = lambda: nb(x)
            except Exception as e:  # an operation Numba does not compile in a gufunc
                print(f"  (numba: {type(e).__name__}: {str(e).splitlines()[0][:80]})")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            t = time_it(fns, reps)
        row = {"op": name, "check": "ok" if ok else "WRONG", **{k + "_ms": v * 1e3 for k, v in t.items()}}
        row["vs_numba"] = t["numba"] / t["ufuncgen"] if "numba" in t else None
        row["vs_numpy"] = t["numpy"] / t["ufuncgen"]
        results.append(row)
        fmt = lambda v: f"{v:9.2f}" if v is not None else f"{'n/a':>9}"  # noqa: E731
        print(f"{name:<14} {fmt(row['ufuncgen_ms'])} {fmt(row.get('numba_ms'))} {fmt(row['numpy_ms'])} "
              f"{fmt(row['vs_numba'])} {fmt(row['vs_numpy'])}  {row['check']}")
    if not only or "fused" in only:
        w, b = 1.5, -0.25
        sig = ["void(float64[:], float64, float64, float64[:])"]
        fused = ufuncgen.guvectorize(FUSED, sig, "(n),(),()->(n)")
        loop = ufuncgen.guvectorize(LOOP, sig, "(n),(),()->(n)")
        ok = np.array_equal(fused(x, w, b), loop(x, w, b), equal_nan=True)
        t = time_it({"fused": lambda: fused(x, w, b), "loop": lambda: loop(x, w, b)}, reps)
        row = {"op": "fused a*w+b", "check": "ok" if ok else "WRONG", "fused_ms": t["fused"] * 1e3,
               "loop_ms": t["loop"] * 1e3, "vs_loop": t["loop"] / t["fused"]}
        results.append(row)
        print(f"{'fused a*w+b':<14} {row['fused_ms']:9.2f} (hand-written loop {row['loop_ms']:.2f} ms): "
              f"{row['vs_loop']:.2f}x the loop  {row['check']}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "arrayfns.json"), "w") as f:
        json.dump({"shape": list(x.shape), "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
