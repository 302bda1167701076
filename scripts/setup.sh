#!/usr/bin/env bash
# setup.sh — install what ufuncgen needs (Debian packages, Python packages),
# then configure and build. Idempotent: installs only what is missing.
# Usage: scripts/setup.sh [build-dir]        (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}

apt_pkgs=(llvm-19-dev libzstd-dev clang-19 libclang-rt-19-dev check pkg-config valgrind gcc libc6-dev)
py=${PYTHON:-python3}
# A plain Debian 12 has no pip and no Python headers (the NumPy bridge builds against them).
command -v "$py" >/dev/null 2>&1 || apt_pkgs+=(python3)
"$py" -m pip --version >/dev/null 2>&1 || apt_pkgs+=(python3-pip python3-venv)
"$py" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    2>/dev/null || apt_pkgs+=(python3-dev)
missing=()
for p in "${apt_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

req="$here/scripts/requirements.txt"
# Debian's own python3 refuses pip installs outside a venv (PEP 668); this
# project's setup is for a machine it may change, so allow them.
export PIP_BREAK_SYSTEM_PACKAGES=1
[ -f "$here/python/requirements-test.txt" ] && req2="$here/python/requirements-test.txt" || req2=""
if ! "$py" -m pip install -q --disable-pip-version-check -r "$req" ${req2:+-r "$req2"} 2>/tmp/ufuncgen-pip.log; then
    cat /tmp/ufuncgen-pip.log >&2
    echo "pip install failed" >&2
    exit 1
fi

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$here" --buildtype=debugoptimized >/dev/null
fi
ninja -C "$build" >/dev/null
echo "== built in $build"
