"""Differential tests: random expression kernels against NumPy.

Each example draws an expression over x and y, compiles it with ufuncgen,
and evaluates the *same text* with NumPy arrays (np.* names, Python
literals as NEP 50 weak scalars). Arithmetic must match bit for bit;
transcendental functions within 4 ulp.

Each example compiles one kernel (~50 ms), so the budgets are per test and
dtype: HYPOTHESIS_PROFILE=default 100 (~1 min for the file), ci 500 (4000
cases, ~4 min), long 5000 (a run for the night). Set in conftest.py.
"""
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import ufuncgen  # noqa: E402
from kernelgen import expressions  # noqa: E402  (the generator shared with test_kernelgen.py)

FLOAT_BIN = ["+", "-", "*", "/"]
INT_BIN = ["+", "-", "*", "//", "%", "&", "|", "^"]
TRANSCENDENTAL = ["np.exp", "np.log", "np.sin", "np.cos", "np.tanh", "np.arctan", "np.log1p", "np.expm1",
                  "np.sqrt", "np.cbrt", "np.exp2", "np.log2", "np.log10", "np.sinh", "np.arcsinh"]


FLOAT_EXPR = expressions(["1.5", "2.0", "0.25", "3"], FLOAT_BIN, ["-", "np.abs", "np.floor", "np.fabs"], 6)
INT_EXPR = expressions(["3", "7", "1"], INT_BIN, ["-", "~", "np.abs"], 6)
SIG = {np.float64: "f8(f8,f8)", np.float32: "f4(f4,f4)"}


def float_arrays(dtype):
    return hnp.arrays(dtype, st.integers(0, 40),
                      elements=st.floats(-1e6, 1e6, width=np.dtype(dtype).itemsize * 8) | st.sampled_from(
                          [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300 if dtype == np.float64 else 1e-30]))


def _compile(expr, sigs):
    return ufuncgen.vectorize(f"def k(x, y):\n    return {expr}\n", sigs)


def _numpy(expr, x, y):
    with np.errstate(all="ignore"):
        return eval(expr, {"np": np, "x": x, "y": y})  # noqa: S307 - our own generated text


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=st.data())
def test_float_arithmetic_bit_exact(dtype, data):
    expr = data.draw(FLOAT_EXPR)
    x = data.draw(float_arrays(dtype))
    y = data.draw(hnp.arrays(dtype, x.shape, elements=st.floats(-1e3, 1e3, width=np.dtype(dtype).itemsize * 8)))
    want = np.asarray(_numpy(expr, x, y))
    f = _compile(expr, [SIG[dtype]])
    with np.errstate(all="ignore"):
        got = f(x, y)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.broadcast_to(want, x.shape).astype(got.dtype), err_msg=expr)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int16])
@given(data=st.data())
def test_integer_arithmetic_bit_exact(dtype, data):
    expr = data.draw(INT_EXPR)
    x = data.draw(hnp.arrays(dtype, st.integers(0, 40)))
    y = data.draw(hnp.arrays(dtype, x.shape))
    want = np.broadcast_to(np.asarray(_numpy(expr, x, y)), x.shape)
    f = ufuncgen.vectorize(f"def k(x, y):\n    return {expr}\n")  # lazy: exactly the input dtypes
    with np.errstate(all="ignore"):
        got = f(x, y)
    assert got.dtype == want.dtype, expr
    np.testing.assert_array_equal(got, want, err_msg=expr)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=st.data())
def test_transcendental_within_4_ulp(dtype, data):
    fn = data.draw(st.sampled_from(TRANSCENDENTAL))
    inner = data.draw(expressions(["0.5", "2"], ["+", "-", "*"], ["-"], 3))
    expr = f"{fn}({inner})"
    x = data.draw(hnp.arrays(dtype, st.integers(0, 40), elements=st.floats(-20, 20, width=np.dtype(dtype).itemsize * 8)))
    y = data.draw(hnp.arrays(dtype, x.shape, elements=st.floats(-20, 20, width=np.dtype(dtype).itemsize * 8)))
    want = np.broadcast_to(np.asarray(_numpy(expr, x, y)), x.shape).astype(dtype)
    f = _compile(expr, [SIG[dtype]])
    with np.errstate(all="ignore"):
        got = f(x, y)
    assert got.dtype == dtype
    same_special = (np.isnan(got) & np.isnan(want)) | (got == want)
    close = np.abs(got.astype(np.float64) - want) <= 4 * np.spacing(np.abs(want))
    assert np.all(same_special | close), (expr, x[~(same_special | close)], got[~(same_special | close)],
                                          want[~(same_special | close)])


REDUCERS = {"+": np.add, "*": np.multiply, "^": np.bitwise_xor, "|": np.bitwise_or, "&": np.bitwise_and}


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
@given(data=st.data())
def test_gufunc_integer_reductions_exact(dtype, data):
    """(n),(n)->() kernels folding an elementwise expression of a[i], b[i];
    integer folds are exact in any order, so np.<op>.reduce is the oracle."""
    op = data.draw(st.sampled_from(sorted(REDUCERS)))
    expr = data.draw(INT_EXPR).replace("x", "a[i]").replace("y", "b[i]")
    ones = str(np.array(-1).astype(dtype).item())  # all bits set; -1 is out of range for unsigned (NEP 50)
    init = {"+": "0", "*": "1", "^": "0", "|": "0", "&": ones}[op]
    src = (f"def fold(a, b, out):\n    acc = out[0] * 0 + {init}\n    for i in range(a.shape[0]):\n"
           f"        acc = acc {op} {expr}\n    out[0] = acc\n")
    n = data.draw(st.integers(0, 12))
    a = data.draw(hnp.arrays(dtype, (3, n)))
    b = data.draw(hnp.arrays(dtype, (3, n)))
    f = ufuncgen.guvectorize(src, None, "(n),(n)->()")  # lazy: the output takes the inputs' dtype
    with np.errstate(all="ignore"):
        elem = np.asarray(_numpy(expr.replace("a[i]", "x").replace("b[i]", "y"), a, b)).astype(dtype)
        want = REDUCERS[op].reduce(np.broadcast_to(elem, a.shape), axis=-1, dtype=dtype)
        if n == 0 and op == "&":
            want = np.full(3, -1).astype(dtype)
        got = f(a, b)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, want, err_msg=src)


# ---------------------------------------------------------------- strides and broadcasting

@st.composite
def _view(draw, dtype, shape, elements):
    """An array of `shape` that is a strided view: each axis stepped by
    1, 2, -1 or -3 over a larger buffer, and the axes permuted (transposed)."""
    nd = len(shape)
    steps = [draw(st.sampled_from([1, 2, -1, -3])) for _ in range(nd)]
    perm = list(draw(st.permutations(range(nd)))) if nd > 1 else list(range(nd))
    base_shape = tuple(shape[perm[i]] * abs(steps[i]) for i in range(nd))
    base = draw(hnp.arrays(dtype, base_shape, elements=elements))
    v = base[tuple(slice(None, None, s) for s in steps)]
    v = v.transpose(np.argsort(perm))
    assert v.shape == tuple(shape)
    return v


@st.composite
def _broadcast_pair(draw, dtype, elements):
    """x and y of shapes that broadcast against each other (y may have fewer
    dims and size-1 axes), each possibly a strided/transposed view."""
    shape = draw(st.lists(st.integers(0, 5), min_size=1, max_size=3))
    k = draw(st.integers(0, len(shape)))  # y keeps the trailing k axes
    yshape = [1 if draw(st.booleans()) else n for n in shape[len(shape) - k:]]
    if draw(st.booleans()):
        shape, yshape = yshape, shape  # either side may be the smaller one
    x = draw(_view(dtype, shape, elements))
    y = draw(_view(dtype, yshape, elements))
    return x, y


def _check_strided(f, expr, x, y, dtype):
    want = np.broadcast_to(np.asarray(_numpy(expr, x, y)), np.broadcast_shapes(x.shape, y.shape))
    with np.errstate(all="ignore"):
        got = f(x, y)
        out = np.full(want.shape[::-1], 77, dtype=dtype).T  # a Fortran-ordered out= as well
        f(x, y, out=out)
    np.testing.assert_array_equal(got, want.astype(dtype), err_msg=expr)
    np.testing.assert_array_equal(out, want.astype(dtype), err_msg=expr)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=st.data())
def test_float_strided_broadcast_bit_exact(dtype, data):
    """Random expressions on strided, reversed, transposed and broadcast operands."""
    expr = data.draw(FLOAT_EXPR)
    x, y = data.draw(_broadcast_pair(dtype, st.floats(-1e3, 1e3, width=np.dtype(dtype).itemsize * 8)))
    _check_strided(_compile(expr, [SIG[dtype]]), expr, x, y, dtype)


@given(data=st.data())
def test_integer_strided_broadcast_bit_exact(data):
    expr = data.draw(INT_EXPR)
    x, y = data.draw(_broadcast_pair(np.int32, None))
    _check_strided(ufuncgen.vectorize(f"def k(x, y):\n    return {expr}\n", ["i4(i4,i4)"]), expr, x, y, np.int32)


# ---------------------------------------------------------------- running values (split loops)

# A running value s and an expensive store of it: the loops ufuncgen splits
# in two (the store's division / sqrt then runs as a second, vectorised
# loop) when out is contiguous and apart from a, and runs as written when
# not (strided, transposed, wrapping indices). The kernel text runs as
# Python too (np.float64 scalars: the same IEEE operations), row by row,
# which is the oracle: bit for bit.
SCAN_LOOPS = [  # (range, update of s, index of out)
    ("range(w, a.shape[0])", "s += a[i] - a[i - w]", "i"),
    ("range(a.shape[0])", "s = s * 0.5 + a[i]", "i"),
    ("range(-w, a.shape[0] - w)", "s = s * 0.5 + a[i + w]", "i"),  # out[-w..-1] wrap to the end
    ("range(1, a.shape[0] + 1)", "s = s * 0.75 - a[i - 1]", "i - 1"),
]
SCAN_STORES = ["s / (i + 1)", "s / 3.0", "np.sqrt(s * s + 1.0)", "(s + 1.5) / (s * s + 2.0)", "s * 0.5"]
# ... and random ones: FLOAT_EXPR over s and the loop variable (x -> s, y -> i * 0.5)
SCAN_EXPR = expressions(["1.5", "2.0", "0.25", "3"], FLOAT_BIN, ["-", "np.abs", "np.sqrt", "np.floor"], 6)


def _int64_range(*args):
    """range as the kernel runs it: int64 loop variables (so i * 0.5 is a float64, not a Python float)."""
    return (np.int64(v) for v in range(*args))


@given(data=st.data())
def test_running_value_stores_bit_exact(data):
    rng, step, idx = data.draw(st.sampled_from(SCAN_LOOPS))
    store = data.draw(st.one_of(st.sampled_from(SCAN_STORES),
                                SCAN_EXPR.map(lambda e: e.replace("x", "s").replace("y", "(i * 0.5)"))))
    src = (f"def k(a, w, out):\n    s = 0.0\n    for i in {rng}:\n        {step}\n"
           f"        out[{idx}] = {store}\n")
    rows, n = data.draw(st.integers(1, 4)), data.draw(st.integers(0, 40))
    w = data.draw(st.integers(0, n // 2))
    a = data.draw(hnp.arrays(np.float64, (rows, n), elements=st.floats(-1e3, 1e3)))
    f = ufuncgen.guvectorize(src, ["void(f8[:], i8, f8[:])"], "(n),()->(n)")
    g = {"np": np, "range": _int64_range}
    exec(src, g)
    want, want_in_place = np.full_like(a, 77.0), a.copy()
    with np.errstate(all="ignore"):
        for r in range(rows):
            g["k"](a[r], w, want[r])
            g["k"](want_in_place[r], w, want_in_place[r])
        outs = [np.full_like(a, 77.0), np.full((rows, 2 * n), 77.0)[:, ::2], np.full((n, rows), 77.0).T]
        for out in outs:  # contiguous, strided, transposed
            f(a, w, out=out)
            np.testing.assert_array_equal(out, want, err_msg=src)
        b = a.copy()
        f(b, w, out=b)  # in place (NumPy passes the same memory): reads see earlier stores
        np.testing.assert_array_equal(b, want_in_place, err_msg=src)
