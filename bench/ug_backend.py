"""How the benchmark suite reaches ufuncgen.

Two backends, tried in this order (``load(prefer)``):

``package``  the Python package ``ufuncgen`` (``pip install --no-build-isolation .``):
             real ``numpy.ufunc`` objects. This is what the suite is about.
``ctypes``   the C library ``libufuncgen.so`` through ctypes and ``ug_call``
             (the same compiled loops, the same executor, no NumPy bridge).
             Used only when the package cannot be imported and a built
             library is found (``UFUNCGEN_LIB`` or a meson build directory);
             every result made through it is labelled ``via=ctypes``. Its
             per-call cost includes ctypes marshalling (~10-20 us), so it says
             nothing about per-call overhead or small arrays.

Either way the object returned by ``vectorize``/``guvectorize`` is called as
``f(*inputs, out=o)``.
"""

import ctypes
import glob
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class Unavailable(Exception):
    pass


# --------------------------------------------------------------- the package


class PackageBackend:
    via = "package"

    def __init__(self):
        import ufuncgen  # noqa: F401  (ImportError -> caller)

        self.mod = ufuncgen
        self.version = getattr(ufuncgen, "__version__", "?")

    def _call(self, fn, src, args, kw):
        # Preferred spelling (DESIGN.md "Python API"): vectorize(source, sigs, ...).
        try:
            return fn(src, *args, **kw)
        except TypeError:
            # decorator-factory spelling: vectorize(sigs, ...)(source)
            return fn(*args, **kw)(src)

    def vectorize(self, src, sigs, target="cpu", cache=False, **options):
        return self._call(self.mod.vectorize, src, (list(sigs),), dict(self._kw(target, cache), **options))

    def guvectorize(self, src, sigs, layout, target="cpu", cache=False):
        return self._call(self.mod.guvectorize, src, (list(sigs), layout), self._kw(target, cache))

    def _kw(self, target, cache):
        kw = {}
        # Packages with background compiles return before the loops exist: the
        # suite times creation as compilation, so it asks them to wait.
        if hasattr(getattr(self.mod, "_ufuncgen", None), "background_wait"):
            kw["background"] = False
        if target != "cpu":
            kw["target"] = target
        if cache:
            kw["cache"] = True
        return kw

    def set_num_threads(self, n):
        os.environ["UFUNCGEN_NUM_THREADS"] = str(n)  # read by the library on every call
        f = getattr(self.mod, "set_num_threads", None)
        if f is not None:
            f(n)


# ----------------------------------------------------------- the C library

UG_MAXDIMS = 64
_DT = {"bool": 0, "int8": 1, "uint8": 2, "int16": 3, "uint16": 4, "int32": 5, "uint32": 6,
       "int64": 7, "uint64": 8, "float32": 9, "float64": 10}


class _Operand(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int), ("ndim", ctypes.c_int),
                ("flags", ctypes.c_int), ("shape", ctypes.c_int64 * UG_MAXDIMS),
                ("strides", ctypes.c_int64 * UG_MAXDIMS)]


class _Options(ctypes.Structure):
    _fields_ = [("kernel", ctypes.c_char_p), ("name", ctypes.c_char_p), ("doc", ctypes.c_char_p),
                ("target", ctypes.c_int), ("cache", ctypes.c_int), ("fastmath", ctypes.c_int),
                ("boundscheck", ctypes.c_int), ("identity", ctypes.c_int), ("num_threads", ctypes.c_int),
                ("_spare", ctypes.c_int * 16)]  # slack in case the struct grows


def find_library():
    env = os.environ.get("UFUNCGEN_LIB")
    if env:
        return env
    pats = [os.path.join(ROOT, "build*", "ufuncgen", "libufuncgen.so"),
            "/tmp/bench_ugbuild/ufuncgen/libufuncgen.so"]
    for p in pats:
        hits = sorted(glob.glob(p), key=os.path.getmtime, reverse=True)
        if hits:
            return hits[0]
    return None


class CtypesUfunc:
    def __init__(self, lib, ptr, nin, nout):
        self._lib, self._ptr, self.nin, self.nout = lib, ptr, nin, nout
        n = nin + nout
        self._ops = (_Operand * n)()

    def __call__(self, *args, out=None):
        if out is None:
            if len(args) != self.nin + self.nout:
                raise TypeError("ctypes backend: pass out=")
            arrays = list(args)
        else:
            outs = out if isinstance(out, tuple) else (out,)
            arrays = list(args) + list(outs)
        ops = self._ops
        import numpy as np

        for op, a in zip(ops, arrays):
            a = np.asarray(a) if not hasattr(a, "ctypes") else a
            if a.dtype.name not in _DT:
                raise TypeError(a.dtype)
            op.data = a.ctypes.data
            op.dtype = _DT[a.dtype.name]
            op.ndim = a.ndim
            op.flags = 0
            for k in range(a.ndim):
                op.shape[k] = a.shape[k]
                op.strides[k] = a.strides[k]
        st = self._lib.ug_call(self._ptr, ops, len(arrays), None)
        if st != 0:
            raise RuntimeError("ug_call: " + self._lib.ug_errmsg(self._ctx).decode())
        return arrays[-1]

    def __del__(self):
        try:
            self._lib.ug_ufunc_free(self._ptr)
        except Exception:
            pass


class CtypesBackend:
    via = "ctypes"

    def __init__(self, path=None):
        path = path or find_library()
        if not path or not os.path.exists(path):
            raise Unavailable("no libufuncgen.so found (set UFUNCGEN_LIB)")
        self.path = path
        lib = ctypes.CDLL(path)
        self.lib = lib
        lib.ug_context_new.restype = ctypes.c_void_p
        lib.ug_context_new.argtypes = [ctypes.c_void_p]
        lib.ug_errmsg.restype = ctypes.c_char_p
        lib.ug_errmsg.argtypes = [ctypes.c_void_p]
        lib.ug_options_init.argtypes = [ctypes.POINTER(_Options)]
        lib.ug_vectorize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                     ctypes.POINTER(_Options), ctypes.POINTER(ctypes.c_void_p)]
        lib.ug_guvectorize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                       ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.POINTER(_Options),
                                       ctypes.POINTER(ctypes.c_void_p)]
        lib.ug_call.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.ug_ufunc_free.argtypes = [ctypes.c_void_p]
        lib.ug_ufunc_nin.argtypes = [ctypes.c_void_p]
        lib.ug_ufunc_nout.argtypes = [ctypes.c_void_p]
        lib.ug_context_set_num_threads.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.ctx = lib.ug_context_new(None)
        if not self.ctx:
            raise Unavailable("ug_context_new failed")
        self.version = "C library " + os.path.basename(path)

    def _opts(self, target, cache):
        o = _Options()
        self.lib.ug_options_init(ctypes.byref(o))
        o.target = 1 if target == "parallel" else 0
        o.cache = 1 if cache else 0
        return o

    def _wrap(self, st, ptr):
        if st != 0:
            raise RuntimeError(self.lib.ug_errmsg(self.ctx).decode())
        f = CtypesUfunc(self.lib, ptr, self.lib.ug_ufunc_nin(ptr), self.lib.ug_ufunc_nout(ptr))
        f._ctx = self.ctx
        return f

    def vectorize(self, src, sigs, target="cpu", cache=False):
        arr = (ctypes.c_char_p * len(sigs))(*[s.encode() for s in sigs])
        ptr = ctypes.c_void_p()
        o = self._opts(target, cache)
        st = self.lib.ug_vectorize(self.ctx, src.encode(), arr, len(sigs), ctypes.byref(o), ctypes.byref(ptr))
        return self._wrap(st, ptr)

    def guvectorize(self, src, sigs, layout, target="cpu", cache=False):
        arr = (ctypes.c_char_p * len(sigs))(*[s.encode() for s in sigs])
        ptr = ctypes.c_void_p()
        o = self._opts(target, cache)
        st = self.lib.ug_guvectorize(self.ctx, src.encode(), layout.encode(), arr, len(sigs), ctypes.byref(o),
                                     ctypes.byref(ptr))
        return self._wrap(st, ptr)

    def set_num_threads(self, n):
        os.environ["UFUNCGEN_NUM_THREADS"] = str(n)
        self.lib.ug_context_set_num_threads(self.ctx, n)


def load(prefer="auto"):
    """Return (backend or None, reason). prefer: auto | package | ctypes | none."""
    if prefer == "none":
        return None, "disabled (--ufuncgen none)"
    errors = []
    if prefer in ("auto", "package"):
        try:
            return PackageBackend(), ""
        except Exception as e:  # ImportError, or a half-built package
            errors.append("package: %s: %s" % (type(e).__name__, e))
            if prefer == "package":
                return None, "; ".join(errors)
    if prefer in ("auto", "ctypes"):
        try:
            return CtypesBackend(), ""
        except Exception as e:
            errors.append("ctypes: %s" % e)
    return None, "; ".join(errors)
