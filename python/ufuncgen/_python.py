"""UFUNCGEN_DISABLE_JIT=1: the kernel runs as Python, element by element.

The decorators then return a PythonUfunc: called like the ufunc would be,
it picks the loop NumPy would (exact input dtypes, else the first signature
the inputs cast to safely; lazy: the inputs' own dtypes), casts the inputs,
calls the Python function per element (np.frompyfunc for scalar kernels, a
loop over the broadcast loop dimensions for gufuncs, outputs passed as
writable views) and returns arrays of the declared output dtypes. For
stepping through a kernel with pdb or print; nothing is compiled.
"""
from __future__ import annotations

import math
import re

import numpy as np

from . import _types

_KERNEL_NAMES = ("exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "cbrt", "sin", "cos", "tan",
                 "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
                 "arctanh", "hypot", "floor", "ceil", "trunc", "rint", "fabs", "copysign", "fmod", "power",
                 "isnan", "isinf", "isfinite", "sign", "maximum", "minimum", "fmax", "fmin", "pi", "e", "inf",
                 "nan", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32",
                 "float64")


def _function_from_source(spec):
    ns = {"np": np, "numpy": np, "math": math, "prange": range}
    ns.update({k: getattr(np, k) for k in _KERNEL_NAMES if hasattr(np, k)})
    ns.update(asin=math.asin, acos=math.acos, atan=math.atan, atan2=math.atan2, asinh=math.asinh,
              acosh=math.acosh, atanh=math.atanh, erf=math.erf, erfc=math.erfc, gamma=math.gamma,
              lgamma=math.lgamma, pow=pow)
    src = spec["source"]
    if src.lstrip().startswith("lambda"):
        return eval(src, ns)  # noqa: S307 - the user's own kernel text
    exec(compile(src, spec.get("filename", "<kernel>"), "exec"), ns)  # noqa: S102
    name = spec.get("kernel")
    if name and name in ns:
        return ns[name]
    defs = re.findall(r"^def\s+(\w+)", src, re.M)
    return ns[defs[0]]


def _parse_layout(layout):
    ins, outs = layout.replace(" ", "").split("->")
    groups = lambda s: [tuple(d for d in g.split(",") if d) for g in re.findall(r"\(([^)]*)\)", s)]
    return groups(ins), groups(outs)


class PythonUfunc:
    """The Python function with a ufunc's calling convention (UFUNCGEN_DISABLE_JIT=1)."""

    def __init__(self, func, spec):
        self.py_func = self.__wrapped__ = func
        self.__name__ = spec["name"] or func.__name__
        self.__qualname__ = getattr(func, "__qualname__", self.__name__)
        self.__module__ = getattr(func, "__module__", None)
        self.__doc__ = func.__doc__
        self.signature = spec["layout"]
        self._sigs = []
        if spec["layout"] is not None:
            self._core_in, self._core_out = _parse_layout(spec["layout"])
            self.nin, self.nout = len(self._core_in), len(self._core_out)
        else:
            self.nin, self.nout = func.__code__.co_argcount, 1
        for s in spec["signatures"] or ():
            self._sigs.append(self._parse_sig(_types.normalize(s, spec["layout"] is not None)))
        self.is_dynamic = not self._sigs

    def _parse_sig(self, s):
        if isinstance(s, tuple):
            return [_types.numpy_dtype(n) for n in s], None
        s = s.strip()
        if "->" in s:
            i, o = s.split("->")
            return _side(i), _side(o)
        m = re.match(r"\s*(\w+)\s*\((.*)\)\s*$", s)
        ret, args = m.group(1), [re.sub(r"\[.*\]", "", a).strip() for a in m.group(2).split(",") if a.strip()]
        dts = [_types.numpy_dtype(a) for a in args]
        if ret == "void":
            return dts[: self.nin], dts[self.nin:]
        return dts, [_types.numpy_dtype(ret)]

    @property
    def types(self):
        return ["".join(d.char for d in i) + "->" + "".join(d.char for d in (o or [])) for i, o in self._sigs]

    @property
    def ntypes(self):
        return len(self._sigs)

    def _select(self, dtypes):
        for exact in (True, False):
            for ins, outs in self._sigs:
                if all((a == b) if exact else np.can_cast(a, b, "safe") for a, b in zip(dtypes, ins)):
                    return ins, outs
        if self.is_dynamic:
            return list(dtypes), None
        raise TypeError(f"ufunc {self.__name__!r} not supported for the input types "
                        f"({', '.join(str(d) for d in dtypes)}); loops: {self.types}")

    def __call__(self, *args, out=None):
        if len(args) != self.nin:
            raise TypeError(f"{self.__name__}() takes {self.nin} input(s), got {len(args)}")
        arrays = [np.asarray(a) for a in args]
        ins, outs = self._select([a.dtype for a in arrays])
        arrays = [a.astype(d, copy=False) for a, d in zip(arrays, ins)]
        if self.signature is None:
            r = np.frompyfunc(self.py_func, self.nin, 1)(*arrays)
            r = np.asarray(r)
            r = r.astype(outs[0]) if outs else np.array(r.tolist())
            if out is not None:
                o = out[0] if isinstance(out, tuple) else out
                o[...] = r
                return o
            return r[()] if r.ndim == 0 else r
        return self._gufunc(arrays, outs, out)

    def _gufunc(self, arrays, outs, out):
        sizes, loop = {}, []
        for a, core in zip(arrays, self._core_in):
            nc = len(core)
            if a.ndim < nc:
                raise ValueError(f"{self.__name__}: an input has {a.ndim} dimension(s), its core needs {nc}")
            for d, n in zip(core, a.shape[a.ndim - nc:]):
                if sizes.setdefault(d, n) != n:
                    raise ValueError(f"{self.__name__}: core dimension {d} is {sizes[d]} and {n}")
            loop.append(a.shape[: a.ndim - nc])
        shape = np.broadcast_shapes(*loop)
        if out is None:
            dts = outs or [np.result_type(*arrays)] * self.nout
            out = tuple(np.empty(shape + tuple(sizes[d] for d in core), dt) for core, dt in zip(self._core_out, dts))
        out = out if isinstance(out, tuple) else (out,)
        ins = [np.broadcast_to(a, shape + a.shape[a.ndim - len(c):]) for a, c in zip(arrays, self._core_in)]
        views = [o.reshape(shape + (1,)) if not c else o for o, c in zip(out, self._core_out)]
        for idx in np.ndindex(*shape):
            self.py_func(*[a[idx] for a in ins], *[v[idx] for v in views])
        return out[0] if len(out) == 1 else out


def _side(x: str):
    """One side of a NumPy-style signature: 'dd', 'f8,f8', 'float32', 'f8'."""
    x = x.strip()
    if "," in x:
        return [_types.numpy_dtype(t.strip()) for t in x.split(",")]
    if x in _types._NAMES or re.fullmatch(r"[a-z_]+\d+|bool_?|boolean", x):
        return [_types.numpy_dtype(x)]
    return [np.dtype(c) for c in x]


def python_ufunc(py_func, kernel, spec):
    func = py_func if py_func is not None else _function_from_source(spec)
    return PythonUfunc(func, spec)
