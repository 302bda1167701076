#!/usr/bin/env python3
"""numbagg as a real client: each numbagg kernel compiled by ufuncgen against
numbagg's own Numba build, measured side by side in one run.

    python3 bench/bench_numbagg.py [--quick] [--only nanmean,move_mean,...] [--threads 1,2]
                                   [--reps N] [--no-compile] [--out DIR]

(`bash bench/run.sh --numbagg` installs numbagg and runs this.) Prints one
table of ratios, writes bench/results/numbagg.json.

How the two versions are made
-----------------------------
numbagg builds every function by calling ``numba.guvectorize(signatures,
layout, nopython=True, target=..., ...)(func)`` through its module
``numbagg.decorators``. Here that module's ``numba`` is replaced by a shim
that forwards everything to Numba except ``guvectorize``, which goes to Numba
or to ``ufuncgen.guvectorize`` (same function object, signatures written as
strings; ndreduce kernels get their source rebuilt from numbagg's AST
transform), depending on which twin is compiling. Each numbagg function
object is copied once per (backend, target); a copy keeps its own gufuncs,
so both versions live side by side and run through numbagg's own wrappers
(axis handling, output allocation, label counting): what a numbagg user
calls, e.g. ``numbagg.move_mean(x, window=20)``.

Method
------
* Shapes: ``1e6``: a 1-d array of 1e6 elements, reduced / moved along;
  ``1000x1000``: a (1000, 1000) stack, along the last axis. The matrix
  kernels take 4 variables: nancorrmatrix/nancovmatrix (vars, obs) =
  (4, 250000) and a stack (250, 4, 1000); the moving matrix kernels (obs, vars)
  = (250000, 4) and (250, 1000, 4). 10% of the values are NaN. Group labels:
  100 groups, 2% of the labels -1.
* T=1: both ``target='cpu'`` (numbagg's ``_target_cpu``). T=2: both
  ``target='parallel'``, ``ufuncgen.set_num_threads(2)`` and
  ``numba.set_num_threads(2)``; numbagg's cpu-only kernels (nanargmax,
  nanargmin, nanmax, nanmin: numba issue 7350) stay on 'cpu' both ways.
* Before timing, ufuncgen's result is checked against Numba's (same shape and
  dtype, allclose with NaN equal: float64 rtol 1e-9, float32 rtol 1e-4; exact
  for integers and booleans); a mismatch is shown as WRONG, and still timed.
* Timing: bench_suite.measure: rounds, order rotated, each sample >= min-sample
  seconds; median ms per call; noise = IQR / median. ratio = Numba ms /
  ufuncgen ms: > 1 means ufuncgen is faster.
* Compile time: each gufunc numbagg created during the run (kernel, its
  signature list, layout) is created again, ``target='cpu'``, no cache:
  ``numba.guvectorize(sigs, layout, nopython=True, cache=False)(func)``
  against ``ufuncgen.guvectorize(sigs, layout, cache=False)(func)``; median of
  --compile-reps. Numba's @njit helpers (numbagg's funcs/moving_matrix
  helpers) are compiled once per process, so Numba's later reps skip them:
  this favours Numba.
"""

import argparse
import ast
import copy
import datetime
import inspect
import json
import os
import platform
import statistics
import sys
import textwrap
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_suite import Cand, _cpu_name, fmt_ms, measure  # noqa: E402

# ------------------------------------------------------------------ the swap
# (the technique of tests/python/test_numbagg.py, kept here so bench/ stands alone)


def _type_str(t, nt) -> str:
    if isinstance(t, nt.Array):
        return f"{t.dtype}[{', '.join([':'] * t.ndim)}]"
    return str(t)


def signature_str(sig, nt) -> str:
    """A Numba signature (tuple of types, or a Signature) as ufuncgen's string."""
    if isinstance(sig, tuple):
        return "void(" + ", ".join(_type_str(t, nt) for t in sig) + ")"
    return str(sig)


def ndreduce_source(obj) -> tuple:
    """The rewritten source numbagg's ndreduce hands to Numba (an AST, which
    inspect cannot read back): rebuilt from the original text."""
    from numbagg.transform import _NDReduceTransformer
    tree = _NDReduceTransformer().visit(ast.parse(textwrap.dedent(inspect.getsource(obj.func))))
    ast.fix_missing_locations(tree)
    return obj.func.__name__, ast.unparse(tree)


class Swap:
    """numbagg.decorators.numba replaced by a shim; `compiling` says which
    backend the next guvectorize call goes to and records it."""

    def __init__(self, numba, ufuncgen, nd):
        self.numba, self.ug, self.nd = numba, ufuncgen, nd
        from numba.core import types as nt
        self.nt = nt
        self.backend = "numba"
        self.current = None  # (name, numbagg object) being compiled
        self.log = []  # every gufunc creation: dict(name, backend, target, sigs, layout, ...)
        swap = self

        class _Shim:  # numbagg calls numba.guvectorize through its module object
            def __getattr__(self, name):
                return swap.guvectorize if name == "guvectorize" else getattr(numba, name)

        self.real = nd.numba
        nd.numba = _Shim()

    def restore(self):
        self.nd.numba = self.real

    def guvectorize(self, signatures, layout, **options):
        backend, (name, obj) = self.backend, self.current

        def decorate(func):
            entry = {"name": name, "backend": backend, "target": options.get("target", "cpu"),
                     "layout": layout, "numba_sigs": list(signatures), "options": dict(options), "func": func}
            t0 = time.perf_counter()
            try:
                if backend == "numba":
                    g = self.numba.guvectorize(signatures, layout, **options)(func)
                else:
                    entry["kernel"] = func
                    if func.__name__ == "__numbagg_transformed_func":
                        entry["kernel"] = ndreduce_source(obj)[1]
                    entry["sigs"] = [signature_str(s, self.nt) for s in signatures]
                    g = self.ug.guvectorize(entry["sigs"], layout, target=entry["target"],
                                            cache=False)(entry["kernel"])
            except Exception as e:
                entry["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "")
                self.log.append(entry)
                raise
            entry["seconds"] = time.perf_counter() - t0
            self.log.append(entry)
            return g

        return decorate


def twin(swap, name, orig, backend, target):
    """A copy of numbagg's function object whose gufuncs come from backend,
    built for target ('cpu' or 'parallel'); its own memo of gufuncs."""
    obj = copy.copy(orig)
    obj._target_cpu = target == "cpu"
    make = type(orig).gufunc.__wrapped__  # numbagg's gufunc(), without its functools.cache
    memo = {}

    def gufunc(*a, **kw):
        key = (a, tuple(sorted(kw.items())))
        g = memo.get(key)
        if g is None:
            saved = swap.backend, swap.current
            swap.backend, swap.current = backend, (name, orig)
            try:
                g = memo[key] = make(obj, *a, **kw)
            finally:
                swap.backend, swap.current = saved
        return g

    obj.gufunc = gufunc
    return obj


# ------------------------------------------------------------------ the calls

AGG = ["allnan", "anynan", "nancount", "nansum", "nanmean", "nanvar", "nanstd",
       "nanargmax", "nanargmin", "nanmax", "nanmin"]
FILL = ["bfill", "ffill"]
MOVE1 = ["move_mean", "move_sum", "move_std", "move_var"]
MOVE2 = ["move_cov", "move_corr"]
EXP1 = ["move_exp_nancount", "move_exp_nanmean", "move_exp_nansum", "move_exp_nanvar", "move_exp_nanstd"]
EXP2 = ["move_exp_nancov", "move_exp_nancorr"]
MATRIX = ["nancorrmatrix", "nancovmatrix"]
MOVEMATRIX = ["move_corrmatrix", "move_covmatrix"]
EXPMATRIX = ["move_exp_nancorrmatrix", "move_exp_nancovmatrix"]
QUANT = ["nanquantile"]
WINDOW, ALPHA, NGROUPS, NVARS = 20, 0.1, 100, 4


def kernel_names(numbagg):
    groups = sorted(k for k in dir(numbagg) if k.startswith("group_"))
    return AGG + QUANT + FILL + MOVE1 + MOVE2 + EXP1 + EXP2 + MATRIX + MOVEMATRIX + EXPMATRIX + groups


def shape_of(name, size, n):
    """The array shape for a kernel: size '1e6' (1-d) or 'stack' (rows x 1000)."""
    if name in MATRIX:
        return (NVARS, n // NVARS) if size == "1e6" else (n // 1000 // NVARS, NVARS, 1000)
    if name in MOVEMATRIX or name in EXPMATRIX:
        return (n // NVARS, NVARS) if size == "1e6" else (n // 1000 // NVARS, 1000, NVARS)
    return (n,) if size == "1e6" else (n // 1000, 1000)


def data(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x[rng.random(shape) < 0.10] = np.nan
    return x


def call_args(name, size, dtype, n):
    """(args, kwargs) of numbagg's public function for this configuration."""
    shape = shape_of(name, size, n)
    x = data(shape, dtype, 1)
    if name in AGG:
        return (x,), {"axis": -1}
    if name in QUANT:
        return (x, [0.25, 0.5, 0.75]), {"axis": -1}
    if name in FILL:
        return (x,), {}
    if name in MOVE1:
        return (x,), {"window": WINDOW}
    if name in MOVE2:
        return (x, data(shape, dtype, 2)), {"window": WINDOW}
    if name in EXP1:
        return (x,), {"alpha": ALPHA}
    if name in EXP2:
        return (x, data(shape, dtype, 2)), {"alpha": ALPHA}
    if name in MATRIX:
        return (x,), {}
    if name in MOVEMATRIX:
        return (x,), {"window": WINDOW}
    if name in EXPMATRIX:
        return (x,), {"alpha": ALPHA}
    if name.startswith("group_"):
        rng = np.random.default_rng(3)
        labels = rng.integers(0, NGROUPS, shape[-1])
        labels[rng.random(shape[-1]) < 0.02] = -1
        return (x, labels), {"axis": -1}
    raise KeyError(name)


def dtypes_of(name):
    return ["float64"] if name in QUANT else ["float64", "float32"]


# ------------------------------------------------------------------ checking


def check(got, want, dtype):
    """'ok' or 'WRONG: ...': ufuncgen's result against Numba's."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return "WRONG: shape %s, Numba %s" % (got.shape, want.shape)
    if got.dtype != want.dtype:
        return "WRONG: dtype %s, Numba %s" % (got.dtype, want.dtype)
    if want.dtype.kind not in "fc":
        bad = int((got != want).sum())
        return "ok" if not bad else "WRONG: %d of %d differ" % (bad, want.size)
    rtol = 1e-4 if dtype == "float32" else 1e-9
    fin = np.isfinite(want)
    scale = float(np.abs(want[fin]).max()) if fin.any() else 1.0
    close = np.isclose(got, want, rtol=rtol, atol=rtol * 1e-3 * scale, equal_nan=True)
    bad = int((~close).sum())
    return "ok" if not bad else "WRONG: %d of %d differ" % (bad, want.size)


# ------------------------------------------------------------------ timing


def run_config(name, twins, args, kwargs, dtype, T, set_threads, reps, min_sample):
    """Both twins of one kernel in one configuration: check, then rounds."""
    def runner(obj):
        def fn():
            with np.errstate(all="ignore"):
                return obj(*args, **kwargs)
        return fn

    nb = Cand("numba", runner(twins["numba"]), threads=set_threads)
    ug = Cand("ufuncgen", runner(twins["ufuncgen"]), threads=set_threads)
    want = None
    for c in (nb, ug):
        try:
            set_threads()
            r = c.fn()
            if c is nb:
                want, c.status = r, "ok"
            else:
                c.status = check(r, want, dtype) if want is not None else "ok (unchecked: Numba failed)"
        except Exception as e:
            msg = str(e).splitlines()[0][:160] if str(e) else ""
            c.status = "error: %s: %s" % (type(e).__name__, msg)
    del want
    measure([nb, ug], reps, min_sample)
    return nb, ug


# ------------------------------------------------------------------ compile time


def compile_times(swap, numba, ug, reps):
    """Per kernel: create again every gufunc numbagg made for it (cpu, no cache)."""
    seen, per_kernel = set(), {}
    for e in swap.log:
        if e["backend"] != "numba" or e["target"] != "cpu" or "error" in e:
            continue
        key = (e["name"], e["layout"], tuple(map(str, e["numba_sigs"])))
        if key in seen:
            continue
        seen.add(key)
        per_kernel.setdefault(e["name"], []).append(e)
    ug_kernels = {}
    for e in swap.log:
        if e["backend"] == "ufuncgen" and "kernel" in e:
            ug_kernels.setdefault(e["name"], e["kernel"])
    out = []
    for name, entries in per_kernel.items():
        row = {"kernel": name, "gufuncs": len(entries), "nsigs": sum(len(e["numba_sigs"]) for e in entries),
               "layouts": [e["layout"] for e in entries]}
        for who in ("numba", "ufuncgen"):
            tot = []
            try:
                for r in range(reps):
                    t = 0.0
                    for e in entries:
                        if who == "numba":
                            opts = dict(e["options"], target="cpu", cache=False)
                            t0 = time.perf_counter()
                            numba.guvectorize(e["numba_sigs"], e["layout"], **opts)(e["func"])
                            t += time.perf_counter() - t0
                        else:
                            kernel = e["func"]
                            if kernel.__name__ == "__numbagg_transformed_func":
                                kernel = ug_kernels.get(name)
                                if kernel is None:
                                    raise RuntimeError("no ufuncgen source for this ndreduce kernel")
                            sigs = [signature_str(s, swap.nt) for s in e["numba_sigs"]]
                            t0 = time.perf_counter()
                            ug.guvectorize(sigs, e["layout"], target="cpu", cache=False, background=False)(kernel)
                            t += time.perf_counter() - t0
                    tot.append(t)
                row[who + "_ms"] = statistics.median(tot) * 1e3
            except Exception as ex:
                row[who + "_ms"] = None
                row[who + "_error"] = "%s: %s" % (type(ex).__name__, str(ex).splitlines()[0][:160] if str(ex) else "")
        u, n = row.get("ufuncgen_ms"), row.get("numba_ms")
        row["ratio"] = n / u if u and n else None
        # the first creation, during the timing phase: Numba's helpers included
        row["numba_first_ms"] = sum(e["seconds"] for e in entries) * 1e3
        firsts = {(e["layout"], tuple(e["sigs"])): e["seconds"] for e in swap.log
                  if e["backend"] == "ufuncgen" and e["target"] == "cpu" and e["name"] == name and "error" not in e}
        row["ufuncgen_first_ms"] = sum(firsts.values()) * 1e3 if len(firsts) == len(entries) else None
        out.append(row)
    return out


# ------------------------------------------------------------------ report

SIZES = ["1e6", "stack"]
SIZE_LABEL = {"1e6": "1e6", "stack": "1000x1000"}


def cell(res):
    if res is None:
        return "-"
    if res["ufuncgen_status"].startswith("WRONG"):
        return "WRONG"
    if res["ufuncgen_status"] != "ok":
        return "n/c" if res["ufuncgen_error_at"] == "compile" else "err"
    if res["ratio"] is None:
        return "-"
    noisy = max(res["numba_noise"] or 0, res["ufuncgen_noise"] or 0) > 0.2
    return "%.2f%s" % (res["ratio"], "~" if noisy else "")


def print_table(results, threads, comp):
    cols = [(T, s) for T in threads for s in SIZES]
    hdr = "  %-24s %-7s" % ("kernel", "dtype") + "".join(" %11s" % ("T=%d %s" % (T, SIZE_LABEL[s])) for T, s in cols)
    hdr += " %10s %10s %7s" % ("ug ms", "numba ms", "ratio")
    print("\n== numbagg kernels: Numba time / ufuncgen time (> 1: ufuncgen faster); compile per kernel (cpu) ==")
    print(hdr)
    print("  " + "-" * (len(hdr) - 2))
    by = {(r["kernel"], r["dtype"], r["size"], r["threads"]): r for r in results}
    cmap = {c["kernel"]: c for c in comp}
    done = set()
    for name in dict.fromkeys(r["kernel"] for r in results):
        for dt in dict.fromkeys(r["dtype"] for r in results if r["kernel"] == name):
            line = "  %-24s %-7s" % (name, dt)
            line += "".join(" %11s" % cell(by.get((name, dt, s, T))) for T, s in cols)
            c = cmap.get(name)
            if c is not None and name not in done:
                done.add(name)
                line += " %10s %10s %7s" % (fmt_ms(c.get("ufuncgen_ms")) if c.get("ufuncgen_ms") else "n/c",
                                            fmt_ms(c.get("numba_ms")),
                                            "%.1f" % c["ratio"] if c.get("ratio") else "-")
            print(line)
    print("  ratios: Numba ms / ufuncgen ms per call of numbagg's public function (median of rounds); "
          "'~' noise (IQR/median) > 20%;\n  n/c: ufuncgen does not compile the kernel; compile: ms to create the "
          "kernel's gufuncs with all its signatures, ratio = Numba / ufuncgen")
    for name in dict.fromkeys(r["kernel"] for r in results):
        errs = {r["ufuncgen_status"] for r in results if r["kernel"] == name and r["ufuncgen_status"] != "ok"}
        for e in sorted(errs):
            print("  %s: ufuncgen %s" % (name, e))
        errs = {r["numba_status"] for r in results if r["kernel"] == name and r["numba_status"] != "ok"}
        for e in sorted(errs):
            print("  %s: numba %s" % (name, e))


def targets(results, comp):
    t1 = [r for r in results if r["threads"] == 1 and r["ratio"] is not None and r["ufuncgen_status"] == "ok"]
    slower = sorted(({"kernel": r["kernel"], "dtype": r["dtype"], "size": SIZE_LABEL[r["size"]], "ratio": r["ratio"],
                      "ratio_from_min": r["ratio_from_min"], "ufuncgen_ms": r["ufuncgen_ms"],
                      "numba_ms": r["numba_ms"],
                      # slower by the fastest samples too: not just the noise of a busy machine
                      "slower_from_minima": bool(r["ratio_from_min"] and r["ratio_from_min"] < 1.0)}
                     for r in t1 if r["ratio"] < 1.0), key=lambda d: d["ratio"])
    not_ok = sorted({r["kernel"] for r in results if r["ufuncgen_status"] != "ok"})
    cr = [c for c in comp if c.get("ratio")]
    slow_compile = [{"kernel": c["kernel"], "ratio": c["ratio"]} for c in cr if c["ratio"] < 10.0]
    return {
        "no_kernel_slower_than_numba_at_T1": {"met": not slower and not not_ok, "slower": slower,
                                              "not_compiled_or_wrong": not_ok},
        "compile_le_tenth_of_numba": {"met": bool(cr) and not slow_compile and len(cr) == len(comp),
                                      "below_10x": slow_compile,
                                      "median_ratio": statistics.median(c["ratio"] for c in cr) if cr else None},
    }


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1e5 elements / (100, 1000), fewer rounds")
    ap.add_argument("--only", default="", help="comma-separated numbagg function names")
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--reps", type=int, default=None, help="rounds (default 7, quick 3)")
    ap.add_argument("--min-sample", type=float, default=None, help="seconds per sample (default 0.02, quick 0.005)")
    ap.add_argument("--compile-reps", type=int, default=None, help="compile timings per kernel (default 3, quick 1)")
    ap.add_argument("--no-compile", action="store_true", help="skip the compile-time column")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="output directory")
    args = ap.parse_args()

    import numba
    import numbagg
    import ufuncgen
    from numbagg import decorators as nd

    quick = args.quick
    n = 100_000 if quick else 1_000_000
    reps = args.reps or (3 if quick else 7)
    min_sample = args.min_sample or (0.005 if quick else 0.02)
    creps = args.compile_reps or (1 if quick else 3)
    ncpu = os.cpu_count() or 1
    threads = [t for t in (int(x) for x in args.threads.split(",") if x.strip()) if t <= ncpu] or [1]
    want_dt = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    only = [k.strip() for k in args.only.split(",") if k.strip()]
    names = [k for k in kernel_names(numbagg) if not only or k in only]

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": {"cpu": _cpu_name(), "ncpu": ncpu, "platform": platform.platform(),
                    "python": platform.python_version()},
        "versions": {"numpy": np.__version__, "numba": numba.__version__, "numbagg": numbagg.__version__,
                     "ufuncgen": getattr(ufuncgen, "__version__", "?")},
        "n": n, "sizes": {"1e6": "1-d, %d elements" % n, "stack": "(%d, 1000), along the last axis" % (n // 1000)},
        "window": WINDOW, "alpha": ALPHA, "groups": NGROUPS, "matrix_vars": NVARS,
        "reps": reps, "min_sample_s": min_sample, "compile_reps": creps, "threads": threads,
        "loadavg_start": os.getloadavg(),
        "method": "numbagg's public functions, Numba build vs ufuncgen build (numba.guvectorize swapped in "
                  "numbagg.decorators); median of interleaved rounds; ratio = numba ms / ufuncgen ms (>1: ufuncgen "
                  "faster); ufuncgen's result checked against Numba's first",
    }
    print("numbagg %s on ufuncgen %s vs Numba %s: %s, %d cpus, numpy %s, %s mode (n=%s)" % (
        numbagg.__version__, meta["versions"]["ufuncgen"], numba.__version__, meta["machine"]["cpu"], ncpu,
        np.__version__, meta["mode"], f"{n:,}"))
    t_start = time.time()
    swap = Swap(numba, ufuncgen, nd)
    results = []
    try:
        for name in names:
            orig = getattr(numbagg, name)
            for T in threads:
                target = "cpu" if T == 1 or not orig.supports_parallel else "parallel"

                def set_threads(T=T):
                    ufuncgen.set_num_threads(T)
                    numba.set_num_threads(T)

                twins = {b: twin(swap, name, orig, b, target) for b in ("numba", "ufuncgen")}
                for dt in [d for d in dtypes_of(name) if d in want_dt]:
                    for size in SIZES:
                        a, kw = call_args(name, size, dt, n)
                        nlog = len(swap.log)
                        nb, ug = run_config(name, twins, a, kw, dt, T, set_threads, reps, min_sample)
                        ug_err_at = next((e for e in swap.log[nlog:] if e["backend"] == "ufuncgen" and "error" in e),
                                         None)
                        if ug_err_at is not None:
                            ug.status = "does not compile: " + ug_err_at["error"]
                        ratio = nb.ms / ug.ms if nb.ms and ug.ms and ug.status == "ok" else None
                        results.append({
                            "kernel": name, "dtype": dt, "size": size, "shape": list(a[0].shape), "threads": T,
                            "target": target, "numba_ms": nb.ms, "ufuncgen_ms": ug.ms,
                            "numba_min_ms": nb.min_ms, "ufuncgen_min_ms": ug.min_ms,
                            "numba_noise": nb.noise, "ufuncgen_noise": ug.noise,
                            "numba_status": nb.status, "ufuncgen_status": ug.status,
                            "ufuncgen_error_at": "compile" if ug_err_at is not None else None,
                            "ratio": ratio,
                            "ratio_from_min": nb.min_ms / ug.min_ms if ratio and ug.min_ms else None})
                        print("  %-24s %-7s %-9s T=%d %-8s numba %9s ms  ufuncgen %9s ms  ratio %5s  %s" % (
                            name, dt, SIZE_LABEL[size], T, target, fmt_ms(nb.ms), fmt_ms(ug.ms),
                            "%.2f" % ratio if ratio else "-", "" if ug.status == "ok" else ug.status[:90]))
                        sys.stdout.flush()
                        del a, kw
        comp = []
        if not args.no_compile:
            print("\ncompile times (cpu, no cache, %d rep(s) per kernel) ..." % creps)
            sys.stdout.flush()
            comp = compile_times(swap, numba, ufuncgen, creps)
    finally:
        swap.restore()

    print_table(results, threads, comp)
    tg = targets(results, comp)
    s = tg["no_kernel_slower_than_numba_at_T1"]
    print("\n== targets (issue 13) ==")
    print("  no kernel slower than Numba at 1 thread: %s" % ("met" if s["met"] else "MISSED"))
    for d in s["slower"]:
        print("    %-24s %-7s %-9s ratio %.2f (from minima %.2f)%s" % (
            d["kernel"], d["dtype"], d["size"], d["ratio"], d["ratio_from_min"] or float("nan"),
            "" if d["slower_from_minima"] else "  within noise: faster by minima"))
    if s["not_compiled_or_wrong"]:
        print("    not compiled or wrong: %s" % ", ".join(s["not_compiled_or_wrong"]))
    c = tg["compile_le_tenth_of_numba"]
    print("  compile time per kernel <= 1/10 of Numba's: %s (median ratio %s)" % (
        "met" if c["met"] else "MISSED", "%.1f" % c["median_ratio"] if c["median_ratio"] else "-"))
    for d in c["below_10x"]:
        print("    %-24s ratio %.1f" % (d["kernel"], d["ratio"]))

    meta["elapsed_s"] = round(time.time() - t_start, 1)
    meta["loadavg_end"] = os.getloadavg()
    noises = [r[k] for r in results for k in ("numba_noise", "ufuncgen_noise") if r.get(k) is not None]
    if noises:
        meta["median_noise"] = statistics.median(noises)
        print("\nmedian noise (IQR/median): %.0f%%; load average at start %.1f, at end %.1f%s" % (
            100 * meta["median_noise"], meta["loadavg_start"][0], meta["loadavg_end"][0],
            "  -- a busy machine: compare ratios only, T=2 rows need two idle cores"
            if meta["loadavg_start"][0] > ncpu * 0.5 or meta["median_noise"] > 0.15 else ""))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "numbagg.json")
    with open(path, "w") as fh:
        json.dump({"meta": meta, "results": results, "compile": comp, "targets": tg}, fh, indent=1, default=float)
    print("wrote %s (%.0f s)" % (path, meta["elapsed_s"]))


if __name__ == "__main__":
    main()
