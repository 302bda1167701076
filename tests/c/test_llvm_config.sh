#!/bin/sh
# test_llvm_config.sh — meson setup without a usable LLVM stops and says
# what to install (issue 20): a missing llvm-config, and one of an
# unsupported version.
# Usage: test_llvm_config.sh <source root>
set -u
root=$1; tmp=$(mktemp -d); fail=0
trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/sh\necho 14.0.6\n' > "$tmp/llvm-config"; chmod +x "$tmp/llvm-config"
for case in "/nonexistent/llvm-config:does not exist" "$tmp/llvm-config:is LLVM 14.0.6"; do
    path=${case%%:*}; why=${case#*:}
    out=$(meson setup "$tmp/build" "$root" -Dllvm_config="$path" -Dtests=false 2>&1)
    st=$?; rm -rf "$tmp/build"
    [ $st -ne 0 ] || { echo "FAIL: meson setup with llvm_config=$path succeeded"; fail=1; continue; }
    for want in "no usable LLVM" "$why" 'python3 -m pip install "mlc-llvm-static>=23.1,<24"' \
                "apt-get install llvm-19-dev libzstd-dev" "of LLVM 19 or 23"; do
        case $out in *"$want"*) ;; *) echo "FAIL: llvm_config=$path: the error lacks '$want':"; echo "$out" | tail -3; fail=1 ;; esac
    done
    [ $fail = 0 ] && echo "ok: llvm_config=$path: $(echo "$out" | grep -o 'no usable LLVM ([^)]*)')"
done
exit $fail
