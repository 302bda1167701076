"""Pickling ufuncgen ufuncs by value.

numpy.ufunc objects pickle by name: NumPy registers a reducer for
``numpy.ufunc`` in ``copyreg.dispatch_table`` that returns ``ufunc.__name__``
(pickle then looks the name up in a module). That cannot work for generated
ufuncs, so ufuncgen chains its own reducer in front of whatever was there:
ufuncs made by ufuncgen reduce to ``(rebuild, (spec,))`` - source, layout,
signatures, options - and every other ufunc is handed to the previous
reducer unchanged, so ``pickle.dumps(np.add)`` keeps working.

The spec lives in the ufunc's own ``__dict__`` (numpy.ufunc supports
attributes but not weak references, so a weak registry is impossible and
this keeps the spec exactly as long as the ufunc). A rebuilt ufunc always
uses the on-disk cache: the first process to need a loop compiles and
stores it, every other one loads machine code (the cache key covers source,
helpers, signature, options, versions and CPU, so this is always safe).
"""
from __future__ import annotations

import copyreg

import numpy as np

from . import _ufuncgen

SPEC_ATTR = "__ufuncgen_spec__"


def attach(uf, spec: dict) -> None:
    setattr(uf, SPEC_ATTR, dict(spec))


def spec_of(uf):
    if not _ufuncgen.is_ufuncgen(uf):
        return None
    return getattr(uf, SPEC_ATTR, None)


def rebuild(spec: dict):
    """Unpickle: recompile (from the cache) a ufunc described by spec."""
    from . import _build

    spec = dict(spec)
    spec["cache"] = True
    return _build(spec)


def _install() -> None:
    previous = copyreg.dispatch_table.get(np.ufunc)
    if getattr(previous, "_ufuncgen_reducer", False):
        previous = previous._ufuncgen_previous  # re-import: keep NumPy's, not ourselves

    def reduce_ufunc(uf):
        spec = spec_of(uf)
        if spec is not None:
            return (rebuild, (spec,))
        if previous is not None:
            return previous(uf)
        return uf.__name__  # NumPy's own rule: pickle by name

    reduce_ufunc._ufuncgen_reducer = True
    reduce_ufunc._ufuncgen_previous = previous
    copyreg.pickle(np.ufunc, reduce_ufunc)


_install()
