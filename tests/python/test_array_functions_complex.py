"""Array functions on complex arrays inside gufunc kernels against NumPy.

sum nansum prod nanprod mean nanmean any all count_nonzero var std nanvar
nanstd on complex64 and complex128 cores give NumPy's row-wise result bit
for bit (the sums are NumPy's complex pairwise sum, per part; a complex64
mean divides in complex128 as NumPy does; the variances are real: var sums
re**2 + im**2, nanvar (x*conj(x)).real, each as NumPy's real pairwise sum). cumsum, cumprod and diff on complex
arrays give NumPy's values bit for bit, flat or along an axis of 2-d
arrays (sequential as NumPy's accumulate, per line; a cumprod of more than
two values multiplies unfused, as NumPy's scalar loop does where its input
overlaps its output, and so does one of two complex64 values running
backwards). np.dot / a @ b / a.dot(b) of
two complex vectors and np.vdot are compared within a few ulp (see
test_complex_dot), and so are np.dot / @ with a complex matrix (NumPy's
BLAS order is not reproducible); np.outer is one complex multiply per
element, bit for bit. min max nanmin nanmax argmin argmax nanargmin
nanargmax (np.amin/amax, the methods, 1-d and 2-d, axis=) follow NumPy's
lexicographic order bit for bit: a NaN in either part propagates (the
first one), the nan forms skip NaNs (nanargmax counts one as -inf+0j),
of equal values the first is kept. np.sort, a.sort(), np.argsort (compared
with kind='stable'), np.partition and np.unique order complex values as
NumPy's CFLOAT_LT does: lexicographically, then x+nanj by x, then nan+yj by
y, then nan+nanj; np.unique keeps the first of equal values in input order
and one value for all those with a NaN (NumPy 2.4's hash path). np.median
and np.nanmedian give NumPy's values bit for bit, NaN placements included
(test_complex_medians_match_numpy). np.quantile, percentile and their nan
forms are refused, as NumPy refuses complex data (TypeError).
np.linalg.norm of 1-d and 2-d complex arrays, every ord and axis= form,
gives NumPy's real result: bit for bit with axis= (abs as NumPy's complex
absolute, hypot where NumPy's loop takes it; squares as its
(x.conj() * x).real; its real pairwise sums), to rounding where NumPy
calls BLAS (the default norm) or its SIMD power (ord 3, -2, -1 of
vectors); see complex_norm_exact. The other array functions on complex and
float16 elements are refused at the call with a positioned error naming
the function and the dtype.
"""
import warnings

import numpy as np
import pytest

import ufuncgen

COMPLEX = ["complex64", "complex128"]
FUNCS = ["sum", "nansum", "prod", "nanprod", "mean", "nanmean", "any", "all", "count_nonzero",
         "var", "std", "nanvar", "nanstd"]
VARS = ["var", "std", "nanvar", "nanstd"]
LENGTHS = [0, 1, 3, 4, 5, 7, 8, 9, 16, 63, 64, 65, 100, 128, 129, 257, 1000, 5003, 20000]
NUMPY_BEFORE_2_3 = np.lib.NumpyVersion(np.__version__) < "2.3.0"
SUMMING = ("sum", "nansum", "mean", "nanmean", "var", "std", "nanvar", "nanstd")


def assert_numpy_sum(got, want, n, f):
    """Bit for bit, except past 8192 values of a summing function on NumPy 2.1-2.2:
    ufuncgen follows NumPy 2.3's order past the 8192-element buffer, those versions
    add the sums of 8192-element chunks (the last bits differ), so within n ulp."""
    if NUMPY_BEFORE_2_3 and n > 8192 and f in SUMMING:
        np.testing.assert_allclose(got, want, rtol=n * np.finfo(want.dtype).eps, err_msg=f"n={n}")
    else:
        np.testing.assert_array_equal(got, want, err_msg=f"n={n}")
_compiled = {}


def result_dtype(f, dtype):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(getattr(np, f)(np.ones(3, dtype))).dtype


def kernel(f, dtype):
    rdt = result_dtype(f, dtype)
    key = (f, dtype)
    if key not in _compiled:
        src = f"def k(a, out):\n    out[0] = np.{f}(a)\n"
        _compiled[key] = ufuncgen.guvectorize(src, [f"void({dtype}[:], {rdt}[:])"], "(n)->()")
    return _compiled[key]


def data(dtype, n, special, seed):
    r = np.random.default_rng(seed)
    a = (r.standard_normal(n) * 10 + 1j * r.standard_normal(n) * 10).astype(dtype)
    if special and n:
        k = r.integers(0, n, size=max(1, n // 20))
        vals = np.array([np.nan, np.inf, -np.inf, complex(np.nan, 1), complex(1, np.nan), complex(0, np.inf), 0, -0.0])
        a[k] = vals[r.integers(0, len(vals), size=len(k))]
    if n > 2:
        a[r.integers(0, n)] = 0
    return a


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("f", FUNCS)
def test_complex_reduction_matches_numpy(f, dtype, special):
    k = kernel(f, dtype)
    for i, n in enumerate(LENGTHS):
        a = data(dtype, n, special, 1000 * i + n)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if f in ("prod", "nanprod"):
                a = (a / np.abs(a).clip(1e-3)).astype(dtype)  # moduli near 1: products stay finite
            want = np.asarray(getattr(np, f)(a))
            got = k(a)
        assert got.dtype == want.dtype
        assert_numpy_sum(got, want, n, f)


@pytest.mark.parametrize("dtype", COMPLEX)
def test_complex_sum_rows_and_strides(dtype):
    k = kernel("sum", dtype)
    a = data(dtype, 7 * 300, True, 5).reshape(7, 300)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(k(a), np.sum(a, axis=1))
        np.testing.assert_array_equal(k(a[:, ::-3]), np.sum(a[:, ::-3], axis=1))
        np.testing.assert_array_equal(k(a.T.copy().T), np.sum(a, axis=1))


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("f", VARS)
def test_complex_var_ddof_method_rows(f, dtype, special):
    rdt = result_dtype(f, dtype)
    ddof = f"def k(a, out):\n    out[0] = np.{f}(a, ddof=1)\n"
    kd = ufuncgen.guvectorize(ddof, [f"void({dtype}[:], {rdt}[:])"], "(n)->()")
    for i, n in enumerate(LENGTHS):
        a = data(dtype, n, special, 7 * i + n)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            want = np.asarray(getattr(np, f)(a, ddof=1))
            got = kd(a)
        assert got.dtype == want.dtype
        assert_numpy_sum(got, want, n, f)
    a = data(dtype, 7 * 300, special, 11).reshape(7, 300)
    k = kernel(f, dtype)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(k(a), getattr(np, f)(a, axis=1))
        np.testing.assert_array_equal(k(a[:, ::-3]), getattr(np, f)(a[:, ::-3], axis=1))
    if not f.startswith("nan"):
        method = f"def k(a, out):\n    out[0] = a.{f}()\n"
        km = ufuncgen.guvectorize(method, [f"void({dtype}[:], {rdt}[:])"], "(n)->()")
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(km(a[:, 1::2]), getattr(np, f)(a[:, 1::2], axis=1))


def same_bits(got, want):
    """Equal values with equal signs of zero; NaN where NumPy has NaN."""
    assert got.shape == want.shape and got.dtype == want.dtype
    g, w = np.ascontiguousarray(got).view(got.real.dtype), np.ascontiguousarray(want).view(want.real.dtype)
    nan = np.isnan(w)
    np.testing.assert_array_equal(np.isnan(g), nan)
    np.testing.assert_array_equal(g[~nan], w[~nan])
    np.testing.assert_array_equal(np.signbit(g[~nan]), np.signbit(w[~nan]))


def running_kernel(call, dtype):
    key = (call, dtype, "running")
    if key not in _compiled:
        src = f"def k(a, out):\n    b = {call}\n    for i in range(b.shape[0]):\n        out[i] = b[i]\n"
        _compiled[key] = ufuncgen.guvectorize(src, [f"void({dtype}[:], {dtype}[:])"], "(n)->(n)")
    return _compiled[key]


RUNNING = {"cumsum": ("np.cumsum(a)", np.cumsum), "cumprod": ("np.cumprod(a)", np.cumprod),
           "cumsum_method": ("a.cumsum()", np.cumsum), "cumprod_method": ("a.cumprod()", np.cumprod),
           "diff": ("np.diff(a)", np.diff), "diff2": ("np.diff(a, 2)", lambda a: np.diff(a, 2))}


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("f", list(RUNNING))
def test_complex_running_matches_numpy(f, dtype, special):
    call, ref = RUNNING[f]
    k = running_kernel(call, dtype)
    for i, n in enumerate(LENGTHS + [2, 6]):
        a = data(dtype, n, special, 31 * i + n)
        with np.errstate(all="ignore"):
            if "cumprod" in f:
                a = (a / np.abs(a).clip(1e-3)).astype(dtype)  # moduli near 1: products stay finite
            want = ref(a)
            got = k(a)[: len(want)]
        same_bits(got, want)
    rows = data(dtype, 6 * 50, special, 3).reshape(6, 50)
    with np.errstate(all="ignore"):
        if "cumprod" in f:
            rows = (rows / np.abs(rows).clip(1e-3)).astype(dtype)
        for x in (rows, rows[:, ::-3], rows[:, :3], rows[:, :2], rows[:, 1::-1]):  # complex64 backwards: unfused
            want = np.stack([ref(r) for r in x])
            same_bits(k(x)[:, : want.shape[1]], want)


# cumsum / cumprod along an axis and diff of 2-d arrays (shared with the
# real and float16 tests): each call's result against NumPy's on the views
# of AXIS_VIEWS, its shape read back from the kernel too.
AXIS_RUNNING = ["np.cumsum(a, axis=0)", "np.cumsum(a, axis=1)", "np.cumsum(a, axis=-1)", "a.cumsum(axis=-2)",
                "np.cumprod(a, axis=0)", "a.cumprod(axis=1)", "np.cumprod(a, axis=-2)", "a.cumprod(axis=-1)",
                "np.diff(a)", "np.diff(a, axis=0)", "np.diff(a, 2)", "np.diff(a, n=3, axis=-2)", "np.diff(a, 0)",
                "np.diff(a, 9, -1)"]
AXIS_SHAPES = [(0, 0), (0, 3), (3, 0), (1, 1), (1, 5), (5, 1), (2, 2), (2, 3), (4, 7), (9, 6)]


def axis_views(a):
    """a, its transpose, a Fortran-ordered copy, strided and reversed views."""
    return a, a.T, np.asfortranarray(a), a[::-1, ::2], a[:, ::-1], a[::2]


def axis_running(call, a):
    """(ours, NumPy's) of call on the 2-d array a; the kernel's result shape must be NumPy's."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        want = np.asarray(eval(call, {"np": np, "a": a}))
    key = (call, a.dtype.name, want.dtype.name, "axis")
    if key not in _compiled:
        src = f"def k(a, out, s):\n    r = {call}\n    out[:, :] = r\n    s[0] = r.shape[0]\n    s[1] = r.shape[1]\n"
        _compiled[key] = ufuncgen.guvectorize(src, [f"void({a.dtype}[:, :], {want.dtype}[:, :], int64[:])"],
                                              "(n,m)->(p,q),(t)")
    with np.errstate(all="ignore"):
        got, shape = _compiled[key](a, np.zeros(want.shape, want.dtype), np.zeros(2, np.int64))
    assert tuple(shape) == want.shape, (call, tuple(shape), want.shape)
    return got, want


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("call", AXIS_RUNNING)
def test_complex_running_along_axis_matches_numpy(call, dtype, special):
    """Along either axis of 2-d arrays and their views: NumPy's values bit for bit (a line of two multiplies
    fused, longer ones unfused, as NumPy's accumulate per line)."""
    for i, shape in enumerate(AXIS_SHAPES):
        a = data(dtype, int(np.prod(shape)), special, 17 * i).reshape(shape)
        if "cumprod" in call:
            a = (a / np.abs(a).clip(1e-3)).astype(dtype)
        for x in axis_views(a):
            same_bits(*axis_running(call, x))


# np.dot of two complex vectors: NumPy calls OpenBLAS's zdotu / cdotu (vdot:
# zdotc / cdotc), whose
# kernel (chosen for the CPU at run time) has its own summation order and its
# own NaN/inf propagation (NumPy gives nan+nanj for [1, inf] . [2-1j, 3],
# where re*re - im*im is inf), so no fixed order reproduces it bit for bit.
# ufuncgen takes BLAS's shape (four real dot products, 8-lane fused
# multiply-adds: re.re - im.im, re.im + im.re; vdot re.re + im.im,
# re.im - im.re): each part within 8 eps of
# |a|.|b| of NumPy's on finite data (seen: under 0.5 eps); with NaN/inf, each
# part finite exactly where NumPy's is.
DOTS = {"np.dot(a, b)": np.dot, "a @ b": np.dot, "a.dot(b)": np.dot, "np.vdot(a, b)": np.vdot}


def dot_close(got, want, x, y):
    eps = np.finfo(want.real.dtype).eps
    with np.errstate(all="ignore"):
        scale = np.dot(np.abs(x).astype(np.float64), np.abs(y).astype(np.float64))
    for g, w in ((got.real, want.real), (got.imag, want.imag)):
        assert np.isfinite(g) == np.isfinite(w), (got, want)
        if np.isfinite(w):
            assert abs(float(g) - float(w)) <= 8 * eps * scale, (got, want, scale)


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("call", list(DOTS))
def test_complex_dot(call, dtype, special):
    ref = DOTS[call]
    src = f"def k(a, b, out):\n    out[0] = {call}\n"
    k = ufuncgen.guvectorize(src, [f"void({dtype}[:], {dtype}[:], {dtype}[:])"], "(n),(n)->()")
    for i, n in enumerate(LENGTHS):
        a, b = data(dtype, n, special, 13 * i + n), data(dtype, n, special, 17 * i + n + 1)
        for x, y in ((a, b), (a[::2], b[::2]), (a[::-1], b), (a[::-3], b[::3])):
            with np.errstate(all="ignore"):
                want, got = ref(x, y), k(x, y)[()]
            assert got.dtype == want.dtype
            dot_close(got, want, x, y)
    rows, rows2 = data(dtype, 5 * 40, special, 1).reshape(5, 40), data(dtype, 5 * 40, special, 2).reshape(5, 40)
    with np.errstate(all="ignore"):
        got = k(rows[:, ::-2], rows2[:, 1::2])
        for r in range(5):
            dot_close(got[r], ref(rows[r, ::-2], rows2[r, 1::2]), rows[r, ::-2], rows2[r, 1::2])


def test_complex_dot_mixed_dtypes():
    src = "def k(a, b, out):\n    out[0] = np.dot(a, b) + b @ a\n"
    k = ufuncgen.guvectorize(src, ["void(complex64[:], float64[:], complex128[:])"], "(n),(n)->()")
    a, b = data("complex64", 1000, False, 4), np.random.default_rng(5).standard_normal(1000)
    want = np.dot(a, b) + np.dot(b, a)
    dot_close(k(a, b)[()], want, np.abs(a) * 2, b)


@pytest.mark.parametrize("dtype", COMPLEX + ["float64", "float32"])
def test_vdot_flattens_in_c_order(dtype):
    src = "def k(a, b, out):\n    out[0] = np.vdot(a, b)\n"
    k = ufuncgen.guvectorize(src, [f"void({dtype}[:, :], {dtype}[:], {dtype}[:])"], "(m,n),(k)->()")
    a, b = data("complex128", 12 * 30, False, 8).reshape(12, 30), data("complex128", 360, False, 9)
    if not dtype.startswith("complex"):
        a, b = a.real, b.real
    a, b = a.astype(dtype), b.astype(dtype)
    for x in (a, a.T, a[::-1, ::2].T):
        y = b[: x.size]
        want = np.vdot(x, y)
        got = k(x, y)[()]
        assert got.dtype == want.dtype
        if dtype.startswith("complex"):
            dot_close(got, want, x.ravel(), y)
        else:
            assert abs(got - want) <= 8 * np.finfo(dtype).eps * np.dot(np.abs(x.ravel()), np.abs(y))
    with pytest.raises(ValueError, match="vdot"):
        k(a, b[:7])


# np.dot / @ with a complex matrix: NumPy calls BLAS (zgemm / zgemv), ufuncgen
# sums each element's products in order with NumPy's complex multiply, so each
# part within 8 eps of (|A| @ |B|) of NumPy's, finite exactly where NumPy's is.
MATRIX_DOTS = {
    "np.dot(A, B)": ("(m,k),(k,n)->(m,n)", 2, 2, np.dot),
    "A @ B": ("(m,k),(k,n)->(m,n)", 2, 2, np.matmul),
    "np.dot(A, x)": ("(m,k),(k)->(m)", 2, 1, np.dot),
    "A @ x": ("(m,k),(k)->(m)", 2, 1, np.matmul),
    "x @ A": ("(k),(k,n)->(n)", 1, 2, np.matmul),
    "A.dot(B)": ("(m,k),(k,n)->(m,n)", 2, 2, np.dot),
}


def matrix_close(got, want, x, y):
    eps = np.finfo(want.real.dtype).eps
    with np.errstate(all="ignore"):
        scale = np.abs(x).astype(np.float64) @ np.abs(y).astype(np.float64)
    assert got.shape == want.shape and got.dtype == want.dtype
    for g, w in ((got.real, want.real), (got.imag, want.imag)):
        np.testing.assert_array_equal(np.isfinite(g), np.isfinite(w))
        fin = np.isfinite(w)
        assert np.all(np.abs(g[fin].astype(np.float64) - w[fin]) <= 8 * eps * scale[fin] + 1e-300), (got, want)


def matrix_kernel(call, ta, tb, tr):
    """A kernel computing call (operands named A, B, x; the first one named is the first argument)."""
    layout, na, nb, _ = MATRIX_DOTS[call]
    first, second = sorted("ABx", key=lambda c: call.find(c) if c in call else 99)[:2]
    dims = {1: "[:]", 2: "[:, :]"}
    rd = dims[na + nb - 2]
    src = f"def k({first}, {second}, out):\n    r = {call}\n    out{rd} = r\n"
    return ufuncgen.guvectorize(src, [f"void({ta}{dims[na]}, {tb}{dims[nb]}, {tr}{rd})"], layout)


def matrix_data(dtype, shape, special, seed):
    return data(dtype, int(np.prod(shape)), special, seed).reshape(shape)


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("call", list(MATRIX_DOTS))
def test_complex_matrix_dot(call, dtype, special):
    layout, na, nb, ref = MATRIX_DOTS[call]
    k = matrix_kernel(call, dtype, dtype, dtype)
    for i, (m, kk, n) in enumerate([(1, 1, 1), (3, 4, 5), (7, 33, 6), (5, 300, 4), (4, 0, 3)]):
        a = matrix_data(dtype, (m, kk) if na == 2 else (kk,), special, 3 * i)
        b = matrix_data(dtype, (kk, n) if nb == 2 else (kk,), special, 3 * i + 1)
        views = [(a, b), (a[..., ::-1], b[::-1]), (np.asfortranarray(a), np.asfortranarray(b))]
        if a.ndim == 2 and a.shape[0] > 1:
            views.append((a[::2], b))
        for x, y in views:
            with np.errstate(all="ignore"):
                want, got = ref(x, y), k(x, y)
            matrix_close(got, want, x, y)


def test_complex_matrix_dot_mixed_dtypes():
    """A float64 matrix times a complex64 vector, a complex64 matrix times a float32 one: NumPy's promotion."""
    r = np.random.default_rng(8)
    A, x = r.standard_normal((6, 50)), data("complex64", 50, False, 9)
    k = matrix_kernel("A @ x", "float64", "complex64", "complex128")
    want = A @ x
    assert want.dtype == np.complex128
    matrix_close(k(A, x), want, A, x)
    B, C = data("complex64", 6 * 50, False, 10).reshape(6, 50), r.standard_normal((50, 3)).astype(np.float32)
    k = matrix_kernel("np.dot(A, B)", "complex64", "float32", "complex64")
    matrix_close(k(B, C), np.dot(B, C), B, C)


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("types", [("complex64",) * 3, ("complex128",) * 3, ("float64", "complex64", "complex128"),
                                   ("complex128", "float32", "complex128"), ("complex64", "float32", "complex64")])
def test_complex_outer_bit_for_bit(types, special):
    """One complex multiply per element: NumPy's (fused where its SIMD loop is), bit for bit."""
    ta, tb, tr = types
    src = "def k(a, b, out):\n    r = np.outer(a, b)\n    out[:, :] = r\n"
    k = ufuncgen.guvectorize(src, [f"void({ta}[:], {tb}[:], {tr}[:, :])"], "(m),(n)->(m,n)")
    for i, (m, n) in enumerate([(1, 1), (3, 5), (17, 9), (40, 33), (0, 4)]):
        a, b = data("complex128", m, special, 5 * i), data("complex128", n, special, 5 * i + 1)
        a = a.astype(ta) if ta.startswith("complex") else a.real.astype(ta)
        b = b.astype(tb) if tb.startswith("complex") else b.real.astype(tb)
        for x, y in ((a, b), (a[::-1], b[::2])):
            with np.errstate(all="ignore"):
                want, got = np.outer(x, y), k(x, y)
            assert want.dtype == np.dtype(tr)
            same_bits(got.reshape(-1), want.reshape(-1))


EXTREMES = ["min", "max", "nanmin", "nanmax", "argmin", "argmax", "nanargmin", "nanargmax", "amin", "amax"]
# NaN in the real part, the imaginary part, both; ties of the real part; signed zeros; infinities
FEW = [complex(np.nan, 0), complex(0, np.nan), complex(np.nan, np.nan), complex(np.nan, -1), complex(2, np.nan),
       0j, complex(-0.0, 0), complex(0, -0.0), complex(-0.0, -0.0), 1 + 1j, 1 - 1j, 1 + 0j, -1 + 2j, 2 + 0j,
       complex(np.inf, 0), complex(-np.inf, 0), complex(0, np.inf), complex(1, -np.inf), complex(-np.inf, -1)]


def extreme_data(dtype, n, kind, seed):
    r = np.random.default_rng(seed)
    if kind == "few":
        return np.array(FEW, dtype)[r.integers(0, len(FEW), n)]
    if kind == "ties":  # few real parts: the imaginary part decides
        return (r.integers(-2, 3, n) + 1j * r.integers(-2, 3, n)).astype(dtype)
    if kind == "nanfree_few":
        few = [v for v in FEW if not np.isnan(v)]
        return np.array(few, dtype)[r.integers(0, len(few), n)]
    return data(dtype, n, kind, seed)


def extreme_result(f, a, axis=None):
    """NumPy's value, or its error's class (empty, all-NaN)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return np.asarray(getattr(np, f)(a, axis=axis))
    except ValueError as e:
        return type(e)


def same_extreme(got, want):
    if isinstance(want, type):
        assert got is want
    elif want.dtype.kind == "c":
        same_bits(np.asarray(got).reshape(-1), want.reshape(-1))
    else:
        np.testing.assert_array_equal(got, want)


def extreme_run(k, *args):
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return k(*args)
    except ValueError as e:
        return type(e)


@pytest.mark.parametrize("kind", [False, True, "few", "ties", "nanfree_few"])
@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("f", EXTREMES)
def test_complex_extremes_match_numpy(f, dtype, kind):
    """Values bit for bit (which NaN, which of equal values: the first), indices equal, errors of NumPy's class."""
    rdt = "int64" if "arg" in f else dtype
    k = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = np.{f}(a)\n", [f"void({dtype}[:], {rdt}[:])"], "(n)->()")
    for i, n in enumerate([0, 1, 2, 3, 7, 8, 9, 16, 17, 64, 129, 1000]):
        a = extreme_data(dtype, n, kind, 100 * i + n)
        for x in (a, a[::-1], a[1::3]):
            same_extreme(extreme_run(k, x), extreme_result(f, x))
        if n and kind == "few":  # all NaN: max gives the first, nanmax warns and gives the first, nanargmax raises
            b = np.array([complex(1, np.nan), complex(np.nan, 2), complex(np.nan, np.nan)] * n, dtype)[:n]
            same_extreme(extreme_run(k, b), extreme_result(f, b))


@pytest.mark.parametrize("dtype", COMPLEX)
def test_complex_extremes_by_hand(dtype):
    """NumPy's rules spelled out: lexicographic order; the first NaN (either part) wins min/max/argmin/argmax;
    the nan forms skip NaNs (nanargmax counts one as -inf+0j)."""
    def run(f, vals):
        rdt = "int64" if "arg" in f else dtype
        k = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = np.{f}(a)\n", [f"void({dtype}[:], {rdt}[:])"],
                                 "(n)->()")
        got = extreme_run(k, np.array(vals, dtype))
        return got if got is ValueError else got[()]
    nan = np.nan
    assert run("max", [1 + 5j, 2 - 1j, 2 - 3j]) == 2 - 1j
    assert run("min", [1 + 5j, 1 - 1j, 2 - 3j]) == 1 - 1j
    assert run("argmax", [2 + 1j, 2 + 1j, 1 + 9j]) == 0
    assert run("argmin", [1 + 0j, complex(1, nan), complex(nan, 0)]) == 1
    assert run("argmax", [1 + 0j, 5 + 0j, complex(nan, 0), complex(0, nan)]) == 2
    m = run("max", [1 + 0j, complex(3, nan), complex(nan, 4)])
    assert m.real == 3 and np.isnan(m.imag)
    assert run("nanmax", [complex(nan, 9), 1 + 0j, complex(3, nan), 2 + 0j]) == 2
    assert run("nanmin", [complex(1, nan), 1 + 1j, 1 - 0.5j]) == 1 - 0.5j
    assert run("nanargmax", [complex(nan, 1), complex(-np.inf, -1)]) == 0  # the NaN is -inf+0j > -inf-1j
    assert run("nanargmin", [complex(nan, 1), 3 + 0j, 2 + 0j]) == 2
    assert run("nanargmax", [complex(nan, 1), complex(1, nan)]) is ValueError
    assert run("argmax", []) is ValueError
    assert run("nanmin", []) is ValueError
    z = run("max", [complex(0.0, 0.0), complex(-0.0, 0.0)])
    assert not np.signbit(z.real)  # equal values: the first stays
    z = run("min", [complex(-0.0, 0.0), complex(0.0, 0.0)])
    assert np.signbit(z.real)


@pytest.mark.parametrize("dtype", COMPLEX)
def test_complex_nanmax_all_nan_warns(dtype):
    k = ufuncgen.guvectorize("def k(a, out):\n    out[0] = np.nanmax(a)\n", [f"void({dtype}[:], {dtype}[:])"],
                             "(n)->()")
    a = np.array([complex(np.nan, 1), complex(2, np.nan)], dtype)
    with pytest.warns(RuntimeWarning, match="All-NaN"):
        got = k(a)
    same_bits(got.reshape(-1), a[:1])


@pytest.mark.parametrize("f", ["min", "max", "argmin", "argmax"])
@pytest.mark.parametrize("dtype", COMPLEX)
def test_complex_extreme_methods(f, dtype):
    rdt = "int64" if "arg" in f else dtype
    k = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = a.{f}()\n", [f"void({dtype}[:], {rdt}[:])"], "(n)->()")
    a = extreme_data(dtype, 7 * 300, "few", 3).reshape(7, 300)
    for view in (a, a[:, ::-3], np.asfortranarray(a)):
        got = extreme_run(k, view)
        for r in range(view.shape[0]):
            same_extreme(np.asarray(got[r]), extreme_result(f, view[r]))


@pytest.mark.parametrize("kind", [True, "few", "ties"])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("f", EXTREMES)
def test_complex_extremes_2d(f, axis, kind):
    dtype = "complex128" if f != "nanargmin" else "complex64"
    rdt = "int64" if "arg" in f else dtype
    if axis is None:
        k = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = np.{f}(a)\n", [f"void({dtype}[:, :], {rdt}[:])"],
                                 "(m,n)->()")
    else:
        k = ufuncgen.guvectorize(f"def k(a, out):\n    out[:] = np.{f}(a, axis={axis})\n",
                                 [f"void({dtype}[:, :], {rdt}[:])"], "(m,n)->(m)" if axis == 1 else "(m,n)->(n)")
    for i, shape in enumerate([(1, 1), (3, 5), (9, 17), (130, 4), (4, 130), (0, 3), (3, 0)]):
        a = extreme_data(dtype, shape[0] * shape[1], kind, 7 * i).reshape(shape)
        for x in (a, np.asfortranarray(a), a[:, ::-2], a[::2]):
            want = extreme_result(f, x, axis)
            if axis is not None and isinstance(want, np.ndarray) and want.size == 0:
                continue  # no lines: nothing to compare (the layout has no empty output to check)
            same_extreme(extreme_run(k, x), want)


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("f", VARS)
def test_complex_var_axis_in_kernel(f, dtype):
    rdt = result_dtype(f, dtype)
    a = data(dtype, 6 * 70, True, 21).reshape(6, 70)
    for ax in (0, 1):
        src = f"def k(a, out):\n    v = np.{f}(a, axis={ax})\n    for i in range(out.shape[0]):\n        out[i] = v[i]\n"
        k = ufuncgen.guvectorize(src, [f"void({dtype}[:, :], {rdt}[:])"], "(m,n)->(k)")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for x in (a, a[::-1, ::2]):
                want = getattr(np, f)(x, axis=ax)
                got = k(x, np.empty(len(want), rdt))
                assert got.dtype == want.dtype
                np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------- linalg.norm

# Every ord / axis= form linalg.norm takes in kernels, as source text (None: left out).
NORM_VECTOR = [(o, a) for o in ["None", "2", "np.inf", "-np.inf", "0", "1", "-1", "3", "-2"] for a in [None, "0"]]
NORM_MATRIX = ([(o, a) for o in ["None", "'fro'", "np.inf", "-np.inf", "1", "-1"] for a in [None, "(0, 1)", "(1, 0)"]]
               + [(o, a) for o in ["None", "2", "np.inf", "-np.inf", "0", "1", "-1", "3"] for a in ["0", "-1"]])
NORM_SHAPES = {1: [(0,), (1,), (2,), (7,), (8,), (40,), (129,), (300,)],
               2: [(0, 3), (3, 0), (1, 1), (1, 7), (7, 1), (5, 7), (9, 130), (130, 9)]}
# NumPy before 2.4 raised ValueError for the max norms of no values (np.max of nothing, no initial=0);
# 2.4 gives 0, and ufuncgen follows the newest NumPy.
OLD_EMPTY_NORMS = np.lib.NumpyVersion(np.__version__) < "2.4.0"
_norm_kernels = {}


def norm_kernel(dtype, rdt, ndim, ord_src, axis_src):
    args = "a" + ("" if ord_src == "None" else ", " + ord_src) + ("" if axis_src is None else ", axis=" + axis_src)
    key = (dtype, ndim, args)
    if key not in _norm_kernels:
        if ndim == 2 and axis_src in ("0", "-1"):
            src, layout = f"def k(a, out):\n    out[:] = np.linalg.norm({args})\n", "(n,m)->" + ("(m)" if axis_src == "0" else "(n)")
        else:
            src, layout = f"def k(a, out):\n    out[0] = np.linalg.norm({args})\n", "(n)->()" if ndim == 1 else "(n,m)->()"
        dims = "[:]" if ndim == 1 else "[:, :]"
        _norm_kernels[key] = ufuncgen.guvectorize(src, [f"void({dtype}{dims}, {rdt}[:])"], layout)
    return _norm_kernels[key]


def norm_views(x):
    """The array, reversed, strided (and transposed: 2-d), each as NumPy's norm would see it."""
    yield x
    yield x[..., ::-1]
    yield x[::-1] if x.ndim == 1 else x[::-1, ::2]
    if x.ndim == 2:
        yield x.T.copy().T


def norm_outcome(fn):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return "ok", np.asarray(fn())
        except ValueError:
            return "raise", ValueError


def check_norm(k, x, ord_src, axis_src, rdt, exact):
    """linalg.norm in the kernel against NumPy's: the same real dtype, bit for bit where exact (else to
    rounding relative to the number of values), the same ValueError."""
    ord_ = eval(ord_src, {"np": np})
    axis = None if axis_src is None else eval(axis_src)
    want = norm_outcome(lambda: np.linalg.norm(x, ord_, axis=axis))
    got = norm_outcome(lambda: k(x))
    msg = f"norm(x, {ord_src}, axis={axis_src}) of {x.dtype} {x.shape} strides {x.strides}"
    if OLD_EMPTY_NORMS and want[0] == "raise" and x.size == 0 and got[0] == "ok":
        assert not np.any(got[1]), msg  # NumPy 2.4's 0
        return
    assert got[0] == want[0], (msg, got, want)
    if want[0] == "raise":
        return
    g, w = got[1], want[1]
    assert g.dtype == np.dtype(rdt) and w.dtype == g.dtype, (msg, g.dtype, w.dtype)
    g = g.reshape(w.shape)
    if exact:
        np.testing.assert_array_equal(g, w, err_msg=msg)
    else:
        eps = float(np.finfo(w.dtype).eps)
        np.testing.assert_allclose(g, w, rtol=8 * eps * (x.size + 2), atol=0, err_msg=msg)


def norm_data(dtype, shape, special, seed):
    r = np.random.default_rng(seed)
    part = lambda: r.standard_normal(shape) * 10.0 ** r.integers(-2, 3, shape)
    x = (part() + 1j * part()) if dtype.startswith("complex") else part()
    x = x.astype(dtype)
    if special and x.size:
        vals = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, 6e-8, 65504.0, 300.0, 1e30])
        for _ in range(2 if dtype.startswith("complex") else 1):
            k = r.random(shape) < 0.15
            v = vals[r.integers(0, len(vals), shape)]
            with np.errstate(all="ignore"):
                x = np.where(k, (x.real + 1j * v) if (_ and dtype.startswith("complex")) else v, x).astype(dtype)
    return x


def complex_norm_exact(x, ord_src, axis_src):
    """Whether NumPy's complex arithmetic for this norm is ufuncgen's bit for bit: not the default norm (no
    axis=; BLAS dot products), not the powers of ord 3 / -2 / -1 on vectors (NumPy's SIMD power), not an
    array of one value with a negative stride (NumPy's absolute takes hypot there; the kernel sees no
    stride for one value), not complex64 squares of a negative-stride line (NumPy's scalar multiply loop,
    unfused there)."""
    if axis_src is None and ord_src in ("None", "2", "'fro'"):
        return False
    if ord_src in ("3", "-2") or (ord_src == "-1" and (x.ndim == 1 or axis_src in ("0", "-1"))):
        return False
    negative = any(s < 0 for s in x.strides)
    if negative and x.size == 1:
        return False
    return not (negative and x.dtype == np.complex64 and ord_src in ("None", "2"))


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("dtype", COMPLEX)
def test_complex_norm_matches_numpy(dtype, ndim):
    """np.linalg.norm of complex data in every ord / axis= form: real results, NumPy's formula per form (abs
    as NumPy's complex absolute, squares as its (x.conj() * x).real, sums as its real add.reduce)."""
    rdt = "float32" if dtype == "complex64" else "float64"
    for ord_src, axis_src in NORM_VECTOR if ndim == 1 else NORM_MATRIX:
        k = norm_kernel(dtype, rdt, ndim, ord_src, axis_src)
        for i, shape in enumerate(NORM_SHAPES[ndim]):
            for special in (False, True):
                for x in norm_views(norm_data(dtype, shape, special, 17 * i + special)):
                    check_norm(k, x, ord_src, axis_src, rdt, complex_norm_exact(x, ord_src, axis_src))


def test_complex_norm_by_hand():
    k = norm_kernel("complex128", "float64", 1, "np.inf", None)
    assert k(np.array([3 + 4j, -1j, np.inf + 1j])) == np.inf
    assert k(np.array([3 + 4j, -1j])) == 5.0
    k = norm_kernel("complex128", "float64", 2, "1", None)
    assert k(np.array([[3 + 4j, 1], [0, 1j]])) == 5.0  # column sums of |x|: 5, 2
    k = norm_kernel("complex64", "float32", 1, "0", None)
    assert k(np.array([0, 1j, 0j, complex(np.nan, 0)], np.complex64)) == 2.0


@pytest.mark.parametrize("f,dtype", [("linalg.norm", "complex128"), ("linalg.norm", "float16")])
def test_norm_of_3d_refused(f, dtype):
    src = f"def k(a, out):\n    x = np.{f}(a)\n"
    with pytest.raises(Exception) as e:
        ufuncgen.guvectorize(src, [f"void({dtype}[:, :, :], float64[:])"], "(l,m,n)->()")
    assert "linalg.norm() of a 3-d array is not supported in kernels" in str(e.value)


@pytest.mark.parametrize("call", ["a.max(axis=1)", "a.min(axis=0)", "a.argmax(axis=0)", "a.argmin(axis=1)",
                                  "np.amax(a * 2, axis=0)", "np.nanargmax(a, axis=1)"])
def test_complex_extreme_axis_methods_and_expressions(call):
    dtype = "complex128"
    rdt = "int64" if "arg" in call else dtype
    axis = int(call.split("axis=")[1][0])
    k = ufuncgen.guvectorize(f"def k(a, out):\n    out[:] = {call}\n", [f"void({dtype}[:, :], {rdt}[:])"],
                             "(m,n)->(n)" if axis == 0 else "(m,n)->(m)")
    a = extreme_data(dtype, 40 * 9, "nanfree_few" if "nanarg" in call else "few", 5).reshape(40, 9)
    if "nanarg" in call:
        a[::3, ::2] = complex(np.nan, 1)
    for x in (a, np.asfortranarray(a), a[::-3]):
        with np.errstate(all="ignore"):
            want = np.asarray(eval(call, {"np": np, "a": x}))
        same_extreme(extreme_run(k, x), want)


# ------------------------------------------------------------ order statistics

def same_parts(got, want):
    """Equal real and imaginary parts, NaN where NumPy has NaN (signs of zero not compared)."""
    got, want = np.ascontiguousarray(got), np.ascontiguousarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape, got.dtype, want.dtype)
    g, w = np.ascontiguousarray(got).view(got.real.dtype), np.ascontiguousarray(want).view(want.real.dtype)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
    np.testing.assert_array_equal(g[~np.isnan(w)], w[~np.isnan(w)])


def same_multiset(got, want):
    """The same element bit patterns in any order: nothing altered, lost or duplicated."""
    raw = np.dtype(f"V{got.dtype.itemsize}")
    g = np.sort(np.ascontiguousarray(got).view(raw).view(f"S{got.dtype.itemsize}"), axis=-1)
    w = np.sort(np.ascontiguousarray(want).view(raw).view(f"S{want.dtype.itemsize}"), axis=-1)
    np.testing.assert_array_equal(g, w)


def order_data(dtype, n, seed, nan=True):
    """Small integer parts (many ties), with NaN in either or both parts, infinities and signed zeros."""
    r = np.random.default_rng(seed)
    a = (r.integers(-3, 4, n) + 1j * r.integers(-3, 4, n)).astype(dtype)
    vals = [np.inf, complex(0, -np.inf), complex(-np.inf, 2), -0.0, complex(0, -0.0), complex(-0.0, -0.0), 2.5 - 1j]
    if nan:
        vals += [np.nan, complex(np.nan, 1), complex(1, np.nan), complex(np.nan, -2), complex(3, np.nan),
                 complex(np.nan, np.nan), complex(-np.inf, np.nan)]
    if n:
        k = r.integers(0, n, size=max(1, n // 4))
        a[k] = np.array(vals)[r.integers(0, len(vals), size=len(k))]
    return a


def order_kernel(body, dtype, outs="", layout="(n)->(n)"):
    key = (body, dtype, outs, layout)
    if key not in _compiled:
        src = f"def k(a, out):\n    {body}\n"
        _compiled[key] = ufuncgen.guvectorize(src, [f"void({dtype}[:], {outs or dtype + '[:]'})"], layout)
    return _compiled[key]


SORT_LENGTHS = [0, 1, 2, 3, 5, 8, 16, 17, 40, 100, 257, 1000]


@pytest.mark.parametrize("dtype", COMPLEX)
def test_complex_sorting_matches_numpy(dtype):
    sort = order_kernel("out[:] = np.sort(a)", dtype)
    inplace = order_kernel("b = a.copy()\n    b.sort()\n    out[:] = b", dtype)
    args = order_kernel("out[:] = np.argsort(a)", dtype, "int64[:]")
    for i, n in enumerate(SORT_LENGTHS):
        for nan in (False, True):
            a = order_data(dtype, n, 10 * i + nan, nan)
            want = np.sort(a)
            for x in (a, a[::-1], np.repeat(a, 2)[::2]):  # contiguous, reversed, strided
                got = sort(x)
                same_parts(got, np.sort(x))
                same_multiset(got, x)
                same_parts(inplace(x), np.sort(x))
                np.testing.assert_array_equal(args(x), np.argsort(x, kind="stable"))
            got = sort(a)  # numbers, then x+nanj, nan+yj, nan+nanj (classes 0 1 2 3), each class ascending
            cls = np.isnan(got.real) * 2 + np.isnan(got.imag)
            assert (np.diff(cls) >= 0).all()
            for c, part in ((1, got.real), (2, got.imag)):
                v = part[cls == c]
                assert (v[:-1] <= v[1:]).all()


@pytest.mark.parametrize("dtype", COMPLEX)
def test_complex_sort_rows_and_lists(dtype):
    a = order_data(dtype, 6 * 37, 4).reshape(6, 37)
    k = ufuncgen.guvectorize("def k(a, s, i):\n    s[:, :] = np.sort(a)\n    i[:, :] = np.argsort(a)\n",
                             [f"void({dtype}[:, :], {dtype}[:, :], int64[:, :])"], "(m,n)->(m,n),(m,n)")
    for x in (a, a[:, ::-2], np.asfortranarray(a), a[::-1, 3:3]):
        s, i = k(x)
        same_parts(s, np.sort(x))
        np.testing.assert_array_equal(i, np.argsort(x, kind="stable"))
    pair = order_kernel("out[:] = np.sort([a[1], a[0]])", dtype, layout="(n)->(m)")
    for x in ([complex(np.nan, 1), 2 + 1j], [complex(1, np.nan), complex(np.nan, 0)], [3 - 1j, 3 - 2j]):
        x = np.array(x, dtype)
        same_parts(pair(x, np.empty(2, dtype)), np.sort(x[::-1]))


@pytest.mark.parametrize("dtype", COMPLEX)
def test_complex_partition_and_unique(dtype):
    part = ufuncgen.guvectorize("def k(a, kth, out):\n    out[:] = np.partition(a, kth)\n",
                                [f"void({dtype}[:], int64, {dtype}[:])"], "(n),()->(n)")
    part2 = order_kernel("out[:] = np.partition(a, [1, -2])", dtype)
    uniq = ufuncgen.guvectorize("def k(a, out, m):\n    u = np.unique(a)\n    out[:len(u)] = u\n    m[0] = len(u)\n",
                                [f"void({dtype}[:], {dtype}[:], int64[:])"], "(n)->(n),()")
    for i, n in enumerate(SORT_LENGTHS):
        a = order_data(dtype, n, 77 + i)
        u = np.unique(a)
        got, m = uniq(a)
        assert m == len(u)
        if ORDER_STATS_BITS:  # NumPy 2.1.3 (sort-based np.unique) keeps other values than 2.4 here
            same_bits(got[:m], u)  # the representative of equal values (signs of zero) and of the NaNs: NumPy's
        if n < 2:
            continue
        s = np.sort(a)
        for kth in (0, n // 3, n - 1, -1):
            p = part(a, kth)
            same_multiset(p, a)
            same_parts(p[kth:kth + 1 or None], s[kth:kth + 1 or None])
            same_parts(np.sort(p[:kth]), s[:kth])  # the smaller ones before, in NumPy's order
        if n >= 3:
            p = part2(a)
            same_parts(p[[1, -2]], s[[1, -2]])
            same_parts(np.sort(p[2:-2]), s[2:-2])


def numpy_warned(fn):
    with warnings.catch_warnings(record=True) as w, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        r = fn()
    return r, sorted({str(x.message).rstrip(".") for x in w if "encountered in" not in str(x.message)})


# NumPy 2.4's choice among values with a NaN is the contract (np.unique's hash path keeps the first in input
# order; np.median the partition's last). NumPy before 2.4 (2.1.3 checked) picks another one: there only
# "has a NaN" is compared at each place, the numbers bit for bit.
ORDER_STATS_BITS = np.lib.NumpyVersion(np.__version__) >= "2.4.0"


def same_order_stat(got, want):
    if ORDER_STATS_BITS:
        return same_bits(got, want)
    assert got.shape == want.shape and got.dtype == want.dtype
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    same_bits(got[~nan], want[~nan])


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("f", ["median", "nanmedian"])
def test_complex_medians_match_numpy(f, dtype):
    """The mean of the middle values (0 + a [+ b]) / count as np.mean, complex64 divided in complex128; with a NaN
    np.median gives the partition's last (the largest in NumPy's order: nan+3j above 5+nanj); nanmedian of only NaNs
    the line's last element (_nanmedian1d's arr1d[-1]); of nothing NaN in both parts, with NumPy's warnings."""
    k = kernel(f, dtype)
    for i, n in enumerate(SORT_LENGTHS + [4, 6, 7, 600, 601]):
        for nan in (False, True):
            a = order_data(dtype, n, 31 * i + nan, nan)
            for x in (a, a[::-1], np.repeat(a, 2)[::2]):
                want, wwarn = numpy_warned(lambda: np.atleast_1d(getattr(np, f)(x)))
                got, gwarn = numpy_warned(lambda: np.atleast_1d(k(x)))
                if n == 0:  # NumPy's 0/0 gives the CPU's NaN sign: NaN in both parts is the contract
                    assert np.isnan(got.real) and np.isnan(got.imag) and np.isnan(want.real) and np.isnan(want.imag)
                else:
                    same_order_stat(got, want)
                assert gwarn == wwarn, (n, gwarn, wwarn)
    for x in ([complex(np.nan, 1), complex(2, np.nan)], [complex(np.nan, 5), np.nan, complex(np.nan, np.nan)],
              [1, complex(np.nan, 3), 5 + 0j, complex(5, np.nan), complex(np.nan, -1)]):
        x = np.array(x, dtype)
        want, wwarn = numpy_warned(lambda: np.atleast_1d(getattr(np, f)(x)))
        got, gwarn = numpy_warned(lambda: np.atleast_1d(k(x)))
        same_order_stat(got, want)
        assert gwarn == wwarn


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("f", ["median", "nanmedian"])
def test_complex_medians_along_an_axis(f, dtype):
    """Along an axis: np.median as above per line; np.nanmedian as NumPy's two paths: np.ma.median's (low + high) / 2.0
    for lines shorter than 600 (an odd count adds the middle to itself: inf+0j gives inf+nanj; only NaNs give
    nan+0j), _nanmedian1d per line from 600 on. No +inf real parts with NaNs in a line: np.ma.median sorts its
    masked NaNs as inf+0j, unstably, and may then take inf+infj for them, which ufuncgen does not copy."""
    src = "def k(a, out):\n    v = np.{}(a, axis={})\n    for i in range(out.shape[0]):\n        out[i] = v[i]\n"
    ks = [ufuncgen.guvectorize(src.format(f, ax), [f"void({dtype}[:, :], {dtype}[:])"], "(m,n)->(k)") for ax in (0, 1)]
    odd = np.array([[np.inf, 1], [1, 2], [np.inf, complex(np.nan, 1)]], dtype)
    for cols in (5, 599, 600, 601):
        a = order_data(dtype, 3 * cols, cols).reshape(3, cols)
        if f == "nanmedian":
            a[np.isposinf(a.real)] = -np.inf
        a[1, :] = complex(np.nan, 2)  # a line of NaNs only along axis 1
        a[:, 1] = complex(4, np.nan)  # ... and along axis 0
        for ax in (0, 1):
            for x in (a, a[::-1, ::-1], np.asfortranarray(a), odd):
                want, _ = numpy_warned(lambda: getattr(np, f)(x, axis=ax))
                got, _ = numpy_warned(lambda: ks[ax](x, np.empty(len(want), dtype)))
                same_bits(got, want)


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("f", ["quantile", "percentile", "nanquantile", "nanpercentile"])
def test_complex_quantiles_refused_as_numpy(f, dtype):
    with pytest.raises(TypeError, match="real numbers"):
        getattr(np, f)(np.ones(3, dtype), 0.5)
    src = f"def k(a, out):\n    out[0] = np.{f}(a, 0.5)\n"
    with pytest.raises(Exception) as e:
        ufuncgen.guvectorize(src, [f"void({dtype}[:], {dtype}[:])"], "(n)->()")
    assert f"{f}() of {dtype} elements: NumPy refuses complex data too" in str(e.value)
    assert "line 2" in str(e.value)
