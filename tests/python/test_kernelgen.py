"""Random whole kernels (tests/python/kernelgen.py): differential tests
against Python running the same source on NumPy scalars, and invalid
programs that must fail with an error pointing inside the source.

Budgets come from the hypothesis profile (conftest.py): each example
compiles one kernel (~15-25 ms); the invalid programs, most of which stop
in the parser, get four times the profile's examples.
"""
import re

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

import kernelgen as kg  # noqa: E402
import ufuncgen  # noqa: E402

SPECIAL = {
    kg.F8: [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, 5e-324, 1.0, -1.0, 0.5, 2.0, 1e300],
    kg.F4: [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, 1e-45, 1.0, -1.0, 0.5, 2.0, 3e38],
    kg.I8: [0, 1, -1, 2, 3, -3, 63, 64, 2**63 - 1, -2**63, 2**31, -2**31 - 1],
    kg.I4: [0, 1, -1, 2, 3, -3, 31, 32, 2**31 - 1, -2**31, 2**16, -2**16 - 1],
    kg.U1: [0, 1, 2, 3, 7, 8, 127, 128, 254, 255],
}


def values(rnd, dtype, shape, small=False):
    """Input values: mostly moderate non-integral ones (so floor, comparisons,
    trip counts matter), some integral, huge, tiny and special ones. Drawn
    from a hypothesis-seeded Random: hypothesis' own floats favour integers."""
    n = int(np.prod(shape))
    out = []
    for _ in range(n):
        r = rnd.random()
        if dtype in kg.INTS:
            info = np.iinfo(dtype)
            v = (rnd.choice(SPECIAL[dtype]) if r < 0.15 else rnd.randint(info.min, info.max) if r < 0.3
                 else rnd.randint(max(-10, info.min), 10))
        elif r < 0.1:
            v = rnd.choice(SPECIAL[dtype])
        elif r < 0.2:
            v = float(rnd.randint(-20, 20))
        elif r < 0.3 and not small:
            v = rnd.choice([-1, 1]) * 10.0 ** rnd.uniform(-40, 40)
        else:
            v = rnd.uniform(-30, 30) if small else rnd.uniform(-10, 10)
        out.append(v)
    with np.errstate(all="ignore"):
        return np.array(out, dtype=object).astype(dtype).reshape(shape)


def _describe(kernel, inputs, got, want, bad):
    rows = [f"{kernel.signature} layout={kernel.layout}\n{kernel.source}"]
    for idx in bad[:5]:
        if kernel.layout is None:
            args = ", ".join(repr(a[idx] if a.ndim else a) for a in np.broadcast_arrays(*inputs))
        else:
            args = ", ".join(repr(a[idx[0]].tolist()) for a in inputs)
        rows.append(f"  k({args}) = {got[idx]!r}, want {want[idx]!r}")
    return "\n".join(rows)


def compile_kernel(kernel, boundscheck=False, source=None):
    """ufuncgen's ufunc for a Kernel (or for another source with its signature)."""
    source = kernel.source if source is None else source
    if kernel.layout is None:
        return ufuncgen.vectorize([kernel.signature])(source)
    return ufuncgen.guvectorize([kernel.signature], kernel.layout, boundscheck=boundscheck)(source)


def check_kernel(kernel, data):
    """Compile, run on random inputs, compare with the Python reference."""
    dtype = kernel.in_dtypes[0]
    rnd = data.draw(st.randoms(use_true_random=False))  # replayable and shrinkable by hypothesis
    shape = rnd.randint(1, 16) if kernel.layout is None else (rnd.randint(1, 3), rnd.randint(0, 6))
    inputs = [values(rnd, dtype, shape, kernel.tainted) for _ in kernel.in_dtypes]
    strided = kernel.layout is not None and rnd.random() < 0.4
    if strided:  # rows that are strided or reversed views (slices and views of them in the kernel)
        inputs = [_strided(rnd, x) for x in inputs]
    f = compile_kernel(kernel)
    want = kg.reference(kernel, *inputs)
    if isinstance(want, kg.Raised):  # the Python run stopped at a raise: so must the kernel
        with pytest.raises(want.type) as e, np.errstate(all="ignore"):
            f(*inputs)
        where = f"(kernel '{kernel.name}', line {want.line})"
        assert str(e.value) == f"{want.message} {where}" if want.message else where in str(e.value), \
            _describe(kernel, inputs, None, None, []) + f"\nwant {want}, got {e.value!r}"
        return
    with np.errstate(all="ignore"):
        got = f(*inputs)
    assert got.dtype == np.dtype(kernel.out_dtype) and got.shape == want.shape
    bad = kg.mismatches(got, want)
    assert not bad, _describe(kernel, inputs, got, want, bad)
    if strided:  # and a strided out=
        out = _strided(rnd, np.zeros_like(got))
        with np.errstate(all="ignore"):
            f(*inputs, out=out)
        bad = kg.mismatches(out, want)
        assert not bad, "out=strided\n" + _describe(kernel, inputs, out, want, bad)


def _strided(rnd, x):
    """x as a view whose last axis is stepped by 2, -1 or -2 over a larger buffer."""
    step = rnd.choice([2, -1, -2])
    base = np.zeros(x.shape[:-1] + (x.shape[-1] * abs(step),), dtype=x.dtype)
    v = base[..., ::step]
    v[...] = x
    return v


@pytest.mark.parametrize("dtypes", [[kg.F8], [kg.F4], [kg.I8], [kg.I4, kg.U1]], ids=["f8", "f4", "i8", "i4-u1"])
@given(data=st.data())
def test_scalar_kernels(dtypes, data):
    """Half the kernels are arithmetic only (bit-exact), half also use transcendental functions."""
    dtype = data.draw(st.sampled_from(dtypes))
    check_kernel(data.draw(kg.scalar_kernels(dtype, data.draw(st.booleans()))), data)


@pytest.mark.parametrize("dtypes", [[kg.F8], [kg.F4], list(kg.INTS)], ids=["f8", "f4", "ints"])
@given(data=st.data())
def test_gufunc_kernels(dtypes, data):
    dtype = data.draw(st.sampled_from(dtypes))
    check_kernel(data.draw(kg.gufunc_kernels(dtype, data.draw(st.booleans()))), data)


# ---------------------------------------------------------------- invalid programs


def run_mutant(mutant, f):
    """A mutant that compiled must run (unless it may loop forever: a mutated
    while guard can)."""
    if re.search(r"\bwhile\b", mutant.source):
        return
    k = mutant.kernel
    dt = np.dtype(k.in_dtypes[0])
    with np.errstate(all="ignore"):
        try:
            if k.layout is None:
                f(*[np.array([-2, -1, 0, 1, 3], dtype=dt)] * f.nin)
            else:
                f(np.arange(6, dtype=dt).reshape(2, 3), np.ones((2, 3), dtype=dt))
        except IndexError:  # boundscheck: a mutated index may be out of range
            pass
        except (AssertionError, ValueError, ArithmeticError, RuntimeError, MemoryError) as e:
            # an inserted `assert x`, `raise ...` or range(..., 0) stops the call as the kernel says
            assert re.search(r"\(kernel '\w+', line \d+\)", str(e)), f"{type(e).__name__}: {e}"


def check_invalid(mutant):
    try:
        f = compile_kernel(mutant.kernel, boundscheck=True, source=mutant.source)
    except Exception as e:  # noqa: BLE001 - the check says which exceptions are fine
        try:
            kg.check_error(e, mutant.source)
        except AssertionError as a:
            raise AssertionError(f"{a}\nmutation: {mutant.how}\nsource:\n{mutant.source}") from e
        return
    run_mutant(mutant, f)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # Python's own ast.parse of a mutant, in ufuncgen._source
@settings(max_examples=4 * settings.default.max_examples)  # most fail in the parser: cheap
@given(mutant=kg.invalid_programs())
def test_invalid_programs(mutant):
    check_invalid(mutant)


def test_error_oracle_keyword_as_name():
    """Seen from hypothesis: a header whose name is a keyword names no kernel,
    so an error after it (here the lexer's, on line 2) may name none; with a
    real name the message must name it."""
    body = "(x, y, z):\n    if x:\n        return x\n    return y\n"
    for src, name in (("\tdef elif k" + body, None), ("\tdef k" + body, "k")):
        with pytest.raises(SyntaxError) as e:
            ufuncgen.vectorize(src, ["f8(f8,f8,f8)"])
        assert kg.check_error(e.value, src) == (2, 5, name)


# Found by the GUFUNC_MUTANTS of kernelgen.py: the error lacked the kernel's line.
def test_unequal_slice_store_error_names_the_line():
    src = "def g(a, b, out):\n    out[:] = 0\n    out[:2] = a[:3]\n"
    f = ufuncgen.guvectorize(["void(f8[:], f8[:], f8[:])"], "(n),(n)->(n)")(src)
    with pytest.raises(ValueError, match=r"could not broadcast .*\(kernel 'g', line 3\)"):
        f(np.arange(3.0), np.ones(3))


# Found by the invalid-program generator: the write analysis (kernel/writes.c)
# walked the recursive call again on every fixpoint round, without end.
def test_recursive_call_after_a_view_is_an_error():
    import subprocess
    import sys

    src = "def g(a, b, out):\n    v = a[1:]\n    x = g(a, b, out)\n"
    code = ("import ufuncgen\ntry:\n    ufuncgen.guvectorize(['void(f8[:], f8[:], f8[:])'], '(n),(n)->()')(%r)\n"
            "except TypeError as e:\n    print(e)\n" % src)
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("compiling a recursive kernel with a view did not finish in 20 s")
    assert "line 3, column 9: recursive call to 'g' is not supported" in r.stdout, r.stdout + r.stderr
