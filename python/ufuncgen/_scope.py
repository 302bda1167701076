"""Names a kernel takes from its Python scope, resolved as Python resolves them.

The free names of a kernel function are read from its code: ``LOAD_GLOBAL``
and ``LOAD_NAME`` names and the closure's free variables, in the function
and every code object nested in it. Each is looked up in the closure, then
``func.__globals__``, then builtins, and becomes kernel text appended after
the kernel (so line numbers of errors in the kernel stay right):

- modules (``np``, ``math``, ``numba``), builtins, NumPy functions and
  types, classes, type objects (ufuncgen's and Numba's): left alone; the
  kernel language knows its names (and says so when it does not);
- functions (plain, ``ufuncgen.njit`` helpers, Numba ``@njit`` dispatchers
  through ``.py_func``, lambdas): their ``def`` text, transitively, each
  once, a helper's own names resolved in its own module; a helper bound
  under another name than its own gets its ``def`` line renamed;
- numbers, booleans, NumPy scalars and tuples of them: ``NAME = <literal>``
  (``np.inf``, ``np.nan``, ``np.float32(1.5)``);
- anything else: TypeError naming the global, its type, file and line.

The appended text is part of the kernel source, so the cache key covers
helpers and constants.
"""
from __future__ import annotations

import ast
import builtins
import dis
import sys
import math
import re
import types
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ._source import KernelSource, from_function, split_lines

_MISSING = object()
_KNOWN_MODULES = {"numpy", "math", "numba", "ufuncgen", "cmath", "builtins"}
_BUILTIN = object()


@dataclass
class Piece:
    """A stretch of the final kernel text and where it came from."""

    first: int        # its first line in the final text (1-based)
    nlines: int
    filename: str
    firstlineno: int  # line in filename of its first line
    indent: int       # columns removed by dedenting
    what: str         # 'kernel', "helper 'h'", "constant 'K'"


@dataclass
class Resolved:
    text: str
    pieces: list = field(default_factory=list)


def scope_error(msg: str, filename: str = "<kernel>", lineno: int = 0, funcname: str = "<kernel>") -> TypeError:
    """The TypeError for a global the kernel language cannot take, with
    filename and lineno of its first use (and where the traceback points)."""
    e = TypeError(msg)
    e.filename, e.lineno = filename, lineno
    if lineno and filename and not filename.startswith("<"):
        e._ug_where = (filename, lineno, funcname)
    return e


# ------------------------------------------------------------------ free names

def _code_objects(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _code_objects(c)


_LOAD_GLOBAL, _LOAD_NAME, _EXTENDED_ARG = (dis.opmap[n] for n in ("LOAD_GLOBAL", "LOAD_NAME", "EXTENDED_ARG"))


def _global_loads(top) -> list:
    """free_names for code with no closure, read straight from the bytecode
    (dis.get_instructions builds an object per instruction: most of a warm
    import's time): bytes.find jumps from one LOAD_GLOBAL / LOAD_NAME to the
    next, EXTENDED_ARG prefixes are read backwards. CPython >= 3.11:
    LOAD_GLOBAL's argument is namei << 1."""
    found = []  # (code object, instruction, name): sorted, the order of first use
    for ci, code in enumerate(_code_objects(top)):
        co, names = code.co_code, code.co_names
        ops = co[0::2]
        for op, shift in ((_LOAD_GLOBAL, 1), (_LOAD_NAME, 0)):
            i = ops.find(op)
            while i >= 0:
                arg, j, s = co[2 * i + 1], i - 1, 8
                while j >= 0 and ops[j] == _EXTENDED_ARG:
                    arg |= co[2 * j + 1] << s
                    j, s = j - 1, s + 8
                found.append((ci, i, names[arg >> shift]))
                i = ops.find(op, i + 1)
    found.sort()
    return list(dict.fromkeys(n for _c, _i, n in found))


def free_names(func) -> list:
    """Global and closure names func's code loads, in order of first use."""
    top = func.__code__
    if not top.co_freevars and (3, 11) <= sys.version_info[:2] <= (3, 13):
        return _global_loads(top)
    seen: dict = {}
    for code in _code_objects(top):
        for ins in dis.get_instructions(code):
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                seen.setdefault(ins.argval, None)
            elif ins.opname in ("LOAD_DEREF", "LOAD_CLASSDEREF") and ins.argval in top.co_freevars \
                    and (code is top or ins.argval not in code.co_cellvars):
                seen.setdefault(ins.argval, None)
    return list(seen)


def lookup(func, name: str):
    """name as Python would find it from inside func: closure, globals, builtins."""
    code = func.__code__
    if name in code.co_freevars and func.__closure__:
        try:
            return func.__closure__[code.co_freevars.index(name)].cell_contents
        except ValueError:  # an empty cell: assigned later in the enclosing function
            return _MISSING
    g = func.__globals__
    if name in g:
        return g[name]
    b = g.get("__builtins__", builtins)
    b = b if isinstance(b, dict) else vars(b)
    return _BUILTIN if name in b else _MISSING


# ------------------------------------------------------------------ values

def helper_function(v):
    """The Python function behind a helper value (plain, njit'd, Numba
    dispatcher), or None if v is not one."""
    if isinstance(v, types.FunctionType):
        return v
    if isinstance(v, np.ufunc):  # a scalar ufunc made by ufuncgen from a function: call its kernel
        from . import _ufuncgen
        st = _ufuncgen.get_user(v) if _ufuncgen.is_ufuncgen(v) else None
        if st is not None and st.spec.get("layout") is None and isinstance(st.py_func, types.FunctionType):
            return st.py_func
        return None
    py = getattr(v, "py_func", None)
    if py is None:  # Numba's DUFunc keeps it on its dispatcher
        py = getattr(getattr(v, "_dispatcher", None), "py_func", None)
    return py if isinstance(py, types.FunctionType) else None


def _left_alone(v) -> bool:
    if v is _BUILTIN or isinstance(v, (types.ModuleType, type, types.BuiltinFunctionType, np.ufunc, np.dtype)):
        return True
    mod = getattr(type(v), "__module__", "") or ""
    return mod.startswith(("numba.", "ufuncgen")) or mod == "numba"


def _float_literal(x: float) -> str:
    if math.isnan(x):
        return "np.nan"
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x)


_NP_NAMES = {np.dtype(t): np.dtype(t).name for t in (
    np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.float16, np.float32,
    np.float64, np.complex64, np.complex128)}


def _complex_literal(z: complex) -> str:
    return f"complex({_float_literal(z.real)}, {_float_literal(z.imag)})"


def literal(v):
    """Kernel text for a constant value, or None if v is not one. (The kernel
    language types a module constant as Numba types a global: a Python float
    is float64, an int int64, so ``x * K`` with float32 x computes in float64.)"""
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float) and not isinstance(v, np.generic):
        return _float_literal(v)
    if isinstance(v, complex) and not isinstance(v, np.generic):
        return _complex_literal(v)  # complex128, as Numba types a complex global
    if isinstance(v, np.generic):
        name = _NP_NAMES.get(v.dtype)
        if name is None:
            return None
        inner = (_float_literal(float(v)) if v.dtype.kind == "f" else _complex_literal(complex(v)) if v.dtype.kind == "c"
                 else str(int(v)))
        return f"np.{name}({inner})"
    if isinstance(v, tuple):
        items = [literal(x) for x in v]
        if any(i is None for i in items):
            return None
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return None


def _describe(v) -> str:
    t = type(v)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


# ------------------------------------------------------------------ positions

def name_line(src: KernelSource, name: str):
    """(filename, line) of the first use of name in src, or of its def line."""
    try:
        tree = ast.parse(src.text)
    except SyntaxError:
        tree = None
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == name:
                return src.filename, src.firstlineno + node.lineno - 1
    return src.filename, src.firstlineno


# ------------------------------------------------------------------ the walk

class _Walk:
    def __init__(self, kernel_func, kernel_src: KernelSource):
        self.kernel = kernel_func
        self.consts: dict = {}    # name -> (literal, value, where)
        self.defs: dict = {}      # name -> (function, KernelSource)
        self.done: set = set()    # ids of functions whose names are resolved

    def visit(self, func, src: KernelSource) -> KernelSource:
        """Resolve func's free names; its text, with module attributes flattened."""
        if id(func) in self.done:
            return src
        self.done.add(id(func))
        names = free_names(func)
        src = self._module_attrs(func, src, names)
        for name in names:
            v = lookup(func, name)
            h = helper_function(v) if v is not _MISSING and v is not _BUILTIN else None
            if h is not None:
                if h is not func:
                    self._helper(name, h, src)
                continue
            if v is _MISSING or _left_alone(v):
                continue
            lit = literal(v)
            if lit is None:
                filename, line = name_line(src, name)
                raise scope_error(
                    f'File "{filename}", line {line}: kernel uses global {name!r}, a {_describe(v)}; a kernel '
                    f"can use functions, numbers, booleans, NumPy scalars and tuples of them from its scope "
                    f"(pass other data as arguments)", filename, line, src.name or "<kernel>")
            self._const(name, lit, v, src)
        return src

    def _module_attrs(self, func, src: KernelSource, names) -> KernelSource:
        """``mod.f`` / ``mod.K`` with mod a module of the scope (not NumPy, math
        or Numba, whose names the kernel language knows) and f a function or K
        a constant: the '.' becomes '_' (same length, so every column stays)
        and ``mod_f`` is resolved as a helper or constant of that name."""
        mods = [lookup(func, n) for n in names]
        if all(not isinstance(m, types.ModuleType) or (m.__name__.split(".")[0] in _KNOWN_MODULES
                                                        and m.__name__.split(".")[0] not in ("numba", "ufuncgen"))
               for m in mods):
            return src  # only math/numpy (or no module): nothing to flatten, no parse needed
        try:
            tree = ast.parse(src.text)
        except SyntaxError:
            return src
        lines = split_lines(src.text)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in names):
                continue
            mod = lookup(func, node.value.id)
            if not isinstance(mod, types.ModuleType):
                continue
            root = mod.__name__.split(".")[0]
            if root in ("numba", "ufuncgen") and node.lineno == node.end_lineno:
                # numba.prange, numba.float64(x): the kernel language's own names; the
                # prefix becomes spaces (the columns stay)
                row, b = node.lineno - 1, lines[node.lineno - 1].encode()
                a, z = node.value.col_offset, node.value.end_col_offset
                if b[z:z + 1] == b".":
                    lines[row] = (b[:a] + b" " * (z + 1 - a) + b[z + 1:]).decode()
                continue
            if root in _KNOWN_MODULES:
                continue
            v = getattr(mod, node.attr, _MISSING)
            h = helper_function(v) if v is not _MISSING else None
            lit = literal(v) if h is None and v is not _MISSING and not _left_alone(v) else None
            if h is None and lit is None:
                continue
            flat = f"{node.value.id}_{node.attr}"
            row = node.value.end_lineno - 1
            b = lines[row].encode()
            col = node.value.end_col_offset
            if b[col:col + 1] != b".":
                continue  # "mod . f" or across lines: left as written
            lines[row] = (b[:col] + b"_" + b[col + 1:]).decode()
            if h is not None:
                self._helper(flat, h, src)
            else:
                self._const(flat, lit, v, src, (src.filename, src.firstlineno + node.lineno - 1))
        return dataclasses.replace(src, text="".join(lines))

    def _const(self, name, lit, v, src, where=None):
        old = self.consts.get(name)
        if old is not None and old[0] != lit:
            filename, line = name_line(src, name)
            raise scope_error(
                f'File "{filename}", line {line}: global {name!r} is {lit} here but {old[0]} in '
                f"{old[2]}, line {old[3]}; the kernel and its helpers share one scope, so rename one of them",
                filename, line)
        if name in self.defs:
            raise scope_error(f"global {name!r} is both a helper function and a constant in the kernel's scope",
                             *name_line(src, name))
        self.consts[name] = (lit, v) + (where or name_line(src, name))

    def _helper(self, name, h, src):
        old = self.defs.get(name)
        if old is not None:
            if old[0] is not h:
                filename, line = name_line(src, name)
                raise scope_error(
                    f'File "{filename}", line {line}: helper {name!r} names two different functions '
                    f"({old[1].filename} and {h.__code__.co_filename}); the kernel and its helpers share one "
                    f"scope, so rename one of them", filename, line)
            return
        if h is self.kernel:
            return
        hs = helper_source(h, name)
        self.defs[name] = (h, hs)
        self.defs[name] = (h, self.visit(h, hs))


def helper_source(h, name: str) -> KernelSource:
    """The def text of helper h, named name (renamed, or made from a lambda)."""
    src = from_function(h)
    text = src.text
    if h.__name__ == "<lambda>":
        tree = ast.parse(text.strip(), mode="eval").body
        args = ast.unparse(tree.args)
        body = ast.get_source_segment(text.strip(), tree.body)
        text = f"def {name}({args}):\n    return {body}\n"
    elif h.__name__ != name:
        text = re.sub(r"^(\s*def\s+)" + re.escape(h.__name__) + r"\b", r"\g<1>" + name, text, count=1,
                      flags=re.M)
    if not text.endswith("\n"):
        text += "\n"
    return KernelSource(text, src.filename, src.firstlineno, name, src.indent)


def resolve(func, src: KernelSource) -> Resolved:
    """The kernel text with its constants and helpers appended, and where each line came from."""
    w = _Walk(func, src)
    src = w.visit(func, src)
    text = src.text if src.text.endswith("\n") else src.text + "\n"
    nk = text.count("\n")
    pieces = [Piece(1, nk, src.filename, src.firstlineno, src.indent, "kernel")]
    line = nk + 1
    for name, (lit, _v, filename, use) in w.consts.items():
        text += f"{name} = {lit}\n"  # errors in it point at the constant's first use
        pieces.append(Piece(line, 1, filename, use, 0, f"constant {name!r}"))
        line += 1
    for name, (_h, hs) in w.defs.items():
        n = hs.text.count("\n")
        text += hs.text
        pieces.append(Piece(line, n, hs.filename, hs.firstlineno, hs.indent, f"helper {name!r}"))
        line += n
    return Resolved(text, pieces)


def where(pieces, line: int):
    """The piece holding kernel-text line `line`, and that line in its file."""
    for p in pieces:
        if p.first <= line < p.first + p.nlines:
            return p, (p.firstlineno + line - p.first if p.firstlineno else 0)
    return None, 0
