"""guvectorize: generalized ufuncs with NumPy's gufunc machinery."""
import numpy as np
import pytest

import ufuncgen


@ufuncgen.guvectorize(["void(float64[:], float64[:], float64[:])", "void(float32[:], float32[:], float32[:])"],
                      "(n),(n)->()")
def dot(a, b, out):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    out[0] = acc


@ufuncgen.guvectorize(["void(f8[:,:], f8[:,:], f8[:,:])"], "(m,n),(n,p)->(m,p)")
def matmul(A, B, C):
    m, n = A.shape
    p = B.shape[1]
    for i in range(m):
        for j in range(p):
            s = 0.0
            for k in range(n):
                s += A[i, k] * B[k, j]
            C[i, j] = s


def test_is_a_gufunc():
    assert isinstance(dot, np.ufunc)
    assert dot.signature == "(n),(n)->()"
    assert (dot.nin, dot.nout) == (2, 1)
    assert matmul.signature == "(m,n),(n,p)->(m,p)"


def test_dot_matches_numpy(rng):
    a = rng.standard_normal((7, 13))
    b = rng.standard_normal((7, 13))
    np.testing.assert_allclose(dot(a, b), np.einsum("ij,ij->i", a, b), rtol=1e-13)
    # broadcasting of loop dimensions
    np.testing.assert_allclose(dot(a, b[0]), a @ b[0], rtol=1e-13)
    a32 = a.astype(np.float32)
    r = dot(a32, a32)
    assert r.dtype == np.float32
    np.testing.assert_allclose(r, np.einsum("ij,ij->i", a32, a32), rtol=1e-5)


def test_matmul_matches_numpy(rng):
    A = rng.standard_normal((5, 3, 4))
    B = rng.standard_normal((4, 6))
    np.testing.assert_allclose(matmul(A, B), A @ B, rtol=1e-13)
    # non-contiguous, reversed operands
    At = rng.standard_normal((4, 3))[::-1].T
    np.testing.assert_allclose(matmul(At, B[:, ::2]), At @ B[:, ::2], rtol=1e-13)


def test_core_dimension_mismatch_is_value_error():
    with pytest.raises(ValueError):
        dot(np.ones(3), np.ones(4))
    with pytest.raises(ValueError):
        matmul(np.ones((2, 3)), np.ones((4, 2)))


def test_out_argument(rng):
    a = rng.standard_normal((4, 5))
    out = np.empty(4)
    r = dot(a, a, out=out)
    assert r is out
    np.testing.assert_allclose(out, (a * a).sum(axis=1), rtol=1e-13)
    C = np.zeros((2, 3, 3))
    matmul(a[:3, :2][None].repeat(2, 0), a[:2, :3], out=C)
    np.testing.assert_allclose(C, np.broadcast_to(a[:3, :2] @ a[:2, :3], (2, 3, 3)), rtol=1e-13)


def test_axes_axis_keepdims(rng):
    a = rng.standard_normal((6, 4))
    b = rng.standard_normal((6, 4))
    # core dimension along axis 0
    np.testing.assert_allclose(dot(a, b, axes=[(0,), (0,), ()]), (a * b).sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(dot(a, b, axis=0), (a * b).sum(axis=0), rtol=1e-13)
    r = dot(a, b, keepdims=True)
    assert r.shape == (6, 1)
    np.testing.assert_allclose(r[:, 0], (a * b).sum(axis=1), rtol=1e-13)
    A = rng.standard_normal((3, 4, 2))  # (n, m, stack) with axes
    B = rng.standard_normal((3, 5))
    r = matmul(A, B, axes=[(1, 0), (0, 1), (0, 1)])
    expect = np.einsum("nms,np->smp", A, B).transpose(1, 2, 0)
    np.testing.assert_allclose(r, expect, rtol=1e-13)


def test_where_refused_like_numpys_gufuncs(rng):
    # NumPy's gufuncs (np.matmul, np.vecdot) do not take where=; neither do ours.
    a = rng.standard_normal((5, 3))
    mask = np.ones(5, dtype=bool)
    with pytest.raises(TypeError):
        np.vecdot(a, a, where=mask)
    with pytest.raises(TypeError):
        dot(a, a, where=mask)


def test_scalar_input_and_multiple_outputs():
    src = """
def stats(x, scale, lo, hi):
    mn = x[0]
    mx = x[0]
    for i in range(1, len(x)):
        if x[i] < mn:
            mn = x[i]
        if x[i] > mx:
            mx = x[i]
    lo[0] = mn * scale
    hi[0] = mx * scale
"""
    f = ufuncgen.guvectorize(src, ["void(f8[:], f8, f8[:], f8[:])"], "(n),()->(),()")
    x = np.array([[3.0, -1.0, 2.0], [0.5, 7.0, -4.0]])
    lo, hi = f(x, 2.0)
    np.testing.assert_array_equal(lo, x.min(axis=1) * 2)
    np.testing.assert_array_equal(hi, x.max(axis=1) * 2)


def test_frozen_dimensions():
    src = """
def cross(a, b, c):
    c[0] = a[1] * b[2] - a[2] * b[1]
    c[1] = a[2] * b[0] - a[0] * b[2]
    c[2] = a[0] * b[1] - a[1] * b[0]
"""
    f = ufuncgen.guvectorize(src, ["void(f8[:], f8[:], f8[:])"], "(3),(3)->(3)")
    a = np.arange(12.0).reshape(4, 3)
    b = a[::-1] + 1
    np.testing.assert_array_equal(f(a, b), np.cross(a, b))
    with pytest.raises(ValueError):
        f(np.ones(4), np.ones(4))


def test_lazy_gufunc_layout_only():
    @ufuncgen.guvectorize("(n)->()")
    def total(x, out):
        s = 0
        for i in range(x.shape[0]):
            s += x[i]
        out[0] = s

    a = np.arange(12, dtype=np.int32).reshape(3, 4)
    r = total(a)
    assert r.dtype == np.int32
    np.testing.assert_array_equal(r, a.sum(axis=1))
    f = total(a.astype(np.float64) / 2)
    assert f.dtype == np.float64
    np.testing.assert_array_equal(f, a.sum(axis=1) / 2)


def test_lazy_gufunc_compiles_for_the_dtype_of_out_as_numba():
    """Issue 16 item 6: NumPy picks a loop from the inputs alone, so int32 A
    with a float64 out= ran int32 -> int32 and truncated A * 1.5 to [1, 3, 4,
    6]. Numba's dynamic gufunc compiles its first loop for the out= dtypes:
    the same loop and values here. Numba then reuses any loop the out= casts
    from (an int64 out after an int32 -> float64 loop is a casting error
    there); ufuncgen compiles for each out= dtype, so no order matters."""
    numba = pytest.importorskip("numba")

    def scale(a, out):
        for i in range(a.shape[0]):
            out[i] = a[i] * 1.5

    A = np.array([1, 2, 3, 4], np.int32)
    firsts = [(lambda g: g(A, out=np.zeros(4)), "i->d"),
              (lambda g: g(A, np.zeros(4, np.float32)), "i->f"),  # out positional
              (lambda g: g(A, out=np.zeros(4, np.int64)), "i->l"),  # Numba truncates too
              (lambda g: g(np.array([1, 2]), out=np.zeros(2)), "l->d")]
    for call, loop in firsts:
        ours, theirs = ufuncgen.guvectorize("(n)->(n)")(scale), numba.guvectorize("(n)->(n)")(scale)
        r, n = call(ours), call(theirs)
        assert r.dtype == n.dtype and ours.types == theirs.types == [loop]
        np.testing.assert_array_equal(r, n)
    ours = ufuncgen.guvectorize("(n)->(n)")(scale)
    assert ours(A, out=np.zeros(4, np.int64)).tolist() == [1, 3, 4, 6]
    np.testing.assert_array_equal(ours(A, out=np.zeros(4)), [1.5, 3.0, 4.5, 6.0])
    np.testing.assert_array_equal(ours(A.astype(np.uint8), out=(np.zeros(4),)), [1.5, 3.0, 4.5, 6.0])
    np.testing.assert_array_equal(ours([1, 2], out=np.zeros(2)), [1.5, 3.0])  # a list: int64
    stack = np.arange(6, dtype=np.int16).reshape(2, 3)
    np.testing.assert_array_equal(ours(stack, out=np.empty((2, 3))), stack * 1.5)
    assert ours.types == ["i->l", "i->d", "B->d", "l->d", "h->d"]
    assert ours(A).dtype == np.int64  # without out=: the first loop for int32, as NumPy picks


PARALLEL_GUFUNC = """
import numpy as np, ufuncgen
src = "def rownorm(a, out):\\n    s = 0.0\\n    for i in range(a.shape[0]):\\n        s += a[i] * a[i]\\n    out[0] = sqrt(s)\\n"
serial = ufuncgen.guvectorize(src, ["void(f8[:], f8[:])"], "(n)->()")
par = ufuncgen.guvectorize(src, ["void(f8[:], f8[:])"], "(n)->()", target="parallel")
a = np.random.default_rng(1).standard_normal((20_000, 16))
np.testing.assert_array_equal(par(a), serial(a))
np.testing.assert_allclose(serial(a), np.linalg.norm(a, axis=1), rtol=1e-12)
print("ok")
"""


def test_parallel_gufunc_matches_serial(run_python):
    # In a subprocess: a crash in the parallel driver must fail this test,
    # not end the whole pytest run.
    assert run_python(PARALLEL_GUFUNC).strip() == "ok"


def test_writable_args():
    src = """
def bump(a, out):
    for i in range(a.shape[0]):
        a[i] = a[i] + 1
    out[0] = a[0]
"""
    f = ufuncgen.guvectorize(src, ["void(f8[:], f8[:])"], "(n)->()", writable_args=("a",))
    x = np.zeros((2, 3))
    r = f(x)
    np.testing.assert_array_equal(x, np.ones((2, 3)))
    np.testing.assert_array_equal(r, [1.0, 1.0])


LAGGED = """
def lagged(a, w, out):
    for i in range(len(a)):
        if i >= w:
            out[i] = a[i - w] + a[i - w - 1] * 2.0
        else:
            out[i] = a[i - w]
"""


@pytest.mark.parametrize("boundscheck", [False, True])
def test_index_arithmetic_wraps_negative_like_python(boundscheck):
    # a[i - w] and a[i - w - 1] index as Python does: negative from the end
    # (the index arithmetic is marked no-signed-wrap without boundscheck)
    f = ufuncgen.guvectorize(LAGGED, ["void(f8[:], i8, f8[:])"], "(n),()->(n)", boundscheck=boundscheck)
    a = np.arange(10.0) ** 2
    for w in (0, 1, 3, 9):
        want = np.array([a[i - w] + a[i - w - 1] * 2.0 if i >= w else a[i - w] for i in range(10)])
        np.testing.assert_array_equal(f(a, w), want)


def test_large_lines_through_step_variants(rng):
    """Calls of 2**19 elements or more run, from their second call with the
    same core strides, a loop compiled for those strides (any core size):
    contiguous, reversed, strided and transposed lines, in place, each three
    times, equal the kernel's values in NumPy (the running count and sum)."""
    @ufuncgen.guvectorize(["void(float64[:], float64[:], int64[:])"], "(n)->(n),()", cache=False)
    def running(a, out, count):
        s = 0.0
        c = 0
        for i in range(a.shape[0]):
            if not np.isnan(a[i]):
                s += a[i]
                c += 1
            out[i] = s
        count[0] = c

    base = rng.standard_normal(1_400_000)
    base[rng.random(base.size) < 0.1] = np.nan

    def want(x):
        z = np.where(np.isnan(x), 0.0, x)
        return np.cumsum(z, axis=-1), (~np.isnan(x)).sum(axis=-1)

    views = [base[:600_000], base[:700_000], base[::-1][:650_000], base[::2], base[:1_200_000].reshape(1000, 1200).T]
    for x in views:
        for _ in range(3):
            out, count = running(x)
            w_out, w_count = want(x)
            np.testing.assert_allclose(out, w_out, rtol=1e-9, atol=1e-9)
            np.testing.assert_array_equal(count, w_count)
    x = base[:600_000].copy()  # in place: out is a
    for _ in range(3):
        y = x.copy()
        w_out, w_count = want(y)
        running(y, out=(y, np.empty((), np.int64)))
        np.testing.assert_allclose(y, w_out, rtol=1e-9, atol=1e-9)
