"""reduce / accumulate / reduceat / outer / at, as for NumPy's own ufuncs."""
import numpy as np
import pytest

import ufuncgen

SIGS = ["f8(f8,f8)", "i8(i8,i8)", "f4(f4,f4)"]


@ufuncgen.vectorize(SIGS, identity=0)
def plus(x, y):
    return x + y


@ufuncgen.vectorize(SIGS, identity=1)
def times(x, y):
    return x * y


@ufuncgen.vectorize(SIGS)
def first(x, y):  # no identity, not reorderable
    return x


@ufuncgen.vectorize(SIGS, identity="reorderable")
def biggest(x, y):
    return x if x > y else y


def test_identity_attribute():
    assert plus.identity == 0
    assert times.identity == 1
    assert first.identity is None
    assert biggest.identity is None


def test_reduce_matches_numpy(rng):
    a = rng.integers(-50, 50, size=(4, 5, 6))
    for axis in (0, 1, 2, None, (0, 2)):
        np.testing.assert_array_equal(plus.reduce(a, axis=axis), np.add.reduce(a, axis=axis))
    f = rng.standard_normal((4, 5))
    np.testing.assert_allclose(times.reduce(f, axis=1), np.multiply.reduce(f, axis=1), rtol=1e-14)
    np.testing.assert_array_equal(biggest.reduce(a, axis=(0, 1)), np.maximum.reduce(a, axis=(0, 1)))
    r = plus.reduce(a, axis=1, keepdims=True)
    assert r.shape == (4, 1, 6)
    np.testing.assert_array_equal(r, a.sum(axis=1, keepdims=True))


def test_reduce_dtype_follows_the_loop():
    a = np.arange(10, dtype=np.float32)
    r = plus.reduce(a)
    assert r.dtype == np.float32 and r == 45
    assert plus.reduce(np.arange(10)).dtype == np.int64
    assert plus.reduce(np.arange(10), dtype=np.float64).dtype == np.float64


def test_reduce_empty_uses_identity():
    assert plus.reduce(np.zeros(0)) == 0.0
    assert times.reduce(np.zeros(0)) == 1.0
    np.testing.assert_array_equal(plus.reduce(np.zeros((3, 0)), axis=1), np.zeros(3))
    with pytest.raises(ValueError):
        first.reduce(np.zeros(0))


def test_no_identity_multi_axis_reduce_refused():
    with pytest.raises(ValueError):
        first.reduce(np.ones((2, 3)), axis=(0, 1))
    # a single axis is fine without identity
    np.testing.assert_array_equal(first.reduce(np.arange(6.0).reshape(2, 3), axis=1), [0.0, 3.0])


def test_reduce_initial_and_where():
    a = np.arange(12.0).reshape(3, 4)
    mask = a % 3 == 0
    np.testing.assert_array_equal(plus.reduce(a, axis=1, where=mask), np.add.reduce(a, axis=1, where=mask))
    np.testing.assert_array_equal(plus.reduce(a, axis=0, initial=100.0), np.add.reduce(a, axis=0, initial=100.0))
    np.testing.assert_array_equal(times.reduce(a, axis=1, where=mask),
                                  np.multiply.reduce(a, axis=1, where=mask))


def test_reduce_out():
    a = np.arange(12).reshape(3, 4)
    out = np.zeros(4, dtype=np.int64)
    r = plus.reduce(a, axis=0, out=out)
    assert r is out
    np.testing.assert_array_equal(out, a.sum(axis=0))


def test_accumulate(rng):
    a = rng.integers(-9, 9, size=(5, 7))
    for axis in (0, 1):
        np.testing.assert_array_equal(plus.accumulate(a, axis=axis), np.add.accumulate(a, axis=axis))
        np.testing.assert_array_equal(first.accumulate(a, axis=axis), a.take([0], axis=axis).repeat(a.shape[axis], axis))
    f = rng.standard_normal(50)
    np.testing.assert_array_equal(times.accumulate(f), np.multiply.accumulate(f))


def test_reduceat():
    a = np.arange(10.0)
    idx = [0, 3, 3, 7]
    np.testing.assert_array_equal(plus.reduceat(a, idx), np.add.reduceat(a, idx))
    m = np.arange(24).reshape(4, 6)
    np.testing.assert_array_equal(plus.reduceat(m, [0, 2, 5], axis=1), np.add.reduceat(m, [0, 2, 5], axis=1))


def test_outer(rng):
    x = rng.standard_normal(4)
    y = rng.standard_normal((2, 3))
    np.testing.assert_array_equal(times.outer(x, y), np.multiply.outer(x, y))
    assert times.outer(x, y).shape == (4, 2, 3)


def test_at():
    a = np.zeros(5)
    plus.at(a, [0, 1, 1, 4, 4, 4], 1.0)
    np.testing.assert_array_equal(a, [1, 2, 0, 0, 3])
    b = np.arange(6)
    times.at(b, [1, 1, 5], [2, 3, 10])
    np.testing.assert_array_equal(b, [0, 6, 2, 3, 4, 50])


def test_unary_at():
    @ufuncgen.vectorize(["f8(f8)"])
    def neg(x):
        return -x

    a = np.arange(5.0)
    neg.at(a, [0, 2, 2])
    np.testing.assert_array_equal(a, [0, 1, 2, 3, 4])  # twice negated
    neg.at(a, [1])
    np.testing.assert_array_equal(a, [0, -1, 2, 3, 4])


def test_reduce_on_lazy_ufunc():
    @ufuncgen.vectorize(identity=0)
    def plus2(x, y):
        return x + y

    a = np.arange(20, dtype=np.int16).reshape(4, 5)
    r = plus2.reduce(a, axis=0)
    assert r.dtype == np.int16
    np.testing.assert_array_equal(r, a.sum(axis=0, dtype=np.int16))
    np.testing.assert_array_equal(plus2.accumulate(a.astype(np.float32), axis=1),
                                  np.add.accumulate(a.astype(np.float32), axis=1))


def test_integer_add_reduce_widens_like_numpy():
    # NumPy widens integer reductions of any ufunc *named* "add" or
    # "multiply" to intp (reducelike_promote_and_resolve); a lazy ufunc
    # compiles that mixed loop, so the result matches np.add.reduce.
    @ufuncgen.vectorize(identity=0)
    def add(x, y):
        return x + y

    a = np.arange(20, dtype=np.int16).reshape(4, 5) * 1000
    r = add.reduce(a, axis=0)
    assert r.dtype == np.add.reduce(a, axis=0).dtype == np.int64
    np.testing.assert_array_equal(r, np.add.reduce(a, axis=0))
