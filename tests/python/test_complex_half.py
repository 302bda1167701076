"""complex64, complex128 and float16 against NumPy.

Arithmetic (+ - * /, unary minus, conjugate, abs, ==, !=) is compared bit
for bit with the same expression evaluated by NumPy (np.* names, Python
literals as NEP 50 weak scalars), on random values, on NumPy's special
values (infinities, NaNs and signed zeros in each part) and on components
near the overflow threshold; complex math functions within 2 ulp per part
(exactly where both are inf, NaN or zero); float16 bit for bit, math with
math='libm' too. Operands also strided, broadcast and in place.
"""
import itertools

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import ufuncgen  # noqa: E402
from kernelgen import expressions  # noqa: E402

CSIG = {np.complex128: "c16(c16,c16)", np.complex64: "c8(c8,c8)"}
USIG = {np.complex128: "D->D", np.complex64: "F->F"}
SPECIAL_PARTS = [0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 1e300, -3e-310]
SPECIAL = np.array([complex(a, b) for a, b in itertools.product(SPECIAL_PARTS, SPECIAL_PARTS)])


def _numpy(expr, **names):
    with np.errstate(all="ignore"):
        return eval(expr, {"np": np, **names})  # noqa: S307 - our own generated text


def same_bits(got, want):
    """Equal, NaNs equal whatever their sign or payload, zeros by sign."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    parts = (lambda a: (a.real, a.imag)) if got.dtype.kind == "c" else (lambda a: (a,))
    ok = np.ones(got.shape, bool)
    for g, w in zip(parts(got), parts(want)):
        ok &= (np.isnan(g) & np.isnan(w)) | ((g == w) & (np.signbit(g) == np.signbit(w)))
    return ok


def within_ulps(got, want, ulps):
    """Per part: both NaN, equal infinities or zeros, or within ulps of want."""
    got, want = np.asarray(got), np.asarray(want)
    parts = (lambda a: (a.real, a.imag)) if got.dtype.kind == "c" else (lambda a: (a,))
    ok = np.ones(got.shape, bool)
    for g, w in zip(parts(got), parts(want)):
        exact = (np.isnan(g) & np.isnan(w)) | (g == w)
        finite = np.isfinite(g) & np.isfinite(w)
        close = finite & (np.abs(g.astype(np.float64) - w) <= ulps * np.spacing(np.abs(w)))
        ok &= exact | close
    return ok


def complex_arrays(dtype, shape):
    w = 32 if dtype == np.complex64 else 64
    big = 3e38 if dtype == np.complex64 else 1e308
    part = st.floats(-1e6, 1e6, width=w) | st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan, big, -big, 1e-30])
    return hnp.arrays(dtype, shape, elements=st.builds(complex, part, part))


COMPLEX_EXPR = expressions(["1.5", "2", "1j", "(2-0.5j)", "0.25j"], ["+", "-", "*", "/"],
                           ["-", "np.conj", "np.conjugate"], 6)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@given(data=st.data())
def test_complex_arithmetic_bit_exact(dtype, data):
    expr = data.draw(COMPLEX_EXPR)
    x = data.draw(complex_arrays(dtype, st.integers(0, 40)))
    y = data.draw(complex_arrays(dtype, x.shape))
    want = np.broadcast_to(np.asarray(_numpy(expr, x=x, y=y)), x.shape)
    f = ufuncgen.vectorize(f"def k(x, y):\n    return {expr}\n", [CSIG[dtype]])
    with np.errstate(all="ignore"):
        got = f(x, y)
    assert got.dtype == dtype
    ok = same_bits(got, want.astype(dtype))
    assert ok.all(), (expr, x[~ok], y[~ok], got[~ok], want[~ok])


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "==", "!="])
def test_special_value_table(dtype, op):
    """Every pair of NumPy's special values (and huge and subnormal parts) in each part."""
    x, y = np.meshgrid(SPECIAL.astype(dtype), SPECIAL.astype(dtype))
    f = ufuncgen.vectorize(f"lambda x, y: x {op} y")
    with np.errstate(all="ignore"):
        got, want = f(x, y), _numpy(f"x {op} y", x=x, y=y)
    ok = same_bits(got, want)
    assert ok.all(), (x[~ok], y[~ok], got[~ok], want[~ok])


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_large_components_divide_without_overflow(dtype):
    big = np.finfo(dtype).max / 4
    x = np.array([complex(big, big), complex(big, -big), complex(1, 1)], dtype)
    y = np.array([complex(big, big / 2), complex(-big / 3, big), complex(big, big)], dtype)
    f = ufuncgen.vectorize("lambda x, y: x / y", [CSIG[dtype]])
    got = f(x, y)
    assert np.all(np.isfinite(got.real) & np.isfinite(got.imag)), got  # the naive formula overflows here
    assert same_bits(got, x / y).all()


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_abs_angle_parts(dtype, rng):
    n = 1001
    z = ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) * np.exp(rng.uniform(-40, 40, n))).astype(dtype)
    z[:len(SPECIAL)] = SPECIAL[:n].astype(dtype)
    src = "def k(z):\n    return {}\n"
    with np.errstate(all="ignore"):
        for expr, want in [("abs(z)", np.abs(z)), ("z.real - z.imag", z.real - z.imag),
                           ("np.real(z) * np.imag(z)", z.real * z.imag), ("z.conjugate()", np.conj(z)),
                           ("abs(z) ** 2", np.abs(z) ** 2), ("-z", -z), ("not z", ~z.astype(bool))]:
            got = ufuncgen.vectorize(src.format(expr))(z)
            ok = same_bits(got, want)
            assert ok.all(), (expr, z[~ok], got[~ok], want[~ok])
        got = ufuncgen.vectorize(src.format("np.angle(z)"))(z)  # NumPy's arctan2 is SVML's on AVX-512 hosts
        ok = within_ulps(got, np.angle(z), 2)
        assert ok.all(), (z[~ok], got[~ok])


def test_complex_builtin_and_casts():
    f = ufuncgen.vectorize("def k(x, y):\n    return complex(x, y) * 2 + complex(x)\n")
    x, y = np.array([1.5, -0.0, np.inf], np.float32), np.array([2, 3, -1], np.int32)
    got = f(x, y)
    assert got.dtype == np.complex128  # Python's complex(): always complex128
    z = np.empty(3, np.complex128)
    z.real, z.imag = x, y  # complex(x, y) keeps a -0.0 real part (x + 1j*y would not)
    assert same_bits(got, z * 2 + x).all()
    real = ufuncgen.vectorize("def k(z):\n    return np.float32(z)\n", ["f4(c16)"])
    assert same_bits(real(np.array([1.25 + 7j, -np.inf - 1j])), np.array([1.25, -np.inf], np.float32)).all()


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_power_is_numpys(dtype, rng):
    n = 200
    z = ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) * 3).astype(dtype)
    z[:4] = [0, 1e200 + 1e200j if dtype == np.complex128 else 1e30 + 1e30j, -0.0, 1j]
    f = ufuncgen.vectorize("lambda z, w: z ** w", [CSIG[dtype]])
    for w in [0, 1, 2, 3, -1, -2, -3, 7, 99, 100, -50, 2.5, 0.5j, 1 + 1j]:
        with np.errstate(all="ignore"):
            got, want = f(z, dtype(w)), np.power(z, dtype(w))
        close = within_ulps(got, want, 0 if np.imag(w) == 0 and float(np.real(w)).is_integer() else 2)
        assert close.all(), (w, z[~close], got[~close], want[~close])


COMPLEX_FUNCS = ["exp", "log", "log10", "log2", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsin",
                 "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "expm1", "log1p"]


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("fn", COMPLEX_FUNCS)
def test_complex_functions_within_2_ulp(dtype, fn, rng):
    if fn.startswith("arc") and np.lib.NumpyVersion(np.__version__) < "2.4.0":
        pytest.skip("NumPy before 2.4 computes the complex inverse functions with formulas of its own "
                    "(seen on 2.1: beyond 2 ulp of glibc's); the run on the newest NumPy checks them")
    n = 500
    z = ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) * np.exp(rng.uniform(-4, 4, n))).astype(dtype)
    z = np.concatenate([z, SPECIAL.astype(dtype)])
    with np.errstate(all="ignore"):
        want = getattr(np, fn)(z)
        for math in ("fast", "libm"):
            got = ufuncgen.vectorize(f"def k(z):\n    return np.{fn}(z)\n", [USIG[dtype]], math=math)(z)
            assert got.dtype == dtype
            special = ~np.isfinite(z)
            ok = within_ulps(got, want, 2) & (same_bits(got, want) | ~special)
            if math == "libm":
                ok &= same_bits(got, want)  # glibc's functions, NumPy's formulas: NumPy's bits
            assert ok.all(), (fn, math, z[~ok], got[~ok], want[~ok])


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_predicates(dtype):
    z = SPECIAL.astype(dtype)
    for fn in ["isnan", "isinf", "isfinite"]:
        got = ufuncgen.vectorize(f"def k(z):\n    return np.{fn}(z)\n")(z)
        np.testing.assert_array_equal(got, getattr(np, fn)(z), err_msg=fn)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_strided_broadcast_inplace(dtype, rng):
    f = ufuncgen.vectorize("lambda a, b: a * b - a / b", [CSIG[dtype]])
    a = (rng.standard_normal((6, 9)) + 1j * rng.standard_normal((6, 9))).astype(dtype)
    b = (rng.standard_normal(9) + 1j * rng.standard_normal(9)).astype(dtype)
    want = a * b - a / b
    assert same_bits(f(a, b), want).all()  # broadcast row
    assert same_bits(f(a[:, ::-2], b[::-2]), want[:, ::-2]).all()  # negative strides
    assert same_bits(f(a.T, b[:, None]), (a.T * b[:, None] - a.T / b[:, None])).all()
    c = a.copy()
    f(c, b, out=c)  # in place
    assert same_bits(c, want).all()
    x = rng.standard_normal(9).astype(np.float32)
    got = f(x, b)  # float32 input: cast safely to the complex loop
    assert got.dtype == dtype and same_bits(got, x.astype(dtype) * b - x.astype(dtype) / b).all()
    with pytest.raises(TypeError):
        ufuncgen.vectorize("lambda x: x", ["f8(f8)"])(b)  # complex -> float64 is no safe cast


def test_parallel_target_complex(rng):
    f = ufuncgen.vectorize("lambda a, b: a * b + 1j", ["c16(c16,c16)"], target="parallel")
    a = rng.standard_normal(300_001) + 1j * rng.standard_normal(300_001)
    b = rng.standard_normal(300_001) + 1j * rng.standard_normal(300_001)
    assert same_bits(f(a, b), a * b + 1j).all()


def test_gufunc_complex_dot(rng):
    f = ufuncgen.guvectorize("def cdot(a, b, out):\n    acc = 0j\n    for i in range(a.shape[0]):\n"
                             "        acc += a[i].conjugate() * b[i]\n    out[0] = acc\n",
                             ["void(complex128[:], complex128[:], complex128[:])"], "(n),(n)->()")
    a = rng.standard_normal((4, 7)) + 1j * rng.standard_normal((4, 7))
    b = rng.standard_normal(7) + 1j * rng.standard_normal(7)
    got = f(a, b)
    want = np.array([sum((np.conj(a[r, i]) * b[i] for i in range(7)), 0j) for r in range(4)])
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_complex_type_errors():
    with pytest.raises(TypeError, match=r"line 2.*'<' is not supported between complex128 and complex128"):
        ufuncgen.vectorize("def k(z, w):\n    return z < w\n", ["b1(c16,c16)"])
    with pytest.raises(TypeError, match="floor-divide"):
        ufuncgen.vectorize("def k(z):\n    return z // 2\n", ["c8(c8)"])


# ---------------------------------------------------------------- float16

HALF_EXPR = expressions(["1.5", "2", "0.1", "3"], ["+", "-", "*", "/"], ["-", "np.abs"], 6)


def half_arrays(shape):
    return hnp.arrays(np.float16, shape, elements=st.floats(width=16, allow_nan=True, allow_infinity=True))


@given(data=st.data())
def test_float16_arithmetic_bit_exact(data):
    """Rounded to binary16 after every operation, as NumPy's e,e->e loops."""
    expr = data.draw(HALF_EXPR)
    x = data.draw(half_arrays(st.integers(0, 40)))
    y = data.draw(half_arrays(x.shape))
    want = np.broadcast_to(np.asarray(_numpy(expr, x=x, y=y)), x.shape)
    f = ufuncgen.vectorize(f"def k(x, y):\n    return {expr}\n", ["f2(f2,f2)"])
    with np.errstate(all="ignore"):
        got = f(x, y)
    assert got.dtype == np.float16
    ok = same_bits(got, want.astype(np.float16))
    assert ok.all(), (expr, x[~ok], y[~ok], got[~ok], want[~ok])


HALF_FUNCS = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "cbrt", "sin", "cos", "tan",
              "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh"]
ALL_HALVES = np.arange(1 << 16, dtype=np.uint16).view(np.float16)


@pytest.mark.parametrize("fn", HALF_FUNCS)
def test_float16_math_every_value(fn):
    """float16 math is the float32 function rounded once, checked on all
    65536 float16 values: bit for bit against the same kernel on float32,
    and bit for bit against NumPy's float16 loop except where NumPy's
    float16 result is not our float32 result rounded because NumPy computed
    another float32 value (its own SIMD float32 routines are not glibc's) or
    used a float16 routine of its own (SVML's, on AVX-512 hosts). Those
    exceptions are float16 near-ties, one ulp apart: at most 4 a function
    with math="fast" on the development host, 20 for glibc's cbrtf."""
    x = ALL_HALVES
    src = f"def k(x):\n    return np.{fn}(x)\n"
    npf = getattr(np, fn)
    with np.errstate(all="ignore"):
        want = npf(x)
        np32 = npf(x.astype(np.float32))
        for math in ("fast", "libm"):
            got = ufuncgen.vectorize(src, ["e->e"], math=math)(x)
            ours32 = ufuncgen.vectorize(src, ["f->f"], math=math)(x.astype(np.float32))
            ok = same_bits(got, ours32.astype(np.float16))
            assert ok.all(), (fn, math, x[~ok], got[~ok], ours32[~ok])
            other_routine = ~same_bits(ours32, np32) | ~same_bits(want, np32.astype(np.float16))
            exact = same_bits(got, want)
            assert (exact | other_routine).all(), (fn, math, x[~exact & ~other_routine])
            assert within_ulps(got, want, 1).all(), (fn, math, x[~within_ulps(got, want, 1)])
            assert (~exact).sum() <= 32, (fn, math, x[~exact], got[~exact], want[~exact])


def test_float16_stores_round(rng):
    """A float16 local or output holds binary16 numbers; float32 work is rounded once into them."""
    f = ufuncgen.vectorize("def k(x, y):\n    s = x\n    s += np.float32(y) / 3\n    return s\n",
                           ["e(e,f)"])
    x = rng.standard_normal(1000).astype(np.float16)
    y = rng.standard_normal(1000).astype(np.float32)
    assert same_bits(f(x, y), (x.astype(np.float32) + y / np.float32(3)).astype(np.float16)).all()
    g = ufuncgen.vectorize("lambda x: x * 2.0", ["d->e"])  # float64 result rounded once, not through float32
    v = np.array([2049.0 / 2 + 2**-41, 65519.99, 1e-8, -np.inf])
    assert same_bits(g(v), (v * 2.0).astype(np.float16)).all()


def test_float16_strided_and_casts(rng):
    f = ufuncgen.vectorize("lambda a, b: a * b + 0.1", ["e(e,e)"])
    a = rng.standard_normal((5, 8)).astype(np.float16)
    b = rng.standard_normal(8).astype(np.float16)
    want = a * b + np.float16(0.1)
    assert same_bits(f(a[:, ::-1], b[::-1]), want[:, ::-1]).all()
    out = np.empty((5, 8), np.float32)
    f(a, b, out=out)  # float16 result written to float32 (same kind)
    assert same_bits(out, want.astype(np.float32)).all()
    u8 = np.arange(8, dtype=np.uint8)
    assert f(u8, b).dtype == np.float16  # uint8 -> float16 is safe


def test_module_constants_complex_and_half():
    C = 1.5 - 2j
    H = np.float16(0.1)
    W = np.complex64(0.5j)

    def k(x):
        return x * C + H + W

    f = ufuncgen.vectorize(["c16(c16)"])(k)
    x = np.array([1 + 1j, -2j])
    assert same_bits(f(x), x * C + complex(H) + complex(W)).all()


def test_cache_keeps_complex_and_half_loops(run_python, fresh_cache):
    """Each new dtype keys its own object; a second process loads them without compiling."""
    code = ("import numpy as np, ufuncgen\n"
            "f = ufuncgen.vectorize('lambda a, b: a * b + 1', ['c16(c16,c16)', 'c8(c8,c8)', 'f2(f2,f2)'], cache=True,"
            " background=False)\n"
            "z = np.array([1 + 2j, -3j])\n"
            "print(f(z, z).tolist(), f(z.astype(np.complex64), 2j).dtype, f(np.float16([0.1]), np.float16([3])).tolist())\n")
    first = run_python(code)
    objs = {p.name: p.stat().st_mtime_ns for p in fresh_cache.glob("*.ugo")}
    assert len(objs) == 3, objs
    second = run_python(code)
    assert first.splitlines()[0] == second.splitlines()[0] == "[(-2+4j), (-8+0j)] complex64 [1.2998046875]"
    assert {p.name: p.stat().st_mtime_ns for p in fresh_cache.glob("*.ugo")} == objs  # loaded, not written again


def test_numba_type_objects_and_spellings():
    """Numba's own way of writing complex ufuncs compiles unchanged."""
    from ufuncgen.numba import complex64, complex128, float16, guvectorize, vectorize, void

    @vectorize([complex64(complex64, complex64), complex128(complex128, complex128)])
    def add(a, b):
        return a + b

    @guvectorize([void(complex128[:], complex128[:])], "(n)->(n)")
    def conj(a, out):
        for i in range(a.shape[0]):
            out[i] = a[i].conjugate()

    @vectorize([float16(float16)])
    def half(x):
        return x / 3

    assert add.types == ["FF->F", "DD->D"]
    z = np.array([1 + 2j, 3 - 1j], np.complex64)
    assert add(z, z).dtype == np.complex64 and same_bits(add(z, z), z + z).all()
    assert same_bits(conj(z.astype(np.complex128)), np.conj(z.astype(np.complex128))).all()
    h = np.float16([1, 2, 7])
    assert same_bits(half(h), h / np.float16(3)).all()


ARRAY_FORMS = ["out[:] = np.full_like(a, 2)\n    out[1:] += a[:-1]", "out[:] = a\n    out[::2] = a[1::2] * 2",
               "t = np.empty_like(a)\n    t[:] = a\n    out[:] = t[::-1]", "for i, x in enumerate(a):\n        out[i] = x * 3",
               "idx = np.array([3, 2, 1, 0])\n    out[:] = a[idx]", "b = a[a != 0]\n    out[:] = 0\n    out[:b.shape[0]] = b",
               "out[:] = a * a[0] - 1", "out[:] = np.where(np.isnan(a), a[0], a)", "out[:] = [a[3], a[2], a[1], a[0]]",
               "out[:] = (a * 2).copy()", "out[:] = a.astype(np.float32)"]


@pytest.mark.parametrize("dtype", [np.float16, np.complex64, np.complex128])
@pytest.mark.parametrize("body", ARRAY_FORMS)
def test_gufunc_array_forms(dtype, body):
    """Views, slices, local arrays, gathers and element-wise expressions on the
    new dtypes, against the same statements run by NumPy."""
    src = f"def k(a, out):\n    {body}\n"
    a = np.array([0.5, -1, 0, np.nan]).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a += np.array([1j, 0, 0, 3j]).astype(dtype)
    ns = {"np": np}
    exec(src, ns)  # noqa: S102 - the kernel text itself is the oracle
    want = np.empty_like(a)
    with np.errstate(all="ignore"):
        ns["k"](a, want)
        f = ufuncgen.guvectorize(src, [f"void({np.dtype(dtype).name}[:], {np.dtype(dtype).name}[:])"], "(n)->(n)")
        got = f(a)
    ok = same_bits(got, want)
    assert ok.all(), (body, got, want)
