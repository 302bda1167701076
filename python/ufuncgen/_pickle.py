"""Pickling ufuncgen ufuncs by value.

numpy.ufunc objects pickle by name: NumPy registers a reducer for
``numpy.ufunc`` in ``copyreg.dispatch_table`` that returns ``ufunc.__name__``
(pickle then looks the name up in a module). That cannot work for generated
ufuncs, so ufuncgen chains its own reducer in front of whatever was there:
ufuncs made by ufuncgen reduce to ``(rebuild, (spec,))`` - source, layout,
signatures, options - and every other ufunc is handed to the previous
reducer unchanged, so ``pickle.dumps(np.add)`` keeps working.

The spec lives with the ufunc's bridge (``ug_numpy_set_user``: numpy.ufunc
supports no weak references, and instance attributes only from NumPy 2.2,
so this keeps the spec exactly as long as the ufunc, with any NumPy). It
records what a rebuild compiles: the kernel text (helpers and constants
appended), signatures as given and as added later, options, and whether
new input dtypes still compile. A rebuilt ufunc always
uses the on-disk cache: the first process to need a loop compiles and
stores it, every other one loads machine code (the cache key covers source,
helpers, signature, options, versions and CPU, so this is always safe).
"""
from __future__ import annotations

import copyreg

import numpy as np

from . import _ufuncgen

def spec_of(uf):
    """The picklable spec of a ufuncgen ufunc (None for other ufuncs)."""
    if not _ufuncgen.is_ufuncgen(uf):
        return None
    st = _ufuncgen.get_user(uf)
    if st is None:
        return None
    return {k: v for k, v in st.spec.items() if not k.startswith("_")}


def rebuild(spec: dict):
    """Unpickle: recompile (from the cache) a ufunc described by spec."""
    from . import _build, _decorate

    spec = dict(spec)
    spec["cache"] = True
    uf = _build(spec)
    _decorate(uf, None)
    return uf


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
