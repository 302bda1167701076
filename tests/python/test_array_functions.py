"""Array functions inside gufunc kernels against NumPy.

Each function runs inside a kernel on random data (hypothesis: random
lengths including 0, NaN, inf, -0.0, strided and reversed views, several
dtypes) and must give NumPy's result on the same core array: reductions bit
for bit (NumPy's pairwise summation order), errors of the same class.
np.dot and the default norm use BLAS in NumPy (a different summation
order), so those compare to rounding.
"""
import os
import re
import warnings

import numpy as np
import pytest

import ufuncgen
from test_array_functions_complex import AXIS_RUNNING, axis_running, axis_views

hyp = pytest.importorskip("hypothesis")
from hypothesis import assume, given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

DTYPES = ["float64", "float32", "int64", "int32"]
# Examples per test: ~200 tests here, so fewer each than the suite's profile
# (the long profile runs thousands).
N = settings(max_examples={"ci": 120, "long": 3000}.get(os.environ.get("HYPOTHESIS_PROFILE", ""), 60))
_compiled = {}


def gufunc(src, sig, layout):
    key = (src, sig, layout)
    if key not in _compiled:
        _compiled[key] = ufuncgen.guvectorize(src, [sig], layout)
    return _compiled[key]


def outcome(fn):
    """fn() with NumPy's warnings silenced: ("ok", value) or ("raise", exception class)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return "ok", fn()
        except (ValueError, IndexError) as e:
            return "raise", type(e)


numpy_result = ours = outcome  # the same run for both sides: what NumPy gives, what the kernel gives


NUMPY_VERSION = tuple(int(x) for x in np.__version__.split(".")[:2])
NUMPY_BEFORE_2_3, NUMPY_BEFORE_2_4 = NUMPY_VERSION < (2, 3), NUMPY_VERSION < (2, 4)


def same(got, want, exact=True):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12 if got.dtype == np.float64 else 2e-5, atol=1e-300)


def check(kind_got, kind_want, exact=True):
    (gk, gv), (wk, wv) = kind_got, kind_want
    assert gk == wk, (kind_got, kind_want)
    if gk == "raise":
        assert issubclass(gv, wv) or issubclass(wv, gv), (gv, wv)
    else:
        same(gv, wv, exact)


def data(dtype, min_size=0, max_size=300, nan=True):
    if np.dtype(dtype).kind == "f":
        el = st.floats(allow_nan=nan, allow_infinity=nan, width=np.dtype(dtype).itemsize * 8,
                       min_value=None if nan else -1e6, max_value=None if nan else 1e6)
    else:
        info = np.iinfo(dtype)
        el = st.integers(max(info.min, -10**6), min(info.max, 10**6))
    return hnp.arrays(dtype, st.integers(min_size, max_size), elements=el)


def view(a, step):
    """a itself (1), a strided view of a copy (2) or a reversed view of a copy (-1)."""
    if step == 1:
        return a
    if step == 2:
        b = np.empty(a.size * 2, a.dtype)
        b[::2] = a
        return b[::2]
    return np.ascontiguousarray(a[::-1])[::-1]


def result_dtype(f, dtype):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(getattr(np, f)(np.ones(3, dtype))).dtype


REDUCTIONS = ["sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax", "any", "all", "nansum",
              "nanprod", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax", "nanargmin", "nanargmax",
              "count_nonzero", "median", "nanmedian"]
METHODS = ["sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax", "any", "all"]


def reduce_kernel(f, dtype, method=False, extra=""):
    rdt = result_dtype(f, dtype)
    call = f"a.{f}({extra})" if method else f"np.{f}(a{', ' + extra if extra else ''})"
    src = f"def k(a, out):\n    out[0] = {call}\n"
    return gufunc(src, f"void({dtype}[:], {rdt}[:])", "(n)->()"), rdt


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("f", REDUCTIONS)
@N
@given(st.data())
def test_reduction_matches_numpy(f, dtype, d):
    a = view(d.draw(data(dtype)), d.draw(st.sampled_from([1, 2, -1])))
    k, rdt = reduce_kernel(f, dtype)
    want = numpy_result(lambda: np.asarray(getattr(np, f)(a)).astype(rdt))
    check(ours(lambda: k(a)), want)


@pytest.mark.parametrize("dtype", ["float64", "int32"])
@pytest.mark.parametrize("f", METHODS)
@N
@given(st.data())
def test_method_form_matches_numpy(f, dtype, d):
    a = d.draw(data(dtype, max_size=40))
    k, rdt = reduce_kernel(f, dtype, method=True)
    check(ours(lambda: k(a)), numpy_result(lambda: np.asarray(getattr(a, f)()).astype(rdt)))


@pytest.mark.parametrize("f", ["var", "std", "nanvar", "nanstd"])
@N
@given(data("float64", max_size=40), st.integers(0, 3))
def test_ddof(f, a, ddof):
    k, _ = reduce_kernel(f, "float64", extra=f"ddof={ddof}")
    check(ours(lambda: k(a)), numpy_result(lambda: getattr(np, f)(a, ddof=ddof)))


def test_long_sums_follow_numpy_pairwise_order(rng):
    """Lengths around NumPy's block (128) and buffer (8192) sizes, magnitudes that expose the order."""
    for dtype in ("float64", "float32", "int64"):
        ks = {f: reduce_kernel(f, dtype)[0] for f in ("sum", "mean", "var", "nansum", "nanmean")}
        for n in (7, 8, 9, 127, 128, 129, 1000, 8191, 8192, 8193, 20000, 100003):
            a = (rng.standard_normal(n) * 10.0 ** rng.integers(-6, 6, n)).astype(dtype)
            for f, k in ks.items():
                for x in (a, a[::3]):
                    want = getattr(np, f)(x)
                    if NUMPY_BEFORE_2_3 and len(x) > 8192 and np.asarray(want).dtype.kind == "f":
                        # ufuncgen follows NumPy 2.3's order past the 8192-element buffer;
                        # NumPy 2.1-2.2 first differ there (n=8193), in the last bits
                        np.testing.assert_allclose(k(x), want, rtol=len(x) * np.finfo(want.dtype).eps)
                    else:
                        assert k(x) == want, (dtype, n, f, len(x))


AXIS_FNS = ["sum", "mean", "var", "std", "min", "max", "argmin", "argmax", "any", "all", "nansum", "nanmean",
            "nanmax", "prod", "count_nonzero"]


@pytest.mark.parametrize("f", AXIS_FNS)
@pytest.mark.parametrize("axis", [0, 1, None])
@N
@given(st.data())
def test_2d_reductions_match_numpy(f, axis, d):
    dtype = d.draw(st.sampled_from(["float64", "int64"]))
    shape = (d.draw(st.integers(1, 12)), d.draw(st.integers(1, 40)))
    a = d.draw(hnp.arrays(dtype, shape, elements=st.floats(-1e3, 1e3, width=64) if dtype == "float64"
                          else st.integers(-1000, 1000)))
    if d.draw(st.booleans()):
        a = np.ascontiguousarray(a.T).T  # Fortran order: NumPy sums along the contiguous axis pairwise
    rdt = result_dtype(f, dtype)
    if axis is None:
        k = gufunc(f"def k(a, out):\n    out[0] = np.{f}(a)\n", f"void({dtype}[:, :], {rdt}[:])", "(n,m)->()")
    else:
        k = gufunc(f"def k(a, out):\n    out[:] = np.{f}(a, axis={axis})\n", f"void({dtype}[:, :], {rdt}[:])",
                   "(n,m)->(n)" if axis == 1 else "(n,m)->(m)")
    want = numpy_result(lambda: np.asarray(getattr(np, f)(a, axis=axis)).astype(rdt))
    # NumPy's order for a whole non-contiguous 2-d array depends on its buffering: equal to rounding there
    exact = True
    check(ours(lambda: k(a)), want, exact=exact)


@pytest.mark.parametrize("f", ["quantile", "nanquantile", "percentile", "nanpercentile"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
@N
@given(st.data())
def test_quantiles_match_numpy(f, dtype, d):
    a = d.draw(data(dtype, max_size=60))
    top = 100.0 if "percentile" in f else 1.0
    q = d.draw(st.one_of(st.floats(0, top), st.sampled_from([0.0, top, top / 2, top * 1.5, -top])))
    rdt = np.asarray(getattr(np, f)(np.ones(3, dtype), top / 2)).dtype
    k = gufunc(f"def k(a, q, out):\n    out[0] = np.{f}(a, q)\n", f"void({dtype}[:], float64, {rdt}[:])", "(n),()->()")
    got, want = ours(lambda: k(a, q)), numpy_result(lambda: np.asarray(getattr(np, f)(a, q)).astype(rdt))
    if dtype == "float32" and NUMPY_BEFORE_2_4 and got[0] == want[0] != "raise":
        # NumPy 2.4 changed float32 interpolation; ufuncgen computes as 2.4
        # does (equal there). NumPy 2.0-2.3 give a less accurate weight: the
        # differences measured stay within n eps of the largest element
        # (1.25e-6 for n=20 near 1, 5-6 ulp near 0).
        g, w = np.asarray(got[1]), np.asarray(want[1])
        fin = np.abs(a[np.isfinite(a)])
        tol = len(a) * np.finfo(np.float32).eps * (fin.max() if fin.size else 0)
        np.testing.assert_allclose(g, w, rtol=0, atol=tol)
    else:
        check(got, want)


@N
@given(data("float64", max_size=50), data("float64", max_size=50))
def test_where_and_masks_match_numpy(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    k = gufunc("def k(a, b, out):\n    out[:] = np.where(a > 0, a, b * 2.0)\n", "void(f8[:], f8[:], f8[:])",
               "(n),(n)->(n)")
    same(k(a, b), np.where(a > 0, a, b * 2.0))
    k2 = gufunc("def k(a, out):\n    v = a[~np.isnan(a)]\n    out[0] = v.sum()\n    out[1] = len(v)\n",
                "void(f8[:], f8[:])", "(n)->(m)")
    v = a[~np.isnan(a)]
    same(k2(a, np.zeros(2)), [v.sum(), len(v)])
    k3 = gufunc("def k(a, out):\n    out[:] = np.where(np.isnan(a), 0, a)\n", "void(f8[:], f8[:])", "(n)->(n)")
    same(k3(a), np.where(np.isnan(a), 0, a))


@N
@given(data("float64", max_size=40, nan=True), st.integers(0, 2))
def test_sorting_matches_numpy(a, step):
    k = gufunc("def k(a, out):\n    out[:] = np.sort(a)\n", "void(f8[:], f8[:])", "(n)->(n)")
    same(k(a), np.sort(a))
    k = gufunc("def k(a, out):\n    out[:] = np.argsort(a)\n", "void(f8[:], i8[:])", "(n)->(n)")
    same(k(a), np.argsort(a, kind="stable"))
    k = gufunc("def k(a, out):\n    b = a.copy()\n    b.sort()\n    out[:] = b\n", "void(f8[:], f8[:])", "(n)->(n)")
    same(k(a), np.sort(a))
    k = gufunc("def k(a, out, n):\n    u = np.unique(a)\n    out[:len(u)] = u\n    n[0] = len(u)\n",
               "void(f8[:], f8[:], i8[:])", "(n)->(n),()")
    u = np.unique(a)
    got, cnt = k(a)
    assert cnt == len(u)
    same(got[: len(u)], u)
    if len(a):
        kth = step * len(a) // 3
        k = gufunc("def k(a, kth, out):\n    out[:] = np.partition(a, kth)\n", "void(f8[:], i8, f8[:])",
                   "(n),()->(n)")
        p, s = k(a, kth), np.sort(a)
        assert p[kth] == s[kth] or (np.isnan(p[kth]) and np.isnan(s[kth]))
        assert not (p[:kth] > p[kth]).any() and not (p[kth + 1:] < p[kth]).any()


@pytest.mark.parametrize("dtype", DTYPES + ["bool", "int8", "uint8", "uint16", "uint64"])
@pytest.mark.parametrize("call", AXIS_RUNNING)
@N
@given(st.data())
def test_running_along_axis_matches_numpy(call, dtype, d):
    """cumsum / cumprod along an axis and diff of 2-d arrays (empty ones, views: transposed, Fortran-ordered,
    strided, reversed): NumPy's values, dtype and shape."""
    shape = d.draw(st.tuples(st.integers(0, 7), st.integers(0, 7)))
    if dtype == "bool":
        a = d.draw(hnp.arrays(np.bool_, shape))
    else:
        a = d.draw(data(dtype, min_size=shape[0] * shape[1], max_size=shape[0] * shape[1])).reshape(shape)
    got, want = axis_running(call, d.draw(st.sampled_from(axis_views(a))))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    if want.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
@pytest.mark.parametrize("call", ["np.cumsum(a, axis=0)", "a.cumsum(axis=1)", "np.cumprod(a, axis=-1)", "np.diff(a)",
                                  "np.diff(a, 2, axis=1)", "np.diff(a, axis=-3)"])
def test_running_along_axis_of_3d_arrays(call, dtype):
    """The same along each axis of 3-d arrays (transposed and reversed strided views too)."""
    r = np.random.default_rng(4)
    for shape in [(3, 4, 5), (2, 0, 3), (1, 2, 1)]:
        a = (r.standard_normal(shape) * 3).astype(dtype)
        for x in (a, a.transpose(2, 0, 1), a[::-1, :, ::2]):
            want = eval(call, {"np": np, "a": x})
            k = gufunc(f"def k(a, out):\n    out[:, :, :] = {call}\n", f"void({dtype}[:, :, :], {want.dtype}[:, :, :])",
                       "(l,n,m)->(p,q,s)")
            got = k(x, np.zeros(want.shape, want.dtype))
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)



@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("f", ["sum", "mean", "var"])
def test_whole_reductions_of_3d_views_in_memory_order(f, dtype):
    """A 3-d array reduced whole is summed in NumPy's memory order (its axes by stride, each in index order),
    not C order: Fortran-ordered, transposed, strided and reversed views of up to 8192 values, bit for bit."""
    r = np.random.default_rng(8)
    k = gufunc(f"def k(a, out):\n    out[0] = np.{f}(a)\n", f"void({dtype}[:, :, :], {dtype}[:])", "(l,m,n)->()")
    for shape in [(3, 5, 7), (20, 30, 12), (2, 100, 40), (50, 3, 50)]:
        a = (r.standard_normal(shape) * 10.0 ** r.uniform(-3, 3, shape)).astype(dtype)
        for x in (a, np.asfortranarray(a), a.transpose(1, 2, 0), a[::2], a[:, ::-1], a[..., ::3]):
            got, want = k(x), getattr(np, f)(x)
            assert got.tobytes() == np.asarray(want, dtype).tobytes(), (shape, x.strides)


@pytest.mark.parametrize("f", ["min", "argmax", "nanmin", "nanargmin"])
def test_extremes_along_an_empty_axis_raise(f):
    """np.min(a, axis=k) with a.shape[k] == 0 raises as NumPy does, also when there are no lines (a (3, 0, 0) array)."""
    rdt = "int64" if "arg" in f else "float64"
    k = gufunc(f"def k(a, out):\n    out[:, :] = np.{f}(a, axis=1)\n", f"void(f8[:, :, :], {rdt}[:, :])", "(l,m,n)->(l,n)")
    for shape in [(3, 0, 0), (0, 0, 2), (2, 0, 3)]:
        with pytest.raises(ValueError):
            getattr(np, f)(np.ones(shape), axis=1)
        with pytest.raises(ValueError):
            k(np.ones(shape))
    same(k(np.ones((0, 2, 3))), getattr(np, f)(np.ones((0, 2, 3)), axis=1))

@N
@given(data("int64", max_size=40), data("float64", min_size=1, max_size=40))
def test_running_and_linalg_match_numpy(ai, af):
    k = gufunc("def k(a, s, p, d):\n    s[:] = np.cumsum(a)\n    p[:] = a.cumprod()\n    d[:len(a) - 1] = np.diff(a)\n",
               "void(i8[:], i8[:], i8[:], i8[:])", "(n)->(n),(n),(n)")
    s, p, d = k(ai)
    same(s, np.cumsum(ai))
    same(p, np.cumprod(ai))
    same(d[: max(len(ai) - 1, 0)], np.diff(ai))
    x = np.where(np.isfinite(af), af, 1.0)
    x = np.clip(x, -1e100, 1e100)
    k = gufunc("def k(a, out):\n    out[0] = np.dot(a, a)\n    out[1] = a @ a[::-1]\n    out[2] = np.linalg.norm(a)\n"
               "    out[3] = np.linalg.norm(a, 1)\n    out[4] = np.linalg.norm(a, np.inf)\n"
               "    out[5] = np.linalg.norm(a, -np.inf)\n", "void(f8[:], f8[:])", "(n)->(m)")
    got = k(x, np.zeros(6))
    want = [np.dot(x, x), x @ x[::-1], np.linalg.norm(x), np.linalg.norm(x, 1), np.linalg.norm(x, np.inf),
            np.linalg.norm(x, -np.inf)]
    # BLAS and we sum in different orders: they agree to rounding relative to the sum of |products|
    # (data such as [1e100, -1e100, 1, ...] cancels, and then any two orders may differ by far more than
    # rtol of the result: NumPy's BLAS gives 0.0 for a @ a[::-1] there, the exact value is 28)
    scale = np.array([np.dot(abs(x), abs(x)), abs(x) @ abs(x[::-1]), np.linalg.norm(x)])
    assert np.all(abs(got[:3] - np.array(want[:3])) <= 4e-16 * (len(x) + 2) * scale), (got[:3], want[:3])
    same(got[3:], want[3:])
    k = gufunc("def k(a, b, out):\n    out[:, :] = np.outer(a, b)\n", "void(f8[:], f8[:], f8[:, :])", "(n),(m)->(n,m)")
    same(k(x, x[:3]), np.outer(x, x[:3]))


def test_matrix_products_match_numpy(rng):
    A, B, v = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(5)
    k = gufunc("def k(a, b, out):\n    out[:, :] = a @ b\n", "void(f8[:, :], f8[:, :], f8[:, :])", "(n,k),(k,m)->(n,m)")
    same(k(A, B), A @ B, exact=False)
    k = gufunc("def k(a, v, out):\n    out[:] = np.dot(a, v)\n", "void(f8[:, :], f8[:], f8[:])", "(n,k),(j)->(n)")
    same(k(A, v), A @ v, exact=False)
    with pytest.raises(ValueError, match="not aligned"):
        k(A, v[:4])
    k = gufunc("def k(a, out):\n    out[0] = np.linalg.norm(a)\n    out[1] = np.linalg.norm(a, 1)\n"
               "    out[2] = np.linalg.norm(a, np.inf)\n    out[3] = np.linalg.norm(a, 'fro')\n",
               "void(f8[:, :], f8[:])", "(n,m)->(k)")
    got = k(A, np.zeros(4))
    same(got[[1, 2]], [np.linalg.norm(A, 1), np.linalg.norm(A, np.inf)])
    same(got[[0, 3]], [np.linalg.norm(A), np.linalg.norm(A, "fro")], exact=False)


# ord spelled in the kernel source (None: left out, as the kernel language has no None), and whether
# NumPy's arithmetic for it is ours bit for bit (the other integer ords go through power(), whose SIMD
# form in NumPy may round differently)
NORM_ORDS = [("None", True), ("2", True), ("1", True), ("0", True), ("np.inf", True), ("-np.inf", True),
             ("3", False), ("-1", False), ("-2", False)]
MATRIX = hnp.arrays("float64", st.tuples(st.integers(0, 6), st.integers(0, 40)),
                    elements=st.floats(-1e3, 1e3) | st.just(np.nan) | st.just(0.0) | st.just(-0.0))


# NumPy before 2.4 raised ValueError for the max/min norms of an empty array
# (np.max of nothing); 2.4 gives 0, and ufuncgen follows the newest NumPy.
OLD_EMPTY_NORMS = np.lib.NumpyVersion(np.__version__) < "2.4.0"


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
@N
@given(MATRIX)
def test_norm_along_an_axis_matches_numpy(axis, a):
    """linalg.norm(a, ord, axis=k) of a 2-d array: the vector norm of each line, NumPy's formula per ord."""
    assume(not (OLD_EMPTY_NORMS and a.size == 0))
    kept = "(n)" if axis in (1, -1) else "(m)"
    for ord_src, exact in NORM_ORDS:
        ord_ = eval(ord_src, {"np": np})
        spelled = "" if ord_src == "None" else ord_src + ", "
        k = gufunc(f"def k(a, out):\n    out[:] = np.linalg.norm(a, {spelled}axis={axis})\n",
                   "void(f8[:, :], f8[:])", "(n,m)->" + kept)
        check(ours(lambda: k(a)), numpy_result(lambda: np.linalg.norm(a, ord_, axis=axis)), exact)


@pytest.mark.parametrize("axes", ["(0, 1)", "(1, 0)", "(-1, -2)"])
@N
@given(MATRIX)
def test_matrix_norm_over_both_axes_matches_numpy(axes, a):
    """axis=(r, c): the matrix norm with r as the row axis; None/'fro' is NumPy's pairwise add.reduce here."""
    assume(not (OLD_EMPTY_NORMS and a.size == 0))
    for ord_src in ["None", "'fro'", "1", "-1", "np.inf", "-np.inf"]:
        ord_ = eval(ord_src, {"np": np})
        spelled = "" if ord_src == "None" else ord_src + ", "
        k = gufunc(f"def k(a, out):\n    out[0] = np.linalg.norm(a, {spelled}axis={axes})\n",
                   "void(f8[:, :], f8[:])", "(n,m)->()")
        check(ours(lambda: k(a)), numpy_result(lambda: np.linalg.norm(a, ord_, axis=eval(axes))))


def test_norm_axis_by_hand():
    a = np.array([[3.0, -4.0, 0.0], [0.0, 5.0, -12.0]])
    k = gufunc("def k(a, r, c, z):\n    r[:] = np.linalg.norm(a, axis=1)\n    c[:] = np.linalg.norm(a, 1, axis=0)\n"
               "    z[:] = np.linalg.norm(a, 0, axis=-1)\n", "void(f8[:, :], f8[:], f8[:], f8[:])",
               "(n,m)->(n),(m),(n)")
    r, c, z = k(a)
    same(r, [5.0, 13.0])
    same(c, [3.0, 9.0, 12.0])
    same(z, [2.0, 2.0])
    k = gufunc("def k(a, out):\n    out[0] = np.linalg.norm(a, 1, axis=(1, 0))\n", "void(f8[:, :], f8[:])", "(n,m)->()")
    assert k(a) == 17.0  # the max row sum: the 1-norm of the transpose


# The matrix norms of singular values (2, -2, 'nuc'): one-sided Jacobi in the
# runtime, as accurate as LAPACK's gesdd that NumPy calls: to rounding.
SVD_MATRIX = hnp.arrays("float64", st.tuples(st.integers(0, 7), st.integers(0, 7)),
                        elements=st.floats(-1e3, 1e3) | st.just(0.0) | st.just(1e-300))


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool", "complex128", "complex64"])
@N
@given(SVD_MATRIX, st.data())
def test_singular_value_norms_match_numpy(dtype, a, d):
    """np.linalg.norm(a, 2 / -2 / 'nuc'[, axis=(r, c)]) of a matrix: NumPy's singular values, to rounding."""
    assume(not (OLD_EMPTY_NORMS and a.size == 0))
    if np.dtype(dtype).kind == "c":
        a = a + 1j * d.draw(hnp.arrays("float64", a.shape, elements=st.floats(-1e3, 1e3)))
    a = a.astype(dtype)
    single = dtype in ("float32", "complex64")
    sig = f"void({np.dtype(dtype).name}[:, :], {'float32' if single else 'float64'}[:])"
    # gesdd and Jacobi agree to a few ulps of the largest singular value, not of each one; a subnormal
    # result (entries near 1e-308) has only the subnormals' absolute spacing
    tol = (1e-5 if single else 1e-13) * (float(np.abs(a).max()) * max(a.shape) if a.size else 1.0)
    tol = max(tol, 1e-40 if single else 1e-300)
    for ord_src, axes in [("2", None), ("-2", None), ("'nuc'", None), ("2", (1, 0)), ("-2", (-1, -2)),
                          ("'nuc'", (0, 1))]:
        spelled = ord_src + ("" if axes is None else f", axis={axes}")
        k = gufunc(f"def k(a, out):\n    out[0] = np.linalg.norm(a, {spelled})\n", sig, "(n,m)->()")
        got, want = ours(lambda: k(a)), numpy_result(lambda: np.linalg.norm(a, eval(ord_src), axis=axes))
        assert got[0] == want[0], (spelled, got, want)
        if got[0] == "ok":
            assert got[1].dtype == np.asarray(want[1]).dtype, (spelled, got, want)
            np.testing.assert_allclose(got[1], want[1], rtol=0, atol=tol, err_msg=spelled)


@pytest.mark.parametrize("tiny", [2.22507386e-313, 1e-300, 1e-20, 0.0])
def test_singular_value_norms_rank_deficient_tiny_entries(tiny):
    """A rank-deficient complex matrix with a subnormal entry (hypothesis's
    find): the phase that makes a column pair's inner product real is of
    unit length however small that product (it had scaled a column: the
    norms off by 3e-11), and a rotation too small to matter raises no
    overflow warning (NumPy's gesdd warns of nothing here)."""
    k = gufunc("def k(a, out):\n    out[0] = np.linalg.norm(a, 2)\n    out[1] = np.linalg.norm(a, 'nuc')\n"
               "    out[2] = np.linalg.norm(a, -2)\n", "void(c16[:, :], f8[:])", "(n,m)->(k)")
    a = np.full((3, 3), 1j)
    a[0, 0] += tiny
    a[0, 2] += 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = k(a, np.zeros(3))
    want = [np.linalg.norm(a, o) for o in (2, "nuc", -2)]
    np.testing.assert_allclose(got[:2], want[:2], rtol=2e-15)
    assert abs(got[2] - want[2]) < 1e-15 * want[0]


def test_singular_value_norms_by_hand():
    src = ("def k(a, out):\n    out[0] = np.linalg.norm(a, 2)\n    out[1] = np.linalg.norm(a, -2)\n"
           "    out[2] = np.linalg.norm(a, 'nuc')\n")
    k, kc = gufunc(src, "void(f8[:, :], f8[:])", "(n,m)->(k)"), gufunc(src, "void(c16[:, :], f8[:])", "(n,m)->(k)")
    want = [3 * 5 ** 0.5, 5 ** 0.5, 4 * 5 ** 0.5]  # [[3, 0], [4, 5]]: A^T A = [[25, 20], [20, 25]], eigenvalues 45, 5
    a = np.array([[3.0, 0.0], [4.0, 5.0]])
    np.testing.assert_allclose(k(a, np.zeros(3)), want, rtol=1e-15)
    np.testing.assert_allclose(kc(a * np.array([[1], [1j]]), np.zeros(3)), want, rtol=1e-15)  # a unitary row scaling
    np.testing.assert_allclose(k(a.T.copy(), np.zeros(3)), want, rtol=1e-15)
    np.testing.assert_allclose(k(np.array([[3.0, 4.0, 0.0], [0.0, 5.0, 0.0]]), np.zeros(3)), want, rtol=1e-15)
    big = np.array([[3e300, 0.0], [4e300, 5e300]])  # scaled first: no overflow in the squares
    np.testing.assert_allclose(k(big, np.zeros(3)), np.array(want) * 1e300, rtol=1e-15)
    # NumPy's edges: an infinity gives NaN; a NaN is LAPACK's non-convergence; no columns: 0, and -2 has no minimum
    assert np.isnan(k(np.array([[1.0, np.inf], [0.0, 1.0]]), np.zeros(3))).all()
    with pytest.raises(np.linalg.LinAlgError, match="SVD did not converge"):
        k(np.array([[1.0, np.nan], [0.0, 1.0]]), np.zeros(3))
    k2 = gufunc("def k(a, out):\n    out[0] = np.linalg.norm(a, 2)\n    out[1] = np.linalg.norm(a, 'nuc')\n",
                "void(f8[:, :], f8[:])", "(n,m)->(k)")
    same(k2(np.zeros((0, 3)), np.ones(2)), [0.0, 0.0])
    same(k2(np.zeros((3, 0)), np.ones(2)), [0.0, 0.0])
    with pytest.raises(ValueError, match="zero-size array to reduction operation minimum"):
        k(np.zeros((3, 0)), np.zeros(3))


@pytest.mark.parametrize("src, msg", [
    ("out[0] = np.linalg.norm(a, 3, axis=(0, 1))", "Invalid norm order for matrices"),
    ("out[0] = np.linalg.norm(a, axis=(1, 1))", "Duplicate axes given"),
    ("out[0] = np.linalg.norm(a, 'fro', axis=0)", "this ord of linalg.norm() is not supported"),
])
def test_unsupported_matrix_norms_are_positioned_errors(src, msg):
    with pytest.raises((TypeError, NotImplementedError, ValueError), match=re.escape(msg)) as e:
        ufuncgen.guvectorize("def k(a, out):\n    " + src + "\n", ["void(f8[:, :], f8[:])"], "(n,m)->()")
    assert "line 2" in str(e.value) and "norm" in str(e.value)


def test_lists_copies_and_unpacking():
    k = gufunc("def k(a, out):\n    lo, hi = np.array([a.min(), a.max()])\n    b = a.astype(np.int32)\n"
               "    c = a.copy()\n    c.fill(7.5)\n    out[:] = [lo, hi, b[0], c[-1]]\n",
               "void(f8[:], f8[:])", "(n)->(m)")
    same(k(np.array([2.7, -1.5, 4.25]), np.zeros(4)), [-1.5, 4.25, 2.0, 7.5])
    k = gufunc("def k(a, out):\n    x, y = a\n    out[0] = x - y\n", "void(f8[:], f8[:])", "(n)->()")
    assert k(np.array([5.0, 2.0])) == 3.0
    with pytest.raises(ValueError, match="exactly 2 elements"):
        k(np.array([1.0, 2.0, 3.0]))


def test_expressions_reduced_without_temporaries_match_python():
    src = "def k(a, out):\n    m = a.mean()\n    out[0] = np.sum((a - m) ** 2) / len(a)\n    t = a - m\n    out[1] = (t * t).mean()\n"
    k = gufunc(src, "void(f8[:], f8[:])", "(n)->(m)")
    a = np.linspace(-3, 7, 101)
    m = a.mean()
    same(k(a, np.zeros(2)), [np.sum((a - m) ** 2) / len(a), ((a - m) * (a - m)).mean()])


@pytest.mark.parametrize("f", ["nanargmin", "nanargmax"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nanarg_counts_nan_as_infinity_as_numpy(f, dtype):
    """NumPy's nanargmin replaces NaN by +inf (nanargmax by -inf) before
    argmin, so a NaN before an equal infinity is the answer; lengths around
    the 8-lane blocks and strided views."""
    k, _ = reduce_kernel(f, dtype)
    inf = np.inf if f == "nanargmin" else -np.inf
    rng = np.random.default_rng(5)
    cases = [[np.nan, inf], [inf, np.nan, inf], [1.0, np.nan, inf], [np.nan] * 9 + [inf], [np.nan] * 17 + [2.0]]
    for n in (1, 7, 8, 9, 16, 33, 100):
        x = rng.standard_normal(n)
        x[rng.random(n) < 0.4] = np.nan
        cases += [x, np.where(np.isnan(x), x, inf), np.round(x)]
    for c in cases:
        a = np.asarray(c, dtype)
        if np.isnan(a).all():
            continue
        assert k(a) == getattr(np, f)(a), a
        assert k(np.repeat(a, 3)[::3]) == getattr(np, f)(a), a


def test_empty_and_all_nan_errors_are_numpys():
    for f in ("min", "max", "argmin", "nanargmax"):
        k, _ = reduce_kernel(f, "float64")
        with pytest.raises(ValueError):
            k(np.array([], dtype=np.float64))
    k, _ = reduce_kernel("nanargmin", "float64")
    with pytest.raises(ValueError, match="All-NaN slice encountered"):
        k(np.array([np.nan, np.nan]))
    k = gufunc("def k(a, q, out):\n    out[0] = np.quantile(a, q)\n", "void(f8[:], f8, f8[:])", "(n),()->()")
    with pytest.raises(ValueError, match=r"Quantiles must be in the range \[0, 1\]"):
        k(np.ones(3), 1.5)


@pytest.mark.parametrize("src, msg", [
    ("def k(a, out):\n    out[0] = np.linalg.svd(a)\n", "np.linalg.svd is not supported in kernels"),
    ("def k(a, out):\n    out[0] = a.sum(axis=n)\n", "axis= must be an integer constant"),
    ("def k(a, out):\n    out[0] = np.sum(a, axis=3)\n", "axis 3 is out of bounds"),
    ("def k(a, out):\n    out[0] = np.sum(a, where=a)\n", "unexpected keyword argument 'where'"),
    ("def k(a, out):\n    out[0] = a.ravel()\n", "the method 'ravel' of array(float64, 1d) is not supported"),
    ("def k(a, out):\n    out[0] = np.quantile(a, [0.1, 0.2])\n", "quantile() of an array of q is not supported"),
])
def test_unsupported_forms_are_positioned_errors(src, msg):
    with pytest.raises((TypeError, NotImplementedError, ValueError, NameError), match=re.escape(msg)) as e:
        ufuncgen.guvectorize(src, ["void(f8[:], f8[:])"], "(n)->()")
    assert "line" in str(e.value)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "uint32", "uint64", "int16", "bool"])
def test_long_sorts_match_numpy(dtype, rng):
    """Long arrays take the radix path (256 elements and more): every value, NaN, inf and -0.0 in NumPy's order."""
    k = gufunc("def k(a, out):\n    out[:] = np.sort(a)\n    out.sort()\n", f"void({dtype}[:], {dtype}[:])", "(n)->(n)")
    for n in (255, 256, 1000, 4099):
        if np.dtype(dtype).kind == "f":
            a = (rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, n)).astype(dtype)
            a[::7], a[::11], a[::13], a[::17] = np.nan, -0.0, np.inf, -np.inf
        elif dtype == "bool":
            a = rng.random(n) < 0.5
        else:
            info = np.iinfo(dtype)
            a = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
        same(k(a), np.sort(a))
        same(k(a[::-3]), np.sort(a[::-3]))


SORT_DTYPES = ["float64", "float32", "int64", "int32", "uint64", "uint32"]
# lengths around the vector widths (8 and 16 lanes), the in-register network
# sizes (up to 256 and 512 elements) and past them (quicksort splits, the
# first reading the source array, later ones the scratch copy)
SORT_LENGTHS = st.integers(0, 40) | st.sampled_from([63, 64, 65, 127, 128, 129, 255, 256, 257, 300, 511, 512, 513, 700,
                                                     1000, 1025, 2049])


def sort_elements(dtype, few):
    """Any value of dtype (NaN, inf, -0.0 included), or few distinct values (many duplicates)."""
    if np.dtype(dtype).kind == "f":
        if few:
            return st.sampled_from([np.nan, -np.inf, -0.0, 0.0, 1.0, -1.5, np.inf])
        return st.floats(width=np.dtype(dtype).itemsize * 8)
    info = np.iinfo(dtype)
    if few:
        return st.sampled_from([info.min, info.max, 0, 1, 2])
    return st.integers(info.min, info.max)


@N
@given(st.sampled_from(SORT_DTYPES), st.data())
def test_sort_matches_numpy_on_every_length(dtype, d):
    """np.sort and a.sort() against NumPy: the vectorised sort's lengths, duplicates, NaN/inf/-0.0, presorted input."""
    n, few = d.draw(SORT_LENGTHS), d.draw(st.booleans())
    a = d.draw(hnp.arrays(dtype, n, elements=sort_elements(dtype, few)))
    order = d.draw(st.sampled_from(["as drawn", "sorted", "reversed"]))
    if order != "as drawn":
        a = np.sort(a) if order == "sorted" else np.sort(a)[::-1].copy()
    sig = f"void({dtype}[:], {dtype}[:])"
    k = gufunc("def k(a, out):\n    out[:] = np.sort(a)\n", sig, "(n)->(n)")
    k2 = gufunc("def k(a, out):\n    b = a.copy()\n    b.sort()\n    out[:] = b\n", sig, "(n)->(n)")
    for got in (k(a), k2(a)):
        same(got, np.sort(a))
        if np.dtype(dtype).kind == "f":  # every -0.0 kept (equal to 0.0, so same() cannot tell)
            assert np.signbit(got[got == 0]).sum() == np.signbit(a[a == 0]).sum()


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32"])
@pytest.mark.parametrize("pattern", ["equal", "two values", "sorted", "reversed", "organ pipe", "sawtooth"])
def test_long_sorts_of_patterned_input(dtype, pattern):
    """Quicksort's hard cases, long enough for many splits: every pivot a duplicate, presorted runs."""
    n = 100003
    i = np.arange(n)
    a = {"equal": np.full(n, 7), "two values": i % 2, "sorted": i, "reversed": i[::-1],
         "organ pipe": np.minimum(i, n - i), "sawtooth": i % 1000}[pattern].astype(dtype)
    k = gufunc("def k(a, out):\n    out[:] = np.sort(a)\n", f"void({dtype}[:], {dtype}[:])", "(n)->(n)")
    same(k(a), np.sort(a))


@pytest.mark.parametrize("f", ["median", "nanmedian", "quantile", "nanpercentile"])
@pytest.mark.parametrize("axis", [0, 1])
@N
@given(st.data())
def test_order_statistics_along_an_axis(f, axis, d):
    shape = (d.draw(st.integers(1, 8)), d.draw(st.integers(1, 30)))
    a = d.draw(hnp.arrays("float64", shape, elements=st.floats(-1e3, 1e3) | st.just(np.nan)))
    q = "" if "median" in f else (", 37.5" if "percentile" in f else ", 0.375")
    k = gufunc(f"def k(a, out):\n    out[:] = np.{f}(a{q}, axis={axis})\n", "void(f8[:, :], f8[:])",
               "(n,m)->(m)" if axis == 0 else "(n,m)->(n)")
    qv = () if "median" in f else ((37.5,) if "percentile" in f else (0.375,))
    check(ours(lambda: k(a)), numpy_result(lambda: getattr(np, f)(a, *qv, axis=axis)))


@N
@given(hnp.arrays("float64", st.tuples(st.integers(1, 6), st.integers(0, 40)),
                  elements=st.floats(-1e3, 1e3) | st.just(np.nan) | st.just(-0.0)))
def test_2d_sorts_sort_each_row(a):
    k = gufunc("def k(a, s, i):\n    s[:, :] = np.sort(a)\n    i[:, :] = np.argsort(a.T).T\n",
               "void(f8[:, :], f8[:, :], i8[:, :])", "(n,m)->(n,m),(n,m)")
    s, i = k(a)
    same(s, np.sort(a))
    same(i, np.argsort(a.T, kind="stable").T)


def same_parts(got, want):
    got, want = np.asarray(got), np.asarray(want)
    same(got.real, want.real)
    if np.iscomplexobj(want):
        same(got.imag, want.imag)


@pytest.mark.parametrize("dtype", ["float16", "complex64", "complex128"])
@N
@given(st.data())
def test_sorting_and_medians_of_half_and_complex(dtype, d):
    """np.sort, np.argsort (stable), np.median and np.nanmedian of float16 and complex elements give NumPy's values
    and NaN placements (each part of a complex value); bit-level checks are in test_array_functions_half.py and
    test_array_functions_complex.py."""
    el = st.floats(width=16) if dtype == "float16" else st.complex_numbers(width=np.dtype(dtype).itemsize * 8)
    a = view(d.draw(hnp.arrays(dtype, st.integers(0, 40), elements=el)), d.draw(st.sampled_from([1, 2, -1])))
    sig = f"void({dtype}[:], {dtype}[:])"
    same_parts(gufunc("def k(a, out):\n    out[:] = np.sort(a)\n", sig, "(n)->(n)")(a), np.sort(a))
    same(gufunc("def k(a, out):\n    out[:] = np.argsort(a)\n", f"void({dtype}[:], i8[:])", "(n)->(n)")(a),
         np.argsort(a, kind="stable"))
    for f in ("median", "nanmedian"):
        (gk, gv), (wk, wv) = ours(lambda: gufunc(f"def k(a, out):\n    out[0] = np.{f}(a)\n", sig, "(n)->()")(a)), \
            numpy_result(lambda: np.asarray(getattr(np, f)(a)))
        assert gk == wk == "ok"
        same_parts(gv, wv)


WARNED = [("mean", "e", "", "Mean of empty slice"), ("var", "e", "", "Degrees of freedom <= 0 for slice"),
          ("std", "one", ", ddof=1", "Degrees of freedom <= 0 for slice"), ("nanmean", "n", "", "Mean of empty slice"),
          ("nanvar", "n", "", "Degrees of freedom <= 0 for slice."), ("nanmin", "n", "", "All-NaN slice encountered"),
          ("nanmax", "n", "", "All-NaN slice encountered"), ("median", "e", "", "Mean of empty slice"),
          ("nanmedian", "n", "", "All-NaN slice encountered"), ("nanquantile", "n", ", 0.5", "All-NaN slice encountered"),
          ("nanpercentile", "e", ", 5", "Mean of empty slice")]


@pytest.mark.parametrize("f, data_, extra, msg", WARNED)
@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_numpy_runtime_warnings(f, data_, extra, msg, target):
    """NumPy's RuntimeWarning where NumPy gives one (np.nanmean of all NaN ...), the value NaN; as an error under
    warnings-as-errors; none where there is data."""
    arg = {"e": np.zeros((3, 0)), "n": np.full((3, 2), np.nan), "one": np.ones((3, 1))}[data_]
    k = ufuncgen.guvectorize(f"def k(a, out):\n    out[0] = np.{f}(a{extra})\n", ["void(f8[:], f8[:])"], "(n)->()",
                             target=target)
    with warnings.catch_warnings(record=True) as w, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        got = k(arg)
        want = [str(x.message) for x in w]
    assert np.isnan(got).all()
    assert msg in want, want
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(RuntimeWarning, match=re.escape(msg)):
            k(arg)
        k(np.ones((3, 4)))  # data: no warning


def test_sort_stored_into_a_slice_in_place_and_not():
    """out[...] = np.sort(x) sorts in out itself where out is contiguous: the
    same results as the sorted copy, also when x overlaps out or out is a
    strided or reversed view."""
    src = {
        "plain": "def k(a, out):\n    out[:] = np.sort(a)\n",
        "shifted": "def k(a, out):\n    out[:] = a\n    out[1:] = np.sort(out[:-1])\n",
        "strided": "def k(a, out):\n    out[:] = 0.0\n    out[::2] = np.sort(a[:(a.shape[0] + 1) // 2])\n",
        "itself": "def k(a, out):\n    out[:] = a\n    out[:] = np.sort(out)\n",
        "reversed": "def k(a, out):\n    out[::-1] = np.sort(a)\n",
        "expression": "def k(a, out):\n    out[:] = np.sort(a * -2.0)\n",
        "named view": "def k(a, out):\n    b = a[::-1]\n    out[:] = np.sort(b)\n",
        "broadcast": "def k(a, out):\n    b = a[:1]\n    out[:] = np.sort(b)\n",
    }
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 33))
    x[x > 1.2] = np.nan
    x[:, 3] = -0.0
    half = np.sort(x[:, :17], -1)
    want = {
        "plain": np.sort(x, -1),
        "shifted": np.concatenate([x[:, :1], np.sort(x[:, :-1], -1)], 1),
        "strided": np.zeros_like(x),
        "itself": np.sort(x, -1),
        "reversed": np.sort(x, -1)[:, ::-1],
        "expression": np.sort(x * -2.0, -1),
        "named view": np.sort(x, -1),
        "broadcast": np.repeat(x[:, :1], x.shape[1], 1),
    }
    want["strided"][:, ::2] = half
    for name, text in src.items():
        f = ufuncgen.guvectorize(text, ["void(float64[:], float64[:])"], "(n)->(n)")
        got = f(x)
        assert got.tobytes() == np.ascontiguousarray(want[name]).tobytes(), name
        out = np.zeros((40, 66))
        f(x[:, ::-1].copy()[:, ::-1], out=out[:, ::2])  # a strided output
        assert out[:, ::2].tobytes() == np.ascontiguousarray(want[name]).tobytes(), name
