#!/usr/bin/env python3
"""Library-scale start-up: a generated module of 50 kernels x 2 signatures,
imported cold (empty cache), warm (from the cache), and its first call, with
ufuncgen and with Numba (cold, and ``cache=True`` warm), in fresh processes;
and the same module compiled ahead of time (``python -m ufuncgen.aot``, row
``aot``: an extension module of 100 prebuilt loops, no LLVM in the process).

    python3 bench/bench_startup.py [--reps N] [--cpus 1,2] [--kernels 50] [--out DIR]

The module is the same text for both: ``from ufuncgen import vectorize,
guvectorize`` or ``from numba import ...``, 25 scalar kernels (``@vectorize``)
and 25 gufunc kernels (``@guvectorize``) of the size of numbagg's
(moving-window sums and means, nan-aggregations, a dot product, a clipped
polynomial), each with a float64 and a float32 signature, each kernel made
distinct by its own constant. ufuncgen runs with ``cache=True`` (cold: an
empty cache directory it fills; warm: that cache); Numba cold without a cache,
warm with ``cache=True`` after a priming run. One CPU: the processes run under ``taskset -c 0``
(a one-core machine for both tools); two: ``taskset -c 0,1``.

Times are medians over --reps fresh processes and count from just after
``import numpy`` and the tool's own import (printed separately) to the
module's import returning, then one call of every ufunc ("first call").
Prints a table and writes bench/results/startup.json.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

SCALAR = [
    "def {n}(x, y):\n    return 1.0 / (1.0 + math.exp(-(x * {k} - y)))\n",
    "def {n}(x, y):\n    t = x * x * {k} + y * 2.0 - x * y\n    return t if t > 0.0 else 0.01 * t\n",
    "def {n}(x, y):\n    return math.sqrt(x * x + y * y) + {k}\n",
    "def {n}(x, y):\n    s = 0.0\n    p = 1.0\n    for i in range(4):\n        s += p * {k}\n        p *= x\n    return s - y\n",
    "def {n}(x, y):\n    return min(max(x, -{k}), {k}) * y\n",
]
GUFUNC = [
    ("(n),()->(n)", "void(f[:], int64, f[:])",
     "def {n}(a, w, out):\n    asum = 0.0\n    count = 0\n    for i in range(min(w, a.shape[0])):\n"
     "        ai = a[i]\n        if not math.isnan(ai):\n            asum += ai\n            count += 1\n"
     "        out[i] = asum / count * {k} if count else math.nan\n"
     "    for i in range(w, a.shape[0]):\n        ai = a[i]\n        aold = a[i - w]\n"
     "        if not math.isnan(ai):\n            asum += ai\n            count += 1\n"
     "        if not math.isnan(aold):\n            asum -= aold\n            count -= 1\n"
     "        out[i] = asum / count * {k} if count else math.nan\n"),
    ("(n)->()", "void(f[:], f[:])",
     "def {n}(a, out):\n    asum = 0.0\n    count = 0\n    for i in range(a.shape[0]):\n"
     "        if not math.isnan(a[i]):\n            asum += a[i]\n            count += 1\n"
     "    out[0] = asum / count + {k} if count else math.nan\n"),
    ("(n),(n)->()", "void(f[:], f[:], f[:])",
     "def {n}(a, b, out):\n    acc = 0.0\n    for i in range(a.shape[0]):\n        acc += a[i] * b[i] * {k}\n"
     "    out[0] = acc\n"),
    ("(n)->()", "void(f[:], f[:])",
     "def {n}(a, out):\n    m = -math.inf\n    for i in range(a.shape[0]):\n"
     "        if a[i] > m:\n            m = a[i]\n    out[0] = m * {k}\n"),
    ("(n)->(n)", "void(f[:], f[:])",
     "def {n}(a, out):\n    acc = 0.0\n    for i in range(a.shape[0]):\n        if not math.isnan(a[i]):\n"
     "            acc += a[i] * {k}\n        out[i] = acc\n"),
]


def module_text(tool, nkernels, cache):
    lines = ["import math", f"from {tool} import vectorize, guvectorize", ""]
    kw = ", cache=True" if cache else ""
    for i in range(nkernels):
        k = f"{1.0 + i / 64:.6f}"
        if i % 2 == 0:
            src = SCALAR[(i // 2) % len(SCALAR)].format(n=f"k{i}", k=k)
            lines.append(f'@vectorize(["float64(float64, float64)", "float32(float32, float32)"]{kw})')
        else:
            layout, sig, tmpl = GUFUNC[(i // 2) % len(GUFUNC)]
            src = tmpl.format(n=f"k{i}", k=k)
            sigs = [sig.replace("f[:]", "float64[:]"), sig.replace("f[:]", "float32[:]")]
            lines.append(f"@guvectorize({sigs!r}, {layout!r}{kw})")
        lines.append(src)
    return "\n".join(lines) + "\n"


CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
t0 = time.perf_counter()
import numpy as np
t1 = time.perf_counter()
import {tool}
t2 = time.perf_counter()
import startup_kernels as m
t3 = time.perf_counter()
x = np.linspace(0.5, 2.0, 64)
for name in sorted(n for n in dir(m) if n.startswith("k")):
    f = getattr(m, name)
    args = [x, x] if f.nin == 2 and f.signature is None else [x, 3] if f.signature == "(n),()->(n)" else [x] * f.nin
    if f.signature == "(n),(n)->()":
        args = [x, x]
    f(*args)
t4 = time.perf_counter()
print(json.dumps({{"numpy": t1 - t0, "tool": t2 - t1, "import": t3 - t2, "first_call": t4 - t3}}))
"""


def run_child(tool, moddir, env, cpus):
    cmd = [sys.executable, "-c", CHILD.format(tool="sys" if tool == "aot" else tool), moddir]
    if cpus and shutil.which("taskset"):
        cmd = ["taskset", "-c", ",".join(str(c) for c in range(cpus))] + cmd
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if r.returncode:
        raise RuntimeError(f"{tool} child failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def median_runs(tool, text, cache_mode, cpus, reps, workdir):
    """cache_mode: 'cold' (empty cache each run) or 'warm' (one priming run first)."""
    moddir = tempfile.mkdtemp(dir=workdir)
    if tool == "aot":  # the extension module startup_kernels, built from the ufuncgen text
        import ufuncgen.aot
        srcdir = tempfile.mkdtemp(dir=workdir)
        src = os.path.join(srcdir, "startup_kernels_src.py")
        with open(src, "w") as f:
            f.write(text)
        ufuncgen.aot.build_extension(src, "startup_kernels", moddir, workdir=workdir)
    else:
        with open(os.path.join(moddir, "startup_kernels.py"), "w") as f:
            f.write(text)
    cachedir = tempfile.mkdtemp(dir=workdir)
    env = dict(os.environ, UFUNCGEN_CACHE_DIR=cachedir, NUMBA_CACHE_DIR=cachedir)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the module keeps its .pyc, as an installed library does
    if cache_mode == "warm":
        run_child(tool, moddir, env, cpus)
    runs = []
    for _ in range(reps):
        if cache_mode == "cold":
            shutil.rmtree(cachedir, ignore_errors=True)
            os.makedirs(cachedir)
        runs.append(run_child(tool, moddir, env, cpus))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cpus", default="1,2")
    ap.add_argument("--kernels", type=int, default=50)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-numba", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ug_startup_")
    rows = []
    try:
        for cpus in [int(c) for c in a.cpus.split(",")]:
            # ufuncgen with cache=True both ways (cold: an empty cache, which it fills)
            cases = [("ufuncgen", True, "cold"), ("ufuncgen", True, "warm"), ("aot", False, "warm")]
            if not a.no_numba:
                cases += [("numba", False, "cold"), ("numba", True, "warm")]
            res = {}
            for tool, cache, mode in cases:
                text = module_text("ufuncgen" if tool == "aot" else tool, a.kernels, cache)
                res[(tool, mode)] = median_runs(tool, text, mode, cpus, a.reps, work)
                r = res[(tool, mode)]
                rows.append({"cpus": cpus, "tool": tool, "mode": mode, **r})
                print(f"cpus={cpus} {tool:8s} {mode:4s}  import of the tool {r['tool'] * 1e3:8.1f} ms   "
                      f"module import {r['import'] * 1e3:9.1f} ms   first calls {r['first_call'] * 1e3:8.1f} ms",
                      flush=True)
            aotr = res[("aot", "warm")]
            for key in [("ufuncgen", "cold"), ("ufuncgen", "warm")] + ([] if a.no_numba else [("numba", "cold"), ("numba", "warm")]):
                r = res[key]
                print(f"cpus={cpus} {key[0]} {key[1]} / aot: module import = {r['import'] / aotr['import']:.0f}x, "
                      f"import + first calls = {(r['import'] + r['first_call']) / (aotr['import'] + aotr['first_call']):.0f}x")
            if not a.no_numba:
                for mode in ("cold", "warm"):
                    u, n = res[("ufuncgen", mode)], res[("numba", mode)]
                    print(f"cpus={cpus} {mode}: Numba / ufuncgen module import = {n['import'] / u['import']:.1f}x, "
                          f"import + first calls = {(n['import'] + n['first_call']) / (u['import'] + u['first_call']):.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "startup.json"), "w") as f:
        json.dump({"kernels": a.kernels, "signatures_per_kernel": 2, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
