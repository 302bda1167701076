"""Kernels written the way Numba users write them compile unchanged and match NumPy."""
import math

import numpy as np
import pytest

import ufuncgen


@ufuncgen.vectorize(["float64(float64)", "float32(float32)"])
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@ufuncgen.vectorize(["float64(float64, float64)"])
def rel_diff(x, y):
    return math.fabs(x - y) / max(math.fabs(x), math.fabs(y), 1e-300)


@ufuncgen.vectorize(["f8(f8)"])
def gauss(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


@ufuncgen.guvectorize(["void(float64[:], float64[:], float64[:])"], "(n),(n)->()")
def numba_dot(a, b, out):
    acc = 0.0
    for i in range(len(a)):
        acc += a[i] * b[i]
    out[0] = acc


@ufuncgen.guvectorize(["void(float64[:,:], float64[:], float64[:])"], "(m,n),(n)->(m)")
def matvec(A, x, y):
    m, n = A.shape
    for i in range(m):
        s = 0.0
        for j in range(n):
            s += A[i, j] * x[j]
        y[i] = s


@ufuncgen.guvectorize(["void(float64[:], float64, float64[:])"], "(n),()->(n)")
def move_mean(a, window, out):
    """Running mean over a window, Numba's documentation example shape."""
    w = int(window)
    asum = 0.0
    count = 0
    for i in range(w):
        asum += a[i]
        count += 1
        out[i] = asum / count
    for i in range(w, len(a)):
        asum += a[i] - a[i - w]
        out[i] = asum / count


@ufuncgen.vectorize(["int64(int64)"])
def collatz_steps(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def test_sigmoid(rng):
    x = rng.standard_normal(1000) * 10
    np.testing.assert_allclose(sigmoid(x), 1.0 / (1.0 + np.exp(-x)), rtol=1e-15, atol=0)
    x32 = x.astype(np.float32)
    r = sigmoid(x32)
    assert r.dtype == np.float32
    np.testing.assert_allclose(r, 1.0 / (1.0 + np.exp(-x32)), rtol=1e-6)


def test_math_prefix_and_builtins(rng):
    x = rng.standard_normal(100)
    y = rng.standard_normal(100)
    expect = np.abs(x - y) / np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-300)
    np.testing.assert_allclose(rel_diff(x, y), expect, rtol=1e-15)
    np.testing.assert_allclose(gauss(x), np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi), rtol=1e-15)


def test_range_len_and_out0(rng):
    a = rng.standard_normal((8, 5))
    np.testing.assert_allclose(numba_dot(a, a), (a * a).sum(axis=1), rtol=1e-13)


def test_tuple_unpack_shape(rng):
    A = rng.standard_normal((3, 4, 5))
    x = rng.standard_normal(5)
    np.testing.assert_allclose(matvec(A, x), A @ x, rtol=1e-13)


def test_int_output_from_float_input(rng):
    @ufuncgen.guvectorize(["void(float64[:], intp[:])", "void(float32[:], intp[:])"], "(n)->()")
    def argmax_(a, res):
        best = 0
        for i in range(1, a.shape[0]):
            if a[i] > a[best]:
                best = i
        res[0] = best

    a = rng.standard_normal((6, 9))
    r = argmax_(a)
    assert r.dtype == np.intp
    np.testing.assert_array_equal(r, a.argmax(axis=1))
    np.testing.assert_array_equal(argmax_(a.astype(np.float32)), a.astype(np.float32).argmax(axis=1))


def test_move_mean():
    a = np.arange(20, dtype=np.float64).reshape(2, 10)
    r = move_mean(a, 3)
    expect = np.empty_like(a)
    for row in range(2):
        for i in range(10):
            lo = max(0, i - 2)
            expect[row, i] = a[row, lo:i + 1].mean()
    np.testing.assert_allclose(r, expect, rtol=1e-14)


def test_while_loops():
    n = np.array([1, 2, 3, 6, 7, 27])
    expect = []
    for v in n:
        s = 0
        while v != 1:
            v = v // 2 if v % 2 == 0 else 3 * v + 1
            s += 1
        expect.append(s)
    np.testing.assert_array_equal(collatz_steps(n), expect)


def test_bare_decorator_is_lazy():
    @ufuncgen.vectorize
    def scaled(x, y):
        return x * 2.5 + y

    assert scaled.types == []
    r = scaled(np.arange(3, dtype=np.float32), np.float32(1))
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r, np.arange(3, dtype=np.float32) * np.float32(2.5) + 1)
    r = scaled(np.arange(3), np.arange(3))
    assert r.dtype == np.float64  # int * float literal -> float64
    np.testing.assert_array_equal(r, np.arange(3) * 2.5 + np.arange(3))
    assert len(scaled.types) == 2


@pytest.mark.parametrize("name, fn", [("exp", np.exp), ("log1p", np.log1p), ("tanh", np.tanh),
                                      ("arctan", np.arctan), ("cbrt", np.cbrt), ("expm1", np.expm1)])
def test_np_functions_within_4_ulp(name, fn, rng):
    f = ufuncgen.vectorize(f"def k(x):\n    return np.{name}(x)\n", ["f8(f8)", "f4(f4)"])
    x = np.abs(rng.standard_normal(2000)) * 3
    for dt in (np.float64, np.float32):
        xv = x.astype(dt)
        got, want = f(xv), fn(xv)
        ulp = np.spacing(np.abs(want).astype(dt))
        assert np.all(np.abs(got - want) <= 4 * ulp), name


def test_nan_aware_reduction_idioms():
    @ufuncgen.guvectorize(["void(float64[:], float64[:])", "void(float32[:], float32[:])"], "(n)->()")
    def nanmean(a, out):
        s = 0.0
        n = 0
        for i in range(a.size):
            if not math.isnan(a[i]):
                s += a[i]
                n += 1
        out[0] = s / n if n > 0 else np.nan

    a = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan], [2.0, 4.0, 6.0]])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(nanmean(a), [2.0, np.nan, 4.0])
    r32 = nanmean(a.astype(np.float32))
    assert r32.dtype == np.float32
    np.testing.assert_array_equal(r32, np.array([2.0, np.nan, 4.0], dtype=np.float32))


def test_reverse_range_elif_and_casts():
    @ufuncgen.guvectorize(["void(float64[:], int64[:])"], "(n)->(n)")
    def rank_sign(a, out):
        for i in range(a.shape[0] - 1, -1, -1):
            if a[i] > 0.5:
                out[i] = np.int64(2)
            elif a[i] < -0.5:
                out[i] = -1
            else:
                out[i] = int(a[i] * 10.0)

    a = np.array([0.9, -0.9, 0.25, -0.33, 0.5])
    np.testing.assert_array_equal(rank_sign(a), [2, -1, 2, -3, 5])


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int32, np.uint64])
def test_integer_kernels_wrap_like_numpy(dtype):
    @ufuncgen.vectorize
    def mix(x, y):
        return (x * 31 + y) ^ (x >> 1)

    info = np.iinfo(dtype)
    x = np.array([0, 1, info.max, info.min, info.max // 3], dtype=dtype)
    y = np.array([5, info.max, 1, 7, info.min], dtype=dtype)
    with np.errstate(all="ignore"):
        want = (x * dtype(31) + y) ^ (x >> dtype(1))
    got = mix(x, y)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, want)
