"""ufuncgen: NumPy ufuncs and gufuncs compiled from Python kernels with LLVM.

    import numpy as np, ufuncgen

    @ufuncgen.vectorize(["float32(float32)", "float64(float64)"], cache=True)
    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    @ufuncgen.guvectorize(["void(float64[:], float64[:], float64[:])"], "(n),(n)->()")
    def dot(a, b, out):
        acc = 0.0
        for i in range(a.shape[0]):
            acc += a[i] * b[i]
        out[0] = acc

    isinstance(sigmoid, np.ufunc)   # True: out=, where=, reduce, accumulate, ...

Ways to give the kernel (one rule: the kernel is a Python function or a
string of kernel source; a string counts as source when, after blank and
comment lines, it starts with ``def``, ``lambda`` or ``@``):

    @ufuncgen.vectorize                       # lazy: a loop per new input dtypes
    @ufuncgen.vectorize(signatures, ...)      # eager, in signature order
    ufuncgen.vectorize(signatures, ...)(source_string)
    ufuncgen.vectorize(source_string, signatures, ...)   # source first, then the usual arguments
    ufuncgen.guvectorize(signatures, layout, ...)(function_or_source)
    ufuncgen.guvectorize(source_string, signatures, layout, ...)
    ufuncgen.guvectorize(layout)(function)    # lazy gufunc (Numba's dynamic form)

Errors in a kernel raise SyntaxError (with file, line and caret), NameError
or TypeError carrying ufuncgen's full message; a bad signature or layout
raises ValueError. Out-of-range indexing under ``boundscheck=True`` raises
IndexError; division by zero and invalid operations follow ``np.errstate``.
Generated ufuncs pickle by value (see ufuncgen._pickle).
"""
from __future__ import annotations

import inspect
import linecache

import numpy as np

from . import _ufuncgen
from ._source import KernelSource, from_function, from_string, is_source
from . import _pickle

__version__ = _ufuncgen.__version__
__all__ = ["vectorize", "guvectorize", "set_num_threads", "is_ufuncgen", "loops"]

_TARGETS = {"cpu": _ufuncgen.TARGET_CPU, "parallel": _ufuncgen.TARGET_PARALLEL}


def set_num_threads(n: int) -> None:
    """Default thread count of target='parallel' ufuncs (0: UFUNCGEN_NUM_THREADS, then OpenMP's)."""
    _ufuncgen.set_num_threads(int(n))


def is_ufuncgen(obj) -> bool:
    """True if obj is a numpy.ufunc made by ufuncgen."""
    return isinstance(obj, np.ufunc) and _ufuncgen.is_ufuncgen(obj)


def loops(uf) -> list[tuple[str, ...]]:
    """The compiled loops of a ufuncgen ufunc: dtype names, inputs then outputs."""
    return _ufuncgen.loops(uf)


# ------------------------------------------------------------------ options

def _identity_code(identity) -> int:
    if identity is None:
        return _ufuncgen.IDENTITY_NONE
    if isinstance(identity, str):
        if identity == "reorderable":
            return _ufuncgen.IDENTITY_REORDERABLE
    elif not isinstance(identity, bool):
        for value, code in ((0, _ufuncgen.IDENTITY_ZERO), (1, _ufuncgen.IDENTITY_ONE),
                            (-1, _ufuncgen.IDENTITY_MINUS_ONE)):
            if identity == value:
                return code
    raise ValueError(f"identity must be None, 0, 1, -1 or 'reorderable', not {identity!r}")


def _target_code(target) -> int:
    try:
        return _TARGETS[target]
    except (KeyError, TypeError):
        raise ValueError(f"target must be 'cpu' or 'parallel', not {target!r}") from None


def _signature_list(signatures):
    if signatures is None:
        return None
    if isinstance(signatures, str):
        return (signatures,)
    try:
        sigs = tuple(signatures)
    except TypeError:
        raise TypeError(f"signatures must be a str or a list of str, not {type(signatures).__name__}") from None
    for s in sigs:
        if not isinstance(s, str):
            raise TypeError(f"each signature must be a str, not {type(s).__name__}: {s!r}")
    return sigs or None


def _is_layout(s) -> bool:
    return isinstance(s, str) and s.lstrip().startswith("(") and "->" in s


# ------------------------------------------------------------------ building

def _build(spec: dict):
    """Compile spec (see _make_spec) into a numpy.ufunc carrying its spec."""
    try:
        uf = _ufuncgen.make(
            spec["source"], spec["layout"], spec["signatures"],
            name=spec["name"], kernel=spec["kernel"], doc=None,
            target=_target_code(spec["target"]), cache=int(bool(spec["cache"])),
            fastmath=int(bool(spec["fastmath"])), boundscheck=int(bool(spec["boundscheck"])),
            identity=_identity_code(spec["identity"]), num_threads=int(spec["num_threads"]),
            writable_args=tuple(spec["writable_args"]),
        )
    except SyntaxError as e:
        # Point at the line in the user's file (the kernel is a dedented
        # excerpt of it), so the traceback shows that line and the caret.
        filename, first = spec.get("filename", "<kernel>"), spec.get("firstlineno", 1)
        lineno, offset, text = (e.lineno or 1) + first - 1, e.offset, e.text
        line = linecache.getline(filename, lineno) if filename != "<kernel>" else ""
        if line:
            offset, text = (offset or 1) + spec.get("indent", 0), line
        raise SyntaxError(e.msg, (filename, lineno, offset, text)) from None
    _pickle.attach(uf, spec)
    return uf


def _writable_indices(writable_args, source: KernelSource):
    out = []
    params = None
    for w in writable_args or ():
        if isinstance(w, str):
            if params is None:
                import ast
                tree = ast.parse(source.text)
                fn = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda))), None)
                params = [a.arg for a in fn.args.args] if fn else []
            if w not in params:
                raise ValueError(f"writable_args: {w!r} is not a parameter of the kernel")
            out.append(params.index(w))
        else:
            out.append(int(w))
    return tuple(out)


def _make(kernel, layout, signatures, opts: dict):
    if isinstance(kernel, str):
        src = from_string(kernel)
    elif callable(kernel):
        src = from_function(kernel)
    else:
        raise TypeError(f"a kernel is a Python function or a string of kernel source, not {type(kernel).__name__}")
    spec = {
        "source": src.text,
        "layout": layout,
        "signatures": _signature_list(signatures),
        "name": opts.get("name") or src.name,
        "kernel": opts.get("kernel") or src.name,
        "target": opts.get("target", "cpu"),
        "cache": bool(opts.get("cache", False)),
        "fastmath": bool(opts.get("fastmath", False)),
        "boundscheck": bool(opts.get("boundscheck", False)),
        "identity": opts.get("identity"),
        "num_threads": int(opts.get("num_threads", 0)),
        "writable_args": _writable_indices(opts.get("writable_args"), src),
        "filename": src.filename,
        "firstlineno": src.firstlineno,
        "indent": src.indent,
    }
    # Validate options before compiling, with Python's exceptions.
    _target_code(spec["target"])
    _identity_code(spec["identity"])
    return _build(spec)


def _decorator(layout, signatures, opts: dict):
    # Check the arguments now, so a bad decorator fails where it is written.
    _signature_list(signatures)
    _target_code(opts["target"])
    _identity_code(opts["identity"])

    def decorate(kernel):
        return _make(kernel, layout, signatures, opts)

    return decorate


def _vectorize_args(signatures=None, target="cpu", cache=False, identity=None, fastmath=False,
                    boundscheck=False, *, name=None, kernel=None, num_threads=0):
    return signatures, dict(target=target, cache=cache, identity=identity, fastmath=fastmath,
                            boundscheck=boundscheck, name=name, kernel=kernel, num_threads=num_threads)


def vectorize(*args, **kwargs):
    """vectorize(signatures=None, target='cpu', cache=False, identity=None, fastmath=False,
    boundscheck=False, *, name=None, kernel=None, num_threads=0)

    Make a numpy.ufunc from a scalar kernel (Numba's @vectorize).

    signatures: None (lazy: a loop is compiled for each new combination of
      input dtypes) or a list of dtype signatures ("float64(float64)",
      "f8(f8)", "d->d", "f8->f8"), compiled now in order (which is also the
      loop-selection order). target: 'cpu' or 'parallel'. cache: keep machine
      code on disk. identity: None, 0, 1, -1 or 'reorderable' (for reduce).
      fastmath: allow reassociation/contraction. boundscheck: kept for
      symmetry with guvectorize. name: the ufunc's __name__. kernel: which def
      of a multi-def source is the kernel.

    Used as @vectorize, @vectorize(signatures, ...), vectorize(signatures,
    ...)(source_string) or vectorize(source_string, signatures, ...).
    """
    if args and (callable(args[0]) and not isinstance(args[0], (str, list, tuple))):
        if len(args) > 1:
            raise TypeError("@vectorize used bare takes no other positional arguments")
        return _make(args[0], None, None, _vectorize_args(**kwargs)[1])
    if args and is_source(args[0]):
        signatures, opts = _vectorize_args(*args[1:], **kwargs)
        return _make(args[0], None, signatures, opts)
    signatures, opts = _vectorize_args(*args, **kwargs)
    if is_source(signatures):  # vectorize(signatures=source) by keyword
        raise TypeError("pass kernel source positionally: vectorize(source, signatures, ...)")
    return _decorator(None, signatures, opts)


def _guvectorize_args(signatures=None, layout=None, target="cpu", cache=False, writable_args=(), identity=None,
                      fastmath=False, boundscheck=False, *, name=None, kernel=None, num_threads=0):
    if layout is None and _is_layout(signatures):  # guvectorize(layout): lazy, Numba's dynamic gufunc
        signatures, layout = None, signatures
    if layout is None:
        raise TypeError("guvectorize needs a layout, e.g. guvectorize(signatures, '(n),(n)->()')")
    if not isinstance(layout, str):
        raise TypeError(f"layout must be a str such as '(n),(n)->()', not {type(layout).__name__}")
    return signatures, layout, dict(target=target, cache=cache, writable_args=writable_args, identity=identity,
                                    fastmath=fastmath, boundscheck=boundscheck, name=name, kernel=kernel,
                                    num_threads=num_threads)


def guvectorize(*args, **kwargs):
    """guvectorize(signatures, layout, target='cpu', cache=False, writable_args=(), identity=None,
    fastmath=False, boundscheck=False, *, name=None, kernel=None, num_threads=0)

    Make a generalized numpy.ufunc (gufunc) from a kernel over core
    dimensions (Numba's @guvectorize). layout is NumPy's gufunc signature,
    e.g. "(n),(n)->()" or "(m,n),(n,p)->(m,p)". Kernel parameters are the
    inputs then the outputs; an output with layout "()" is written as
    out[0] = .... signatures as for vectorize, listing inputs then outputs
    ("void(float64[:], float64[:], float64[:])", "dd->d"); guvectorize(layout)
    alone makes a lazy gufunc whose outputs take the promoted input dtype.
    writable_args: inputs (index or name) the kernel may write. boundscheck:
    out-of-range indexing raises IndexError instead of being undefined.

    Used as @guvectorize(signatures, layout, ...), guvectorize(signatures,
    layout, ...)(source_string) or guvectorize(source_string, signatures,
    layout, ...).
    """
    if args and is_source(args[0]):
        signatures, layout, opts = _guvectorize_args(*args[1:], **kwargs)
        return _make(args[0], layout, signatures, opts)
    if args and callable(args[0]) and not isinstance(args[0], (str, list, tuple)):
        raise TypeError("guvectorize needs a layout: @guvectorize(signatures, layout) or @guvectorize(layout)")
    signatures, layout, opts = _guvectorize_args(*args, **kwargs)
    return _decorator(layout, signatures, opts)


vectorize.__signature__ = inspect.signature(_vectorize_args)
guvectorize.__signature__ = inspect.signature(_guvectorize_args)
