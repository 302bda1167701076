#!/bin/sh
# test_layering.sh — the layers point one way (CONVENTIONS 15, README "Layout").
#   1. The runtime library (base/ runtime/ parallel/ layout/ core/) has no LLVM
#      symbol, defined or undefined: it runs compiled loops without LLVM.
#   2. Each folder includes only its own headers and those of layers below
#      it, and only the compiler folders include LLVM's headers.
#   3. No meson.build compiles another folder's sources.
# Usage: test_layering.sh <libufuncgen_runtime.a> <source root>
set -u
lib=$1; root=$2; fail=0
syms=$(nm -A "$lib" 2>/dev/null | awk '{print $1 " " $NF}' | grep -i ' [^ ]*llvm' | head -5)  # the symbol, not the path
nm "$lib" 2>/dev/null | grep -q " T " || { echo "FAIL: no symbols read from $lib"; exit 1; }
[ -z "$syms" ] || { echo "FAIL: LLVM symbols in the runtime library:"; echo "$syms"; fail=1; }

# folder: the folders whose headers it may include (besides its own and ufuncgen/ufuncgen.h)
allowed() {
    case $1 in
    base) echo "" ;;
    runtime) echo "base" ;;
    parallel) echo "base runtime" ;;
    layout) echo "base runtime parallel" ;;
    core) echo "base runtime parallel layout" ;;
    kernel) echo "base" ;;
    loops) echo "base runtime parallel layout kernel" ;;
    cache) echo "base runtime parallel layout kernel loops" ;;
    esac
}
for dir in base runtime parallel layout core kernel loops cache; do
    ok=$(allowed $dir)
    for f in "$root/$dir"/*.c "$root/$dir"/*.h; do
        [ -f "$f" ] || continue
        grep -o '#include "[^"]*"' "$f" | sed 's/#include "//; s/"$//' | while read -r inc; do
            top=${inc%%/*}
            case $inc in ufuncgen/ufuncgen.h|ufuncgen/aot.h) continue ;; esac  # the public headers
            [ "$top" = "$dir" ] && continue
            case " $ok " in *" $top "*) continue ;; esac
            echo "FAIL: ${f#$root/} includes $inc (layer $dir may include: $dir ${ok:-nothing else})"
        done
        case $dir in base|runtime|parallel|layout|core|kernel)
            if grep -q '#include <llvm-c/' "$f"; then echo "FAIL: ${f#$root/} includes an LLVM header"; fi ;;
        esac
    done
done > /tmp/ug-layering.$$
if [ -s /tmp/ug-layering.$$ ]; then cat /tmp/ug-layering.$$; fail=1; fi
rm -f /tmp/ug-layering.$$
if grep -rn --include=meson.build "'\.\./" "$root" | grep -v "^$root/build" | grep -q .; then
    echo "FAIL: a meson.build compiles another folder's sources:"
    grep -rn --include=meson.build "'\.\./" "$root" | grep -v "^$root/build"
    fail=1
fi
[ $fail -eq 0 ] && echo "ok: runtime library without LLVM; includes point down; no meson.build reaches across"
exit $fail
