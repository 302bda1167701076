"""Random kernels for ufuncgen's tests: valid programs with a Python oracle,
and invalid programs that must fail with a positioned error.

Shared by test_hypothesis.py (``expressions``: expression-only kernels) and
test_kernelgen.py (whole kernels with statements).

VALID PROGRAMS. ``scalar_kernels(dtype)`` draws a ``Kernel``: a scalar
kernel ``def k(x, y): ...`` (1 to 3 parameters, optionally after a helper
``def h``) or a one-line ``k = lambda x, y: ...``; ``gufunc_kernels(dtype)``
a ``(n),(n)->()`` or ``(n),(n)->(n)`` kernel ``def g(a, b, out)``.
Statements: assignment (also tuple assignment), augmented assignment,
if/elif/else, ``for`` over ``range`` (1 to 3 arguments, small bounds),
``while`` guarded by a counter, break/continue, early returns, array stores;
expressions: ternaries, chained comparisons, and/or/not, helper calls, math
functions spelled bare or with ``math.``/``np.``/``numpy.``, casts, Python
and NumPy min/max, weak literals in many spellings.

Gufunc kernels also use arrays (``arrays_ok``): ``for x in a``, over a slice
or a reversal, ``enumerate(a[, start])``, ``zip(a, b)``, ``reversed(range(...))``
(with accumulators); views ``v = a[lo:hi:step]`` with bounds in and out of
range, negative, or integer locals of any value, steps +-1/2/3, then
``len(v)`` and, under ``if len(v) > k:``, ``v[j]``/``v[-1 - j]``; local arrays
(``np.zeros/ones/empty(n[, dtype=])``, ``np.full``, the ``*_like`` forms;
``empty`` ones filled before use); element stores, slice stores of a scalar
or of an array slice of provably equal length (also overlapping ``out``),
element-wise array expressions (``out[:] = a * c + b``, kept as a new local
or stored), in-place operators on arrays and slices, boolean-mask stores,
reductions of such expressions (``r = np.nanmean(a * c)``, ``(a - b).sum()``:
NumPy's own results, bit for bit);
chained assignment ``p = q = e``, swaps ``p, q = q, p``; ``raise`` in a
branch the data never takes or may take (the Python run must raise the same
exception at the same line). Each array knows its element dtype and what
is known of its length (== len(a), <= len(a), a constant, a lower bound), so
that indices stay in range and stores cast as NumPy's (no float -> int;
in-place operators only same_kind). With transcendental functions, ``out``
stays out of the array forms (the oracle's row then holds ``Approx``).

The oracle is Python itself: ``reference(kernel, *inputs)`` execs the same text with
the kernel language's builtins mapped to NumPy (``exp`` -> ``np.exp``,
``int`` -> an int64 cast, ``range`` yielding ``np.int64`` since the kernel's
loop variables are int64, ``min``/``max`` as Python's on arguments unified to
their NEP 50 type) and runs it element by element on NumPy scalars, which
follow the same NEP 50 rules as the kernel (``enumerate`` yields int64
indices; ``out`` and local arrays are NumPy rows whose stores cast unsafely,
as the kernel's do). The generator is typed so that
places where Python scalars legitimately differ from the kernel do not
arise: every value a local holds has the local's one dtype (no local is a
Python int on one path and int64 on another), no operation has only weak
(literal) operands, integer powers have small non-negative exponents, range
steps are non-zero, every loop terminates (a ``while`` counter is
incremented first thing in the body), locals are assigned before use.

Transcendental functions (and float ``**``) appear with
``transcendental=True``. Their results are "tainted": the generator keeps
them out of anything discontinuous (comparisons, branches, floor, casts to
int, ``//``, ``%``, other math calls), so the kernel's result is a smooth
function of them, and the reference carries a forward error bound
(``Approx``): 4 ulp per transcendental call, propagated through + - * /,
plus one ulp for the rounding of every later operation. That is the "4 ulp,
scaled to avoid cancellation false alarms". Untainted values must match bit
for bit (both NaN, or equal with the same sign).

INVALID PROGRAMS. ``invalid_programs()`` draws ``Mutant``s: token-level
mutations of valid kernels (delete, duplicate, swap, replace or insert
keywords/operators/names/bad literals/stray characters, break indentation,
tab mix, truncate, split lines, insert a broken statement) and targeted
invalid constructs (undefined names, wrong arities, unknown functions,
arrays used as scalars, missing returns, nesting past the limit, misused
array constructs: ``GUFUNC_MUTANTS``, ...).
``check_error`` states what a failure must look like.
"""
from __future__ import annotations

import ast
import builtins
import io
import keyword
import math
import re
import textwrap
import tokenize
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

# ====================================================================== expressions


def expressions(literals, binops, unary, depth):
    """Expressions over x and y (for expression-only kernels). Every binary
    operation has a variable on at least one side, so no literal-only
    subexpression is folded by Python in double precision (in a kernel, as in
    NumPy, literals are weak)."""
    leaf = st.sampled_from(["x", "y"])
    lit = st.sampled_from(literals)

    def extend(sub):
        op = st.sampled_from(binops)
        return st.one_of(
            st.tuples(sub, op, sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(sub, op, lit).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(lit, op, sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(unary), sub).map(lambda t: f"{t[0]}({t[1]})"),
        )

    return st.recursive(leaf, extend, max_leaves=depth)


# ====================================================================== types and tables

F4, F8, I8, B = "float32", "float64", "int64", "bool"
I4, U1 = "int32", "uint8"
FLOATS = (F4, F8)
INTS = (I8, I4, U1)
NUMERIC = FLOATS + INTS

# Correctly rounded (or exact) functions of one float: compared bit for bit.
EXACT_FLOAT_FUNCS = ["sqrt", "floor", "ceil", "trunc", "rint", "sign", "fabs"]
# Transcendental functions: canonical NumPy name -> the spellings the language accepts.
TRANSCENDENTAL = {
    "exp": ["exp"], "exp2": ["exp2"], "expm1": ["expm1"], "log": ["log"], "log2": ["log2"],
    "log10": ["log10"], "log1p": ["log1p"], "cbrt": ["cbrt"], "sin": ["sin"], "cos": ["cos"],
    "tan": ["tan"], "arcsin": ["arcsin", "asin"], "arccos": ["arccos", "acos"],
    "arctan": ["arctan", "atan"], "sinh": ["sinh"], "cosh": ["cosh"], "tanh": ["tanh"],
    "arcsinh": ["arcsinh", "asinh"], "arccosh": ["arccosh", "acosh"], "arctanh": ["arctanh", "atanh"],
    "erf": ["erf"], "erfc": ["erfc"],
}
TRANSCENDENTAL2 = {"arctan2": ["arctan2", "atan2"], "hypot": ["hypot"], "power": ["power", "pow"]}
PREFIXES = ["", "", "math.", "np.", "numpy."]

FLOAT_LITERALS = ["0.5", "1.5", "2.0", "0.1", "3.25", "1e-3", "2.5e1", ".5", "5.", "1_000.0", "1E2", "0.0",
                  "-0.5", "-2.0", "pi", "math.pi", "np.e"]
INT_LITERALS = ["0", "1", "2", "3", "7", "10", "0x1f", "0o17", "0b101", "1_000", "255", "-1", "-3"]
CASTS = {F4: ["np.float32", "float32", "numpy.float32"], F8: ["float", "np.float64", "float64"],
         I8: ["int", "np.int64", "int64"], I4: ["np.int32", "int32"], U1: ["np.uint8", "uint8", "numpy.uint8"]}


def promote(a, b):
    """NumPy's promotion of two strong dtypes."""
    return np.promote_types(a, b).name


def fits(lit, dtype):
    """Whether an int literal is a valid weak operand next to `dtype` (NumPy 2
    raises OverflowError for one out of the dtype's range)."""
    if dtype not in INTS:
        return True
    v = int(lit.replace("_", ""), 0) if lit not in ("True", "False") else 1
    info = np.iinfo(dtype)
    return info.min <= v <= info.max


# ====================================================================== the generator


@dataclass
class Var:
    dtype: str
    tainted: bool = False   # may hold a value derived from a transcendental function
    weak: bool = False      # a while counter `w = 0`: int64 in both languages, never reassigned
    index_ok: bool = False  # gufunc loop variable: 0 <= i < len(a) == len(b)
    arr: bool = False       # a 1-d array (a, b, out, a local array or a view); dtype is its elements'
    length: object = None   # arrays: "n" (== len(a)), an int, or None (unknown)
    le_n: bool = False      # arrays: len <= len(a)
    minlen: int = 0         # arrays: known lower bound of len (inside `if len(v) > k:`)
    writable: bool = False  # arrays: out, local arrays and their views


def scalars(env):
    return {n: v for n, v in env.items() if not v.arr}


def arrays(env, writable=False):
    return {n: v for n, v in env.items() if v.arr and (v.writable or not writable)}


@dataclass
class Kernel:
    source: str
    name: str               # the kernel's name (the def, or the lambda's target)
    in_dtypes: tuple
    out_dtype: str
    layout: str | None = None       # gufunc layout; None for a scalar kernel
    tainted: bool = False           # transcendental functions: compare within the error bound
    out_array: bool = False         # gufunc: the oracle passes out as a NumPy row (views, slice stores)

    @property
    def signature(self):
        if self.layout is None:
            return f"{self.out_dtype}({', '.join(self.in_dtypes)})"
        arrs = [f"{d}[:]" for d in self.in_dtypes] + [f"{self.out_dtype}[:]"]
        return f"void({', '.join(arrs)})"


class _Gen:
    """One program: a typed recursive generator. Its choices come from a
    random.Random that hypothesis seeds (st.randoms(use_true_random=True)):
    hypothesis' own draws repeat earlier choices on purpose, which here made
    `x op x` everywhere; a failure prints the whole source anyway.

    Statement generators return (lines, ends): lines relative to the
    block's indentation, ends when control cannot reach the next line."""

    def __init__(self, rnd, dtype, transcendental, gufunc=False, out_dtype=None, out_shape="()"):
        self.rnd = rnd
        self.dtype = dtype
        self.trans = transcendental
        self.gufunc = gufunc
        self.out_dtype = out_dtype or dtype
        self.out_shape = out_shape
        self.max_depth = 3
        self.counter = 0
        self.helper = None          # (name, nparams, returns a tainted value)
        self.in_helper = False
        self.ret_tainted = False
        self.used_taint = False
        self.arrays_ok = False      # the array constructs (gufunc kernels)
        self.out_arrays = False     # out as an array (views, slice stores): not with transcendentals

    # -------------------------------------------------------------- drawing

    def pick(self, seq):
        return self.rnd.choice(list(seq))

    def chance(self, p):
        return self.rnd.random() < p

    def randint(self, lo, hi):
        return self.rnd.randint(lo, hi)

    def fresh(self, prefix="v"):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def literal(self, dtype):
        """A weak literal that does not change the type of a `dtype` operation."""
        if dtype in FLOATS and self.chance(0.6):
            return self.pick(FLOAT_LITERALS)
        if self.chance(0.04):
            return self.pick(["True", "False"])
        return self.pick([lit for lit in INT_LITERALS if fits(lit, dtype)])

    def cast_of_other(self, env, dtype):
        """No variable has this type: cast one that has another (or a literal)."""
        others = [n for n, v in scalars(env).items() if v.dtype in NUMERIC and not v.weak and not v.tainted]
        if others and self.chance(0.8):
            return f"{self.pick(CASTS[dtype])}({self.pick(others)})"
        return self.cast_of_literal(dtype)

    def cast_of_literal(self, dtype):
        lit = self.pick(INT_LITERALS[:6]) if dtype in INTS else self.pick(FLOAT_LITERALS[:12] + INT_LITERALS[:4])
        return f"{self.pick(CASTS[dtype])}({lit})"

    # -------------------------------------------------------------- expressions

    def leaves(self, env, dtype, taint_ok):
        out = [n for n, v in scalars(env).items()
               if v.dtype == dtype and not v.weak and (taint_ok or not v.tainted)]
        idx = [n for n, v in env.items() if v.index_ok]
        if self.gufunc and dtype == self.dtype:
            for i in idx:
                out += [f"a[{i}]", f"b[{i}]", f"a[-1 - {i}]", f"b[len(b) - 1 - {i}]"]
        if self.gufunc and dtype == I8:
            out += ["len(a)", "len(b)"]
        for n, v in arrays(env).items():  # elements of local arrays and views, in range
            if n in ("a", "b"):
                continue
            if dtype == I8 and self.chance(0.3):
                out.append(f"len({n})")
            if v.dtype != dtype:
                continue
            if v.length == "n":
                out += [f"{n}[{i}]" for i in idx] + [f"{n}[-1 - {i}]" for i in idx[:1]]
            k = v.minlen if v.length in ("n", None) else max(v.minlen, v.length)
            if k > 0:
                j = self.randint(0, k - 1)
                out += [f"{n}[{j}]", f"{n}[{-1 - j}]", f"{n}[len({n}) - {k}]"]
        return out

    def expr(self, env, dtype, depth, taint_ok=False):
        """(text, tainted): an expression whose value has strong type `dtype`."""
        if dtype == B:
            return self.cond(env, depth), False
        leaves = self.leaves(env, dtype, taint_ok)
        if depth <= 0 or (leaves and self.chance(0.2)):
            if not leaves:
                return self.cast_of_other(env, dtype), False
            name = self.pick(leaves)
            return name, bool(name in env and env[name].tainted)
        kinds = ["binop", "binop", "binlit", "binlit", "unary", "call", "ternary", "minmax", "cast"]
        if self.helper and not self.in_helper and dtype == self.dtype:
            kinds += ["helper", "helper"]
        if dtype in FLOATS and self.trans and taint_ok:
            kinds += ["trans", "trans", "trans"]
        if any(v.weak for v in env.values()):
            kinds.append("weakvar")
        return getattr(self, "e_" + self.pick(kinds))(env, dtype, depth - 1, taint_ok)

    def play(self):
        """The dtypes this kernel's values have: its own, int64 (loop
        variables, len) and float64 (and float32 in a float32 kernel)."""
        return sorted({self.dtype, I8, F8})

    def e_binop(self, env, dtype, depth, taint_ok):
        ints = [t for t in self.play() if t in INTS]
        if dtype == F8 and self.chance(0.1):  # true division of integers
            return f"({self.expr(env, self.pick(ints), depth)[0]} / {self.expr(env, self.pick(ints), depth)[0]})", False
        ta = tb = dtype
        mixed = [(x, y) for x in self.play() for y in self.play() if x != y and promote(x, y) == dtype]
        if mixed and self.chance(0.3):  # mixed operands promoting to dtype
            ta, tb = self.pick(mixed)
        a, ua = self.expr(env, ta, depth, taint_ok and ta in FLOATS)
        b, ub = self.expr(env, tb, depth, taint_ok and tb in FLOATS)
        if a == b and self.chance(0.8):  # x op x is mostly dull
            b, ub = self.expr(env, tb, depth, taint_ok and tb in FLOATS)
        if dtype in INTS:
            op = self.pick(["+", "-", "*", "//", "%", "&", "|", "^", "<<", ">>", "+", "-", "*"])
            if op in ("<<", ">>") and self.chance(0.5):
                b = f"({b} & 63)"
        else:
            op = self.pick(["+", "-", "*", "/"] * 2 + ([] if ua or ub else ["//", "%"]))
        return f"({a} {op} {b})", ua or ub

    def e_binlit(self, env, dtype, depth, taint_ok):
        a, ta = self.expr(env, dtype, depth, taint_ok)
        lit = self.literal(dtype)
        if dtype in INTS:
            op = self.pick(["+", "-", "*", "//", "%", "&", "|", "^", "<<", ">>", "**"])
            if op == "**":
                return f"({a} ** {self.pick(['0', '1', '2', '3', 'True'])})", False
            if op in ("<<", ">>"):
                if self.chance(0.5):
                    lit = self.pick([v for v in ["1", "3", "-1", "255"] if fits(v, dtype)])
                    return f"({lit} {op} ({a} & 63))", False
                lit = self.pick([v for v in ["0", "1", "7", "8", "31", "32", "63", "64", "70"] if fits(v, dtype)])
                return f"({a} {op} {lit})", False
        else:
            op = self.pick(["+", "-", "*", "/"] * 2 + ([] if ta else ["//", "%"]))
        return (f"({lit} {op} {a})" if self.chance(0.5) else f"({a} {op} {lit})"), ta

    def e_unary(self, env, dtype, depth, taint_ok):
        a, ta = self.expr(env, dtype, depth, taint_ok)
        ops = ["-", "+", "abs"] + (["~", "np.abs"] if dtype in INTS else ["fabs", "math.fabs", "np.fabs"])
        return f"{self.pick(ops)}({a})", ta

    def e_call(self, env, dtype, depth, taint_ok):
        if dtype in INTS:
            a, _ = self.expr(env, dtype, depth)
            return f"{self.pick(['sign', 'np.sign', 'round', 'abs', 'np.abs'])}({a})", False
        a, _ = self.expr(env, dtype, depth)
        if self.chance(0.2):
            b, _ = self.expr(env, dtype, depth) if self.chance(0.6) else (self.literal(dtype), False)
            return f"{self.pick(['copysign', 'math.copysign', 'np.fmod', 'fmod'])}({a}, {b})", False
        f = self.pick(EXACT_FLOAT_FUNCS + ["round"])
        return f"{self.pick(PREFIXES) if f != 'round' else ''}{f}({a})", False

    def e_trans(self, env, dtype, depth, taint_ok):
        self.used_taint = True
        if self.chance(0.25):
            name = self.pick(sorted(TRANSCENDENTAL2))
            spelling = self.pick(TRANSCENDENTAL2[name])
            a, _ = self.expr(env, dtype, depth)
            b, _ = self.expr(env, dtype, depth) if self.chance(0.6) else (self.literal(dtype), False)
            if name == "power" and self.chance(0.5):
                return f"({a} ** {b})", True
            pre = self.pick(["", "math."]) if spelling == "pow" else self.pick(PREFIXES)
            return f"{pre}{spelling}({a}, {b})", True
        name = self.pick(sorted(TRANSCENDENTAL))
        spelling = self.pick(TRANSCENDENTAL[name])
        a, _ = self.expr(env, dtype, depth)
        pre = self.pick(["", "math."]) if name in ("erf", "erfc") else self.pick(PREFIXES)
        return f"{pre}{spelling}({a})", True

    def e_ternary(self, env, dtype, depth, taint_ok):
        a, ta = self.expr(env, dtype, depth, taint_ok)
        b, tb = self.expr(env, dtype, depth, taint_ok)
        return f"({a} if {self.cond(env, depth)} else {b})", ta or tb

    def e_minmax(self, env, dtype, depth, taint_ok):
        a, ta = self.expr(env, dtype, depth, taint_ok)
        b, tb = (self.literal(dtype), False) if self.chance(0.4) else self.expr(env, dtype, depth, taint_ok)
        if self.chance(0.5):
            a, b = b, a
        if dtype in FLOATS and self.chance(0.4):
            f = self.pick(["maximum", "minimum", "fmax", "fmin", "np.maximum", "np.fmin"])
            return f"{f}({a}, {b})", ta or tb
        f = self.pick(["min", "max"])
        if self.chance(0.25):
            c, tc = self.expr(env, dtype, depth, taint_ok)
            return f"{f}({a}, {b}, {c})", ta or tb or tc
        return f"{f}({a}, {b})", ta or tb

    def e_cast(self, env, dtype, depth, taint_ok):
        src = self.pick(self.play() + ([B] if dtype in INTS else []))
        a, ta = self.expr(env, src, depth, taint_ok and dtype in FLOATS and src in FLOATS)
        return f"{self.pick(CASTS[dtype])}({a})", ta

    def e_helper(self, env, dtype, depth, taint_ok):
        name, nparams, tainted = self.helper
        if tainted and not taint_ok:
            return self.e_binop(env, dtype, depth, taint_ok)
        args = [self.expr(env, self.dtype, depth)[0] for _ in range(nparams)]
        return f"{name}({', '.join(args)})", tainted

    def e_weakvar(self, env, dtype, depth, taint_ok):
        # A while counter `w = 0` is int64 (a local assigned a bare literal
        # takes the literal's own type, as in Numba), so next to other types
        # it is cast to the expression's dtype.
        w = self.pick([n for n, v in env.items() if v.weak])
        if dtype != I8:
            w = f"{self.pick(CASTS[dtype])}({w})"
        a, ta = self.expr(env, dtype, depth, taint_ok)
        op = self.pick(["+", "-", "*"])
        return (f"({a} {op} {w})" if self.chance(0.5) else f"({w} {op} {a})"), ta

    # -------------------------------------------------------------- conditions

    def num_type(self):
        return self.pick([self.dtype] * 3 + [t for t in self.play() if t != self.dtype])

    def cond(self, env, depth):
        """A condition (untainted): comparisons, chains, and/or/not, predicates, bool locals."""
        kind = self.pick(["cmp", "cmp", "cmp", "chain", "andor", "not", "pred", "boolvar"]) if depth > 0 else "cmp"
        if kind == "chain":
            t = self.num_type()
            a, b, c = self.expr(env, t, depth - 1)[0], self.expr(env, t, depth - 1)[0], self.literal(t)
            o1, o2 = self.pick(["<", "<=", ">", ">=", "==", "!="]), self.pick(["<", "<=", ">", ">="])
            return f"({a} {o1} {b} {o2} {c})" if self.chance(0.5) else f"({c} {o1} {a} {o2} {b})"
        if kind == "andor":
            return f"({self.cond(env, depth - 1)} {self.pick(['and', 'or'])} {self.cond(env, depth - 1)})"
        if kind == "not":
            return f"(not {self.cond(env, depth - 1)})"
        if kind == "pred":
            t = self.pick(FLOATS) if self.dtype in FLOATS else F8
            a, _ = self.expr(env, t, depth - 1)
            return f"{self.pick(PREFIXES)}{self.pick(['isnan', 'isinf', 'isfinite'])}({a})"
        bools = [n for n, v in scalars(env).items() if v.dtype == B]
        if kind == "boolvar" and bools:
            return self.pick(bools)
        t = self.num_type()
        a, _ = self.expr(env, t, depth - 1)
        b = self.expr(env, t, depth - 1)[0] if self.chance(0.5) else self.literal(t)
        return f"({a} {self.pick(['<', '<=', '>', '>=', '==', '!='])} {b})"

    # -------------------------------------------------------------- statements

    def block(self, env, depth, in_loop, ret, nstmts=None, scope=False):
        """Lines of a block at relative indentation 0; (lines, ends). Locals
        made here stay here (names are never reused) unless `scope`: a
        function body, whose env then holds them for the final statement."""
        env = env if scope else dict(env)
        lines = []
        for _ in range(nstmts if nstmts is not None else self.randint(1, 3)):
            kinds = ["assign", "assign", "newlocal", "newlocal", "augassign"]
            if depth < self.max_depth:
                kinds += ["if", "if", "for", "while"]
            if in_loop:  # loops matter when they accumulate
                kinds += ["augassign", "augassign", "break", "continue"]
            if ret is not None:
                kinds.append("return")
            if self.gufunc:
                kinds += ["store", "store"]
                if self.arrays_ok:
                    kinds += ["forarr", "forarr", "view", "localarr", "localarr", "slicestore", "slicestore",
                              "arrexpr", "inplace", "chain", "swap", "raise", "reduce", "reduce"]
                    if self.dtype in FLOATS or arrays(env, True):
                        kinds.append("mask")
            out, ends = getattr(self, "s_" + self.pick(kinds))(env, depth, in_loop, ret)
            lines += out
            if ends:
                return lines, True
        return lines, False

    def body(self, env, depth, in_loop, ret):
        lines, _ = self.block(env, depth + 1, in_loop, ret)
        return ["    " + ln for ln in lines]

    def local_types(self):
        return [self.dtype] * 3 + [t for t in self.play() if t != self.dtype] + [B]

    def typed_init(self, e, t):
        """e as the first value of a local of type t: a bare literal would give
        the local the literal's own type (int64, float64, bool), so it is cast."""
        try:
            node = ast.parse(e, mode="eval").body
        except SyntaxError:
            return e
        if not _literal_chain(node):
            return e
        v = node
        while isinstance(v, ast.UnaryOp):
            v = v.operand
        own = {bool: B, int: I8, float: F8}[type(v.value)]
        return e if own == t else f"{self.pick(CASTS[t])}({e})"

    def s_newlocal(self, env, depth, in_loop, ret):
        name, t = self.fresh(), self.pick(self.local_types())
        e, te = self.expr(env, t, self.randint(0, 3), t in FLOATS and self.trans and self.chance(0.6))
        e = self.typed_init(e, t)
        env[name] = Var(t, tainted=te)
        return [f"{name}{': ' + t if self.chance(0.05) and t != B else ''} = {e}"], False

    def assignable(self, env):
        return [n for n, v in scalars(env).items() if not v.weak and not v.index_ok]

    def s_assign(self, env, depth, in_loop, ret):
        names = self.assignable(env)
        if not names:
            return self.s_newlocal(env, depth, in_loop, ret)
        name = self.pick(names)
        v = env[name]
        e, _ = self.expr(env, v.dtype, self.randint(0, 3), v.tainted)
        e = self.typed_init(e, v.dtype)
        same = [n for n in names if env[n].dtype == v.dtype and n != name]
        if same and self.chance(0.15):
            other = self.pick(same)
            e2, _ = self.expr(env, v.dtype, 1, env[other].tainted)
            return [f"{name}, {other} = {e}, {self.typed_init(e2, v.dtype)}"], False
        return [f"{name} = {e}"], False

    def s_augassign(self, env, depth, in_loop, ret):
        names = [n for n in self.assignable(env) if env[n].dtype != B]
        if not names:
            return self.s_newlocal(env, depth, in_loop, ret)
        name = self.pick(names)
        v = env[name]
        rt = self.pick([v.dtype] + [t for t in self.play() if promote(v.dtype, t) == v.dtype])  # never widens
        if v.dtype in INTS:
            op = self.pick(["+=", "-=", "*=", "//=", "%=", "&=", "|=", "^=", "<<=", ">>=", "**="])
            if op == "**=":
                rhs = self.pick(["0", "1", "2", "3"])
            elif op in ("<<=", ">>="):
                rhs = self.pick([r for r in ["1", "5", "8", "63", "64"] if fits(r, v.dtype)])
            else:
                rhs = self.expr(env, rt, 2)[0] if self.chance(0.6) else self.literal(v.dtype)
            return [f"{name} {op} {rhs}"], False
        op = self.pick(["+=", "-=", "*=", "/="] + ([] if v.tainted else ["//=", "%="]))
        rhs = self.expr(env, rt, 2, v.tainted and rt in FLOATS)[0] if self.chance(0.6) else self.literal(v.dtype)
        return [f"{name} {op} {rhs}"], False

    def s_if(self, env, depth, in_loop, ret):
        lines = [f"if {self.cond(env, 2)}:"] + self.body(env, depth, in_loop, ret)
        for _ in range(self.randint(0, 2)):
            lines += [f"elif {self.cond(env, 2)}:"] + self.body(env, depth, in_loop, ret)
        if self.chance(0.5):
            lines += ["else:"] + self.body(env, depth, in_loop, ret)
        return lines, False

    def range_args(self, env):
        """(arguments of range, whether the loop variable indexes a and b)."""
        if self.gufunc and self.chance(0.7):
            forms = ["len(a)", "len(b)", "0, len(a)", "len(a) - 1, -1, -1", "0, len(a), 2"]
            idx = [n for n, v in env.items() if v.index_ok]
            if idx:
                i = self.pick(idx)
                forms += [f"{i}", f"{i} + 1", f"{i}, len(a)"]
            return self.pick(forms), True
        k = self.randint(0, 4)
        forms = [f"{k}", f"1, {k}", f"{k}, -1, -1", f"0, {k + 2}, 2", f"-2, {k}", f"{k}, 0, -2"]
        weak = [n for n, v in env.items() if v.weak]
        ints = [n for n, v in scalars(env).items() if v.dtype in INTS and not v.weak and not v.index_ok]
        if weak:
            forms.append(self.pick(weak))
        if ints:
            forms.append(f"{self.pick(ints)} % {k + 1}")
        return self.pick(forms), False

    def accumulator(self, env, inner, var):
        """Often a loop folds into a local made just before it (visible after
        the loop, so the trip count shows in the result): (before, first line)."""
        if not self.chance(0.6):
            return [], []
        acc = self.fresh("acc")
        t = self.dtype if self.chance(0.8) else self.pick(self.local_types()[:3])
        init, _ = self.expr(env, t, 1)
        init = self.typed_init(init, t)
        step, _ = self.expr(inner, t, 2)
        if var is None:  # the loop's element variables are in `inner`
            line = f"{acc} {self.pick(['+=', '^=', '-='] if t in INTS else ['+=', '-=', '*='])} {step}"
        elif t in INTS:
            v = var if t == I8 else f"{self.pick(CASTS[t])}({var})"
            line = f"{acc} {self.pick(['+=', '^=', '-='])} {step} {self.pick(['+', '^', '*'])} {v}"
        else:
            line = f"{acc} {self.pick(['+=', '-=', '*='])} {step} * {self.pick(CASTS[t])}({var})"
        env[acc] = inner[acc] = Var(t)
        return [f"{acc} = {init}"], ["    " + line]

    def s_for(self, env, depth, in_loop, ret):
        var = self.fresh("i")
        args, index_ok = self.range_args(env)
        inner = dict(env, **{var: Var(I8, index_ok=index_ok)})
        before, first = self.accumulator(env, inner, var)
        return before + [f"for {var} in range({args}):"] + first + self.body(inner, depth, True, ret), False

    def s_while(self, env, depth, in_loop, ret):
        w = self.fresh("w")
        guard = f"{w} < {self.randint(1, 4)}"
        if self.chance(0.6):
            c = self.cond(env, 1)
            guard = f"{guard} and {c}" if self.chance(0.5) else f"{c} and {guard}"
        inner = dict(env, **{w: Var(I8, weak=True)})
        before, first = self.accumulator(env, inner, w)
        return (before + [f"{w} = 0", f"while {guard}:", f"    {w} += 1"] + first
                + self.body(inner, depth, True, ret)), False

    def s_break(self, env, depth, in_loop, ret):
        if self.chance(0.8):
            return [f"if {self.cond(env, 1)}:", "    break"], False
        return ["break"], True

    def s_continue(self, env, depth, in_loop, ret):
        if self.chance(0.8):
            return [f"if {self.cond(env, 1)}:", "    continue"], False
        return ["continue"], True

    def s_return(self, env, depth, in_loop, ret):
        if self.chance(0.6):
            return [f"if {self.cond(env, 1)}:", f"    return {self.ret_expr(env, ret)}"], False
        return [f"return {self.ret_expr(env, ret)}"], True

    def s_store(self, env, depth, in_loop, ret):
        idx = [n for n, v in env.items() if v.index_ok]
        if self.out_shape != "()" and not idx:
            return self.s_newlocal(env, depth, in_loop, ret)
        t = self.dtype if self.dtype in INTS else self.pick([self.dtype, self.dtype, F8, I8])
        e, _ = self.expr(env, t, 2, t in FLOATS and self.trans)
        where = "0" if self.out_shape == "()" else self.pick(idx)
        return [f"out[{where}] {self.pick(['=', '=', '+=', '-=', '*='])} {e}"], False

    def ret_expr(self, env, ret):
        """A return value: the helper's dtype, or (kernels) any dtype the output cast accepts."""
        if ret == "any":
            t = self.pick([self.dtype] * 3 + self.local_types())
            # a tainted float cast to an int output would be discontinuous
            taint_ok = t in FLOATS and self.trans and self.out_dtype in FLOATS
            return self.expr(env, t, 3, taint_ok)[0]
        e, te = self.expr(env, ret, 3, self.trans)
        self.ret_tainted |= te
        return e

    def final_return(self, env):
        """The kernel's last return: a value plus the latest locals of the body,
        so that what the body computed reaches the output."""
        t = self.pick([self.dtype] * 3 + self.local_types())
        if self.out_dtype in INTS and t not in INTS and self.chance(0.7):
            t = self.dtype if self.dtype in INTS else I8
        taint_ok = t in FLOATS and self.trans and self.out_dtype in FLOATS
        e = self.expr(env, t, 3, taint_ok)[0]
        if taint_ok:  # transcendental results reach the output
            e = f"({e}) {self.pick('+-*')} {self.e_trans(env, t, 2, True)[0]}"
            if self.helper and self.helper[2] and not self.in_helper:
                e = f"({e}) + {self.e_helper(env, self.dtype, 2, True)[0]}"
        if t in INTS:
            extra, op = [n for n, v in scalars(env).items() if v.dtype in INTS and not v.weak], "^"
        else:
            extra = [n for n, v in scalars(env).items()
                     if v.dtype in NUMERIC and not v.weak and (taint_ok or not v.tainted)]
            op = "+"
        for n in extra[-3:]:
            e = f"({e}) {op} {n}"
        return e


    # -------------------------------------------------------------- arrays

    # slice bounds: in and out of range, negative, from len(a)
    BOUNDS = ["", "", "", "0", "1", "2", "-1", "-2", "-3", "5", "9", "-9", "len(a)", "len(a) - 1", "len(b) + 2",
              "-len(a)"]
    STEPS = ["", "", "", "1", "-1", "-1", "2", "-2", "3", "-3"]

    def slice_text(self, env=None):
        """lo:hi[:step]; sometimes a bound is an integer local (any value, also huge)."""
        bounds = list(self.BOUNDS)
        if env:
            bounds += [n for n, v in scalars(env).items() if v.dtype in INTS and not v.tainted][-2:]
        lo, hi, step = self.pick(bounds), self.pick(bounds), self.pick(self.STEPS)
        return f"{lo}:{hi}:{step}" if step or self.chance(0.2) else f"{lo}:{hi}"

    def arr_src(self, env, slice_p=0.5, need_n=False):
        """(text, Var) of an array to read: an array, its reversal or a slice of it."""
        cands = arrays(env)
        if need_n:
            cands = {n: v for n, v in cands.items() if v.length == "n"}
        name = self.pick(sorted(cands))
        v = cands[name]
        le_n = v.length == "n" or v.le_n
        if need_n:
            return (name if self.chance(0.7) else f"{name}[::-1]"), Var(v.dtype, arr=True, length="n", le_n=True,
                                                                         writable=v.writable)
        if self.chance(slice_p):
            return f"{name}[{self.slice_text(env)}]", Var(v.dtype, arr=True, le_n=le_n, writable=v.writable)
        text = name if self.chance(0.7) else f"{name}[::-1]"
        return text, Var(v.dtype, arr=True, length=v.length, le_n=le_n, minlen=v.minlen, writable=v.writable)

    @staticmethod
    def storable(src, dst):
        """A store the kernel and NumPy cast alike (no float -> int: NaN)."""
        return not (src in FLOATS and dst in INTS)

    @staticmethod
    def inplace_ok(src, dst):
        """In-place array operators cast as NumPy's ufuncs do: same_kind."""
        return bool(np.can_cast(src, dst, "same_kind"))

    def s_forarr(self, env, depth, in_loop, ret):
        if depth >= self.max_depth:
            return self.s_store(env, depth, in_loop, ret)
        kind = self.pick(["in", "in", "enum", "zip", "rev"])
        inner, accvar = dict(env), None
        if kind == "rev":
            var = accvar = self.fresh("i")
            args, index_ok = self.range_args(env)
            inner[var] = Var(I8, index_ok=index_ok)
            head = f"for {var} in reversed(range({args})):"
        elif kind == "in":
            src, av = self.arr_src(env)
            x = self.fresh("x")
            inner[x] = Var(av.dtype)
            head = f"for {x} in {src}:"
        elif kind == "enum":
            src, av = self.arr_src(env)
            i, x = self.fresh("i"), self.fresh("x")
            start = self.pick(["", "", ", 1", ", -2", ", 3"])
            inner[i] = Var(I8, index_ok=start == "" and av.length == "n")
            inner[x] = Var(av.dtype)
            accvar = i if self.chance(0.5) else None
            head = f"for {i}, {x} in enumerate({src}{start}):"
        else:
            (s1, v1), (s2, v2) = self.arr_src(env), self.arr_src(env)
            x, y = self.fresh("x"), self.fresh("y")
            inner[x], inner[y] = Var(v1.dtype), Var(v2.dtype)
            head = f"for {x}, {y} in zip({s1}, {s2}):"
        before, first = self.accumulator(env, inner, accvar)
        return before + [head] + first + self.body(inner, depth, True, ret), False

    def s_view(self, env, depth, in_loop, ret):
        name = self.fresh("v")
        src, var = self.arr_src(env, slice_p=0.85)
        env[name] = var
        lines = [f"{name} = {src}"]
        if self.chance(0.3):
            n = self.fresh()
            env[n] = Var(I8)
            lines.append(f"{n} = len({name})")
        if depth < self.max_depth and self.chance(0.6):
            k = self.randint(0, 2)
            inner = dict(env, **{name: Var(var.dtype, arr=True, length=var.length, le_n=var.le_n,
                                           minlen=max(var.minlen, k + 1), writable=var.writable)})
            lines += [f"if len({name}) > {k}:"] + self.body(inner, depth, in_loop, ret)
        return lines, False

    def dtype_arg(self):
        return self.pick(CASTS[self.dtype] + ["a.dtype", "b.dtype"])

    def s_localarr(self, env, depth, in_loop, ret):
        t = self.fresh("t")
        r = self.rnd.random()
        k = 0
        if r < 0.6:
            size, length = "len(a)", "n"
        elif r < 0.85:
            k = self.randint(0, 4)
            size, length = str(k), k
        else:
            k = self.randint(0, 3)
            size, length = f"len(b) + {k}", None
        var = Var(self.dtype, arr=True, length=length, le_n=length == "n", writable=True,
                  minlen=k if length is None else 0)
        form = self.pick(["zeros", "ones", "empty", "full", "like", "like", "dtype", "dtype"])
        fill = False
        if form in ("zeros", "ones", "empty"):
            var.dtype = F8
            text = f"np.{form}({size})"
            fill = form == "empty"
        elif form == "dtype":
            f = self.pick(["zeros", "ones", "empty"])
            text = f"np.{f}({size}, dtype={self.dtype_arg()})"
            fill = f == "empty"
        elif form == "full":
            var.dtype = self.pick([self.dtype, self.dtype, I8, F8])
            text = f"np.full({size}, {self.typed_init(self.expr(env, var.dtype, 1)[0], var.dtype)})"
        else:
            f = self.pick(["zeros_like", "ones_like", "empty_like", "full_like"])
            var.length, var.le_n, var.minlen = "n", True, 0
            src = self.pick(["a", "b"])
            if f == "full_like":
                e = self.expr(env, self.pick([self.dtype, I8] if self.dtype in INTS else self.play()), 1)[0]
                text = f"np.full_like({src}, {e})"
            else:
                text = f"np.{f}({src})"
            fill = f == "empty_like"
        lines = [f"{t} = {text}"]
        if fill:  # every element written before it is read
            if self.chance(0.5) or var.length != "n":
                if self.chance(0.5):
                    e, _ = self.expr(env, var.dtype, 2)
                    lines.append(f"{t}[:] = {e}")
                else:
                    j = self.fresh("j")
                    e, _ = self.expr(dict(env, **{j: Var(I8, index_ok=var.length == "n")}), var.dtype, 2)
                    lines += [f"for {j} in range(len({t})):", f"    {t}[{j}] = {e}"]
            else:
                e, d = self.arr_expr(env, 2, var.dtype)
                lines.append(f"{t}[:] = {e}")
        env[t] = var
        return lines, False

    def length_n(self, env, writable=False):
        return [n for n, v in arrays(env, writable).items() if v.length == "n"]

    def s_slicestore(self, env, depth, in_loop, ret):
        targets = arrays(env, True)
        if not targets:
            return self.s_localarr(env, depth, in_loop, ret)
        name = self.pick(sorted(targets))
        T = targets[name]
        op = self.pick(["=", "=", "=", "+=", "-=", "*="])
        r = self.rnd.random()
        idx = [n for n, v in env.items() if v.index_ok]
        known = max(T.minlen, T.length if isinstance(T.length, int) else 0)
        if r < 0.2 and (T.length == "n" and idx or known):  # one element
            where = self.pick(idx) if T.length == "n" and idx else str(self.randint(0, known - 1))
            t = self.pick([d for d in self.play() if self.storable(d, T.dtype)])
            return [f"{name}[{where}] = {self.expr(env, t, 2)[0]}"], False
        srcs = [n for n in self.length_n(env) if self.storable(env[n].dtype, T.dtype)
                and (op == "=" or self.inplace_ok(env[n].dtype, T.dtype))]
        if r < 0.5 or not srcs or not (T.length == "n" or T.le_n):  # a scalar broadcast
            t = self.pick([d for d in self.play() if self.storable(d, T.dtype)
                           and (op == "=" or self.inplace_ok(d, T.dtype))])
            e = self.expr(env, t, 2)[0] if self.chance(0.7) else self.literal(T.dtype)
            sl = ":" if self.chance(0.4) else self.slice_text(env)
            return [f"{name}[{sl}] {op} {e}"], False
        S = self.pick(srcs)
        if T.length == "n":  # equal lengths whatever len(a) is
            k = self.randint(1, 4)
            sl = self.slice_text(env)
            lhs, rhs = self.pick([(":", S), ("::-1", S), (":", f"{S}[::-1]"), (f"{k}:", f"{S}[:-{k}]"),
                                  (f":-{k}", f"{S}[{k}:]"), (f":{k}", f"{S}[-{k}:]"), (sl, f"{S}[{sl}]"),
                                  ("1::2", f"{S}[:len({S}) // 2]"), ("::2", f"{S}[::-2]"),
                                  (f"{k}:", f"{S}[{k}:]")])
        else:  # len(T) <= len(a)
            lhs, rhs = ":", self.pick([f"{S}[:len({name})]", f"{S}[len({S}) - len({name}):]",
                                       f"{S}[::-1][:len({name})]"])
        return [f"{name}[{lhs}] {op} {rhs}"], False

    def arr_expr(self, env, depth, want=None):
        """(text, dtype): an element-wise expression over arrays of length len(a).
        With `want`, its dtype stores into a `want` array."""
        for _ in range(20):
            e, d = self._arr_expr(env, depth)
            if want is None or self.storable(d, want):
                return e, d
        return "a", self.dtype

    def _arr_expr(self, env, depth):
        ns = self.length_n(env)
        if depth <= 0 or self.chance(0.25):
            n = self.pick(ns)
            return (n if self.chance(0.8) else f"{n}[::-1]"), env[n].dtype
        kind = self.pick(["bin", "bin", "scal", "lit", "lit", "unary"])
        x, dx = self._arr_expr(env, depth - 1)
        if kind == "unary":
            fs = ["-", "np.abs"] + (["np.sqrt", "np.floor", "np.fabs"] if dx in FLOATS else [])
            return f"{self.pick(fs)}({x})", dx
        if kind == "bin":
            y, dy = self._arr_expr(env, depth - 1)
        elif kind == "scal":
            dy = self.pick(self.play())
            y = self.expr(env, dy, 1)[0]
        else:
            y, dy = self.literal(dx), dx
        d = promote(dx, dy)
        if d in INTS:
            op = self.pick(["+", "-", "*", "+", "-", "*", "&", "|", "^", "//", "%", "/"])
            if op == "/":
                d = F8
        else:
            op = self.pick(["+", "-", "*", "/"] * 3 + ["//", "%"])
        return (f"({x} {op} {y})" if self.chance(0.7) else f"({y} {op} {x})"), d

    def s_arrexpr(self, env, depth, in_loop, ret):
        targets = self.length_n(env, True)
        if not targets or self.chance(0.25):  # kept: a new local array
            u = self.fresh("u")
            e, d = self.arr_expr(env, 3)
            base = re.fullmatch(r"(\w+)(\[::-1\])?", e)  # a view, not a new array
            env[u] = Var(d, arr=True, length="n", le_n=True, writable=not base or env[base[1]].writable)
            return [f"{u} = {e}"], False
        name = self.pick(targets)
        op = self.pick(["=", "=", "=", "+=", "-=", "*="])
        for _ in range(10):
            e, d = self.arr_expr(env, 3, env[name].dtype)
            if op == "=" or self.inplace_ok(d, env[name].dtype):
                break
        else:
            op = "="
        return [f"{name}[:] {op} {e}" if op == "=" or self.chance(0.5) else f"{name} {op} {e}"], False

    def s_reduce(self, env, depth, in_loop, ret):
        """r = np.sum(<array expression>) and the other reductions NumPy gives
        bit for bit (pairwise sums, nan forms), as a function or a method."""
        e, d = self.arr_expr(env, 2)
        fs = ["sum", "mean", "var", "std", "nansum", "nanmean", "nanvar", "any", "all", "count_nonzero", "prod"]
        for _ in range(10):
            f = self.pick(fs)
            rd = np.asarray(getattr(np, f)(np.ones(2, d))).dtype.name
            if rd in NUMERIC + (B,):
                break
        else:
            f, rd = "mean", F8
        r = self.fresh("r")
        if f in ("sum", "mean", "var", "std", "any", "all", "prod") and self.chance(0.4):
            text = f"({e}).{f}()"
        else:
            text = f"np.{f}({e})"
        env[r] = Var(rd)
        return [f"{r} = {text}"], False

    def s_inplace(self, env, depth, in_loop, ret):
        targets = arrays(env, True)
        if not targets:
            return self.s_localarr(env, depth, in_loop, ret)
        name = self.pick(sorted(targets))
        T = targets[name]
        op = self.pick(["+=", "-=", "*="] + (["/="] if T.dtype in FLOATS else []))
        t = self.pick([d for d in self.play() if self.inplace_ok(d, T.dtype)])
        e = self.expr(env, t, 2)[0] if self.chance(0.6) else self.literal(T.dtype)
        lhs = name if self.chance(0.6) else f"{name}[{self.slice_text(env)}]"
        return [f"{lhs} {op} {e}"], False

    def mask(self, env):
        ns = self.length_n(env)
        fl = [n for n in ns if env[n].dtype in FLOATS]
        x = self.pick(ns)
        cmp = self.pick(["<", "<=", ">", ">=", "==", "!="])
        forms = [f"{x} {cmp} {self.literal(env[x].dtype)}", f"{x} {cmp} {self.pick(ns)}",
                 f"{x} {cmp} {self.expr(env, self.pick(self.play()), 1)[0]}"]
        if fl:
            f = self.pick(fl)
            forms += [f"np.isnan({f})"] * 3 + [f"~np.isfinite({f})", f"np.isinf({f})"]
        m = self.pick(forms)
        if self.chance(0.2):
            m = f"({m}) {self.pick(['&', '|'])} ({self.pick(forms)})"
        return m

    def s_mask(self, env, depth, in_loop, ret):
        targets = self.length_n(env, True)
        if not targets:
            return self.s_localarr(env, depth, in_loop, ret)
        name = self.pick(targets)
        T = env[name]
        op = self.pick(["=", "=", "+=", "*="])
        t = self.pick([d for d in self.play() if self.storable(d, T.dtype)
                       and (op == "=" or self.inplace_ok(d, T.dtype))])
        e = self.expr(env, t, 2)[0] if self.chance(0.6) else self.literal(T.dtype)
        return [f"{name}[{self.mask(env)}] {op} {e}"], False

    def s_chain(self, env, depth, in_loop, ret):
        t = self.pick(self.local_types())
        e, te = self.expr(env, t, 2, t in FLOATS and self.trans and self.chance(0.5))
        e = self.typed_init(e, t)
        same = [n for n in self.assignable(env) if env[n].dtype == t and env[n].tainted == te]
        p = self.pick(same) if same and self.chance(0.4) else self.fresh()
        q = self.fresh()
        env[p] = env[q] = Var(t, tainted=te)
        return [f"{p} = {q} = {e}" if self.chance(0.5) else f"{q} = {p} = {e}"], False

    def s_swap(self, env, depth, in_loop, ret):
        names = self.assignable(env)
        pairs = [(p, q) for p in names for q in names
                 if p < q and env[p].dtype == env[q].dtype and env[p].tainted == env[q].tainted]
        if not pairs:
            return self.s_chain(env, depth, in_loop, ret)
        p, q = self.pick(pairs)
        return [f"{p}, {q} = {q}, {p}"], False

    def s_raise(self, env, depth, in_loop, ret):
        """A raise in a branch the data never takes, or one it may take (the
        test then expects the exception, as the Python run raises it)."""
        exc = self.pick(["ValueError", "ValueError", "RuntimeError", "ZeroDivisionError"])
        msg = self.pick(["bad input", "negative value", "no: 'quoted'", "x > limit", ""])
        if self.chance(0.6):
            cond = self.pick(["len(a) < 0", "len(a) != len(b)", "len(a) > 1000000", "len(b) + 1 == 0"])
        else:
            cond = self.cond(env, 1)
        return [f"if {cond}:", f'    raise {exc}("{msg}")'], False

    # -------------------------------------------------------------- functions

    def helper_def(self):
        ps = ["p", "q", "r"][: self.randint(1, 3)]
        env = {p: Var(self.dtype) for p in ps}
        self.in_helper, self.ret_tainted = True, False
        lines = [f"def h({', '.join(ps)}):"]
        if self.chance(0.3):
            lines.append('    """A helper."""')
        body, ends = self.block(env, 1, False, self.dtype, nstmts=self.randint(0, 3), scope=True)
        lines += ["    " + ln for ln in body]
        if not ends:
            lines.append(f"    return {self.ret_expr(env, self.dtype)}")
        self.in_helper = False
        self.helper = ("h", len(ps), self.ret_tainted)
        return lines + [""]


def scalar_kernels(dtype, transcendental=False):
    """Strategy: a Kernel `def k(x[, y[, z]])` (maybe after a helper `def h`) or
    `k = lambda ...` over `dtype` inputs."""

    @st.composite
    def build(draw):
        rnd = draw(st.randoms(use_true_random=True))
        out = F8 if dtype in INTS and rnd.randint(0, 4) == 0 else dtype
        g = _Gen(rnd, dtype, transcendental, out_dtype=out)
        ps = ["x", "y", "z"][: rnd.choice([2, 2, 2, 1, 3])]
        lines = g.helper_def() if g.chance(0.4) else []
        env = {p: Var(dtype) for p in ps}
        if g.chance(0.1):
            lines.append(f"k = lambda {', '.join(ps)}: {g.ret_expr(env, 'any')}")
        else:
            lines.append(f"def k({', '.join(ps)}):")
            if g.chance(0.1):
                lines.append("    " + g.pick(["# a comment", '"""doc"""', "pass"]))
            body, ends = g.block(env, 1, False, "any", nstmts=g.randint(1, 6), scope=True)
            lines += ["    " + ln for ln in body]
            if not ends:
                lines.append(f"    return {g.final_return(env)}")
        src = "\n".join(lines) + "\n"
        return Kernel(src, "k", (dtype,) * len(ps), out, None, g.used_taint or bool(g.helper and g.helper[2]))

    return build()


def gufunc_kernels(dtype, transcendental=False):
    """Strategy: a Kernel `def g(a, b, out)`, layout (n),(n)->() or (n),(n)->(n)."""

    @st.composite
    def build(draw):
        rnd = draw(st.randoms(use_true_random=True))
        shape = rnd.choice(["()", "(n)"])
        g = _Gen(rnd, dtype, transcendental, gufunc=True, out_shape=shape)
        g.arrays_ok = rnd.random() < 0.85
        g.out_arrays = g.arrays_ok and not transcendental  # the oracle's out then is a NumPy row
        acc = g.fresh("acc")
        env = {"n0": Var(I8), acc: Var(dtype, tainted=transcendental and dtype in FLOATS)}
        if g.arrays_ok:
            env["a"] = Var(dtype, arr=True, length="n", le_n=True)
            env["b"] = Var(dtype, arr=True, length="n", le_n=True)
        lines = ["def g(a, b, out):", "    n0 = len(a)", f"    {acc} = {g.cast_of_literal(dtype)}"]
        if shape == "()":
            lines.append(f"    out[0] = {acc}")
        else:  # every output element is written before anything reads it
            e, _ = g.expr(dict(env, i0=Var(I8, index_ok=True)), dtype, 2)
            lines += ["    for i0 in range(len(a)):", f"        out[i0] = {e}"]
        if g.out_arrays:  # written: readable from here
            env["out"] = Var(dtype, arr=True, length="n" if shape == "(n)" else 1, le_n=shape == "(n)",
                             writable=True)
        body, _ = g.block(env, 1, False, None, nstmts=g.randint(1, 5), scope=True)
        lines += ["    " + ln for ln in body]
        if shape == "()":
            lines.append(f"    out[0] = {g.final_return(env)}")
        elif g.chance(0.7):
            lines += ["    for i0 in range(len(out)):", f"        out[i0] += {g.final_return(env)}"]
        src = "\n".join(lines) + "\n"
        return Kernel(src, "g", (dtype, dtype), dtype, f"(n),(n)->{shape}", g.used_taint, g.out_arrays)

    return build()


# ====================================================================== the oracle


def _ulp(r):
    with np.errstate(all="ignore"):
        return float(np.spacing(np.abs(r)))


class Approx:
    """A reference value with an absolute error bound e (a float, maybe inf/nan:
    unbounded). Only continuous operations are defined; anything else is a
    generator bug and raises."""

    __array_ufunc__ = None  # NumPy scalars defer to our reflected operators
    __slots__ = ("v", "e")

    def __init__(self, v, e):
        self.v, self.e = v, e

    def __repr__(self):
        return f"Approx({self.v!r}, {self.e!r})"

    def _bin(self, o, op, swap=False):
        ov, oe = (o.v, o.e) if isinstance(o, Approx) else (o, 0.0)
        (av, ae), (bv, be) = ((ov, oe), (self.v, self.e)) if swap else ((self.v, self.e), (ov, oe))
        with np.errstate(all="ignore"):
            if op == "+":
                r = av + bv
                e = ae + be
            elif op == "-":
                r = av - bv
                e = ae + be
            elif op == "*":
                r = av * bv
                e = abs(float(av)) * be + abs(float(bv)) * ae + ae * be
            else:
                r = av / bv
                d = abs(float(bv)) - be
                e = (ae + abs(float(r)) * be) / d if d > 0 else math.inf
        return Approx(r, e + _ulp(r))

    def __add__(self, o): return self._bin(o, "+")
    def __radd__(self, o): return self._bin(o, "+", True)
    def __sub__(self, o): return self._bin(o, "-")
    def __rsub__(self, o): return self._bin(o, "-", True)
    def __mul__(self, o): return self._bin(o, "*")
    def __rmul__(self, o): return self._bin(o, "*", True)
    def __truediv__(self, o): return self._bin(o, "/")
    def __rtruediv__(self, o): return self._bin(o, "/", True)
    def __neg__(self): return Approx(-self.v, self.e)
    def __pos__(self): return self
    def __abs__(self): return Approx(abs(self.v), self.e)

    def _discontinuous(self, *a):
        raise TypeError("generator bug: a transcendental result used in a discontinuous operation")

    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = __bool__ = _discontinuous
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = __index__ = __int__ = _discontinuous
    __hash__ = None


def _parts(a):
    return (a.v, a.e) if isinstance(a, Approx) else (a, 0.0)


def _transcendental(f):
    def call(*args):
        if any(isinstance(a, Approx) for a in args):
            raise TypeError("generator bug: a transcendental of a transcendental")
        with np.errstate(all="ignore"):
            r = f(*args)
        return Approx(r, 4 * _ulp(r))
    return call


def _via_math(f):
    """erf, erfc: not in NumPy; math's double result rounded to the argument's float type."""
    def call(x):
        t = np.result_type(x, 1.0).type
        return t(f(float(x)))
    return call


def _power(a, b):
    with np.errstate(all="ignore"):
        if isinstance(a, Approx) or isinstance(b, Approx):
            raise TypeError("generator bug: power of a transcendental")
        r = np.power(a, b)
    if np.issubdtype(np.asarray(r).dtype, np.integer):
        return r
    return Approx(r, 4 * _ulp(r))


def _pick_nan_aware(f):
    """np.maximum & co.: continuous, so a tainted argument keeps its bound."""
    def call(a, b):
        (av, ae), (bv, be) = _parts(a), _parts(b)
        r = f(av, bv)
        return Approx(r, max(ae, be)) if isinstance(a, Approx) or isinstance(b, Approx) else r
    return call


def _py_minmax(is_max):
    """Python's min/max (first wins ties and NaN comparisons) on arguments
    unified to their NEP 50 type, as the kernel language types them."""
    def call(*args):
        vals = [_parts(a)[0] for a in args]
        if all(type(v) in (bool, int, float) for v in vals):  # np.float64 is a float subclass
            return (builtins.max if is_max else builtins.min)(*vals)
        t = np.result_type(*vals).type
        conv = [t(v) for v in vals]
        best = 0
        for k in range(1, len(conv)):
            if (conv[k] > conv[best]) if is_max else (conv[k] < conv[best]):
                best = k
        if any(isinstance(a, Approx) for a in args):
            return Approx(conv[best], max(_parts(a)[1] for a in args))
        return conv[best]
    return call


def _cast(dtype):
    def call(v):
        if isinstance(v, Approx):
            if not np.issubdtype(dtype, np.floating):
                raise TypeError("generator bug: a transcendental cast to an integer")
            r = dtype(v.v)
            return Approx(r, v.e + _ulp(r))
        with np.errstate(all="ignore"):
            return np.asarray(v).astype(dtype)[()]  # astype(casting='unsafe'), as the kernel
    call.dtype = np.dtype(dtype)  # so that np.zeros(n, dtype=np.float32) takes it
    return call


class NanSign(Exception):
    """The reference took the sign of a NaN (copysign(x, nan)): which NaN an
    operation returns, and so its sign, is unspecified (IEEE 754; LLVM may
    commute x * y), so that output may be either sign."""


def _copysign(a, b):
    if not isinstance(b, Approx) and np.isnan(b):
        raise NanSign
    return np.copysign(a, b)


ANY = Approx(np.nan, math.inf)  # an output the reference cannot pin down: anything matches


def _range(*args):
    return (np.int64(i) for i in builtins.range(*(int(a) for a in args)))


def _namespace():
    ns = {}
    for name in ["sqrt", "floor", "ceil", "trunc", "rint", "fabs", "sign", "copysign", "fmod",
                 "isnan", "isinf", "isfinite"]:
        ns[name] = getattr(np, name)
    ns["fabs"] = lambda v: Approx(np.fabs(v.v), v.e) if isinstance(v, Approx) else np.fabs(v)
    ns["copysign"] = _copysign
    ns["abs"] = builtins.abs
    ns["round"] = np.round
    for name, spellings in list(TRANSCENDENTAL.items()) + list(TRANSCENDENTAL2.items()):
        f = _power if name == "power" else _transcendental(
            _via_math(getattr(math, name)) if name in ("erf", "erfc") else getattr(np, name))
        for s in spellings:
            ns[s] = f
    # NumPy's loops; spelled out because a tie of -0.0 and 0.0 gives either
    # sign depending on the element's place in NumPy's SIMD loop (and NumPy
    # scalars differ again). maximum/minimum return the second argument, as
    # every NumPy loop does; fmax/fmin the first, as NumPy documents
    # (where(a >= b, a, b)) and Numba does.
    def loop(pick):
        def call(a, b):
            t = np.result_type(a, b).type  # both arguments converted first, as the kernel does
            return pick(t(a), t(b))
        return _pick_nan_aware(call)

    ns["maximum"] = loop(lambda a, b: a if np.isnan(a) or a > b else b)
    ns["minimum"] = loop(lambda a, b: a if np.isnan(a) or a < b else b)
    ns["fmax"] = loop(lambda a, b: a if np.isnan(b) or a >= b else b)
    ns["fmin"] = loop(lambda a, b: a if np.isnan(b) or a <= b else b)
    ns["min"], ns["max"] = _py_minmax(False), _py_minmax(True)
    for names, dt in (("int int64", np.int64), ("float float64", np.float64), ("float32", np.float32),
                      ("bool", np.bool_), ("int32", np.int32), ("int8", np.int8), ("uint8", np.uint8)):
        for n in names.split():
            ns[n] = _cast(dt)
    ns["range"] = ns["prange"] = _range
    ns["reversed"] = lambda r: iter(builtins.list(r)[::-1])
    ns["enumerate"] = lambda a, start=0: ((np.int64(i), x) for i, x in builtins.enumerate(a, int(start)))
    for name in ("zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like"):
        ns[name] = _row_maker(getattr(np, name))
    ns["len"] = lambda a: np.int64(len(a))
    ns.update(pi=math.pi, e=math.e, inf=math.inf, nan=math.nan)

    class Module:
        """math / np / numpy: the same mapped names, NumPy for anything else."""

        def __getattr__(self, name):
            return ns[name] if name in ns else getattr(np, name)

    ns["math"] = ns["np"] = ns["numpy"] = Module()
    return ns


class _Row(np.ndarray):
    """A NumPy array (out row, local array) whose stores cast as the
    kernel's do: unsafe, wrapping out-of-range integers."""

    def __setitem__(self, i, v):
        if isinstance(v, Approx):
            raise TypeError("generator bug: a transcendental value stored into an array")
        with np.errstate(all="ignore"):
            v = np.asarray(v).astype(self.dtype)
        super().__setitem__(i, v)


def _row_maker(f):
    def make(*args, **kw):
        return f(*args, **kw).view(_Row)
    return make


_NS = _namespace()


class _Pow(ast.NodeTransformer):
    """`a ** b` -> `power(a, b)` (same semantics on NumPy scalars), so a float
    power carries its error bound like pow()."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow):
            return ast.copy_location(ast.Call(ast.Name("__pow", ast.Load()), [node.left, node.right], []), node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow):
            target = ast.Name(node.target.id, ast.Load())
            value = ast.Call(ast.Name("__pow", ast.Load()), [target, node.value], [])
            return ast.copy_location(ast.Assign([node.target], value), node)
        return node


def _literal_chain(e) -> bool:
    while isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
        e = e.operand
    return isinstance(e, ast.Constant) and type(e.value) in (int, float, bool)


class _BareLiteralLocals(ast.NodeTransformer):
    """`s = 0.0` -> `s = np.float64(0.0)` (also `n = 0` -> np.int64, `b = True`
    -> np.bool_): a local assigned a bare literal takes the literal's own
    type, as Numba types it and the kernel language does; inside
    expressions literals stay weak (NEP 50), as in NumPy."""

    @staticmethod
    def _own(value):
        e = value
        while isinstance(e, ast.UnaryOp):
            e = e.operand
        ctor = {bool: "bool_", int: "int64", float: "float64"}[type(e.value)]
        fn = ast.Attribute(ast.Name("np", ast.Load()), ctor, ast.Load())
        return ast.copy_location(ast.Call(fn, [value], []), value)

    def visit_Assign(self, node):
        if len(node.targets) != 1:  # p = q = 0.0
            if all(isinstance(t, ast.Name) for t in node.targets) and _literal_chain(node.value):
                node.value = self._own(node.value)
            return node
        t = node.targets[0]
        if isinstance(t, ast.Name) and _literal_chain(node.value):
            node.value = self._own(node.value)
        elif isinstance(t, ast.Tuple) and isinstance(node.value, ast.Tuple):  # a, b = 0, x
            node.value.elts = [self._own(v) if _literal_chain(v) else v for v in node.value.elts]
        return node


def python_function(kernel: Kernel):
    """The kernel as a Python function over NumPy scalars (the oracle)."""
    tree = ast.fix_missing_locations(_BareLiteralLocals().visit(_Pow().visit(ast.parse(kernel.source))))
    ns = dict(_NS, __pow=_power)
    exec(compile(tree, "<kernel>", "exec"), ns)  # noqa: S102 - our own generated text
    return ns[kernel.name]


class _Out:
    """A gufunc output row for the oracle: stores cast to the dtype (as the
    kernel's stores do) and may hold Approx values."""

    def __init__(self, n, dtype):
        self.vals, self.dtype = [dtype.type(0)] * n, dtype

    def __len__(self):
        return len(self.vals)

    def __getitem__(self, i):
        return self.vals[int(i)]

    def __setitem__(self, i, v):
        self.vals[int(i)] = _cast(self.dtype.type)(v)


def reference(kernel: Kernel, *arrays):
    """Expected output of `kernel` on `arrays`: an object array of NumPy scalars
    (exact) or Approx (error-bounded)."""
    fn = python_function(kernel)
    odt = np.dtype(kernel.out_dtype)
    with np.errstate(all="ignore"):
        if kernel.layout is None:
            b = np.broadcast_arrays(*arrays)
            out = np.empty(b[0].shape, dtype=object)
            for idx in np.ndindex(b[0].shape):
                try:
                    out[idx] = _cast(odt.type)(fn(*(a[idx] for a in b)))
                except NanSign:
                    out[idx] = ANY
            return out
        a, b = (x.copy() for x in arrays)
        a.flags.writeable = b.flags.writeable = False  # the generator never writes into inputs
        scalar_out = kernel.layout.endswith("->()")
        out = np.empty(a.shape[:1] if scalar_out else a.shape, dtype=object)
        for r in range(a.shape[0]):
            n = 1 if scalar_out else a.shape[1]
            o = np.zeros(n, odt).view(_Row) if kernel.out_array else _Out(n, odt)
            try:
                fn(a[r], b[r], o)
            except NanSign:
                o = _Out(n, odt)
                o.vals = [ANY] * n
            except RAISED as e:
                return Raised.of(e, kernel)
            vals = o.vals if isinstance(o, _Out) else [o[j] for j in range(n)]
            if scalar_out:
                out[r] = vals[0]
            else:
                for j, v in enumerate(vals):
                    out[r, j] = v
        return out


RAISED = (ValueError, RuntimeError, ZeroDivisionError)


@dataclass
class Raised:
    """The oracle stopped at a `raise` of the kernel's text: the kernel must too."""
    type: type
    line: int
    message: str

    @classmethod
    def of(cls, e, kernel):
        tb = e.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        line = tb.tb_lineno
        if tb.tb_frame.f_code.co_filename != "<kernel>" or not \
                kernel.source.split("\n")[line - 1].lstrip().startswith("raise"):
            raise e  # not the kernel's own raise: a generator or oracle bug
        return cls(type(e), line, str(e))


def mismatches(got, want):
    """Indices where `got` (a NumPy array) is not `want` (from reference):
    exact values must be equal with the same sign or both NaN; Approx values
    within their bound (an infinite or NaN bound accepts anything)."""
    bad = []
    for idx in np.ndindex(got.shape):
        g, w = got[idx], want[idx]
        if isinstance(w, Approx):
            if np.isnan(g) and np.isnan(w.v) or g == w.v or not math.isfinite(w.e):
                continue
            with np.errstate(all="ignore"):
                if abs(float(g) - float(w.v)) <= w.e:
                    continue
            bad.append(idx)
        elif not _same(g, w):
            bad.append(idx)
    return bad


def _same(g, w):
    if isinstance(g, (np.floating, float)):
        return bool(np.isnan(g) and np.isnan(w) or (g == w and np.signbit(g) == np.signbit(w)))
    return bool(g == w)


# ====================================================================== invalid programs

KEYWORDS = ["if", "else", "elif", "return", "lambda", "def", "while", "for", "in", "not", "and", "or", "is",
            "None", "import", "yield", "pass", "global", "class", "try", "with", "del", "assert", "raise",
            "async", "await", "nonlocal", "from", "as", "break", "continue", "True", "print", "except"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "@", "=", "==", "!=", "<", ">", "<=", ">=", "<<", ">>", "&",
             "|", "^", "~", ":", ",", ".", ";", "(", ")", "[", "]", "{", "}", ":=", "->", "+=", "**=", "...",
             "<>", "!", "=>"]
NAMES = ["x", "y", "z", "a", "b", "out", "undefined_name", "exp", "np", "math", "numpy", "range", "len", "h",
         "k", "g", "min", "abs", "int8", "float32", "shape", "inf", "nan", "pi", "prange", "foo", "np.foo",
         "math.nope", "a.shape", "a.size", "a.ndim", "x.real", "_", "é", "λ"]
BAD_LITERALS = ["1", "0", "2.5", "1e999", "1e-999", "0x", "0xfg", "1__0", "1_", "0b2", "0o8",
                "99999999999999999999999", "18446744073709551616", "9223372036854775808", "1.2.3", "1e",
                "1.e5", "'s'", '"str"', "b'x'", "f'{x}'", "1j", "0777", "00", "1if", "3.", "...", '"""',
                "'", "0x_1", "1e+", "0b", "1E5_0", "0.0e-0"]
STRAY = ["$", "?", "!", "`", "\\", "€", "é", "\u00a0", "\u200b", "\x0c", "\r", "\t", "\x7f", "#", "\x01",
         "\U0001f642", "\ufeff", "\n", "\r\n", "\\\n", " ", ";", "\x0b", "\u2028"]

# Whole statements that are invalid in a kernel (or at least odd), inserted into a body.
BAD_STATEMENTS = [
    "x[0] = 1", "return", "t = lambda u: u", "import math", 's = "str"', "p, q = 1", "p, q = 1, 2, 3",
    "global x", "for t in range(1.5):\n    pass", "unknown_fn(x)", "h(x, x, x, x)", "h()", "del x",
    "assert x", "raise ValueError", "with x:\n    pass", "try:\n    pass\nexcept:\n    pass",
    "class C:\n    pass", "def inner(t):\n    return t", "yield x", "x = [1, 2]", "x = (1, 2)", "x = {1: 2}",
    "x = None", "x = x is None", "x = [t for t in range(3)]", "x = a.shape[7]", "x = a.nope", "x = exp(x, x)",
    "x = min(x)", "x = np.frobnicate(x)", "x = math.pi(x)", "x = x @ x", "x = (t := 3)", "x = range(3)",
    "x = len", "x = print(x)", "break", "continue", "x = 1 if x", "x = not", "x = float32", "x = -",
    "a = 1.0", "out = 0", "out[0, 0] = 1", "x = a + 1", "if a:\n    pass", "x = a[1.5]", "x = a[x]", "x += a",
    "return x", "x = k(x, x)", "x = g(a, b, out)", "x = h", "x = len(x)", "x = x.shape", "x = 1 +* 2",
    "x = 10 ** 400", "x = 99999999999999999999", "for i in a:\n    pass", "for i in range(3):\n    pass\nelse:\n    pass",
    "while x:\n    pass\nelse:\n    pass", "x = a.shape", "x, = a.shape", "m, n = a.shape", "x = a.shape[x]",
    "x = abs()", "x = int(x, 2)", "x = round(x, 2)", "x = exp(y=x)", "x = f'{x}'", "x = *x", "x = x if else x",
    "x = -", "elif x:\n    pass", "else:\n    pass", "x = (", "x = ]", "x = a[0][0]", "x = a[0, 0]", "x = a[:]",
    "x = a[::2]", "x = x[0]", "x = out", "out[0] = a", "a[0] = b", "x = 1; y = ; z = 2", "nonlocal x",
    "async def f():\n    pass", "x = await x", "x: = 3", "x = y = 1", "x < y = 1", "x + 1 = 2", "(x) = 1",
    "[x, y] = 1, 2", "x = bool", "x = True + None", "x = 1 < 2 < None", "x = -True", "x = not x not y",
    "x = x is not x", "x = x in x", "x = x not in x", "@decorator\ndef f():\n    pass", "x = x.real",
    "x = np", "x = math", "x = np.linalg.norm(x)", "x = int8(x) + uint64(x) + int8", "x = uint128(x)",
    "pass; pass;", "if x: pass", "if x: return x", "while False: pass", "x = 0x", "x = 1__0", "x = 08",
]


# Misused array constructs, inserted after `n0 = len(a)` in a gufunc kernel.
GUFUNC_MUTANTS = [
    ("q = n0[1:]", "slice of a scalar"), ("q = n0[::-1]", "slice of a scalar"), ("q = len(n0)", "len of a scalar"),
    ("for q in n0:\n    n0 = q", "iterate a number"), ("for q in 3.5:\n    n0 = q", "iterate a number"),
    ("for q, r in a:\n    n0 = q", "unpack an element"), ("for q, r, s in zip(a, b):\n    n0 = q", "unpack 3 of 2"),
    ("for q, r, s in enumerate(a):\n    n0 = q", "unpack 3 of 2"), ("for q in zip():\n    n0 = q", "zip()"),
    ("for q in enumerate(a, 1, 2):\n    n0 = q", "enumerate arity"), ("for q in enumerate():\n    n0 = q", "enumerate()"),
    ("for q in reversed(n0):\n    n0 = q", "reversed of a number"), ("q, r = n0", "unpack a number"),
    ("q, r, s = 1, 2", "unpack count"), ("q = r = ", "chained assignment without a value"),
    ("q = a[1:2:3:4]", "four slice parts"), ("q = a[1.5:]", "float slice bound"), ("q = a[::0.5]", "float step"),
    ("q = np.zeros(1.5)", "float size"), ("q = np.zeros(len(a), dtype=np.nope)", "unknown dtype"),
    ("q = np.full(len(a))", "np.full arity"), ("q = np.ones_like(n0)", "ones_like of a number"),
    ("q = np.zeros(len(a))\nq = 1.0", "rebind a local array to a scalar"), ("out[1:] = a, b", "store a tuple"),
    ("out[np.isnan(n0)] = 0", "mask of a scalar"), ("a[:] = 1.0\nn0 = a", "array into a scalar local"),
    ("q = a\nq += n0\nn0 = q", "array into a scalar local"), ("raise Foo('x')", "unknown exception"),
    ("raise ValueError('x', 'y', 'z', 1.5j)", "raise arguments"), ("q = a[:] + a[1:2, 3]", "2-d index of 1-d"),
]


@dataclass
class Mutant:
    source: str
    kernel: Kernel          # the valid kernel it came from (signature, layout)
    how: str                # what was done, for failure messages


def _tokens(src):
    """(start, end, string) byte-free offsets of the real tokens of src."""
    starts = [0]
    for line in src.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    out = []
    try:
        for t in tokenize.generate_tokens(io.StringIO(src).readline):
            if t.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING):
                s = starts[t.start[0] - 1] + t.start[1]
                e = starts[t.end[0] - 1] + t.end[1]
                out.append((s, e, t.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


class _Mutator:
    def __init__(self, rnd, kernel):
        self.rnd, self.k = rnd, kernel

    def pick(self, seq):
        return self.rnd.choice(list(seq))

    def randint(self, lo, hi):
        return self.rnd.randint(lo, hi)

    def mutate(self, src):
        how = self.pick(["delete", "duplicate", "swap", "replace", "replace", "insert", "indent", "tab",
                         "truncate", "stray", "statement", "statement", "statement", "targeted", "targeted"])
        return getattr(self, "m_" + how)(src)

    def token(self, src):
        """A token, mostly from the bodies (the def lines are a small target)."""
        toks = _tokens(src)
        first_nl = src.find("\n")
        body = [t for t in toks if t[0] > first_nl and not src[src.rfind("\n", 0, t[0]) + 1:t[0]].startswith("def")]
        if body and self.randint(0, 9) < 8:
            toks = body
        return self.pick(toks) if toks else (0, 0, "")

    def m_delete(self, src):
        s, e, t = self.token(src)
        return src[:s] + src[e:], f"delete {t!r}"

    def m_duplicate(self, src):
        s, e, t = self.token(src)
        sep = self.pick(["", " "])
        return src[:e] + sep + t + src[e:], f"duplicate {t!r}"

    def m_swap(self, src):
        toks = _tokens(src)
        if len(toks) < 2:
            return self.m_delete(src)
        i = toks.index(self.token(src))
        i = min(i, len(toks) - 2)
        (s1, e1, t1), (s2, e2, t2) = toks[i], toks[i + 1]
        return src[:s1] + t2 + src[e1:s2] + t1 + src[e2:], f"swap {t1!r} {t2!r}"

    def pool(self):
        return self.pick([KEYWORDS, OPERATORS, NAMES, BAD_LITERALS, STRAY])

    def m_replace(self, src):
        s, e, t = self.token(src)
        new = self.pick(self.pool())
        return src[:s] + new + src[e:], f"replace {t!r} by {new!r}"

    def m_insert(self, src):
        s, e, t = self.token(src)
        new = self.pick(self.pool())
        sep = self.pick(["", " "])
        return src[:s] + new + sep + src[s:], f"insert {new!r} before {t!r}"

    def line_index(self, src):
        lines = src.split("\n")
        return lines, self.randint(0, max(0, len(lines) - 2))

    def m_indent(self, src):
        lines, i = self.line_index(src)
        body = lines[i].lstrip(" \t")
        ind = len(lines[i]) - len(body)
        new = self.pick([0, 1, 2, 3, ind + 1, ind + 2, ind + 4, ind + 8, max(0, ind - 1), max(0, ind - 4)])
        lines[i] = " " * new + body
        return "\n".join(lines), f"indent line {i + 1} to {new}"

    def m_tab(self, src):
        lines, i = self.line_index(src)
        body = lines[i].lstrip(" ")
        ind = len(lines[i]) - len(body)
        new = self.pick(["\t" * (ind // 4), "\t" + " " * max(0, ind - 4), " " * max(0, ind - 4) + "\t",
                         "\t" * (ind // 8 + 1), " \t" * (ind // 4)])
        lines[i] = new + body
        return "\n".join(lines), f"tabs on line {i + 1}: {new!r}"

    def m_truncate(self, src):
        n = self.randint(1, max(1, len(src) - 1))
        return src[:n], f"truncate at {n}"

    def m_stray(self, src):
        n = self.randint(0, len(src))
        c = self.pick(STRAY)
        return src[:n] + c + src[n:], f"insert {c!r} at {n}"

    def m_statement(self, src):
        lines = src.split("\n")
        body = [i for i, ln in enumerate(lines) if ln.startswith(" ") and ln.strip()]
        if not body:
            return self.m_replace(src)
        i = self.pick(body)
        ind = len(lines[i]) - len(lines[i].lstrip(" "))
        if lines[i].rstrip().endswith(":"):
            ind += 4
        stmt = self.pick(BAD_STATEMENTS)
        new = [" " * ind + s for s in stmt.split("\n")]
        at = i + 1 if self.randint(0, 1) else i
        if at == i and lines[i].lstrip().startswith(("elif", "else")):
            at = i + 1
        lines[at:at] = new
        return "\n".join(lines), f"statement {stmt!r} at line {at + 1}"

    def m_targeted(self, src):
        k = self.k
        forms = []
        names = sorted({t for _, _, t in _tokens(src) if re.fullmatch(r"[a-z_]\w*", t)} - set(KEYWORDS))
        if names:
            n = self.pick(names)
            forms.append((re.sub(rf"\b{n}\b(?!\s*=[^=])", "undefined_name", src, count=1), f"undefined name for {n}"))
        if "h(" in src:
            forms.append((src.replace("h(", "h(x, ", 1), "helper arity +1"))
            forms.append((re.sub(r"\bh\(([^(),]*),", "h(", src, count=1), "helper arity -1"))
        lines = src.rstrip("\n").split("\n")
        last_ret = [i for i, ln in enumerate(lines) if ln.strip().startswith("return")]
        if last_ret:
            i = last_ret[-1]
            forms.append(("\n".join(lines[:i] + lines[i + 1:]) + "\n", "drop the last return"))
            forms.append(("\n".join(lines[:i] + [lines[i].split("return")[0] + "return"] + lines[i + 1:]) + "\n",
                          "bare return"))
        for f in ("exp", "sqrt", "min", "max", "abs", "floor", "hypot", "round"):
            if f + "(" in src:
                forms.append((src.replace(f + "(", f + "(1, ", 1), f"{f} arity +1"))
        forms.append((re.sub(r"\b(sqrt|floor|exp|log|sin|abs|fabs|min|max)\(", "frobnicate(", src, count=1),
                      "unknown function"))
        forms.append((src.replace("np.", "np.nonexistent_", 1), "unknown np function"))
        if k.layout is not None:
            forms.append((re.sub(r"\ba\[[^\]]*\]", "a", src, count=1), "array as scalar"))
            forms.append((src.replace("out[0] =", "out =", 1).replace("out[i0] =", "out =", 1), "assign to out"))
            forms.append((src.replace("    n0 = len(a)", "    a = 1.0\n    n0 = len(a)", 1), "rebind array param"))
            forms.append((src.replace("out[0] =", "return", 1), "return in a gufunc"))
            forms.append((src.replace("len(a)", "len(a, b)", 1), "len arity"))
            forms.append((src.replace("len(a)", "len(n0)", 1), "len of a scalar"))
            for stmt, how in GUFUNC_MUTANTS:  # the array constructs, misused
                forms.append((src.replace("    n0 = len(a)\n", "    n0 = len(a)\n    " + stmt.replace("\n", "\n    ")
                                          + "\n", 1), how))
        else:
            forms.append((re.sub(r"def k\(([^)]*)\)", r"def k(\1, extra)", src, count=1), "extra param"))
            forms.append((re.sub(r"(\n    )(\S)", r"\1x[0] = 1\1\2", src, count=1), "index a scalar"))
            forms.append((re.sub(r"\bx\b", "x[1]", src.split("\n", 1)[-1], count=1), "index a scalar"))
            forms.append((src.replace("(x", "(x.shape", 1), "shape of a scalar"))
        forms.append(("(" * 120 + "x" + ")" * 120, "too deep"))
        forms.append((src.replace("return ", "return " + "(" * 101 + "x" + ")" * 101 + " + ", 1), "nesting 101"))
        forms.append((src.replace("return ", "return -" * 1 + "-" * 150, 1), "150 unary minus"))
        forms.append((src.replace("return ", "return not " * 120, 1), "120 nots"))
        forms.append((src.replace("\n", "\r", 2), "lone CR"))
        forms.append((src.replace("\n", "\r\n"), "CRLF"))
        forms.append((src + "    return x\n", "statement after the end"))
        forms.append((src.replace(":\n", ":", 1), "colon joined"))
        forms.append((src.replace(":\n", "\n", 1), "missing colon"))
        forms.append(("\ufeff" + src, "BOM"))
        forms.append((src.replace("    ", "\u00a0   ", 1), "NBSP indent"))
        forms.append((src.replace("(", "( # comment\n", 1), "comment inside parens"))
        forms.append((src.rstrip("\n") + " \\", "backslash at EOF"))
        forms.append((src.replace("def k(", "def k(*", 1).replace("def g(", "def g(*", 1), "star params"))
        forms.append((src.replace("def k(x", "def k(x=1", 1).replace("def g(a", "def g(a=1", 1), "default"))
        forms.append((src.replace("def ", "async def ", 1), "async def"))
        forms.append(('"""unterminated\n' + src, "unterminated docstring"))
        return self.pick(forms)


def invalid_programs(dtypes=(F8, F4, I8)):
    """Strategy: a Mutant of a valid scalar or gufunc kernel (one or two mutations)."""

    @st.composite
    def build(draw):
        rnd = draw(st.randoms(use_true_random=True))
        dtype = rnd.choice(dtypes)
        k = draw(gufunc_kernels(dtype) if rnd.randint(0, 3) == 0 else scalar_kernels(dtype))
        m = _Mutator(rnd, k)
        src, how = m.mutate(k.source)
        if rnd.randint(0, 4) == 0:
            src, how2 = m.mutate(src)
            how = f"{how}; {how2}"
        return Mutant(src, k, how)

    return build()


# ====================================================================== error checks

_POSITION = re.compile(r"^(?:kernel '(?P<name>[^']*)', )?line (?P<line>-?\d+), column (?P<col>-?\d+): ")
ACCEPTED = (SyntaxError, NameError, TypeError, ValueError, NotImplementedError)


def source_lines(text):
    """Lines as the kernel lexer counts them (\\n, \\r\\n, lone \\r); a final
    newline leaves an empty last line, where an end-of-input error points."""
    return re.split(r"\r\n|\r|\n", text)


def check_error(exc, source):
    """Assert that `exc`, raised while compiling `source`, is a proper kernel
    error: an accepted type, 'kernel NAME, line L, column C: ...' with L, C
    inside the source (as compiled: dedented like ufuncgen does), the same
    position in SyntaxError's lineno/offset, nothing about LLVM."""
    assert isinstance(exc, ACCEPTED), f"{type(exc).__name__}: {exc}"
    msg = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    first = msg.split("\n")[0].lower()  # the rest quotes the source line
    for bad in ("llvm", "verif", "internal"):
        assert bad not in first, f"{type(exc).__name__}: {msg}"
    if isinstance(exc, ValueError):  # a signature that does not fit the kernel (no position to give)
        assert msg.startswith("signature '"), msg
        return None
    m = _POSITION.match(msg)
    assert m, f"no position in {type(exc).__name__}: {msg}"
    text = textwrap.dedent(source)
    lines = source_lines(text)
    line, col = int(m["line"]), int(m["col"])
    assert 1 <= line <= len(lines), f"line {line} of {len(lines)}: {msg}"
    assert 1 <= col <= len(lines[line - 1]) + 1, f"column {col} of {lines[line - 1]!r}: {msg}"
    if isinstance(exc, SyntaxError):
        assert (exc.lineno, exc.offset) == (line, col), (exc.lineno, exc.offset, msg)
    if m["name"] is not None:
        assert m["name"] == "<lambda>" or re.search(rf"(?<![\w.]){re.escape(m['name'])}(?!\w)", text), msg
    else:  # only an error before any function header may name none
        before = _STRINGS.sub("", "\n".join(lines[: line - 1] + [lines[line - 1][: col - 1]]))
        assert not _HEADER.search(before), f"the message names no kernel: {msg}"
    return line, col, m["name"]


_STRINGS = re.compile(r"(\"\"\"|''')[\s\S]*?\1|\"[^\"\n]*\"|'[^'\n]*'")
# a header whose name is a keyword ("def elif k(...)") names no kernel
_NOT_KW = r"(?!(?:%s)\b)" % "|".join(keyword.kwlist)
_HEADER = re.compile(r"(?m)^[ \t]*def[ \t]+" + _NOT_KW + r"[A-Za-z_]\w*|^[A-Za-z_]\w*[ \t]*=[ \t]*lambda\b|^lambda\b")


# ====================================================================== fuzz seeds


def write_fuzz_seeds(directory, n=50):
    """Write n invalid programs that ufuncgen rejects (several of each kind of
    mutation, at most 4096 bytes: scripts/fuzz.sh's -max_len) as libFuzzer
    seeds for fuzz/fuzz_kernel.c, which reads a file's bytes as the source.
    Deterministic: `python3 tests/python/kernelgen.py fuzz/corpus/kernel`."""
    import collections
    import os

    from hypothesis import HealthCheck, given, settings

    import ufuncgen

    kinds = collections.defaultdict(list)

    @settings(max_examples=20 * n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(invalid_programs())
    def collect(m):
        text = m.source.encode()
        if len(text) > 4096 or b"\0" in text:
            return
        k = m.kernel
        try:
            if k.layout is None:
                ufuncgen.vectorize([k.signature])(m.source)
            else:
                ufuncgen.guvectorize([k.signature], k.layout)(m.source)
        except ACCEPTED:
            kinds[m.how.split()[0]].append(text)

    collect()
    picked, k = [], 0
    while len(picked) < n and any(kinds.values()):  # round robin over the kinds
        for kind in sorted(kinds):
            if kinds[kind] and len(picked) < n:
                picked.append((kind, kinds[kind].pop(len(kinds[kind]) // 2)))
    os.makedirs(directory, exist_ok=True)
    count = collections.Counter()
    for kind, text in picked:
        name = re.sub(r"\W", "", kind) or "x"
        count[name] += 1
        with open(os.path.join(directory, f"gen-{name}-{count[name]:02d}"), "wb") as f:
            f.write(text)
    return len(picked)


if __name__ == "__main__":
    import sys

    print(write_fuzz_seeds(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/kernel"), "seeds written")
