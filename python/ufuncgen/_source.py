"""Kernel source from a Python function or a string.

The kernel language is a subset of Python, so a decorated function's own
text is the kernel: ``inspect.getsource``, dedented, with the decorator lines
dropped (everything above the ``def``). A lambda is cut out of its line with
``ast``. Strings are dedented and used as they are.
"""
from __future__ import annotations

import ast
import inspect
import operator
import re
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class KernelSource:
    text: str              # the kernel source handed to the compiler
    filename: str          # where it came from, for SyntaxError
    firstlineno: int       # line of text's first line in filename (1-based)
    name: str | None       # the function's name (None for strings / lambdas)
    indent: int = 0        # columns removed from each line by dedenting


_AFTER_NL = re.compile(r"(?<=\n)")


def split_lines(text: str) -> list:
    """text's lines as Python numbers them (ast's lineno): broken at "\n"
    only, each keeping it. str.splitlines also breaks at form feeds and other
    separators, which would shift every later line."""
    return _AFTER_NL.split(text)


def is_source(obj) -> bool:
    """True if obj is a string of kernel source rather than a signature or
    layout: after blank and comment lines it starts with ``def``, ``lambda``
    or a decorator ``@``. Signatures ("f8(f8)", "dd->d") and layouts
    ("(n)->()") never do."""
    if not isinstance(obj, str):
        return False
    for line in obj.lstrip("\ufeff").splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if re.match(r"[A-Za-z_]\w*\s*=\s*lambda\b", s):  # k = lambda x: ...
            return True
        if re.match(r"[A-Za-z_]\w*\s*=[^=]", s):  # module-level constants before the def
            return re.search(r"^\s*(def\s|@|[A-Za-z_]\w*\s*=\s*lambda\b)", obj, re.M) is not None
        return s.startswith(("def ", "def\t", "lambda", "@"))
    return False


def source_problem(obj, strict: bool = True):
    """What is wrong with a string meant as kernel source but not starting
    with def, lambda or a decorator, as (message, line), or None if it may be
    a signature or a layout (those are one line, without '#', ':' or a
    keyword). Not strict (the string is surely meant as source): only empty,
    comment-only, class and async def sources; the kernel parser says what
    else is wrong."""
    if not isinstance(obj, str) or is_source(obj):
        return None
    s = obj.lstrip("\ufeff")
    all_lines = s.splitlines()
    code = [(i + 1, ln.strip()) for i, ln in enumerate(all_lines) if ln.strip() and not ln.strip().startswith("#")]
    if not any(ln.strip() for ln in all_lines):
        return "the kernel source is empty", 1
    if not code:
        return "the kernel source holds only comments", 1
    line, first = code[0]
    if first.startswith("async "):
        return "an async def cannot be a kernel: write a plain def", line
    if first.startswith("class ") or first.startswith("class:"):
        return "a class cannot be a kernel: the kernel source is a def or a lambda", line
    if not strict:
        return None
    if len(all_lines) > 1 or "#" in s or ":" in re.sub(r"\[[^\]]*\]", "", first):
        return "the kernel source must start with def, lambda or a decorator", line
    return None


def source_error(problem, src: str) -> SyntaxError:
    """The SyntaxError for source_problem's answer, positioned like the kernel parser's."""
    msg, line = problem
    lines = src.lstrip("\ufeff").splitlines()
    text = lines[line - 1] + "\n" if line <= len(lines) else ""
    return SyntaxError(f"line {line}, column 1: {msg}", ("<kernel>", line, 1, text))


def from_string(src: str) -> KernelSource:
    text = textwrap.dedent(src.lstrip("\ufeff"))
    # Decorator lines pasted with the source are dropped like for functions.
    try:
        tree = ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError):
        tree = None  # let ufuncgen's own parser report it, with its message and position
    if tree is not None:
        defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if defs and defs[0].decorator_list:
            lines = split_lines(text)
            first = defs[0].lineno - 1
            return KernelSource("".join(lines[first:]), "<kernel>", first + 1, None)
    return KernelSource(text, "<kernel>", 1, None)


_third = operator.itemgetter(2)


def _code_lines(func):
    """The lines of a def function, decorators included, and the first one's
    number, read from its file by the code object's line table (the text
    inspect.getsourcelines gives, without tokenizing the file for each
    kernel: a module of many kernels imports several times faster). None
    when the table does not say (no positions, a lambda, an unreadable file)."""
    import linecache
    code = getattr(func, "__code__", None)
    if code is None or func.__name__ == "<lambda>" or not hasattr(code, "co_positions"):
        return None
    filename = code.co_filename
    lines = linecache.getlines(filename, func.__globals__)
    first = code.co_firstlineno  # the first decorator's line
    last = first
    todo = [code]
    while todo:  # nested code (a lambda or def inside) ends inside the function too
        c = todo.pop()
        todo.extend(k for k in c.co_consts if isinstance(k, type(code)))
        last = max(last, max(filter(None, map(_third, c.co_lines())), default=last))
    if not lines or first < 1 or last > len(lines) or last == first:
        return None
    # The last statement starts on line `last`; its continuation lines are
    # indented deeper than the decorators and the def.
    base = len(lines[first - 1]) - len(lines[first - 1].lstrip())
    while last < len(lines) and lines[last].strip() and len(lines[last]) - len(lines[last].lstrip()) > base:
        last += 1
    while lines[last - 1].lstrip().startswith("#"):  # a comment after the body is not the function's
        last -= 1
    return lines[first - 1:last], first, filename


def _dedent(text: str) -> str:
    """textwrap.dedent(text), without its two regex passes when the first
    line is not indented (a module-level def: no margin to remove) and no
    line is blank but for spaces or tabs (nothing to blank out)."""
    if text[:1] not in (" ", "\t", "\n") and " \n" not in text and "\t\n" not in text \
            and not text.endswith((" ", "\t")):
        return text
    return textwrap.dedent(text)


def _def_line(text: str, name: str):
    """Offset of the one line of text that is ``def name(`` (the test
    from_function used to run on every line), or None for none or several."""
    found, pos = None, text.find("def ")
    while pos >= 0:
        if pos == 0 or text[pos - 1] == "\n":
            end = text.find("\n", pos)
            rest = text[pos + 4:end if end >= 0 else len(text)].lstrip()
            if rest.startswith(name) and rest[len(name):].lstrip().startswith("("):
                if found is not None:
                    return None
                found = pos
        pos = text.find("def ", pos + 1)
    return found


def _from_inspect(func) -> KernelSource:
    return from_function(func, fast=False)


def from_function(func, fast=True) -> KernelSource:
    fast = _code_lines(func) if fast else None
    try:
        if fast is not None:
            lines, lnum, filename = fast
        else:
            lines, lnum = inspect.getsourcelines(func)
            filename = inspect.getsourcefile(func) or "<kernel>"
    except (OSError, TypeError) as e:
        raise TypeError(
            f"cannot read the source of {func!r} ({e}); pass the kernel as a string: "
            "ufuncgen.vectorize(signatures)(source) or ufuncgen.vectorize(source, signatures)"
        ) from None
    text = _dedent("".join(lines))
    indent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
    lnum = max(lnum, 1)
    if func.__name__ == "<lambda>":
        return _lambda_source(text, filename, lnum)
    if fast is not None:  # the def line by its name: no parse of the whole text
        at = _def_line(text, func.__name__)
        if at is not None:
            return KernelSource(text[at:], filename, lnum + text.count("\n", 0, at), func.__name__, indent)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        if fast is not None:  # the line table misled us: ask inspect
            return _from_inspect(func)
        return KernelSource(text, filename, lnum, func.__name__)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == func.__name__:
            src_lines = split_lines(text)
            body = "".join(src_lines[node.lineno - 1 : node.end_lineno])
            return KernelSource(body, filename, lnum + node.lineno - 1, func.__name__, indent)
    return KernelSource(text, filename, lnum, func.__name__, indent)


def _lambda_source(text: str, filename: str, lnum: int) -> KernelSource:
    # getsource returns the whole statement; a lambda spanning a partial
    # statement (inside a call) may not parse alone, so try growing contexts.
    for candidate in (text, "(" + text.strip() + ")"):
        try:
            tree = ast.parse(candidate)
        except SyntaxError:
            continue
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        if len(lambdas) == 1:
            seg = ast.get_source_segment(candidate, lambdas[0])
            if seg:
                return KernelSource(" ".join(seg.split("\n")), filename, lnum + lambdas[0].lineno - 1, None)
    raise TypeError(
        "cannot isolate the lambda's source (several lambdas on its line?); pass the kernel as a "
        "string: ufuncgen.vectorize(signatures)('lambda x: ...')"
    )
