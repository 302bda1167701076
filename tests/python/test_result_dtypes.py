"""Lazy ufuncs give NumPy's result dtypes: for each new combination of input
dtypes, type inference over the kernel (NumPy 2's promotion, NEP 50 weak
literals, NumPy's loop choice for bools and for math functions of small
integers) yields the dtype NumPy's ufunc of the same operation gives, and
the values NumPy gives."""
import itertools

import numpy as np
import pytest

import ufuncgen

DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64, np.uint64, np.float16, np.float32,
          np.float64, np.complex64, np.complex128]
BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "//": np.floor_divide,
          "%": np.remainder, "**": np.power, "&": np.bitwise_and, "|": np.bitwise_or}
VALUES = [0, 1, 2, 3, 5, 7]


def _numpy(fn, *args):
    with np.errstate(all="ignore"):
        try:
            return fn(*args)
        except TypeError:
            return None  # NumPy has no loop (bool - bool, complex // x, float & x)


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_operators_give_numpys_dtype(op):
    f = ufuncgen.vectorize(f"lambda x, y: x {op} y")
    for a, b in itertools.product(DTYPES, repeat=2):
        x, y = np.array(VALUES).astype(a), np.array(VALUES[::-1]).astype(b)
        want = _numpy(BINARY[op], x, y)
        if want is None or (a == np.bool_ and b == np.bool_ and op == "-"):
            continue  # kernels refuse these or (bool - bool) compute in int64
        with np.errstate(all="ignore"):
            try:
                got = f(x, y)
            except TypeError as e:  # the kernel language refuses it too (complex //, float &)
                assert "cannot" in str(e), (op, a, b, e)
                continue
        assert got.dtype == want.dtype, (op, a.__name__, b.__name__, got.dtype, want.dtype)
        if want.dtype.kind in "biu" or op in "+-*":
            np.testing.assert_array_equal(got, want, err_msg=f"{a.__name__} {op} {b.__name__}")


def test_bool_arithmetic_is_numpys():
    t, f_ = np.array([True, True, False, False]), np.array([True, False, True, False])
    add, mul = ufuncgen.vectorize("lambda x, y: x + y"), ufuncgen.vectorize("lambda x, y: x * y")
    assert add(t, f_).dtype == np.bool_ and list(add(t, f_)) == [True, True, True, False]  # logical or
    assert mul(t, f_).dtype == np.bool_ and list(mul(t, f_)) == [True, False, False, False]  # logical and
    assert ufuncgen.vectorize("lambda x, y: x + y + 1")(t, f_).dtype == np.int64  # a Python int: NumPy's int64


@pytest.mark.parametrize("fn", ["exp", "sqrt", "sin", "log1p", "arctan", "fabs", "rint", "floor", "ceil", "trunc",
                                "abs", "negative"])
def test_functions_of_small_integers_give_numpys_dtype(fn):
    expr = "-x" if fn == "negative" else f"np.{fn}(x)"
    f = ufuncgen.vectorize(f"def k(x):\n    return {expr}\n")
    for t in DTYPES[:-2]:
        x = np.array(VALUES).astype(t)
        want = _numpy(getattr(np, fn), x)
        if want is None:
            continue  # np.negative(bool)
        got = f(x)
        assert got.dtype == want.dtype, (fn, t.__name__, got.dtype, want.dtype)
        if fn in ("exp", "sin", "log1p", "arctan"):  # libmvec against NumPy's: a few ulps
            np.testing.assert_allclose(got, want, rtol=4 * np.finfo(want.dtype).eps, err_msg=f"{fn}({t.__name__})")
        else:
            np.testing.assert_array_equal(got, want, err_msg=f"{fn}({t.__name__})")


def test_weak_literals_keep_the_array_dtype():
    f = ufuncgen.vectorize("lambda x: x * 2 + 0.5")
    for t, want in [(np.float16, np.float16), (np.float32, np.float32), (np.int8, np.float64),
                    (np.complex64, np.complex64)]:
        assert f(np.ones(3, t)).dtype == want, t
    g = ufuncgen.vectorize("lambda x: x * 1j")
    for t, want in [(np.float16, np.complex64), (np.float32, np.complex64), (np.float64, np.complex128),
                    (np.int8, np.complex128)]:
        x = np.ones(3, t)
        assert g(x).dtype == want == (x * 1j).dtype, t


def test_python_scalars_as_arguments_are_weak():
    """A Python complex or float passed to the ufunc is NEP 50 weak, as for NumPy's ufuncs."""
    f = ufuncgen.vectorize("lambda x, y: x + y")
    for x, y in [(np.float32([1, 2]), 1j), (np.float16([1]), 2.5), (np.int8([3]), 1j), (np.complex64([1j]), 2.0),
                 (np.float32([1]), 3)]:
        got, want = f(x, y), np.add(x, y)
        assert got.dtype == want.dtype, (x.dtype, type(y), got.dtype, want.dtype)
        np.testing.assert_array_equal(got, want)
