"""Ahead-of-time builds (ufuncgen.aot, issue 19): kernels compiled at build
time into an extension module that imports with no LLVM, and gives the JIT's
results bit for bit.

The module is built here as a library author builds it: `ufuncgen.aot.build`
writes the loops and the C, and the C compiler links them with the runtime
library. That needs a C compiler; scripts/wheel.sh runs the rest of the suite
without one (users of the JIT need none) and this file with one.
"""
import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ufuncgen
import ufuncgen.aot as aot

CC = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler on PATH: an ahead-of-time build compiles C")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.environ.get("UFUNCGEN_EXAMPLES") or os.path.join(ROOT, "examples")

KERNELS = textwrap.dedent('''
    import math
    import numpy as np
    import ufuncgen

    SCALE = 2.5

    def helper(v):
        return v * SCALE

    @ufuncgen.vectorize(["float64(float64)", "float32(float32)"])
    def sigmoid(x):
        return 1.0 / (1.0 + math.exp(-x))

    @ufuncgen.vectorize(["float64(float64)", "float32(float32)"], math="libm")
    def logistic_libm(x):
        return 1.0 / (1.0 + np.exp(-x))

    @ufuncgen.vectorize(["int64(int64, int64)", "float64(float64, float64)"], identity=0)
    def addmul(a, b):
        return a + helper(b) if b > 0 else a - b

    @ufuncgen.vectorize(["float64(float64, float64, float64)"])
    def fma3(a, b, c):
        return a * b + c

    @ufuncgen.guvectorize(["void(float64[:], int64, float64[:])", "void(float32[:], int64, float32[:])"],
                          "(n),()->(n)", target="parallel")
    def movmean(a, window, out):
        s = 0.0
        for i in range(a.shape[0]):
            s += a[i]
            if i >= window:
                s -= a[i - window]
            out[i] = s / min(i + 1, window)

    @ufuncgen.guvectorize(["void(float64[:], float64[:], float64[:])"], "(n),(n)->()")
    def dot(a, b, out):
        acc = 0.0
        for i in range(a.shape[0]):
            acc += a[i] * b[i]
        out[0] = acc

    @ufuncgen.guvectorize(["void(float64[:], int64[:], float64[:])"], "(n),(m)->(m)", boundscheck=True)
    def take(a, idx, out):
        for j in range(idx.shape[0]):
            out[j] = a[idx[j]]

    @ufuncgen.guvectorize(["void(float64[:], float64[:])"], "(n)->()")
    def checked_mean(a, out):
        if a.shape[0] == 0:
            raise ValueError("empty row")
        out[0] = np.mean(a)

    @ufuncgen.vectorize(["complex128(complex128, complex128)", "complex64(complex64, complex64)"])
    def cmuladd(a, b):
        return a * b + 1j

    @ufuncgen.vectorize(["float16(float16, float16)"])
    def half_fma(a, b):
        return a * b + 0.1

    @ufuncgen.vectorize
    def cube(x):
        return x * x * x
''')

LEVELS = ["host", "x86-64-v4", "x86-64-v3", "x86-64-v2"]


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("aot")
    kfile = d / "testkernels.py"
    kfile.write_text(KERNELS)
    gen = d / "gen"
    aot.build(str(kfile), "aotk", str(gen), cpu=LEVELS)  # the files, looked at below
    lib = aot.build_extension(str(kfile), "aotk", str(d), cpu=LEVELS, cc=CC)
    return {"dir": d, "kernels": str(kfile), "lib": lib}


@pytest.fixture(scope="module")
def mods(built):
    """(the AOT module, the same kernels through the JIT)."""
    return _load(built["lib"], "aotk"), _load(built["kernels"], "testkernels_jit")


def _run(code, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, **kw)


def bits_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# ---------------------------------------------------------------- the ufuncs


def test_files_written(built):
    gen = built["dir"] / "gen"
    assert sorted(os.listdir(gen)) == ["aotk.c", "aotk.h", "aotk_loops.a", "aotk_module.c"]
    h = (gen / "aotk.h").read_text()
    assert "ug_ufunc *aotk_sigmoid(ug_context *ctx);" in h and "ug_ufunc *aotk_movmean(ug_context *ctx);" in h


def test_real_numpy_ufuncs(mods):
    m, j = mods
    for name in ["sigmoid", "logistic_libm", "addmul", "fma3", "movmean", "dot", "take", "checked_mean"]:
        a, b = getattr(m, name), getattr(j, name)
        assert isinstance(a, np.ufunc), name
        assert (a.nin, a.nout, a.signature, a.types, a.identity) == (b.nin, b.nout, b.signature, b.types, b.identity)
    assert m.sigmoid.__name__ == "sigmoid"
    assert m.cpu_level.startswith("host")


def test_bit_for_bit_with_the_jit(mods):
    m, j = mods
    rng = np.random.default_rng(7)
    x = rng.normal(size=(301, 67)) * 8
    x[3, 5] = np.nan
    x[4, 6] = -np.inf
    xf = x.astype(np.float32)
    cases = [
        ("sigmoid", (x,)), ("sigmoid", (xf,)), ("sigmoid", (x[::3, ::2],)), ("sigmoid", (x.T,)),
        ("logistic_libm", (x,)), ("logistic_libm", (xf[::-1],)),
        ("addmul", (x, x[:, :1])), ("addmul", (np.arange(-50, 50), np.arange(100)[::-1])),
        ("fma3", (x, x[:1], 2.0)),
        ("movmean", (x, 5)), ("movmean", (xf, np.array([[1], [3], [7]]).repeat(101, 0)[:301])),
        ("movmean", (rng.normal(size=(20000, 64)), 9)),  # parallel: many outer iterations
        ("dot", (x, x[::-1])), ("dot", (x[:, :10], x[0, :10])),
        ("take", (x, np.array([0, 5, 66]))),
        ("cmuladd", (x + 1j * x[::-1], x.T.copy().T - 2j)), ("cmuladd", ((x - 1j).astype(np.complex64), xf)),
        ("half_fma", (x.astype(np.float16), xf[:, ::-1].astype(np.float16))),
    ]
    for name, args in cases:
        got, want = getattr(m, name)(*args), getattr(j, name)(*args)
        assert bits_equal(got, want), name


def test_numpy_machinery(mods):
    m, j = mods
    x = np.linspace(-3, 3, 12)
    out = np.full(12, -7.0)
    where = x > 0
    m.sigmoid(x, out=out, where=where)
    assert np.array_equal(out[~where], np.full((~where).sum(), -7.0))
    assert bits_equal(out[where], j.sigmoid(x[where]))
    assert bits_equal(m.addmul.reduce(np.arange(10)), j.addmul.reduce(np.arange(10)))
    assert m.addmul.reduce(np.array([], np.int64)) == 0  # the identity
    assert bits_equal(m.addmul.accumulate(np.arange(6.0)), j.addmul.accumulate(np.arange(6.0)))
    assert bits_equal(m.dot(x.reshape(3, 4), x.reshape(3, 4), axes=[(1,), (1,), ()]),
                      j.dot(x.reshape(3, 4), x.reshape(3, 4), axes=[(1,), (1,), ()]))
    assert bits_equal(m.sigmoid(np.arange(5, dtype=np.int16)), j.sigmoid(np.arange(5, dtype=np.int16)))


def test_errors_raise_as_the_jit(mods):
    m, _ = mods
    with pytest.raises(IndexError):
        m.take(np.arange(3.0), np.array([3]))
    with pytest.raises(ValueError, match="empty row"):
        m.checked_mean(np.zeros((2, 0)))
    with pytest.raises(TypeError):
        m.dot(np.zeros(3, np.complex128), np.zeros(3, np.complex128))


def test_pickle_and_dask(mods):
    m, j = mods
    assert pickle.loads(pickle.dumps(m.sigmoid)) is m.sigmoid
    da = pytest.importorskip("dask.array")
    x = np.random.default_rng(1).normal(size=(1000, 40))
    dx = da.from_array(x, chunks=(250, 40))
    assert bits_equal(m.sigmoid(dx).compute(), j.sigmoid(x))
    assert bits_equal(m.movmean(dx, 4).compute(), j.movmean(x, 4))


def test_kernel_without_signatures_compiles_at_first_access(mods):
    m, j = mods
    assert "cube" not in vars(m)  # made at first access, not at import
    cube = m.cube
    assert ufuncgen.is_ufuncgen(cube) and cube is m.cube
    assert bits_equal(cube(np.arange(5)), j.cube(np.arange(5)))
    with pytest.raises(AttributeError, match="module 'aotk' has no attribute 'nope'"):
        m.nope


# ---------------------------------------------------------------- the process


def test_imports_with_no_llvm_and_no_ufuncgen(built):
    r = _run(textwrap.dedent(f'''
        import sys, importlib.util
        sys.modules["ufuncgen"] = None   # as if not installed
        import numpy as np
        spec = importlib.util.spec_from_file_location("aotk", {built["lib"]!r})
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        print(m.sigmoid(np.array([0.0]))[0], m.movmean(np.arange(4.0), 2)[-1])
        maps = open("/proc/self/maps").read()
        print("LLVM" in maps or "libufuncgen.so" in maps)
        try:
            m.cube(np.arange(3, dtype=np.int32))
        except TypeError as e:
            print(e)
    '''))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0.5 2.5"
    assert lines[1] == "False"
    assert "kernel 'cube' of module 'aotk'" in lines[2] and "(int32)" in lines[2] and "ufuncgen" in lines[2]


def test_cpu_levels_give_the_same_results(built):
    code = textwrap.dedent(f'''
        import importlib.util, numpy as np
        spec = importlib.util.spec_from_file_location("aotk", {built["lib"]!r})
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        rng = np.random.default_rng(3)
        x = rng.normal(size=(257, 33)) * 6
        out = dict(level=m.cpu_level, sig=m.sigmoid(x), lib=m.logistic_libm(x), libf=m.logistic_libm(x.astype('f4')),
                   am=m.addmul(x, x[::-1]), mm=m.movmean(x, 5), dot=m.dot(x, x))
        np.savez(__import__("sys").argv[1], **out)
    ''')
    res = {}
    for level in LEVELS:
        path = str(built["dir"] / f"lv-{level}.npz")
        r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                           env=dict(os.environ, UFUNCGEN_AOT_LEVEL=level))
        if r.returncode and "does not support" in r.stderr:
            continue  # a level this CPU lacks (an x86-64-v4 build on an AVX2 machine)
        assert r.returncode == 0, r.stderr
        res[level] = np.load(path)
        assert str(res[level]["level"]).startswith(level)
    assert {"host", "x86-64-v3", "x86-64-v2"} <= set(res)
    ref = res["host"]
    for level, r in res.items():
        for k in ["lib", "libf", "am", "mm", "dot"]:  # arithmetic and libm: the same bits on every level
            assert bits_equal(r[k], ref[k]), (level, k)
        # libmvec's exp differs between its SSE, AVX2 and AVX-512 variants, within its bound
        s, t = r["sig"], ref["sig"]
        assert np.all(np.abs(s - t) <= 4 * np.spacing(np.abs(t))), level


def test_level_errors(built):
    r = _run(f'import importlib.util as u; s = u.spec_from_file_location("aotk", {built["lib"]!r}); '
             f'u.module_from_spec(s)', env={"UFUNCGEN_AOT_LEVEL": "x86-64-v1"})
    assert r.returncode != 0
    assert "UFUNCGEN_AOT_LEVEL=x86-64-v1 names no level it was built for" in r.stderr
    assert "x86-64-v3" in r.stderr and "host (" in r.stderr


# ---------------------------------------------------------------- bad input


def test_a_kernel_that_does_not_type_check_stops_the_build(tmp_path):
    k = tmp_path / "bad.py"
    k.write_text(textwrap.dedent('''
        import ufuncgen

        @ufuncgen.vectorize(["float64(float64)"])
        def fine(x):
            return x + 1.0

        @ufuncgen.vectorize(["float64(float64)"])
        def broken(x):
            y = x + 1.0
            return y.nosuchattr
    '''))
    r = subprocess.run([sys.executable, "-m", "ufuncgen.aot", str(k), "-m", "bad", "-o", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    # the kernel's own file, line and column, with the caret under the attribute
    assert "bad.py:11:12: kernel 'broken': 'y' is float64, not an array" in r.stderr, r.stderr
    assert "    return y.nosuchattr\n           ^" in r.stderr
    assert not (tmp_path / "o" / "bad.c").exists()


@pytest.mark.parametrize("args, message", [
    (["-m", "x", "-o", "o", "--cpu", "x86-64-v9"], "invalid choice"),
    (["-m", "not-an-identifier", "-o", "o"], "is not a C identifier"),
    (["-o", "o"], "-m MODULE and -o OUTDIR are required"),
])
def test_bad_arguments(tmp_path, args, message):
    k = tmp_path / "k.py"
    k.write_text("import ufuncgen\n\n@ufuncgen.vectorize(['f8(f8)'])\ndef f(x):\n    return x\n")
    r = subprocess.run([sys.executable, "-m", "ufuncgen.aot", str(k)] + args, capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode in (1, 2) and message in r.stderr, r.stderr


def test_bad_descriptions(tmp_path):
    cases = {
        "kernel f\nsignature f8->f8\nsoruce\n": "desc.ugk:3: unknown directive 'soruce'",
        "signature f8->f8\n": "desc.ugk:1: 'signature' before the first 'kernel'",
        "kernel f\nsignature f8->f8\nsource\ndef f(x):\n    return x\n": "has no closing line 'end'",
        "kernel f\nsignature f8->f8\n": "kernel 'f' has no source",
        "kernel f\ntarget gpu\n": "desc.ugk:2: bad value 'gpu'",
        "kernel f\nsignature f8->zz\nsource\ndef f(x):\n    return x\nend\n": "kernel 'f'",
        "kernel f\nsource-file nowhere.py\n": "cannot read source-file",
    }
    for text, message in cases.items():
        d = tmp_path / "desc.ugk"
        d.write_text(text)
        with pytest.raises((ValueError, TypeError, OSError, RuntimeError)) as e:
            aot.build(str(d), "m", str(tmp_path / "o"))
        assert message in str(e.value), (text, str(e.value))


# ---------------------------------------------------------------- the example package


def test_example_package_builds_and_imports_without_ufuncgen(tmp_path):
    pytest.importorskip("mesonpy")
    src = os.path.join(EXAMPLES, "aot")
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps",
                        "--disable-pip-version-check", "-w", str(wheels), src], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = os.listdir(wheels)
    # Installed next to NumPy only: a target directory holding the package alone.
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
                        "--target", str(target), str(wheels / whl)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = _run(textwrap.dedent(f'''
        import sys
        sys.modules["ufuncgen"] = None
        sys.path.insert(0, {str(target)!r})
        import numpy as np, ugaot_example as ex
        x = np.linspace(-2, 2, 5)
        print(repr(ex.sigmoid(x).tolist()), ex.movmean(np.arange(24.0).reshape(4, 6), 3)[3].tolist())
        print("LLVM" in open("/proc/self/maps").read())
    '''), cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.splitlines()
    jit = _load(os.path.join(src, "kernels.py"), "example_kernels_jit")
    x = np.linspace(-2, 2, 5)
    assert first == repr(jit.sigmoid(x).tolist()) + " " + str(jit.movmean(np.arange(24.0).reshape(4, 6), 3)[3].tolist())
    assert second == "False"


# ---------------------------------------------------------------- a real client: numbagg


def test_numbagg_kernels_ahead_of_time_match_the_jit(tmp_path):
    """All 48 of numbagg's kernels compiled ahead of time into one module,
    then numbagg's own functions run on them: the JIT's results bit for bit."""
    tn = pytest.importorskip("test_numbagg")

    made = {}  # kernel name -> the JIT ufuncs numbagg got (ndfill makes one per dtype)

    def jit_guvectorize(signatures, layout, **options):
        sigs = [tn._signature_str(s) for s in signatures]

        def decorate(func):
            name, kernel = func.__name__, func
            if name == "__numbagg_transformed_func":
                name, kernel = tn._ndreduce_source(func)
            uf = ufuncgen.guvectorize(sigs, layout, target=options.get("target", "cpu"))(kernel)
            made.setdefault(name, []).append(uf)
            return uf
        return decorate

    def run_all(guvectorize):
        real = tn._ufuncgen_guvectorize
        tn._ufuncgen_guvectorize = guvectorize
        try:
            out = {}
            with tn.swapped():
                for c in tn.CALLS:
                    kernel, fname, builder, dtypes = c.values
                    for dt in dtypes:
                        args, kwargs = builder(dt)
                        out[(kernel, np.dtype(dt).name)] = tn._run(fname, args, kwargs)
            return out
        finally:
            tn._ufuncgen_guvectorize = real

    want = run_all(jit_guvectorize)
    assert len(made) == 48, sorted(made)
    text = []
    for name, ufs in made.items():  # one AOT kernel per name, with every signature numbagg asked for
        spec = dict(ufuncgen._state(ufs[0]).spec)
        spec["signatures"] = list(dict.fromkeys(s for uf in ufs for s in ufuncgen._state(uf).spec["signatures"]))
        text.append(aot._kernel_text(name, spec))
    desc = tmp_path / "numbagg.ugk"
    desc.write_text("\n".join(text))
    lib = aot.build_extension(str(desc), "nbk", str(tmp_path), cc=CC)
    nbk = _load(lib, "nbk")

    def aot_guvectorize(signatures, layout, **options):
        def decorate(func):
            name = func.__name__
            if name == "__numbagg_transformed_func":
                name, _ = tn._ndreduce_source(func)
            return getattr(nbk, name)
        return decorate

    got = run_all(aot_guvectorize)
    assert got.keys() == want.keys()
    for key in want:
        assert bits_equal(got[key], want[key]), key
