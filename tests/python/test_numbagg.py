"""numbagg's Numba gufunc kernels, compiled unchanged by ufuncgen.

numbagg (PyPI) builds every function from a kernel handed to
``numba.guvectorize(signatures, layout, nopython=True, ...)``. Here numbagg
runs twice: once as shipped (Numba compiles), once with that one call
swapped for ``ufuncgen.guvectorize`` given the same function object (its
source text, read by ufuncgen) and the same signatures and layout. Both runs
go through numbagg's own wrappers (axis handling, output allocation), and
the results are compared: float64 bit for bit, float32 within Numba's own
error against a float64 reference.

Nothing is fetched at run time; without numbagg or Numba the tests are
skipped with the reason.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import textwrap

import numpy as np
import pytest

numbagg = pytest.importorskip("numbagg", reason="numbagg is not installed (python/requirements-test.txt)")
numba = pytest.importorskip("numba", reason="Numba is not installed (python/requirements-test.txt)")

import ufuncgen  # noqa: E402
from numba.core import types as nt  # noqa: E402
from numbagg import decorators as nd  # noqa: E402

# ------------------------------------------------------------------ the swap


def _type_str(t) -> str:
    if isinstance(t, nt.Array):
        return f"{t.dtype}[{', '.join([':'] * t.ndim)}]"
    return str(t)


def _signature_str(sig) -> str:
    if isinstance(sig, tuple):
        return "void(" + ", ".join(_type_str(t) for t in sig) + ")"
    return str(sig)


def _ndreduce_source(func) -> tuple[str, str]:
    """The rewritten source numbagg's ndreduce hands to Numba (it compiles an
    AST, so inspect cannot read it back): rebuilt from the original text."""
    from numbagg.transform import _NDReduceTransformer

    for obj in vars(numbagg).values():
        if isinstance(obj, nd.ndreduce) and obj.transformed_func is func:
            tree = _NDReduceTransformer().visit(ast.parse(textwrap.dedent(inspect.getsource(obj.func))))
            ast.fix_missing_locations(tree)
            return obj.func.__name__, ast.unparse(tree)
    raise LookupError(f"no ndreduce of numbagg compiles {func!r}")


COMPILED: dict[str, str] = {}  # kernel name -> "ok" or the error


def _ufuncgen_guvectorize(signatures, layout, **options):
    sigs = [_signature_str(s) for s in signatures]

    def decorate(func):
        name = func.__name__
        kernel = func
        if name == "__numbagg_transformed_func":
            name, kernel = _ndreduce_source(func)
        try:
            uf = ufuncgen.guvectorize(sigs, layout, target=options.get("target", "cpu"))(kernel)
        except Exception as e:  # recorded, then re-raised: the test names the kernel
            COMPILED[name] = f"{type(e).__name__}: {e}"
            raise
        COMPILED[name] = "ok"
        return uf

    return decorate


def _clear_numbagg_caches():
    for cls in vars(nd).values():
        if isinstance(cls, type):
            for attr in ("gufunc", "_jit_func"):
                f = cls.__dict__.get(attr)
                f = getattr(f, "func", f)  # cached_property
                if hasattr(f, "cache_clear"):
                    f.cache_clear()


@contextlib.contextmanager
def swapped():
    real = nd.numba.guvectorize
    _clear_numbagg_caches()

    class _Shim:  # numbagg calls numba.guvectorize through the module object
        def __getattr__(self, name):
            return _ufuncgen_guvectorize if name == "guvectorize" else getattr(numba, name)

    nd.numba = _Shim()
    try:
        yield
    finally:
        nd.numba = numba
        assert nd.numba.guvectorize is real
        _clear_numbagg_caches()


# ------------------------------------------------------------------ the calls

def _data(dtype, shape=(3, 40), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        x[rng.random(shape) < 0.15] = np.nan
        x[0, :5] = np.nan  # a leading run of NaN
    else:
        x = (x * 10).astype(dtype)
    return x


LABELS = np.array([0, 1, 2, 1, 0, -1, 3, 2] * 5)


def _calls():
    """(kernel name, numbagg function, args builder(dtype), dtypes)."""
    f64_32 = (np.float64, np.float32)
    nums = (np.float64, np.float32, np.int64, np.int32)
    c = []
    for n in ("allnan", "anynan", "nancount", "nansum"):
        c.append((n, n, lambda dt: ((_data(dt),), {"axis": -1}), nums))
    for n in ("nanmean", "nanvar", "nanstd"):
        c.append((n, n, lambda dt: ((_data(dt),), {"axis": -1}), f64_32))
    for n in ("nanargmax", "nanargmin", "nanmax", "nanmin"):
        c.append((n, n, lambda dt: ((_data(dt)[1:],), {"axis": -1}), nums))
    c.append(("nanquantile", "nanquantile", lambda dt: ((_data(dt), [0.25, 0.5]), {"axis": -1}), (np.float64,)))
    for n in ("bfill", "ffill"):
        c.append((n, n, lambda dt: ((_data(dt),), {"limit": 3}), nums))
    for n in ("nancorrmatrix", "nancovmatrix"):
        c.append((n, n, lambda dt: ((_data(dt, (4, 30)),), {}), f64_32))
    for n in ("move_mean", "move_sum", "move_std", "move_var"):
        c.append((n, n, lambda dt: ((_data(dt),), {"window": 5, "min_count": 2}), f64_32))
    for n in ("move_cov", "move_corr"):
        c.append((n, n, lambda dt: ((_data(dt), _data(dt, seed=1)), {"window": 5, "min_count": 2}), f64_32))
    for n in ("move_exp_nancount", "move_exp_nanmean", "move_exp_nansum", "move_exp_nanvar", "move_exp_nanstd"):
        c.append((n, n, lambda dt: ((_data(dt),), {"alpha": 0.3}), f64_32))
    for n in ("move_exp_nancov", "move_exp_nancorr"):
        c.append((n, n, lambda dt: ((_data(dt), _data(dt, seed=1)), {"alpha": 0.3}), f64_32))
    for n in ("move_corrmatrix", "move_covmatrix"):
        c.append((n, n, lambda dt: ((_data(dt, (30, 3)),), {"window": 6, "min_count": 3}), f64_32))
    for n in ("move_exp_nancorrmatrix", "move_exp_nancovmatrix"):
        c.append((n, n, lambda dt: ((_data(dt, (30, 3)),), {"alpha": 0.3}), f64_32))
    for n in sorted(k for k in dir(numbagg) if k.startswith("group_")):
        dts = f64_32 if n in ("group_nanmean", "group_nanvar", "group_nanstd") else nums
        c.append((n, n, lambda dt: ((_data(dt), LABELS), {"axis": -1}), dts))
    return c


CALLS = _calls()

CALLS = [pytest.param(*c, id=c[0]) for c in CALLS]


def _run(fname, args, kwargs):
    fn = getattr(numbagg, fname)
    with np.errstate(all="ignore"):
        return fn(*args, **kwargs)


@functools.lru_cache(maxsize=None)
def _numba_result(fname, dtype_name):
    builder = dict((c[0], c[2]) for c in _calls())[fname]
    args, kwargs = builder(np.dtype(dtype_name).type)
    return _run(fname, args, kwargs)


def _compare(fname, dt, got, want, ref64):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    if dt != np.float32:
        np.testing.assert_array_equal(got, want, err_msg=f"{fname} {np.dtype(dt)}: not bit-identical to Numba")
        return
    # float32: within Numba's own error against the float64 result
    ref = np.asarray(ref64, dtype=np.float64)
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan, err_msg=f"{fname}: NaN where Numba has none (or not)")
    err_nb = np.abs(want[~nan].astype(np.float64) - ref[~nan])
    err_ug = np.abs(got[~nan].astype(np.float64) - ref[~nan])
    tol = 2 * err_nb + 8 * np.finfo(np.float32).eps * (np.abs(ref[~nan]) + 1)
    assert np.all(err_ug <= tol), f"{fname} float32: error {err_ug.max()} beyond Numba's ({err_nb.max()})"


@pytest.mark.parametrize("kernel,fname,builder,dtypes", CALLS)
def test_numbagg_kernel_matches_numba(kernel, fname, builder, dtypes):
    expected = {np.dtype(dt).name: _numba_result(fname, np.dtype(dt).name) for dt in dtypes}
    with swapped():
        for dt in dtypes:
            args, kwargs = builder(dt)
            try:
                got = _run(fname, args, kwargs)
            except Exception as e:
                raise AssertionError(f"{kernel} ({np.dtype(dt)}) does not compile or run under ufuncgen: "
                                     f"{type(e).__name__}: {e}") from None
            ref64 = expected.get("float64")
            if ref64 is None or np.dtype(dt) != np.float32:
                ref64 = expected[np.dtype(dt).name]
            _compare(kernel, dt, got, expected[np.dtype(dt).name], ref64)
    assert COMPILED.get(kernel) == "ok", COMPILED.get(kernel, "numbagg never compiled this kernel")


def test_every_numbagg_kernel_is_covered():
    """The calls above reach every gufunc numbagg builds (48 kernels)."""
    names = {c[0] for c in _calls()}
    assert len(names) == 48, sorted(names)
