#!/usr/bin/env bash
# bench/run.sh — run the benchmark suite with one command.
#
#   bash bench/run.sh            # full mode (sizes 1K/100K/10M, float32+float64; several minutes)
#   bash bench/run.sh --quick    # 10M float64 only, fewer repetitions (~1-2 minutes)
#   bash bench/run.sh --only sigmoid,dot --threads 1
#   bash bench/run.sh --numbagg  # numbagg's kernels, ufuncgen vs Numba (bench_numbagg.py; ~15 min)
#   bash bench/run.sh --numbagg --quick --only nanmean,move_mean
#   bash bench/run.sh --arrayfns # array functions in kernels vs Numba and NumPy (bench_arrayfns.py; ~5 min)
#   bash bench/run.sh --dtypes   # complex and float16 kernels vs NumPy, Numba and C (bench_dtypes.py; ~2 min)
#
# 1. installs bench/requirements.txt (numba, numexpr, matplotlib, numbagg) with pip,
#    pinning the numpy already installed so nothing downgrades it; a package
#    that cannot be installed becomes an "unavailable" column, not a failure;
# 2. installs the ufuncgen package from this checkout if `import ufuncgen`
#    fails (pip install --no-build-isolation .); if that fails too the suite
#    still runs, with ufuncgen reached through the C library (ctypes) if a
#    build exists, else marked unavailable;
# 3. compiles bench/cref.c (gcc -O3 -march=native) into bench/build/;
# 4. runs bench/bench_suite.py with the arguments given, writing
#    bench/results/latest.json and bench/results/latest.png; with --numbagg
#    (first argument) runs bench/bench_numbagg.py instead (step 3 skipped),
#    writing bench/results/numbagg.json.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PY="${PYTHON:-python3}"
cd "$ROOT"
SUITE="bench_suite.py"
if [ "${1:-}" = "--numbagg" ]; then
    SUITE="bench_numbagg.py"
    shift
elif [ "${1:-}" = "--arrayfns" ]; then
    SUITE="bench_arrayfns.py"
    shift
elif [ "${1:-}" = "--dtypes" ]; then
    SUITE="bench_dtypes.py"
    shift
fi

say() { printf 'bench/run.sh: %s\n' "$*" >&2; }

# --- 1. requirements
if ! "$PY" -c 'import numpy' 2>/dev/null; then
    say "installing numpy"
    "$PY" -m pip install -q numpy || say "numpy install failed"
fi
NPV="$("$PY" -c 'import numpy; print(numpy.__version__)' 2>/dev/null || true)"
missing=""
for m in numba numexpr matplotlib numbagg; do
    "$PY" -c "import $m" 2>/dev/null || missing="$missing $m"
done
if [ -n "$missing" ]; then
    say "installing$missing (numpy pinned at ${NPV:-any})"
    if ! "$PY" -m pip install -q -r "$HERE/requirements.txt" ${NPV:+"numpy==$NPV"}; then
        # one at a time, so one that cannot be installed does not block the others
        for m in $missing; do
            "$PY" -m pip install -q "$m" ${NPV:+"numpy==$NPV"} || say "could not install $m: its column will say so"
        done
    fi
fi

# --- 2. the ufuncgen package
if ! (cd /tmp && "$PY" -c 'import ufuncgen') 2>/dev/null; then
    say "installing the ufuncgen package from $ROOT (pip install --no-build-isolation .)"
    if ! "$PY" -m pip install -q --no-build-isolation "$ROOT" > "$HERE/build-pip.log" 2>&1; then
        say "package build failed (see bench/build-pip.log); trying the C library through ctypes"
        if ! ls "$ROOT"/build*/ufuncgen/libufuncgen.so >/dev/null 2>&1 && [ -z "${UFUNCGEN_LIB:-}" ]; then
            if command -v meson >/dev/null && command -v ninja >/dev/null; then
                (meson setup "$HERE/build/ug" -Dtests=false -Dbuildtype=release >/dev/null 2>&1 \
                    && ninja -C "$HERE/build/ug" >/dev/null 2>&1) || say "C library build failed too"
                [ -f "$HERE/build/ug/ufuncgen/libufuncgen.so" ] \
                    && export UFUNCGEN_LIB="$HERE/build/ug/ufuncgen/libufuncgen.so"
            fi
        fi
    fi
fi

# --- 3. the C reference loops (the numbagg table does not use them)
mkdir -p "$HERE/build"
if [ "$SUITE" = "bench_suite.py" ]; then
    CC="${CC:-gcc}"
    CFLAGS_COMMON="-O3 -march=native -fopenmp -fPIC -shared -std=gnu17"
    if [ "$HERE/cref.c" -nt "$HERE/build/libcref.so" ] || [ ! -f "$HERE/build/libcref_fast.so" ]; then
        say "compiling cref.c with $CC -O3 -march=native"
        $CC $CFLAGS_COMMON -ffp-contract=off -fno-math-errno -o "$HERE/build/libcref.so" "$HERE/cref.c" -lm \
            || say "cref.c did not compile: the C column will say so"
        $CC $CFLAGS_COMMON -ffast-math -o "$HERE/build/libcref_fast.so" "$HERE/cref.c" -lm \
            || say "cref.c (fast-math) did not compile: the C fast-math column will say so"
    fi
fi
if [ "$SUITE" = "bench_dtypes.py" ]; then
    CC="${CC:-gcc}"
    if [ "$HERE/cref_dtypes.c" -nt "$HERE/build/libcref_dtypes.so" ] || [ ! -f "$HERE/build/libcref_dtypes_fast.so" ]; then
        say "compiling cref_dtypes.c with $CC -O3 -march=native"
        $CC -O3 -march=native -fPIC -shared -std=gnu17 -o "$HERE/build/libcref_dtypes.so" "$HERE/cref_dtypes.c" -lm \
            || say "cref_dtypes.c did not compile: the C column will say so"
        $CC -O3 -march=native -ffast-math -fPIC -shared -std=gnu17 -o "$HERE/build/libcref_dtypes_fast.so" \
            "$HERE/cref_dtypes.c" -lm || say "cref_dtypes.c (fast-math) did not compile: the C fast-math column will say so"
    fi
fi

# --- 4. run
export BENCH_CREF_DIR="$HERE/build"
cd /tmp   # import the installed package, not python/ of the checkout
exec "$PY" "$HERE/$SUITE" "$@"
