#!/usr/bin/env python3
"""ufuncgen benchmark suite: ufuncgen against what users would otherwise pick,
all measured side by side in one run.

    python3 bench/bench_suite.py [--quick] [--only sigmoid,dot,...] [--ufuncgen auto|package|ctypes|none]

(`bash bench/run.sh` installs the requirements, builds what is needed and runs
this.) Prints one table per workload, writes bench/results/latest.json and
bench/results/latest.png.

Method
------
* Every competitor's result is first checked against NumPy's (np.allclose,
  exact for integers; for strided outputs the untouched gaps between the
  elements are checked too). A wrong answer is marked WRONG in the table and
  in the JSON; its time is still shown.
* Then rounds: in each round every competitor runs one sample (a sample is k
  back-to-back calls, k chosen so that a sample lasts >= --min-sample s); the
  order rotates from round to round. The figure is the median of the samples
  (ms per call); `noise` is the interquartile range / median.
* ratio = competitor ms / ufuncgen ms: > 1 means ufuncgen is faster.
* Threads: T=1 compares ufuncgen target='cpu' with single-threaded
  everything; T=2 compares ufuncgen target='parallel' with 2 threads
  (ufuncgen.set_num_threads / UFUNCGEN_NUM_THREADS), Numba parallel with
  numba.set_num_threads(2), numexpr.set_num_threads(2), the C loop with
  OpenMP num_threads(2). NumPy and Numba target='cpu' are single-threaded at
  any T; they are re-measured at each T, side by side.
* "numba best" is the faster of Numba target='cpu' and target='parallel' at
  that thread count (named in the row); all calls pass out=.
* C -O3 is gcc -O3 -march=native -ffp-contract=off -fno-math-errno (computes
  what NumPy computes); C fast-math adds -ffast-math (FMA, vector exp from
  libmvec): the hardware's reference, not a like-for-like competitor.
"""

import argparse
import ctypes
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ug_backend  # noqa: E402

# ------------------------------------------------------------------ kernels
# One source for ufuncgen and Numba (both accept the math. prefix).

POLY = [1.0, 1.0, 0.5, 0.16666666666666666, 0.041666666666666664, 0.008333333333333333,
        0.001388888888888889, 0.0001984126984126984, 2.48015873015873e-05]  # 1/k!, same as cref.c


def _poly_src():
    lines = ["def poly8(x):", "    p = x * %r + %r" % (POLY[8], POLY[7])]
    for k in range(6, -1, -1):
        lines.append("    p = p * x + %r" % POLY[k])
    lines.append("    return p")
    return "\n".join(lines) + "\n"


SRC = {
    "a*b+c": "def fma3(a, b, c):\n    return a * b + c\n",
    "sigmoid": "def sigmoid(x):\n    return 1.0 / (1.0 + math.exp(-x))\n",
    "leaky_relu": "def leaky(x):\n    return x if x > 0 else 0.01 * x\n",
    "poly8": _poly_src(),
    "intmod": "def intmod(a, b):\n    return (a * 31 + b) % 1009\n",
    "add": "def add(a, b):\n    return a + b\n",
    "dot": textwrap.dedent("""\
        def dot(a, b, out):
            acc = 0.0
            for i in range(a.shape[0]):
                acc += a[i] * b[i]
            out[0] = acc
        """),
    "matmul4": textwrap.dedent("""\
        def matmul(a, b, out):
            for i in range(a.shape[0]):
                for j in range(b.shape[1]):
                    acc = 0.0
                    for k in range(a.shape[1]):
                        acc += a[i, k] * b[k, j]
                    out[i, j] = acc
        """),
    "movmean": textwrap.dedent("""\
        def move_mean(a, w, out):
            asum = 0.0
            count = 0
            for i in range(w):
                asum += a[i]
                count += 1
                out[i] = asum / count
            for i in range(w, a.shape[0]):
                asum += a[i] - a[i - w]
                out[i] = asum / count
        """),
    "pdist": textwrap.dedent("""\
        def pdist(x, y, out):
            for i in range(x.shape[0]):
                for j in range(y.shape[0]):
                    acc = 0.0
                    for k in range(x.shape[1]):
                        t = x[i, k] - y[j, k]
                        acc += t * t
                    out[i, j] = math.sqrt(acc)
        """),
}

LIBM_ROWS = ("sigmoid", "poly8")  # also timed with math='libm' (row "ufuncgen libm")
NIN = {"a*b+c": 3, "sigmoid": 1, "leaky_relu": 1, "poly8": 1, "intmod": 2, "add": 2}
DESC = {"a*b+c": "memory bound", "sigmoid": "transcendental: 1/(1+exp(-x))",
        "leaky_relu": "branchy: x if x > 0 else 0.01*x", "poly8": "compute bound: degree-8 Horner",
        "intmod": "integer: (a*31 + b) % 1009"}
NUMEXPR = {"a*b+c": "a*b+c", "sigmoid": "1/(1+exp(-x))", "leaky_relu": "where(x>0, x, 0.01*x)",
           "intmod": "(a*31 + b) % 1009"}
NUMEXPR["poly8"] = "x*%r + %r" % (POLY[8], POLY[7])
for _k in range(6, -1, -1):
    NUMEXPR["poly8"] = "(%s)*x + %r" % (NUMEXPR["poly8"], POLY[_k])

GU = {  # name: (layout, numba-style signature)
    "dot": ("(n),(n)->()", "void(float64[:], float64[:], float64[:])"),
    "matmul4": ("(m,n),(n,p)->(m,p)", "void(float64[:,:], float64[:,:], float64[:,:])"),
    "movmean": ("(n),()->(n)", "void(float64[:], int64, float64[:])"),
    "pdist": ("(m,d),(n,d)->(m,n)", "void(float64[:,:], float64[:,:], float64[:,:])"),
}


def sig_of(wl, dt):
    n = NIN[wl]
    return "%s(%s)" % (dt, ", ".join([dt] * n))


def py_function(src, name=None):
    """The kernel as a Python function (for Numba)."""
    g = {"math": math, "np": np}
    exec(compile(src, "<kernel>", "exec"), g)
    if name is None:
        name = src.split("def ", 1)[1].split("(", 1)[0]
    return g[name]


def numpy_expr(wl):
    if wl == "a*b+c":
        return lambda a, b, c: a * b + c
    if wl == "sigmoid":
        return lambda x: 1.0 / (1.0 + np.exp(-x))
    if wl == "leaky_relu":
        return lambda x: np.where(x > 0, x, 0.01 * x)
    if wl == "poly8":
        def f(x):
            p = x * POLY[8] + POLY[7]
            for k in range(6, -1, -1):
                p = p * x + POLY[k]
            return p
        return f
    if wl == "intmod":
        return lambda a, b: (a * 31 + b) % 1009
    raise KeyError(wl)


def numpy_out(wl):
    """The same computation written with out= (no temporaries beyond one mask)."""
    if wl == "a*b+c":
        def f(a, b, c, out):
            np.multiply(a, b, out=out)
            return np.add(out, c, out=out)
    elif wl == "sigmoid":
        def f(x, out):
            np.negative(x, out=out)
            np.exp(out, out=out)
            np.add(out, 1.0, out=out)
            return np.divide(1.0, out, out=out)
    elif wl == "leaky_relu":
        def f(x, out):
            np.multiply(x, 0.01, out=out)
            np.copyto(out, x, where=x > 0)
            return out
    elif wl == "poly8":
        def f(x, out):
            np.multiply(x, POLY[8], out=out)
            np.add(out, POLY[7], out=out)
            for k in range(6, -1, -1):
                np.multiply(out, x, out=out)
                np.add(out, POLY[k], out=out)
            return out
    elif wl == "intmod":
        def f(a, b, out):
            np.multiply(a, 31, out=out)
            np.add(out, b, out=out)
            return np.remainder(out, 1009, out=out)
    return f


# ------------------------------------------------------------- competitors


class Opt:
    """Optional competitors: a module, or the reason it is missing."""

    def __init__(self, args):
        self.numba = self.numexpr = self.cref = self.cref_fast = None
        self.why = {}
        try:
            import numba
            self.numba = numba
        except Exception as e:
            self.why["numba"] = "unavailable: %s" % e
        try:
            import numexpr
            self.numexpr = numexpr
        except Exception as e:
            self.why["numexpr"] = "unavailable: %s" % e
        for attr, fname in (("cref", "libcref.so"), ("cref_fast", "libcref_fast.so")):
            p = os.path.join(args.cref_dir, fname)
            try:
                setattr(self, attr, ctypes.CDLL(p))
            except OSError as e:
                self.why[attr] = "unavailable: %s (run bench/run.sh to build it)" % e
        self.ug, why = ug_backend.load(args.ufuncgen)
        if self.ug is None:
            self.why["ufuncgen"] = "unavailable: " + why


class Cand:
    """One competitor in one configuration: fn() runs it, returns the result."""

    def __init__(self, name, fn=None, out=None, out_base=None, status=None, threads=None):
        self.name, self.fn, self.out, self.out_base = name, fn, out, out_base
        self.status = status  # None: to be verified; else a reason it does not run
        self.threads = threads  # callable setting this competitor's thread count
        self.ms = self.noise = self.min_ms = None


def sentinel_fill(base):
    if base.dtype.kind == "f":
        base.fill(np.nan)
    else:
        base.fill(-777777)


def gaps_untouched(base, view):
    """For stride-2 outputs: elements between the view's must be unchanged."""
    if base is None or base.size == view.size:
        return True
    gaps = base.reshape(-1)[1::2]
    return bool(np.isnan(gaps).all()) if base.dtype.kind == "f" else bool((gaps == -777777).all())


def verify(c, ref):
    rtol, atol = (1e-4, 1e-6) if ref.dtype == np.float32 else (1e-7, 1e-12)
    try:
        if c.threads:
            c.threads()
        if c.out_base is not None:
            sentinel_fill(c.out_base)
        r = c.fn()
        res = c.out if c.out is not None else r
        res = np.asarray(res)
        if res.shape != ref.shape:
            c.status = "WRONG: shape %s" % (res.shape,)
        elif ref.dtype.kind in "iu":
            if not np.array_equal(res, ref):
                c.status = "WRONG: %d of %d differ" % (int((res != ref).sum()), ref.size)
        elif not np.allclose(res, ref, rtol=rtol, atol=atol, equal_nan=False):
            bad = ~np.isclose(res, ref, rtol=rtol, atol=atol)
            c.status = "WRONG: %d of %d differ" % (int(bad.sum()), ref.size)
        if c.status is None and not gaps_untouched(c.out_base, c.out):
            c.status = "WRONG: wrote between strided output elements"
        if c.status is None:
            c.status = "ok"
    except Exception as e:
        c.status = "error: %s: %s" % (type(e).__name__, str(e).splitlines()[0][:120] if str(e) else "")


def measure(cands, reps, min_sample):
    live = [c for c in cands if c.status is not None and (c.status == "ok" or c.status.startswith("WRONG"))]
    ks = {}
    for c in live:
        if c.threads:
            c.threads()
        c.fn()  # warm
        t0 = time.perf_counter()
        c.fn()
        dt = time.perf_counter() - t0
        ks[c.name] = max(1, min(200000, int(min_sample / max(dt, 1e-7))))
    samples = {c.name: [] for c in live}
    for r in range(reps):
        order = live[r % len(live):] + live[:r % len(live)] if live else []
        for c in order:
            if c.threads:
                c.threads()
            k = ks[c.name]
            fn = c.fn
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            samples[c.name].append((time.perf_counter() - t0) / k)
    for c in live:
        s = sorted(samples[c.name])
        med = statistics.median(s)
        q = statistics.quantiles(s, n=4) if len(s) >= 2 else [med, med, med]
        c.ms = med * 1e3
        c.min_ms = s[0] * 1e3
        c.noise = (q[2] - q[0]) / med if med > 0 else 0.0


def add_best(cands, prefix, label):
    """A derived row: the fastest correct competitor whose name starts with prefix."""
    pool = [c for c in cands if c.name.startswith(prefix) and c.ms is not None and c.status == "ok"]
    if len(pool) < 2:
        return
    b = min(pool, key=lambda c: c.ms)
    d = Cand("%s (=%s)" % (label, b.name.split(prefix, 1)[1].strip() or b.name), status="ok")
    d.ms, d.noise, d.min_ms = b.ms, b.noise, b.min_ms
    cands.append(d)


# ------------------------------------------------------------ elementwise


def make_inputs(wl, dt, n, layout, rng):
    step = 2 if layout == "stride2" else 1
    if wl == "intmod":
        bases = [rng.integers(-1_000_000, 1_000_000, n * step, dtype=np.int64) for _ in range(2)]
    else:
        lo, hi = (-6.0, 6.0) if wl == "sigmoid" else (-2.0, 2.0)
        bases = [rng.uniform(lo, hi, n * step).astype(dt) for _ in range(NIN[wl])]
    ins = [b[::step] for b in bases]
    out_base = np.empty(n * step, dtype=ins[0].dtype)
    return ins, out_base, out_base[::step]


def elementwise_cands(wl, dt, T, ins, out_base, out, opt, kcache):
    """All competitors for one elementwise configuration at T threads."""
    cands = []
    item = ins[0].itemsize
    n = out.size
    strides = [a.strides[0] // item for a in ins] + [out.strides[0] // item]
    npdt = dt

    # ufuncgen
    if opt.ug is None:
        cands.append(Cand("ufuncgen", status=opt.why["ufuncgen"]))
    else:
        target = "cpu" if T == 1 else "parallel"
        key = ("ug", wl, target)
        try:
            if key not in kcache:
                sigs = ["int64(int64, int64)"] if wl == "intmod" else [sig_of(wl, "float64"), sig_of(wl, "float32")]
                kcache[key] = opt.ug.vectorize(SRC[wl], sigs, target=target)
            f = kcache[key]
            cands.append(Cand("ufuncgen", (lambda f=f: f(*ins, out=out)), out, out_base,
                              threads=lambda: opt.ug.set_num_threads(T)))
        except Exception as e:
            cands.append(Cand("ufuncgen", status="error: %s" % str(e).splitlines()[0][:150]))
        if wl in LIBM_ROWS and opt.ug.via == "package":  # the cost of math='libm' (NumPy's bits)
            key = ("ug libm", wl, target)
            try:
                if key not in kcache:
                    sigs = [sig_of(wl, "float64"), sig_of(wl, "float32")]
                    kcache[key] = opt.ug.vectorize(SRC[wl], sigs, target=target, math="libm")
                f = kcache[key]
                cands.append(Cand("ufuncgen libm", (lambda f=f: f(*ins, out=out)), out, out_base,
                                  threads=lambda: opt.ug.set_num_threads(T)))
            except Exception as e:
                cands.append(Cand("ufuncgen libm", status="error: %s" % str(e).splitlines()[0][:150]))

    # NumPy
    fe, fo = numpy_expr(wl), numpy_out(wl)
    cands.append(Cand("numpy expr", lambda: fe(*ins)))
    cands.append(Cand("numpy out=", lambda: fo(*ins, out=out), out, out_base))

    # Numba
    for target in ("cpu", "parallel"):
        name = "numba " + target
        if opt.numba is None:
            cands.append(Cand(name, status=opt.why["numba"]))
            continue
        key = ("nb", wl, target)
        try:
            if key not in kcache:
                sigs = ["int64(int64, int64)"] if wl == "intmod" else [sig_of(wl, "float64"), sig_of(wl, "float32")]
                kcache[key] = opt.numba.vectorize(sigs, target=target)(py_function(SRC[wl]))
            f = kcache[key]
            thr = (lambda: opt.numba.set_num_threads(T)) if target == "parallel" else None
            cands.append(Cand(name, (lambda f=f: f(*ins, out=out)), out, out_base, threads=thr))
        except Exception as e:
            cands.append(Cand(name, status="error: %s" % str(e).splitlines()[0][:150]))

    # numexpr
    if opt.numexpr is None:
        cands.append(Cand("numexpr", status=opt.why["numexpr"]))
    else:
        ne = opt.numexpr
        names = ["a", "b", "c"] if NIN[wl] == 3 else (["a", "b"] if NIN[wl] == 2 else ["x"])
        env = dict(zip(names, ins))
        expr = NUMEXPR[wl]
        cands.append(Cand("numexpr", lambda: ne.evaluate(expr, local_dict=env, out=out, casting="unsafe"),
                          out, out_base, threads=lambda: ne.set_num_threads(T)))

    # C
    for attr, name in (("cref", "C -O3"), ("cref_fast", "C fast-math")):
        lib = getattr(opt, attr)
        if lib is None:
            cands.append(Cand(name, status=opt.why[attr]))
            continue
        sfx = {"float64": "f64", "float32": "f32", "int64": "i64"}[npdt]
        fn = getattr(lib, {"a*b+c": "abc", "sigmoid": "sigmoid", "leaky_relu": "leaky", "poly8": "poly8",
                           "intmod": "intmod"}[wl] + "_" + sfx)
        ptrs = [ctypes.c_void_p(a.ctypes.data) for a in ins] + [ctypes.c_void_p(out.ctypes.data)]
        cargs = []
        for p, s in zip(ptrs, strides):
            cargs += [p, ctypes.c_long(s)]
        cargs += [ctypes.c_long(n), ctypes.c_int(T)]
        cands.append(Cand(name, (lambda fn=fn, cargs=cargs: fn(*cargs)), out, out_base))
    return cands


# ---------------------------------------------------------------- gufuncs


def gufunc_inputs(wl, quick, rng):
    if wl == "dot":
        rows, n = 1_000_000, 16
        a, b = rng.standard_normal((rows, n)), rng.standard_normal((rows, n))
        return [a, b], np.empty(rows), "n=16 x 1M rows"
    if wl == "matmul4":
        s = 1_000_000
        a, b = rng.standard_normal((s, 4, 4)), rng.standard_normal((s, 4, 4))
        return [a, b], np.empty((s, 4, 4)), "4x4 x 1M stacks"
    if wl == "movmean":
        a = rng.standard_normal((10_000, 1000))
        return [a, np.int64(20)], np.empty_like(a), "window 20, 10K series x 1000"
    if wl == "pdist":
        st, m, n, d = 4, 500, 500, 8
        x, y = rng.standard_normal((st, m, d)), rng.standard_normal((st, n, d))
        return [x, y], np.empty((st, m, n)), "m=n=500, d=8 x 4 stacks"
    raise KeyError(wl)


def gufunc_numpy(wl):
    if wl == "dot":
        return (lambda a, b: (a * b).sum(axis=1)), (lambda a, b, out: np.vecdot(a, b, out=out))
    if wl == "matmul4":
        return (lambda a, b: a @ b), (lambda a, b, out: np.matmul(a, b, out=out))
    if wl == "movmean":
        def mm(a, w):
            c = np.cumsum(a, axis=1)
            r = np.empty_like(a)
            r[:, :w] = c[:, :w] / np.arange(1, w + 1)
            r[:, w:] = (c[:, w:] - c[:, :-w]) / w
            return r
        return mm, None
    if wl == "pdist":
        return (lambda x, y: np.sqrt(((x[:, :, None, :] - y[:, None, :, :]) ** 2).sum(-1))), None


def gufunc_cands(wl, T, ins, out, opt, kcache):
    cands = []
    layout, sig = GU[wl]
    if opt.ug is None:
        cands.append(Cand("ufuncgen", status=opt.why["ufuncgen"]))
    else:
        target = "cpu" if T == 1 else "parallel"
        key = ("ug", wl, target)
        try:
            if key not in kcache:
                kcache[key] = opt.ug.guvectorize(SRC[wl], [sig], layout, target=target)
            f = kcache[key]
            cands.append(Cand("ufuncgen", (lambda f=f: f(*ins, out=out)), out, threads=lambda: opt.ug.set_num_threads(T)))
        except Exception as e:
            cands.append(Cand("ufuncgen", status="error: %s" % str(e).splitlines()[0][:150]))
    if wl == "matmul4" and opt.ug is not None:
        # the same kernel with NumPy's frozen dimensions: sizes known at compile time
        key = ("ug", wl + "frozen", T)
        try:
            if key not in kcache:
                kcache[key] = opt.ug.guvectorize(SRC[wl], [sig], "(4,4),(4,4)->(4,4)",
                                                 target="cpu" if T == 1 else "parallel")
            g = kcache[key]
            cands.append(Cand("ufuncgen frozen (4,4)", (lambda g=g: g(*ins, out=out)), out,
                              threads=lambda: opt.ug.set_num_threads(T)))
        except Exception as e:
            cands.append(Cand("ufuncgen frozen (4,4)", status="error: %s" % str(e).splitlines()[0][:150]))
    fe, fo = gufunc_numpy(wl)
    cands.append(Cand("numpy expr", lambda: fe(*ins)))
    if fo is not None:
        cands.append(Cand("numpy out=", lambda: fo(*ins, out=out), out))
    for target in ("cpu", "parallel"):
        name = "numba " + target
        if opt.numba is None:
            cands.append(Cand(name, status=opt.why["numba"]))
            continue
        key = ("nb", wl, target)
        try:
            if key not in kcache:
                kcache[key] = opt.numba.guvectorize([sig], layout, target=target)(py_function(SRC[wl]))
            f = kcache[key]
            thr = (lambda: opt.numba.set_num_threads(T)) if target == "parallel" else None
            cands.append(Cand(name, (lambda f=f: f(*ins, out)), out, threads=thr))
        except Exception as e:
            cands.append(Cand(name, status="error: %s" % str(e).splitlines()[0][:150]))
    if wl == "dot":
        if opt.numexpr is None:
            cands.append(Cand("numexpr", status=opt.why["numexpr"]))
        else:
            ne = opt.numexpr
            env = {"a": ins[0], "b": ins[1]}
            cands.append(Cand("numexpr", lambda: ne.evaluate("sum(a*b, axis=1)", local_dict=env, out=out), out,
                              threads=lambda: ne.set_num_threads(T)))
    lib = opt.cref
    if lib is None:
        cands.append(Cand("C -O3", status=opt.why["cref"]))
    else:
        p = [ctypes.c_void_p(a.ctypes.data) for a in ins if isinstance(a, np.ndarray)] + [ctypes.c_void_p(out.ctypes.data)]
        L, I = ctypes.c_long, ctypes.c_int
        if wl == "dot":
            cargs, fn = p + [L(ins[0].shape[0]), L(ins[0].shape[1]), I(T)], lib.dot_f64
        elif wl == "matmul4":
            cargs, fn = p + [L(ins[0].shape[0]), L(4), L(4), L(4), I(T)], lib.matmul_f64
            cargs4 = p + [L(ins[0].shape[0]), I(T)]
            cands.append(Cand("C -O3 fixed 4x4", (lambda: lib.matmul4_f64(*cargs4)), out))
        elif wl == "movmean":
            cargs, fn = p + [L(ins[0].shape[0]), L(ins[0].shape[1]), L(int(ins[1])), I(T)], lib.movmean_f64
        else:
            st, m, d = ins[0].shape
            cargs, fn = p + [L(st), L(m), L(ins[1].shape[1]), L(d), I(T)], lib.pdist_f64
        cands.append(Cand("C -O3", (lambda: fn(*cargs)), out))
    return cands


# ------------------------------------------------------------------ report


def fmt_ms(ms):
    if ms is None:
        return "-"
    return "%.4f" % ms if ms < 0.1 else ("%.3f" % ms if ms < 10 else "%.1f" % ms)


def finish_table(title, cands, ug_name="ufuncgen"):
    base = next((c for c in cands if c.name == ug_name and c.ms is not None), None)
    rows = []
    print("\n== %s ==" % title)
    print("  %-28s %12s %8s %7s  %s" % ("competitor", "ms/call", "ratio", "noise", "check"))
    for c in cands:
        ratio = (c.ms / base.ms) if (base is not None and c.ms is not None and base.ms > 0) else None
        rows.append({"name": c.name, "ms": c.ms, "min_ms": c.min_ms, "ratio": ratio, "noise": c.noise,
                     "status": c.status})
        flag = "" if c.status in ("ok",) else c.status
        print("  %-28s %12s %8s %7s  %s" % (c.name, fmt_ms(c.ms), "%.2f" % ratio if ratio is not None else "-",
                                           "%.0f%%" % (100 * c.noise) if c.noise is not None else "-",
                                           "ok" if c.status == "ok" else flag))
    sys.stdout.flush()
    return rows


# -------------------------------------------------------- process timings

CHILD_UG = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {here!r})
t0 = time.perf_counter()
import ug_backend
ug, why = ug_backend.load({prefer!r})
if ug is None:
    print(json.dumps({{"error": why}})); sys.exit(0)
t1 = time.perf_counter()
f = ug.vectorize({src!r}, {sigs!r}, cache=True)
t2 = time.perf_counter()
x = np.linspace(-1.0, 1.0, 1000)
o = np.empty_like(x)
f(*([x] * {nin}), out=o)
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "create": t2 - t1, "call": t3 - t2, "total": t3 - t0}}))
"""

CHILD_NB_MOD = """
import math
import numpy as np
import numba

@numba.vectorize({sigs!r}, cache=True)
{src}
"""

CHILD_NB = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {dir!r})
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
import {mod} as m
t2 = time.perf_counter()
x = np.linspace(-1.0, 1.0, 1000)
o = np.empty_like(x)
m.{fname}(*([x] * {nin}), out=o)
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "create": t2 - t1, "call": t3 - t2, "total": t3 - t0}}))
"""


def run_child(code, env):
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    for line in reversed(r.stdout.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return {"error": (r.stderr.strip().splitlines() or ["no output"])[-1][:200]}


def process_timings(wls, opt, args, runs):
    """Cached-load per signature and first-call latency, in fresh processes."""
    res = []
    for wl in wls:
        sigs = [sig_of(wl, "float64"), sig_of(wl, "float32")]
        entry = {"workload": wl, "nsigs": len(sigs)}
        # ufuncgen
        with tempfile.TemporaryDirectory(prefix="ugbench-cache-") as d:
            env = dict(os.environ, UFUNCGEN_CACHE_DIR=d)
            code = CHILD_UG.format(here=HERE, prefer=args.ufuncgen if opt.ug else "none", src=SRC[wl], sigs=sigs,
                                   nin=NIN[wl])
            cold = run_child(code, env)
            warm = [run_child(code, env) for _ in range(runs)]
            entry["ufuncgen"] = summarize(cold, warm, len(sigs))
        # Numba
        if opt.numba is None:
            entry["numba"] = {"error": opt.why["numba"]}
        else:
            with tempfile.TemporaryDirectory(prefix="nbbench-") as d:
                mod = "nbk_" + wl.replace("*", "").replace("+", "")
                fname = SRC[wl].split("def ", 1)[1].split("(", 1)[0]
                with open(os.path.join(d, mod + ".py"), "w") as fh:
                    fh.write(CHILD_NB_MOD.format(sigs=sigs, src=SRC[wl]))
                env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(d, "cache"))
                code = CHILD_NB.format(dir=d, mod=mod, fname=fname, nin=NIN[wl])
                cold = run_child(code, env)
                warm = [run_child(code, env) for _ in range(runs)]
                entry["numba"] = summarize(cold, warm, len(sigs))
        res.append(entry)
    return res


def summarize(cold, warm, nsigs):
    if "error" in cold:
        return {"error": cold["error"]}
    ok = [w for w in warm if "error" not in w]
    if not ok:
        return {"error": warm[0].get("error", "?")}
    med = lambda k: statistics.median(w[k] for w in ok) * 1e3  # noqa: E731
    return {"cold_total_ms": cold["total"] * 1e3, "cold_create_ms": cold["create"] * 1e3,
            "warm_total_ms": med("total"), "warm_import_ms": med("import"), "warm_create_ms": med("create"),
            "warm_call_ms": med("call"), "cached_load_per_sig_ms": med("create") / nsigs}


def compile_times(wls, opt, reps):
    """Per-signature compile time, fresh kernel source each time (no cache)."""
    out = []
    counter = [0]

    def fresh(src):
        counter[0] += 1
        name = src.split("def ", 1)[1].split("(", 1)[0]
        new = "%s_v%d_%d" % (name, os.getpid(), counter[0])
        return src.replace("def %s(" % name, "def %s(" % new, 1), new

    for wl in wls:
        if wl in GU:
            layout, sig = GU[wl]
            sigs = [sig]
        else:
            layout, sigs = None, [sig_of(wl, "float64"), sig_of(wl, "float32")]
        row = {"workload": wl, "nsigs": len(sigs)}
        for who in ("ufuncgen", "numba"):
            if who == "ufuncgen" and opt.ug is None:
                row[who] = None
                continue
            if who == "numba" and opt.numba is None:
                row[who] = None
                continue
            ts = []
            try:
                for r in range(reps + 1):  # first one is a warm-up
                    src, name = fresh(SRC[wl])
                    if who == "ufuncgen":
                        t0 = time.perf_counter()
                        if layout:
                            opt.ug.guvectorize(src, sigs, layout)
                        else:
                            opt.ug.vectorize(src, sigs)
                        dt = time.perf_counter() - t0
                    else:
                        fn = py_function(src, name)
                        t0 = time.perf_counter()
                        if layout:
                            opt.numba.guvectorize(sigs, layout)(fn)
                        else:
                            opt.numba.vectorize(sigs)(fn)
                        dt = time.perf_counter() - t0
                    if r:
                        ts.append(dt)
                row[who] = statistics.median(ts) * 1e3 / len(sigs)
            except Exception as e:
                row[who] = None
                row[who + "_error"] = str(e).splitlines()[0][:200]
        out.append(row)
    return out


def call_overhead(opt, reps, number):
    """Per-call cost on 8 float64 elements: a + b."""
    a, b, o = np.arange(8.0), np.arange(8.0), np.empty(8)
    cands = []
    if opt.ug is not None:
        try:
            f = opt.ug.vectorize(SRC["add"], ["float64(float64, float64)"])
            cands.append(("ufuncgen out=", lambda: f(a, b, out=o)))
            if opt.ug.via == "package":
                cands.append(("ufuncgen", lambda: f(a, b)))
        except Exception as e:
            print("ufuncgen add: %s" % e)
    cands.append(("np.add out=", lambda: np.add(a, b, out=o)))
    cands.append(("np.add", lambda: np.add(a, b)))
    # NumPy's own ufuncs without np.add's arithmetic fast path: what any other ufunc costs
    cands.append(("np.fmax out=", lambda: np.fmax(a, b, out=o)))
    cands.append(("np.hypot out=", lambda: np.hypot(a, b, out=o)))
    if opt.numba is not None:
        g = opt.numba.vectorize(["float64(float64, float64)"])(py_function(SRC["add"]))
        cands.append(("numba out=", lambda: g(a, b, out=o)))
        cands.append(("numba", lambda: g(a, b)))
    samples = {n: [] for n, _ in cands}
    for _, fn in cands:
        fn()
    for r in range(reps):
        for n, fn in cands:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            samples[n].append((time.perf_counter() - t0) / number * 1e6)
    return {n: statistics.median(s) for n, s in samples.items()}


# ------------------------------------------------------------------- chart


def chart(results, path, base_name):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(configs):
        groups, names = [], []
        for cfg in configs:
            label = cfg["label"]
            d = {}
            base = next((r for r in cfg["rows"] if r["name"] == base_name and r["ms"]), None)
            for r in cfg["rows"]:
                if r["ms"] and base and r["name"] != base_name and not r["name"].startswith("numba best"):
                    d[r["name"]] = r["ms"] / base["ms"]
                    if r["name"] not in names:
                        names.append(r["name"])
            groups.append((label, d))
        return groups, names

    ew = [c for c in results["elementwise"] if c["n"] == max(x["n"] for x in results["elementwise"])
          and c["dtype"] in ("float64", "int64")] if results["elementwise"] else []
    panels = [("elementwise, n=%s" % (ew[0]["n"] if ew else "-"), ew), ("gufuncs (float64)", results["gufunc"])]
    panels = [p for p in panels if p[1]]
    if not panels:
        return
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(10, 0.9 * max(len(p[1]) for p in panels) + 4),
                                                      5.2 * len(panels)), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, (title, cfgs) in zip(axes[:, 0], panels):
        groups, names = series(cfgs)
        w = 0.8 / max(1, len(names))
        for i, nm in enumerate(names):
            xs = [g for g, (_, d) in enumerate(groups) if nm in d]
            ys = [groups[g][1][nm] for g in xs]
            ax.bar([x + (i - (len(names) - 1) / 2) * w for x in xs], ys, width=w, label=nm, color=cmap(i % 10))
        ax.axhline(1.0, color="k", lw=1)
        ax.set_yscale("log")
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([g for g, _ in groups], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("time / %s time  (>1: %s faster)" % (base_name, base_name))
        ax.set_title(title)
        ax.legend(fontsize=7, ncol=4)
        ax.grid(axis="y", which="both", alpha=0.3)
    fig.suptitle("ufuncgen benchmark suite (%s), medians, ratio vs %s" % (results["meta"]["mode"], base_name))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -------------------------------------------------------------- targets


def find(results, section, **kw):
    for c in results[section]:
        if all(c.get(k) == v for k, v in kw.items()):
            return c
    return None


def row(cfg, prefix):
    if cfg is None:
        return None
    for r in cfg["rows"]:
        if r["name"].startswith(prefix) and r["ms"] is not None:
            return r
    return None


def targets(results):
    out = []
    big = max((c["n"] for c in results["elementwise"]), default=None)

    def add(name, value, goal, cmp=">=", best=None):
        met = None if value is None else (value >= goal if cmp == ">=" else value <= goal)
        out.append({"target": name, "value": value, "goal": "%s %s" % (cmp, goal), "met": met,
                    "value_from_min": best})

    def ratio(cfg, prefix, key="ms"):
        r = row(cfg, prefix)
        u = row(cfg, "ufuncgen")
        if r is None or u is None or r.get("status") != "ok" or u.get("status") != "ok":
            return None
        return r[key] / u[key] if r.get(key) and u.get(key) else None

    s1 = find(results, "elementwise", workload="sigmoid", dtype="float64", n=big, layout="contiguous", threads=1)
    add("sigmoid 10M f64, 1 thread: numpy expr / ufuncgen", ratio(s1, "numpy expr"), 4.0,
        best=ratio(s1, "numpy expr", "min_ms"))
    add("sigmoid 10M f64, 1 thread: numba cpu / ufuncgen", ratio(s1, "numba cpu"), 5.0,
        best=ratio(s1, "numba cpu", "min_ms"))
    a1 = find(results, "elementwise", workload="a*b+c", dtype="float64", n=big, layout="contiguous", threads=1)
    add("a*b+c 10M f64, 1 thread: C -O3 / ufuncgen (bandwidth share)", ratio(a1, "C -O3"), 0.95,
        best=ratio(a1, "C -O3", "min_ms"))
    add("a*b+c 10M f64, 1 thread: numpy expr / ufuncgen", ratio(a1, "numpy expr"), 1.5,
        best=ratio(a1, "numpy expr", "min_ms"))
    s2 = find(results, "elementwise", workload="sigmoid", dtype="float64", n=big, layout="stride2", threads=1)
    add("sigmoid 10M f64 stride-2, 1 thread: numba cpu / ufuncgen", ratio(s2, "numba cpu"), 2.0,
        best=ratio(s2, "numba cpu", "min_ms"))
    for c in results["gufunc"]:
        add("gufunc %s, %d thread(s): numba best / ufuncgen" % (c["workload"], c["threads"]),
            ratio(c, "numba best") or ratio(c, "numba cpu"), 1.0,
            best=min(filter(None, [ratio(c, "numba cpu", "min_ms"), ratio(c, "numba parallel", "min_ms")]),
                     default=None))
    for c in results.get("compile", []):
        add("compile %s: ms per signature" % c["workload"], c.get("ufuncgen"), 10.0, "<=")
    ov = results.get("overhead", {})
    if "ufuncgen out=" in ov and "np.add out=" in ov:
        add("per-call overhead, 8 elements, out=: ufuncgen / np.add", ov["ufuncgen out="] / ov["np.add out="], 1.15,
            "<=")
    if "ufuncgen" in ov and "np.add" in ov:
        add("per-call overhead, 8 elements: ufuncgen / np.add", ov["ufuncgen"] / ov["np.add"], 1.15, "<=")
    return out


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10M float64 only, fewer repetitions (~1-2 min)")
    ap.add_argument("--only", default="", help="comma-separated workloads (a*b+c,sigmoid,leaky_relu,poly8,intmod,"
                    "dot,matmul4,movmean,pdist,compile,process,overhead)")
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--ufuncgen", default="auto", choices=["auto", "package", "ctypes", "none"],
                    help="how to reach ufuncgen (see ug_backend.py)")
    ap.add_argument("--cref-dir", default=os.environ.get("BENCH_CREF_DIR", os.path.join(HERE, "build")),
                    help="where libcref.so / libcref_fast.so are (bench/run.sh builds them)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="output directory")
    ap.add_argument("--reps", type=int, default=None, help="samples per competitor")
    ap.add_argument("--min-sample", type=float, default=None, help="seconds per sample (default 0.005 quick, 0.02)")
    args = ap.parse_args()

    quick = args.quick
    reps = args.reps or (5 if quick else 9)
    min_sample = args.min_sample or (0.005 if quick else 0.02)
    sizes = [10_000_000] if quick else [1_000, 100_000, 10_000_000]
    dtypes = ["float64"] if quick else ["float64", "float32"]
    layouts = ["contiguous", "stride2"]
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    ncpu = os.cpu_count() or 1
    threads = [t for t in threads if t <= ncpu] or [1]
    ew_wls = ["a*b+c", "sigmoid", "leaky_relu", "poly8", "intmod"]
    gu_wls = ["dot", "matmul4", "movmean", "pdist"]
    only = set(w.strip() for w in args.only.split(",") if w.strip())
    sel = (lambda w: not only or w in only)

    opt = Opt(args)
    t_start = time.time()
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": {"cpu": _cpu_name(), "ncpu": ncpu, "platform": platform.platform(),
                    "python": platform.python_version()},
        "versions": {"numpy": np.__version__,
                     "numba": getattr(opt.numba, "__version__", None) or opt.why.get("numba"),
                     "numexpr": getattr(opt.numexpr, "__version__", None) or opt.why.get("numexpr"),
                     "ufuncgen": (opt.ug.version if opt.ug else opt.why.get("ufuncgen"))},
        "ufuncgen_via": opt.ug.via if opt.ug else None,
        "reps": reps, "min_sample_s": min_sample, "threads": threads, "loadavg_start": os.getloadavg(),
        "method": "median of reps interleaved samples after warm-up; ratio = competitor ms / ufuncgen ms (>1: "
                  "ufuncgen faster); results checked against NumPy first",
    }
    print("ufuncgen benchmark suite (%s mode): %s, %d cpus, numpy %s, numba %s, numexpr %s" % (
        meta["mode"], meta["machine"]["cpu"], ncpu, np.__version__, meta["versions"]["numba"],
        meta["versions"]["numexpr"]))
    print("ufuncgen: %s%s" % (meta["versions"]["ufuncgen"], " (via %s)" % opt.ug.via if opt.ug else ""))
    if opt.ug is not None and opt.ug.via == "ctypes":
        print("  NOTE: the Python package is not importable; ufuncgen is called through its C API with ctypes\n"
              "  (same loops and executor; ~10-20 us ctypes cost per call, so small sizes are not representative)")
    print("ratio = competitor time / ufuncgen time: > 1 means ufuncgen is faster. noise = IQR/median.")

    results = {"meta": meta, "elementwise": [], "gufunc": []}
    kcache = {}
    rng = np.random.default_rng(12345)

    for wl in ew_wls:
        if not sel(wl):
            continue
        for dt in (["int64"] if wl == "intmod" else dtypes):
            for n in sizes:
                for layout in layouts:
                    ins, out_base, out = make_inputs(wl, dt, n, layout, rng)
                    ref = numpy_expr(wl)(*ins)
                    for T in threads:
                        if quick and layout == "stride2" and T > 1:
                            continue
                        cands = elementwise_cands(wl, dt, T, ins, out_base, out, opt, kcache)
                        for c in cands:
                            if c.status is None:
                                verify(c, ref)
                        measure(cands, reps, min_sample)
                        add_best(cands, "numba ", "numba best")
                        title = "%s [%s]  %s  n=%s  %s  threads=%d" % (wl, DESC[wl], dt, f"{n:,}", layout, T)
                        rows = finish_table(title, cands)
                        results["elementwise"].append({
                            "workload": wl, "dtype": dt, "n": n, "layout": layout, "threads": T, "rows": rows,
                            "label": "%s %s%s T=%d" % (wl, dt if dt != "float64" else "",
                                                       " s2" if layout == "stride2" else "", T)})
                    del ins, out_base, out, ref

    for wl in gu_wls:
        if not sel(wl):
            continue
        ins, out, desc = gufunc_inputs(wl, quick, rng)
        fe, _ = gufunc_numpy(wl)
        ref = fe(*ins)
        for T in threads:
            cands = gufunc_cands(wl, T, ins, out, opt, kcache)
            for c in cands:
                if c.status is None:
                    verify(c, ref)
            measure(cands, max(3, reps - 2), min_sample)
            add_best(cands, "numba ", "numba best")
            title = "gufunc %s %s  %s  float64  threads=%d" % (wl, GU[wl][0], desc, T)
            rows = finish_table(title, cands)
            results["gufunc"].append({"workload": wl, "layout": GU[wl][0], "size": desc, "threads": T,
                                      "rows": rows, "label": "%s T=%d" % (wl, T)})
        del ins, out, ref

    if sel("compile"):
        cw = ["sigmoid", "a*b+c", "poly8", "dot"]
        results["compile"] = compile_times(cw, opt, 3 if quick else 7)
        print("\n== compile time per signature (fresh kernel source, no cache), median ms ==")
        print("  %-12s %6s %12s %12s %8s" % ("kernel", "sigs", "ufuncgen", "numba", "ratio"))
        for r in results["compile"]:
            u, nb = r.get("ufuncgen"), r.get("numba")
            print("  %-12s %6d %12s %12s %8s" % (r["workload"], r["nsigs"], fmt_ms(u), fmt_ms(nb),
                                                "%.1f" % (nb / u) if u and nb else "-"))
            for k in ("ufuncgen_error", "numba_error"):
                if k in r:
                    print("    %s: %s" % (k, r[k]))

    if sel("process"):
        pw = ["sigmoid", "a*b+c"] if quick else ["sigmoid", "a*b+c", "poly8"]
        results["process"] = process_timings(pw, opt, args, 2 if quick else 5)
        print("\n== fresh process (python -c), ms after `import numpy`; cached = second and later runs ==")
        print("  %-10s %-9s %10s %10s %10s %10s %12s" % ("kernel", "who", "cold total", "warm total", "import",
                                                          "create", "load/sig"))
        for e in results["process"]:
            for who in ("ufuncgen", "numba"):
                d = e.get(who, {})
                if "error" in d:
                    print("  %-10s %-9s %s" % (e["workload"], who, d["error"]))
                    continue
                print("  %-10s %-9s %10s %10s %10s %10s %12s" % (
                    e["workload"], who, fmt_ms(d["cold_total_ms"]), fmt_ms(d["warm_total_ms"]),
                    fmt_ms(d["warm_import_ms"]), fmt_ms(d["warm_create_ms"]), fmt_ms(d["cached_load_per_sig_ms"])))

    if sel("overhead"):
        results["overhead"] = call_overhead(opt, reps, 2000 if quick else 20000)
        print("\n== per-call cost on 8 float64 elements (a + b), median us/call ==")
        base = results["overhead"].get("np.add out=")
        for k, v in results["overhead"].items():
            print("  %-16s %8.3f us   %5.2fx np.add out=" % (k, v, v / base if base else float("nan")))

    results["targets"] = targets(results)
    if results["targets"]:
        print("\n== targets (issue 7) ==")
        for t in results["targets"]:
            v = t["value"]
            m = t.get("value_from_min")
            print("  %-64s %7s  %-8s %-12s %s" % (t["target"], "%.2f" % v if v is not None else "-", t["goal"],
                                                {True: "met", False: "MISSED", None: "not measured"}[t["met"]],
                                                "(from minima: %.2f)" % m if m is not None else ""))
    meta["elapsed_s"] = round(time.time() - t_start, 1)
    meta["loadavg_end"] = os.getloadavg()
    noises = [r["noise"] for sec in ("elementwise", "gufunc") for c in results[sec] for r in c["rows"]
              if r.get("noise") is not None]
    if noises:
        meta["median_noise"] = statistics.median(noises)
        print("\nmedian noise (IQR/median) over all rows: %.0f%%; load average at start %s, at end %s%s" % (
            100 * meta["median_noise"], "%.1f" % meta["loadavg_start"][0], "%.1f" % meta["loadavg_end"][0],
            "  -- a busy machine: ratios near a target are within the noise" if meta["median_noise"] > 0.15 else ""))

    os.makedirs(args.out, exist_ok=True)
    jpath = os.path.join(args.out, "latest.json")
    with open(jpath, "w") as fh:
        json.dump(results, fh, indent=1, default=float)
    base_name = "ufuncgen" if opt.ug is not None else "numpy expr"
    ppath = os.path.join(args.out, "latest.png")
    try:
        chart(results, ppath, base_name)
    except Exception as e:
        print("chart: %s" % e)
        ppath = None
    print("\nwrote %s%s  (%.0f s)" % (jpath, " and " + ppath if ppath else "", meta["elapsed_s"]))


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


if __name__ == "__main__":
    main()
