/* test_kernel.c — the kernel language: lexer, parser, builtins, inference,
 * diagnostics, and the data-file corpus in tests/kernels/.
 *
 * Each corpus file is a kernel source whose header comments say how to type
 * it and what must come out:
 *   # sig: float32(float32)          scalar kernel (output type first)
 *   # sig: (float32, int32)          scalar kernel, output inferred
 *   # sig: void(float64[:], float64[:], float64[:])   with
 *   # layout: (n),(n)->()            a gufunc (outputs counted from the layout)
 *   # kernel: name                   which def (default: kernel_find's choice)
 *   # expect: ok                     or
 *   # expect error UG_ETYPE line 4 col 17: message substring
 *   # local acc: float32             type of a local of the kernel
 *   # param a: array(float64, 1d)    type of a parameter
 *   # ret: float32                   the kernel's return type
 *   # out: float32                   kernel_typed.out_dt
 *   # funcs: 2                       number of specialised functions
 *   # tree: (+ x 1)                  a substring of the kernel's typed tree, compact form
 * The signature parser here is a small stand-in for base_sig_parse.
 */
#include <check.h>
#include <dirent.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "base/base.h"

/* ---------------------------------------------------------------- helpers */

static kernel_source source(const char *s) { return (kernel_source){s, strlen(s)}; }

/* Tokens of s as a string of kind numbers is unreadable; give a compact
 * spelling: names/numbers by text, layout tokens as NL/IN/DE. */
static char *lex_str(const char *s, ug_error *err)
{
    static char buf[4096];
    kernel_arena *a = kernel_arena_new();
    kernel_source src = source(s);
    kernel_token *t;
    int n;
    buf[0] = 0;
    if (kernel_lex(a, &src, &t, &n, err) != UG_OK) {
        kernel_arena_free(a);
        return NULL;
    }
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        const char *sp = t[i].kind == TK_NEWLINE ? "NL" : t[i].kind == TK_INDENT ? "IN"
                       : t[i].kind == TK_DEDENT ? "DE" : t[i].kind == TK_EOF ? "EOF" : NULL;
        if (sp)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "", sp);
        else
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%.*s", i ? " " : "", t[i].pos.len, t[i].text);
    }
    kernel_arena_free(a);
    return buf;
}

static const char *opname(int op)
{
    switch (op) {
    case TK_PLUS: return "+"; case TK_MINUS: return "-"; case TK_STAR: return "*"; case TK_SLASH: return "/";
    case TK_DSLASH: return "//"; case TK_PERCENT: return "%"; case TK_DSTAR: return "**"; case TK_AMP: return "&";
    case TK_PIPE: return "|"; case TK_CARET: return "^"; case TK_TILDE: return "~"; case TK_LSHIFT: return "<<";
    case TK_RSHIFT: return ">>"; case TK_LT: return "<"; case TK_GT: return ">"; case TK_LE: return "<=";
    case TK_GE: return ">="; case TK_EQ: return "=="; case TK_NE: return "!="; case TK_AND: return "and";
    case TK_OR: return "or"; case TK_NOT: return "not"; default: return "?";
    }
}

/* Compact S-expression of a node: (+ a (* b c)), with :type after typed leaves when types. */
static size_t sx(char *b, size_t cap, size_t n, const kernel_node *e, bool types)
{
#define P(...) (n += (size_t)snprintf(b + n, n < cap ? cap - n : 0, __VA_ARGS__))
    char tb[48];
    if (!e)
        return n;
    switch (e->kind) {
    case N_INT: P("%lld", (long long)e->ival); break;
    case N_FLOAT: P("%g", e->fval); break;
    case N_IMAG: P("%gj", e->fval); break;
    case N_BOOL: P("%s", e->ival ? "True" : "False"); break;
    case N_NAME: P("%s", e->name); break;
    case N_UNARY: P("(%s ", opname(e->op)); n = sx(b, cap, n, e->a, types); P(")"); break;
    case N_BINARY:
    case N_BOOLOP:
    case N_AUGASSIGN:
        P("(%s%s ", opname(e->op), e->kind == N_AUGASSIGN ? "=" : "");
        n = sx(b, cap, n, e->kind == N_AUGASSIGN ? e->kids[0] : e->a, types);
        P(" ");
        n = sx(b, cap, n, e->b, types);
        P(")");
        break;
    case N_COMPARE:
        P("(cmp ");
        for (int k = 0; k < e->nkids; k++) {
            n = sx(b, cap, n, e->kids[k], types);
            if (k + 1 < e->nkids)
                P(" %s ", opname(e->cmpops[k]));
        }
        P(")");
        break;
    case N_IFEXP:
        P("(ifexp ");
        n = sx(b, cap, n, e->cond, types);
        P(" ");
        n = sx(b, cap, n, e->a, types);
        P(" ");
        n = sx(b, cap, n, e->b, types);
        P(")");
        break;
    case N_CAST: P("(cast "); n = sx(b, cap, n, e->a, types); P(")"); break;
    case N_ATTR: P("(. "); n = sx(b, cap, n, e->a, types); P(" %s)", e->name); break;
    default: {
        static const char *const names[] = {[N_CALL] = "call", [N_INDEX] = "index", [N_TUPLE] = "tuple",
                                            [N_ASSIGN] = "=", [N_EXPRSTMT] = "expr", [N_IF] = "if",
                                            [N_FOR] = "for", [N_WHILE] = "while", [N_BREAK] = "break",
                                            [N_CONTINUE] = "continue", [N_PASS] = "pass", [N_RETURN] = "return",
                                            [N_BLOCK] = "block"};
        P("(%s", names[e->kind] ? names[e->kind] : "?");
        if (e->kind == N_CALL)
            P(" %s", e->name);
        const kernel_node *kids[] = {e->a, e->cond};
        for (int k = 0; k < 2; k++)
            if (kids[k]) {
                P(" ");
                n = sx(b, cap, n, kids[k], types);
            }
        for (int k = 0; k < e->nkids; k++) {
            P(" ");
            n = sx(b, cap, n, e->kids[k], types);
        }
        for (int k = 0; k < e->nrange; k++) {
            P(" ");
            n = sx(b, cap, n, e->range[k], types);
        }
        const kernel_node *tail[] = {e->b, e->body, e->orelse};
        for (int k = 0; k < 3; k++)
            if (tail[k]) {
                P(" ");
                n = sx(b, cap, n, tail[k], types);
            }
        P(")");
    }
    }
    if (types && ((e->kind < N_TUPLE) || e->kind == N_CAST))
        P(":%s", kernel_type_str(e->ty, tb, sizeof tb));
    return n;
#undef P
}

static char *sx_str(const kernel_node *e, bool types)
{
    static char buf[1 << 15];
    buf[0] = 0;
    sx(buf, sizeof buf, 0, e, types);
    return buf;
}

/* Parse one expression: wrap it in a lambda. */
static char *parse_expr(const char *e)
{
    static char src[512];
    snprintf(src, sizeof src, "lambda a, b, c, d, x, y: %s", e);
    kernel_source s = source(src);
    kernel_module *m;
    ug_error err;
    if (kernel_parse(&s, &m, &err) != UG_OK)
        return strcpy(src, err.msg);
    char *r = sx_str(m->funcs[0]->body->kids[0]->a, false);
    kernel_module_free(m);
    return r;
}

static ug_status parse_err(const char *s, ug_error *err)
{
    kernel_source src = source(s);
    kernel_module *m = NULL;
    ug_status st = kernel_parse(&src, &m, err);
    kernel_module_free(m);
    return st;
}

/* ------------------------------------------------------------------ lexer */

START_TEST(lex_layout)
{
    ug_error err;
    ck_assert_str_eq(lex_str("def f(x):\n    if x:\n        return 1\n    return 2\n", &err),
                     "def f ( x ) : NL IN if x : NL IN return 1 NL DE return 2 NL DE EOF");
    ck_assert_str_eq(lex_str("f(a,\n      b)\n", &err), "f ( a , b ) NL EOF");
    ck_assert_str_eq(lex_str("x = 1 + \\\n   2\n", &err), "x = 1 + 2 NL EOF");
    ck_assert_str_eq(lex_str("# c\n\nx = 1  # t\n\n   \n", &err), "x = 1 NL EOF");
    ck_assert_str_eq(lex_str("def f(x):\n\tif x:\n\t\treturn 1\n\treturn 2", &err),
                     "def f ( x ) : NL IN if x : NL IN return 1 NL DE return 2 NL DE EOF");
    ck_assert_str_eq(lex_str("x = '''a\nb''' + \"c\"\ny=2\r\n", &err), "x = '''a\nb''' + \"c\" NL y = 2 NL EOF");
    ck_assert_str_eq(lex_str("a **= b // c >>= d -> e != f", &err), "a **= b // c >>= d -> e != f NL EOF");
}
END_TEST

START_TEST(lex_numbers)
{
    kernel_arena *a = kernel_arena_new();
    kernel_source src = source("0x_ff 0o17 0b1_0 1_000 18446744073709551615 1e3 .5 2.e-1 1_0.2_5 0 00 7E+2");
    kernel_token *t;
    int n;
    ug_error err;
    ck_assert_int_eq(kernel_lex(a, &src, &t, &n, &err), UG_OK);
    ck_assert_int_eq(n, 14);
    int64_t ints[] = {255, 15, 2, 1000};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(t[i].kind, TK_INT);
        ck_assert_int_eq(t[i].v.i, ints[i]);
        ck_assert_int_eq(t[i].big, 0);
    }
    ck_assert_int_eq(t[4].big, 1);
    ck_assert_uint_eq((uint64_t)t[4].v.i, UINT64_MAX);
    double fl[] = {1000, 0.5, 0.2, 10.25};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(t[5 + i].kind, TK_FLOAT);
        ck_assert_double_eq(t[5 + i].v.f, fl[i]);
    }
    ck_assert_int_eq(t[9].kind, TK_INT);
    ck_assert_int_eq(t[10].v.i, 0);
    ck_assert_double_eq(t[11].v.f, 700);
    kernel_arena_free(a);
}
END_TEST

/* Imaginary literals as Python reads them: 3j, 2.5J, 1e-3j, .5j, 012j (no octal there). */
START_TEST(lex_imaginary)
{
    kernel_arena *a = kernel_arena_new();
    kernel_source src = source("3j 2.5J 1e-3j .5j 012j 0x1");
    kernel_token *t;
    int n;
    ug_error err;
    ck_assert_int_eq(kernel_lex(a, &src, &t, &n, &err), UG_OK);
    double want[] = {3, 2.5, 1e-3, 0.5, 12};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(t[i].kind, TK_IMAG);
        ck_assert_double_eq(t[i].v.f, want[i]);
    }
    ck_assert_int_eq(t[5].kind, TK_INT);
    kernel_arena_free(a);
}
END_TEST

START_TEST(lex_positions)
{
    kernel_arena *a = kernel_arena_new();
    kernel_source src = source("x = 'é'\n  # c\ny = (1,\n  zz)\n");
    kernel_token *t;
    int n;
    ug_error err;
    ck_assert_int_eq(kernel_lex(a, &src, &t, &n, &err), UG_OK);
    ck_assert_int_eq(t[2].kind, TK_STRING);
    ck_assert_int_eq(t[2].pos.col, 5);
    ck_assert_int_eq(t[3].kind, TK_NEWLINE);
    ck_assert_int_eq(t[3].pos.col, 8); /* the é is one column */
    ck_assert_int_eq(t[3].pos.offset, 8);
    ck_assert_int_eq(t[4].pos.line, 3);
    ck_assert_int_eq(t[9].pos.line, 4); /* zz */
    ck_assert_int_eq(t[9].pos.col, 3);
    ck_assert_int_eq(t[9].pos.len, 2);
    kernel_arena_free(a);
}
END_TEST

static void lex_fails(const char *s, int line, int col, const char *msg)
{
    ug_error err;
    ck_assert_msg(lex_str(s, &err) == NULL, "lexing %s should fail", s);
    ck_assert_int_eq(err.code, UG_ESYNTAX);
    ck_assert_int_eq(err.line, line);
    ck_assert_int_eq(err.column, col);
    ck_assert_msg(strstr(err.msg, msg), "'%s' not in '%s'", msg, err.msg);
}

START_TEST(lex_errors)
{
    lex_fails("x = 18446744073709551616\n", 1, 5, "too large");
    lex_fails("x = 'abc\n", 1, 5, "unterminated string");
    lex_fails("x = $\n", 1, 5, "invalid character");
    lex_fails("def f(x):\n        a = 1\n\tb = 2\n", 3, 2, "inconsistent use of tabs");
    lex_fails("def f(x):\n    if x:\n        a = 1\n  b = 2\n", 4, 3, "unindent does not match");
    lex_fails("x = 3jj\n", 1, 5, "invalid number literal");
    lex_fails("x = 012\n", 1, 5, "leading zeros");
    lex_fails("x = 1 \\ 2\n", 1, 7, "continuation");
    lex_fails("x = {1}\n", 1, 5, "dicts and sets");
}
END_TEST

/* ----------------------------------------------------------------- parser */

START_TEST(parse_precedence)
{
    static const char *const cases[][2] = {
        {"-x**2", "(- (** x 2))"},
        {"x**-y", "(** x (- y))"},
        {"a**b**c", "(** a (** b c))"},
        {"a + b * c", "(+ a (* b c))"},
        {"a - b - c", "(- (- a b) c)"},
        {"a | b ^ c & d", "(| a (^ b (& c d)))"},
        {"a << 1 + 2", "(<< a (+ 1 2))"},
        {"a & b << c", "(& a (<< b c))"},
        {"not a < b", "(not (cmp a < b))"},
        {"a and b or c and not d", "(or (and a b) (and c (not d)))"},
        {"a if b else c if d else x", "(ifexp b a (ifexp d c x))"},
        {"a < b <= c != d", "(cmp a < b <= c != d)"},
        {"a | b < c", "(cmp (| a b) < c)"},
        {"np.exp(x) + math.pi + numpy.inf", "(+ (+ (call exp x) pi) inf)"},
        {"np.float32(x)", "(call float32 x)"},
        {"a[x, y] + a.shape[0]", "(+ (index a x y) (index (. a shape) 0))"},
        {"~a // b % c", "(% (// (~ a) b) c)"},
        {"-a * +b", "(* (- a) (+ b))"},
        {"(a + b) * c", "(* (+ a b) c)"},
        {"f(a, b,)", "(call f a b)"},
        {"x if a else -y ** 2", "(ifexp a x (- (** y 2)))"},
        {"2 ** -1.5e3", "(** 2 (- 1500))"},
        {"True or not False", "(or True (not False))"},
        {"a.size * a.ndim", "(* (. a size) (. a ndim))"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ck_assert_str_eq(parse_expr(cases[i][0]), cases[i][1]);
}
END_TEST

START_TEST(parse_statements)
{
    const char *s = "import math\n"
                    "@vectorize(['f8(f8)'], target='cpu')\n"
                    "def k(a, b: float, out) -> None:\n"
                    "    '''Doc.'''\n"
                    "    x = y[0] = 0\n";
    ug_error err;
    kernel_source src0 = source(s);
    kernel_module *m0;
    ck_assert_int_eq(kernel_parse(&src0, &m0, &err), UG_OK);
    /* chained assignment: the value once into a hidden local, then each target from left to right */
    ck_assert_str_eq(sx_str(m0->funcs[0]->body, false), "(block (= $c1 0) (= x $c1) (= (index y 0) $c1))");
    kernel_module_free(m0);

    s = "import math\n"
        "@vectorize(['f8(f8)'], target='cpu')\n"
        "def k(a, b: float, out) -> None:\n"
        "    '''Doc.'''\n"
        "    m, n = a.shape\n"
        "    p, q = q, p; acc: float = 0.0\n"
        "    for i in range(1, m, 2):\n"
        "        if i > 2:\n"
        "            continue\n"
        "        elif i:\n"
        "            break\n"
        "        else:\n"
        "            pass\n"
        "    while acc < 1: acc += 1\n"
        "    a[0, 1] = acc; acc **= 2; acc //= 3; acc %= 4; acc <<= 1; acc >>= 1; acc &= 1; acc |= 1; acc ^= 1\n"
        "    acc -= 1; acc *= 2; acc /= 2\n"
        "    'not a docstring'\n"
        "    f(acc)\n"
        "    return\n"
        "g = lambda x, y: x + y\n";
    kernel_source src = source(s);
    kernel_module *m;
    ck_assert_int_eq(kernel_parse(&src, &m, &err), UG_OK);
    ck_assert_int_eq(m->nfuncs, 2);
    kernel_func *k = m->funcs[0];
    ck_assert_str_eq(k->name, "k");
    ck_assert_str_eq(k->doc, "Doc.");
    ck_assert_int_eq(k->nparams, 3);
    ck_assert_str_eq(k->params[1].name, "b");
    ck_assert_int_eq(k->src_begin, (int)(strstr(s, "def k") - s));
    ck_assert_int_eq(k->src_end, (int)(strstr(s, "    return\n") - s) + 10);
    ck_assert_str_eq(sx_str(k->body, false),
                     "(block (= (tuple m n) (. a shape)) (= (tuple p q) (tuple q p)) (= acc 0)"
                     " (for i 1 m 2 (block (if (cmp i > 2) (block (continue)) (block (if i (block (break)) (block (pass)))))))"
                     " (while (cmp acc < 1) (block (+= acc 1)))"
                     " (= (index a 0 1) acc) (**= acc 2) (//= acc 3) (%= acc 4) (<<= acc 1) (>>= acc 1) (&= acc 1)"
                     " (|= acc 1) (^= acc 1) (-= acc 1) (*= acc 2) (/= acc 2) (expr (call f acc)) (return))");
    kernel_func *g = m->funcs[1];
    ck_assert_str_eq(g->name, "g");
    ck_assert(g->is_lambda);
    ck_assert_str_eq(sx_str(g->body, false), "(block (return (+ x y)))");
    ck_assert_int_eq(g->src_begin, (int)(strstr(s, "lambda") - s));
    ck_assert_int_eq(g->src_end, (int)strlen(s) - 1);
    ck_assert_ptr_eq(kernel_find(m, NULL, &err), g);
    ck_assert_ptr_eq(kernel_find(m, "k", &err), k);
    ck_assert_ptr_null(kernel_find(m, "nope", &err));
    ck_assert_int_eq(err.code, UG_ENAME);
    kernel_module_free(m);
}
END_TEST

static void parse_fails(const char *s, ug_status code, int line, int col, const char *msg)
{
    ug_error err;
    ck_assert_int_eq(parse_err(s, &err), code);
    ck_assert_int_eq(err.code, code);
    ck_assert_msg(err.line == line && err.column == col, "%s: at %d:%d, want %d:%d", err.msg, err.line, err.column,
                  line, col);
    ck_assert_msg(strstr(err.msg, msg), "'%s' not in '%s'", msg, err.msg);
}

START_TEST(parse_errors)
{
    parse_fails("def f(x):\n    y = (x +\n        1\n", UG_ESYNTAX, 4, 1, "')' expected (to close '(' at line 2)");
    parse_fails("def f(x):\n    return a[1, 2\n", UG_ESYNTAX, 3, 1, "']' expected (to close '[' at line 2)");
    parse_fails("def f(x):\n    return g(x\n    y = 1\n", UG_ESYNTAX, 3, 5, "')' expected (to close '(' at line 2)");
    parse_fails("def f(x):\nreturn x\n", UG_ESYNTAX, 2, 1, "expected an indented block");
    parse_fails("def f(x):\n    import math\n", UG_ESYNTAX, 2, 5, "'import' is not supported in kernels");
    parse_fails("def f(x):\n    return x is None\n", UG_ESYNTAX, 2, 14, "'is' is not supported");
    parse_fails("def f(x):\n    return g(y=1, x)\n", UG_ESYNTAX, 2, 19, "positional argument follows keyword argument");
    parse_fails("def f(x):\n    return g(*x)\n", UG_ESYNTAX, 2, 14, "argument unpacking");
    parse_fails("def f(x):\n    raise\n", UG_ESYNTAX, 2, 5, "a bare 'raise'");
    parse_fails("def f(x):\n    raise ValueError(x)\n", UG_ESYNTAX, 2, 22, "other than a string literal");
    parse_fails("def f(x):\n    for a, b[0] in x:\n        pass\n", UG_ESYNTAX, 2, 13, "other than a plain name");
    parse_fails("def f(x):\n    return sum(i for i in x)\n", UG_ESYNTAX, 2, 18, "generator expressions");
    parse_fails("def f(x):\n    def g(y):\n        return y\n", UG_ESYNTAX, 2, 5, "nested functions");
    parse_fails("def f(x):\n    break\n", UG_ESYNTAX, 2, 5, "'break' outside loop");
    parse_fails("def f(x):\n    return x +\n", UG_ESYNTAX, 2, 15, "unexpected end of line");
    parse_fails("x = 1\n", UG_ESYNTAX, 1, 1, "defines no kernel");
    parse_fails("x + 1\n", UG_ESYNTAX, 1, 1, "expected 'def' or 'lambda'");
    parse_fails("", UG_ESYNTAX, 1, 1, "defines no kernel");
    parse_fails("def f(x=1):\n    return x\n", UG_ESYNTAX, 1, 8, "default parameter values");
    parse_fails("def f(x):\n    x()(1)\n", UG_ESYNTAX, 2, 5, "calling this expression");
    parse_fails("def f(x):\n    1 = x\n", UG_ESYNTAX, 2, 5, "cannot assign");
}
END_TEST

START_TEST(parse_error_names_kernel)
{
    ug_error err;
    ck_assert_int_eq(parse_err("def sig(x):\n    return (x +\n", &err), UG_ESYNTAX);
    ck_assert_msg(strncmp(err.msg, "kernel 'sig', line 3, column 1: ')' expected (to close '(' at line 2)", 69) == 0,
                  "%s", err.msg);
}
END_TEST

/* A module keeps its AST, not its tokens: a ufunc holds its module for its
 * lifetime, and every kernel of a module imported warm allocates one, so
 * what a module keeps is fresh memory at start-up (the tokens were 12 kB of
 * a 4 kB AST). Measured with glibc's allocator statistics; builds whose
 * allocator does not keep them (sanitizers) see no change and pass. */
START_TEST(parse_keeps_no_tokens)
{
    kernel_source src = {"def f(x, y):\n    return x * 2.0 + y\n", 0};
    src.len = strlen(src.text);
    size_t before = mallinfo2().uordblks;
    kernel_module *m = NULL;
    ug_error err;
    ck_assert_int_eq(kernel_parse(&src, &m, &err), UG_OK);
    size_t kept = mallinfo2().uordblks - before;
    ck_assert_msg(kept < 6000, "a two-line kernel's module keeps %zu bytes", kept);
    kernel_module_free(m);
}
END_TEST

/* ---------------------------------------------------------------- builtins */

START_TEST(builtins_lookup)
{
    ug_dtype t = UG_DTYPE_NONE;
    ck_assert_int_eq(kernel_builtin_lookup("asin", NULL), B_ASIN);
    ck_assert_int_eq(kernel_builtin_lookup("arcsin", NULL), B_ASIN);
    ck_assert_int_eq(kernel_builtin_lookup("power", NULL), B_POW);
    ck_assert_int_eq(kernel_builtin_lookup("pow", NULL), B_POW);
    ck_assert_int_eq(kernel_builtin_lookup("arctan2", NULL), B_ATAN2);
    ck_assert_int_eq(kernel_builtin_lookup("isfinite", NULL), B_ISFINITE);
    ck_assert_int_eq(kernel_builtin_lookup("fmin", NULL), B_FMIN);
    ck_assert_int_eq(kernel_builtin_lookup("nosuch", NULL), -1);
    ck_assert_int_eq(kernel_builtin_lookup("x", NULL), -1);
    ck_assert_int_eq(kernel_builtin_lookup("float32", &t), B_CAST);
    ck_assert_int_eq(t, UG_FLOAT32);
    ck_assert_int_eq(kernel_builtin_lookup("uint16", &t), B_CAST);
    ck_assert_int_eq(t, UG_UINT16);
    ck_assert_int_eq(kernel_builtin_lookup("int", &t), B_INT);
    ck_assert_str_eq(kernel_builtin_name(B_ASIN), "asin");
    ck_assert_str_eq(kernel_builtin_name(B_POW), "pow");
}
END_TEST

/* --------------------------------------------------------------- promotion */

static kernel_type ty(int dt, int weak) { return (kernel_type){KT_SCALAR, (int8_t)dt, 0, (uint8_t)weak}; }

START_TEST(promotion_table)
{
    static const int cases[][7] = {
        /* a, weak, b, weak, -> dt, weak */
        {UG_INT64, 1, UG_INT8, 0, UG_INT8, 0},      {UG_INT64, 1, UG_FLOAT32, 0, UG_FLOAT32, 0},
        {UG_FLOAT64, 1, UG_INT16, 0, UG_FLOAT64, 0}, {UG_FLOAT64, 1, UG_FLOAT32, 0, UG_FLOAT32, 0},
        {UG_INT64, 1, UG_INT64, 1, UG_INT64, 1},     {UG_INT64, 1, UG_FLOAT64, 1, UG_FLOAT64, 1},
        {UG_BOOL, 1, UG_INT8, 0, UG_INT8, 0},        {UG_INT64, 1, UG_BOOL, 0, UG_INT64, 0},
        {UG_INT8, 0, UG_UINT8, 0, UG_INT16, 0},      {UG_INT64, 0, UG_UINT64, 0, UG_FLOAT64, 0},
        {UG_FLOAT32, 0, UG_INT32, 0, UG_FLOAT64, 0}, {UG_BOOL, 1, UG_BOOL, 1, UG_BOOL, 1},
        {UG_UINT8, 0, UG_INT64, 1, UG_UINT8, 0},     {UG_FLOAT32, 0, UG_INT16, 0, UG_FLOAT32, 0},
        {UG_BOOL, 0, UG_FLOAT64, 1, UG_FLOAT64, 0},  {UG_BOOL, 1, UG_FLOAT64, 1, UG_FLOAT64, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int flip = 0; flip < 2; flip++) {
            kernel_type a = ty(cases[i][0], cases[i][1]), b = ty(cases[i][2], cases[i][3]);
            kernel_type r = flip ? kernel_promote(b, a) : kernel_promote(a, b);
            ck_assert_msg(r.kind == KT_SCALAR && r.dt == cases[i][4] && r.weak == cases[i][5], "case %zu flip %d", i,
                          flip);
        }
    }
}
END_TEST

/* ------------------------------------------------------------- diagnostics */

START_TEST(caret_format)
{
    const char *s = "def dot(a, b, out):\n"
                    "    acc = 0.0\n"
                    "    for i in range(3):\n"
                    "        acc += a[i] * b\n"
                    "    out[0] = acc\n";
    kernel_source src = source(s);
    kernel_module *m;
    ug_error err;
    ck_assert_int_eq(kernel_parse(&src, &m, &err), UG_OK);
    kernel_argtype args[] = {{UG_FLOAT64, 1}, {UG_FLOAT64, 1}, {UG_FLOAT64, 0}};
    kernel_infer_opts o = {.gufunc = true, .nin = 2, .nout = 1, .args = args};
    kernel_typed *t = (kernel_typed *)1;
    ck_assert_int_eq(kernel_infer(m, m->funcs[0], &o, &t, &err), UG_ETYPE);
    ck_assert_ptr_null(t);
    ck_assert_str_eq(err.msg, "kernel 'dot', line 4, column 13: cannot add float64 and array(float64, 1d)\n"
                              "        acc += a[i] * b\n"
                              "            ^");
    ck_assert_int_eq(err.line, 4);
    ck_assert_int_eq(err.column, 13);
    kernel_module_free(m);

    kernel_pos p = {2, 3, 7, 1};
    kernel_source s2 = source("x = 1\n\tyé+ z\n");
    kernel_error_at(&err, UG_ENAME, &s2, NULL, p, "bad %s", "thing");
    ck_assert_str_eq(err.msg, "line 2, column 3: bad thing\n\tyé+ z\n\t ^");
}
END_TEST

/* -------------------------------------------------------------------- deps */

START_TEST(deps_transitive)
{
    const char *s = "def h(x):\n    return exp(x)\n"
                    "def g(x):\n    return h(x) + 1\n"
                    "def unrelated(x):\n    return x\n"
                    "def f(x):\n    return g(x) * h(x) + max(x, 1)\n";
    kernel_source src = source(s);
    kernel_module *m;
    ug_error err;
    ck_assert_int_eq(kernel_parse(&src, &m, &err), UG_OK);
    const kernel_func **d;
    ck_assert_int_eq(kernel_deps(m, m->funcs[3], &d), 3);
    ck_assert_str_eq(d[0]->name, "f");
    ck_assert_str_eq(d[1]->name, "g");
    ck_assert_str_eq(d[2]->name, "h");
    ck_assert_int_eq(kernel_deps(m, m->funcs[0], &d), 1);
    ck_assert_int_eq(kernel_deps(m, m->funcs[1], &d), 2);
    kernel_module_free(m);
}
END_TEST

/* ------------------------------------------------------ data-file harness */

typedef struct spec_file {
    kernel_argtype args[32];
    kernel_infer_opts o;
    char kernel[64];
} spec_file;

static int parse_dtype(const char **p, int *ndim)
{
    char name[32];
    size_t n = 0;
    while (**p == ' ')
        (*p)++;
    while (**p && strchr(" ,()[]", **p) == NULL && n < sizeof name - 1)
        name[n++] = *(*p)++;
    name[n] = 0;
    *ndim = 0;
    if (**p == '[')
        for (; **p && **p != ']'; (*p)++)
            *ndim += **p == ':';
    if (**p == ']')
        (*p)++;
    while (**p == ' ')
        (*p)++;
    return n == 0 ? UG_DTYPE_NONE : strcmp(name, "void") == 0 ? -2 : ug_dtype_from_name(name);
}

/* "float32(float32, int8)", "(float32)" (output inferred), "void(f8[:], f8[:], f8[:])" + layout. */
static bool parse_spec_sig(const char *sig, const char *layout, spec_file *sf)
{
    const char *p = sig;
    int nd, ret = *p == '(' ? UG_DTYPE_NONE : parse_dtype(&p, &nd), n = 0;
    if (*p++ != '(')
        return false;
    while (*p && *p != ')') {
        sf->args[n].dt = (ug_dtype)parse_dtype(&p, &sf->args[n].ndim);
        n++;
        if (*p == ',')
            p++;
    }
    sf->o.args = sf->args;
    if (layout[0]) {
        const char *arrow = strstr(layout, "->");
        int nout = 0;
        for (const char *q = arrow; q && *q; q++)
            nout += *q == '(';
        sf->o.gufunc = true;
        sf->o.nout = nout;
        sf->o.nin = n - nout;
        return arrow != NULL;
    }
    sf->o.nin = n;
    sf->o.nout = 1;
    sf->args[n].dt = ret == UG_DTYPE_NONE ? UG_FLOAT64 : (ug_dtype)ret;
    sf->args[n].ndim = 0;
    sf->o.infer_output = ret == UG_DTYPE_NONE;
    return true;
}

/* The typed-AST invariants lowering relies on; "" if they hold. */
static void check_node(const kernel_node *n, char *why, size_t cap)
{
    char b[48];
    if (!n || why[0])
        return;
    if (n->ty.weak || n->opty.weak)
        snprintf(why, cap, "weak type left at line %d col %d", n->pos.line, n->pos.col);
    else if (n->kind == N_NAME && n->symkind != SYM_LOCAL && n->symkind != SYM_PARAM)
        snprintf(why, cap, "unresolved name %s", n->name);
    else if (n->kind < N_TUPLE && n->ty.kind == KT_VOID &&
             !(n->kind == N_CALL && (n->callee || n->builtin == B_PRINT || n->builtin == B_SORT_INPLACE ||
                                     n->builtin == B_FILL))) /* statements: a.sort(), a.fill(v) */
        snprintf(why, cap, "untyped expression at line %d col %d", n->pos.line, n->pos.col);
    else if (n->kind == N_BINARY && n->ty.kind == KT_SCALAR && memcmp(&n->ty, &n->opty, sizeof n->ty) != 0)
        snprintf(why, cap, "binary result %s differs from opty", kernel_type_str(n->ty, b, sizeof b));
    else if (n->kind == N_BINARY && n->ty.kind == KT_ARRAY && (n->opty.kind != KT_SCALAR || n->opty.dt != n->ty.dt))
        snprintf(why, cap, "element-wise result %s differs from opty", kernel_type_str(n->ty, b, sizeof b));
    for (int k = 0; n->kind == N_COMPARE && k + 1 < n->nkids; k++)
        if (n->cmptys[k].weak || n->cmptys[k].kind != KT_SCALAR)
            snprintf(why, cap, "comparison type not concrete at line %d", n->pos.line);
    const kernel_node *kids[] = {n->a, n->b, n->cond, n->body, n->orelse, n->range[0], n->range[1], n->range[2]};
    for (size_t k = 0; k < sizeof kids / sizeof *kids; k++)
        check_node(kids[k], why, cap);
    for (int k = 0; k < n->nkids; k++)
        check_node(n->kids[k], why, cap);
}

static const char *check_invariants(const kernel_typed *t)
{
    static char why[256];
    why[0] = 0;
    for (int f = 0; f < t->nfuncs && !why[0]; f++) {
        check_node(t->funcs[f]->body, why, sizeof why);
        for (int k = 0; k < t->funcs[f]->nlocals; k++)
            if (t->funcs[f]->locals[k].ty.weak || t->funcs[f]->locals[k].ty.kind == KT_VOID)
                snprintf(why, sizeof why, "local %s has no concrete type", t->funcs[f]->locals[k].name);
    }
    return why;
}

static const kernel_var *find_var(const kernel_var *v, int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (strcmp(v[k].name, name) == 0)
            return &v[k];
    return NULL;
}

/* Check one "# key: value" expectation against a typed kernel. */
static bool check_expect(const kernel_typed *t, const char *key, const char *val, char *why, size_t cap)
{
    char b[48], name[64];
    const kernel_func *k = t->kernel;
    if ((strncmp(key, "local ", 6) == 0 || strncmp(key, "param ", 6) == 0) && sscanf(key + 6, "%63s", name) == 1) {
        const kernel_var *v = key[0] == 'l' ? find_var(k->locals, k->nlocals, name) : find_var(k->params, k->nparams, name);
        if (!v || strcmp(kernel_type_str(v->ty, b, sizeof b), val) != 0)
            return snprintf(why, cap, "%s: got %s", key, v ? b : "(none)"), false;
    } else if (strcmp(key, "ret") == 0) {
        if (strcmp(kernel_type_str(k->ret, b, sizeof b), val) != 0)
            return snprintf(why, cap, "ret: got %s", b), false;
    } else if (strcmp(key, "out") == 0) {
        if (strcmp(ug_dtype_name(t->out_dt), val) != 0)
            return snprintf(why, cap, "out: got %s", ug_dtype_name(t->out_dt)), false;
    } else if (strcmp(key, "funcs") == 0) {
        if (t->nfuncs != atoi(val))
            return snprintf(why, cap, "funcs: got %d", t->nfuncs), false;
    } else if (strcmp(key, "tree") == 0) {
        const char *tree = sx_str(k->body, true);
        if (!strstr(tree, val))
            return snprintf(why, cap, "tree lacks '%s' in %s", val, tree), false;
    }
    return true;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* A header line "# key: value": copies key and value, returns true. */
static bool header(const char *line, char *key, char *val)
{
    if (strncmp(line, "# ", 2) != 0)
        return false;
    const char *colon = strchr(line, ':');
    const char *eol = strchr(line, '\n');
    if (!eol)
        eol = line + strlen(line);
    if (strncmp(line, "# expect error ", 15) == 0) {
        strcpy(key, "error");
        snprintf(val, 512, "%.*s", (int)(eol - line - 15), line + 15);
        return true;
    }
    if (!colon || colon > eol)
        return false;
    snprintf(key, 64, "%.*s", (int)(colon - line - 2), line + 2);
    const char *v = colon + 1;
    while (*v == ' ')
        v++;
    snprintf(val, 512, "%.*s", (int)(eol - v), v);
    return true;
}

/* Run one corpus file; "" on success, else why it failed. */
static const char *run_file(const char *path)
{
    static char why[4096];
    why[0] = 0;
    char *text = read_all(path);
    if (!text)
        return "cannot read";
    char sig[256] = "", layout[128] = "", expect_err[512] = "", key[64], val[512];
    spec_file sf = {0};
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (!header(l, key, val))
            continue;
        if (strcmp(key, "sig") == 0) strcpy(sig, val);
        if (strcmp(key, "layout") == 0) strcpy(layout, val);
        if (strcmp(key, "kernel") == 0) snprintf(sf.kernel, sizeof sf.kernel, "%.63s", val);
        if (strcmp(key, "error") == 0) strcpy(expect_err, val);
    }
    if (!sig[0] && !expect_err[0])
        return "no '# sig:' line";
    kernel_source src = source(text);
    kernel_module *m = NULL;
    kernel_typed *t = NULL;
    ug_error err = {0};
    ug_status st = kernel_parse(&src, &m, &err);
    kernel_func *k = st ? NULL : kernel_find(m, sf.kernel[0] ? sf.kernel : NULL, &err);
    if (st == UG_OK && !k)
        st = err.code;
    if (st == UG_OK && !parse_spec_sig(sig, layout, &sf))
        snprintf(why, sizeof why, "bad # sig: %s", sig);
    else if (st == UG_OK)
        st = kernel_infer(m, k, &sf.o, &t, &err);
    if (!why[0] && expect_err[0]) {
        char code[32], msg[256] = "";
        int line = 0, col = 0;
        sscanf(expect_err, "%31s line %d col %d: %255[^\n]", code, &line, &col, msg);
        if (st == UG_OK)
            snprintf(why, sizeof why, "expected %s, got success", expect_err);
        else if (strcmp(ug_status_name(st), code) || err.line != line || err.column != col || !strstr(err.msg, msg) ||
                 (line > 0 && (!strstr(err.msg, "\n") || !strchr(err.msg, '^'))))
            snprintf(why, sizeof why, "expected %s, got %s line %d col %d: %s", expect_err, ug_status_name(st),
                     err.line, err.column, err.msg);
    } else if (!why[0] && st != UG_OK) {
        snprintf(why, sizeof why, "unexpected error: %s", err.msg);
    } else if (!why[0]) {
        const char *inv = check_invariants(t);
        if (inv[0])
            snprintf(why, sizeof why, "invariant: %s", inv);
        for (const char *l = text; !why[0] && l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
            if (header(l, key, val))
                check_expect(t, key, val, why, sizeof why);
    }
    kernel_typed_free(t);
    kernel_module_free(m);
    return why;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

START_TEST(corpus)
{
    const char *root = getenv("UFUNCGEN_SOURCE_ROOT");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/kernels", root ? root : ".");
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    char *names[1024];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 1024;)
        if (strlen(e->d_name) > 3 && strcmp(e->d_name + strlen(e->d_name) - 3, ".py") == 0)
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    static char report[1 << 16];
    size_t len = 0;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        const char *why = run_file(path);
        if (why[0]) {
            failed++;
            len += (size_t)snprintf(report + len, len < sizeof report ? sizeof report - len : 0, "\n%s: %s", names[i], why);
        }
        free(names[i]);
    }
    ck_assert_msg(n >= 60, "only %d corpus files", n);
    ck_assert_msg(failed == 0, "%d of %d corpus files failed:%s", failed, n, report);
}
END_TEST

static Suite *kernel_suite(void)
{
    Suite *s = suite_create("kernel");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, lex_layout);
    tcase_add_test(tc, lex_numbers);
    tcase_add_test(tc, lex_imaginary);
    tcase_add_test(tc, lex_positions);
    tcase_add_test(tc, lex_errors);
    tcase_add_test(tc, parse_precedence);
    tcase_add_test(tc, parse_statements);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, parse_keeps_no_tokens);
    tcase_add_test(tc, parse_error_names_kernel);
    tcase_add_test(tc, builtins_lookup);
    tcase_add_test(tc, promotion_table);
    tcase_add_test(tc, caret_format);
    tcase_add_test(tc, deps_transitive);
    tcase_add_test(tc, corpus);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kernel_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
