#!/usr/bin/env python3
"""test_readme.py — the README's C blocks work exactly as printed, against
the installed library (issue 20).

1. `meson install --destdir` the build into a temporary tree;
2. every ```c block of README.md is a program: compiled with
   `cc -std=c17 -Wall -Wextra -Werror $(pkg-config --cflags --libs ufuncgen)`
   (the .pc's prefix moved into the tree), run, and its output compared with
   the ```text block that follows it;
3. the same programs linked statically through `pkg-config --static` against
   libufuncgen.a alone (the shared library removed from a copy of the
   tree): they must not need libufuncgen.so and must print the same; and
   once more through the build tree's uninstalled .pc (README's recipe);
4. ufuncgen.pc names each private library once, and LLVM one way only
   (its archives or libLLVM.so, not both); numpy.h and the bridge
   (`--variable=numpy_bridge`) are installed.

Usage: test_readme.py BUILD_DIR SOURCE_ROOT
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def blocks(readme):
    """(c source, expected output or None) for each ```c block."""
    fences = re.findall(r"```(\w*)\n(.*?)```", readme, re.S)
    out = []
    for i, (lang, body) in enumerate(fences):
        if lang == "c":
            nxt = fences[i + 1] if i + 1 < len(fences) else ("", "")
            out.append((body, nxt[1] if nxt[0] == "text" else None))
    return out


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} (exit {r.returncode})\n{r.stdout}{r.stderr}")
    return r.stdout


def pkg_config(tree, *args):
    """pkg-config on the tree's ufuncgen.pc, its prefix moved into the tree
    (not PKG_CONFIG_SYSROOT_DIR: pkgconf would prefix LLVM's archive paths too)."""
    pc = find(tree, "ufuncgen.pc")
    assert len(pc) == 1, f"one ufuncgen.pc in the install tree, found {pc}"
    with open(pc[0]) as f:
        prefix = re.search(r"^prefix=(.*)$", f.read(), re.M).group(1)
    d = os.path.dirname(pc[0])
    env = dict(os.environ, PKG_CONFIG_PATH=d, PKG_CONFIG_LIBDIR=d)
    return run(["pkg-config", f"--define-variable=prefix={tree}{prefix}", *args, "ufuncgen"], env=env).split()


def find(tree, name):
    return [os.path.join(d, f) for d, _, fs in os.walk(tree) for f in fs if f == name]


def check_pc(tree):
    libs = pkg_config(tree, "--static", "--libs")
    assert libs, "pkg-config --static --libs printed nothing"
    dup = sorted({x for x in libs if libs.count(x) > 1})
    assert not dup, f"ufuncgen.pc lists these more than once: {dup}"
    llvm_so = [x for x in libs if re.search(r"libLLVM[-.\w]*\.so|-lLLVM", x)]
    llvm_a = [x for x in libs if re.search(r"libLLVM\w+\.a$", x)]
    assert bool(llvm_so) != bool(llvm_a), f"LLVM must be linked one way: shared {llvm_so}, static {llvm_a[:3]}..."
    bridge = pkg_config(tree, "--variable=numpy_bridge")
    assert len(bridge) == 1 and os.path.isfile(bridge[0]), f"numpy_bridge: {bridge}"
    assert find(tree, "numpy.h") and find(tree, "ufuncgen.h"), "numpy.h installed beside ufuncgen.h"
    assert os.path.dirname(find(tree, "numpy.h")[0]) == os.path.dirname(find(tree, "ufuncgen.h")[0])


def uninstalled_flags(build):
    """What README says for a source build: the uninstalled .pc in the build tree."""
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(build, "meson-uninstalled"))
    return run(["pkg-config", "--cflags", "--libs", "ufuncgen"], env=env).split()


def build_and_run(tree, src, want, static, work, k, uninstalled=None):
    c = os.path.join(work, f"readme{k}.c")
    exe = os.path.join(work, f"readme{k}{'-static' if static else ''}{'-uninstalled' if uninstalled else ''}")
    with open(c, "w") as f:
        f.write(src)
    if uninstalled:
        flags = uninstalled_flags(uninstalled)
    else:
        flags = pkg_config(tree, "--cflags", *(["--static"] if static else []), "--libs")
    run([os.environ.get("CC", "cc"), "-std=c17", "-Wall", "-Wextra", "-Werror", c, "-o", exe, *flags])
    needed = run(["readelf", "-d", exe])
    assert ("libufuncgen.so" in needed) != static, f"{exe}: libufuncgen.so needed = {not static}?\n{needed}"
    env = dict(os.environ, UFUNCGEN_CACHE_DIR=os.path.join(work, "cache"))
    env.pop("LD_LIBRARY_PATH", None)  # meson test points it at the build tree
    if uninstalled:
        env["LD_LIBRARY_PATH"] = os.path.join(uninstalled, "ufuncgen")
    elif not static:  # the libdir is where pkgconfig/ufuncgen.pc is
        env["LD_LIBRARY_PATH"] = os.path.dirname(os.path.dirname(find(tree, "ufuncgen.pc")[0]))
    got = run([exe], env=env)
    if want is not None:
        assert got == want, f"README block {k} printed:\n{got}\nthe README says:\n{want}"
    how = "uninstalled .pc" if uninstalled else "static" if static else "shared"
    print(f"ok: README C block {k}, {how}: {got.splitlines()[0] if got else ''}")


def main():
    build, root = sys.argv[1], sys.argv[2]
    with open(os.path.join(root, "README.md")) as f:
        progs = blocks(f.read())
    assert len(progs) >= 2, "the README has its C programs"
    with tempfile.TemporaryDirectory(prefix="ug-readme-") as work:
        tree = os.path.join(work, "dest")
        run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", tree])
        check_pc(tree)
        # A copy with libufuncgen.a alone: what -Ddefault_library=static installs.
        stree = os.path.join(work, "dest-static")
        shutil.copytree(tree, stree, symlinks=True)
        for d, _, fs in os.walk(stree):
            for f in fs:
                if f.startswith("libufuncgen.so"):
                    os.unlink(os.path.join(d, f))
        for k, (src, want) in enumerate(progs, 1):
            build_and_run(tree, src, want, False, work, k)
            build_and_run(stree, src, want, True, work, k)
            build_and_run(None, src, want, False, work, k, uninstalled=build)
    print(f"{3 * len(progs)} passed, 0 failed")


if __name__ == "__main__":
    main()
