#!/usr/bin/env bash
# test.sh — run every test of ufuncgen on this machine, installing what is
# missing first: the Check suites (normal build, Debian's LLVM 19), the
# Check suites again on LLVM 23 (PyPI's mlc-llvm-static, in a venv), the
# Python package as users get it (scripts/wheel.sh: sdist, wheel built from
# PyPI alone, auditwheel, the pytest suite in fresh venvs on the newest and
# the oldest admitted NumPy), the Check suites under AddressSanitizer +
# UndefinedBehaviorSanitizer, and a short libFuzzer run of each fuzz target.
# Usage: scripts/test.sh            (UFUNCGEN_TEST_QUICK=1 skips the sanitizer build)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh build
status=0

echo "== C test suites"
meson test -C build --print-errorlogs --num-processes 2 || status=1

echo "== C test suites on LLVM 23 (mlc-llvm-static from PyPI)"
# The other end of the supported LLVM range (meson.build's llvm_majors).
llvm23_venv=build-llvm23-venv
[ -x "$llvm23_venv/bin/python" ] || python3 -m venv "$llvm23_venv"
"$llvm23_venv/bin/python" -m pip install -q --disable-pip-version-check "mlc-llvm-static>=23.1,<24" >/dev/null
llvm23_config=$("$llvm23_venv/bin/python" -c 'import mlc_llvm_static as m; print(m.get_llvm_config())')
[ -f build-llvm23/build.ninja ] || meson setup build-llvm23 -Dllvm_config="$llvm23_config" >/dev/null
ninja -C build-llvm23 >/dev/null
# The suites whose outcome depends on LLVM (lowering, optimisation, code
# generation, JIT and cache, the driver, limits, ahead-of-time builds); the
# others (parsing, layouts, the OpenMP driver alone, the README's programs
# through pkg-config) ran above and do not touch LLVM's API, which is what
# differs here.
meson test -C build-llvm23 --print-errorlogs --num-processes 2 \
    test_loops_lower test_loops_inner test_loops_jit test_loops_source test_loops_fission \
    test_ufuncgen test_gufunc test_cache_e2e test_parallel_e2e test_limits test_pool \
    test_aot test_aot_jit test_aot_cli || status=1

if [ -f pyproject.toml ] && [ -d tests/python ]; then
    echo "== Python package: sdist, wheel, auditwheel, pytest in fresh venvs"
    bash scripts/wheel.sh build-wheel || status=1
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
