#!/usr/bin/env bash
# valgrind.sh — run every Check suite under valgrind memcheck (no fork, so
# leaks are attributed to the test). Fails on any memory error or definite leak.
# Usage: scripts/valgrind.sh [suite ...]     (default: all suites in build/tests/c)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh build
export CK_FORK=no CK_DEFAULT_TIMEOUT=0 UFUNCGEN_CACHE_DIR=$here/build/valgrind-cache
suites=("$@")
if [ ${#suites[@]} -eq 0 ]; then
    for t in build/tests/c/test_*; do [ -f "$t" ] && [ -x "$t" ] && suites+=("$(basename "$t")"); done
fi
status=0
for s in "${suites[@]}"; do
    echo "== valgrind $s"
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --smc-check=all-non-file --suppressions="$here/scripts/valgrind.supp" \
        "build/tests/c/$s" >/tmp/ufuncgen-vg-$s.log 2>&1 || { status=1; tail -60 /tmp/ufuncgen-vg-$s.log; }
    tail -1 /tmp/ufuncgen-vg-$s.log
done
exit $status
