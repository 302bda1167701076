"""inspect_llvm / inspect_asm / inspect_types: the compiler's own dumps.

The compiler prints each stage to stderr under ``UFUNCGEN_DUMP``
(loops/compile.c, ufuncgen/ufunc.c). Inspecting a ufunc compiles its loops
again, without the cache, with the dump asked for and file descriptor 2
pointing at a temporary file, then cuts the text at the dump headers, one
section per loop in loop order. Output other threads write to stderr
meanwhile lands in the capture too (an inspection tool, not a hot path).
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import threading

_LOCK = threading.Lock()
_HEAD = {
    "ir": re.compile(r"^; ---- ufuncgen IR \(optimised\) \S+ ----\n", re.M),
    "asm": re.compile(r"^# ---- ufuncgen asm \S+ ----\n", re.M),
}
_ANY_HEAD = re.compile(r"^(; ---- ufuncgen IR|# ---- ufuncgen asm)", re.M)


def _capture(fn):
    with _LOCK, tempfile.TemporaryFile() as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode("utf-8", "replace")


def _sections(text: str, what: str) -> list:
    if what == "types":
        return [text] if text.strip() else []
    out = []
    for m in _HEAD[what].finditer(text):
        rest = text[m.end():]
        nxt = _ANY_HEAD.search(rest)
        out.append(rest[: nxt.start()] if nxt else rest)
    return out


def dump(uf, spec: dict, what: str, file=None):
    """{loop signature: text} for what in 'ir', 'asm', 'types'; with
    file (inspect_types(file=...)), the text is written there instead."""
    from . import _loop_sig, _make_ufunc, loops

    sigs = [_loop_sig(uf, t) for t in loops(uf)]
    old = os.environ.get("UFUNCGEN_DUMP")
    s = dict(spec, cache=False, background=False, lazy=False)  # compiled here, while stderr is captured
    texts = []
    from . import _ufuncgen
    _ufuncgen.background_wait()  # no other ufunc's compile may print into this capture
    try:
        os.environ["UFUNCGEN_DUMP"] = what
        for sig in sigs:  # one compilation per loop, so each text is that loop's
            texts.append("".join(_sections(_capture(lambda: _make_ufunc(s, [sig])), what)))
    finally:
        if old is None:
            os.environ.pop("UFUNCGEN_DUMP", None)
        else:
            os.environ["UFUNCGEN_DUMP"] = old
    result = dict(zip(uf.types, texts))  # keys as ufunc.types spells them: "dd->d"
    if file is not None and what == "types":
        for sig, text in result.items():
            print(f"{uf.__name__} {sig}\n{text}", file=file)
        return None
    return result
