"""Errors: kernel source, signatures, layouts, boundscheck, floating point."""
import linecache
import math
import traceback

import numpy as np
import pytest

import ufuncgen


def test_syntax_error_from_string_has_position():
    src = "def f(x):\n    y = x +\n    return y\n"
    with pytest.raises(SyntaxError) as ei:
        ufuncgen.vectorize(src, ["f8(f8)"])
    e = ei.value
    assert e.lineno == 2
    assert e.offset is not None and e.offset > 1
    assert e.text.strip() == "y = x +"
    assert "kernel 'f'" in e.msg and "line 2" in e.msg


def test_syntax_error_from_function_points_into_this_file():
    with pytest.raises(SyntaxError) as ei:
        @ufuncgen.vectorize(["f8(f8)"])
        def g(x):
            with x:  # valid Python, not in the kernel language
                pass
            return x

    e = ei.value
    assert e.filename == __file__
    assert "with x:" in linecache.getline(__file__, e.lineno)
    assert e.text.strip().startswith("with x:")
    # the rendered traceback shows the line and a caret
    text = "".join(traceback.format_exception_only(type(e), e))
    assert "with x:" in text and "^" in text


def test_name_error_carries_full_message():
    with pytest.raises(NameError) as ei:
        ufuncgen.vectorize("def f(x):\n    return x + undefined_thing\n", ["f8(f8)"])
    msg = str(ei.value)
    assert "undefined_thing" in msg and "line 2" in msg and "^" in msg


def test_type_error_carries_full_message():
    src = """
def dot(a, b, out):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b
    out[0] = acc
"""
    with pytest.raises(TypeError) as ei:
        ufuncgen.guvectorize(src, ["void(f8[:], f8[:], f8[:])"], "(n),(n)->()")
    msg = str(ei.value)
    assert "dot" in msg and "acc += a[i] * b" in msg and "^" in msg


def test_bad_signature_and_layout_are_value_errors():
    with pytest.raises(ValueError):
        ufuncgen.vectorize("def f(x):\n    return x\n", ["f8(f8, f8)"])
    with pytest.raises(ValueError):
        ufuncgen.vectorize("def f(x):\n    return x\n", ["floaty(f8)"])
    with pytest.raises(ValueError):
        ufuncgen.guvectorize("def f(a, o):\n    o[0] = a[0]\n", ["void(f8[:], f8[:])"], "(n)->(")
    with pytest.raises(ValueError):
        ufuncgen.guvectorize("def f(a, o):\n    o[0] = a[0]\n", ["void(f8[:], f8[:])"], "(n)->()->()")


def test_bad_options():
    with pytest.raises(ValueError):
        ufuncgen.vectorize(["f8(f8)"], target="cuda")
    with pytest.raises(ValueError):
        ufuncgen.vectorize(["f8(f8)"], identity=7)
    with pytest.raises(TypeError):
        ufuncgen.vectorize([3.0])
    with pytest.raises(TypeError):
        ufuncgen.guvectorize(["void(f8[:], f8[:])"])(lambda a, o: None)
    with pytest.raises(TypeError):
        ufuncgen.vectorize(["f8(f8)"])(42)


def test_boundscheck_raises_index_error():
    src = """
def shift(a, out):
    for i in range(a.shape[0]):
        out[i] = a[i + 1]
"""
    f = ufuncgen.guvectorize(src, ["void(f8[:], f8[:])"], "(n)->(n)", boundscheck=True)
    with pytest.raises(IndexError) as ei:
        f(np.arange(4.0))
    assert "shift" in str(ei.value)
    # negative indices are in range
    g = ufuncgen.guvectorize("def last(a, out):\n    out[0] = a[-1]\n", ["void(f8[:], f8[:])"], "(n)->()",
                             boundscheck=True)
    np.testing.assert_array_equal(g(np.arange(6.0).reshape(2, 3)), [2.0, 5.0])
    # large (GIL released) calls raise too
    with pytest.raises(IndexError):
        f(np.ones((5000, 8)))


def test_float_division_by_zero_follows_errstate():
    f = ufuncgen.vectorize("def div(x, y):\n    return x / y\n", ["f8(f8,f8)"])
    x = np.array([1.0, -1.0, 0.0])
    with np.errstate(all="ignore"):
        r = f(x, 0.0)
    np.testing.assert_array_equal(r, [np.inf, -np.inf, np.nan])
    with np.errstate(divide="raise", invalid="ignore"):
        with pytest.raises(FloatingPointError):
            f(x[:1], 0.0)
    with np.errstate(invalid="raise", divide="ignore"):
        with pytest.raises(FloatingPointError):
            f(x[2:], 0.0)
    with np.errstate(all="warn"):
        with pytest.warns(RuntimeWarning):
            f(x, 0.0)
    with np.errstate(all="raise"):
        with pytest.raises(FloatingPointError, match="divide by zero"):
            f(x, 0.0)


def test_default_errstate_warns():
    # NumPy's defaults (no errstate block): divide and invalid warn, naming the ufunc
    f = ufuncgen.vectorize("def div(x, y):\n    return x / y\n", ["f8(f8,f8)"])
    with pytest.warns(RuntimeWarning, match="divide by zero encountered in div"):
        r = f(np.array([1.0]), 0.0)
    assert r[0] == np.inf
    with pytest.warns(RuntimeWarning, match="invalid value encountered in div"):
        assert np.isnan(f(np.array([0.0]), 0.0)[0])


def test_integer_division_by_zero_flag():
    f = ufuncgen.vectorize("def fd(x, y):\n    return x // y\n", ["i8(i8,i8)"])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(f(np.array([7, -7]), np.array([0, 2])), [0, -4])
    with np.errstate(all="raise"):
        with pytest.raises(FloatingPointError):
            f(np.array([7]), 0)


GUARDED = {  # kernel source, the values Python gives element by element
    "sinc": ("def sinc(x):\n    if x == 0.0:\n        return 1.0\n    return sin(pi * x) / (pi * x)\n",
             lambda x: 1.0 if x == 0.0 else math.sin(math.pi * x) / (math.pi * x)),
    "ifexp_log": ("def f(x):\n    return log(x) if x > 0.0 else -1.0\n", lambda x: math.log(x) if x > 0.0 else -1.0),
    "sqrt_else": ("def f(x):\n    if x < 0.0:\n        return 0.0\n    else:\n        return sqrt(x) * 2.0\n",
                  lambda x: 0.0 if x < 0.0 else math.sqrt(x) * 2.0),
    "cast": ("def f(x):\n    if abs(x) < 1e9:\n        return float(int64(x * 3.0))\n    return -2.0\n",
             lambda x: float(int(x * 3.0)) if abs(x) < 1e9 else -2.0),
    "overflow": ("def f(x):\n    r = x\n    if abs(x) < 1e100:\n        r = x * x * x + 1.0 / (x - 2.0)\n    return r\n",
                 lambda x: x * x * x + 1.0 / (x - 2.0) if abs(x) < 1e100 else x),
    "nested": ("def f(x, y):\n    if y != 0.0:\n        if x > 0.0:\n            return log(x) / y\n"
               "        return sqrt(-x) / y\n    return 0.0\n",
               lambda x, y: (math.log(x) / y if x > 0.0 else math.sqrt(-x) / y) if y != 0.0 else 0.0),
}


@pytest.mark.parametrize("name", sorted(GUARDED))
@pytest.mark.parametrize("dt", ["f8", "f4"])
def test_a_guarded_operation_raises_no_flag_where_the_source_skips_it(name, dt):
    """Issue 16 item 7: if-converted code computed both arms on every element,
    so 0/0 (and sqrt(-1), log(0), inf * inf, int(nan)) in the arm not taken
    raised NumPy's "invalid value" under errstate(all='raise'); Numba raises
    nothing. Values and flags as Python's, vectorised and strided. (Not
    NaN inputs: an ordered comparison of NaN, x < 0.0, raises "invalid" in
    vector code, in Numba's too: x86's vcmpltpd signals, np.less does not.)"""
    src, py = GUARDED[name]
    rng = np.random.default_rng(7)
    x = rng.standard_normal(4099) * 4
    x[::5] = 0.0
    x[1::7] = np.resize([np.inf, -np.inf, 1e200, -1e200, 0.5, -1.0], x[1::7].size)  # no NaN: see below
    nin = 2 if name == "nested" else 1
    f = ufuncgen.vectorize(src, [f"{dt}({', '.join([dt] * nin)})"])
    args = [x.astype(dt)]
    if name in ("sinc", "nested"):  # what the source runs sees finite values (sin(inf) is invalid in Python
        args = [np.where(np.abs(args[0]) < 1e6, args[0], 1.5).astype(dt)]  # too; libmvec's sin(1e200) overflows)
    if name == "nested":
        args.append(np.roll(args[0], 3))
    with np.errstate(all="raise"):
        r = f(*args)
        strided = f(*[a[::3] for a in args])
    np.testing.assert_array_equal(strided, r[::3])
    want = np.array([py(*(float(a[i]) for a in args)) for i in range(x.size)])
    if dt == "f8":
        np.testing.assert_allclose(r, want, rtol=1e-15, atol=0)
    else:
        np.testing.assert_allclose(r, want, rtol=1e-5, atol=1e-6)


def test_a_guarded_value_the_nested_conditions_read():
    """q = x / y under `if y != 0.0` is read by the nested if's conditions as well as its arms: it is
    needed where y != 0 only, so 0/0 in the y == 0 lanes is guarded too (acosh and atanh under theirs)."""
    f = ufuncgen.vectorize("def f(x, y):\n    if y != 0.0:\n        q = x / y\n        if q > 1.0:\n"
                           "            return acosh(q)\n        elif q > -1.0:\n            return atanh(q * 0.5)\n"
                           "    return 0.0\n", ["f8(f8, f8)"])
    x = np.linspace(-4.0, 4.0, 64)
    y = np.where(np.arange(64) % 4 == 0, 0.0, 0.7)
    with np.errstate(all="raise"):
        r = f(x, y)
    q = x / np.where(y == 0.0, 1.0, y)
    with np.errstate(all="ignore"):
        want = np.where(y == 0.0, 0.0, np.where(q > 1.0, np.arccosh(q), np.where(q > -1.0, np.arctanh(q * 0.5), 0.0)))
    np.testing.assert_allclose(r, want, rtol=1e-14)


def test_guarded_operations_in_gufunc_loops_raise_no_flag():
    """The same in gufunc kernels: a division stored under a condition (a masked store once
    vectorised) and a conditional reduction of logarithms."""
    div = ufuncgen.guvectorize("def f(a, b, out):\n    for i in range(a.shape[0]):\n        if b[i] != 0.0:\n"
                               "            out[i] = a[i] / b[i]\n        else:\n            out[i] = -1.0\n",
                               ["void(f8[:], f8[:], f8[:])"], "(n),(n)->(n)")
    logsum = ufuncgen.guvectorize("def g(a, out):\n    s = 0.0\n    for i in range(a.shape[0]):\n"
                                  "        if a[i] > 0.0:\n            s += log(a[i])\n    out[0] = s\n",
                                  ["void(f8[:], f8[:])"], "(n)->()")
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((8, 1001)), rng.standard_normal((8, 1001))
    b[:, ::3] = 0.0
    a[:, ::5] = 0.0
    with np.errstate(all="raise"):
        r, s = div(a, b), logsum(a)
    np.testing.assert_array_equal(r, np.where(b != 0.0, a / np.where(b != 0.0, b, 1.0), -1.0))
    np.testing.assert_allclose(s, np.where(a > 0.0, np.log(np.where(a > 0.0, a, 1.0)), 0.0).sum(axis=1), rtol=1e-12)


def test_nan_skipping_sums_are_not_guarded_and_raise_nothing():
    """`if not np.isnan(ai): asum += ai` needs no guard (where the add is not
    needed, ai is a NaN, and NaN + x raises nothing), so the loop-carried sum
    keeps its latency (numbagg's nansum ran at 0.77x Numba guarded); an
    operation needed where a *different* value is not NaN is still guarded."""
    skip = ufuncgen.guvectorize("def f(a, out):\n    s = 0.0\n    for ai in a:\n        if not np.isnan(ai):\n"
                                "            s += ai\n    out[0] = s\n", ["void(f8[:], f8[:])"], "(n)->()")
    other = ufuncgen.guvectorize("def g(a, b, out):\n    s = 0.0\n    m = 0.0\n    for i in range(a.shape[0]):\n"
                                 "        ai = a[i]\n        bi = b[i]\n        m = max(m, bi)\n"
                                 "        if not np.isnan(ai):\n            s += bi\n    out[0] = s + m * 0.0\n",
                                 ["void(f8[:], f8[:], f8[:])"], "(n),(n)->()")
    squares = ufuncgen.guvectorize("def h(a, m, out):\n    s = 0.0\n    for ai in a:\n        if not np.isnan(ai):\n"
                                   "            ai -= m\n            s += ai * ai\n    out[0] = s\n",
                                   ["void(f8[:], f8, f8[:])"], "(n),()->()")
    ir_skip, ir_other = ufuncgen.wrapper(skip).inspect_llvm(), ufuncgen.wrapper(other).inspect_llvm()
    assert "ug.guard" not in "".join(ir_skip.values()), "the nan-skipping sum got a guard"
    assert "ug.guard" not in "".join(ufuncgen.wrapper(squares).inspect_llvm().values()), "(ai - m) ** 2 under isnan(ai) got a guard"
    v = np.array([3.0, np.nan, 1e150, np.nan, -2.5] * 30)
    want = 0.0
    for x in v:
        if x == x:
            want += (x - 0.5) * (x - 0.5)
    with np.errstate(all="raise"):
        assert squares(v, 0.5)[()] == want
    assert "ug.guard" in "".join(ir_other.values()), "s + bi under isnan(ai) lost its guard"
    a = np.array([1e308, np.nan, -1e308, np.nan, 5.0] * 40)
    with np.errstate(all="raise"):
        want = 0.0
        for v in a:  # the kernel's own order
            if v == v:
                want += v
        assert skip(a)[()] == want
    # where a is NaN the add is skipped, and there s + bi would overflow
    a = np.array([0.0, np.nan, 0.0, np.nan] * 50)
    b = np.array([1e308, 1e308, -1e308, 1e308] * 50)
    with np.errstate(all="raise"):
        assert other(a, b)[()] == 0.0


def test_operations_the_source_runs_still_raise():
    f = ufuncgen.vectorize("def f(x):\n    if x != 5.0:\n        return 1.0 / x\n    return 0.0\n", ["f8(f8)"])
    x = np.ones(64)
    x[37] = 0.0
    with np.errstate(all="raise"), pytest.raises(FloatingPointError, match="divide by zero"):
        f(x)


def test_no_loop_message_lists_loops():
    f = ufuncgen.vectorize("def f(x):\n    return x\n", ["i4(i4)", "i2(i2)"])
    with pytest.raises(TypeError) as ei:
        f(np.ones(2))
    assert "f" in str(ei.value)


def test_parallel_target_fp_errors_reach_errstate():
    # Flags raised on OpenMP worker threads must reach the calling thread,
    # where NumPy checks them after the loop.
    f = ufuncgen.vectorize("def div(x, y):\n    return x / y\n", ["f8(f8,f8)"], target="parallel")
    x = np.ones(2_000_000)
    y = np.ones(2_000_000)
    y[-1] = 0.0  # the last chunk, never the calling thread's first
    for _ in range(4):
        with np.errstate(all="raise"):
            with pytest.raises(FloatingPointError):
                f(x, y)


def test_absurdly_long_chains_are_positioned_errors():
    # deeper than Python's own parser goes: ufuncgen's error (with position), never a crash
    src = "def f(x):\n    return " + " + ".join(["x"] * 30000) + "\n"
    with pytest.raises(SyntaxError, match="nested too deeply") as ei:
        ufuncgen.vectorize(src, ["f8(f8)"])
    assert ei.value.lineno == 2
    elifs = "def f(x):\n    if x < 0:\n        return 0.0\n" + "".join(
        f"    elif x < {i}:\n        return {i}.0\n" for i in range(1, 3000)) + "    return x\n"
    with pytest.raises(NotImplementedError, match="'elif'"):
        ufuncgen.vectorize(elifs, ["f8(f8)"])


@pytest.mark.parametrize("sig,shown", [("d->\u00e9", "'\u00e9'"), ("\u20ac\u20ac->d", "'\u20ac'"), ("d->\U0001F600", "'\U0001F600'")])
def test_non_ascii_signature_is_a_value_error_showing_the_character(sig, shown):
    """A quoted character is a whole UTF-8 sequence (it was one byte of it,
    and Python raised UnicodeDecodeError); the caret counts characters."""
    with pytest.raises(ValueError) as ei:
        ufuncgen.vectorize("def f(x):\n    return x\n", [sig])
    msg = str(ei.value)
    assert f"unknown type code {shown}" in msg
    line, caret = msg.splitlines()[-2:]
    assert line.strip() == sig and caret.index("^") - line.index(sig) == sig.index(shown[1])


@pytest.mark.parametrize("layout", ["(n\u00e9)->()", "(\u00e9)->()", "(n)->(\u00e9)"])
def test_non_ascii_layout_shows_the_character(layout):
    with pytest.raises(ValueError, match="found '\u00e9'"):
        ufuncgen.guvectorize("def f(x, o):\n    o[0] = x[0]\n", ["void(float64[:], float64[:])"], layout)


@pytest.mark.parametrize("pad", range(4))
def test_long_non_ascii_messages_cut_on_a_character(pad):
    """A message longer than the C buffer is cut between characters, never
    inside one (any cut used to risk UnicodeDecodeError)."""
    text = "d" * pad + "\u00e9\U0001F600" * 700
    with pytest.raises(ValueError):
        ufuncgen.vectorize("def f(x):\n    return x\n", [text])
    with pytest.raises(ValueError):
        ufuncgen.guvectorize("def f(x, o):\n    o[0] = x[0]\n", ["void(float64[:], float64[:])"], "(" + text + ")->()")
    with pytest.raises(NameError):
        ufuncgen.vectorize("def f(x):\n    return x + " + "\u00e9" * pad + "\u00e9\U0001F600" * 700 + "\n", ["f8(f8)"])


@pytest.mark.parametrize("n", [10**12, 2**32 + 2, -(2**40), 5000, -1])
def test_num_threads_out_of_range_names_the_option(n):
    """num_threads=10**12 raised OverflowError naming nothing, and
    set_num_threads(2**32 + 2) wrapped silently to 2 threads."""
    with pytest.raises(ValueError, match="num_threads.*" + str(n)):
        ufuncgen.vectorize("def f(x):\n    return x\n", ["f8(f8)"], target="parallel", num_threads=n)
    with pytest.raises(ValueError, match=str(n)):
        ufuncgen.set_num_threads(n)
    ufuncgen.set_num_threads(0)


def _import_file(tmp_path, monkeypatch, name, text):
    import importlib
    (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module(name)


def test_kernel_text_and_error_lines_read_from_files(tmp_path, monkeypatch):
    """How a kernel's text is cut out of its file: blank lines holding only
    spaces, a form feed (a line break to str.splitlines, not to the line
    table), a def nested in a function (indented), and a kernel naming 300
    module constants (LOAD_GLOBAL with an EXTENDED_ARG prefix). Values are
    the Python function's; an error points at its line in the file."""
    consts = "".join(f"K{i} = {i}.5\n" for i in range(300))
    text = (
        "import ufuncgen\n" + consts +
        "@ufuncgen.vectorize(['f8(f8)'])\n"
        "def spaced(x):\n"
        "    y = x * 2.0\n"
        "    \n"
        "\t\n"
        "    return y + K299\n"
        "@ufuncgen.vectorize(['f8(f8)'])\n"
        "\x0c\n"
        "def after_feed(x):\n"
        "    return x - K1\n"
        "def outer():\n"
        "    @ufuncgen.vectorize(['f8(f8)'])\n"
        "    def nested(x):\n"
        "        return x * K2\n"
        "    return nested\n"
        "@ufuncgen.vectorize(['f8(f8)'])\n"
        "def many(x):\n"
        "    return x + " + " + ".join(f"K{i}" for i in range(0, 300, 7)) + " + K299\n"
        "def bad_after_feed():\n"
        "    @ufuncgen.vectorize(['f8(f8)'])\n"
        "    \x0c\n"
        "    def bad(x):\n"
        "        with x:\n"
        "            pass\n"
        "        return x\n"
    )
    m = _import_file(tmp_path, monkeypatch, "ug_text_forms", text)
    x = np.array([0.0, 1.5, -2.0])
    np.testing.assert_array_equal(m.spaced(x), x * 2.0 + 299.5)
    np.testing.assert_array_equal(m.after_feed(x), x - 1.5)
    np.testing.assert_array_equal(m.outer()(x), x * 2.5)
    want = x + sum(i + 0.5 for i in range(0, 300, 7)) + 299.5
    np.testing.assert_allclose(m.many(x), want, rtol=1e-15)
    with pytest.raises(SyntaxError) as ei:
        m.bad_after_feed()
    lines = text.split("\n")  # the file's lines as Python numbers them (a form feed breaks none)
    assert lines[ei.value.lineno - 1].strip() == "with x:"
    assert ei.value.filename.endswith("ug_text_forms.py")


def test_string_kernel_with_a_form_feed_keeps_its_line_numbers():
    src = "@vectorize\n\x0c\ndef k(x):\n    y = x +\n    return y\n"
    with pytest.raises(SyntaxError) as ei:
        ufuncgen.vectorize(src, ["f8(f8)"])
    assert ei.value.lineno == 4  # Python's numbering: the form feed breaks no line
    assert ei.value.text.strip() == "y = x +"
    f = ufuncgen.vectorize("@vectorize\n\x0c\ndef k(x):\n    return x * 3.0\n", ["f8(f8)"])
    np.testing.assert_array_equal(f(np.arange(3.0)), np.arange(3.0) * 3.0)
