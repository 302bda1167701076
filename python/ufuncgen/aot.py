"""Ahead-of-time builds: compile a module's kernels when a package is built,
and ship an extension module of numpy.ufuncs that imports with no LLVM (and,
if the author wants, without ufuncgen installed).

    python -m ufuncgen.aot kernels.py -m mykernels -o OUTDIR [--cpu host --cpu x86-64-v2 ...]

imports ``kernels.py`` without compiling anything (``UFUNCGEN_LAZY=1``),
collects the ufuncs its ``@vectorize``/``@guvectorize`` decorators made
(their source, signatures, layout and options), compiles every loop for each
CPU level and writes into OUTDIR::

    mykernels_loops.a   the loops, one object per loop and level
    mykernels.h / .c    C constructors (ug_ufunc *mykernels_<name>(ug_context *)) and the
                        pick of the CPU level at load
    mykernels_module.c  the Python extension module ``mykernels``

A kernel description file (``*.ugk``, see ufuncgen/aot.h) is accepted in
place of a Python file. Kernels without signatures are compiled by
ufuncgen's JIT at first access where ufuncgen is installed; elsewhere,
calling them raises a TypeError naming the kernel and the dtypes.

Building the extension module (meson, see examples/aot/meson.build)::

    python -m ufuncgen.aot --config   # prints: include dir, runtime library, NumPy bridge source

Compile ``mykernels_module.c``, ``mykernels.c`` and the bridge with the
include dir and NumPy's, and link ``mykernels_loops.a``, the runtime library,
``-lmvec -lm`` and OpenMP (``-fopenmp``).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys

from . import _ufuncgen

_HERE = os.path.dirname(os.path.abspath(__file__))
LEVELS = ("host", "x86-64-v2", "x86-64-v3", "x86-64-v4")


def get_include() -> str:
    """The directory holding ufuncgen/ufuncgen.h, numpy.h and aot.h."""
    return os.path.join(_HERE, "_runtime", "include")


def get_runtime_library() -> str:
    """libufuncgen_runtime.a: what generated loops and the ufunc objects need, no LLVM."""
    return os.path.join(_HERE, "_runtime", "lib", "libufuncgen_runtime.a")


def get_numpy_bridge() -> str:
    """ufuncgen/numpy.c, the NumPy bridge an extension module compiles in."""
    return os.path.join(_HERE, "_runtime", "src", "numpy.c")


def _import_lazily(path: str):
    """Import the kernel module at path with nothing compiled."""
    name = "_ufuncgen_aot_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: not a Python file")
    mod = importlib.util.module_from_spec(spec)
    old = os.environ.get("UFUNCGEN_LAZY")
    os.environ["UFUNCGEN_LAZY"] = "1"
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.pop(0)
        if old is None:
            del os.environ["UFUNCGEN_LAZY"]
        else:
            os.environ["UFUNCGEN_LAZY"] = old
    return mod


def _kernel_text(attr: str, spec: dict) -> str:
    from . import _identity_code, _target_code

    lines = [f"kernel {attr}"]
    if spec.get("kernel"):  # else the source's only (or last) def, as the JIT takes it
        lines.append(f"def {spec['kernel']}")
    if spec["layout"] is not None:
        lines.append(f"layout {spec['layout']}")
    for s in spec["signatures"] or ():
        if not isinstance(s, str):
            raise TypeError(f"kernel {attr!r}: ahead-of-time builds take dtype signatures as strings, not {s!r}")
        lines.append(f"signature {s}")
    lines.append("target " + ("parallel" if _target_code(spec["target"]) else "cpu"))
    lines.append(f"fastmath {int(spec['fastmath'])}")  # already the code (ufuncgen._options)
    lines.append(f"boundscheck {int(bool(spec['boundscheck']))}")
    lines.append(f"math {spec.get('math', 'fast')}")
    ident = ["none", "zero", "one", "minus_one", "reorderable"]
    lines.append(f"identity {ident[_identity_code(spec['identity'])]}")
    lines.append(f"num_threads {int(spec['num_threads'])}")
    if spec.get("locals"):
        lines.append(f"locals {spec['locals']}")
    src = spec["source"]
    if any(line.rstrip("\r") == "end" for line in src.split("\n")):
        raise ValueError(f"kernel {attr!r}: a source line 'end' (use a .ugk description with source-file)")
    lines += ["source", src.rstrip("\n"), "end", ""]
    return "\n".join(lines)


def _kernels(module):
    """(attribute name, spec) of every ufuncgen ufunc a module defines, in definition order."""
    from . import _state, is_ufuncgen

    seen, out = set(), []
    for attr, value in vars(module).items():
        if attr.startswith("_") or not is_ufuncgen(value) or id(value) in seen:
            continue
        seen.add(id(value))
        out.append((attr, _state(value).spec))
    if not out:
        raise ValueError(f"{getattr(module, '__file__', module)}: no ufuncgen kernels to compile")
    return out


def description(module) -> str:
    """The kernel description of every ufuncgen ufunc a module defines, in
    definition order (the attribute names become the kernels' names)."""
    return "\n".join(_kernel_text(attr, spec) for attr, spec in _kernels(module))


_POSITIONED = re.compile(r"^[^\n]*?:\d+: kernel '(\w+)', line (\d+), column (\d+): ")
_UNPOSITIONED = re.compile(r"^[^\n]*?:\d+: kernel '(\w+)': ")


def _in_user_file(e: Exception, kernels) -> Exception:
    """The build's error with the kernel's file and line instead of the
    description's (the description of a Python module is generated)."""
    msg = str(e)
    specs = dict(kernels)
    m = _POSITIONED.match(msg)
    if m and m.group(1) in specs and specs[m.group(1)].get("filename"):
        spec = specs[m.group(1)]
        line = spec["firstlineno"] + int(m.group(2)) - 1
        msg = f"{spec['filename']}:{line}:{m.group(3)}: kernel '{m.group(1)}': " + msg[m.end():]
    else:
        m = _UNPOSITIONED.match(msg)
        if m and m.group(1) in specs and specs[m.group(1)].get("filename"):
            spec = specs[m.group(1)]
            msg = f"{spec['filename']}:{spec['firstlineno']}: kernel '{m.group(1)}': " + msg[m.end():]
    return type(e)(msg)


def build(source: str, module: str, outdir: str, cpu=("host",), opt_level: int = 2) -> list[str]:
    """Compile the kernels of source (a Python file or a .ugk description)
    into outdir; returns the paths written."""
    cpu = tuple(cpu) or ("host",)
    for level in cpu:
        if level not in LEVELS:
            raise ValueError(f"unknown CPU level {level!r} (one of {', '.join(LEVELS)})")
    kernels = None
    if source.endswith(".py"):
        kernels = _kernels(_import_lazily(source))
        text = "\n".join(_kernel_text(attr, spec) for attr, spec in kernels)
    else:
        with open(source, encoding="utf-8") as f:
            text = f.read()
    os.makedirs(outdir, exist_ok=True)
    try:
        _ufuncgen.aot_build(text, source, module, outdir, cpu, int(opt_level))
    except (SyntaxError, NameError, TypeError, ValueError, NotImplementedError) as e:
        if kernels is None:
            raise
        raise _in_user_file(e, kernels) from None
    return [os.path.join(outdir, module + s) for s in ("_loops.a", ".h", ".c", "_module.c")]


def build_extension(source: str, module: str, dest: str, cpu=("host",), opt_level: int = 2, cc=None,
                    workdir=None) -> str:
    """build(), then compile and link the Python extension module into dest
    with the C compiler (CC, else cc): what a meson.build does, for scripts
    and tests. Returns the module's path; CalledProcessError carries the
    compiler's output."""
    import subprocess
    import sysconfig
    import tempfile

    import numpy as np

    cc = cc or os.environ.get("CC") or "cc"
    with tempfile.TemporaryDirectory(dir=workdir) as gen:
        build(source, module, gen, cpu, opt_level)
        out = os.path.join(dest, module + sysconfig.get_config_var("EXT_SUFFIX"))
        os.makedirs(dest, exist_ok=True)
        cmd = [*cc.split(), "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-I" + get_include(),
               "-I" + np.get_include(), "-I" + sysconfig.get_paths()["include"], "-I" + gen,
               os.path.join(gen, module + "_module.c"), os.path.join(gen, module + ".c"), get_numpy_bridge(),
               os.path.join(gen, module + "_loops.a"), get_runtime_library(), "-lmvec", "-lm", "-fopenmp",
               "-Wl,--exclude-libs,ALL", "-o", out]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m ufuncgen.aot", description=__doc__.split("\n\n")[0])
    p.add_argument("source", nargs="?", help="a Python file of decorated kernels, or a .ugk description")
    p.add_argument("-m", "--module", help="the generated module's name (a C identifier)")
    p.add_argument("-o", "--outdir", help="where to write the files")
    p.add_argument("--cpu", action="append", choices=LEVELS,
                   help="a CPU level to compile for (repeatable; the module loads the best one the CPU runs; default: host)")
    p.add_argument("--opt-level", type=int, default=2, choices=(0, 1, 2, 3))
    p.add_argument("--config", action="store_true",
                   help="print the include directory, the runtime library and the NumPy bridge source, one a line")
    a = p.parse_args(argv)
    if a.config:
        print(get_include())
        print(get_runtime_library())
        print(get_numpy_bridge())
        return 0
    if not (a.source and a.module and a.outdir):
        p.error("source, -m MODULE and -o OUTDIR are required")
    try:
        build(a.source, a.module, a.outdir, a.cpu or ("host",), a.opt_level)
    except (SyntaxError, NameError, TypeError, ValueError, NotImplementedError, RuntimeError, OSError) as e:
        print(f"ufuncgen.aot: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
