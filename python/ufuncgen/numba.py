"""Numba's names, for a one-line switch:

    from ufuncgen.numba import vectorize, guvectorize, njit, prange, float64, int64, void

replaces ``from numba import ...`` and the rest of the file stays. The
decorators are ufuncgen's (they return real numpy.ufunc objects); the type
objects are ufuncgen's copies of numba.types' (float64[:], float64(float64),
void(float64[:], ...)); ``types`` is this module, for ``numba.types.float64``
style code written as ``from ufuncgen.numba import types``.
"""
import sys as _sys

from . import (GUVectorize, Vectorize, get_num_threads, get_thread_id, guvectorize, jit, njit, prange,  # noqa: F401
               set_num_threads, vectorize)
from ._types import TYPES as _TYPES

globals().update(_TYPES)
types = _sys.modules[__name__]

__all__ = ["vectorize", "guvectorize", "njit", "jit", "prange", "Vectorize", "GUVectorize", "set_num_threads",
           "get_num_threads", "get_thread_id", "types"] + sorted(_TYPES)
