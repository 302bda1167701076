#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer targets (clang-19, ASan+UBSan) and run each
# one for SECONDS (default 60) on its seed corpus (fuzz/corpus/<target>,
# grown in build-fuzz/corpus/<target>). Any crash, leak, sanitizer report or
# hang (> 10 s for one input) fails the run; the reproducer is left in
# build-fuzz/artifacts/ and belongs in fuzz/regress/<target>/ (replayed by
# every run) and in a regression test.
# Usage: scripts/fuzz.sh [SECONDS] [target ...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
secs=${1:-60}; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(signature layout kernel cache aot)

need=()
for p in clang-19 libclang-rt-19-dev libomp-19-dev llvm-19-dev check; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -f build-fuzz/build.ninja ] || CC=clang-19 meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false >/dev/null
ninja -C build-fuzz $(printf 'fuzz/fuzz_%s ' "${targets[@]}") >build-fuzz/ninja.log 2>&1 \
    || { tail -40 build-fuzz/ninja.log; echo "fuzz.sh: the fuzz build failed (build-fuzz/ninja.log)" >&2; exit 1; }
mkdir -p build-fuzz/artifacts
status=0
for t in "${targets[@]}"; do
    mkdir -p "build-fuzz/corpus/$t"
    regress=(); [ -d "fuzz/regress/$t" ] && regress=("fuzz/regress/$t") # past findings, replayed first
    echo "== fuzz_$t for ${secs}s"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build-fuzz/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -artifact_prefix="build-fuzz/artifacts/${t}-" -print_final_stats=1 \
        "build-fuzz/corpus/$t" "fuzz/corpus/$t" ${regress[@]+"${regress[@]}"} >"build-fuzz/fuzz_$t.log" 2>&1 || { status=1; tail -40 "build-fuzz/fuzz_$t.log"; }
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "build-fuzz/fuzz_$t.log" | tail -2 || true
done
exit $status
