"""The kernel language's forms from real Numba code: each kernel compiled by
ufuncgen and the same text run as plain Python on NumPy arrays (the oracle),
results compared bit for bit; errors with their Python class and place.

Covers local arrays (np.empty/zeros/ones/full, *_like, dtype=), slices and
views, slice stores, iteration (for x in a, enumerate, zip, np.ndindex,
reversed(range)), chained and tuple assignment, module constants, helpers
returning arrays, raise/assert, a.dtype.type, layouts without outputs and
the inputs a kernel writes, and the typing of bare-literal locals.
"""
from __future__ import annotations

import builtins
import math
import textwrap

import numpy as np
import pytest

import ufuncgen


def python_kernel(src: str, name: str):
    ns = {"np": np, "numpy": np, "math": math, "prange": range}
    exec(textwrap.dedent(src), ns)  # noqa: S102 - the test's own kernel text
    return ns[name]


def gufunc_reference(fn, layout: str, args, out_dtypes):
    """Run fn (a gufunc kernel writing its outputs) over the loop dimensions."""
    ins = [np.asarray(a) for a in args]
    sides = layout.split("->")
    in_specs = [s.strip("()") for s in sides[0].split("),(")]
    out_specs = [s.strip("()") for s in sides[1].split("),(")] if len(sides) > 1 else []
    core = [len([d for d in s.split(",") if d]) for s in in_specs]
    loop_shape = np.broadcast_shapes(*[a.shape[: a.ndim - c] for a, c in zip(ins, core)])
    sizes = {}
    for a, s in zip(ins, in_specs):
        for d, n in zip([d for d in s.split(",") if d], a.shape[a.ndim - len([d for d in s.split(",") if d]):]):
            sizes[d] = n
    outs = []
    for s, dt in zip(out_specs, out_dtypes):
        dims = [d for d in s.split(",") if d]
        outs.append(np.zeros(loop_shape + (tuple(sizes[d] for d in dims) if dims else (1,)), dtype=dt))
    ins = [np.broadcast_to(a, loop_shape + a.shape[a.ndim - c:]).copy() for a, c in zip(ins, core)]
    for idx in np.ndindex(loop_shape):
        fn(*[a[idx] if a.ndim > len(idx) else a[idx][()] for a in ins], *[o[idx] for o in outs])
    outs = [o if [d for d in s.split(",") if d] else o[..., 0] for o, s in zip(outs, out_specs)]
    return outs, ins


def check_gufunc(src, sig, layout, *args, name=None, out_dtypes=(np.float64,)):
    name = name or src.split("def ", 1)[1].split("(", 1)[0].strip() if "def " in src else None
    uf = ufuncgen.guvectorize(src, [sig], layout, kernel=name)
    got = uf(*[np.copy(a) for a in args])
    want, _ = gufunc_reference(python_kernel(src, name), layout, args, out_dtypes)
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == w.dtype
    return got


def same_as_python(uf, src, a, nout):
    """One call of a one-input gufunc (output of nout elements, given as out=)
    against the kernel text run as Python on the same input."""
    out, want = np.zeros(nout), np.zeros(nout)
    uf(a, out=out)
    python_kernel(src, "k")(a, want)
    np.testing.assert_array_equal(out, want)


RNG = np.random.default_rng(7)
X = RNG.standard_normal((4, 9))
X[X < -1] = np.nan


# ------------------------------------------------------------------ local arrays

def test_dtw_with_np_full():
    src = """
    def dtw(x, y, out):
        n = len(x)
        m = len(y)
        D = np.full((n + 1, m + 1), np.inf)
        D[0, 0] = 0.0
        for i in range(1, n + 1):
            for j in range(1, m + 1):
                cost = abs(x[i - 1] - y[j - 1])
                D[i, j] = cost + min(D[i - 1, j], D[i, j - 1], D[i - 1, j - 1])
        out[0] = D[n, m]
    """
    check_gufunc(src, "void(float64[:], float64[:], float64[:])", "(n),(m)->()",
                 RNG.standard_normal((5, 7)), RNG.standard_normal((5, 4)))


@pytest.mark.parametrize("ctor", ["np.zeros(n)", "np.ones(n, dtype=np.int64)", "np.empty(n)",
                                  "np.full(n, 2.5)", "np.full(n, fill_value=3, dtype=np.float32)",
                                  "np.zeros_like(a)", "np.ones_like(a, dtype=np.int32)", "np.full_like(a, -1)",
                                  "np.zeros((n,), dtype=a.dtype)", "np.zeros(a.shape)", "np.empty_like(a)"])
def test_local_array_constructors(ctor):
    src = f"""
    def k(a, out):
        n = len(a)
        t = {ctor}
        for i in range(n):
            t[i] = t[i] * 0 + a[i] + i if {'empty' in ctor} else t[i] + a[i]
        for i in range(n):
            out[i] = t[i]
    """
    check_gufunc(src, "void(float64[:], float64[:])", "(n)->(n)", np.nan_to_num(X))


def test_local_array_2d_and_rows():
    src = """
    def k(a, out):
        m = np.zeros((3, len(a)))
        for r in range(3):
            row = m[r]
            for i in range(len(a)):
                row[i] = a[i] * (r + 1)
        for i, col in enumerate(m.T):
            out[i] = col[0] + col[2]
    """
    check_gufunc(src, "void(float64[:], float64[:])", "(n)->(n)", X)


def test_negative_size_is_a_value_error():
    uf = ufuncgen.guvectorize("""
def k(a, out):
    t = np.empty(len(a) - 10)
    out[0] = 1.0
""", ["void(float64[:], float64[:])"], "(n)->()")
    with pytest.raises(ValueError, match=r"negative dimensions are not allowed \(kernel 'k', line 3\)"):
        uf(np.ones(3))


def test_local_array_reused_across_items_and_huge_size():
    uf = ufuncgen.guvectorize("""
def k(a, n, out):
    t = np.zeros(n)
    t[0] = a[0]
    out[0] = t[0] + len(t)
""", ["void(float64[:], int64, float64[:])"], "(m),()->()")
    a = np.arange(2000.0).reshape(1000, 2)
    np.testing.assert_array_equal(uf(a, 5), a[:, 0] + 5)
    with pytest.raises(MemoryError, match="too big"):
        uf(a[:1], 2**62)


# ------------------------------------------------------------------ slices and views

@pytest.mark.parametrize("expr", ["a[2:5]", "a[::-1]", "a[-3:]", "a[:-2:2]", "a[1:100]", "a[7:2]", "a[::3]",
                                  "a[-100:2]", "a[5:1:-2]", "a[:]"])
def test_slices_as_python(expr):
    src = f"""
    def k(a, out):
        v = {expr}
        out[0] = len(v)
        s = 0.0
        for x in v:
            s = s * 1.5 + x
        out[1] = s
    """
    uf = ufuncgen.guvectorize(src, ["void(float64[:], float64[:])"], "(n)->(m)")
    same_as_python(uf, src, np.arange(9.0), 2)


def test_slice_stores_fill_copy_broadcast_overlap():
    src = """
    def k(a, out):
        out[:] = 0.0
        out[1:4] = a[0:3]
        out[-2:] = 9
        t = np.zeros((2, len(a)))
        t[:, :] = a
        t[1, ::2] = -1.0
        out[0] = t[1, 0] + t[0, 1]
    """
    check_gufunc(src, "void(float64[:], float64[:])", "(n)->(n)", X)
    ov = """
    def k(a, out):
        b = np.zeros(len(a))
        b[:] = a
        b[1:] = b[:-1]
        out[:] = b
    """
    check_gufunc(ov, "void(float64[:], float64[:])", "(n)->(n)", X)


@pytest.mark.parametrize("dt", ["float64", "float32", "int8", "int64", "bool", "complex128", "float16"])
def test_slice_fills_contiguous_strided_reversed_2d(dt):
    """Scalar fills take a contiguous and a strided path per line (arrays.c
    fill_line): both, on arguments and local arrays, 1-d and 2-d, forwards
    and backwards, lines of every length around the vector width; the
    elements not filled keep their values."""
    one = "True" if dt == "bool" else "1"
    combine = "out[i] != t[i % 3, i]" if dt == "bool" else "out[i] + t[i % 3, i]"
    src = f"""
    def k(a, out):
        out[:] = a
        out[1::3] = {one}
        out[::-2] = a[0]
        t = np.zeros((3, len(a)), dtype=a.dtype)
        t[1, :] = {one}
        t[:, 2:] = a[1]
        t[::-1, ::2] = a[2]
        u = t.T
        u[1:, 0] = {one}
        u[0, :] = a[-1]
        for i in range(len(a)):
            out[i] = {combine}
    """
    sig = f"void({dt}[:], {dt}[:])"
    for n in (3, 7, 8, 9, 31, 33, 64, 100):
        a = (RNG.standard_normal((2, n)) * 3).astype(dt)
        check_gufunc(src, sig, "(n)->(n)", a, out_dtypes=(np.dtype(dt),))
    # outputs given as strided and reversed views: the fill's strided path on the argument
    uf = ufuncgen.guvectorize("def k(a, out):\n    out[:] = a[0]\n", [sig], "(n)->(n)")
    a = (RNG.standard_normal((4, 80)) * 3).astype(dt)
    for view in (lambda o: o[:, ::2], lambda o: o[:, ::-1], lambda o: o.T[:37].T):
        base = np.zeros((4, 80), dt) if dt != "bool" else np.zeros((4, 80), bool)
        want = base.copy()
        o = view(base)
        o2 = view(want)
        uf(a[:, :o.shape[1]], out=o)
        o2[...] = a[:, :1]
        np.testing.assert_array_equal(base, want)


@pytest.mark.parametrize("dt", ["float64", "float32", "int8", "int16", "bool", "complex128", "complex64", "float16"])
def test_slice_copies_overlap_broadcast_strided(dt):
    """Plain copies (rt_copy in the generic loop): overlapping both ways
    (through a temporary, as NumPy), the very same elements, broadcast rows
    and columns, reversed and strided views, 2-d; the kernel text run as
    Python is the oracle."""
    src = """
    def k(a, out):
        t = np.zeros((3, len(a)), dtype=a.dtype)
        t[0, :] = a
        t[1, :] = t[0, ::-1]
        t[2, 1:] = t[2, :-1]
        t[2, :-1] = t[1, 1:]
        t[1:, ::2] = t[0, ::2]
        t[:, :] = t[:, :]
        t[::-1, :] = t
        u = np.zeros((len(a), 2), dtype=a.dtype)
        u[:, 0] = t[1]
        u[1:, 1] = u[:-1, 0]
        out[:] = a
        out[1:] = out[:-1]
        out[::2] = u[: (len(a) + 1) // 2, 1]
        out[:-1] = out[1:]
        out[::-1] = out
        for i in range(len(a)):
            out[i] = out[i] if i % 2 else t[i % 3, i]
    """
    sig = f"void({dt}[:], {dt}[:])"
    for n in (1, 2, 5, 8, 17, 64):
        a = (RNG.standard_normal((2, n)) * 3).astype(dt)
        if dt.startswith("complex"):
            a = a + 1j * RNG.standard_normal((2, n)).astype(dt)
        check_gufunc(src, sig, "(n)->(n)", a, out_dtypes=(np.dtype(dt),))
    # copies between arguments: into strided and reversed output views
    uf = ufuncgen.guvectorize("def k(a, out):\n    out[:] = a[::-1]\n", [sig], "(n)->(n)")
    a = (RNG.standard_normal((3, 80)) * 3).astype(dt)
    for view in (lambda o: o[:, ::2], lambda o: o[:, ::-1], lambda o: o[:, 3:43]):
        base = np.zeros((3, 80), dt)
        want = base.copy()
        o = view(base)
        uf(a[:, :o.shape[1]], out=o)
        view(want)[...] = a[:, :o.shape[1]][:, ::-1]
        np.testing.assert_array_equal(base, want)


def test_slice_copy_shape_mismatch_is_numpys_error():
    uf = ufuncgen.guvectorize("""
def k(a, out):
    out[0:2] = a[0:3]
""", ["void(float64[:], float64[:])"], "(n)->(n)")
    with pytest.raises(ValueError, match=r"could not broadcast input array from shape \(3,\) into shape \(2,\) \(kernel .k., line 3\)"):
        uf(np.ones(5))


def test_zero_slice_step_raises():
    uf = ufuncgen.guvectorize("""
def k(a, s, out):
    out[0] = len(a[::s])
""", ["void(float64[:], int64, float64[:])"], "(n),()->()")
    assert uf(np.ones(5), 2) == 3
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        uf(np.ones(5), 0)


# ------------------------------------------------------------------ iteration

def test_iteration_forms():
    src = """
    def k(a, b, out):
        s = 0.0
        for x in a:
            s += x
        for i, x in enumerate(b):
            s += i * x
        for i, x in enumerate(a, 3):
            s -= i
        for x, y in zip(a, b[1:]):
            s += x * y
        for i in reversed(range(1, len(a), 2)):
            s = s * 0.5 + i
        for i in prange(2):
            s += i
        out[0] = s
    """
    check_gufunc(src, "void(float64[:], float64[:], float64[:])", "(n),(n)->()", np.nan_to_num(X), X[::-1] * 0.5)


def test_ndindex_and_tuple_index():
    src = """
    def k(a, out):
        s = 0.0
        for idx in np.ndindex(a.shape):
            s = s * 0.9 + a[idx]
        for i, j in np.ndindex(2, 3):
            s += i * 10 + j
        out[0] = s
    """
    check_gufunc(src, "void(float64[:, :], float64[:])", "(m,n)->()", np.nan_to_num(X).reshape(2, 2, 9))


def test_loop_variable_reusing_a_parameter_name():
    src = """
    def k(a, index, out):
        for index in range(index, len(a)):
            out[0] += a[index]
        out[1] = index
    """
    uf = ufuncgen.guvectorize(src, ["void(float64[:], int64, float64[:])"], "(n),()->(m)")
    out = np.zeros(2)
    uf(np.arange(5.0), 2, out=out)
    np.testing.assert_array_equal(out, [9.0, 4.0])


def test_runtime_zero_range_step_is_a_value_error():
    uf = ufuncgen.vectorize("def k(n, s):\n    t = 0\n    for i in range(0, n, s):\n        t += 1\n    return t\n",
                            ["int64(int64, int64)"])
    assert uf(10, 3) == 4
    with pytest.raises(ValueError, match=r"range\(\) arg 3 must not be zero"):
        uf(10, 0)


# ------------------------------------------------------------------ statements

def test_chained_and_tuple_assignment():
    src = """
    def k(a, out):
        x = y = a[0]
        p, q = 1.0, 2.0
        p, q = q, p
        m, = a.shape
        out[0] = x + y + p * 10 + q * 100 + m
    """
    check_gufunc(src, "void(float64[:], float64[:])", "(n)->()", X)


@pytest.mark.parametrize("exc", ["ValueError", "IndexError", "ZeroDivisionError", "RuntimeError", "OverflowError",
                                 "ArithmeticError", "AssertionError"])
def test_raise_stops_with_the_class_and_message(exc):
    uf = ufuncgen.guvectorize(f"""
def k(a, out):
    for i in range(len(a)):
        if a[i] < 0:
            raise {exc}("negative value")
        out[i] = a[i] * 2
""", ["void(float64[:], float64[:])"], "(n)->(n)")
    out = np.full(4, -7.0)
    with pytest.raises(getattr(builtins, exc), match=r"negative value \(kernel 'k', line 5\)"):
        uf(np.array([1.0, 2.0, -1.0, 3.0]), out=out)
    np.testing.assert_array_equal(out, [2.0, 4.0, -7.0, -7.0])  # as Numba leaves them


def test_assert_and_bare_raise_class():
    uf = ufuncgen.vectorize("def k(x):\n    assert x >= 0, 'x must be >= 0'\n    return x + 1\n", ["f8(f8)"])
    assert uf(1.0) == 2.0
    with pytest.raises(AssertionError, match="x must be >= 0"):
        uf(np.array([1.0, -1.0]))
    uf2 = ufuncgen.vectorize("def k(x):\n    if x > 1:\n        raise ValueError\n    return x\n", ["f8(f8)"])
    with pytest.raises(ValueError, match=r"kernel 'k', line 3"):
        uf2(2.0)


def test_raise_after_local_arrays_frees_them():
    uf = ufuncgen.guvectorize("""
def k(a, out):
    t = np.zeros(len(a))
    u = np.ones((len(a), 2))
    if a[0] > 0:
        raise ValueError("stop")
    out[0] = t[0] + u[0, 0]
""", ["void(float64[:], float64[:])"], "(n)->()")
    for _ in range(200):  # under ASan/valgrind a leak or a double free shows here
        with pytest.raises(ValueError):
            uf(np.ones(100))
    assert uf(-np.ones(3)) == 1.0


# ------------------------------------------------------------------ names and helpers

def test_module_constants_and_prefixed_names():
    src = """
    def floor(x):
        return x + 1000

    def k(x):
        return np.floor(x) + SCALE * LIMIT + math.floor(x) + floor(x)

    SCALE = 0.5
    LIMIT = np.float32(4)
    """
    uf = ufuncgen.vectorize(src, ["f8(f8)"], kernel="k")
    assert uf(2.5) == 2.0 + 2.0 + 2.0 + 1002.5


def test_helper_returning_a_local_array():
    src = """
    def first_valid(a):
        shift = np.zeros(a.shape[0], dtype=np.float64)
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                if not np.isnan(a[i, j]):
                    shift[i] = a[i, j]
                    break
        return shift

    def k(a, out):
        s = first_valid(a)
        for i in range(len(s)):
            out[i] = s[i]
    """
    uf = ufuncgen.guvectorize(src, ["void(float64[:, :], float64[:])"], "(n,m)->(n)", kernel="k")
    same_as_python(uf, src, X, 4)


def test_dtype_type_and_scalar_constructors():
    src = """
    def k(a, out):
        s = a.dtype.type(0)
        for x in a:
            s += x
        out[0] = s + np.float32(0.5) + np.int64(2)
    """
    uf = ufuncgen.guvectorize(src, ["void(int32[:], int32[:])", "void(float32[:], float32[:])"], "(n)->()")
    np.testing.assert_array_equal(uf(np.array([[1, 2], [3, 4]], dtype=np.int32)), [5, 9])
    assert uf(np.array([1.25, 2.0], dtype=np.float32)) == np.float32(5.75)


# ------------------------------------------------------------------ inputs the kernel writes

def test_layout_without_outputs_writes_inputs():
    src = """
    def gsum(values, labels, out):
        out[:] = 0
        for idx in np.ndindex(values.shape):
            label = labels[idx]
            if label >= 0:
                out[label] += values[idx]
    """
    uf = ufuncgen.guvectorize(src, ["void(float64[:], int64[:], float64[:])"], "(a),(a),(z)")
    assert (uf.nin, uf.nout) == (3, 0)
    out = np.full((2, 3), 7.0)
    uf(np.arange(10.0).reshape(2, 5), np.array([0, 1, 0, -1, 2]), out)
    np.testing.assert_array_equal(out, [[2, 1, 4], [12, 6, 9]])


def test_written_input_refuses_read_only_memory():
    uf = ufuncgen.guvectorize("""
def k(a, n):
    a[0] = n
""", ["void(float64[:], float64)"], "(m),()")
    ro = np.frombuffer(bytes(16), dtype=np.float64)
    with pytest.raises(ValueError, match="read-only"):
        uf(ro, 1.0)
    assert ro[0] == 0.0
    w = np.zeros(2)
    uf(w, 3.0)
    assert w[0] == 3.0
    i32 = np.zeros(2, dtype=np.int32)  # written back through a cast
    uf(i32, 5.0, casting="unsafe")
    assert i32[0] == 5


# ------------------------------------------------------------------ typing as Numba types locals

SUM_SRC = """
def k(a, out):
    s = 0.0
    for x in a:
        s += x
    out[0] = s
"""


def test_bare_literal_local_accumulates_in_float64_like_numba():
    numba = pytest.importorskip("numba")
    src = SUM_SRC
    a = (np.arange(1, 20001, dtype=np.float32) * np.float32(0.1)).reshape(1, -1)
    ours = ufuncgen.guvectorize(src, ["void(float32[:], float32[:])"], "(n)->()")(a)
    ns = {}
    exec(textwrap.dedent(src), {"np": np}, ns)  # noqa: S102
    theirs = numba.guvectorize(["void(float32[:], float32[:])"], "(n)->()")(ns["k"])(a)
    np.testing.assert_array_equal(ours, theirs)
    f32_acc = np.float32(0)
    for x in a[0]:
        f32_acc += x
    assert ours[0] != f32_acc  # the float32 accumulation would lose precision


def test_literals_stay_weak_inside_expressions():
    uf = ufuncgen.vectorize("def k(x):\n    return x * 2.0 + 1\n")
    assert uf(np.float32(1.5)).dtype == np.float32


def test_print_numbers_and_strings(capfd):
    uf = ufuncgen.guvectorize("""
def k(a, out):
    print("row", a[0], len(a), a[0] > 1, np.float32(0.1), -np.inf)
    out[0] = 1
""", ["void(float64[:], float64[:])", "void(int32[:], int32[:])"], "(n)->()")
    with np.errstate(all="raise"):  # printing raises no FP flag
        uf(np.array([[1.5, 2.0], [3.0, 4.0]]))
        uf(np.array([[7, 8]], dtype=np.int32))
    assert capfd.readouterr().out == ("row 1.5 2 True 0.1 -inf\nrow 3.0 2 True 0.1 -inf\n"
                                      "row 7 2 True 0.1 -inf\n")


# ------------------------------------------------------------------ nesting (front-end cost)

def _nested(kind: str, n: int) -> str:
    """n nested statements of one kind around `s += x`, with break/continue."""
    lines, ind = ["def k(x):", "    s = 0.0"], "    "
    for i in range(n):
        if kind == "for":
            lines.append(f"{ind}for i{i} in range(1):")
            ind += "    "
            if i % 3 == 0:
                lines += [f"{ind}if x < -5:", f"{ind}    continue"]
        elif kind == "while":
            lines += [f"{ind}w{i} = 0", f"{ind}while w{i} < 1:"]
            ind += "    "
            lines.append(f"{ind}w{i} += 1")
            if i % 2:
                lines += [f"{ind}if x > 100:", f"{ind}    break"]
        else:
            lines.append(f"{ind}if x > {-i}:")
            ind += "    "
    lines += [f"{ind}s += x", "    return s"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind", ["for", "while", "if"])
def test_deep_nesting_compiles_fast_and_right(kind):
    # the definite-assignment pass once walked each loop body twice per level: 2**depth
    # (24 nested loops took 14 s and 1.1 GB); bench/bench_frontend.py times the depths
    # (CPython refuses more than 20 nested blocks: the oracle runs 15 deep, which
    # computes the same function as 60 deep: x, or 0 where a guard stops it)
    uf = ufuncgen.vectorize(_nested(kind, 60), ["f8(f8)"])
    x = np.array([-10.0, -0.5, 0.5, 3.0, 200.0])
    np.testing.assert_array_equal(uf(x), np.vectorize(python_kernel(_nested(kind, 15), "k"))(x))


def test_nesting_past_the_limit_is_a_positioned_error():
    with pytest.raises(NotImplementedError, match=r"kernel 'k', line \d+, column \d+: nesting loops more than 64"):
        ufuncgen.vectorize(_nested("for", 65), ["f8(f8)"])
    with pytest.raises(SyntaxError, match="too many levels of indentation"):
        ufuncgen.vectorize(_nested("if", 200), ["f8(f8)"])


def test_scalar_type_for_a_core_operand_names_the_argument():
    with pytest.raises(ValueError, match=r"argument 2 is a scalar \(int32\) but the layout gives it 1 core dimension"):
        ufuncgen.guvectorize("def k(a, n, out):\n    out[0] = a[0]\n", ["void(int32[:], int32, int32[:])"],
                             "(n),(n)->(n)")
    # a '()' operand spelled as an array is Numba's convention and stays accepted
    uf = ufuncgen.guvectorize("def k(a, n, out):\n    out[0] = a[0] * n[0]\n", ["void(int32[:], int32[:], int32[:])"],
                              "(n),()->()")
    assert uf(np.array([3, 4], dtype=np.int32), 2) == 6


def test_cast_output_keeps_the_elements_the_kernel_does_not_write():
    # issue 16 item 6 (second half): NumPy's cast copy of out= starts from out's values
    h = ufuncgen.guvectorize("def k(a, out):\n    out[0] = a[0]\n", ["void(float64[:], float64[:])"], "(n)->(n)")
    o = np.full(3, 7, dtype=np.float32)
    h(np.array([1.0, 2.0, 3.0]), out=o, casting="unsafe")
    np.testing.assert_array_equal(o, [1.0, 7.0, 7.0])
    o2 = np.full((2, 3), 5.0)
    h(np.ones((2, 3)), out=o2)
    np.testing.assert_array_equal(o2, [[1, 5, 5], [1, 5, 5]])
    assert h(np.ones((2, 3))).shape == (2, 3)  # allocated outputs still work


def test_locals_fix_a_local_type_as_numba():
    numba = pytest.importorskip("numba")
    src = SUM_SRC
    ns = {}
    exec(textwrap.dedent(src), {"np": np}, ns)  # noqa: S102
    a = (np.arange(1, 20001, dtype=np.float32) * np.float32(0.1)).reshape(1, -1)
    for loc in ({"s": "float32"}, {"s": numba.float32}, {"s": ufuncgen.float32}):
        ours = ufuncgen.guvectorize(["void(float32[:], float32[:])"], "(n)->()", locals=loc)(textwrap.dedent(src))(a)
        theirs = numba.guvectorize(["void(float32[:], float32[:])"], "(n)->()", locals={"s": numba.float32})(ns["k"])(a)
        np.testing.assert_array_equal(ours, theirs)
    f32 = np.float32(0)
    for x in a[0]:
        f32 += x
    assert ours[0] == f32  # accumulated in float32, unlike the default (float64, see above)
    with pytest.raises(TypeError, match="locals: 'nope' is not a local variable of 'k'"):
        ufuncgen.guvectorize(["void(float32[:], float32[:])"], "(n)->()", locals={"nope": "float32"})(
            textwrap.dedent(src))


def test_get_thread_id_inside_kernels():
    src = "def k(x):\n    return get_thread_id() + x * 0\n"
    serial = ufuncgen.vectorize(src, ["int64(int64)"])
    assert not serial(np.arange(100_000)).any()  # a serial call runs on thread 0
    par = ufuncgen.vectorize(src, ["int64(int64)"], target="parallel", num_threads=2)
    ids = par(np.zeros(4_000_000, dtype=np.int64))
    assert set(np.unique(ids)) <= {0, 1}
    assert ufuncgen.get_thread_id() == 0
    from ufuncgen.numba import get_thread_id  # noqa: F401 - the drop-in import path has it
