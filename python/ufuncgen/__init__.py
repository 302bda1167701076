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

A drop-in for Numba's decorators: ``from ufuncgen.numba import vectorize,
guvectorize, njit, prange, float64, ...`` replaces ``from numba import ...``
and the rest of the file stays (Numba's option names, signatures as strings,
bare gufunc argument lists or type objects, helpers and constants from the
enclosing scope, ``py_func``, ``add``, ``disable_compile``, ``inspect_*``).

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
    ufuncgen.Vectorize(function).add(sig)...build_ufunc()   # Numba's builder objects

Names the kernel takes from its module or closure are resolved as Python
resolves them: functions become helpers compiled with it (their source is
appended), numbers, booleans, NumPy scalars and tuples of them become
constants; anything else is a TypeError naming it.

Errors in a kernel raise SyntaxError (with file, line and caret), NameError
or TypeError carrying ufuncgen's full message and the line in the user's
file (the traceback ends there); a bad signature or layout raises
ValueError. Out-of-range indexing under ``boundscheck=True`` raises
IndexError; division by zero and invalid operations follow ``np.errstate``.
Generated ufuncs pickle by value (see ufuncgen._pickle).

``UFUNCGEN_DISABLE_JIT=1`` (read at import) makes the decorators return
objects that run the Python function element by element with the declared
dtypes (for debugging with pdb and print).
"""
from __future__ import annotations

import atexit
import inspect
import linecache
import os
import re
import types as _pytypes

import numpy as np

from . import _ufuncgen

# Loops still queued at exit are dropped and those being compiled finish first:
# LLVM tears its globals down during exit, under any compile still running.
atexit.register(_ufuncgen.background_stop)
from ._source import KernelSource, from_function, from_string, is_source, source_error, source_problem
from . import _pickle
from . import _scope
from . import _types
from ._types import TYPES as _TYPES

__version__ = _ufuncgen.__version__
__all__ = ["vectorize", "guvectorize", "njit", "jit", "prange", "Vectorize", "GUVectorize",
           "set_num_threads", "get_num_threads", "get_thread_id", "is_ufuncgen", "loops", "wrapper"] + sorted(_TYPES)

globals().update(_TYPES)  # float64, int32, boolean, void, f8, ... (numba.types spellings)

_TARGETS = {"cpu": _ufuncgen.TARGET_CPU, "parallel": _ufuncgen.TARGET_PARALLEL}
_DISABLE_JIT = os.environ.get("UFUNCGEN_DISABLE_JIT", "0") not in ("", "0")


# ------------------------------------------------------------------ threads

def _max_threads() -> int:
    # Numba's maximum is NUMBA_NUM_THREADS, else the CPU count; OpenMP's default
    # alone would let OMP_NUM_THREADS=1 (which Dask sets around its workers) forbid 2
    return max(_ufuncgen.default_num_threads(), os.cpu_count() or 1)


def _check_threads(n, what: str) -> int:
    """Numba's check: an integer from 1 to the maximum (bool is an int, as in Numba)."""
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, not {type(n).__name__} {n!r}")
    top = _max_threads()
    if not 1 <= int(n) <= top:
        raise ValueError(f"{what} must be between 1 and {top} (UFUNCGEN_NUM_THREADS or the CPU count), not {int(n)}")
    return int(n)


def set_num_threads(n: int) -> None:
    """Threads of target='parallel' ufuncs (those without num_threads=): an
    integer from 1 to the maximum (UFUNCGEN_NUM_THREADS, else OpenMP's default,
    the CPU count), checked as Numba checks it; 0 (ufuncgen's own) goes back to
    that default."""
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n == 0:
        _ufuncgen.set_num_threads(0)
        return
    _ufuncgen.set_num_threads(_check_threads(n, "the number of threads"))


def get_thread_id() -> int:
    """The calling thread's number in a parallel call (as Numba's): inside a
    kernel, the thread running that item (0 in a serial call); from Python, 0."""
    return 0


def get_num_threads() -> int:
    """Threads target='parallel' ufuncs use now."""
    return _ufuncgen.get_num_threads()


def is_ufuncgen(obj) -> bool:
    """True if obj is a numpy.ufunc made by ufuncgen."""
    return isinstance(obj, np.ufunc) and _ufuncgen.is_ufuncgen(obj)


def loops(uf) -> list[tuple[str, ...]]:
    """The compiled loops of a ufuncgen ufunc: dtype names, inputs then outputs."""
    return _ufuncgen.loops(uf)


class prange:
    """Numba's parallel range: in a kernel, a range whose iterations may run in
    parallel; called from Python, ``range``."""

    def __new__(cls, *args):
        return range(*args)


# ------------------------------------------------------------------ njit helpers

_NJIT_OPTIONS = {"nopython", "nogil", "cache", "fastmath", "boundscheck", "inline", "forceobj", "error_model",
                 "parallel", "locals"}


class _Helper:
    """A function marked with ufuncgen.njit: compiled into every kernel that
    calls it; called from Python it runs the Python function."""

    def __init__(self, func):
        if not isinstance(func, _pytypes.FunctionType):
            raise TypeError(f"njit decorates a Python function, not {type(func).__name__}")
        self.py_func = self.__wrapped__ = func
        for a in ("__name__", "__qualname__", "__module__", "__doc__"):
            setattr(self, a, getattr(func, a))

    def __call__(self, *args, **kwargs):
        return self.py_func(*args, **kwargs)

    def __repr__(self):
        return f"<ufuncgen.njit {self.__qualname__}>"


def njit(*args, **options):
    """Mark a helper function (Numba's @njit): kernels that call it compile its
    source with them. Used as @njit, @njit(signature) or @njit(**options);
    Numba's options are accepted (helpers are compiled with the kernel's
    options), except forceobj=True and locals= (honoured on the kernel's own decorator, not on helpers)."""
    unknown = set(options) - _NJIT_OPTIONS
    if unknown:
        raise KeyError(f"Unrecognized options: {unknown}. Known options are {sorted(_NJIT_OPTIONS)}")
    if options.get("forceobj"):
        raise NotImplementedError("njit(forceobj=True): object mode is not supported by ufuncgen")
    if options.get("locals"):
        raise NotImplementedError("njit(locals=...): typing locals by hand is not supported by ufuncgen yet")
    if len(args) == 1 and isinstance(args[0], _pytypes.FunctionType):
        return _Helper(args[0])
    return _Helper


jit = njit


# ------------------------------------------------------------------ options

_FASTMATH = {"reassoc": "FASTMATH_REASSOC", "nnan": "FASTMATH_NNAN", "ninf": "FASTMATH_NINF",
             "nsz": "FASTMATH_NSZ", "arcp": "FASTMATH_ARCP", "contract": "FASTMATH_CONTRACT",
             "afn": "FASTMATH_AFN", "fast": "FASTMATH_ALL"}


def _fastmath_code(fm) -> int:
    """fastmath=True/False, a set of LLVM flag names (Numba's), or a dict name -> bool."""
    if fm is None or isinstance(fm, (bool, np.bool_)):
        return int(bool(fm))
    if isinstance(fm, dict):
        fm = {k for k, v in fm.items() if v}
    if isinstance(fm, str) or not hasattr(fm, "__iter__"):
        raise ValueError(f"fastmath must be True, False or a set of flags {sorted(_FASTMATH)}, not {fm!r}")
    flags = set(fm)
    bad = {f for f in flags if f not in _FASTMATH}
    if bad:
        raise ValueError(f"Unrecognized fastmath flags: {bad} (known: {sorted(_FASTMATH)})")
    if "fast" in flags:
        return _ufuncgen.FASTMATH_ALL
    code = 0
    for f in flags:
        code |= getattr(_ufuncgen, _FASTMATH[f])
    return code


_MATH = {"fast": 0, "libm": 1}  # ug_math: UG_MATH_FAST, UG_MATH_LIBM


def _math_code(math) -> int:
    """math='fast' (libmvec, the default) or 'libm' (glibc's scalar libm: NumPy's bits)."""
    try:
        return _MATH[math]
    except (KeyError, TypeError):
        raise ValueError(f"math must be 'fast' or 'libm', not {math!r}") from None


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
        raise ValueError(f"Unsupported target: {target!r} (target must be 'cpu' or 'parallel')") from None


# Numba's option names (UFuncTargetOptions and the decorators' own), then ufuncgen's.
_COMMON = {"target", "cache", "identity", "fastmath", "boundscheck", "nopython", "forceobj", "nogil", "locals",
           "writable_args", "name", "kernel", "num_threads", "math", "lazy", "background"}
_KNOWN = {"vectorize": _COMMON, "guvectorize": _COMMON | {"is_dynamic"}}


def _locals_spec(loc, kind: str) -> str | None:
    """Numba's locals={'s': float64, 'n': 'int32'} as the C option "s:float64,n:int32"."""
    if not loc:
        return None
    if not isinstance(loc, dict):
        raise TypeError(f"{kind}(locals=...) takes a dict of local name to type, not {type(loc).__name__}")
    parts = []
    for name, t in loc.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"{kind}(locals=...): {name!r} is not a variable name")
        s = _types.type_string(t)
        if "[" in s:
            raise TypeError(f"{kind}(locals=...): local {name!r} can be given a scalar type only, not {s}")
        parts.append(f"{name}:{s}")
    return ",".join(parts)


def _options(kind: str, kw: dict) -> dict:
    """Check and normalise decorator options (Numba's names and checks)."""
    unknown = set(kw) - _KNOWN[kind]
    if unknown:
        raise KeyError(f"Unrecognized options: {unknown}. Known options are {sorted(_KNOWN[kind])}")
    if kw.get("forceobj"):
        raise NotImplementedError(
            f"{kind}(forceobj=True): object mode is not supported; ufuncgen compiles nopython kernels only "
            "(UFUNCGEN_DISABLE_JIT=1 runs the Python function instead)")
    # nopython=False: Numba falls back to object mode only when typing fails; ufuncgen compiles or raises.
    o = dict(locals=_locals_spec(kw.get("locals"), kind),
        target=kw.get("target", "cpu"), cache=bool(kw.get("cache", False)), identity=kw.get("identity"),
        fastmath=_fastmath_code(kw.get("fastmath", False)), boundscheck=bool(kw.get("boundscheck") or False),
        writable_args=kw.get("writable_args") or (), name=kw.get("name"), kernel=kw.get("kernel"),
        num_threads=kw.get("num_threads", 0), is_dynamic=bool(kw.get("is_dynamic", False)),
        math=kw.get("math", "fast"), lazy=kw.get("lazy"), background=kw.get("background", True))
    if o["lazy"] not in (None, True, False):
        raise TypeError(f"{kind}(lazy=...) takes True, False or None (the default: UFUNCGEN_LAZY), not {o['lazy']!r}")
    if not isinstance(o["background"], bool):
        raise TypeError(f"{kind}(background=...) takes True or False, not {o['background']!r}")
    _target_code(o["target"])
    _math_code(o["math"])
    _identity_code(o["identity"])
    if o["num_threads"] not in (0, None):
        o["num_threads"] = _check_threads(o["num_threads"], "num_threads")
    o["num_threads"] = o["num_threads"] or 0
    return o


def _signature_list(signatures, gufunc: bool):
    """Signatures as a tuple of C-parser strings and input-dtype tuples (no return type), or None."""
    if signatures is None:
        return None
    if isinstance(signatures, str) or _types._is_signature_object(signatures):
        signatures = [signatures]
    try:
        sigs = list(signatures)
    except TypeError:
        raise TypeError(f"signatures must be a str or a list of signatures, not {type(signatures).__name__}") from None
    return tuple(_types.normalize(s, gufunc) for s in sigs) or None


def _is_layout(s) -> bool:
    return isinstance(s, str) and s.lstrip().startswith("(") and "->" in s


# ------------------------------------------------------------------ errors

_LINE = re.compile(r"line (\d+)")


def _locate(e, spec):
    """Attach the user's file and line to a kernel NameError/TypeError/SyntaxError."""
    pieces = spec.get("_pieces")
    if isinstance(e, SyntaxError):
        filename, first = spec.get("filename", "<kernel>"), spec.get("firstlineno", 1)
        line, indent = e.lineno or 1, spec.get("indent", 0)
        if pieces:
            p, fline = _scope.where(pieces, line)
            if p is not None and p.firstlineno:
                filename, first, line, indent = p.filename, p.firstlineno, line - p.first + 1, p.indent
        lineno, offset, text = line + first - 1, e.offset, e.text
        src_line = linecache.getline(filename, lineno) if filename != "<kernel>" else ""
        if src_line:
            offset, text = (offset or 1) + indent, src_line
        return SyntaxError(e.msg, (filename, lineno, offset, text))
    m = _LINE.search(str(e).split("\n", 1)[0])
    if not m or not pieces:
        return e
    p, fline = _scope.where(pieces, int(m.group(1)))
    if p is None or not fline or p.filename in ("<kernel>", None):
        return e
    what = "" if p.what == "kernel" else f", in {p.what}"
    new = type(e)(f"{e}\n  at {p.filename}:{fline}{what}")
    new.filename, new.lineno = p.filename, fline
    if os.path.exists(p.filename):
        new._ug_where = (p.filename, fline, spec.get("kernel") or "kernel")
    return new


def _relocated(e):
    """(code, namespace) for exec() raising e from the user's file: a frame
    made at the kernel's offending line, as template engines do, so the
    traceback ends there. Called in the public entry points' except blocks,
    so the only ufuncgen frame left is that entry point."""
    filename, line, name = e._ug_where
    e = e.with_traceback(None)
    # The raise starts at the line's indentation and ends on the next line,
    # so the traceback shows the user's line without carets under it.
    text = linecache.getline(filename, line)
    indent = len(text) - len(text.lstrip())
    if indent and line > 1:
        src = "\n" * (line - 2) + "if 1:\n" + " " * indent + "raise (__ufuncgen_error__\n)"
    else:
        src = "\n" * (line - 1) + "raise (__ufuncgen_error__\n)"
    code = compile(src, filename, "exec")
    return code.replace(co_name=name), {"__ufuncgen_error__": e}


# ------------------------------------------------------------------ building

def _make_ufunc(spec: dict, sigs):
    # Positional, in _ufuncgen.make's order: keywords cost the call a lookup
    # (and a string object) per parameter, 5 us a kernel at start-up.
    return _ufuncgen.make(
        spec["source"], spec["layout"], sigs, spec["name"], spec["kernel"], spec.get("doc"),
        _target_code(spec["target"]), int(bool(spec["cache"])), int(spec["fastmath"]),
        int(bool(spec["boundscheck"])), _identity_code(spec["identity"]), int(spec["num_threads"]),
        tuple(spec["writable_args"]), spec.get("locals"), _math_code(spec.get("math", "fast")),
        int(spec.get("background", True)), _DEFER[spec.get("lazy")],
    )


_DEFER = {None: 0, True: 1, False: -1}


def _add_input_types(uf, spec, names):
    """Compile the loop for these input dtypes, output inferred (Numba's '(int64, int64)')."""
    if spec["layout"] is not None:
        raise ValueError(f"a guvectorize signature lists every argument: {names}")
    if len(names) != uf.nin:
        raise ValueError(f"signature ({', '.join(names)}) has {len(names)} argument(s), the kernel takes {uf.nin}")
    uf(*[np.empty(0, _types.numpy_dtype(n)) for n in names])


def _build(spec: dict):
    """Compile spec (see _spec) into a numpy.ufunc carrying its state."""
    sigs = spec["signatures"]
    try:
        if sigs is not None and not spec.get("dynamic") and all(isinstance(s, str) for s in sigs):
            uf = _make_ufunc(spec, sigs)
        else:
            uf = _make_ufunc(spec, None)
            for s in sigs or ():
                if isinstance(s, str):
                    _ufuncgen.add(uf, s)
                else:
                    _add_input_types(uf, spec, s)
            if sigs and not spec.get("dynamic"):
                _ufuncgen.disable_compile(uf)
    except (SyntaxError, NameError, TypeError) as e:
        raise _locate(e, spec) from None
    _attach(uf, spec)
    return uf


def _spec(kernel, layout, sigs, opts: dict, kind: str):
    """The build's spec; sigs: the signatures as _signature_list gives them."""
    py_func = None
    pieces = None
    if isinstance(kernel, str):
        problem = source_problem(kernel, strict=False)
        if problem:
            raise source_error(problem, kernel)
        src = from_string(kernel)
        text = src.text
    elif callable(kernel):
        py_func = _scope.helper_function(kernel) or kernel
        if not isinstance(py_func, _pytypes.FunctionType):
            raise TypeError(f"a kernel is a Python function or a string of kernel source, not {type(kernel).__name__}")
        src = from_function(py_func)
        if py_func.__name__ == "<lambda>":
            text = src.text
        else:
            res = _scope.resolve(py_func, src)
            text, pieces = res.text, res.pieces
    else:
        raise TypeError(f"a kernel is a Python function or a string of kernel source, not {type(kernel).__name__}")
    spec = {
        "source": text,
        "layout": layout,
        "signatures": sigs,
        "name": opts.get("name") or src.name,
        "kernel": opts.get("kernel") or src.name,
        "target": opts["target"],
        "cache": opts["cache"],
        "fastmath": opts["fastmath"],
        "math": opts["math"],
        "lazy": opts.get("lazy"),
        "background": opts.get("background", True),
        "locals": opts.get("locals"),
        "boundscheck": opts["boundscheck"],
        "identity": opts["identity"],
        "num_threads": opts["num_threads"],
        "writable_args": _writable_indices(opts.get("writable_args"), src),
        "dynamic": opts.get("is_dynamic", False),
        "filename": src.filename,
        "firstlineno": src.firstlineno,
        "indent": src.indent,
        "_pieces": pieces,
    }
    return spec, py_func


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


def _make(kernel, layout, signatures, opts: dict, kind: str, sigs):
    if _DISABLE_JIT and callable(kernel) and not isinstance(kernel, str):
        from ._python import python_ufunc  # the Python function itself: no source needed
        py = _scope.helper_function(kernel) or kernel
        return python_ufunc(py, kernel, dict(layout=layout, signatures=signatures, name=opts.get("name")))
    spec, py_func = _spec(kernel, layout, sigs, opts, kind)
    if _DISABLE_JIT:
        from ._python import python_ufunc
        return python_ufunc(py_func, kernel, spec)
    uf = _build(spec)
    _decorate(uf, py_func)
    return uf




# ------------------------------------------------------------------ the returned ufunc

class _State:
    """Python-side state kept with a ufunc (in its bridge, so NumPy < 2.2, whose
    ufuncs take no attributes, keeps it too). Never refers to the ufunc."""

    __slots__ = ("spec", "py_func")

    def __init__(self, spec, py_func=None):
        self.spec, self.py_func = spec, py_func


def _attach(uf, spec):
    _ufuncgen.set_user(uf, _State(spec))


def _state(uf) -> _State:
    st = _ufuncgen.get_user(uf) if is_ufuncgen(uf) else None
    if st is None:
        raise TypeError(f"{uf!r} is not a ufunc made by ufuncgen")
    return st


class Wrapper:
    """What Numba's decorators return, for a ufuncgen ufunc: ``wrapper(uf)``
    works with every NumPy; from NumPy 2.2 the same names are attributes of
    the ufunc itself (``uf.py_func``, ``uf.add(sig)``, ...)."""

    __slots__ = ("ufunc",)

    def __init__(self, uf):
        _state(uf)
        self.ufunc = uf

    @property
    def py_func(self):
        return _state(self.ufunc).py_func

    @property
    def is_dynamic(self) -> bool:
        return bool(_ufuncgen.is_lazy(self.ufunc))

    @property
    def signatures(self) -> list:
        """The compiled loops as NumPy type strings ('dd->d'), in selection order."""
        return list(self.ufunc.types)

    def add(self, sig):
        return _add(self.ufunc, sig)

    def disable_compile(self):
        return _disable_compile(self.ufunc)

    def inspect_llvm(self):
        return _inspect_text(self.ufunc, "ir")

    def inspect_asm(self):
        return _inspect_text(self.ufunc, "asm")

    def inspect_types(self, file=None):
        return _inspect_text(self.ufunc, "types", file)


def wrapper(uf) -> Wrapper:
    """Numba's wrapper attributes of a ufuncgen ufunc, with any NumPy version."""
    return Wrapper(uf)


def _add(uf, sig):
    """Compile one more loop (Numba's DUFunc.add); a frozen ufunc raises RuntimeError."""
    st = _state(uf)
    if not _ufuncgen.is_lazy(uf):
        raise RuntimeError(f"compilation disabled for {uf!r}")
    s = _types.normalize(sig, st.spec["layout"] is not None)
    try:
        if isinstance(s, str):
            _ufuncgen.add(uf, s)
        else:
            _add_input_types(uf, st.spec, s)
    except (SyntaxError, NameError, TypeError) as e:
        raise _locate(e, st.spec).with_traceback(None) from None
    st.spec["signatures"] = tuple(st.spec["signatures"] or ()) + (s,)
    st.spec["dynamic"] = True
    _refresh(uf)


def _disable_compile(uf):
    """No more loops for new input dtypes: those raise NumPy's TypeError."""
    st = _state(uf)
    _ufuncgen.disable_compile(uf)
    st.spec["dynamic"] = False
    # What a rebuild (unpickling) compiles: the loops there are now, in order.
    st.spec["signatures"] = tuple(_loop_sig(uf, t) for t in loops(uf)) or None
    _refresh(uf)


def _refresh(uf):
    if hasattr(uf, "__dict__"):
        uf.is_dynamic = bool(_ufuncgen.is_lazy(uf))
        uf.signatures = list(uf.types)


def _loop_sig(uf, types):
    """A loop's dtypes as a signature string the C parser reads back. A gufunc
    without outputs ("(n),()") has no NumPy spelling ("d->" is not one), so
    it is written as Numba's void(float64[:], float64), ranks from the layout."""
    if uf.nout:
        return ",".join(types[:uf.nin]) + "->" + ",".join(types[uf.nin:])
    ranks = [len([d for d in core.split(",") if d.strip()]) for core in re.findall(r"\(([^)]*)\)", uf.signature or "")]
    return "void(" + ", ".join(t + ("[" + ", ".join([":"] * r) + "]" if r else "") for t, r in zip(types, ranks)) + ")"


def _inspect_text(uf, what: str, file=None):
    """Text per signature ('dd->d' -> text) of a fresh compilation of every loop,
    from the compiler's UFUNCGEN_DUMP output (stderr is captured meanwhile)."""
    from ._inspect import dump
    return dump(uf, _state(uf).spec, what, file)


def _decorate(uf, py_func):
    """Numba's wrapper attributes on the ufunc itself (NumPy >= 2.2)."""
    st = _state(uf)
    st.py_func = py_func
    d = getattr(uf, "__dict__", None)
    if d is None:
        return
    # One update of the instance dict: nine setattr calls were a fifth of a
    # warm start's Python time per kernel. (np.ufunc defines none of these
    # names, so the instance dict is where attribute lookup finds them.)
    w = Wrapper(uf)
    d.update(py_func=py_func, ufunc=uf, add=w.add, disable_compile=w.disable_compile, inspect_llvm=w.inspect_llvm,
             inspect_asm=w.inspect_asm, inspect_types=w.inspect_types)
    if py_func is not None:
        d.update(__module__=py_func.__module__, __qualname__=py_func.__qualname__, __wrapped__=py_func)
    _refresh(uf)


# ------------------------------------------------------------------ decorators

def _decorator(layout, signatures, opts: dict, kind: str):
    sigs = _signature_list(signatures, layout is not None)  # a bad signature fails where it is written

    def decorate(kernel):
        try:
            return _make(kernel, layout, signatures, opts, kind, sigs)
        except (SyntaxError, NameError, TypeError, ValueError, NotImplementedError) as e:
            if getattr(e, "_ug_where", None) is None:
                raise e.with_traceback(None) from None  # no ufuncgen frames below this one
            exec(*_relocated(e))  # the traceback ends at the offending line in the user's file

    return decorate


def _vectorize_args(signatures=None, target="cpu", cache=False, identity=None, fastmath=False,
                    boundscheck=False, **options):
    return signatures, _options("vectorize", dict(target=target, cache=cache, identity=identity,
                                                   fastmath=fastmath, boundscheck=boundscheck, **options))


def vectorize(*args, **kwargs):
    """vectorize(signatures=None, target='cpu', cache=False, identity=None, fastmath=False,
    boundscheck=False, *, name=None, kernel=None, num_threads=0, math='fast', lazy=None, background=True, nopython=True,
    nogil=False, forceobj=False, writable_args=())

    Make a numpy.ufunc from a scalar kernel (Numba's @vectorize).

    signatures: None (lazy: a loop is compiled for each new combination of
      input dtypes) or a list of dtype signatures, compiled now in order
      (which is also the loop-selection order): strings ("float64(float64)",
      "f8(f8)", "d->d", "f8->f8", "(int64, int64)" with the return type
      inferred) or type objects (float64(float64), from ufuncgen or Numba).
    target: 'cpu' or 'parallel'. cache: keep machine code on disk.
    identity: None, 0, 1, -1 or 'reorderable' (for reduce). fastmath: True
      (all flags), False, or a set of LLVM flags {'nnan', 'ninf', 'nsz',
      'arcp', 'contract', 'afn', 'reassoc'}. boundscheck: kept for symmetry
      with guvectorize. name: the ufunc's __name__. kernel: which def of a
      multi-def source is the kernel. num_threads: threads of this ufunc
      (target='parallel'). math: 'fast' (glibc's libmvec vector routines,
      within the ulp bounds the README lists) or 'libm' (glibc's scalar
      libm per element: NumPy's results bit for bit where NumPy calls libm;
      x ** y is glibc's pow in both). nopython, nogil, forceobj=False: Numba's, no-ops;
      forceobj=True and locals= raise NotImplementedError, unknown options
      KeyError (as Numba).
    background: True (the default): the signatures are type-checked now
      (TypeError here, as always) and compile on the compile pool (one thread
      per core, shared by every ufunc) while the program goes on; the first
      call of a loop waits for it. False: return when every loop is compiled.
    lazy: True: the signatures are only parsed now; each loop is typed and
      compiled at its first use (errors then). None: UFUNCGEN_LAZY=1 makes it True.

    Used as @vectorize, @vectorize(signatures, ...), vectorize(signatures,
    ...)(source_string) or vectorize(source_string, signatures, ...).
    Returns a numpy.ufunc (with py_func, add, disable_compile, inspect_* as
    attributes from NumPy 2.2; ufuncgen.wrapper(uf) gives them everywhere).
    """
    if args and callable(args[0]) and not isinstance(args[0], (str, list, tuple)) \
            and not _types._is_signature_object(args[0]):
        if len(args) > 1:
            raise TypeError("@vectorize used bare takes no other positional arguments")
        return _decorator(None, None, _vectorize_args(**kwargs)[1], "vectorize")(args[0])
    if args and is_source(args[0]):
        signatures, opts = _vectorize_args(*args[1:], **kwargs)
        return _decorator(None, signatures, opts, "vectorize")(args[0])
    problem = source_problem(args[0]) if args else None
    if problem:
        raise source_error(problem, args[0])
    signatures, opts = _vectorize_args(*args, **kwargs)
    if is_source(signatures):  # vectorize(signatures=source) by keyword
        raise TypeError("pass kernel source positionally: vectorize(source, signatures, ...)")
    return _decorator(None, signatures, opts, "vectorize")


def _guvectorize_args(signatures=None, layout=None, target="cpu", cache=False, writable_args=(), identity=None,
                      fastmath=False, boundscheck=False, **options):
    if layout is None and _is_layout(signatures):  # guvectorize(layout): lazy, Numba's dynamic gufunc
        signatures, layout = None, signatures
        options.setdefault("is_dynamic", True)
    if layout is None:
        raise TypeError("guvectorize needs a layout, e.g. guvectorize(signatures, '(n),(n)->()')")
    if not isinstance(layout, str):
        raise TypeError(f"layout must be a str such as '(n),(n)->()', not {type(layout).__name__}")
    return signatures, layout, _options("guvectorize", dict(
        target=target, cache=cache, writable_args=writable_args, identity=identity, fastmath=fastmath,
        boundscheck=boundscheck, **options))


def guvectorize(*args, **kwargs):
    """guvectorize(signatures, layout, target='cpu', cache=False, writable_args=(), identity=None,
    fastmath=False, boundscheck=False, *, name=None, kernel=None, num_threads=0, is_dynamic=False, math='fast',
    lazy=None, background=True,
    nopython=True, nogil=False, forceobj=False)

    Make a generalized numpy.ufunc (gufunc) from a kernel over core
    dimensions (Numba's @guvectorize). layout is NumPy's gufunc signature,
    e.g. "(n),(n)->()" or "(m,n),(n,p)->(m,p)". Kernel parameters are the
    inputs then the outputs; an output with layout "()" is written as
    out[0] = .... signatures as for vectorize, listing inputs then outputs:
    "void(float64[:], float64[:], float64[:])", a bare argument list
    "f8[:], f8[:], f8[:]", "dd->d", void(float64[:], ...) or a tuple of
    type objects (float64[:], int64, float64[:]); [::1] is accepted (every
    stride is honoured). guvectorize(layout) alone makes a lazy gufunc whose
    outputs take the promoted input dtype, or out='s dtypes when given (a loop
    is compiled for them, as Numba's dynamic gufunc does). writable_args: inputs (index or
    name) the kernel may write. boundscheck: out-of-range indexing raises
    IndexError instead of being undefined. Other options as for vectorize.

    Used as @guvectorize(signatures, layout, ...), guvectorize(signatures,
    layout, ...)(source_string) or guvectorize(source_string, signatures,
    layout, ...). Returns a numpy.ufunc.
    """
    if args and is_source(args[0]):
        signatures, layout, opts = _guvectorize_args(*args[1:], **kwargs)
        return _decorator(layout, signatures, opts, "guvectorize")(args[0])
    if args and callable(args[0]) and not isinstance(args[0], (str, list, tuple)) \
            and not _types._is_signature_object(args[0]):
        raise TypeError("guvectorize needs a layout: @guvectorize(signatures, layout) or @guvectorize(layout)")
    problem = source_problem(args[0]) if args else None
    if problem:
        raise source_error(problem, args[0])
    signatures, layout, opts = _guvectorize_args(*args, **kwargs)
    return _decorator(layout, signatures, opts, "guvectorize")


vectorize.__signature__ = inspect.signature(_vectorize_args)
guvectorize.__signature__ = inspect.signature(_guvectorize_args)


# ------------------------------------------------------------------ builders (Numba's Vectorize / GUVectorize)

class Vectorize:
    """Numba's builder: ``v = Vectorize(func, **options); v.add(sig); uf = v.build_ufunc()``.
    Without add, the ufunc is lazy."""

    _kind = "vectorize"

    def __init__(self, func, **options):
        self.py_func = func
        self._layout = None
        self._opts = _options(self._kind, options)
        self._sigs = []
        self._frozen = False
        self.ufunc = None

    def add(self, sig=None):
        if self._frozen:
            raise RuntimeError(f"compilation disabled for {self!r}")
        if sig is not None:
            _types.normalize(sig, self._layout is not None)  # fails here for a bad spelling
            self._sigs.append(sig)

    def disable_compile(self):
        self._frozen = True

    def build_ufunc(self):
        opts = dict(self._opts)
        if self._sigs and not self._frozen:
            opts["is_dynamic"] = True
        self.ufunc = _decorator(self._layout, self._sigs or None, opts, self._kind)(self.py_func)
        return self.ufunc


class GUVectorize(Vectorize):
    """Numba's gufunc builder: ``GUVectorize(func, layout, **options)``."""

    _kind = "guvectorize"

    def __init__(self, func, layout, **options):
        super().__init__(func, **options)
        self._layout = layout
