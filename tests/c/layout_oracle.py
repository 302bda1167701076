#!/usr/bin/env python3
"""Ask NumPy's own gufunc-signature parser about every layout in a table.

Usage: layout_oracle.py layout_cases.txt

The table has one layout per line, written with Python string escapes
(\\t, \\x20, \\\\); '#' starts a comment line, blank lines are skipped, and
the single word <empty> is the empty string. NumPy needs nin and nout, so we
give it the counts the string implies: the '(' before the first "->" are the
inputs, the '(' after it the outputs (at least one); no "->" means no output
(NumPy accepts "(a),(a),(z)": a gufunc whose kernel writes into inputs).

For each case one line goes to stdout:
    <hex of the string> OK <nin> <nout> <nops ncore...> <nix ixs...> <ndim flags...> <sizes...>
    <hex of the string> ERR <nin> <nout> <0-based error position or -1>
which test_layout.c compares with layout_parse.
"""
import codecs
import re
import sys

from numpy._core._umath_tests import test_signature


def implied_counts(s):
    arrow = s.find("->")
    if arrow < 0:  # an empty layout has no operand at all: asked as one output, which NumPy rejects
        return (s.count("("), 0) if "(" in s else (0, 1)
    return s[:arrow].count("("), max(1, s[arrow + 2:].count("("))


def read_cases(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            yield "" if line == "<empty>" else codecs.decode(line, "unicode_escape")


def ints(seq):
    seq = list(seq)
    return " ".join(str(x) for x in [len(seq)] + seq)


def verdict(s):
    nin, nout = implied_counts(s)
    try:
        enabled, num_dims, ixs, flags, sizes = test_signature(nin, nout, s)
    except ValueError as e:
        m = re.search(r"at position (\d+)", str(e))
        return f"ERR {nin} {nout} {m.group(1) if m else -1}"
    return f"OK {nin} {nout} {ints(num_dims)} {ints(ixs)} {ints(flags)} {' '.join(map(str, sizes))}"


def main():
    for s in read_cases(sys.argv[1]):
        print(s.encode("utf-8").hex() or "-", verdict(s))


if __name__ == "__main__":
    main()
