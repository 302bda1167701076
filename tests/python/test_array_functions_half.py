"""Array functions on float16 arrays inside gufunc kernels against NumPy.

sum nansum prod nanprod mean nanmean (and the method forms) of a 1-d
float16 operand give NumPy's result bit for bit: add.reduce and
multiply.reduce accumulate in float32 over the line and round to float16
once (NumPy's half loops; the sum is NumPy's pairwise sum over the float32
values), mean sums with dtype=float32 (NumPy casts in buffers of 8192
values and adds the buffers' pairwise sums), divides in float32 and rounds,
nanmean divides the float16 sum of the non-NaN values by their count in
float64 and rounds. var std nanvar nanstd take NumPy's float16 steps: the
mean a float16 sum divided in float64, each deviation and its square
rounded to float16, their float16 sum divided by the degrees of freedom in
float64, std its float16 square root. cumsum cumprod diff round every
step to float16, as NumPy's half add, multiply and subtract loops (of n-d
arrays too: cumsum and cumprod flat as NumPy's axis=None or along an axis,
diff along an axis). min max nanmin nanmax argmin argmax nanargmin nanargmax
any all count_nonzero compare the float16 values exactly in float32; of
equal values min and max keep the first (0.0 or -0.0), as NumPy's half
loops do. The reductions also take 2-d operands, whole or with axis=0/1,
bit for bit: whole, NumPy's 1-d order over the memory-order copy; a line
NumPy's loop gets whole (the contiguous axis) summed in float32 and rounded
once; along an outer axis the sums and products round to float16 after
every row, as NumPy's half add and multiply loops do outside a reduce call.
3-d and 4-d operands too, whole in NumPy's memory order (axes by stride) and
along any axis; whole sum prod mean var std of a view that is not one stride
in memory raise a ValueError past 8192 values (NumPy 2.1 and 2.4 buffer
those in chunks of their own, rounding after each).
np.dot / np.vdot / @ of float16 vectors and matrices sum float32 products
in order and round once (NumPy's HALF_dot and half matmul loop), np.outer
is one float16 multiply per element: bit for bit. np.sort, a.sort(),
np.argsort (compared with kind='stable'), np.partition and np.unique order
float16 values as NumPy's HALF_LT (NaN last, -0.0 equal to 0.0; np.sort
puts -0.0 first, as NumPy's AVX-512 sort does), on rows of n-d arrays too.
np.median is NumPy's np.mean of the middle values (summed from zero and
divided in float32, rounded once); np.nanmedian along an axis of lines
shorter than 600 is np.ma.median's (float16 sum, then / 2.0 in float16:
40000 + 40000 overflows); quantile, percentile and the nan forms
interpolate in NumPy's float16 steps (_lerp: the weight a Python float
rounded to float16, each product and sum rounded). np.linalg.norm of 1-d
and 2-d arrays, every ord and axis= form: the default norm HALF_dot's,
the others NumPy's float16 steps (squares, abs, powers rounded, half
add.reduce sums). All bit for bit against NumPy. The other array functions on float16 elements are refused at the
call with a positioned error naming the function and dtype.
"""
import os
import warnings
from itertools import product

import numpy as np
import pytest

import ufuncgen
from test_array_functions_complex import (AXIS_RUNNING, AXIS_SHAPES, MATRIX_DOTS, NORM_MATRIX, NORM_SHAPES, NORM_VECTOR,
                                         NUMPY_BEFORE_2_3, assert_numpy_sum, axis_running, axis_views, check_norm,
                                         matrix_kernel, norm_data, norm_kernel, norm_views)

FUNCS = ["sum", "nansum", "prod", "nanprod", "mean", "nanmean", "var", "std", "nanvar", "nanstd"]
VARS = ["var", "std", "nanvar", "nanstd"]
LENGTHS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 1000, 1023, 5003,
           8191, 8192, 8193, 16383, 16384, 16385, 20000]
_compiled = {}


def kernel(f, method=False):
    key = (f, method)
    if key not in _compiled:
        call = f"a.{f}()" if method else f"np.{f}(a)"
        src = f"def k(a, out):\n    out[0] = {call}\n"
        _compiled[key] = ufuncgen.guvectorize(src, ["void(float16[:], float16[:])"], "(n)->()")
    return _compiled[key]


def data(n, special, seed, prod=False):
    r = np.random.default_rng(seed)
    if special == "cancel" and not prod:
        # +-x pairs of 100..1000 and small values: the sum is small, so float16 shows the float32
        # rounding (whole pairwise, 8192-value buffers, float16 steps all give other results)
        h = n // 3
        big = (r.uniform(100, 1000, h) * r.choice([-1, 1], h)).astype(np.float16)
        a = np.concatenate([big, -big, (r.standard_normal(n - 2 * h) * 1e-2).astype(np.float16)])
        return a[r.permutation(n)]
    if prod:  # near 1: products of thousands of values stay finite and inexact
        a = (1 + r.standard_normal(n) * 0.01).astype(np.float16)
    else:  # magnitudes 1e-3 .. 1e3: float32 sums of them round
        a = (r.standard_normal(n) * 10.0 ** r.uniform(-3, 3, n)).astype(np.float16)
    if special is True and n:
        k = r.integers(0, n, size=max(1, n // 50))
        vals = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 65504.0, 6e-8], np.float16)
        a[k] = vals[r.integers(0, len(vals), size=len(k))]
    return a


def half_model(f, a, ddof=0):
    """NumPy 2.3+'s float16 arithmetic written out, float32 sums and products
    by NumPy: the sums and products accumulate in float32 and round once, mean
    sums in float32, the float16 sums divided by a count in float64."""
    h = np.float16
    f32 = a.astype(np.float32)
    if f in ("sum", "nansum", "prod", "nanprod", "mean"):
        return np.asarray(h(getattr(np, f)(f32)))
    nan = f.startswith("nan")
    keep = ~np.isnan(a) if nan else np.ones(len(a), bool)
    cnt = int(keep.sum())
    tot = h(np.sum(np.where(keep, f32, 0)))
    m = h(np.float64(tot) / cnt)
    if f == "nanmean":
        return np.asarray(m)
    d = np.where(keep, a - m, h(0))
    v = h(np.float64(h(np.sum((d * d).astype(np.float32)))) / max(cnt - ddof, 0))
    if nan and cnt - ddof <= 0:
        v = h(np.nan)
    return np.asarray(np.sqrt(v) if f.endswith("std") else v)


def assert_half(got, want, a, f, ddof=0):
    """Bit for bit; on NumPy 2.1-2.2 past 8192 values those versions round a
    float16 sum or product to float16 after each 8192-value buffer (to inf
    where the float32 accumulator stays finite), so there it is compared, by
    assert_numpy_sum's rule, with half_model: ufuncgen follows NumPy 2.3+."""
    n = len(a)
    if NUMPY_BEFORE_2_3 and n > 8192:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            want = half_model(f, a, ddof)
        f = "sum"
    assert_numpy_sum(got, want, n, f)


def numpy_of(f, a):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(getattr(np, f)(a))


def run(k, a):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return k(a)


@pytest.mark.parametrize("special", [False, True, "cancel"])
@pytest.mark.parametrize("f", FUNCS)
def test_half_reduction_matches_numpy(f, special):
    k = kernel(f)
    for i, n in enumerate(LENGTHS):
        a = data(n, special, 1000 * i + n, prod="prod" in f)
        want = numpy_of(f, a)
        got = run(k, a)
        assert got.dtype == want.dtype == np.float16
        assert_half(got, want, a, f)
        if n and special is True:  # one NaN (nanmean, nansum: all-NaN too)
            b = a.copy()
            b[n // 2] = np.nan
            assert_half(run(k, b), numpy_of(f, b), b, f)
            b[:] = np.nan
            assert_half(run(k, b), numpy_of(f, b), b, f)


@pytest.mark.parametrize("f", FUNCS)
def test_half_reduction_rows_strides_methods(f):
    a = data(7 * 300, True, 5, prod="prod" in f).reshape(7, 300)
    for view in (a, a[:, ::-3], a[:, 1::2], np.asfortranarray(a)):
        want = np.array([numpy_of(f, row) for row in view])
        np.testing.assert_array_equal(run(kernel(f), view), want)
        np.testing.assert_array_equal(run(kernel(f, method=not f.startswith("nan")), view), want)


@pytest.mark.parametrize("expr", ["np.sum(a * a)", "np.mean(a + a)", "np.nansum(a - 1)", "(a * 2).prod()"])
def test_half_reduction_of_expression(expr):
    """The operand an expression of float16 arrays: its float16 values (rounded), reduced."""
    k = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = {expr}\n", ["void(float16[:], float16[:])"], "(n)->()")
    for n in (0, 5, 129, 8000):
        a = data(n, True, n, prod="prod" in expr)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            want = np.asarray(eval(expr))
        assert_numpy_sum(run(k, a), want, n, "sum")  # n <= 8192: bit for bit on NumPy 2.1 too


def test_half_sum_accumulates_in_float32():
    big = np.array([60000, 60000, -60000, -60000], np.float16)
    assert np.sum(big) == 0
    np.testing.assert_array_equal(run(kernel("sum"), big), np.sum(big))
    np.testing.assert_array_equal(run(kernel("mean"), big), np.mean(big))


EXTREMES = ["min", "max", "nanmin", "nanmax", "argmin", "argmax", "nanargmin", "nanargmax", "any", "all",
            "count_nonzero"]


def extreme_data(n, kind, seed):
    r = np.random.default_rng(seed)
    if kind == "few":  # ties, signed zeros, infinities, NaN
        return np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 6e-8], np.float16)[r.integers(0, 8, n)]
    if kind == "zeros":
        return np.array([0.0, -0.0], np.float16)[r.integers(0, 2, n)]
    return data(n, kind, seed)


def expected(f, a):
    """NumPy's result, or its error's type (empty, all-NaN)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return np.asarray(getattr(np, f)(a))
    except ValueError as e:
        return e


@pytest.mark.parametrize("kind", [False, True, "few", "zeros"])
@pytest.mark.parametrize("f", EXTREMES)
def test_half_extremes_match_numpy(f, kind):
    """Values bit for bit (the sign of a zero: the first of equal values, as NumPy's half loops keep it)."""
    rdt = {"any": "bool", "all": "bool", "count_nonzero": "int64"}.get(f, "int64" if "arg" in f else "float16")
    k = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = np.{f}(a)\n", [f"void(float16[:], {rdt}[:])"], "(n)->()")
    for i, n in enumerate([0, 1, 2, 3, 7, 8, 9, 16, 17, 31, 64, 65, 127, 128, 129, 1000, 8193, 20000]):
        a = extreme_data(n, kind, 100 * i + n)
        for b in (a, a[::-1], a[1::3]):
            want = expected(f, b)
            if isinstance(want, Exception):
                with pytest.raises(ValueError):
                    run(k, b)
                continue
            got = run(k, b)
            if rdt == "float16":
                np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16), err_msg=f"n={n} {b}")
            else:
                np.testing.assert_array_equal(got, want, err_msg=f"n={n}")


@pytest.mark.parametrize("f", ["min", "max", "argmin", "argmax", "any", "all"])
def test_half_extreme_methods_rows(f):
    rdt = {"any": "bool", "all": "bool"}.get(f, "int64" if "arg" in f else "float16")
    k = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = a.{f}()\n", [f"void(float16[:], {rdt}[:])"], "(n)->()")
    a = extreme_data(7 * 300, True, 3).reshape(7, 300)
    for view in (a, a[:, ::-3], np.asfortranarray(a)):
        np.testing.assert_array_equal(run(k, view), np.array([expected(f, row) for row in view]))


@pytest.mark.parametrize("special", [False, True, "cancel"])
@pytest.mark.parametrize("f", VARS)
def test_half_var_ddof(f, special):
    k = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = np.{f}(a, ddof=1)\n", ["void(float16[:], float16[:])"],
                             "(n)->()")
    for i, n in enumerate(LENGTHS):
        a = data(n, special, 7 * i + n)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            want = np.asarray(getattr(np, f)(a, ddof=1))
        assert_half(run(k, a), want, a, f, ddof=1)
        if n <= 8192:  # the written-out model is NumPy's arithmetic
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                np.testing.assert_array_equal(run(k, a), half_model(f, a, 1))


RUNNING = {"cumsum": ("np.cumsum(a)", np.cumsum), "cumprod": ("np.cumprod(a)", np.cumprod),
           "cumsum_method": ("a.cumsum()", np.cumsum), "cumprod_method": ("a.cumprod()", np.cumprod),
           "diff": ("np.diff(a)", np.diff), "diff2": ("np.diff(a, 2)", lambda a: np.diff(a, 2))}


def same_bits16(got, want):
    """Equal bits (signs of zero included), NaN where NumPy has NaN."""
    assert got.shape == want.shape and got.dtype == want.dtype == np.float16
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan].view(np.uint16), want[~nan].view(np.uint16))


@pytest.mark.parametrize("special", [False, True, "cancel"])
@pytest.mark.parametrize("f", list(RUNNING))
def test_half_running_matches_numpy(f, special):
    """Each step rounded to float16, as NumPy's half add/multiply/subtract loops (no 8192 rule: every version)."""
    call, ref = RUNNING[f]
    k = ufuncgen.guvectorize(f"def k(a, out):\n    b = {call}\n    for i in range(b.shape[0]):\n        out[i] = b[i]\n",
                             ["void(float16[:], float16[:])"], "(n)->(n)")
    for i, n in enumerate(LENGTHS + [2, 6]):
        a = data(n, special, 31 * i + n, prod="prod" in f)
        with np.errstate(all="ignore"):
            want = ref(a)
            got = k(a)[: len(want)]
        same_bits16(got, want)
    rows = data(6 * 50, special, 3, prod="prod" in f).reshape(6, 50)
    with np.errstate(all="ignore"):
        for x in (rows, rows[:, ::-3], rows[:, :3], rows[:, :2]):
            want = np.stack([ref(r) for r in x])
            same_bits16(k(x)[:, : want.shape[1]], want)


# ------------------------------------------------ products: dot, vdot, @, outer

VEC_DOTS = {"np.dot(a, b)": np.dot, "a @ b": np.matmul, "a.dot(b)": np.dot, "np.vdot(a, b)": np.vdot}


def bits16(got, want, msg=""):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype == np.float16, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got.reshape(-1).view(np.uint16), want.reshape(-1).view(np.uint16), err_msg=msg)


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("call", list(VEC_DOTS))
def test_half_vector_dot_bit_for_bit(call, special):
    """NumPy's HALF_dot: float32 products summed in order in float32, rounded to float16 once."""
    k = ufuncgen.guvectorize(f"def k(a, b, out):\n    out[0] = {call}\n", ["void(float16[:], float16[:], float16[:])"],
                             "(n),(n)->()")
    for i, n in enumerate([0, 1, 2, 7, 8, 9, 16, 17, 127, 128, 129, 1000, 8193, 20000]):
        a = (data(n, special, 3 * i) / 8).astype(np.float16)
        b = (data(n, special, 3 * i + 1) / 8).astype(np.float16)
        for x, y in ((a, b), (a[1::2], b[1::2]), (a[::-1], b)):
            with np.errstate(all="ignore"):
                bits16(k(x, y), VEC_DOTS[call](x, y), f"n={n}")


def test_half_dot_sums_in_float32():
    """Products and sums past float16's range stay finite in float32; rounded once at the end."""
    k = ufuncgen.guvectorize("def k(a, b, out):\n    out[0] = np.dot(a, b)\n", ["void(float16[:], float16[:], float16[:])"],
                             "(n),(n)->()")
    a, b = np.array([300, 300, 1e-3], np.float16), np.array([300, -300, 1], np.float16)
    assert np.dot(a, b) == np.float16(1e-3)
    bits16(k(a, b), np.dot(a, b))
    # 2049 ones: a float16 running sum would stop at 2048
    ones = np.ones(4097, np.float16)
    assert np.dot(ones, ones) == 4096
    bits16(k(ones, ones), np.dot(ones, ones))


def mat_kernel(call, ta="float16", tb="float16", tr="float16"):
    return matrix_kernel(call, ta, tb, tr)


@pytest.mark.parametrize("call", list(MATRIX_DOTS))
def test_half_matrix_dot_bit_for_bit(call):
    """np.dot of a float16 matrix (HALF_dot per element) and matmul (its half loop): float32 sums, one rounding."""
    layout, na, nb, ref = MATRIX_DOTS[call]
    k = mat_kernel(call)
    for i, (m, kk, n) in enumerate([(1, 1, 1), (3, 4, 5), (9, 17, 6), (5, 300, 4), (2, 2000, 3), (4, 0, 3)]):
        a = (data(m * kk if na == 2 else kk, True, 5 * i) / 8).astype(np.float16)
        b = (data(kk * n if nb == 2 else kk, True, 5 * i + 1) / 8).astype(np.float16)
        a = a.reshape((m, kk) if na == 2 else (kk,))
        b = b.reshape((kk, n) if nb == 2 else (kk,))
        views = [(a, b), (a[..., ::-1], b[::-1]), (np.asfortranarray(a), np.asfortranarray(b))]
        for x, y in views:
            with np.errstate(all="ignore"):
                bits16(k(x, y), ref(x, y), f"{(m, kk, n)}")


def test_half_matrix_dot_mixed_dtypes():
    """float16 with int8 stays float16 (bit for bit); with float32 it is a float32 product (NumPy: BLAS)."""
    r = np.random.default_rng(3)
    A, x = (r.standard_normal((6, 50)) * 4).astype(np.float16), r.integers(-5, 6, 50).astype(np.int8)
    k = mat_kernel("A @ x", "float16", "int8", "float16")
    bits16(k(A, x), A @ x)
    y = r.standard_normal(50).astype(np.float32)
    k = mat_kernel("A @ x", "float16", "float32", "float32")
    want = A @ y
    assert want.dtype == np.float32
    np.testing.assert_allclose(k(A, y), want, rtol=0, atol=8 * np.finfo(np.float32).eps * (np.abs(A) @ np.abs(y)).max())


def test_half_outer_bit_for_bit():
    """One float16 multiply per element (float32 product rounded), as NumPy's half multiply loop."""
    k = ufuncgen.guvectorize("def k(a, b, out):\n    out[:, :] = np.outer(a, b)\n",
                             ["void(float16[:], float16[:], float16[:, :])"], "(m),(n)->(m,n)")
    for i, (m, n) in enumerate([(1, 1), (3, 5), (17, 40), (0, 3)]):
        a, b = data(m, True, 2 * i), data(n, True, 2 * i + 1)
        for x, y in ((a, b), (a[::-1], b[::2])):
            with np.errstate(all="ignore"):
                bits16(k(x, y), np.outer(x, y))


# ------------------------------------------------ reductions of 2-d operands, axis=

AXIS_FUNCS = FUNCS + EXTREMES


def axis_kernel(f, axis):
    rdt = {"any": "bool", "all": "bool", "count_nonzero": "int64"}.get(f, "int64" if "arg" in f else "float16")
    if axis is None:
        return ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = np.{f}(a)\n", [f"void(float16[:, :], {rdt}[:])"],
                                    "(m,n)->()")
    return ufuncgen.guvectorize(f"def k(a, out):\n    out[:] = np.{f}(a, axis={axis})\n",
                                [f"void(float16[:, :], {rdt}[:])"], "(m,n)->(m)" if axis == 1 else "(m,n)->(n)")


def same_result(got, want, msg, nan_bits=True):
    """NumPy's result bit for bit (nan_bits False: any NaN where NumPy has one, as an inf - inf's sign
    depends on the operands' order), or a ValueError where NumPy raises one."""
    if isinstance(want, Exception):
        assert isinstance(got, ValueError), msg
    elif want.dtype == np.float16 and not nan_bits:
        same_bits16(np.asarray(got).reshape(-1), want.reshape(-1))
    elif want.dtype == np.float16:
        bits16(got, want, msg)
    else:
        np.testing.assert_array_equal(got, want, err_msg=msg)


def run_or_error(k, a):
    try:
        return run(k, a)
    except ValueError as e:
        return e


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("f", AXIS_FUNCS)
def test_half_2d_reductions_bit_for_bit(f, axis):
    """Whole (NumPy's 1-d order over the memory-order copy) and along each axis: a line NumPy's loop gets
    whole is summed in float32 and rounded once, an outer axis rounds after every row (the half loop).
    The whole sum or product of a view with a negative stride past 8192 values, which NumPy's iterator
    buffers (rounding to float16 per buffer) in an order of its own, raises a ValueError; ufuncgen's float32
    and float64 sums of such views differ from NumPy's in the last bits."""
    k = axis_kernel(f, axis)
    for i, (shape, special) in enumerate(product([(1, 1), (3, 5), (9, 17), (130, 7), (7, 130), (40, 300), (0, 4), (4, 0)],
                                                 [False, True])):
        a = data(shape[0] * shape[1], special, 11 * i, prod="prod" in f).reshape(shape)
        if f in EXTREMES:
            a = extreme_data(a.size, "few" if special else False, 11 * i).reshape(shape)
        for x in (a, np.asfortranarray(a), a[:, ::2], a[::-1], a[:, ::-1]):
            if axis is None and x.size > 8192 and min(x.strides) < 0 and f in ("sum", "prod"):
                with pytest.raises(ValueError, match="not contiguous in memory"):
                    run(k, x)  # NumPy buffers these in an order of its own, rounding each chunk
                continue
            want = expected(f, x) if axis is None else expected_axis(f, x, axis)
            if axis is None and NUMPY_BEFORE_2_3 and x.size > 8192 and f in FUNCS:
                with warnings.catch_warnings(), np.errstate(all="ignore"):  # assert_half's rule: 2.3+'s arithmetic
                    warnings.simplefilter("ignore")
                    want = np.asarray(half_model(f, memory_flat(x)))
            if not isinstance(want, Exception) and want.size == 0:
                continue
            same_result(run_or_error(k, x), want, f"{shape} {x.strides}", nan_bits=f in EXTREMES)


def expected_axis(f, a, axis):
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return np.asarray(getattr(np, f)(a, axis=axis))
    except ValueError as e:
        return e


def test_half_sum_along_outer_axis_rounds_each_row():
    """axis=0 of a C-ordered array: NumPy's half add loop rounds after each row, not once (as along axis 1)."""
    r = np.random.default_rng(4)
    a = (r.standard_normal((300, 6)) * 10.0 ** r.uniform(-2, 2, (300, 6))).astype(np.float16)
    once = a.astype(np.float32).sum(axis=0).astype(np.float16)
    assert not np.array_equal(np.sum(a, axis=0), once)  # the data shows the difference
    bits16(run(axis_kernel("sum", 0), a), np.sum(a, axis=0))
    bits16(run(axis_kernel("sum", 1), a.T.copy()), np.sum(a.T.copy(), axis=1))  # whole lines: rounded once
    bits16(run(axis_kernel("sum", 0), np.asfortranarray(a)), np.sum(np.asfortranarray(a), axis=0))
    p = (1 + r.standard_normal((300, 6)) * 0.05).astype(np.float16)
    assert not np.array_equal(np.prod(p, axis=0), p.astype(np.float32).prod(axis=0).astype(np.float16))
    bits16(run(axis_kernel("prod", 0), p), np.prod(p, axis=0))


@pytest.mark.parametrize("call", ["a.sum(axis=0)", "a.mean(axis=1)", "a.prod(axis=0)", "a.max(axis=0)", "a.argmin(axis=1)",
                                  "a.var(axis=0)", "a.std(axis=1)", "np.nansum(a * a, axis=0)"])
def test_half_axis_methods_and_expressions(call):
    rdt = "int64" if "arg" in call else "float16"
    axis = int(call.split("axis=")[1][0])
    k = ufuncgen.guvectorize(f"def k(a, out):\n    out[:] = {call}\n", [f"void(float16[:, :], {rdt}[:])"],
                             "(m,n)->(n)" if axis == 0 else "(m,n)->(m)")
    a = data(150 * 9, False, 7, prod="prod" in call).reshape(150, 9)
    for x in (a, a.T.copy().T, a[::-2]):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            want = np.asarray(eval(call, {"np": np, "a": x}))
        same_result(run(k, x), want, call, nan_bits=False)


@pytest.mark.parametrize("call", ["np.cumsum(a)", "a.cumsum()", "np.cumprod(a)", "a.cumprod()"])
def test_half_running_of_nd_arrays_flat(call):
    """cumsum / cumprod of 2-d and 3-d float16 arrays, no axis=: NumPy's, of the array flat in C order (Fortran
    and reversed views too), each step rounded to float16."""
    ref = np.cumsum if "cumsum" in call else np.cumprod
    for nd in (2, 3):
        dims = "[:, :]" if nd == 2 else "[:, :, :]"
        k = ufuncgen.guvectorize(f"def k(a, out):\n    out[:] = {call}\n", [f"void(float16{dims}, float16[:])"],
                                 ("(n,m)" if nd == 2 else "(l,n,m)") + "->(k)")
        shapes = [(0, 3), (3, 0), (1, 1), (4, 7), (17, 9)] if nd == 2 else [(2, 3, 4), (5, 1, 6), (0, 2, 2)]
        for i, shape in enumerate(shapes):
            for special in (False, True):
                a = data(int(np.prod(shape)), special, 7 * i + special, prod="prod" in call).reshape(shape)
                for x in (a, a.T, a[..., ::-1], a[::2]):
                    with np.errstate(all="ignore"):
                        want = ref(x)
                        got = k(x, np.zeros(x.size, np.float16))
                    same_bits16(got, want)


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("call", AXIS_RUNNING)
def test_half_running_along_axis_matches_numpy(call, special):
    """cumsum / cumprod along an axis and diff of 2-d float16 arrays and their views: NumPy's bits, every step
    rounded to float16 (its half add/multiply/subtract loops)."""
    for i, shape in enumerate(AXIS_SHAPES + [(40, 30)]):
        a = data(int(np.prod(shape)), special, 13 * i + special, prod="prod" in call).reshape(shape)
        for x in axis_views(a):
            same_bits16(*axis_running(call, x))


# ------------------------------------------------ sorting and order statistics

def outcome(fn):
    """fn() with NumPy's warnings recorded: ("ok", value, warnings) or ("raise", exception class, [])."""
    with warnings.catch_warnings(record=True) as w, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            r = np.atleast_1d(fn())
        except (ValueError, IndexError) as e:
            return "raise", type(e), []
    return "ok", r, sorted({str(x.message).rstrip(".") for x in w if "encountered in" not in str(x.message)})


# NumPy 2.4's float16 order statistics are the contract. NumPy before 2.4 (2.1.3 checked) takes other float16
# steps in the median's mean and the quantiles' _lerp (and ends a warning with a period): there results are
# compared within one float16 ulp, NaN where NumPy has NaN.
ORDER_STATS_BITS = np.lib.NumpyVersion(np.__version__) >= "2.4.0"


def near16(got, want):
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    g, w = got[~nan].astype(np.float64), want[~nan].astype(np.float64)
    np.testing.assert_array_equal(np.isinf(g), np.isinf(w))
    fin = np.isfinite(w)
    assert (np.abs(g[fin] - w[fin]) <= np.spacing(np.abs(want[~nan][fin])).astype(np.float64)).all(), (got, want)


def both_zeros(x):
    """x holds -0.0 and 0.0: a quantile between equal zeros takes the sign of the one NumPy's
    partition (introselect) happens to put there, so only the value is NumPy's contract."""
    z = np.signbit(np.asarray(x)[np.asarray(x) == 0])
    return z.any() and not z.all()


def same_outcome(got, want, zeros=False):
    assert got[0] == want[0], (got, want)
    if got[0] == "raise":
        assert issubclass(got[1], want[1]) or issubclass(want[1], got[1])
        return
    g, w = got[1], want[1]
    if w.size == 1 and np.isnan(w).all() and np.isnan(g).all():
        pass  # NaN of nothing: NumPy's 0/0 takes the CPU's sign, NaN is the contract
    elif not ORDER_STATS_BITS:
        near16(g, w)
    elif zeros:
        np.testing.assert_array_equal(g, w)
        same_bits16(np.where(w == 0, np.float16(0), g), np.where(w == 0, np.float16(0), w))
    else:
        same_bits16(g, w)
    assert got[2] == want[2], (got[2], want[2])


def same_sorted16(got, want):
    """NaN where NumPy has NaN, equal values elsewhere, and the same float16 bit
    patterns among the numbers (signs of zero counted, not placed: NumPy's own
    order of -0.0 and 0.0 depends on the sort kernel its CPU gets)."""
    assert got.shape == want.shape and got.dtype == want.dtype == np.float16
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    np.testing.assert_array_equal(np.sort(got[~nan].view(np.uint16)), np.sort(want[~nan].view(np.uint16)))


def order_data(n, seed, nan=True):
    """Magnitudes from subnormals to 65504 (and inf), repeated values, signed zeros, NaNs."""
    r = np.random.default_rng(seed)
    with np.errstate(over="ignore"):
        a = (r.standard_normal(n) * 10.0 ** r.uniform(-7, 4.8, n)).astype(np.float16)
    if n:
        k = r.integers(0, n, size=max(1, n // 4))
        vals = [0.0, -0.0, 1.0, -1.0, 65504.0, -65504.0, 6e-8, -6e-8, 2.0, np.inf, -np.inf] + [np.nan] * nan
        a[k] = np.array(vals, np.float16)[r.integers(0, len(vals), size=len(k))]
    return a


ORDER_LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 16, 17, 100, 255, 256, 257, 1000, 5003]
_order = {}


def order_kernel(body, outs="float16[:]", layout="(n)->(n)", ins="float16[:]"):
    key = (body, outs, layout, ins)
    if key not in _order:
        _order[key] = ufuncgen.guvectorize(f"def k(a, out):\n    {body}\n", [f"void({ins}, {outs})"], layout)
    return _order[key]


def test_half_sorting_matches_numpy():
    sort = order_kernel("out[:] = np.sort(a)")
    inplace = order_kernel("b = a.copy()\n    b.sort()\n    out[:] = b")
    args = order_kernel("out[:] = np.argsort(a)", "int64[:]")
    for i, n in enumerate(ORDER_LENGTHS):
        for nan in (False, True):
            a = order_data(n, 3 * i + nan, nan)
            for x in (a, a[::-1], np.repeat(a, 2)[::2]):
                want = np.sort(x)
                same_sorted16(sort(x), want)
                same_sorted16(inplace(x), want)
                np.testing.assert_array_equal(args(x), np.argsort(x, kind="stable"))
            got = sort(a)  # -0.0 before 0.0, as NumPy's AVX-512 float16 sort
            z = got[got == 0]
            assert (np.diff(np.signbit(z).astype(int)) <= 0).all()


def test_half_sort_rows():
    k = ufuncgen.guvectorize("def k(a, s, i):\n    s[:, :] = np.sort(a)\n    i[:, :] = np.argsort(a)\n",
                             ["void(float16[:, :], float16[:, :], int64[:, :])"], "(m,n)->(m,n),(m,n)")
    a = order_data(7 * 300, 8).reshape(7, 300)
    for x in (a, a[:, ::-3], np.asfortranarray(a), a[:, :1], a[:, :0]):
        s, i = k(x)
        same_sorted16(s, np.sort(x))
        np.testing.assert_array_equal(i, np.argsort(x, kind="stable"))


def test_half_partition_and_unique():
    part = ufuncgen.guvectorize("def k(a, kth, out):\n    out[:] = np.partition(a, kth)\n",
                                ["void(float16[:], int64, float16[:])"], "(n),()->(n)")
    uniq = ufuncgen.guvectorize("def k(a, out, m):\n    u = np.unique(a)\n    out[:len(u)] = u\n    m[0] = len(u)\n",
                                ["void(float16[:], float16[:], int64[:])"], "(n)->(n),()")
    for i, n in enumerate(ORDER_LENGTHS):
        a = order_data(n, 50 + i)
        u = np.unique(a)
        got, m = uniq(a)
        assert m == len(u)
        same_sorted16(got[:m], u)
        s = np.sort(a)
        for kth in sorted({0, n // 3, n // 2, n - 1}) if n else ():
            p = part(a, kth)
            same_sorted16(np.sort(p), s)  # nothing lost
            assert p[kth] == s[kth] or (np.isnan(p[kth]) and np.isnan(s[kth]))
            same_sorted16(np.sort(p[:kth]), s[:kth])


@pytest.mark.parametrize("f", ["median", "nanmedian"])
def test_half_medians_match_numpy(f):
    k = order_kernel(f"out[0] = np.{f}(a)", layout="(n)->()")
    for i, n in enumerate(ORDER_LENGTHS):
        for nan in (False, True):
            a = order_data(n, 7 * i + nan, nan)
            for x in (a, a[::-1], np.repeat(a, 2)[::2]):
                same_outcome(outcome(lambda: k(x)), outcome(lambda: getattr(np, f)(x)))
            if n:
                b = a.copy()
                b[:] = np.nan
                same_outcome(outcome(lambda: k(b)), outcome(lambda: getattr(np, f)(b)))
    for x in ([60000, 65504], [40000, 40000, 1], [-0.0, -0.0], [1, 1.0009765625], [6e-8, 0], [np.inf, -np.inf]):
        x = np.array(x, np.float16)
        same_outcome(outcome(lambda: k(x)), outcome(lambda: getattr(np, f)(x)))


QUANTILES = ["quantile", "nanquantile", "percentile", "nanpercentile"]


@pytest.mark.parametrize("f", QUANTILES)
def test_half_quantiles_match_numpy(f):
    if not ORDER_STATS_BITS:
        pytest.skip("NumPy before 2.4 interpolates float16 quantiles differently (2.1.3: e.g. -70.1 where 2.4 gives -71.6)")
    k = ufuncgen.guvectorize(f"def k(a, q, out):\n    out[0] = np.{f}(a, q)\n", ["void(float16[:], float64, float16[:])"],
                             "(n),()->()")
    top = 100.0 if "percentile" in f else 1.0
    r = np.random.default_rng(5)
    for i, n in enumerate(ORDER_LENGTHS):
        for nan in (False, True):
            a = order_data(n, 11 * i + nan, nan)
            for q in [0.0, 1.0, 0.5, 0.25, 0.3, 0.999, 1 / 3, *r.uniform(0, 1, 4)]:
                q = float(q) * top
                for x in (a, a[::-1]):
                    want = outcome(lambda: getattr(np, f)(x, q))
                    assert want[0] == "raise" or want[1].dtype == np.float16
                    same_outcome(outcome(lambda: k(x, q)), want, both_zeros(x))
    x = np.array([1, 2, 3], np.float16)
    for q in (-0.5 * top, 1.5 * top):
        same_outcome(outcome(lambda: k(x, q)), outcome(lambda: getattr(np, f)(x, q)))


@pytest.mark.parametrize("f", ["median", "nanmedian", "quantile", "nanpercentile"])
def test_half_order_statistics_along_an_axis(f):
    if not ORDER_STATS_BITS and "median" not in f:
        pytest.skip("NumPy before 2.4 interpolates float16 quantiles differently (see test_half_quantiles_match_numpy)")
    q = "" if "median" in f else (", 37.5" if "percentile" in f else ", 0.375")
    qv = () if "median" in f else ((37.5,) if "percentile" in f else (0.375,))
    src = "def k(a, out):\n    v = np.{}(a{}, axis={})\n    for i in range(out.shape[0]):\n        out[i] = v[i]\n"
    ks = [ufuncgen.guvectorize(src.format(f, q, ax), ["void(float16[:, :], float16[:])"], "(m,n)->(k)") for ax in (0, 1)]
    whole = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = np.{f}(a{q})\n", ["void(float16[:, :], float16[:])"],
                                 "(m,n)->()")
    for cols in (1, 4, 5, 599, 600, 601):
        a = order_data(4 * cols, cols).reshape(4, cols)
        a[1, :] = np.nan  # a line of NaNs only
        a[:, 0] = [40000, np.nan, 1, 40000]  # 3 numbers along axis 0: np.ma.median's 40000 + 40000 is inf
        for ax in (0, 1):
            for x in (a, a[::-1, ::-1], np.asfortranarray(a), a[:, 1:]):
                want = outcome(lambda: getattr(np, f)(x, *qv, axis=ax))
                same_outcome(outcome(lambda: ks[ax](x, np.empty(x.shape[1 - ax], np.float16))), want, both_zeros(x))
        for x in (a, a[:, ::-2], np.asfortranarray(a)):
            same_outcome(outcome(lambda: whole(x)), outcome(lambda: getattr(np, f)(x, *qv)), both_zeros(x))


# ------------------------------------------------------------- linalg.norm

@pytest.mark.parametrize("ndim", [1, 2])
def test_half_norm_matches_numpy(ndim):
    """np.linalg.norm of float16 data in every ord / axis= form, float16 results bit for bit: the default norm
    (no axis=) HALF_dot's float32 sum of exact products, rounded once, then a float16 sqrt; with axis= the
    squares, abs and powers rounded to float16 and summed as NumPy's half add.reduce (float32 along a line
    its loop gets whole, rounded at every row along an outer axis); reciprocal(ord) in float16."""
    for ord_src, axis_src in NORM_VECTOR if ndim == 1 else NORM_MATRIX:
        k = norm_kernel("float16", "float16", ndim, ord_src, axis_src)
        for i, shape in enumerate(NORM_SHAPES[ndim]):
            for special in (False, True):
                for x in norm_views(norm_data("float16", shape, special, 31 * i + special)):
                    check_norm(k, x, ord_src, axis_src, "float16", True)


def test_half_norm_rounding_by_hand():
    # the default norm sums exact float32 squares (HALF_dot); with axis= each square is rounded to float16 first
    x = np.array([-0.7324, -0.5444, -0.3164, 0.4116, 1.043], np.float16)
    assert norm_kernel("float16", "float16", 1, "None", None)(x) == np.float16(1.4795) == np.linalg.norm(x)
    assert norm_kernel("float16", "float16", 1, "None", "0")(x) == np.float16(1.48) == np.linalg.norm(x, axis=0)
    # HALF_dot rounds its float32 sum to float16 before the sqrt: 4 * 300**2 is inf
    with np.errstate(over="ignore"):
        assert norm_kernel("float16", "float16", 1, "None", None)(np.full(4, 300, np.float16)) == np.inf
    # counting nonzeros in float16 row after row stops at 2048 (2048 + 1 rounds to 2048); along the rows whole
    a = np.ones((3000, 2), np.float16)
    got = norm_kernel("float16", "float16", 2, "0", "0")(a)
    np.testing.assert_array_equal(got, np.linalg.norm(a, 0, axis=0))
    assert got[0] == 2048
    b = a.T.copy()
    got = norm_kernel("float16", "float16", 2, "0", "-1")(b)
    np.testing.assert_array_equal(got, np.linalg.norm(b, 0, axis=-1))
    assert got[0] == np.float16(3000)
    np.testing.assert_array_equal(norm_kernel("float16", "float16", 2, "0", "-1")(a.T), np.linalg.norm(a.T, 0, axis=-1))


# ------------------------------------------- reductions of 3-d and 4-d operands

hyp = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

N = settings(max_examples={"ci": 120, "long": 3000}.get(os.environ.get("HYPOTHESIS_PROFILE", ""), 40), deadline=None)
ORDERED = ["sum", "prod", "mean", "var", "std"]  # whole: refused past 8192 values of a view not one stride in memory


def rdtype(f):
    return {"any": "bool", "all": "bool", "count_nonzero": "int64"}.get(f, "int64" if "arg" in f else "float16")


def nd_kernel(f, nd, axis):
    """np.f(a) or np.f(a, axis=axis) of an nd-d float16 array (axis as written, negative too)."""
    key = ("nd", f, nd, axis)
    if key not in _compiled:
        dims = "abcd"[:nd]
        sig = ", ".join([":"] * nd)
        if axis is None:
            _compiled[key] = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = np.{f}(a)\n",
                                                  [f"void(float16[{sig}], {rdtype(f)}[:])"], f"({','.join(dims)})->()")
        else:
            rest = [c for i, c in enumerate(dims) if i != axis % nd]
            osig = ", ".join([":"] * (nd - 1))
            _compiled[key] = ufuncgen.guvectorize(
                f"def k(a, out):\n    out[{osig}] = np.{f}(a, axis={axis})\n",
                [f"void(float16[{sig}], {rdtype(f)}[{osig}])"], f"({','.join(dims)})->({','.join(rest)})")
    return _compiled[key]


def nd_data(shape, kind, seed, f):
    """float16 values of the kind: "normal" (magnitudes 1e-3 .. 1e3), "special" (NaN, infinities, signed zeros,
    65504 sprinkled in), "cancel" (+-x pairs: the float32 rounding shows), "large" (sums overflow float16)."""
    n = int(np.prod(shape))
    if f in EXTREMES and kind != "large":
        return extreme_data(n, "few" if kind == "special" else False, seed).reshape(shape)
    if kind == "large":
        r = np.random.default_rng(seed)
        return (r.uniform(-1, 1, n) * 60000).astype(np.float16).reshape(shape)
    return data(n, {"normal": False, "special": True}.get(kind, kind), seed, prod="prod" in f).reshape(shape)


def memory_flat(x):
    """x's values in NumPy's reduction order: axes by |stride| (length 1 outermost), each in index order."""
    axes = sorted(range(x.ndim), key=lambda i: -abs(x.strides[i]) if x.shape[i] > 1 else -np.inf)
    return x.transpose(axes).ravel()


def one_stride(x):
    """Whether x's values lie in memory at one positive stride, the item size (in memory order)."""
    axes = sorted((i for i in range(x.ndim) if x.shape[i] > 1), key=lambda i: abs(x.strides[i]))
    step = x.itemsize
    for i in axes:
        if x.strides[i] != step:
            return False
        step *= x.shape[i]
    return True


def nd_expected(f, x, axis):
    want = expected(f, x) if axis is None else expected_axis(f, x, axis)
    if axis is None and NUMPY_BEFORE_2_3 and x.size > 8192 and f in FUNCS:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # assert_half's rule: 2.3+'s arithmetic
            warnings.simplefilter("ignore")
            want = np.asarray(half_model(f, memory_flat(x)))
    return want


def nd_view(a, how):
    if how == "F":
        return np.asfortranarray(a)
    if how == "step":
        return a[::2, ..., 1::2]
    if how == "reversed":
        return a[..., ::-1][::-1]
    if how == "transposed":
        return a.transpose()
    if how == "swapped":
        return np.swapaxes(a, 0, 1)
    return a


@pytest.mark.parametrize("f", AXIS_FUNCS)
@N
@given(st.data())
def test_half_nd_reductions_match_numpy(f, d):
    """Every float16 reduction of 3-d and 4-d arrays (empty and length-1 axes, C- and F-ordered, strided,
    reversed and transposed views), whole and along each axis (negative axes too), bit for bit with NumPy's
    result and its dtype: whole, NumPy's order (axes by stride, a line of one stride summed once); along an
    axis, a line NumPy's loop gets whole rounded once, an outer axis rounded at every step."""
    nd = d.draw(st.sampled_from([3, 4]), "nd")
    shape = d.draw(st.tuples(*[st.integers(0, 9 if nd == 3 else 5)] * nd), "shape")
    kind = d.draw(st.sampled_from(["normal", "special", "cancel", "large"]), "kind")
    a = nd_data(shape, kind, d.draw(st.integers(0, 2**16), "seed"), f)
    x = nd_view(a, d.draw(st.sampled_from(["C", "F", "step", "reversed", "transposed", "swapped"]), "view"))
    axis = d.draw(st.sampled_from([None] + list(range(-nd, nd))), "axis")
    want = nd_expected(f, x, axis)
    got = run_or_error(nd_kernel(f, nd, axis), x)
    if not isinstance(want, Exception):
        assert want.dtype == np.dtype(rdtype(f)) and got.dtype == want.dtype
    same_result(got, want, f"{x.shape} {x.strides} axis={axis}", nan_bits=f in EXTREMES)


@pytest.mark.parametrize("f", AXIS_FUNCS)
def test_half_nd_reductions_past_8192_values(f):
    """Whole reductions of 3-d arrays of 12000 values: NumPy's when the array is one stride in memory
    (C- or F-ordered, a transposed one), and along each axis; of other views (every second row, reversed),
    which NumPy's iterator buffers in chunks of its own, rounding to float16 after each (chunks NumPy 2.1 and
    2.4 choose differently), sum prod mean var std raise a ValueError, the others are NumPy's."""
    a = nd_data((20, 30, 40), "special", 17, f)
    for x in (a, np.asfortranarray(a), a.transpose(2, 0, 1), a[::2], a[:, :, ::-1], a[::-1]):
        for axis in (None, 0, 1, 2):
            k = nd_kernel(f, 3, axis)
            if axis is None and f in ORDERED and x.size > 8192 and not one_stride(x):
                with pytest.raises(ValueError, match="not contiguous in memory"):
                    run(k, x)
                continue
            same_result(run_or_error(k, x), nd_expected(f, x, axis), f"{x.shape} {x.strides} axis={axis}",
                        nan_bits=f in EXTREMES)


def test_half_nd_whole_sum_in_memory_order():
    """A whole float32 sum of a transposed view visits the values in memory order, not C order: data where
    the two orders round differently to float16."""
    k = nd_kernel("sum", 3, None)
    seen = 0
    for seed in range(40):
        a = data(6 * 7 * 8, "cancel", seed).reshape(6, 7, 8)
        for x in (a.transpose(1, 2, 0), np.asfortranarray(a), a[:, ::-1]):
            bits16(run(k, x), np.sum(x))
            c = np.float16(np.add.reduce(x.astype(np.float32).ravel()))
            seen += c.view(np.uint16) != np.sum(x).view(np.uint16)
    assert seen  # C order would have differed
