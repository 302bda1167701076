#!/usr/bin/env bash
# demo.sh — build ufuncgen (installing what is missing) and show it working:
#  1. a C program registering a scalar kernel and calling it on its arrays;
#  2. a parallel gufunc over a large stack of vectors;
#  3. NumPy importing generated ufuncs (run twice: the second run is served
#     from the on-disk cache, with the cache's own log as proof);
#  4. ahead of time: a C program whose loops were compiled at build time,
#     linked without LLVM, and a Python package built with them, imported
#     in a venv that has NumPy but not ufuncgen.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh build
export UFUNCGEN_CACHE_DIR=${UFUNCGEN_CACHE_DIR:-$here/build/demo-cache}

echo; echo "== 1. C registration: examples/vectorize.c"
build/examples/vectorize

if [ -x build/examples/gufunc_parallel ]; then
    echo; echo "== 2. Parallel gufunc: examples/gufunc_parallel.c"
    build/examples/gufunc_parallel
fi

if [ -f pyproject.toml ] && [ -f examples/numpy_demo.py ]; then
    python3 -m pip install -q --no-build-isolation --disable-pip-version-check . >/tmp/ufuncgen-pip-install.log 2>&1 \
        || { cat /tmp/ufuncgen-pip-install.log; exit 1; }
    rm -rf "$UFUNCGEN_CACHE_DIR"
    echo; echo "== 3. NumPy import, first run (compiles, writes the cache)"
    (cd /tmp && python3 "$here/examples/numpy_demo.py")
    echo; echo "== 4. Second run, served from the cache (UFUNCGEN_DEBUG_CACHE=1 shows the hits)"
    (cd /tmp && UFUNCGEN_DEBUG_CACHE=1 python3 "$here/examples/numpy_demo.py")
fi

echo; echo "== 5. Ahead of time, from C: examples/aot/main.c (loops built by ufuncgen-aot; no LLVM linked)"
build/examples/aot_main

if [ -f pyproject.toml ]; then
    echo; echo "== 6. Ahead of time, from Python: examples/aot built as a package, imported without ufuncgen"
    wheels=$here/build/aot-example-wheel
    rm -rf "$wheels"
    python3 -m pip wheel -q --no-build-isolation --no-deps --disable-pip-version-check -w "$wheels" examples/aot \
        >/tmp/ufuncgen-aot-wheel.log 2>&1 || { cat /tmp/ufuncgen-aot-wheel.log; exit 1; }
    venv=$here/build/aot-example-venv
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall "numpy>=2.1" "$wheels"/*.whl \
        >/tmp/ufuncgen-aot-venv.log 2>&1 || { cat /tmp/ufuncgen-aot-venv.log; exit 1; }
    (cd /tmp && "$venv/bin/python" "$here/examples/aot_demo.py")
fi
