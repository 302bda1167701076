"""Type objects in the style of ``numba.types``, and signatures in every
spelling Numba accepts, normalised to the strings the C parser reads.

    float64[:]                    array type (any layout); float64[::1] C order
    float64[:, :]                 two dimensions
    float64(float64, float64)     a signature; void(float64[:], float64[:])
    (float64[:], int64, ...)      a tuple: a bare argument list (gufunc)

Numba's own type objects are read by their attributes (``dtype``, ``ndim``,
``layout`` of an array; ``return_type``/``args`` of a signature) or their
string form (``str(numba.float64) == 'float64'``), so ``numba.float64[:]``
and ``numba.void(numba.float64[:])`` work without importing Numba here.
"""
from __future__ import annotations

import re

import numpy as np

__all__ = ["Type", "ArrayType", "Signature", "normalize", "TYPES"]


class Type:
    """A scalar type (``float64``); ``t[:]`` is an array of it, ``t(args)`` a signature."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __getitem__(self, dims) -> "ArrayType":
        if self.name == "void":
            raise TypeError("void has no arrays")
        dims = dims if isinstance(dims, tuple) else (dims,)
        for d in dims:
            if not (isinstance(d, slice) and d.start is None and d.stop is None and d.step in (None, 1)):
                raise TypeError(f"array dimensions are written ':' or '::1', not {d!r}")
        layout = "C" if dims and dims[-1].step == 1 else "A"
        return ArrayType(self, len(dims), layout)

    def __call__(self, *args) -> "Signature":
        return Signature(self, args)

    def __str__(self) -> str:
        return "none" if self.name == "void" else self.name

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other):
        return isinstance(other, Type) and type(other) is type(self) and other.name == self.name

    def __hash__(self):
        return hash(("ufuncgen.Type", self.name))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(_NUMPY_NAME.get(self.name, self.name))


class ArrayType:
    """An array argument type: dtype, number of dimensions, layout 'A' or 'C'."""

    __slots__ = ("dtype_type", "ndim", "layout")

    def __init__(self, dtype: Type, ndim: int, layout: str = "A"):
        self.dtype_type, self.ndim, self.layout = dtype, ndim, layout

    @property
    def dtype(self) -> Type:
        return self.dtype_type

    def __call__(self, *args):
        raise TypeError("an array type cannot be a return type; gufunc signatures are void(...)")

    def __str__(self) -> str:
        return f"array({self.dtype_type}, {self.ndim}d, {self.layout})"

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, ArrayType) and (other.dtype_type, other.ndim, other.layout) == (
            self.dtype_type, self.ndim, self.layout)

    def __hash__(self):
        return hash((self.dtype_type, self.ndim, self.layout))


class Signature:
    """``return_type(args...)``: what ``float64(float64)`` makes."""

    __slots__ = ("return_type", "args")

    def __init__(self, return_type, args):
        self.return_type, self.args = return_type, tuple(args)

    def __str__(self) -> str:
        return f"({', '.join(map(str, self.args))}{',' if len(self.args) == 1 else ''}) -> {self.return_type}"

    __repr__ = __str__


# Names exported as type objects (numba.types spellings) -> the C parser's name.
_NAMES = {
    "boolean": "bool", "bool_": "bool", "b1": "bool",
    "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
    "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
    "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
    "u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64",
    "byte": "uint8", "intc": "int32", "uintc": "uint32", "intp": "int64", "uintp": "uint64",
    "int_": "int64", "uint": "uint64", "long_": "int64", "ulong": "uint64",
    "float32": "float32", "float64": "float64", "f4": "float32", "f8": "float64",
    "float_": "float32", "double": "float64",
    "float16": "float16", "f2": "float16",
    "complex64": "complex64", "complex128": "complex128", "c8": "complex64", "c16": "complex128",
    "void": "void", "none": "void",
}
_NUMPY_NAME = {"bool": "bool", "void": "V"}

# One object per C name, so float64 is f8 (as in Numba).
_CANON: dict = {}
TYPES: dict = {}
for _alias, _cname in _NAMES.items():
    TYPES[_alias] = _CANON.setdefault(_cname, Type(_cname))
del _alias, _cname


# ------------------------------------------------------------------ normalising

_ARRAY_STR = re.compile(r"^(?:readonly\s+)?array\(\s*(\w+)\s*,\s*(\d+)d\s*,\s*([ACF])\s*\)$")


def _is_array(t) -> bool:
    return isinstance(t, ArrayType) or (
        not isinstance(t, (str, Type)) and hasattr(t, "ndim") and hasattr(t, "dtype") and hasattr(t, "layout"))


def type_string(t) -> str:
    """One argument type in the C parser's spelling: 'float64', 'float64[:, ::1]'."""
    if isinstance(t, str):
        return t.strip()
    if _is_array(t):
        ndim, layout = int(t.ndim), str(t.layout)
        dt = type_string(t.dtype)
        return f"{dt}[{', '.join([':'] * (ndim - 1) + ['::1' if layout == 'C' else ':'])}]" if ndim else dt
    if isinstance(t, Type):
        return t.name
    if t is None:
        return "void"
    if isinstance(t, type) and issubclass(t, np.generic) or isinstance(t, np.dtype):
        return np.dtype(t).name
    s = str(t).strip()  # a Numba type: 'float64', 'bool', 'none', 'array(float64, 1d, A)'
    m = _ARRAY_STR.match(s)
    if m:
        ndim = int(m.group(2))
        dims = [":"] * (ndim - 1) + ["::1" if m.group(3) == "C" else ":"]
        return f"{m.group(1)}[{', '.join(dims)}]"
    if s == "none":
        return "void"
    if re.fullmatch(r"[A-Za-z_]\w*", s):
        return _NAMES.get(s, s)
    raise TypeError(f"cannot read a dtype from {t!r} ({type(t).__name__})")


def _is_signature_object(sig) -> bool:
    return not isinstance(sig, (str, tuple, list)) and hasattr(sig, "return_type") and hasattr(sig, "args")


def normalize(sig, gufunc: bool):
    """One signature as the C parser's string, or, for a vectorize signature
    without return type ("(int64, int64)", a tuple of types), the tuple of
    input dtype names (the return type is then inferred)."""
    if type(sig) is str:  # the usual case first: no attribute probing
        return _normalize_str(sig, gufunc)
    if _is_signature_object(sig):
        args = ", ".join(type_string(a) for a in sig.args)
        return f"{type_string(sig.return_type)}({args})"
    if isinstance(sig, (tuple, list)):
        args = [type_string(a) for a in sig]
        return f"void({', '.join(args)})" if gufunc else tuple(args)
    if isinstance(sig, (Type, ArrayType)) or _is_array(sig):
        raise TypeError(f"{sig} is a type, not a signature: write e.g. {sig}({sig})")
    if not isinstance(sig, str):
        raise TypeError(f"a signature is a str, a type signature such as float64(float64) or a tuple of "
                        f"argument types, not {type(sig).__name__}: {sig!r}")
    return _normalize_str(sig, gufunc)


def _normalize_str(sig: str, gufunc: bool):
    s = sig.strip()
    if "->" in s:
        return sig
    if gufunc:
        # "f8[:],f8[:]" / "int32[:], int32, int32[:]": a bare argument list.
        if "(" not in s:
            return f"void({s})"
        return sig
    if s.startswith("(") and s.endswith(")") and "(" not in s[1:]:
        inner = s[1:-1].strip()
        names = tuple(x.strip() for x in inner.split(",") if x.strip()) if inner else ()
        if not names or any("[" in n for n in names):
            return sig  # let the C parser say what is wrong, with a caret
        return tuple(_NAMES.get(n, n) for n in names)
    return sig


def numpy_dtype(name: str) -> np.dtype:
    """The NumPy dtype of a C-parser dtype name ('f8', 'int64', 'bool', 'float64')."""
    name = _NAMES.get(name, name)
    try:
        return np.dtype("bool" if name in ("bool", "b1") else name)
    except TypeError:
        raise ValueError(f"unknown dtype {name!r} in a signature") from None
