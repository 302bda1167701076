/* parse.c — tokens → AST, by recursive descent.
 *
 * One function per grammar rule, the rule in a comment above it, Python's
 * precedence from `test` (lowest) down to `atom`. The parser accepts only the
 * kernel subset: everything else Python has (imports, classes, strings as
 * values, keyword arguments, comprehensions, `is`, ...) stops at its first
 * token with a message saying it is not supported in kernels. The first error
 * wins: once `failed` is set every rule returns NULL without looking further.
 *
 * Normalisations done here so later stages never see them: a math./np./numpy.
 * prefix is dropped from calls and constants (np.exp → exp, np.pi → pi);
 * elif chains become nested N_IF; docstrings are dropped (a def's own
 * docstring is kept in kernel_func.doc); a lambda becomes a function whose
 * body is N_BLOCK{N_RETURN expr}.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "kernel/kernel.h"

/* Deepest nesting of expressions (brackets, unary operators, `not`,
 * ternaries) the parser accepts, as CPython refuses more than 200 nested
 * parentheses: it bounds the C stack used here, in inference and in lowering. */
#define PARSE_MAX_NEST 100 /* the message below says "100" */

/* Operator chains (a + b + c ..., a ** b ** c ..., and/or chains) and
 * elif chains build trees one level deeper per operator or branch, which
 * the bracket limit above does not see; inference and lowering recurse on
 * them. So a function's tree is at most PARSE_MAX_HEIGHT levels deep
 * (measured without recursion, after parsing; a 30000-term sum used to
 * overflow the C stack), and an if has at most PARSE_MAX_ELIF elif
 * branches (the parser recurses on them). */
#define PARSE_MAX_HEIGHT 2000 /* the message says "2000" */
#define PARSE_MAX_ELIF 500    /* the message says "500" */

typedef struct parser {
    kernel_module *m;
    kernel_token *toks;
    int ntoks, i;
    int loops;        /* enclosing loops of the statement being parsed */
    bool failed;
    int last_end;     /* byte offset just past the last consumed real token */
    int funcs_cap;
    const char *fname; /* the def being parsed, for messages */
    kernel_token *open[PARSE_MAX_NEST + 1]; /* brackets open around the current token */
    int nopen;
    int depth;        /* recursion depth of expression parsing (bounded: PARSE_MAX_NEST) */
    int elifs;        /* elif branches of the if being parsed (bounded: PARSE_MAX_ELIF) */
    int hidden;       /* hidden locals made so far ($c1, $c2, ...) */
    ug_error *err;
} parser;

static kernel_node *expr_test(parser *P);

/* ---------------------------------------------------------------- helpers */

static kernel_token *peek(parser *P) { return &P->toks[P->i]; }
static kernel_token *peek_at(parser *P, int k)
{
    return &P->toks[P->i + k < P->ntoks ? P->i + k : P->ntoks - 1];
}
static bool at(parser *P, int kind) { return peek(P)->kind == kind; }

static kernel_token *next(parser *P)
{
    kernel_token *t = peek(P);
    if (t->kind != TK_EOF)
        P->i++;
    if (t->kind != TK_NEWLINE && t->kind != TK_INDENT && t->kind != TK_DEDENT && t->kind != TK_EOF)
        P->last_end = t->pos.offset + t->pos.len;
    return t;
}

static bool accept(parser *P, int kind)
{
    if (!at(P, kind))
        return false;
    next(P);
    return true;
}

static void *fail_at(parser *P, ug_status code, kernel_pos pos, const char *fmt, const char *arg)
{
    if (!P->failed)
        kernel_error_at(P->err, code, &P->m->src, P->fname, pos, fmt, arg);
    P->failed = true;
    return NULL;
}

/* A description of a token for "unexpected ..." messages. */
static const char *describe(kernel_token *t, char *buf, size_t n)
{
    switch (t->kind) {
    case TK_NEWLINE: return "end of line";
    case TK_INDENT: return "indent";
    case TK_DEDENT: return "dedent";
    case TK_EOF: return "end of input";
    default:
        snprintf(buf, n, "'%.*s'", t->pos.len > 40 ? 40 : t->pos.len, t->text);
        return buf;
    }
}

static bool expect_close(parser *P, int kind, kernel_token *open);

static void *unexpected(parser *P)
{
    char buf[64];
    if ((at(P, TK_NEWLINE) || at(P, TK_EOF)) && P->nopen > 0) {
        kernel_token *o = P->open[(P->nopen < PARSE_MAX_NEST + 1 ? P->nopen : PARSE_MAX_NEST + 1) - 1];
        expect_close(P, o->kind == TK_LPAREN ? TK_RPAREN : TK_RBRACKET, o);
        return NULL;
    }
    return fail_at(P, UG_ESYNTAX, peek(P)->pos, "invalid syntax: unexpected %s", describe(peek(P), buf, sizeof buf));
}

static void *unsupported(parser *P, kernel_pos pos, const char *what)
{
    return fail_at(P, UG_ESYNTAX, pos, "%s not supported in kernels", what);
}

static bool expect(parser *P, int kind, const char *spelling)
{
    if (P->failed)
        return false;
    if (accept(P, kind))
        return true;
    char buf[64], msg[160];
    snprintf(msg, sizeof msg, "expected '%s', found %s", spelling, describe(peek(P), buf, sizeof buf));
    fail_at(P, UG_ESYNTAX, peek(P)->pos, "%s", msg);
    return false;
}

/* A closing bracket, naming its opener when it is missing (Lua's message). */
static bool expect_close(parser *P, int kind, kernel_token *open)
{
    if (P->failed)
        return false;
    if (accept(P, kind))
        return true;
    char msg[120];
    snprintf(msg, sizeof msg, "'%c' expected (to close '%c' at line %d)", kind == TK_RPAREN ? ')' : ']',
             kind == TK_RPAREN ? '(' : '[', open->pos.line);
    fail_at(P, UG_ESYNTAX, peek(P)->pos, "%s", msg);
    return false;
}

/* Brackets are remembered while open so that a line ending inside one is
 * reported as the missing closer, naming the opener. */
static kernel_token *open_bracket(parser *P)
{
    kernel_token *t = next(P);
    if (P->nopen < PARSE_MAX_NEST + 1)
        P->open[P->nopen] = t;
    P->nopen++;
    return t;
}

static bool close_bracket(parser *P, int kind, kernel_token *open)
{
    bool ok = expect_close(P, kind, open);
    P->nopen--;
    return ok;
}

static kernel_node *new_node(parser *P, int kind, kernel_token *t)
{
    kernel_node *n = kernel_arena_alloc(P->m->arena, sizeof *n);
    if (!n)
        return fail_at(P, UG_ENOMEM, t ? t->pos : peek(P)->pos, "%s", "out of memory");
    n->kind = (uint8_t)kind;
    if (t) /* else the caller sets the position */
        n->pos = t->pos;
    n->builtin = -1;
    n->ty.dt = UG_DTYPE_NONE;
    n->opty.dt = UG_DTYPE_NONE;
    return n;
}

static char *tok_str(parser *P, kernel_token *t) { return kernel_arena_strndup(P->m->arena, t->text, (size_t)t->pos.len); }

/* A growable array of node pointers (copied into the arena when done). */
typedef struct nodelist {
    kernel_node *buf[64];
    kernel_node **v;
    int n, cap;
} nodelist;

static bool list_push(parser *P, nodelist *l, kernel_node *x)
{
    if (!l->v) {
        l->v = l->buf;
        l->cap = 64;
    }
    if (l->n == l->cap) {
        kernel_node **v = kernel_arena_alloc(P->m->arena, (size_t)l->cap * 2 * sizeof *v);
        if (!v)
            return fail_at(P, UG_ENOMEM, peek(P)->pos, "%s", "out of memory") != NULL;
        memcpy(v, l->v, (size_t)l->n * sizeof *v);
        l->v = v;
        l->cap *= 2;
    }
    l->v[l->n++] = x;
    return true;
}

static void list_finish(parser *P, nodelist *l, kernel_node *into)
{
    into->nkids = l->n;
    into->kids = kernel_arena_alloc(P->m->arena, (size_t)(l->n ? l->n : 1) * sizeof *into->kids);
    if (into->kids && l->n)
        memcpy(into->kids, l->v, (size_t)l->n * sizeof *into->kids);
}

/* Python keywords that are plain names to our lexer. */
static const char *const py_keywords[] = {"import", "from", "class", "with", "try", "except", "finally", "raise",
                                          "assert", "del", "global", "nonlocal", "yield", "async", "await"};

static const char *py_keyword(kernel_token *t)
{
    if (t->kind != TK_NAME)
        return NULL;
    for (size_t k = 0; k < sizeof py_keywords / sizeof *py_keywords; k++)
        if (py_keywords[k][0] == t->text[0] && !strncmp(py_keywords[k], t->text, (size_t)t->pos.len) &&
            !py_keywords[k][t->pos.len])
            return py_keywords[k];
    return NULL;
}

static void *keyword_unsupported(parser *P, kernel_token *t)
{
    char what[64];
    snprintf(what, sizeof what, "'%s' is", py_keyword(t));
    return unsupported(P, t->pos, what);
}

/* ------------------------------------------------------------ expressions */

/* The characters between a string literal's quotes: [*b, *e). */
static void string_body(const kernel_token *t, const char **b, const char **e)
{
    const char *s = t->text;
    size_t n = (size_t)t->pos.len;
    while (n && *s != '\'' && *s != '"') { /* prefix */
        s++;
        n--;
    }
    size_t q = n >= 6 && s[1] == s[0] && s[2] == s[0] ? 3 : 1;
    *b = s + q;
    *e = n >= 2 * q ? s + n - q : *b;
}

/* The text of a string literal (prefixes and quotes dropped; the common
 * escapes \n \t \\ \' \" decoded, others kept as written). */
static char *string_value(parser *P, kernel_token *t)
{
    const char *b, *e;
    string_body(t, &b, &e);
    char *out = kernel_arena_alloc(P->m->arena, (size_t)(e - b) + 1), *o = out;
    for (const char *c = b; out && c < e; c++) {
        if (*c == '\\' && c + 1 < e && strchr("nt\\'\"", c[1])) {
            c++;
            *o++ = *c == 'n' ? '\n' : *c == 't' ? '\t' : *c;
        } else {
            *o++ = *c;
        }
    }
    return out;
}

static bool is_module_prefix(const char *s)
{
    return strcmp(s, "math") == 0 || strcmp(s, "np") == 0 || strcmp(s, "numpy") == 0;
}

/* atom = NAME | INT | FLOAT | "True" | "False" | "(" test ["," testlist] ")" */
static kernel_node *atom(parser *P)
{
    kernel_token *t = peek(P);
    kernel_node *n;
    switch (t->kind) {
    case TK_NAME:
        if (py_keyword(t))
            return keyword_unsupported(P, t);
        n = new_node(P, N_NAME, next(P));
        if (n && !(n->name = tok_str(P, t)))
            return fail_at(P, UG_ENOMEM, t->pos, "%s", "out of memory");
        return n;
    case TK_INT:
        n = new_node(P, N_INT, next(P));
        if (n) {
            n->ival = t->v.i;
            n->big = t->big;
        }
        return n;
    case TK_FLOAT:
    case TK_IMAG:
        n = new_node(P, t->kind == TK_IMAG ? N_IMAG : N_FLOAT, next(P));
        if (n)
            n->fval = t->v.f;
        return n;
    case TK_TRUE:
    case TK_FALSE:
        n = new_node(P, N_BOOL, next(P));
        if (n)
            n->ival = t->kind == TK_TRUE;
        return n;
    case TK_NONE: return unsupported(P, t->pos, "None is");
    case TK_STRING:
        n = new_node(P, N_STR, next(P));
        if (n && !(n->str = string_value(P, t)))
            return fail_at(P, UG_ENOMEM, t->pos, "%s", "out of memory");
        return n;
    case TK_LBRACKET: { /* [a, b, ...]: a list display, typed as a new 1-d array ("$list") */
        open_bracket(P);
        if (at(P, TK_RBRACKET))
            return unsupported(P, t->pos, "empty lists are");
        n = new_node(P, N_CALL, t);
        nodelist l = {0};
        kernel_node *e = expr_test(P);
        if (e && at(P, TK_FOR))
            return unsupported(P, peek(P)->pos, "list comprehensions are");
        list_push(P, &l, e);
        while (!P->failed && accept(P, TK_COMMA) && !at(P, TK_RBRACKET))
            list_push(P, &l, expr_test(P));
        if (!n || !close_bracket(P, TK_RBRACKET, t))
            return NULL;
        n->name = "$list";
        n->prefixed = 1;
        list_finish(P, &l, n);
        return n;
    }
    case TK_LAMBDA: return unsupported(P, t->pos, "a lambda inside a kernel is");
    case TK_LPAREN: {
        open_bracket(P);
        if (at(P, TK_RPAREN))
            return unsupported(P, t->pos, "empty tuples are");
        kernel_node *e = expr_test(P);
        if (e && at(P, TK_FOR))
            return unsupported(P, peek(P)->pos, "generator expressions are");
        if (e && at(P, TK_COMMA)) {
            kernel_node *tup = new_node(P, N_TUPLE, t);
            nodelist l = {0};
            list_push(P, &l, e);
            while (!P->failed && accept(P, TK_COMMA) && !at(P, TK_RPAREN))
                list_push(P, &l, expr_test(P));
            if (tup)
                list_finish(P, &l, tup);
            e = tup;
        }
        return close_bracket(P, TK_RPAREN, t) ? e : NULL;
    }
    default: return unexpected(P);
    }
}

/* call = "(" [arg ("," arg)* [","]] ")" ; arg = [NAME "="] test
 * (no *args, no comprehensions). A method call x.f(...) is N_CALL "f"
 * with the receiver x in .a. */
static kernel_node *call(parser *P, kernel_node *callee)
{
    if (callee->kind != N_NAME && callee->kind != N_ATTR)
        return unsupported(P, callee->pos, "calling this expression is");
    kernel_token *open = open_bracket(P);
    kernel_node *n = new_node(P, N_CALL, open);
    if (!n)
        return NULL;
    n->pos = callee->pos;
    n->name = callee->name;
    n->prefixed = callee->prefixed;
    if (callee->kind == N_ATTR)
        n->a = callee->a;
    nodelist l = {0};
    const char *kw[64];
    bool anykw = false;
    while (!P->failed && !at(P, TK_RPAREN)) {
        const char *name = NULL;
        if (at(P, TK_NAME) && peek_at(P, 1)->kind == TK_ASSIGN) {
            kernel_token *t = next(P);
            next(P);
            name = tok_str(P, t);
            anykw = true;
        } else if (anykw) {
            return fail_at(P, UG_ESYNTAX, peek(P)->pos, "%s", "positional argument follows keyword argument");
        }
        if (at(P, TK_STAR) || at(P, TK_DSTAR))
            return unsupported(P, peek(P)->pos, "argument unpacking is");
        if (l.n >= 64)
            return unsupported(P, peek(P)->pos, "more than 64 arguments are");
        kernel_node *arg = expr_test(P);
        if (arg && at(P, TK_FOR))
            return unsupported(P, peek(P)->pos, "generator expressions are");
        kw[l.n] = name;
        list_push(P, &l, arg);
        if (!accept(P, TK_COMMA))
            break;
    }
    if (!close_bracket(P, TK_RPAREN, open))
        return NULL;
    list_finish(P, &l, n);
    if (anykw && (n->kwnames = kernel_arena_alloc(P->m->arena, (size_t)l.n * sizeof *n->kwnames)))
        memcpy(n->kwnames, kw, (size_t)l.n * sizeof *kw);
    return n;
}

/* slice = [test] ":" [test] [":" [test]] */
static kernel_node *slice(parser *P, kernel_node *lo)
{
    kernel_node *n = new_node(P, N_SLICE, peek(P));
    if (!n)
        return NULL;
    next(P); /* ':' */
    n->a = lo;
    if (!at(P, TK_COLON) && !at(P, TK_COMMA) && !at(P, TK_RBRACKET))
        n->b = expr_test(P);
    if (accept(P, TK_COLON) && !at(P, TK_COMMA) && !at(P, TK_RBRACKET))
        n->cond = expr_test(P);
    return P->failed ? NULL : n;
}

/* subscript = "[" (item ("," item)* [","] | "(" ")") "]" ; item = slice | test */
static kernel_node *subscript(parser *P, kernel_node *base)
{
    kernel_token *open = open_bracket(P);
    kernel_node *n = new_node(P, N_INDEX, open);
    if (!n)
        return NULL;
    n->a = base;
    nodelist l = {0};
    if (at(P, TK_LPAREN) && peek_at(P, 1)->kind == TK_RPAREN && peek_at(P, 2)->kind == TK_RBRACKET) {
        next(P); /* a[()]: no index (a 0-d view) */
        next(P);
    } else {
        while (!P->failed && !at(P, TK_RBRACKET)) {
            kernel_node *item = at(P, TK_COLON) ? NULL : expr_test(P);
            if (!P->failed && at(P, TK_COLON))
                item = slice(P, item);
            list_push(P, &l, item);
            if (!accept(P, TK_COMMA))
                break;
        }
        if (!P->failed && l.n == 0)
            return unexpected(P);
    }
    if (!close_bracket(P, TK_RBRACKET, open))
        return NULL;
    list_finish(P, &l, n);
    return n;
}

/* np.linalg.NAME: the name is kept whole ("linalg.norm"), so inference can
 * name what it does not support. */
static kernel_node *linalg(parser *P, kernel_node *base)
{
    next(P);
    kernel_token *t = peek(P);
    if (!expect(P, TK_NAME, "attribute name"))
        return NULL;
    size_t n = (size_t)t->pos.len;
    char *name = kernel_arena_alloc(P->m->arena, n + 8);
    if (!name)
        return fail_at(P, UG_ENOMEM, t->pos, "%s", "out of memory");
    memcpy(name, "linalg.", 7);
    memcpy(name + 7, t->text, n);
    base->name = name;
    base->pos = t->pos;
    base->prefixed = 1;
    return base;
}

/* attribute = "." NAME ; on math/np/numpy the prefix is dropped */
static kernel_node *attribute(parser *P, kernel_node *base, bool *prefix_ok)
{
    next(P);
    kernel_token *t = peek(P);
    if (!expect(P, TK_NAME, "attribute name"))
        return NULL;
    if (*prefix_ok && base->kind == N_NAME && is_module_prefix(base->name)) {
        if (strcmp(base->name, "np") == 0 || strcmp(base->name, "numpy") == 0) {
            if (strcmp(tok_str(P, t), "linalg") == 0 && at(P, TK_DOT)) { /* np.linalg.norm → "linalg.norm" */
                *prefix_ok = false;
                return linalg(P, base);
            }
        }
        *prefix_ok = false;
        base->name = tok_str(P, t);
        base->pos = t->pos;
        base->prefixed = 1;
        return base;
    }
    kernel_node *n = new_node(P, N_ATTR, t);
    if (n) {
        n->a = base;
        n->name = tok_str(P, t);
    }
    return n;
}

/* postfix = atom (call | subscript | attribute)* */
static kernel_node *postfix(parser *P)
{
    kernel_node *n = atom(P);
    bool prefix_ok = n && n->kind == N_NAME;
    while (n && !P->failed) {
        if (at(P, TK_LPAREN))
            n = call(P, n);
        else if (at(P, TK_LBRACKET))
            n = subscript(P, n);
        else if (at(P, TK_DOT))
            n = attribute(P, n, &prefix_ok);
        else
            break;
        if (n && n->kind != N_NAME)
            prefix_ok = false;
    }
    return P->failed ? NULL : n;
}

static kernel_node *binary(parser *P, kernel_token *op, kernel_node *a, kernel_node *b)
{
    if (!a || !b)
        return NULL;
    kernel_node *n = new_node(P, N_BINARY, op);
    if (n) {
        n->op = op->kind;
        n->a = a;
        n->b = b;
    }
    return n;
}

static kernel_node *factor(parser *P);
static kernel_node *not_test(parser *P);

/* power = postfix ["**" factor]   (right-assoc; -x**2 is -(x**2)) */
static kernel_node *power(parser *P)
{
    kernel_node *n = postfix(P);
    if (n && at(P, TK_DSTAR)) {
        kernel_token *op = next(P);
        return binary(P, op, n, factor(P));
    }
    return n;
}

/* factor = ("+" | "-" | "~") factor | power */
static kernel_node *factor_body(parser *P)
{
    if (at(P, TK_PLUS) || at(P, TK_MINUS) || at(P, TK_TILDE)) {
        kernel_token *op = next(P);
        kernel_node *a = factor(P);
        kernel_node *n = a ? new_node(P, N_UNARY, op) : NULL;
        if (n) {
            n->op = op->kind;
            n->a = a;
        }
        return n;
    }
    return power(P);
}

/* Depth guard around factor_body (see PARSE_MAX_NEST). */
static kernel_node *factor(parser *P)
{
    if (P->failed)
        return NULL;
    if (!(at(P, TK_MINUS) || at(P, TK_PLUS) || at(P, TK_TILDE))) /* only a prefix operator recurses */
        return factor_body(P);
    if (P->depth >= PARSE_MAX_NEST)
        return fail_at(P, UG_ESYNTAX, peek(P)->pos, "expression nested too deeply (more than %s levels)", "100");
    P->depth++;
    kernel_node *n = factor_body(P);
    P->depth--;
    return n;
}

/* Parse a left-associative level: sub (op sub)* for ops in `kinds`. */
static kernel_node *left_assoc(parser *P, kernel_node *(*sub)(parser *), const int *kinds)
{
    kernel_node *n = sub(P);
    for (;;) {
        int k = 0;
        while (kinds[k] && !at(P, kinds[k]))
            k++;
        if (!n || !kinds[k])
            return n;
        kernel_token *op = next(P);
        if (op->kind == TK_AT) { /* a @ b is np.dot(a, b) (1-d and 2-d operands) */
            kernel_node *c = new_node(P, N_CALL, op), *rhs = sub(P);
            nodelist l = {0};
            list_push(P, &l, n);
            list_push(P, &l, rhs);
            if (!c || !rhs)
                return NULL;
            c->name = "dot";
            c->prefixed = 1;
            list_finish(P, &l, c);
            n = c;
            continue;
        }
        n = binary(P, op, n, sub(P));
    }
}

/* term = factor (("*" | "/" | "//" | "%" | "@") factor)* */
static kernel_node *term(parser *P)
{
    static const int k[] = {TK_STAR, TK_SLASH, TK_DSLASH, TK_PERCENT, TK_AT, 0};
    return left_assoc(P, factor, k);
}

/* arith = term (("+" | "-") term)* */
static kernel_node *arith(parser *P)
{
    static const int k[] = {TK_PLUS, TK_MINUS, 0};
    return left_assoc(P, term, k);
}

/* shift = arith (("<<" | ">>") arith)* */
static kernel_node *shift(parser *P)
{
    static const int k[] = {TK_LSHIFT, TK_RSHIFT, 0};
    return left_assoc(P, arith, k);
}

/* bitand = shift ("&" shift)* */
static kernel_node *bitand(parser *P)
{
    static const int k[] = {TK_AMP, 0};
    return left_assoc(P, shift, k);
}

/* bitxor = bitand ("^" bitand)* */
static kernel_node *bitxor(parser *P)
{
    static const int k[] = {TK_CARET, 0};
    return left_assoc(P, bitand, k);
}

/* bitor = bitxor ("|" bitxor)* */
static kernel_node *bitor(parser *P)
{
    static const int k[] = {TK_PIPE, 0};
    return left_assoc(P, bitxor, k);
}

static bool is_compare_op(int k) { return k >= TK_LT && k <= TK_NE; }

/* comparison = bitor (("<" | ">" | "<=" | ">=" | "==" | "!=") bitor)*   (chained) */
static kernel_node *comparison(parser *P)
{
    kernel_node *first = bitor(P);
    if (!first)
        return NULL;
    if (at(P, TK_IS) || at(P, TK_IN) || (at(P, TK_NOT) && peek_at(P, 1)->kind == TK_IN))
        return unsupported(P, peek(P)->pos, at(P, TK_IS) ? "'is' is" : "'in' is");
    if (!is_compare_op(peek(P)->kind))
        return first;
    kernel_node *n = new_node(P, N_COMPARE, peek(P));
    nodelist l = {0};
    uint16_t ops[64];
    list_push(P, &l, first);
    while (n && !P->failed && is_compare_op(peek(P)->kind)) {
        if (l.n > 63)
            return unsupported(P, peek(P)->pos, "more than 64 chained comparisons are");
        ops[l.n - 1] = next(P)->kind;
        list_push(P, &l, bitor(P));
        if (at(P, TK_IS) || at(P, TK_IN))
            return unsupported(P, peek(P)->pos, at(P, TK_IS) ? "'is' is" : "'in' is");
    }
    if (P->failed || !n)
        return NULL;
    list_finish(P, &l, n);
    n->cmpops = kernel_arena_alloc(P->m->arena, (size_t)(l.n - 1) * sizeof *n->cmpops);
    if (n->cmpops)
        memcpy(n->cmpops, ops, (size_t)(l.n - 1) * sizeof *ops);
    n->op = ops[0];
    return n;
}

/* not_test = "not" not_test | comparison */
static kernel_node *not_test_body(parser *P)
{
    if (!at(P, TK_NOT))
        return comparison(P);
    kernel_token *op = next(P);
    kernel_node *a = not_test(P);
    kernel_node *n = a ? new_node(P, N_UNARY, op) : NULL;
    if (n) {
        n->op = TK_NOT;
        n->a = a;
    }
    return n;
}

/* Depth guard around not_test_body (see PARSE_MAX_NEST). */
static kernel_node *not_test(parser *P)
{
    if (P->failed)
        return NULL;
    if (!(at(P, TK_NOT))) /* only a prefix operator recurses */
        return not_test_body(P);
    if (P->depth >= PARSE_MAX_NEST)
        return fail_at(P, UG_ESYNTAX, peek(P)->pos, "expression nested too deeply (more than %s levels)", "100");
    P->depth++;
    kernel_node *n = not_test_body(P);
    P->depth--;
    return n;
}

static kernel_node *boolop(parser *P, kernel_node *(*sub)(parser *), int kind)
{
    kernel_node *n = sub(P);
    while (n && at(P, kind)) {
        kernel_token *op = next(P);
        kernel_node *b = sub(P);
        kernel_node *m = b ? new_node(P, N_BOOLOP, op) : NULL;
        if (!m)
            return NULL;
        m->op = (uint16_t)kind;
        m->a = n;
        m->b = b;
        n = m;
    }
    return n;
}

/* and_test = not_test ("and" not_test)* */
static kernel_node *and_test(parser *P) { return boolop(P, not_test, TK_AND); }

/* or_test = and_test ("or" and_test)* */
static kernel_node *or_test(parser *P) { return boolop(P, and_test, TK_OR); }

/* test = or_test ["if" or_test "else" test] */
static kernel_node *expr_test_body(parser *P)
{
    if (P->failed)
        return NULL;
    if (at(P, TK_LAMBDA))
        return unsupported(P, peek(P)->pos, "a lambda inside a kernel is");
    kernel_node *n = or_test(P);
    if (!n || !at(P, TK_IF))
        return n;
    kernel_token *kw = next(P);
    kernel_node *c = or_test(P);
    if (!c || !expect(P, TK_ELSE, "else"))
        return NULL;
    kernel_node *e = expr_test(P);
    kernel_node *x = e ? new_node(P, N_IFEXP, kw) : NULL;
    if (x) {
        x->a = n;
        x->cond = c;
        x->b = e;
    }
    return x;
}

/* Depth guard around expr_test_body (see PARSE_MAX_NEST). */
static kernel_node *expr_test(parser *P)
{
    if (P->failed)
        return NULL;
    if (P->depth >= PARSE_MAX_NEST)
        return fail_at(P, UG_ESYNTAX, peek(P)->pos, "expression nested too deeply (more than %s levels)", "100");
    P->depth++;
    kernel_node *n = expr_test_body(P);
    P->depth--;
    return n;
}

/* testlist = test ("," test)* [","]   (a tuple when there is a comma) */
static kernel_node *testlist(parser *P)
{
    kernel_token *start = peek(P);
    kernel_node *e = expr_test(P);
    if (!e || !at(P, TK_COMMA))
        return e;
    kernel_node *tup = new_node(P, N_TUPLE, start);
    nodelist l = {0};
    list_push(P, &l, e);
    while (!P->failed && accept(P, TK_COMMA)) {
        if (at(P, TK_NEWLINE) || at(P, TK_SEMI) || at(P, TK_ASSIGN) || at(P, TK_EOF))
            break;
        list_push(P, &l, expr_test(P));
    }
    if (P->failed || !tup)
        return NULL;
    list_finish(P, &l, tup);
    return tup;
}

/* ------------------------------------------------------------- statements */

static int aug_op(int kind)
{
    switch (kind) {
    case TK_PLUSEQ: return TK_PLUS;
    case TK_MINUSEQ: return TK_MINUS;
    case TK_STAREQ: return TK_STAR;
    case TK_SLASHEQ: return TK_SLASH;
    case TK_DSLASHEQ: return TK_DSLASH;
    case TK_PERCENTEQ: return TK_PERCENT;
    case TK_DSTAREQ: return TK_DSTAR;
    case TK_AMPEQ: return TK_AMP;
    case TK_PIPEEQ: return TK_PIPE;
    case TK_CARETEQ: return TK_CARET;
    case TK_LSHIFTEQ: return TK_LSHIFT;
    case TK_RSHIFTEQ: return TK_RSHIFT;
    default: return 0;
    }
}

static kernel_node *check_target(parser *P, kernel_node *t, bool tuple_ok)
{
    if (!t)
        return NULL;
    if (t->kind == N_NAME || (t->kind == N_INDEX && t->a && t->a->kind == N_NAME))
        return t;
    if (t->kind == N_TUPLE && tuple_ok) {
        for (int k = 0; k < t->nkids; k++)
            if (t->kids[k]->kind != N_NAME)
                return unsupported(P, t->kids[k]->pos, "unpacking into anything but plain names is");
        return t;
    }
    return fail_at(P, UG_ESYNTAX, t->pos, "%s", "cannot assign to this expression");
}

static kernel_node *assign_node(parser *P, kernel_node *at, kernel_node *target, kernel_node *value)
{
    kernel_node *n = new_node(P, N_ASSIGN, NULL);
    if (!n)
        return NULL;
    n->pos = at->pos;
    n->b = value;
    nodelist l = {0};
    list_push(P, &l, target);
    list_finish(P, &l, n);
    return n;
}

/* t1 = t2 = ... = value: Python evaluates the value once and assigns it to
 * each target from left to right. Becomes `$cN = value; t1 = $cN; ...`
 * (a hidden local: `$` is in no Python name), a block of assignments. */
static kernel_node *chained(parser *P, kernel_node *first, kernel_node *lhs)
{
    nodelist targets = {0};
    list_push(P, &targets, lhs);
    kernel_node *value = first->b;
    while (!P->failed && accept(P, TK_ASSIGN)) {
        if (!check_target(P, value, true))
            return NULL;
        list_push(P, &targets, value);
        value = testlist(P);
    }
    if (P->failed || !value)
        return NULL;
    char name[32];
    snprintf(name, sizeof name, "$c%d", ++P->hidden);
    kernel_node *tmp = new_node(P, N_NAME, NULL);
    kernel_node *b = new_node(P, N_BLOCK, NULL);
    if (!tmp || !b || !(tmp->name = kernel_arena_strndup(P->m->arena, name, strlen(name))))
        return NULL;
    tmp->pos = b->pos = first->pos;
    nodelist l = {0};
    list_push(P, &l, assign_node(P, first, tmp, value));
    for (int k = 0; k < targets.n && !P->failed; k++) {
        kernel_node *r = new_node(P, N_NAME, NULL);
        if (!r)
            return NULL;
        *r = *tmp;
        list_push(P, &l, assign_node(P, first, targets.v[k], r));
    }
    if (P->failed)
        return NULL;
    list_finish(P, &l, b);
    b->ival = 1; /* a statement block spliced into its parent by simple_stmt */
    return b;
}

/* expr_stmt = testlist (augop test | "=" testlist ("=" testlist)* | ":" test ["=" test])? */
static kernel_node *expr_stmt(parser *P)
{
    kernel_token *start = peek(P);
    kernel_node *lhs = testlist(P);
    if (!lhs)
        return NULL;
    kernel_token *op = peek(P);
    if (aug_op(op->kind)) {
        next(P);
        kernel_node *n = new_node(P, N_AUGASSIGN, op);
        if (!check_target(P, lhs, false) || !n)
            return NULL;
        n->op = (uint16_t)aug_op(op->kind);
        n->b = expr_test(P);
        nodelist l = {0};
        list_push(P, &l, lhs);
        list_finish(P, &l, n);
        return n->b ? n : NULL;
    }
    if (op->kind == TK_COLON) { /* annotated assignment: the annotation is ignored */
        next(P);
        if (!expr_test(P))
            return NULL;
        if (!at(P, TK_ASSIGN))
            return unsupported(P, op->pos, "a bare annotation is");
        op = peek(P);
    }
    if (op->kind != TK_ASSIGN) {
        kernel_node *n = new_node(P, N_EXPRSTMT, start);
        if (n)
            n->a = lhs;
        return n;
    }
    next(P);
    kernel_node *n = new_node(P, N_ASSIGN, op);
    if (!check_target(P, lhs, true) || !n)
        return NULL;
    n->b = testlist(P);
    if (n->b && at(P, TK_ASSIGN))
        return chained(P, n, lhs);
    nodelist l = {0};
    list_push(P, &l, lhs);
    list_finish(P, &l, n);
    return n->b ? n : NULL;
}

/* small_stmt = "pass" | "break" | "continue" | "return" [testlist] | expr_stmt */
/* raise_stmt = "raise" [NAME ["(" [STRING] ")"]] */
static kernel_node *raise_stmt(parser *P)
{
    kernel_node *n = new_node(P, N_RAISE, next(P));
    if (!n)
        return NULL;
    if (at(P, TK_NEWLINE) || at(P, TK_SEMI))
        return unsupported(P, n->pos, "a bare 'raise' (re-raising) is");
    kernel_node *e = postfix(P);
    if (!e)
        return NULL;
    if (e->kind == N_NAME) {
        n->name = e->name;
    } else if (e->kind == N_CALL && !e->a && e->nkids <= 1 && !e->kwnames) {
        n->name = e->name;
        if (e->nkids == 1) {
            if (e->kids[0]->kind != N_STR)
                return unsupported(P, e->kids[0]->pos, "an exception message other than a string literal is");
            n->str = e->kids[0]->str;
        }
    } else {
        return unsupported(P, e->pos, "raising this expression is");
    }
    n->pos = e->pos;
    if (at(P, TK_NAME) && strcmp(tok_str(P, peek(P)), "from") == 0)
        return unsupported(P, peek(P)->pos, "'raise ... from' is");
    return n;
}

/* assert_stmt = "assert" test ["," STRING] */
static kernel_node *assert_stmt(parser *P)
{
    kernel_node *n = new_node(P, N_ASSERT, next(P));
    if (!n || !(n->cond = expr_test(P)))
        return NULL;
    if (accept(P, TK_COMMA)) {
        kernel_node *m = expr_test(P);
        if (!m)
            return NULL;
        if (m->kind != N_STR)
            return unsupported(P, m->pos, "an assert message other than a string literal is");
        n->str = m->str;
    }
    return n;
}

static kernel_node *small_stmt(parser *P)
{
    kernel_token *t = peek(P);
    if (py_keyword(t) && strcmp(py_keyword(t), "raise") == 0)
        return raise_stmt(P);
    if (py_keyword(t) && strcmp(py_keyword(t), "assert") == 0)
        return assert_stmt(P);
    if (py_keyword(t))
        return keyword_unsupported(P, t);
    switch (t->kind) {
    case TK_PASS: return new_node(P, N_PASS, next(P));
    case TK_BREAK:
    case TK_CONTINUE:
        if (P->loops == 0)
            return fail_at(P, UG_ESYNTAX, t->pos, "'%s' outside loop", t->kind == TK_BREAK ? "break" : "continue");
        return new_node(P, t->kind == TK_BREAK ? N_BREAK : N_CONTINUE, next(P));
    case TK_RETURN: {
        kernel_node *n = new_node(P, N_RETURN, next(P));
        if (n && !at(P, TK_NEWLINE) && !at(P, TK_SEMI))
            n->a = testlist(P);
        return P->failed ? NULL : n;
    }
    default: return expr_stmt(P);
    }
}

/* A statement that is only a string: a docstring or a comment-like string. */
static bool at_docstring(parser *P)
{
    int k = peek_at(P, 1)->kind;
    return at(P, TK_STRING) && (k == TK_NEWLINE || k == TK_SEMI);
}

/* simple_stmt = small_stmt (";" small_stmt)* [";"] NEWLINE
 * Appends the statements to l (docstrings dropped). */
static void simple_stmt(parser *P, nodelist *l)
{
    do {
        if (at(P, TK_NEWLINE))
            break;
        if (at_docstring(P)) {
            next(P);
            continue;
        }
        kernel_node *s = small_stmt(P);
        for (int k = 0; s && s->kind == N_BLOCK && k < s->nkids; k++)
            list_push(P, l, s->kids[k]);
        if (s && s->kind != N_BLOCK)
            list_push(P, l, s);
    } while (!P->failed && accept(P, TK_SEMI));
    if (!P->failed && !at(P, TK_NEWLINE))
        unexpected(P);
    accept(P, TK_NEWLINE);
}

static void statement(parser *P, nodelist *l);

/* suite = simple_stmt | NEWLINE INDENT statement+ DEDENT */
static kernel_node *suite(parser *P)
{
    kernel_node *b = new_node(P, N_BLOCK, peek(P));
    nodelist l = {0};
    if (!b)
        return NULL;
    if (!accept(P, TK_NEWLINE)) {
        simple_stmt(P, &l);
    } else {
        if (!at(P, TK_INDENT))
            return fail_at(P, UG_ESYNTAX, peek(P)->pos, "%s", "expected an indented block");
        next(P);
        while (!P->failed && !at(P, TK_DEDENT) && !at(P, TK_EOF))
            statement(P, &l);
        accept(P, TK_DEDENT);
    }
    if (P->failed)
        return NULL;
    list_finish(P, &l, b);
    return b;
}

static kernel_node *loop_suite(parser *P)
{
    P->loops++;
    kernel_node *b = suite(P);
    P->loops--;
    if (b && at(P, TK_ELSE))
        return unsupported(P, peek(P)->pos, "'else' after a loop is");
    return b;
}

/* if_stmt = ("if" | "elif") test ":" suite ["elif" ... | "else" ":" suite] */
static kernel_node *if_stmt(parser *P)
{
    kernel_node *n = new_node(P, N_IF, next(P));
    if (!n || !(n->cond = expr_test(P)) || !expect(P, TK_COLON, ":") || !(n->body = suite(P)))
        return NULL;
    if (at(P, TK_ELIF)) {
        if (P->elifs >= PARSE_MAX_ELIF)
            return fail_at(P, UG_EUNSUPPORTED, peek(P)->pos, "more than %s 'elif' branches in one 'if' are not supported in kernels", "500");
        P->elifs++;
        kernel_node *inner = if_stmt(P);
        P->elifs--;
        kernel_node *b = inner ? new_node(P, N_BLOCK, peek(P)) : NULL;
        if (!b)
            return NULL;
        b->pos = inner->pos;
        nodelist l = {0};
        list_push(P, &l, inner);
        list_finish(P, &l, b);
        n->orelse = b;
    } else if (accept(P, TK_ELSE)) {
        if (!expect(P, TK_COLON, ":") || !(n->orelse = suite(P)))
            return NULL;
    }
    return n;
}

static bool is_call(const kernel_node *n, const char *name)
{
    return n->kind == N_CALL && !n->a && !n->kwnames && strcmp(n->name, name) == 0;
}

/* The iterable of a for loop into n: range(...), reversed(range(...)),
 * enumerate(a[, start]), zip(a, b, ...), np.ndindex(...), or an array. */
static bool for_iterable(parser *P, kernel_node *n, kernel_node *it, nodelist *kids)
{
    bool rev = is_call(it, "reversed") && it->nkids == 1;
    kernel_node *r = rev ? it->kids[0] : it;
    if (is_call(r, "range") || is_call(r, "prange")) {
        if (r->nkids < 1 || r->nkids > 3)
            return fail_at(P, UG_ETYPE, r->pos, "%s", "range() takes 1 to 3 arguments") != NULL;
        n->nrange = r->nkids;
        n->ival = rev;
        for (int k = 0; k < r->nkids; k++)
            n->range[k] = r->kids[k];
        return true;
    }
    if (rev)
        return unsupported(P, it->pos, "reversed() of anything but range() is") != NULL;
    if (is_call(it, "enumerate")) {
        if (it->nkids < 1 || it->nkids > 2)
            return fail_at(P, UG_ETYPE, it->pos, "%s", "enumerate() takes 1 or 2 arguments") != NULL;
        n->iter = FOR_ENUMERATE;
        n->a = it->kids[0];
        n->b = it->nkids == 2 ? it->kids[1] : NULL;
        return true;
    }
    if (is_call(it, "zip") || is_call(it, "ndindex")) {
        if (it->nkids < 1)
            return fail_at(P, UG_ETYPE, it->pos, "%s() needs at least one argument", it->name) != NULL;
        n->iter = is_call(it, "zip") ? FOR_ZIP : FOR_NDINDEX;
        for (int k = 0; k < it->nkids; k++)
            list_push(P, kids, it->kids[k]);
        return true;
    }
    n->iter = FOR_ARRAY;
    n->a = it;
    return true;
}

/* for_stmt = "for" target ("," target)* "in" iterable ":" suite
 * (targets are plain names; see for_iterable for the iterables) */
static kernel_node *for_stmt(parser *P)
{
    kernel_node *n = new_node(P, N_FOR, next(P));
    if (!n)
        return NULL;
    kernel_token *start = peek(P);
    kernel_node *var = postfix(P);
    if (var && at(P, TK_COMMA)) {
        kernel_node *tup = new_node(P, N_TUPLE, start);
        nodelist tl = {0};
        list_push(P, &tl, var);
        while (!P->failed && accept(P, TK_COMMA) && !at(P, TK_IN))
            list_push(P, &tl, postfix(P));
        if (P->failed || !tup)
            return NULL;
        list_finish(P, &tl, tup);
        var = tup;
    }
    if (!var)
        return NULL;
    for (int k = 0; k < (var->kind == N_TUPLE ? var->nkids : 1); k++) {
        kernel_node *v = var->kind == N_TUPLE ? var->kids[k] : var;
        if (v->kind != N_NAME)
            return unsupported(P, v->pos, "a loop variable other than a plain name is");
    }
    if (!expect(P, TK_IN, "in"))
        return NULL;
    kernel_node *it = postfix(P);
    if (!it)
        return NULL;
    nodelist l = {0};
    list_push(P, &l, var);
    if (!for_iterable(P, n, it, &l))
        return NULL;
    list_finish(P, &l, n);
    if (!expect(P, TK_COLON, ":") || !(n->body = loop_suite(P)))
        return NULL;
    return n;
}

/* while_stmt = "while" test ":" suite */
static kernel_node *while_stmt(parser *P)
{
    kernel_node *n = new_node(P, N_WHILE, next(P));
    if (!n || !(n->cond = expr_test(P)) || !expect(P, TK_COLON, ":") || !(n->body = loop_suite(P)))
        return NULL;
    return n;
}

/* statement = if_stmt | for_stmt | while_stmt | simple_stmt */
static void statement(parser *P, nodelist *l)
{
    kernel_node *s = NULL;
    switch (peek(P)->kind) {
    case TK_IF: s = if_stmt(P); break;
    case TK_FOR: s = for_stmt(P); break;
    case TK_WHILE: s = while_stmt(P); break;
    case TK_DEF: unsupported(P, peek(P)->pos, "nested functions are"); return;
    case TK_AT: unsupported(P, peek(P)->pos, "decorators inside a kernel are"); return;
    case TK_ELSE:
    case TK_ELIF: unexpected(P); return;
    case TK_INDENT: fail_at(P, UG_ESYNTAX, peek(P)->pos, "%s", "unexpected indent"); return;
    default: simple_stmt(P, l); return;
    }
    if (s)
        list_push(P, l, s);
}

/* ------------------------------------------------------------ functions */

static kernel_func *new_func(parser *P, kernel_token *kw)
{
    kernel_func *f = kernel_arena_alloc(P->m->arena, sizeof *f);
    if (!f)
        return fail_at(P, UG_ENOMEM, kw->pos, "%s", "out of memory");
    f->pos = kw->pos;
    f->src_begin = kw->pos.offset;
    f->ret.dt = UG_DTYPE_NONE;
    return f;
}

/* annotation = any tokens up to a ',' ')' ':' '=' outside brackets (ignored:
 * the signature gives the types) */
static void skip_annotation(parser *P)
{
    int depth = 0;
    while (!at(P, TK_EOF) && !at(P, TK_NEWLINE)) {
        int k = peek(P)->kind;
        if (depth == 0 && (k == TK_COMMA || k == TK_RPAREN || k == TK_COLON || k == TK_ASSIGN))
            return;
        depth += (k == TK_LPAREN || k == TK_LBRACKET) - (k == TK_RPAREN || k == TK_RBRACKET);
        next(P);
    }
}

/* params = param ("," param)* [","] ; param = NAME [":" test] ; ends at `end` */
static bool params(parser *P, kernel_func *f, int end)
{
    kernel_var vars[UG_MAXARGS * 4];
    int n = 0;
    while (!P->failed && !at(P, end)) {
        kernel_token *t = peek(P);
        if (at(P, TK_STAR) || at(P, TK_DSTAR))
            return unsupported(P, t->pos, "*args and **kwargs are") != NULL;
        if (!expect(P, TK_NAME, "parameter name"))
            return false;
        for (int k = 0; k < n; k++)
            if (strlen(vars[k].name) == (size_t)t->pos.len && memcmp(vars[k].name, t->text, (size_t)t->pos.len) == 0)
                return fail_at(P, UG_ESYNTAX, t->pos, "%s", "duplicate parameter name") != NULL;
        if (n == (int)(sizeof vars / sizeof *vars))
            return unsupported(P, t->pos, "this many parameters are") != NULL;
        vars[n++] = (kernel_var){.name = tok_str(P, t), .pos = t->pos, .ty.dt = UG_DTYPE_NONE};
        if (end == TK_RPAREN && accept(P, TK_COLON))
            skip_annotation(P);
        if (at(P, TK_ASSIGN))
            return unsupported(P, peek(P)->pos, "default parameter values are") != NULL;
        if (!accept(P, TK_COMMA))
            break;
    }
    if (P->failed)
        return false;
    f->nparams = n;
    f->params = kernel_arena_alloc(P->m->arena, (size_t)(n ? n : 1) * sizeof *f->params);
    if (f->params)
        memcpy(f->params, vars, (size_t)n * sizeof *vars);
    return true;
}

/* The docstring: the first statement of a def's body, if it is a string. */
static void take_docstring(parser *P, kernel_func *f)
{
    int k = P->i;
    if (P->toks[k].kind == TK_NEWLINE && P->toks[k + 1].kind == TK_INDENT)
        k += 2;
    kernel_token *t = &P->toks[k];
    if (t->kind != TK_STRING)
        return;
    const char *b, *e;
    string_body(t, &b, &e);
    f->doc = kernel_arena_strndup(P->m->arena, b, (size_t)(e - b));
}

/* funcdef = "def" NAME "(" params ")" ["->" test] ":" suite */
static kernel_func *funcdef(parser *P)
{
    kernel_func *f = new_func(P, next(P));
    kernel_token *name = peek(P);
    if (!f || !expect(P, TK_NAME, "function name"))
        return NULL;
    f->name = P->fname = tok_str(P, name);
    kernel_token *open = peek(P);
    if (!expect(P, TK_LPAREN, "(") || !params(P, f, TK_RPAREN) || !expect_close(P, TK_RPAREN, open))
        return NULL;
    if (accept(P, TK_ARROW))
        skip_annotation(P);
    if (!expect(P, TK_COLON, ":"))
        return NULL;
    take_docstring(P, f);
    f->body = suite(P);
    f->src_end = P->last_end;
    return f->body ? f : NULL;
}

/* lambda = "lambda" params ":" test */
static kernel_func *lambda(parser *P, const char *name)
{
    kernel_func *f = new_func(P, next(P));
    P->fname = name ? name : "<lambda>"; /* before the parameters, for their errors */
    if (!f || !params(P, f, TK_COLON) || !expect(P, TK_COLON, ":"))
        return NULL;
    f->name = P->fname;
    f->is_lambda = true;
    kernel_token *start = peek(P);
    kernel_node *e = expr_test(P);
    kernel_node *ret = e ? new_node(P, N_RETURN, start) : NULL;
    f->body = ret ? new_node(P, N_BLOCK, start) : NULL;
    if (!f->body)
        return NULL;
    ret->a = e;
    nodelist l = {0};
    list_push(P, &l, ret);
    list_finish(P, &l, f->body);
    f->src_end = P->last_end;
    return f;
}

static bool add_func(parser *P, kernel_func *f)
{
    kernel_module *m = P->m;
    if (m->nfuncs == P->funcs_cap) {
        int cap = P->funcs_cap ? P->funcs_cap * 2 : 8;
        kernel_func **v = kernel_arena_alloc(m->arena, (size_t)cap * sizeof *v);
        if (!v)
            return fail_at(P, UG_ENOMEM, f->pos, "%s", "out of memory") != NULL;
        if (m->nfuncs)
            memcpy(v, m->funcs, (size_t)m->nfuncs * sizeof *v);
        m->funcs = v;
        P->funcs_cap = cap;
    }
    m->funcs[m->nfuncs++] = f;
    return true;
}

/* decorator = "@" ... NEWLINE   (skipped: the caller already chose how to compile) */
static void skip_line(parser *P)
{
    while (!at(P, TK_NEWLINE) && !at(P, TK_EOF))
        next(P);
    accept(P, TK_NEWLINE);
}

/* const = NAME "=" testlist NEWLINE   (a module-level constant; inference
 * checks that the value is a constant expression where it is used) */
static void module_const(parser *P)
{
    kernel_token *t = next(P);
    next(P);
    kernel_node *v = testlist(P);
    if (!v)
        return;
    if (!at(P, TK_EOF) && !expect(P, TK_NEWLINE, "end of line"))
        return;
    kernel_module *m = P->m;
    kernel_const *c = kernel_arena_alloc(m->arena, (size_t)(m->nconsts + 1) * sizeof *c);
    if (!c) {
        fail_at(P, UG_ENOMEM, t->pos, "%s", "out of memory");
        return;
    }
    if (m->nconsts)
        memcpy(c, m->consts, (size_t)m->nconsts * sizeof *c);
    c[m->nconsts++] = (kernel_const){.name = tok_str(P, t), .value = v};
    m->consts = c;
}

/* toplevel = funcdef | [NAME "="] lambda NEWLINE | decorator | docstring | import line */
static void toplevel(parser *P)
{
    kernel_token *t = peek(P);
    kernel_func *f = NULL;
    if (t->kind == TK_DEF) {
        f = funcdef(P);
    } else if (t->kind == TK_LAMBDA) {
        f = lambda(P, NULL);
        if (f && !at(P, TK_EOF))
            expect(P, TK_NEWLINE, "end of line");
    } else if (t->kind == TK_NAME && peek_at(P, 1)->kind == TK_ASSIGN && peek_at(P, 2)->kind == TK_LAMBDA) {
        next(P);
        next(P);
        f = lambda(P, tok_str(P, t));
        if (f && !at(P, TK_EOF))
            expect(P, TK_NEWLINE, "end of line");
    } else if (t->kind == TK_AT || at_docstring(P) ||
               (py_keyword(t) && (strcmp(py_keyword(t), "import") == 0 || strcmp(py_keyword(t), "from") == 0))) {
        skip_line(P); /* module docstrings and imports of math/numpy are harmless */
    } else if (t->kind == TK_NEWLINE) {
        next(P);
    } else if (t->kind == TK_NAME && !py_keyword(t) && peek_at(P, 1)->kind == TK_ASSIGN) {
        module_const(P);
    } else {
        fail_at(P, UG_ESYNTAX, t->pos, "%s", "expected 'def' or 'lambda' at the top level of a kernel source");
    }
    if (f)
        add_func(P, f);
}

/* Push the children of n (at depth d) on the explicit stack of check_height. */
static bool push_kids(const kernel_node *n, int d, const kernel_node ***st, int **dep, int *len, int *cap)
{
    const kernel_node *k[8] = {n->a, n->b, n->cond, n->body, n->orelse, n->range[0], n->range[1], n->range[2]};
    int extra = n->nkids + 8;
    if (*len + extra > *cap) {
        int c = (*len + extra) * 2;
        const kernel_node **s2 = realloc(*st, sizeof **st * (size_t)c);
        if (s2)
            *st = s2;
        int *d2 = realloc(*dep, sizeof **dep * (size_t)c);
        if (d2)
            *dep = d2;
        if (!s2 || !d2)
            return false;
        *cap = c;
    }
    for (int i = 0; i < 8 + n->nkids; i++) {
        const kernel_node *c = i < 8 ? k[i] : n->kids[i - 8];
        if (c) {
            (*st)[*len] = c;
            (*dep)[(*len)++] = d + 1;
        }
    }
    return true;
}

/* Bound the depth of f's tree (see PARSE_MAX_HEIGHT), without recursion. */
static void check_height(parser *P, const kernel_func *f)
{
    const kernel_node **st = NULL;
    int *dep = NULL, len = 0, cap = 0;
    if (!f->body || !push_kids(&(kernel_node){.body = f->body}, 0, &st, &dep, &len, &cap))
        goto done;
    while (len > 0) {
        const kernel_node *n = st[--len];
        int d = dep[len];
        if (d > PARSE_MAX_HEIGHT) {
            P->fname = f->name;
            fail_at(P, UG_ESYNTAX, n->pos,
                    "kernel nested too deeply here: more than %s levels of operators and blocks "
                    "(each operator of a chain such as a + b + c is one level)", "2000");
            goto done;
        }
        if (!push_kids(n, d, &st, &dep, &len, &cap)) {
            fail_at(P, UG_ENOMEM, f->pos, "%s", "out of memory checking the kernel's nesting");
            goto done;
        }
    }
done:
    free(st);
    free(dep);
}

ug_status kernel_parse(const kernel_source *src, kernel_module **out, ug_error *err)
{
    *out = NULL;
    kernel_module *m = calloc(1, sizeof *m);
    if (!m || !(m->arena = kernel_arena_new())) {
        free(m);
        return base_err_set(err, UG_ENOMEM, "out of memory");
    }
    m->src = *src;
    parser P = {.m = m, .err = err};
    /* Tokens die with the parse: an arena of their own, not the module's
     * (they were two thirds of a small kernel's memory, 12 kB a module,
     * freshly touched pages at every ufunc's creation). */
    kernel_arena *toks = kernel_arena_new();
    ug_status st = toks ? kernel_lex(toks, src, &P.toks, &P.ntoks, err) : base_err_set(err, UG_ENOMEM, "out of memory");
    while (st == UG_OK && !P.failed && !at(&P, TK_EOF))
        toplevel(&P);
    if (st == UG_OK && !P.failed && m->nfuncs == 0) /* at the first line (constants only) or the end */
        fail_at(&P, UG_ESYNTAX, m->nconsts ? P.toks[0].pos : peek(&P)->pos, "%s",
                "the source defines no kernel (expected 'def' or 'lambda')");
    for (int k = 0; st == UG_OK && !P.failed && k < m->nfuncs; k++)
        check_height(&P, m->funcs[k]);
    if (st == UG_OK && P.failed)
        st = err ? err->code : UG_ESYNTAX;
    kernel_arena_free(toks);
    if (st != UG_OK) {
        kernel_module_free(m);
        return st;
    }
    *out = m;
    return UG_OK;
}

void kernel_module_free(kernel_module *m)
{
    if (!m)
        return;
    kernel_arena_free(m->arena);
    free(m);
}

/* ------------------------------------------------------ lookup and deps */

static kernel_func *find_def(const kernel_module *m, const char *name)
{
    for (int k = m->nfuncs - 1; k >= 0; k--)
        if (!m->funcs[k]->is_lambda && strcmp(m->funcs[k]->name, name) == 0)
            return m->funcs[k];
    return NULL;
}

kernel_func *kernel_find(const kernel_module *m, const char *name, ug_error *err)
{
    if (!m || m->nfuncs == 0) {
        base_err_set(err, UG_ENAME, "the source defines no kernel");
        return NULL;
    }
    if (name && *name) {
        for (int k = m->nfuncs - 1; k >= 0; k--)
            if (strcmp(m->funcs[k]->name, name) == 0)
                return m->funcs[k];
        base_err_set(err, UG_ENAME, "the source defines no function named '%s'", name);
        return NULL;
    }
    return m->funcs[m->nfuncs - 1];
}

/* Append every def that node n (recursively) calls and that is not yet in v. */
static void collect_calls(const kernel_module *m, const kernel_node *n, const kernel_func **v, int *nv)
{
    if (!n)
        return;
    if (n->kind == N_CALL) {
        const kernel_func *g = find_def(m, n->name);
        bool seen = false;
        for (int k = 0; g && k < *nv; k++)
            seen |= v[k] == g;
        if (g && !seen)
            v[(*nv)++] = g;
    }
    const kernel_node *kids[] = {n->a, n->b, n->cond, n->body, n->orelse, n->range[0], n->range[1], n->range[2]};
    for (size_t k = 0; k < sizeof kids / sizeof *kids; k++)
        collect_calls(m, kids[k], v, nv);
    for (int k = 0; k < n->nkids; k++)
        collect_calls(m, n->kids[k], v, nv);
}

int kernel_deps(const kernel_module *m, const kernel_func *f, const kernel_func ***out)
{
    const kernel_func **v = kernel_arena_alloc(m->arena, (size_t)(m->nfuncs + 1) * sizeof *v);
    *out = v;
    if (!v)
        return 0;
    int nv = 0;
    v[nv++] = f;
    for (int k = 0; k < nv; k++) /* breadth-first: v grows while we walk it */
        collect_calls(m, v[k]->body, v, &nv);
    return nv;
}
