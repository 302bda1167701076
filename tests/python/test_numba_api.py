"""ufuncgen as a drop-in for Numba's decorators (issue 15, with items of 16 and 20).

Each test checks real results against Numba (installed: the oracle for
what Numba accepts and computes), NumPy or plain Python. The situations of
Numba's own npyufunc tests (test_vectorize_decor, test_ufuncbuilding,
test_gufunc, test_update_inplace, test_errors) are written here as our own
code.
"""
import importlib.metadata
import importlib.resources
import math
import os
import pickle
import sys
import textwrap
import traceback

import numpy as np
import pytest

import ufuncgen
import ufuncgen.numba as ugnumba
from ufuncgen import float32, float64, int32, int64, uint32, void

import numba_api_helpers as H

numba = pytest.importorskip("numba")

HERE = os.path.abspath(__file__)
NUMPY_ATTRS = hasattr(np.add, "__dict__")  # per-instance ufunc attributes: NumPy >= 2.2


def line_of(func, text):
    """Line number in this file of the first line of func's source containing text."""
    import inspect
    lines, first = inspect.getsourcelines(func)
    for i, ln in enumerate(lines):
        if text in ln:
            return first + i
    raise AssertionError(text)


# ================================================================== 1. options

def add2(a, b):
    """An addition"""
    return a + b


@pytest.mark.parametrize("opts", [dict(nopython=True), dict(nopython=False), dict(nogil=True),
                                  dict(forceobj=False), dict(nopython=True, nogil=True, cache=True),
                                  dict(locals={}), dict(boundscheck=None), dict(target="parallel", nopython=True)])
def test_numba_option_names_are_accepted(opts):
    a, b = np.linspace(0, 1, 7), np.linspace(1, 2, 7)
    f = ufuncgen.vectorize(["float64(float64, float64)"], **opts)(add2)
    np.testing.assert_array_equal(f(a, b), a + b)
    lazy = ufuncgen.vectorize(**opts)(add2)
    np.testing.assert_array_equal(lazy(a, b), a + b)
    g = ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(n),(n)->(n)", **opts)(gu_add)
    np.testing.assert_array_equal(g(a, b), a + b)


def gu_add(a, b, out):
    for i in range(a.shape[0]):
        out[i] = a[i] + b[i]


@pytest.mark.parametrize("deco", ["vectorize", "guvectorize"])
def test_forceobj_true_is_refused(deco):
    with pytest.raises(NotImplementedError, match="forceobj=True"):
        if deco == "vectorize":
            ufuncgen.vectorize(["f8(f8, f8)"], forceobj=True)(add2)
        else:
            ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(n),(n)->(n)", forceobj=True)(gu_add)


@pytest.mark.parametrize("sigs", [["float64(float64, float64)"], None])
@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_unknown_option_is_a_key_error_as_in_numba(sigs, target):
    def call(mod):
        if sigs is None:
            return mod.vectorize(target=target, no_such_option=1)(add2)
        return mod.vectorize(sigs, target=target, no_such_option=1)(add2)

    with pytest.raises(KeyError) as ours:
        call(ufuncgen)
    assert "Unrecognized options: {'no_such_option'}" in str(ours.value)
    if sigs is not None:  # Numba's lazy parallel vectorize accepts anything and fails later
        with pytest.raises(KeyError) as theirs:
            call(numba)
        assert "Unrecognized options: {'no_such_option'}" in str(theirs.value)
    with pytest.raises(KeyError, match="Unrecognized options"):
        ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(n),(n)->(n)", bogus=True)


def test_locals_name_locals_of_the_kernel():
    # locals= fixes a local's type (test_language.py checks the results against Numba);
    # a name that is not a local of the kernel, a bad type or a non-dict is an error naming it
    with pytest.raises(TypeError, match="locals: 'y' is not a local variable"):
        ufuncgen.vectorize(["f8(f8, f8)"], locals={"y": float64})(add2)
    with pytest.raises(TypeError, match="locals"):
        ufuncgen.vectorize(["f8(f8, f8)"], locals=[("y", float64)])(add2)


def test_fastmath_flag_sets_are_validated_as_numba_does():
    with pytest.raises(ValueError, match="Unrecognized fastmath flags") as ours:
        ufuncgen.vectorize(["f8(f8, f8)"], fastmath={"nnan", "bogus"})(add2)
    assert "bogus" in str(ours.value)
    with pytest.raises(ValueError, match="Unrecognized fastmath flags"):
        numba.vectorize(["f8(f8, f8)"], fastmath={"nnan", "bogus"})(add2)


def mul_add(a, b):
    return a * b + a


def _float_ops(ir):
    return [ln for ln in ir.splitlines() if any(op in ln for op in (" fadd ", " fmul ", "fmuladd", " fma"))]


def test_fastmath_flags_are_honoured_one_by_one():
    plain = ufuncgen.vectorize(["f8(f8, f8)"])(mul_add)
    nnan = ufuncgen.vectorize(["f8(f8, f8)"], fastmath={"nnan", "ninf"})(mul_add)
    full = ufuncgen.vectorize(["f8(f8, f8)"], fastmath=True)(mul_add)
    ir_plain = ufuncgen.wrapper(plain).inspect_llvm()["dd->d"]
    ir_nnan = ufuncgen.wrapper(nnan).inspect_llvm()["dd->d"]
    ir_full = ufuncgen.wrapper(full).inspect_llvm()["dd->d"]
    assert _float_ops(ir_plain) and not any("nnan" in ln or " fast " in ln for ln in _float_ops(ir_plain))
    ops = _float_ops(ir_nnan)
    assert ops and all("nnan ninf" in ln for ln in ops)
    assert not any("reassoc" in ln or "contract" in ln or " fast " in ln for ln in ops)
    assert any(" fast " in ln for ln in _float_ops(ir_full))
    a, b = np.linspace(-1, 1, 9), np.linspace(2, 3, 9)
    for f in (plain, nnan, full):
        np.testing.assert_allclose(f(a, b), a * b + a, rtol=1e-15)


def test_fastmath_dict_and_fast():
    f = ufuncgen.vectorize(["f8(f8, f8)"], fastmath={"nsz": True, "arcp": False})(mul_add)
    ops = _float_ops(ufuncgen.wrapper(f).inspect_llvm()["dd->d"])
    assert ops and all("nsz" in ln and "arcp" not in ln for ln in ops)
    g = ufuncgen.vectorize(["f8(f8, f8)"], fastmath={"fast"})(mul_add)
    assert any(" fast " in ln for ln in _float_ops(ufuncgen.wrapper(g).inspect_llvm()["dd->d"]))


def test_target_and_identity_as_numba():
    sig = "int32(int32, int32)"
    for identity in (0, 1, None, "reorderable"):
        f = ufuncgen.vectorize([sig], identity=identity)(add2)
        nb = numba.vectorize([sig], identity=identity)(add2)
        assert f.identity == nb.identity
    for bad in ("none", 2):
        with pytest.raises(ValueError):
            ufuncgen.vectorize([sig], identity=bad)(add2)
    with pytest.raises(ValueError, match="Unsupported target"):
        ufuncgen.vectorize([sig], target="cuda")(add2)
    f = ufuncgen.vectorize([sig], identity=0, target="parallel")(add2)
    a = np.arange(1000, dtype=np.int32)
    assert f.reduce(a) == a.sum()
    assert f.reduce(np.zeros(0, np.int32)) == 0


# ================================================================== 2. signatures

def test_vectorize_signature_without_return_type():
    f = ufuncgen.vectorize(["(int64, int64)"])(add2)
    nb = numba.vectorize(["(int64, int64)"])(add2)
    assert f.types == nb.types == ["ll->l"]
    assert f(-1, 3) == nb(-1, 3) == 2

    def less(a, b):
        return a < b

    g = ufuncgen.vectorize(["(int16, int16)", "(int32, int32)"])(less)
    nb = numba.vectorize(["(int16, int16)", "(int32, int32)"])(less)
    assert g.types == nb.types == ["hh->?", "ii->?"]
    x = np.arange(4, dtype=np.int16)
    np.testing.assert_array_equal(g(x, x[::-1]), x < x[::-1])
    for h in (g, nb):  # no compilation after the signatures (Numba's disable_compile)
        with pytest.raises(TypeError):
            h(np.arange(3.0), 1.0)


def mv_scale(a, k, out):
    for i in range(a.shape[0]):
        out[i] = a[i] * k


def test_gufunc_bare_argument_lists():
    a = np.arange(12, dtype=np.int32).reshape(3, 4)
    for sig in ("int32[:], int32, int32[:]", "int32[:],int32,int32[:]", ["int32[::1], int32, int32[:]"]):
        g = ufuncgen.guvectorize(sig, "(n),()->(n)")(mv_scale)
        nb = numba.guvectorize(sig, "(n),()->(n)")(mv_scale)
        assert g.types == nb.types == ["ii->i"]
        np.testing.assert_array_equal(g(a, 3), nb(a, 3))
    h = ufuncgen.guvectorize(["f8[:],f8[:]"], "(n)->(n)")(copy_row)
    np.testing.assert_array_equal(h(np.arange(5.0)), np.arange(5.0))


def copy_row(a, out):
    for i in range(a.shape[0]):
        out[i] = a[i]


def test_c_order_markers_still_honour_any_strides():
    g = ufuncgen.guvectorize(["void(float64[::1], float64[::1])"], "(n)->(n)")(copy_row)
    x = np.arange(40.0).reshape(4, 10)[:, ::3]  # not contiguous on the core axis
    out = np.zeros((4, 8))[:, ::2]              # strided output too
    g(x, out=out)
    np.testing.assert_array_equal(out, x)


def test_type_objects_like_numba_types():
    assert str(float64[:]) == str(numba.float64[:]) == "array(float64, 1d, A)"
    assert str(float64[:, ::1]) == str(numba.float64[:, ::1])
    assert str(int64) == str(numba.int64)
    assert ugnumba.boolean is ugnumba.bool_ and ugnumba.f8 is float64
    sigs = [int32(int32, int32), uint32(uint32, uint32), float32(float32, float32), float64(float64, float64)]
    f = ufuncgen.vectorize(sigs)(add2)
    nb = numba.vectorize([numba.int32(numba.int32, numba.int32), numba.uint32(numba.uint32, numba.uint32),
                          numba.float32(numba.float32, numba.float32),
                          numba.float64(numba.float64, numba.float64)])(add2)
    assert f.types == nb.types
    for dt in (np.int32, np.uint32, np.float32, np.float64):
        a = np.arange(100).astype(dt)
        r = f(a, a)
        assert r.dtype == nb(a, a).dtype
        np.testing.assert_array_equal(r, nb(a, a))
    g = ufuncgen.guvectorize([void(float64[:, :], float64[:], float64[:])], "(m,n),(n)->(m)")(matvec)
    A, x = np.arange(12.0).reshape(3, 4), np.arange(4.0)
    np.testing.assert_allclose(g(A, x), A @ x)


def matvec(A, x, y):
    m, n = A.shape
    for i in range(m):
        s = 0.0
        for j in range(n):
            s += A[i, j] * x[j]
        y[i] = s


def test_numba_type_objects_as_numbagg_passes_them():
    sigs = [(numba.float64[:], numba.int64, numba.float64[:]), (numba.float32[:], numba.int64, numba.float32[:])]
    g = ufuncgen.guvectorize(sigs, "(n),()->(n)")(mv_scale)
    nb = numba.guvectorize(sigs, "(n),()->(n)")(mv_scale)
    assert g.types == nb.types
    for dt in (np.float64, np.float32):
        a = np.arange(10, dtype=dt).reshape(2, 5)
        np.testing.assert_array_equal(g(a, 4), nb(a, 4))
    f = ufuncgen.vectorize([numba.float64(numba.float64, numba.float64)])(add2)
    assert f.types == ["dd->d"]
    h = ufuncgen.guvectorize([numba.void(numba.float64[:], numba.float64[:])], "(n)->(n)")(copy_row)
    np.testing.assert_array_equal(h(np.arange(3.0)), np.arange(3.0))


def replace_every_2nd(x, y, dummy):
    for t in range(0, x.shape[0], 2):
        x[t] = y[0]
    dummy[0] = y[0]


def test_scalar_core_input_typed_as_array_is_a_one_element_array():
    # Numba's update_inplace situation: "()" input declared f8[:] is read as y[0].
    for writable in ((0,), ("x",)):
        g = ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(t),()->()", writable_args=writable)(
            replace_every_2nd)
        nb = numba.guvectorize(["void(f8[:], f8[:], f8[:])"], "(t),()->()", writable_args=writable)(
            replace_every_2nd)
        for dt in ("f8", "f4"):
            x, xn = np.zeros(10, dt), np.zeros(10, dt)
            g(x, 2)
            nb(xn, 2)
            np.testing.assert_array_equal(x, xn)
            np.testing.assert_array_equal(x[::2], 2)
    # without writable_args too: an input the kernel writes is read-write, so a cast
    # copy of an f4 input is written back (Numba loses the writes; we say so in DESIGN)
    g = ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(t),()->()")(replace_every_2nd)
    nb = numba.guvectorize(["void(f8[:], f8[:], f8[:])"], "(t),()->()")(replace_every_2nd)
    x, xn = np.zeros(10, "f4"), np.zeros(10, "f4")
    g(x, 2)
    nb(xn, 2)
    np.testing.assert_array_equal(x, [2, 0] * 5)
    assert not xn.any()
    # the same kernel text with y declared a scalar is a different loop
    h = ufuncgen.guvectorize(["int32[:], int32[:], int32[:]"], "(n),()->(n)")(scale_by_first)
    np.testing.assert_array_equal(h(np.arange(30, dtype=np.int32).reshape(10, 3), 2),
                                  np.arange(30).reshape(10, 3) * 2)


def scale_by_first(inp, n, out):
    for i in range(inp.shape[0]):
        out[i] = inp[i] * n[0]


def test_update_inplace_without_outputs():
    def replace(x, y):
        for t in range(0, x.shape[0], 2):
            x[t] = y[0]

    g = ufuncgen.guvectorize(["void(f8[:], f8[:])"], "(t),()", writable_args=(0,))(replace)
    x = np.zeros(10)
    g(x, 2)
    np.testing.assert_array_equal(x[::2], 2)


# ================================================================== 3. scope: helpers and constants

def local_helper(x):
    return x - 1.0


def test_helpers_from_this_and_other_modules():
    @ufuncgen.vectorize(["f8(f8)"])
    def f(x):
        return local_helper(x) + H.twice(x) * 0 + H.twice_plus_one(x) + H.numba_cube(x) + H.ug_square(x)

    x = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(f(x), (x - 1) + (2 * x + 1) + x ** 3 + x * x, rtol=1e-15)


twice_alias = H.twice
square_lambda = lambda v: v * v  # noqa: E731


def test_helper_under_another_name_and_lambda_helper():
    @ufuncgen.vectorize(["f8(f8)"])
    def f(x):
        return twice_alias(x) + square_lambda(x)

    x = np.arange(5.0)
    np.testing.assert_array_equal(f(x), 2 * x + x * x)


def test_closure_helpers():
    def make(k):
        def inner(x):
            return x * 3.0

        @ufuncgen.vectorize(["f8(f8)"])
        def f(x):
            return inner(x) + 1.0

        return f

    np.testing.assert_array_equal(make(1)(np.arange(4.0)), np.arange(4.0) * 3 + 1)


def test_njit_helpers_run_python_when_called_from_python():
    @ufuncgen.njit
    def h(x):
        return x + 10

    assert h(1) == 11 and h.py_func(2) == 12

    @ugnumba.njit(cache=True, fastmath=True)
    def h2(x):
        return x * 2

    assert h2(4) == 8
    with pytest.raises(KeyError, match="Unrecognized options"):
        ufuncgen.njit(bogus=1)


def test_kernel_calling_other_ufuncs():
    @numba.vectorize(nopython=True)
    def inner(a, b):
        return a + b

    def outer(a, b):
        return inner(a, b)

    b = ufuncgen.Vectorize(outer, nopython=True)
    b.add("(int64, int64)")
    assert b.build_ufunc()(-1, 3) == 2

    @ufuncgen.vectorize
    def ug_inner(a, b):
        return a - b

    @ufuncgen.vectorize(["f8(f8, f8)"])
    def ug_outer(a, b):
        return ug_inner(a, b) * 2

    assert ug_outer(5.0, 1.0) == 8.0


DATA_LIST = [1.0, 2.0]


def test_unsupported_global_is_a_type_error_naming_it():
    with pytest.raises(TypeError) as ei:
        @ufuncgen.vectorize(["f8(f8)"])
        def f(x):
            return x + DATA_LIST[0]

    msg = str(ei.value)
    assert "DATA_LIST" in msg and "list" in msg
    assert ei.value.filename == HERE
    assert "DATA_LIST[0]" in open(HERE).read().splitlines()[ei.value.lineno - 1]
    last = traceback.extract_tb(ei.value.__traceback__)[-1]
    assert last.filename == HERE and last.lineno == ei.value.lineno


SCALE = 0.5
COUNT = -3
FLAG = True
F32 = np.float32(1.5)
BIG = np.inf
NEG = -np.inf
PAIR = (1, 2.5)


def _constant_source(f):
    return ufuncgen._pickle.spec_of(f)["source"]


def test_constants_are_appended_after_the_kernel():
    # The text the kernel compiles from (checked without compiling it).
    import ufuncgen._scope as sc
    from ufuncgen._source import from_function

    def k(x):
        return x * SCALE + COUNT + FLAG + F32 + BIG + NEG + PAIR[0]

    res = sc.resolve(k, from_function(k))
    lines = res.text.splitlines()
    assert lines[:2] == ["def k(x):", "    return x * SCALE + COUNT + FLAG + F32 + BIG + NEG + PAIR[0]"]
    assert set(lines[2:]) == {"SCALE = 0.5", "COUNT = -3", "FLAG = True", "F32 = np.float32(1.5)", "BIG = np.inf",
                              "NEG = -np.inf", "PAIR = (1, 2.5)"}
    assert sc.literal(np.nan) == "np.nan" and sc.literal(np.float64(np.nan)) == "np.float64(np.nan)"
    assert sc.literal((np.inf,)) == "(np.inf,)"
    assert sc.literal(np.int16(-7)) == "np.int16(-7)" and sc.literal((1,)) == "(1,)"
    assert sc.literal(np.float16(1)) == "np.float16(1.0)" and sc.literal([1]) is None
    assert sc.literal(1.5 - 2j) == "complex(1.5, -2.0)" and sc.literal(np.complex64(np.inf)) == "np.complex64(complex(np.inf, 0.0))"
    assert sc.literal(np.longdouble(1)) is None


def test_constants_compile_and_are_frozen():
    @ufuncgen.vectorize(["f8(f8)"])
    def f(x):
        return x * SCALE + COUNT + F32 + (1.0 if FLAG else 0.0) - BIG + PAIR[1]

    x = np.arange(4.0)
    np.testing.assert_array_equal(f(x), x * 0.5 - 3 + 1.5 + 1.0 - np.inf + 2.5)

    def k(x):
        return x * SCALE + COUNT

    for dt in ("f4", "i4"):  # typed as Numba types globals: float64, int64
        g = ufuncgen.vectorize([f"({dt},)"])(k)
        nb = numba.vectorize([f"({dt},)"])(k)
        assert g.types == nb.types
        a = np.arange(5).astype(dt)
        np.testing.assert_array_equal(g(a), nb(a))

    @ufuncgen.vectorize(["f8(f8)"])
    def g(x):
        return H.uses_offset(x)

    np.testing.assert_array_equal(g(x), x + H.OFFSET)


def test_numba_vectorize_decor_sinc_with_module_constant():
    pi = math.pi  # noqa: F841 - the kernel below reads the module's pi (as Numba's test does)
    f = ufuncgen.vectorize(["float64(float64)", "float32(float32)"])(sinc)
    nb = numba.vectorize(["float64(float64)", "float32(float32)"])(sinc)
    A = np.arange(100, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # test_branch_not_taken_raises_no_fp_flag
        np.testing.assert_allclose(f(A), nb(A), rtol=1e-15)
        np.testing.assert_allclose(f(A.astype(np.float32)), nb(A.astype(np.float32)), rtol=1e-6)


def positive_sqrt(val):
    if val < 0.0:
        raise ValueError("Value must be positive")
    return val ** 0.5


def scale_positive(inp, n, out):
    for i in range(inp.shape[0]):
        if inp[i] < 0:
            raise ValueError("Value must be positive")
        out[i] = inp[i] * n[0]


@pytest.mark.parametrize("mod", [ufuncgen, numba], ids=["ufuncgen", "numba"])
def test_raise_in_kernels_as_numba(mod):
    # Numba's test_errors: the elements before and after a failing one are computed (ufunc);
    # a gufunc stops its core loop at the error.
    f = mod.vectorize(["float64(float64)"])(positive_sqrt)
    arr = np.array([1, 4, -2, 9, -1, 16], dtype=np.float64)
    out = np.zeros_like(arr)
    with pytest.raises(ValueError, match="Value must be positive"):
        f(arr, out)
    assert list(out) == [1, 2, 0, 3, 0, 4]
    g = mod.guvectorize(["int32[:], int32[:], int32[:]"], "(n),()->(n)")(scale_positive)
    arr = np.array([1, 2, -3, 4], dtype=np.int32)
    out = np.zeros_like(arr)
    with pytest.raises(ValueError):
        g(arr, 2, out)
    assert list(out) == [2, 4, 0, 0]


PI = math.pi


def sinc(x):
    if x == 0.0:
        return 1.0
    else:
        return math.sin(x * PI) / (PI * x)


def test_changing_a_helper_in_another_module_recompiles(tmp_path, fresh_cache, run_python):
    mod = tmp_path / "helpmod_cache.py"
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np, ufuncgen
        from helpmod_cache import h
        @ufuncgen.vectorize(["f8(f8)"], cache=True)
        def f(x):
            return h(x) * 2.0
        print(f(np.array([1.0]))[0])
    """))
    code = f"import runpy; runpy.run_path({str(script)!r})"
    mod.write_text("def h(x):\n    return x + 1.0\n")
    assert float(run_python(code)) == 4.0
    assert float(run_python(code)) == 4.0  # from the cache
    mod.write_text("def h(x):\n    return x + 10.0\n")
    assert float(run_python(code)) == 22.0
    mod.write_text("K = 100.0\ndef h(x):\n    return x + K\n")  # a constant of the helper's module
    assert float(run_python(code)) == 202.0
    mod.write_text("K = 1000.0\ndef h(x):\n    return x + K\n")
    assert float(run_python(code)) == 2002.0
    assert len(list(fresh_cache.glob("*.ugo"))) == 4  # one object per version of the helper


# ================================================================== 4. the object users get back

def test_wrapper_attributes():
    @ufuncgen.vectorize(["f8(f8, f8)"])
    def combine(a, b):
        return a * 2 + b

    w = ufuncgen.wrapper(combine)
    assert isinstance(combine, np.ufunc)
    assert w.py_func(1, 2) == 4 and w.signatures == ["dd->d"] and not w.is_dynamic
    if NUMPY_ATTRS:
        assert combine.py_func is w.py_func and combine.__wrapped__ is w.py_func
        assert combine.__module__ == __name__
        assert combine.__qualname__ == "test_wrapper_attributes.<locals>.combine"
        assert combine.ufunc is combine


@pytest.mark.skipif(not NUMPY_ATTRS, reason="ufuncs take attributes from NumPy 2.2")
def test_ufunc_with_its_attributes_is_collected():
    """uf.ufunc is uf and the bound uf.add refer back to the ufunc: a cycle
    through its __dict__, which the garbage collector only breaks when it
    tracks the ufunc (NumPy's constructor does not). Untracked, every ufunc
    made by a decorator stayed alive for good (16 kB each)."""
    import gc

    freed = []

    class Marker:
        def __del__(self):
            freed.append(1)

    def make(i):
        uf = ufuncgen.vectorize(["f8(f8)"])(f"def k{i}(x):\n    return x + {i}.0\n")
        assert uf.ufunc is uf and uf(1.0) == 1.0 + i
        uf.marker = Marker()

    for i in range(20):
        make(i)
    gc.collect()
    assert len(freed) == 20


def test_add_and_disable_compile_as_numba_dufunc():
    @ufuncgen.vectorize
    def f(x, y):
        return x + y

    nb = numba.vectorize(f.py_func if NUMPY_ATTRS else ufuncgen.wrapper(f).py_func)
    w = ufuncgen.wrapper(f)
    assert w.is_dynamic
    assert f(1, 2) == nb(1, 2) == 3
    frozen = ufuncgen.vectorize(w.py_func)
    frozen(1, 2)
    ufuncgen.wrapper(frozen).disable_compile()
    with pytest.raises(TypeError):
        frozen(1.5, 2.5)  # float64 does not cast safely to the only loop, ll->l
    w.add("f8(f8, f8)")
    nb.add("f8(f8, f8)")
    assert f.types == nb.types == ["ll->l", "dd->d"]
    w.add(float32(float32, float32))
    assert f.types[-1] == "ff->f"
    w.disable_compile()
    nb.disable_compile()
    assert not w.is_dynamic
    r = f(np.arange(3, dtype=np.int16), np.arange(3, dtype=np.int16))  # cast to ll->l, nothing compiled
    assert r.dtype == np.int64 and f.types == ["ll->l", "dd->d", "ff->f"]
    with pytest.raises(RuntimeError, match="compilation disabled"):
        w.add("i4(i4, i4)")
    with pytest.raises(RuntimeError, match="compilation disabled"):
        nb.add("i4(i4, i4)")
    g = pickle.loads(pickle.dumps(f))  # the state travels: the loops, frozen
    assert g.types == f.types and not ufuncgen.wrapper(g).is_dynamic
    np.testing.assert_array_equal(g(np.arange(3.0), 1.0), np.arange(3.0) + 1)


@pytest.mark.skipif(not NUMPY_ATTRS, reason="ufunc instance attributes need NumPy >= 2.2")
def test_methods_are_attributes_of_the_ufunc():
    @ufuncgen.guvectorize("(n)->()")
    def sum_row(inp, out):
        tmp = 0.0
        for i in range(inp.shape[0]):
            tmp += inp[i]
        out[0] = tmp

    assert sum_row.is_dynamic
    inp = np.arange(30000, dtype=np.int32).reshape(10000, 3)
    out = np.zeros(10000, dtype=np.int32)
    sum_row(inp, out)
    np.testing.assert_array_equal(out, inp.sum(axis=1))
    sum_row.add("void(f8[:], f8[:])")
    assert sum_row.types == ["i->i", "d->d"]
    sum_row.disable_compile()
    assert not sum_row.is_dynamic
    assert sum_row(np.ones((2, 2), np.int64)).dtype == np.float64  # cast, nothing compiled
    assert sum_row.types == ["i->i", "d->d"]


def test_inspect_text_per_signature():
    f = ufuncgen.vectorize(["f8(f8, f8)", "f4(f4, f4)"])(mul_add)
    w = ufuncgen.wrapper(f)
    ir, asm, ty = w.inspect_llvm(), w.inspect_asm(), w.inspect_types()
    assert list(ir) == list(asm) == list(ty) == ["dd->d", "ff->f"]
    assert "define" in ir["dd->d"] and "double" in ir["dd->d"] and "float" in ir["ff->f"]
    assert ".text" in asm["dd->d"]
    assert "mul_add" in ty["dd->d"] and "float64" in ty["dd->d"] and "float32" in ty["ff->f"]


def test_inspect_and_disable_compile_of_a_gufunc_without_outputs():
    """'(n,m),()' has no NumPy signature spelling ('dd->' is refused): the
    dumps and the frozen signatures a pickle carries were 'float64->...'."""
    src = "def fill(a, x):\n    for i in range(a.shape[0]):\n        a[i, 0] = x\n"
    g = ufuncgen.guvectorize(["void(f8[:, :], f8)", "void(f4[:, :], f4)"], "(n,m),()", writable_args=(0,))(src)
    w = ufuncgen.wrapper(g)
    ir, asm, ty = w.inspect_llvm(), w.inspect_asm(), w.inspect_types()
    assert list(ir) == list(asm) == list(ty) == ["dd->", "ff->"]
    assert "double" in ir["dd->"] and "float" in ir["ff->"] and ".text" in asm["dd->"]
    assert "fill" in ty["dd->"] and "float32" in ty["ff->"]
    lazy = ufuncgen.guvectorize(layout="(n)", writable_args=(0,))("def neg(a):\n    for i in range(a.shape[0]):\n        a[i] = -a[i]\n")
    a = np.arange(3.0)
    lazy(a)
    ufuncgen.wrapper(lazy).disable_compile()
    again = pickle.loads(pickle.dumps(lazy))
    assert again.types == ["d->"]
    again(a)
    np.testing.assert_array_equal(a, [0.0, 1.0, 2.0])


def test_disable_jit_runs_python(run_python, tmp_path):
    script = tmp_path / "nojit.py"
    script.write_text(textwrap.dedent("""
        import numpy as np, ufuncgen
        @ufuncgen.vectorize(["float64(float64, float64)", "int64(int64, int64)"])
        def f(a, b):
            return a + b
        r = f(np.arange(3, dtype=np.int32), 2)
        print(type(f).__name__, r.dtype, r.tolist(), getattr(f, "py_func", None) is not None)
        r = f(np.arange(2.0), 0.5)
        print(r.dtype, r.tolist())
        @ufuncgen.guvectorize(["void(f8[:], f8, f8[:])"], "(n),()->(n)")
        def g(a, k, out):
            for i in range(a.shape[0]):
                out[i] = a[i] * k
        print(g(np.arange(6.0).reshape(2, 3), 2.0).tolist())
        s = ufuncgen.vectorize("def s(x):\\n    return sqrt(x) + 1\\n", ["f8(f8)"])
        print(s(np.array([4.0, 9.0])).tolist())
    """))
    out = run_python(f"import runpy; runpy.run_path({str(script)!r})", env={"UFUNCGEN_DISABLE_JIT": "1"})
    jit = run_python(f"import runpy; runpy.run_path({str(script)!r})", env={"UFUNCGEN_DISABLE_JIT": "0"})
    assert jit.splitlines()[0].startswith("ufunc float64 [2.0, 3.0, 4.0]")  # compiled: the same dtypes, values
    assert jit.splitlines()[1:] == out.splitlines()[1:]
    lines = out.splitlines()
    assert lines[0] == "PythonUfunc float64 [2.0, 3.0, 4.0] True"  # NumPy's choice: the first loop int32 casts to
    assert lines[1] == "float64 [0.5, 1.5]"
    assert lines[2] == "[[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]"
    assert lines[3] == "[3.0, 4.0]"  # a string kernel, run as Python with the kernel language's names


# ================================================================== 5. threads

def test_thread_count_checks_as_numba():
    top = ufuncgen._max_threads()
    before = ufuncgen.get_num_threads()
    try:
        ufuncgen.set_num_threads(1)
        assert ufuncgen.get_num_threads() == 1
        ufuncgen.set_num_threads(np.int64(top))
        assert ufuncgen.get_num_threads() == top
        for bad in (-1, top + 1, 2 ** 31, 2 ** 32, 2 ** 40):
            with pytest.raises(ValueError, match=str(bad)):
                ufuncgen.set_num_threads(bad)
            with pytest.raises(ValueError):
                numba.set_num_threads(bad)
            with pytest.raises(ValueError, match="num_threads"):
                ufuncgen.vectorize(["f8(f8, f8)"], target="parallel", num_threads=bad)(add2)
        for bad in (1.5, "2", None):
            with pytest.raises(TypeError):
                ufuncgen.set_num_threads(bad)
            with pytest.raises(TypeError):
                numba.set_num_threads(bad)
        assert ufuncgen.get_num_threads() == top  # nothing changed by the failures
    finally:
        ufuncgen.set_num_threads(0)
    assert ufuncgen.get_num_threads() == before
    f = ufuncgen.vectorize(["f8(f8, f8)"], target="parallel", num_threads=1)(add2)
    a = np.arange(200_000.0)
    np.testing.assert_array_equal(f(a, a), a + a)


# ================================================================== 6. errors point at the user's file

def test_name_error_points_at_the_kernel_line_in_this_file():
    def build():
        @ufuncgen.vectorize(["f8(f8)"])
        def f(x):
            y = x + 1.0
            return y + surely_not_defined  # noqa: F821

    with pytest.raises(NameError) as ei:
        build()
    want = line_of(build, "surely_not_defined")
    assert ei.value.filename == HERE and ei.value.lineno == want
    assert "surely_not_defined" in str(ei.value) and f"{HERE}:{want}" in str(ei.value)
    tb = traceback.extract_tb(ei.value.__traceback__)
    assert (tb[-1].filename, tb[-1].lineno) == (HERE, want)
    assert tb[-1].line.strip() == "return y + surely_not_defined  # noqa: F821"
    assert not any("ufuncgen" in fr.filename and fr.name != "decorate" for fr in tb)


def test_type_error_points_at_the_kernel_line():
    def build():
        @ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(n),(n)->()")
        def dot(a, b, out):
            acc = 0.0
            for i in range(a.shape[0]):
                acc += a[i] * b
            out[0] = acc

    with pytest.raises(TypeError) as ei:
        build()
    assert ei.value.lineno == line_of(build, "acc += a[i] * b") and ei.value.filename == HERE


def test_errors_in_helpers_point_at_the_helper_module():
    with pytest.raises(NameError) as ei:
        @ufuncgen.vectorize(["f8(f8)"])
        def f(x):
            return H.undefined_helper(x)

    assert ei.value.filename == H.__file__
    assert "not_defined_anywhere" in open(H.__file__).read().splitlines()[ei.value.lineno - 1]
    with pytest.raises(SyntaxError) as es:
        @ufuncgen.vectorize(["f8(f8)"])
        def g(x):
            return H.bad_helper(x)

    assert es.value.filename == H.__file__
    assert "with open" in es.value.text


# ================================================================== 7. builders and the import path

def matmulcore(A, B, C):
    m, n = A.shape
    n, p = B.shape
    for i in range(m):
        for j in range(p):
            C[i, j] = 0
            for k in range(n):
                C[i, j] += A[i, k] * B[k, j]


def test_builders_as_numba():
    b = ufuncgen.Vectorize(add2)
    b.add("int32(int32, int32)")
    b.add("int64(int64, int64)")
    b.disable_compile()
    uf = b.build_ufunc()
    assert b.ufunc is uf and uf.__name__ == "add2" and "An addition" in uf.__doc__
    a = np.arange(12, dtype="int32")
    for x in (a, a[::2], a[::2].reshape(2, 3)):
        r = uf(x, x)
        assert r.dtype == x.dtype
        np.testing.assert_array_equal(r, x + x)
    g = ufuncgen.GUVectorize(matmulcore, "(m,n),(n,p)->(m,p)", is_dynamic=True).build_ufunc()
    for dt in (np.int64, np.float32):
        A = np.arange(10 * 2 * 4, dtype=dt).reshape(10, 2, 4)
        B = np.arange(10 * 4 * 5, dtype=dt).reshape(10, 4, 5)
        C = np.zeros((10, 2, 5), dt)
        g(A, B, C)
        np.testing.assert_allclose(C, np.matmul(A, B), rtol=1e-5)
    assert len(g.types) == 2


def test_import_line_switch():
    from ufuncgen.numba import (float64 as F8, get_num_threads, guvectorize, int64 as I8, njit, prange,  # noqa
                                set_num_threads, vectorize, void as V)
    assert list(prange(2, 8, 3)) == [2, 5]
    assert ugnumba.types.float64 is F8

    @njit
    def helper(v):
        return v + 1

    @guvectorize([V(F8[:], I8, F8[:])], "(n),()->(n)", target="parallel")
    def shift(a, k, out):
        for i in prange(a.shape[0]):
            out[i] = helper(a[i]) + k

    @guvectorize([numba.void(numba.float64[:], numba.float64[:])], "(n)->(n)")
    def with_numba_prange(a, out):
        for i in numba.prange(a.shape[0]):
            out[i] = a[i]

    x = np.arange(8.0).reshape(2, 4)
    np.testing.assert_array_equal(shift(x, 2), x + 3)
    np.testing.assert_array_equal(with_numba_prange(x), x)
    assert get_num_threads() >= 1


def test_vectorize_numba_usecases():
    def equals(a, b):
        return a == b

    r = ufuncgen.vectorize(["bool_(int32, int32)"])(equals)(np.arange(10, dtype="int32"), np.arange(10, dtype="int32"))
    assert r.dtype == np.bool_ and r.all()
    a, b = np.linspace(0, 1, 10), np.linspace(1, 2, 10)
    c = np.empty(10)
    ufuncgen.vectorize(add2)(a, b, c)
    np.testing.assert_array_equal(c, a + b)
    mul = ufuncgen.vectorize(identity=1, nopython=True)(lambda x, y: x * y)
    np.testing.assert_array_equal(mul(a, b), a * b)
    for f in (ufuncgen.vectorize(["int32(int32, int32)"], nopython=True)(add2), ufuncgen.vectorize(nopython=True)(add2)):
        for _ in range(2):
            x = np.arange(10, 16, dtype="int32")
            out = np.zeros_like(x)
            assert f(x, x, out=out) is out
            np.testing.assert_array_equal(out, x + x)
            with pytest.raises(TypeError):
                f(x, x, zzz=out)


def test_scaled_sinc_with_unsigned_scale():
    def scaled(x, scale):
        if x == 0.0:
            return scale
        return scale * (math.sin(x * math.pi) / (math.pi * x))

    f = ufuncgen.vectorize(["float64(float64, uint32)"])(scaled)
    nb = numba.vectorize(["float64(float64, uint32)"])(scaled)
    A = np.arange(100, dtype=np.float64)
    with np.errstate(all="raise"):  # the branch not taken raises nothing (test below)
        np.testing.assert_allclose(f(A, np.uint32(3)), nb(A, np.uint32(3)), rtol=1e-14, atol=1e-12)


def test_branch_not_taken_raises_no_fp_flag():  # issue 16 item 7 (loops/guard.c)
    def scaled(x, scale):
        if x == 0.0:
            return scale
        return scale * (math.sin(x * math.pi) / (math.pi * x))

    f = ufuncgen.vectorize(["float64(float64, uint32)"])(scaled)
    with np.errstate(all="raise"):
        f(np.arange(10.0), np.uint32(3))


def test_guvectorize_numba_usecases():
    def guadd(a, b, c):
        x, y = c.shape
        for i in range(x):
            for j in range(y):
                c[i, j] = a[i, j] + b[i, j]

    a = np.arange(10, dtype="int32").reshape(2, 5)
    g = ufuncgen.guvectorize(["(int32[:,:], int32[:,:], int32[:,:])"], "(x,y),(x,y)->(x,y)")(guadd)
    np.testing.assert_array_equal(g(a, a), a + a)
    for identity in (0, 1, None, "reorderable"):
        h = ufuncgen.guvectorize(["(int32[:,:], int32[:,:], int32[:,:])"], "(x,y),(x,y)->(x,y)",
                                 identity=identity)(guadd)
        assert h.identity == (None if identity == "reorderable" else identity)
    for bad in (")-:", "(x,y),(x,y)->"):
        with pytest.raises(ValueError):
            ufuncgen.guvectorize(["(int32[:,:], int32[:,:], int32[:,:])"], bad)(guadd)

    @ufuncgen.guvectorize("()->()", identity=1)
    def double(x, out):
        out[0] = x * 2

    expect = np.zeros(10, np.int64)
    double(np.arange(10), out=expect)
    np.testing.assert_array_equal(expect, np.arange(10) * 2)
    cloned = pickle.loads(pickle.dumps(double))  # dynamic, initialised: stays dynamic
    assert cloned.identity == 1 and ufuncgen.wrapper(cloned).is_dynamic
    got = np.zeros(1)
    cloned(0.5, out=got)
    assert got[0] == 1.0


def test_update_inplace_with_cache_and_parallel():
    for kw in (dict(cache=True), dict(cache=True), dict(target="parallel")):
        g = ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(t),()->()", nopython=True, writable_args=(0,),
                                 **kw)(replace_every_2nd)
        x = np.zeros(10, "f4")
        g(x, 2)
        np.testing.assert_array_equal(x, [2, 0] * 5)
    with pytest.raises(ValueError):
        ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(t),()->()", writable_args=(5,))(replace_every_2nd)
    with pytest.raises(ValueError):
        ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(t),()->()", writable_args=(-1,))(replace_every_2nd)
    with pytest.raises(ValueError, match="not_a_param"):
        ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(t),()->()",
                             writable_args=("not_a_param",))(replace_every_2nd)


# ================================================================== 8. what is wrong with a source string

@pytest.mark.parametrize("src, msg", [
    ("", "empty"),
    ("   \n\n", "empty"),
    ("# just a comment\n", "only comments"),
    ("class A:\n    pass\n", "class"),
    ("async def f(x):\n    return x\n", "async def"),
    ("x = 1\ny = 2\n", "must start with def|defines no kernel"),
])
def test_bad_source_strings_say_what_is_wrong(src, msg):
    calls = [lambda: ufuncgen.vectorize(src, ["f8(f8)"]), lambda: ufuncgen.guvectorize(src, ["dd->d"], "(),()->()"),
             lambda: ufuncgen.vectorize(["f8(f8)"])(src)]
    for call in calls:
        with pytest.raises(SyntaxError, match=msg) as ei:
            call()
        assert "target" not in str(ei.value)
        if "x = 1" not in src:  # (module constants and no def: the parser says so at the end)
            first_code = next((i + 1 for i, ln in enumerate(src.splitlines()) if ln.strip()
                               and not ln.strip().startswith("#")), 1)
            assert ei.value.lineno == first_code and ei.value.offset == 1


def test_utf8_bom_before_def_is_accepted():
    f = ufuncgen.vectorize("\ufeffdef f(x):\n    return x + 1.0\n", ["f8(f8)"])
    assert f(1.0) == 2.0
    assert ufuncgen.vectorize(["f8(f8)"])("\ufeff# c\ndef g(x):\n    return x * 2.0\n")(2.0) == 4.0


# ================================================================== 9. packaging

def test_typing_files_and_license_ship_with_the_package():
    files = importlib.resources.files("ufuncgen")
    assert files.joinpath("py.typed").is_file()
    stub = files.joinpath("__init__.pyi").read_text()
    assert "-> np.ufunc" in stub
    meta = importlib.metadata.metadata("ufuncgen")
    assert "BSD-3-Clause" in (meta.get("License-Expression") or meta.get("License") or "")
    dist = importlib.metadata.distribution("ufuncgen")
    lic = [f for f in dist.files or () if f.name.startswith("LICENSE")]
    assert lic and "Copyright (c) 2026, the ufuncgen developers" in lic[0].read_text()


def test_loop_variable_read_after_a_loop_that_may_not_run_is_numbas_value():
    """Python raises UnboundLocalError when such a loop ran zero times; Numba
    compiles the read (its own test_dataflow.for_break, in nopython mode) and
    gives 0 there. ufuncgen accepts the kernels Numba accepts, with Numba's
    values: the search idiom (break out, use the index) must compile."""
    def last(n):
        for i in range(n):
            pass
        return i

    def first_above(a, x, out):
        for j in range(a.shape[0]):
            if a[j] > x:
                break
        out[0] = j

    u, nb = ufuncgen.vectorize(["i8(i8)"])(last), numba.vectorize(["i8(i8)"])(last)
    n = np.array([3, 0, -2, 1])
    np.testing.assert_array_equal(u(n), nb(n))
    assert u(n).tolist() == [2, 0, 0, 0]
    sig, layout = ["void(f8[:], f8, i8[:])"], "(n),()->()"
    gu, gnb = ufuncgen.guvectorize(sig, layout)(first_above), numba.guvectorize(sig, layout)(first_above)
    a = np.array([[1.0, 5.0, 2.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(gu(a, 1.5), gnb(a, 1.5))
    assert gu(a, 1.5).tolist() == [1, 2]
    assert gu(np.zeros(0), 1.0) == gnb(np.zeros(0), 1.0) == 0
