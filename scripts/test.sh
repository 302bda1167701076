#!/usr/bin/env bash
# test.sh — run every test of ufuncgen on this machine, installing what is
# missing first: the Check suites (normal build), the Python suite (pytest,
# against the package built by meson-python), and the Check suites again
# under AddressSanitizer + UndefinedBehaviorSanitizer, and a short libFuzzer
# run of each fuzz target.
# Usage: scripts/test.sh            (UFUNCGEN_TEST_QUICK=1 skips the sanitizer build)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh build
status=0

echo "== C test suites"
meson test -C build --print-errorlogs --num-processes 2 || status=1

if [ -f pyproject.toml ] && [ -d tests/python ]; then
    echo "== Python package and tests"
    python3 -m pip install -q --no-build-isolation --disable-pip-version-check . >/tmp/ufuncgen-pip-install.log 2>&1 \
        || { cat /tmp/ufuncgen-pip-install.log; status=1; }
    (cd tests/python && HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci} python3 -m pytest -q -p no:cacheprovider .) || status=1
fi

if [ "${UFUNCGEN_TEST_QUICK:-0}" != 1 ]; then
    echo "== C test suites under ASan + UBSan"
    # gcc's ASan/UBSan: Debian's clang-19 has no OpenMP runtime (libomp) to link.
    [ -f build-asan/build.ninja ] || meson setup build-asan -Dsanitize_ub_address=true -Db_lundef=false >/dev/null
    ninja -C build-asan >/dev/null
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
        meson test -C build-asan --print-errorlogs --num-processes 2 || status=1
    echo "== short fuzz runs (libFuzzer, ASan+UBSan; scripts/fuzz.sh SECONDS for longer)"
    bash scripts/fuzz.sh "${UFUNCGEN_FUZZ_SECONDS:-20}" || status=1
fi
exit $status
