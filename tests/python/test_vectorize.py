"""vectorize: real numpy.ufunc objects computing what NumPy computes."""
import numpy as np
import pytest

import ufuncgen


@ufuncgen.vectorize(["float64(float64, float64)", "float32(float32, float32)", "int64(int64, int64)"])
def axpy(x, y):
    return 2 * x + y


def test_is_a_numpy_ufunc():
    assert isinstance(axpy, np.ufunc)
    assert axpy.__name__ == "axpy"
    assert (axpy.nin, axpy.nout, axpy.nargs) == (2, 1, 3)
    assert axpy.signature is None
    assert ufuncgen.is_ufuncgen(axpy)
    assert not ufuncgen.is_ufuncgen(np.add)


def test_types_list_signature_order():
    assert axpy.types == ["dd->d", "ff->f", "ll->l"]
    assert axpy.ntypes == 3
    assert ufuncgen.loops(axpy) == [("float64",) * 3, ("float32",) * 3, ("int64",) * 3]


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_each_loop_matches_numpy(dtype, rng):
    x = (rng.standard_normal(1001) * 100).astype(dtype)
    y = (rng.standard_normal(1001) * 100).astype(dtype)
    r = axpy(x, y)
    assert r.dtype == dtype
    np.testing.assert_array_equal(r, (dtype(2) * x + y).astype(dtype))


def test_broadcasting_and_strides(rng):
    x = rng.standard_normal((4, 1, 5))
    y = rng.standard_normal((3, 1))
    np.testing.assert_array_equal(axpy(x, y), 2 * x + y)
    big = rng.standard_normal((20, 30))
    v = big[::3, ::-2]          # (7, 15), negative and non-unit strides
    w = big[:15, :7].T          # (7, 15), transposed
    np.testing.assert_array_equal(axpy(v, w), 2 * v + w)


def test_python_scalars_are_weak():
    # NEP 50: a Python scalar takes the array's dtype.
    x32 = np.arange(5, dtype=np.float32)
    assert axpy(x32, 1.5).dtype == np.float32
    np.testing.assert_array_equal(axpy(x32, 1.5), 2 * x32 + np.float32(1.5))
    assert axpy(np.arange(5), 3).dtype == np.int64
    assert axpy(2.0, 3.0) == 7.0
    assert isinstance(axpy(2.0, 3.0), np.float64)


def test_weak_int_literals_follow_nep50():
    # Comparisons with a Python int are exact, also outside the dtype's range;
    # arithmetic with an out-of-range literal is an error (NumPy: OverflowError);
    # a returned literal is cast like astype(unsafe).
    x = np.array([0, 1, 127, 200, 255], dtype=np.uint8)
    lt = ufuncgen.vectorize("def f(x):\n    return x < 1000\n", ["b1(u1)"])
    gt = ufuncgen.vectorize("def f(x):\n    return x > -1\n", ["b1(u1)"])
    np.testing.assert_array_equal(lt(x), x < 1000)
    np.testing.assert_array_equal(gt(x), x > -1)
    assert lt(x).all() and gt(x).all()
    i8 = np.array([-128, -1, 0, 127], dtype=np.int8)
    ge = ufuncgen.vectorize("def f(x):\n    return x >= -200\n", ["b1(i1)"])
    np.testing.assert_array_equal(ge(i8), i8 >= -200)
    big = np.array([0, 2**63 - 1, -2**63], dtype=np.int64)
    huge = ufuncgen.vectorize("def f(x):\n    return x < 18446744073709551615\n", ["b1(i8)"])
    np.testing.assert_array_equal(huge(big), [True, True, True])
    with pytest.raises(TypeError, match="out of range for uint8"):
        ufuncgen.vectorize("def f(x):\n    return x + 300\n", ["u1(u1)"])
    with pytest.raises(OverflowError):
        np.uint8(1) + 300  # the behaviour mirrored above
    ret = ufuncgen.vectorize("def f(x):\n    return 300\n", ["u1(u1)"])
    np.testing.assert_array_equal(ret(x), np.full(5, 300).astype(np.uint8))


def test_safe_casting_picks_first_fitting_loop():
    # int32 inputs: no exact loop; int32 -> float64 is safe and float64 comes first.
    x = np.arange(4, dtype=np.int32)
    r = axpy(x, x)
    assert r.dtype == np.float64
    np.testing.assert_array_equal(r, 3.0 * x)
    # float16 -> float32 is safe, float32 loop is before int64 but after float64
    h = np.ones(3, dtype=np.float16)
    assert axpy(h, h).dtype == np.float64


def test_no_loop_is_type_error():
    @ufuncgen.vectorize(["int32(int32)"])
    def inc(x):
        return x + 1

    with pytest.raises(TypeError):
        inc(np.ones(3))  # float64 -> int32 is not safe
    with pytest.raises(TypeError):
        inc(np.array(["a"]))


def test_out_and_where():
    x = np.arange(6.0)
    out = np.full(6, -1.0)
    r = axpy(x, 1.0, out=out, where=x > 2)
    assert r is out
    np.testing.assert_array_equal(out, np.where(x > 2, 2 * x + 1, -1.0))
    out2 = np.zeros((2, 6))
    axpy(x, x, out=(out2[1],))
    np.testing.assert_array_equal(out2, [np.zeros(6), 3 * x])


def test_casting_and_dtype_arguments():
    x = np.arange(5.0)
    r = axpy(x, x, dtype=np.float32)
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r, (3 * x).astype(np.float32))
    out = np.zeros(5, dtype=np.int64)
    with pytest.raises(TypeError):  # float64 result into int64 out: not same_kind
        axpy(x, x, out=out)
    axpy(x, x, out=out, casting="unsafe")
    np.testing.assert_array_equal(out, 3 * np.arange(5))
    with pytest.raises(TypeError):
        axpy(np.arange(3), np.arange(3), dtype=np.int8)  # no int8 loop


def test_signature_spellings():
    sigs = {"f8(f8)": np.float64, "float32(float32)": np.float32, "d->d": np.float64, "f4->f4": np.float32,
            "float64->float64": np.float64, "f->f": np.float32, "int16(int16)": np.int16, "u1->u1": np.uint8}
    for s, dt in sigs.items():
        f = ufuncgen.vectorize([s])("def neg(x):\n    return -x\n")
        x = np.arange(3, dtype=dt)
        assert f(x).dtype == dt
        np.testing.assert_array_equal(f(x), -x)


def test_source_string_forms():
    src = """
        def cube(x):
            return x * x * x
    """
    a = ufuncgen.vectorize(["f8(f8)"])(src)
    b = ufuncgen.vectorize(src, ["f8(f8)"])
    c = ufuncgen.vectorize("lambda x: x * x * x", "f8(f8)")
    x = np.linspace(-2, 2, 9)
    for f in (a, b, c):
        assert isinstance(f, np.ufunc)
        np.testing.assert_array_equal(f(x), x * x * x)
    assert a.__name__ == "cube"


def test_name_and_doc():
    @ufuncgen.vectorize(["f8(f8)"], name="my_square")
    def sq(x):
        """Square of x."""
        return x * x

    assert sq.__name__ == "my_square"
    assert "Square of x." in sq.__doc__
    assert repr(sq) == "<ufunc 'my_square'>"


def test_lambda_function_object():
    f = ufuncgen.vectorize(["f8(f8)"])(lambda x: x * 3 - 1)
    np.testing.assert_array_equal(f(np.arange(4.0)), np.arange(4.0) * 3 - 1)


def test_helper_functions_in_source():
    src = """
def helper(a):
    return a * a

def kern(x, y):
    return helper(x) + helper(y)
"""
    f = ufuncgen.vectorize(src, ["f8(f8,f8)"])
    np.testing.assert_array_equal(f(np.arange(3.0), 2.0), np.arange(3.0) ** 2 + 4)
    g = ufuncgen.vectorize(src, ["f8(f8)"], kernel="helper")
    np.testing.assert_array_equal(g(np.arange(3.0)), np.arange(3.0) ** 2)


def test_zero_size_and_0d():
    np.testing.assert_array_equal(axpy(np.zeros(0), np.zeros(0)), np.zeros(0))
    assert axpy(np.zeros((0, 3)), 1.0).shape == (0, 3)
    r = axpy(np.float64(1.5), np.float64(2))
    assert r == 5.0 and np.ndim(r) == 0


def test_parallel_target_matches_serial(rng):
    src = "def f(x, y):\n    return sqrt(x * x + y * y) + sin(x)\n"
    serial = ufuncgen.vectorize(src, ["f8(f8,f8)"])
    par = ufuncgen.vectorize(src, ["f8(f8,f8)"], target="parallel")
    x = rng.standard_normal(200_000)
    y = rng.standard_normal(200_000)
    np.testing.assert_array_equal(par(x, y), serial(x, y))
    # sin within 4 ulp of NumPy's; the sum cancels where x < 0 and |y| is
    # small, so the bound is in ulps of the terms, not of the result
    want = np.sqrt(x * x + y * y) + np.sin(x)
    scale = np.sqrt(x * x + y * y) + np.abs(np.sin(x))
    assert np.all(np.abs(serial(x, y) - want) <= 4 * np.spacing(scale))


def test_array_ufunc_dispatch_reaches_overrides():
    class Wrapped:
        def __init__(self, a):
            self.a = a

        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            inputs = [i.a if isinstance(i, Wrapped) else i for i in inputs]
            return ("wrapped", ufunc, method, getattr(ufunc, method)(*inputs, **kwargs))

    tag, uf, method, value = axpy(Wrapped(np.arange(3.0)), 1.0)
    assert (tag, uf, method) == ("wrapped", axpy, "__call__")
    np.testing.assert_array_equal(value, 2 * np.arange(3.0) + 1)


def test_lazy_first_call_with_dtype_and_signature():
    src = "def twice(x):\n    return x * 2\n"
    f = ufuncgen.vectorize(src)
    r = f(np.arange(3.0), dtype=np.float64)
    assert r.dtype == np.float64 and f.types == ["d->d"]
    g = ufuncgen.vectorize(src)
    r = g(np.arange(3, dtype=np.int32), signature=("i", "i"))
    assert r.dtype == np.int32 and g.types == ["i->i"]
    np.testing.assert_array_equal(r, [0, 2, 4])
    h = ufuncgen.vectorize(src)
    r = h(np.arange(3, dtype=np.int32), dtype=np.float32)  # inputs cast to the requested output type
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r, [0.0, 2.0, 4.0])


def test_unsupported_dtypes_are_type_errors():
    f = ufuncgen.vectorize("def twice(x):\n    return x * 2\n")
    for bad in (np.arange(3, dtype=np.longdouble), np.array(["a"]), np.array([1], dtype=object),
                np.array(["2020-01-01"], dtype="M8[s]"), np.arange(3, dtype=np.clongdouble)):
        with pytest.raises(TypeError):
            f(bad)
    np.testing.assert_array_equal(f(np.arange(3) + 1j), (np.arange(3) + 1j) * 2)  # complex is supported


def test_set_num_threads_keeps_results(rng):
    f = ufuncgen.vectorize("def f(x):\n    return x * x + 1.0\n", ["f8(f8)"], target="parallel")
    x = rng.standard_normal(300_000)
    want = x * x + 1.0
    try:
        # Numba's rule: 1 to the maximum (the CPU count unless UFUNCGEN_NUM_THREADS says more)
        for n in range(1, min(3, ufuncgen._max_threads()) + 1):
            ufuncgen.set_num_threads(n)
            np.testing.assert_array_equal(f(x), want)
    finally:
        ufuncgen.set_num_threads(0)
    with pytest.raises(ValueError):
        ufuncgen.set_num_threads(-1)
    g = ufuncgen.vectorize("def f(x):\n    return x * x + 1.0\n", ["f8(f8)"], target="parallel", num_threads=2)
    np.testing.assert_array_equal(g(x), want)



_TIE_RULES = {  # (a, b) -> result when neither is NaN, or NaN handling
    "fmax": lambda a, b: a if np.isnan(b) or a >= b else b,
    "fmin": lambda a, b: a if np.isnan(b) or a <= b else b,
    "maximum": lambda a, b: a if np.isnan(a) or a > b else b,
    "minimum": lambda a, b: a if np.isnan(a) or a < b else b,
}


@pytest.mark.parametrize("name", sorted(_TIE_RULES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_minmax_signed_zeros_and_nans(name, dtype):
    """fmax/fmin: the first argument wins a 0.0/-0.0 tie (NumPy's documented
    where(a >= b, a, b), its float64 scalar loop, Numba), so fmax(0.0, -0.0)
    is 0.0; maximum/minimum the second (every NumPy loop). One sign on every
    path: vector body, remainder, strided, broadcast, 0-d."""
    t = dtype.__name__
    f = ufuncgen.vectorize(f"def f(a, b):\n    return np.{name}(a, b)\n", [f"{t}({t}, {t})"])
    vals = [0.0, -0.0, np.nan, 1.0, -1.0]
    for x in vals:
        for y in vals:
            want = dtype(_TIE_RULES[name](dtype(x), dtype(y)))
            a, b = np.full(67, x, dtype), np.full(67, y, dtype)
            for got in (f(a, b), f(a[::3], b[::3]), f(a, dtype(y)), np.atleast_1d(f(dtype(x), dtype(y)))):
                np.testing.assert_array_equal(got, want, err_msg=f"{name}({x}, {y})")
                assert (np.signbit(got) == np.signbit(want)).all(), f"{name}({x}, {y}): {got[0]} want {want}"
    if name in ("fmax", "fmin"):  # Numba agrees bit for bit
        numba = pytest.importorskip("numba")
        nb = numba.vectorize([f"{t}({t}, {t})"])(eval(f"lambda a, b: np.{name}(a, b)", {"np": np}))
        a = np.repeat(np.array(vals, dtype), 5 * 37)
        b = np.tile(np.repeat(np.array(vals, dtype), 37), 5)
        with np.errstate(invalid="ignore"):  # Numba's loop raises invalid for NaN comparisons
            want = nb(a, b)
        np.testing.assert_array_equal(f(a, b).view(f"u{a.itemsize}"), want.view(f"u{a.itemsize}"))


def test_dump_variable_lists_whole_words(tmp_path):
    """UFUNCGEN_DUMP is a list of whole words, read by one reader: 'fastmath'
    is no dump word (it printed the AST when 'ast' was matched as a substring)."""
    import os
    import subprocess
    import sys
    script = tmp_path / "dumpme.py"
    script.write_text("import ufuncgen\n"
            "@ufuncgen.vectorize(['f8(f8)'])\n"
            "def f(x):\n"
            "    return x + 1.0\n"
            "print(f(1.0))\n")
    for value, dumps in (("fastmath", False), ("ast", True), ("fastmath,types", True), ("asts", False)):
        r = subprocess.run([sys.executable, str(script)], env={**os.environ, "UFUNCGEN_DUMP": value},
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "2.0"
        assert bool(r.stderr.strip()) == dumps, (value, r.stderr[:300])


def test_lazy_defers_typing_and_compiling_to_the_first_call():
    """lazy=True: the signatures are parsed, nothing is typed or compiled
    until a loop's first use; its errors come then, positioned, each call."""
    bad = "def k(x):\n    return x.nope\n"
    uf = ufuncgen.vectorize(bad, ["f8(f8)", "f4(f4)"], lazy=True)
    assert uf.types == ["d->d", "f->f"]  # NumPy's loop order is the signatures' order
    for _ in range(2):
        with pytest.raises(TypeError, match=r"kernel 'k', line 2"):
            uf(np.ones(3))
    with pytest.raises(TypeError, match=r"kernel 'k', line 2"):
        ufuncgen.vectorize(bad, ["f8(f8)"], lazy=False)
    good = ufuncgen.vectorize("def g(x):\n    return x * 2.0 + 1.0\n", ["f8(f8)", "f4(f4)"], lazy=True)
    np.testing.assert_array_equal(good(np.arange(4.0)), np.arange(4.0) * 2 + 1)
    assert good(np.float32(1.5)).dtype == np.float32
    with pytest.raises(TypeError, match="lazy"):
        ufuncgen.vectorize("def g(x):\n    return x\n", ["f8(f8)"], lazy="yes")


def test_background_compiles_give_the_same_results_from_racing_threads():
    """The default (background=True) returns before the loops exist; calls
    from several threads right away each wait for their loop."""
    import threading
    src = "def p(x):\n    return ((x * 0.5 - 1.25) * x + 3.0) * x - exp(-x * x)\n"
    x = np.linspace(-3, 3, 1001)
    want = ((x * 0.5 - 1.25) * x + 3.0) * x - np.exp(-x * x)
    for rep in range(5):
        uf = ufuncgen.vectorize(src.replace("def p", f"def p{rep}"), ["f8(f8)", "f4(f4)", "i8(i8)", "i4(i4)"])
        out = [None] * 4

        def go(i):
            out[i] = uf(x)

        ts = [threading.Thread(target=go, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for o in out:
            np.testing.assert_allclose(o, want, rtol=1e-13, atol=1e-13)
    with pytest.raises(TypeError, match="background"):
        ufuncgen.vectorize(src, ["f8(f8)"], background=1)
