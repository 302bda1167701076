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
step to float16, as NumPy's half add, multiply and subtract loops. min max nanmin nanmax argmin argmax nanargmin nanargmax
any all count_nonzero compare the float16 values exactly in float32; of
equal values min and max keep the first (0.0 or -0.0), as NumPy's half
loops do. The other array functions on float16 elements are
refused at the call with a positioned error naming the function and dtype.
"""
import warnings

import numpy as np
import pytest

import ufuncgen
from test_array_functions_complex import NUMPY_BEFORE_2_3, assert_numpy_sum

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
