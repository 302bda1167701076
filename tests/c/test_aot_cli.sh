#!/bin/sh
# test_aot_cli.sh — ufuncgen-aot on bad input: every failure exits non-zero
# with a message naming the file, line and what is wrong, and writes nothing.
# Usage: test_aot_cli.sh <ufuncgen-aot>
set -u
aot=$1; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
expect() {  # expect STATUS "MESSAGE" ARGS...
    want=$1; msg=$2; shift 2
    "$aot" "$@" >"$tmp/out" 2>&1; got=$?
    if [ "$got" != "$want" ] || { [ -n "$msg" ] && ! grep -qF -- "$msg" "$tmp/out"; }; then
        echo "FAIL: ufuncgen-aot $* -> $got (want $want, \"$msg\"):"; cat "$tmp/out"; fail=1
    fi
}
printf 'kernel k\nsignature f8->f8\nsource\ndef k(x):\n    return x +* 2\nend\n' >"$tmp/syntax.ugk"
expect 1 "syntax.ugk:5: kernel 'k', line 2, column 15: invalid syntax" "$tmp/syntax.ugk" -m m -o "$tmp"
printf 'kernel k\nsignature f8->f8\nsource\ndef k(x):\n    return x.shape\nend\n' >"$tmp/type.ugk"
expect 1 "type.ugk:5: kernel 'k', line 2, column" "$tmp/type.ugk" -m m -o "$tmp"
printf 'kernel k\nsignature f8->zz\nsource\ndef k(x):\n    return x\nend\n' >"$tmp/sig.ugk"
expect 1 "sig.ugk:2: kernel 'k': signature 'f8->zz', column 5: unknown type code 'z'" "$tmp/sig.ugk" -m m -o "$tmp"
printf 'kernel k\nlayuot (n)->()\n' >"$tmp/dir.ugk"
expect 1 "dir.ugk:2: unknown directive 'layuot'" "$tmp/dir.ugk" -m m -o "$tmp"
printf 'kernel k\nsource-file missing.py\n' >"$tmp/file.ugk"
expect 1 "cannot read source-file '$tmp/missing.py'" "$tmp/file.ugk" -m m -o "$tmp"
printf 'kernel k\nsignature f8->f8\nsource\ndef k(x):\n    return x\nend\n' >"$tmp/ok.ugk"
expect 1 "unknown CPU level 'x86-64-v9'" "$tmp/ok.ugk" -m m -o "$tmp" --cpu x86-64-v9
expect 1 "module name '2m' is not a C identifier" "$tmp/ok.ugk" -m 2m -o "$tmp"
expect 1 "cannot write $tmp/nowhere/m_loops.a" "$tmp/ok.ugk" -m m -o "$tmp/nowhere"
expect 1 "cannot read $tmp/absent.ugk" "$tmp/absent.ugk" -m m -o "$tmp"
expect 2 "DESCRIPTION, -m MODULE and -o DIR are required" "$tmp/ok.ugk"
expect 2 "--opt-level takes 0, 1, 2 or 3" "$tmp/ok.ugk" -m m -o "$tmp" --opt-level 9
if ls "$tmp"/m.c >/dev/null 2>&1; then echo "FAIL: a failed build wrote m.c"; fail=1; fi
expect 0 "" "$tmp/ok.ugk" -m m -o "$tmp" --cpu x86-64-v2 --cpu x86-64-v3
[ -s "$tmp/m_loops.a" ] && [ -s "$tmp/m.c" ] || { echo "FAIL: the good build wrote nothing"; fail=1; }
# levels given worst first are tried best first
order=$(grep -o '{"x86-64-v[0-9]", level_[0-9]}' "$tmp/m.c" | tr -d '\n')
[ "$order" = '{"x86-64-v3", level_0}{"x86-64-v2", level_1}' ] || { echo "FAIL: level order $order"; fail=1; }
[ $fail -eq 0 ] && echo "ok: ufuncgen-aot reports bad input by file and line"
exit $fail
