/* infer.c — type inference: module + kernel + argument types → typed kernel.
 *
 * Each function is specialised on a deep copy in the typed kernel's arena:
 *   1. parameters get their types (signature, or a call site's arguments);
 *   2. locals are collected (every assigned name and loop variable);
 *   3. a syntactic pass checks every local is assigned before use on every
 *      path and notes whether the end of the body is reachable;
 *   4. the body is typed repeatedly until no local (or return) type changes:
 *      a local's type is the NEP 50 promotion of everything assigned to it,
 *      weak Python literals yielding to strong types;
 *   5. a last walk gives weak values concrete types ("Typed AST invariants"
 *      in kernel.h): a literal takes the type its parent converts it to,
 *      anything else weak becomes int64 / float64 / bool.
 * Helpers are specialised per tuple of argument types as calls reach them; a
 * call to a helper that is still being specialised is recursion (rejected).
 * The first error stops everything: `failed` is checked after every step.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "ufuncgen/internal.h"

enum role { ROLE_SCALAR, ROLE_GUFUNC, ROLE_HELPER };

typedef struct spec {
    const kernel_func *orig;
    kernel_type *args;
    int nargs;
    kernel_func *fn;
    bool busy;
    struct spec *next;
} spec;

/* The state of one function being specialised. */
typedef struct fstate {
    kernel_func *fn;
    int role;
    kernel_type *pt;       /* parameter types as read (may be weak for helpers) */
    kernel_type *lt;       /* local types joined so far (KT_VOID: nothing assigned yet) */
    kernel_type ret;       /* joined return type (helpers, lazy scalar kernels) */
    bool fixed_ret;        /* scalar kernel with a declared output */
    bool any_value_ret, any_bare_ret;
    bool changed;
    bool unresolved;       /* this pass read a local that has no type yet (assigned later in a loop) */
    bool strict;           /* final check: reading an untyped local is an error */
    bool falls_off;        /* the end of the body is reachable */
} fstate;

typedef struct infer {
    const kernel_module *m;
    kernel_typed *t;
    kernel_arena *a;
    ug_error *err;
    const char *kname;
    spec *specs;
    bool failed;
} infer;

static kernel_type scalar(int dt, bool weak) { return (kernel_type){KT_SCALAR, (int8_t)dt, 0, weak}; }
static const kernel_type T_VOID = {KT_VOID, UG_DTYPE_NONE, 0, 0};

static bool is_scalar(kernel_type t) { return t.kind == KT_SCALAR; }
static int kind_of(kernel_type t) { return ug_dtype_kind((ug_dtype)t.dt); }
static bool is_float(kernel_type t) { return is_scalar(t) && kind_of(t) == UG_KIND_FLOAT; }
static bool is_bool(kernel_type t) { return is_scalar(t) && kind_of(t) == UG_KIND_BOOL; }
static bool is_intlike(kernel_type t) { return is_scalar(t) && !is_float(t); }
static bool same_type(kernel_type a, kernel_type b)
{
    return a.kind == b.kind && a.dt == b.dt && a.ndim == b.ndim && a.weak == b.weak;
}

/* The float type a float function computes in: floats stay, the rest float64. */
static kernel_type float_of(kernel_type t) { return is_float(t) ? t : scalar(UG_FLOAT64, t.weak); }

static void *fail(infer *I, ug_status code, kernel_pos pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void *fail(infer *I, ug_status code, kernel_pos pos, const char *fmt, ...)
{
    if (I->failed)
        return NULL;
    I->failed = true;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kernel_error_at(I->err, code, &I->m->src, I->kname, pos, "%s", msg);
    return NULL;
}

static const char *tstr(kernel_type t, char *buf) { return kernel_type_str((kernel_type){t.kind, t.dt, t.ndim, 0}, buf, 48); }

/* --------------------------------------------------------------- promotion */

kernel_type kernel_promote(kernel_type a, kernel_type b)
{
    if (!a.weak && !b.weak)
        return scalar(ug_promote((ug_dtype)a.dt, (ug_dtype)b.dt), false);
    if (a.weak && b.weak) { /* Python scalars: bool < int < float */
        return kind_of(a) == UG_KIND_FLOAT || kind_of(b) == UG_KIND_FLOAT ? scalar(UG_FLOAT64, true)
               : kind_of(a) == UG_KIND_BOOL && kind_of(b) == UG_KIND_BOOL ? scalar(UG_BOOL, true)
               : scalar(kind_of(a) == UG_KIND_BOOL ? b.dt : kind_of(b) == UG_KIND_BOOL ? a.dt
                        : a.dt == UG_UINT64 || b.dt == UG_UINT64 ? UG_UINT64 : UG_INT64, true);
    }
    kernel_type w = a.weak ? a : b, s = a.weak ? b : a;
    switch (kind_of(w)) {
    case UG_KIND_BOOL: return s;
    case UG_KIND_FLOAT: return is_float(s) ? s : scalar(UG_FLOAT64, false);
    default: return is_bool(s) ? scalar(UG_INT64, false) : s;
    }
}

/* A local's type after one more assignment of `v`. */
static kernel_type join(kernel_type old, kernel_type v)
{
    return old.kind == KT_VOID ? v : kernel_promote(old, v);
}

static kernel_type settle(kernel_type t)
{
    t.weak = 0;
    return t;
}

/* ------------------------------------------------------------------ copying */

static kernel_node *copy_node(infer *I, const kernel_node *n);

static kernel_node **copy_kids(infer *I, kernel_node *const *kids, int n)
{
    kernel_node **v = kernel_arena_alloc(I->a, (size_t)(n ? n : 1) * sizeof *v);
    for (int k = 0; v && k < n; k++)
        v[k] = copy_node(I, kids[k]);
    return v;
}

static char *copy_str(infer *I, const char *s) { return s ? kernel_arena_strndup(I->a, s, strlen(s)) : NULL; }

static kernel_node *copy_node(infer *I, const kernel_node *n)
{
    if (!n)
        return NULL;
    kernel_node *c = kernel_arena_alloc(I->a, sizeof *c);
    if (!c)
        return NULL;
    *c = *n;
    c->name = copy_str(I, n->name);
    c->a = copy_node(I, n->a);
    c->b = copy_node(I, n->b);
    c->cond = copy_node(I, n->cond);
    c->body = copy_node(I, n->body);
    c->orelse = copy_node(I, n->orelse);
    c->kids = copy_kids(I, n->kids, n->nkids);
    for (int k = 0; k < n->nrange; k++)
        c->range[k] = copy_node(I, n->range[k]);
    if (n->kind == N_COMPARE) {
        c->cmpops = kernel_arena_alloc(I->a, (size_t)n->nkids * sizeof *c->cmpops);
        c->cmptys = kernel_arena_alloc(I->a, (size_t)n->nkids * sizeof *c->cmptys);
        if (c->cmpops)
            memcpy(c->cmpops, n->cmpops, (size_t)(n->nkids - 1) * sizeof *c->cmpops);
    }
    return c;
}

static kernel_func *copy_func(infer *I, const kernel_func *f)
{
    kernel_func *c = kernel_arena_alloc(I->a, sizeof *c);
    if (!c)
        return NULL;
    *c = *f;
    c->name = copy_str(I, f->name);
    c->doc = copy_str(I, f->doc);
    c->params = kernel_arena_alloc(I->a, (size_t)(f->nparams ? f->nparams : 1) * sizeof *c->params);
    for (int k = 0; c->params && k < f->nparams; k++) {
        c->params[k] = f->params[k];
        c->params[k].name = copy_str(I, f->params[k].name);
    }
    c->body = copy_node(I, f->body);
    return c;
}

/* ------------------------------------------------------------------ locals */

static int param_index(const kernel_func *f, const char *name)
{
    for (int k = 0; k < f->nparams; k++)
        if (strcmp(f->params[k].name, name) == 0)
            return k;
    return -1;
}

static int local_index(const kernel_func *f, const char *name)
{
    for (int k = 0; k < f->nlocals; k++)
        if (strcmp(f->locals[k].name, name) == 0)
            return k;
    return -1;
}

static void add_local(infer *I, kernel_func *f, const kernel_node *name, int *cap)
{
    int pi = param_index(f, name->name);
    if ((pi >= 0 && f->params[pi].ty.kind == KT_ARRAY) || local_index(f, name->name) >= 0)
        return; /* assigning an array argument is an error, reported when typed */
    if (f->nlocals == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        kernel_var *v = kernel_arena_alloc(I->a, (size_t)*cap * sizeof *v);
        if (!v) {
            fail(I, UG_ENOMEM, name->pos, "out of memory");
            return;
        }
        if (f->nlocals)
            memcpy(v, f->locals, (size_t)f->nlocals * sizeof *v);
        f->locals = v;
    }
    f->locals[f->nlocals++] = (kernel_var){.name = name->name, .pos = name->pos, .ty = T_VOID};
}

/* Every name a statement assigns (targets, loop variables), in source order. */
static void collect_locals(infer *I, kernel_func *f, const kernel_node *s, int *cap)
{
    if (!s)
        return;
    switch (s->kind) {
    case N_ASSIGN:
    case N_AUGASSIGN: {
        const kernel_node *t = s->kids[0];
        if (t->kind == N_NAME)
            add_local(I, f, t, cap);
        for (int k = 0; t->kind == N_TUPLE && k < t->nkids; k++)
            add_local(I, f, t->kids[k], cap);
        break;
    }
    case N_FOR: add_local(I, f, s->kids[0], cap); /* fall through */
    case N_WHILE:
    case N_IF:
        collect_locals(I, f, s->body, cap);
        collect_locals(I, f, s->orelse, cap);
        break;
    case N_BLOCK:
        for (int k = 0; k < s->nkids; k++)
            collect_locals(I, f, s->kids[k], cap);
        break;
    default: break;
    }
}

/* ------------------------------------------------ definite assignment */

/* Definite assignment, with loops assumed to run: branches of an if must
 * both assign a local for it to count after the if, but a loop body counts
 * as having run. Loops are walked twice — quietly, to learn what one
 * iteration assigns, then checking reads with that added — so loop-carried
 * values (`prev` assigned late in the body, read at the top of the next
 * iteration) and loop variables read after the loop are accepted, as Python
 * and Numba accept them. Where a loop runs zero times such a read sees 0:
 * lowering zero-initialises every local. */
typedef struct dstate {
    bool *set;  /* per local: assigned on some path so far */
    bool dead;  /* this point is unreachable */
    bool quiet; /* learning pass over a loop body: report nothing */
} dstate;

static void da_reads(infer *I, const kernel_func *f, const kernel_node *e, const dstate *s)
{
    if (!e || I->failed || s->dead)
        return;
    if (e->kind == N_NAME) {
        int li = e->symkind == SYM_PARAM ? -1 : local_index(f, e->name);
        if (li >= 0 && !s->set[li] && !s->quiet)
            fail(I, UG_ENAME, e->pos, "local variable '%s' may be used before assignment", e->name);
        return;
    }
    da_reads(I, f, e->a, s);
    if (e->kind == N_IFEXP) /* evaluation order: condition first */
        da_reads(I, f, e->cond, s);
    da_reads(I, f, e->b, s);
    for (int k = 0; k < e->nkids; k++)
        da_reads(I, f, e->kids[k], s);
}

static void da_mark(const kernel_func *f, const kernel_node *t, dstate *s)
{
    if (t->kind == N_NAME) {
        int li = local_index(f, t->name);
        if (li >= 0)
            s->set[li] = true;
    }
    for (int k = 0; t->kind == N_TUPLE && k < t->nkids; k++)
        da_mark(f, t->kids[k], s);
}

static bool da_copy(infer *I, const kernel_func *f, const dstate *from, dstate *to)
{
    to->set = kernel_arena_alloc(I->a, (size_t)(f->nlocals + 1));
    if (!to->set)
        return fail(I, UG_ENOMEM, f->pos, "out of memory") != NULL;
    memcpy(to->set, from->set, (size_t)f->nlocals);
    to->dead = from->dead;
    to->quiet = from->quiet;
    return true;
}

/* After if/else: assigned on both reachable paths. */
static void da_meet(const kernel_func *f, dstate *s, const dstate *x, const dstate *y)
{
    if (x->dead || y->dead) {
        const dstate *live = x->dead ? y : x;
        memcpy(s->set, live->set, (size_t)f->nlocals);
        s->dead = x->dead && y->dead;
        return;
    }
    for (int k = 0; k < f->nlocals; k++)
        s->set[k] = x->set[k] && y->set[k];
    s->dead = false;
}

static void da_stmt(infer *I, const kernel_func *f, const kernel_node *n, dstate *s);

static void da_block(infer *I, const kernel_func *f, const kernel_node *b, dstate *s)
{
    for (int k = 0; b && k < b->nkids && !I->failed; k++)
        da_stmt(I, f, b->kids[k], s);
}

static void da_stmt(infer *I, const kernel_func *f, const kernel_node *n, dstate *s)
{
    dstate x, y;
    switch (n->kind) {
    case N_ASSIGN:
        da_reads(I, f, n->b, s);
        if (n->kids[0]->kind == N_INDEX)
            da_reads(I, f, n->kids[0], s);
        da_mark(f, n->kids[0], s);
        break;
    case N_AUGASSIGN:
        da_reads(I, f, n->kids[0], s);
        da_reads(I, f, n->b, s);
        break;
    case N_EXPRSTMT: da_reads(I, f, n->a, s); break;
    case N_RETURN:
        da_reads(I, f, n->a, s);
        s->dead = true;
        break;
    case N_BREAK:
    case N_CONTINUE: s->dead = true; break;
    case N_IF:
        da_reads(I, f, n->cond, s);
        if (!da_copy(I, f, s, &x) || !da_copy(I, f, s, &y))
            return;
        da_block(I, f, n->body, &x);
        da_block(I, f, n->orelse, &y);
        da_meet(f, s, &x, &y);
        break;
    case N_FOR:
    case N_WHILE:
        for (int k = 0; k < n->nrange; k++)
            da_reads(I, f, n->range[k], s);
        da_reads(I, f, n->cond, s);
        if (!da_copy(I, f, s, &x))
            return;
        x.quiet = true; /* first pass: learn what one iteration assigns */
        if (n->kind == N_FOR)
            da_mark(f, n->kids[0], &x);
        da_block(I, f, n->body, &x);
        if (!da_copy(I, f, s, &y))
            return;
        for (int k = 0; k < f->nlocals; k++)
            y.set[k] = y.set[k] || x.set[k];
        if (n->kind == N_WHILE)
            da_reads(I, f, n->cond, &y); /* the condition is re-read after each iteration */
        da_block(I, f, n->body, &y);
        for (int k = 0; k < f->nlocals; k++)
            s->set[k] = s->set[k] || y.set[k];
        break;
    default: break;
    }
}

static void check_assigned(infer *I, fstate *fs)
{
    dstate s = {.set = kernel_arena_alloc(I->a, (size_t)fs->fn->nlocals + 1)};
    if (!s.set) {
        fail(I, UG_ENOMEM, fs->fn->pos, "out of memory");
        return;
    }
    da_block(I, fs->fn, fs->fn->body, &s);
    fs->falls_off = !s.dead;
}

/* -------------------------------------------------------------- expressions */

static kernel_type expr(infer *I, fstate *fs, kernel_node *n);

/* The value must be a number (not an array, a shape, or nothing). */
static bool want_scalar(infer *I, kernel_node *n, kernel_type t)
{
    char b[48];
    if (I->failed || is_scalar(t))
        return !I->failed;
    if (t.kind == KT_ARRAY)
        return fail(I, UG_ETYPE, n->pos, "expected a number, found %s", tstr(t, b)) != NULL;
    if (t.kind == KT_SHAPE)
        return fail(I, UG_ETYPE, n->pos, "a.shape can only be indexed (a.shape[0]) or unpacked") != NULL;
    return fail(I, UG_ETYPE, n->pos, "this call returns no value") != NULL;
}

/* A value: a number or an array (arrays are rejected with the operator's message). */
static kernel_type value_expr(infer *I, fstate *fs, kernel_node *n)
{
    kernel_type t = expr(I, fs, n);
    return t.kind == KT_ARRAY || want_scalar(I, n, t) ? t : T_VOID;
}

static kernel_type scalar_expr(infer *I, fstate *fs, kernel_node *n)
{
    kernel_type t = expr(I, fs, n);
    return want_scalar(I, n, t) ? t : T_VOID;
}

static const char *op_verb(int op)
{
    switch (op) {
    case TK_PLUS: return "add";
    case TK_MINUS: return "subtract";
    case TK_STAR: return "multiply";
    case TK_SLASH: return "divide";
    case TK_DSLASH: return "floor-divide";
    case TK_PERCENT: return "take the remainder of";
    case TK_DSTAR: return "raise to a power";
    case TK_AMP: return "bitwise-and";
    case TK_PIPE: return "bitwise-or";
    case TK_CARET: return "bitwise-xor";
    default: return "shift";
    }
}

/* The type `a op b` computes in (== its result type). */
static kernel_type binop_type(infer *I, kernel_node *at, int op, kernel_type a, kernel_type b)
{
    char x[48], y[48];
    if (I->failed)
        return T_VOID;
    if (!is_scalar(a) || !is_scalar(b))
        return fail(I, UG_ETYPE, at->pos, "cannot %s %s and %s", op_verb(op), tstr(a, x), tstr(b, y)), T_VOID;
    kernel_type t = kernel_promote(a, b);
    switch (op) {
    case TK_SLASH: return is_float(t) ? t : scalar(UG_FLOAT64, t.weak);
    case TK_AMP:
    case TK_PIPE:
    case TK_CARET:
    case TK_LSHIFT:
    case TK_RSHIFT:
        if (is_float(t))
            return fail(I, UG_ETYPE, at->pos, "cannot %s %s and %s (bitwise operators need integers or bools)",
                        op_verb(op), tstr(a, x), tstr(b, y)),
                   T_VOID;
        return is_bool(t) && (op == TK_LSHIFT || op == TK_RSHIFT) ? scalar(UG_INT64, t.weak) : t;
    default: return is_bool(t) ? scalar(UG_INT64, t.weak) : t;
    }
}

static kernel_type unary(infer *I, fstate *fs, kernel_node *n)
{
    char b[48];
    kernel_type t = scalar_expr(I, fs, n->a);
    if (I->failed)
        return T_VOID;
    n->opty = t;
    if (n->op == TK_NOT)
        return scalar(UG_BOOL, false);
    if (n->op == TK_TILDE && is_float(t))
        return fail(I, UG_ETYPE, n->pos, "bad operand type for ~: %s (needs an integer or bool)", tstr(t, b)), T_VOID;
    if (n->op != TK_TILDE && is_bool(t))
        n->opty = scalar(UG_INT64, t.weak);
    return n->opty;
}

/* The value of an int literal chain (300, -5, +-1): sign and magnitude; false if n is not one. */
static bool literal_int(const kernel_node *n, bool *neg, uint64_t *mag)
{
    bool ng = false;
    for (; n->kind == N_UNARY && (n->op == TK_MINUS || n->op == TK_PLUS); n = n->a)
        ng ^= n->op == TK_MINUS;
    if (n->kind != N_INT)
        return false;
    *mag = (uint64_t)n->ival;
    *neg = ng && *mag != 0;
    return true;
}

/* Whether integer dtype dt holds the value (neg, mag). */
static bool int_holds(int dt, bool neg, uint64_t mag)
{
    unsigned bits = (unsigned)ug_dtype_size((ug_dtype)dt) * 8;
    if (ug_dtype_kind((ug_dtype)dt) == UG_KIND_UINT)
        return !neg && (bits == 64 || mag >> bits == 0);
    uint64_t lim = (uint64_t)1 << (bits - 1);
    return neg ? mag <= lim : mag < lim;
}

/* The type a compared pair computes in. NumPy compares an integer with a
 * Python int exactly, also one outside the integer's dtype (np.uint8(5) <
 * 1000 is True; NEP 50 special-cases comparisons), so a weak int against a
 * strong integer of fewer than 64 bits compares in int64 unless it is a
 * literal the strong type holds. A literal no int64 holds (against int64 or
 * uint64) compares in float64, which gets its side right (ties within 2^10
 * of 2^63 aside). A weak non-literal against uint64 stays uint64. */
static kernel_type compare_type(const kernel_node *a, kernel_type ta, const kernel_node *b, kernel_type tb)
{
    kernel_type t = kernel_promote(ta, tb), strong = ta.weak ? tb : ta;
    const kernel_node *w = ta.weak ? a : b;
    kernel_type wt = ta.weak ? ta : tb;
    if (ta.weak == tb.weak || !is_intlike(strong) || is_bool(strong) || !is_intlike(wt) || is_bool(wt))
        return t;
    bool neg;
    uint64_t mag;
    if (!literal_int(w, &neg, &mag))
        return ug_dtype_size((ug_dtype)strong.dt) < 8 ? scalar(UG_INT64, false) : t;
    if (int_holds(strong.dt, neg, mag))
        return t;
    return strong.dt != UG_UINT64 && int_holds(UG_INT64, neg, mag) ? scalar(UG_INT64, false) : scalar(UG_FLOAT64, false);
}

static kernel_type compare(infer *I, fstate *fs, kernel_node *n)
{
    char x[48], y[48];
    kernel_type prev = value_expr(I, fs, n->kids[0]);
    for (int k = 1; k < n->nkids && !I->failed; k++) {
        kernel_type cur = value_expr(I, fs, n->kids[k]);
        if (I->failed)
            break;
        if (!is_scalar(prev) || !is_scalar(cur))
            return fail(I, UG_ETYPE, n->pos, "cannot compare %s and %s", tstr(prev, x), tstr(cur, y)), T_VOID;
        n->cmptys[k - 1] = compare_type(n->kids[k - 1], prev, n->kids[k], cur);
        prev = cur;
    }
    return scalar(UG_BOOL, false);
}

static const kernel_func *find_helper(const kernel_module *m, const char *name)
{
    for (int k = m->nfuncs - 1; k >= 0; k--)
        if (!m->funcs[k]->is_lambda && strcmp(m->funcs[k]->name, name) == 0)
            return m->funcs[k];
    return NULL;
}

static kernel_type name_type(infer *I, fstate *fs, kernel_node *n)
{
    int k = local_index(fs->fn, n->name);
    if (n->symkind == SYM_PARAM) /* resolved before, or the shadow copy's source */
        return fs->pt[n->index];
    if (k >= 0) {
        n->symkind = SYM_LOCAL;
        n->index = k;
        if (fs->lt[k].kind == KT_VOID) {
            /* A loop-carried local read before its assignment in the body has no
             * type on the first pass: a weak int stands in (it yields to the
             * real type when that arrives) and the fixpoint runs again. */
            if (fs->strict)
                return fail(I, UG_ENAME, n->pos, "local variable '%s' may be used before assignment", n->name), T_VOID;
            fs->unresolved = true;
            return scalar(UG_INT64, true);
        }
        return fs->lt[k];
    }
    if ((k = param_index(fs->fn, n->name)) >= 0) {
        n->symkind = SYM_PARAM;
        n->index = k;
        return fs->pt[k];
    }
    static const struct {
        const char *name;
        double v;
    } consts[] = {{"pi", 3.141592653589793}, {"e", 2.718281828459045}, {"inf", 1.0 / 0.0}, {"nan", 0.0 / 0.0}};
    for (size_t c = 0; c < sizeof consts / sizeof *consts; c++)
        if (strcmp(n->name, consts[c].name) == 0) {
            n->kind = N_FLOAT; /* lowering never sees SYM_CONST */
            n->fval = consts[c].v;
            return scalar(UG_FLOAT64, true);
        }
    if (find_helper(I->m, n->name))
        return fail(I, UG_ETYPE, n->pos, "function '%s' cannot be used as a value", n->name), T_VOID;
    return fail(I, UG_ENAME, n->pos, "name '%s' is not defined", n->name), T_VOID;
}

/* An array parameter named by n (N_NAME), else an error. */
static kernel_type array_of(infer *I, fstate *fs, kernel_node *n, const char *what)
{
    char b[48];
    if (n->kind != N_NAME)
        return fail(I, UG_ETYPE, n->pos, "only array arguments can be %s", what), T_VOID;
    kernel_type t = n->ty = name_type(I, fs, n);
    if (!I->failed && t.kind != KT_ARRAY)
        return fail(I, UG_ETYPE, n->pos, "'%s' is %s, not an array: it cannot be %s", n->name, tstr(t, b), what),
               T_VOID;
    return t;
}

static bool want_index(infer *I, fstate *fs, kernel_node *ix, const char *what)
{
    char b[48];
    kernel_type t = scalar_expr(I, fs, ix);
    if (!I->failed && (!is_intlike(t) || is_bool(t)))
        fail(I, UG_ETYPE, ix->pos, "%s must be an integer, not %s", what, tstr(t, b));
    return !I->failed;
}

static kernel_type attr(infer *I, fstate *fs, kernel_node *n)
{
    kernel_type t = array_of(I, fs, n->a, "asked for attributes");
    if (I->failed)
        return T_VOID;
    if (strcmp(n->name, "shape") == 0)
        return (kernel_type){KT_SHAPE, UG_DTYPE_NONE, t.ndim, 0};
    if (strcmp(n->name, "size") == 0 || strcmp(n->name, "ndim") == 0)
        return scalar(UG_INT64, false);
    return fail(I, UG_ETYPE, n->pos, "arrays have no attribute '%s' in kernels (only shape, size, ndim)", n->name),
           T_VOID;
}

/* a.shape[k] */
static kernel_type shape_index(infer *I, fstate *fs, kernel_node *n)
{
    kernel_type s = n->a->ty = attr(I, fs, n->a);
    if (I->failed)
        return T_VOID;
    if (s.kind != KT_SHAPE || n->nkids != 1)
        return fail(I, UG_ETYPE, n->pos, "a.shape takes exactly one index"), T_VOID;
    if (!want_index(I, fs, n->kids[0], "a shape index"))
        return T_VOID;
    kernel_node *k = n->kids[0];
    if (k->kind == N_INT && (k->ival >= s.ndim || k->big))
        return fail(I, UG_ETYPE, k->pos, "index %lld is out of range for the shape of a %d-d array",
                    (long long)k->ival, s.ndim), T_VOID;
    return scalar(UG_INT64, false);
}

static kernel_type index_expr(infer *I, fstate *fs, kernel_node *n)
{
    if (n->a->kind == N_ATTR)
        return shape_index(I, fs, n);
    kernel_type t = array_of(I, fs, n->a, "indexed");
    if (I->failed)
        return T_VOID;
    if (n->nkids != t.ndim)
        return fail(I, UG_ETYPE, n->pos, "array '%s' has %d dimension%s but is indexed with %d ind%s", n->a->name,
                    t.ndim, t.ndim == 1 ? "" : "s", n->nkids, n->nkids == 1 ? "ex" : "ices"), T_VOID;
    for (int k = 0; k < n->nkids; k++)
        if (!want_index(I, fs, n->kids[k], "an array index"))
            return T_VOID;
    return scalar(t.dt, false);
}

/* -------------------------------------------------------------------- calls */

/* How many arguments each builtin takes (-2: two or more). */
static int builtin_arity(int b)
{
    switch (b) {
    case B_MIN:
    case B_MAX: return -2;
    case B_POW: case B_ATAN2: case B_HYPOT: case B_COPYSIGN: case B_FMOD:
    case B_MAXIMUM: case B_MINIMUM: case B_FMAX: case B_FMIN: return 2;
    default: return 1;
    }
}

static bool check_arity(infer *I, kernel_node *n, int b)
{
    int want = builtin_arity(b);
    if (want == -2 && n->nkids < 2)
        return fail(I, UG_ETYPE, n->pos, "%s() needs at least 2 arguments (%d given)", n->name, n->nkids) != NULL;
    if (want >= 0 && n->nkids != want)
        return fail(I, UG_ETYPE, n->pos, "%s() takes %d argument%s (%d given)", n->name, want, want == 1 ? "" : "s",
                    n->nkids) != NULL;
    return true;
}

/* int(x), float(x), bool(x), int8(x), np.float32(x) ... become N_CAST. */
static kernel_type cast(infer *I, fstate *fs, kernel_node *n, int dt)
{
    kernel_node *arg = n->kids[0];
    scalar_expr(I, fs, arg);
    n->kind = N_CAST;
    n->a = arg;
    n->nkids = 0;
    n->opty = scalar(dt, false);
    return scalar(dt, false);
}

/* The type every argument of builtin b is converted to, from their promotion p. */
static kernel_type builtin_opty(int b, kernel_type p)
{
    switch (b) {
    case B_ABS:
    case B_MIN:
    case B_MAX:
    case B_MAXIMUM:
    case B_MINIMUM:
    case B_ROUND:
    case B_FMAX:
    case B_FMIN: return p;
    case B_SIGN: return is_bool(p) ? scalar(UG_INT64, p.weak) : p;
    default: return float_of(p);
    }
}

static kernel_type builtin_call(infer *I, fstate *fs, kernel_node *n, int b, ug_dtype cast_to)
{
    if (b == B_RANGE)
        return fail(I, UG_ETYPE, n->pos, "range() can only be used in a for loop header"), T_VOID;
    if (!check_arity(I, n, b))
        return T_VOID;
    n->builtin = b;
    if (b == B_INT || b == B_FLOAT || b == B_BOOL || b == B_CAST)
        return cast(I, fs, n, b == B_INT ? UG_INT64 : b == B_FLOAT ? UG_FLOAT64 : b == B_BOOL ? UG_BOOL : cast_to);
    if (b == B_LEN) {
        array_of(I, fs, n->kids[0], "passed to len()");
        n->opty = scalar(UG_INT64, false);
        return I->failed ? T_VOID : n->opty;
    }
    kernel_type p = scalar_expr(I, fs, n->kids[0]);
    for (int k = 1; k < n->nkids && !I->failed; k++)
        p = kernel_promote(p, scalar_expr(I, fs, n->kids[k]));
    if (I->failed)
        return T_VOID;
    if (b == B_POW)
        return n->opty = binop_type(I, n, TK_DSTAR, p, p);
    n->opty = builtin_opty(b, p);
    return b == B_ISNAN || b == B_ISINF || b == B_ISFINITE ? scalar(UG_BOOL, false) : n->opty;
}

static kernel_func *specialise(infer *I, const kernel_func *orig, const kernel_type *args, kernel_pos at);

static kernel_type helper_call(infer *I, fstate *fs, kernel_node *n, const kernel_func *g)
{
    if (n->nkids != g->nparams)
        return fail(I, UG_ETYPE, n->pos, "%s() takes %d argument%s (%d given)", n->name, g->nparams,
                    g->nparams == 1 ? "" : "s", n->nkids), T_VOID;
    kernel_type args[UG_MAXARGS * 4];
    for (int k = 0; k < n->nkids && !I->failed; k++) {
        args[k] = expr(I, fs, n->kids[k]);
        if (!I->failed && args[k].kind != KT_ARRAY)
            want_scalar(I, n->kids[k], args[k]);
    }
    if (I->failed)
        return T_VOID;
    n->builtin = -1;
    n->callee = specialise(I, g, args, n->pos);
    return n->callee ? n->callee->ret : T_VOID;
}

static kernel_type call(infer *I, fstate *fs, kernel_node *n)
{
    const kernel_func *g = find_helper(I->m, n->name);
    if (g)
        return helper_call(I, fs, n, g);
    ug_dtype cast_to = UG_DTYPE_NONE;
    int b = kernel_builtin_lookup(n->name, &cast_to);
    if (b < 0)
        return fail(I, UG_ENAME, n->pos, "unknown function '%s'", n->name), T_VOID;
    return builtin_call(I, fs, n, b, cast_to);
}

static kernel_type expr_kind(infer *I, fstate *fs, kernel_node *n)
{
    kernel_type a, b;
    switch (n->kind) {
    case N_INT: return scalar(n->big ? UG_UINT64 : UG_INT64, true);
    case N_FLOAT: return scalar(UG_FLOAT64, true);
    case N_BOOL: return scalar(UG_BOOL, true);
    case N_NAME: return name_type(I, fs, n);
    case N_UNARY: return unary(I, fs, n);
    case N_BINARY:
        a = value_expr(I, fs, n->a);
        b = value_expr(I, fs, n->b);
        return n->opty = binop_type(I, n, n->op, a, b);
    case N_COMPARE: return compare(I, fs, n);
    case N_BOOLOP:
    case N_IFEXP:
        if (n->cond)
            scalar_expr(I, fs, n->cond);
        a = scalar_expr(I, fs, n->a);
        b = scalar_expr(I, fs, n->b);
        if (I->failed)
            return T_VOID;
        return n->opty = kernel_promote(a, b);
    case N_CALL: return call(I, fs, n);
    case N_CAST: scalar_expr(I, fs, n->a); return n->ty;
    case N_INDEX: return index_expr(I, fs, n);
    case N_ATTR: return attr(I, fs, n);
    case N_TUPLE: return fail(I, UG_ETYPE, n->pos, "tuples are not supported as values in kernels"), T_VOID;
    default: return fail(I, UG_ETYPE, n->pos, "not an expression"), T_VOID;
    }
}

static kernel_type expr(infer *I, fstate *fs, kernel_node *n)
{
    if (I->failed)
        return T_VOID;
    kernel_type t = expr_kind(I, fs, n);
    if (I->failed)
        return T_VOID;
    n->ty = t;
    return t;
}

/* --------------------------------------------------------------- statements */

static void assign_name(infer *I, fstate *fs, kernel_node *t, kernel_type v)
{
    char b[48];
    if (I->failed)
        return;
    int k = param_index(fs->fn, t->name);
    if (k >= 0 && fs->pt[k].kind == KT_ARRAY) {
        fail(I, UG_ETYPE, t->pos, "cannot assign to array argument '%s' (write to its elements instead)", t->name);
        return;
    }
    if (v.kind == KT_ARRAY) {
        fail(I, UG_ETYPE, t->pos, "cannot assign %s to '%s': arrays cannot be stored in variables", tstr(v, b),
             t->name);
        return;
    }
    if (!want_scalar(I, t, v))
        return;
    if (k >= 0 && local_index(fs->fn, t->name) < 0) {
        t->symkind = SYM_PARAM;
        t->index = k;
        t->ty = fs->pt[k];
        return;
    }
    k = local_index(fs->fn, t->name);
    kernel_type j = join(fs->lt[k], v);
    if (!same_type(j, fs->lt[k]))
        fs->changed = true;
    fs->lt[k] = j;
    t->symkind = SYM_LOCAL;
    t->index = k;
    t->ty = j;
}

/* m, n = a.shape   |   a, b = x, y */
static void unpack(infer *I, fstate *fs, kernel_node *n)
{
    kernel_node *t = n->kids[0], *v = n->b;
    if (v->kind == N_ATTR) {
        kernel_type s = expr(I, fs, v);
        if (!I->failed && (s.kind != KT_SHAPE || s.ndim != t->nkids))
            fail(I, UG_ETYPE, n->pos, "cannot unpack %s into %d names", s.kind == KT_SHAPE ? "this shape" : "this value",
                 t->nkids);
        for (int k = 0; k < t->nkids && !I->failed; k++)
            assign_name(I, fs, t->kids[k], scalar(UG_INT64, false));
        return;
    }
    if (v->kind != N_TUPLE || v->nkids != t->nkids) {
        fail(I, UG_ETYPE, n->pos, "can only unpack a.shape or a tuple of %d values here", t->nkids);
        return;
    }
    kernel_type vt[256];
    if (t->nkids > 256) {
        fail(I, UG_ETYPE, n->pos, "too many names to unpack");
        return;
    }
    for (int k = 0; k < v->nkids && !I->failed; k++) /* all values first, as Python does */
        vt[k] = v->kids[k]->ty = scalar_expr(I, fs, v->kids[k]);
    for (int k = 0; k < t->nkids && !I->failed; k++)
        assign_name(I, fs, t->kids[k], vt[k]);
}

static void assign(infer *I, fstate *fs, kernel_node *n)
{
    kernel_node *t = n->kids[0];
    if (t->kind == N_TUPLE) {
        unpack(I, fs, n);
        return;
    }
    if (t->kind == N_NAME) {
        assign_name(I, fs, t, value_expr(I, fs, n->b));
        return;
    }
    expr(I, fs, t);
    scalar_expr(I, fs, n->b);
}

static void augassign(infer *I, fstate *fs, kernel_node *n)
{
    kernel_node *t = n->kids[0];
    kernel_type tt = expr(I, fs, t), vt = value_expr(I, fs, n->b);
    n->opty = binop_type(I, n, n->op, tt, vt);
    if (t->kind == N_NAME)
        assign_name(I, fs, t, n->opty);
}

static bool is_zero_literal(const kernel_node *n)
{
    while (n->kind == N_UNARY && (n->op == TK_MINUS || n->op == TK_PLUS))
        n = n->a;
    return (n->kind == N_INT || n->kind == N_BOOL) && n->ival == 0 && !n->big;
}

static void block(infer *I, fstate *fs, kernel_node *b);

static void for_stmt(infer *I, fstate *fs, kernel_node *n)
{
    char b[48];
    kernel_node *var = n->kids[0];
    if (param_index(fs->fn, var->name) >= 0) {
        fail(I, UG_ETYPE, var->pos, "the loop variable '%s' cannot be an argument", var->name);
        return;
    }
    for (int k = 0; k < n->nrange && !I->failed; k++) {
        kernel_type t = scalar_expr(I, fs, n->range[k]);
        if (!I->failed && is_float(t))
            fail(I, UG_ETYPE, n->range[k]->pos, "range() arguments must be integers, not %s", tstr(t, b));
    }
    if (!I->failed && n->nrange == 3 && is_zero_literal(n->range[2]))
        fail(I, UG_ETYPE, n->range[2]->pos, "range() step must not be zero");
    assign_name(I, fs, var, scalar(UG_INT64, false));
    block(I, fs, n->body);
}

static void return_stmt(infer *I, fstate *fs, kernel_node *n)
{
    if (fs->role == ROLE_GUFUNC && n->a) {
        fail(I, UG_ETYPE, n->pos, "a gufunc kernel cannot return a value (write to its output arguments)");
        return;
    }
    if (fs->role == ROLE_SCALAR && !n->a) {
        fail(I, UG_ETYPE, n->pos, "a scalar kernel must return a value");
        return;
    }
    if (n->a) {
        fs->any_value_ret = true;
        kernel_type t = scalar_expr(I, fs, n->a);
        if (!I->failed && !fs->fixed_ret) {
            kernel_type j = join(fs->ret, t);
            fs->changed |= !same_type(j, fs->ret);
            fs->ret = j;
        }
    } else {
        fs->any_bare_ret = true;
    }
    if (fs->any_value_ret && fs->any_bare_ret)
        fail(I, UG_ETYPE, n->pos, "function '%s' returns a value on some paths and nothing on others", fs->fn->name);
}

static void cond(infer *I, fstate *fs, kernel_node *c)
{
    kernel_type t = expr(I, fs, c);
    if (!I->failed && !is_scalar(t))
        fail(I, UG_ETYPE, c->pos, "the truth value of %s is ambiguous",
             t.kind == KT_ARRAY ? "an array" : t.kind == KT_SHAPE ? "a shape" : "a call without a value");
}

static void stmt(infer *I, fstate *fs, kernel_node *n)
{
    switch (n->kind) {
    case N_ASSIGN: assign(I, fs, n); break;
    case N_AUGASSIGN: augassign(I, fs, n); break;
    case N_EXPRSTMT: expr(I, fs, n->a); break;
    case N_IF:
        cond(I, fs, n->cond);
        block(I, fs, n->body);
        if (n->orelse)
            block(I, fs, n->orelse);
        break;
    case N_WHILE:
        cond(I, fs, n->cond);
        block(I, fs, n->body);
        break;
    case N_FOR: for_stmt(I, fs, n); break;
    case N_RETURN: return_stmt(I, fs, n); break;
    default: break;
    }
    n->ty = T_VOID;
}

static void block(infer *I, fstate *fs, kernel_node *b)
{
    for (int k = 0; k < b->nkids && !I->failed; k++)
        stmt(I, fs, b->kids[k]);
}

/* ------------------------------------------------- concrete types (step 5) */

static bool literal_chain(const kernel_node *n)
{
    while (n->kind == N_UNARY && (n->op == TK_MINUS || n->op == TK_PLUS))
        n = n->a;
    return n->kind == N_INT || n->kind == N_FLOAT;
}

/* A weak literal may take the strong type it is converted to when its kind
 * fits (an int literal becomes any number type, a float literal a float). */
static bool fits(kernel_type lit, kernel_type want)
{
    if (!is_scalar(want) || want.weak || is_bool(want))
        return false;
    return !is_float(lit) || is_float(want);
}

static void resolve(infer *I, kernel_node *n, kernel_type want);

static void resolve_kids(infer *I, kernel_node *n, kernel_type want)
{
    for (int k = 0; k < n->nkids; k++)
        resolve(I, n->kids[k], want);
}

/* A weak literal chain (fits(n->ty, want)) takes the strong type want. */
static void give_literal(kernel_node *n, kernel_type want)
{
    for (; n->kind == N_UNARY; n = n->a)
        n->ty = n->opty = want;
    n->ty = want;
}

/* An int literal converted to an integer type that does not hold it is an
 * error, as NumPy's OverflowError for np.uint8(1) + 300 (NEP 50). */
static void literal_in_range(infer *I, const kernel_node *n, kernel_type want)
{
    bool neg;
    uint64_t mag;
    char b[48];
    if (is_intlike(want) && !is_bool(want) && literal_int(n, &neg, &mag) && !int_holds(want.dt, neg, mag))
        fail(I, UG_ETYPE, n->pos, "integer literal %s%llu is out of range for %s", neg ? "-" : "",
             (unsigned long long)mag, tstr(want, b));
}

static void resolve_stmt(infer *I, kernel_node *n, kernel_type ret)
{
    kernel_node *t = n->kind == N_ASSIGN || n->kind == N_AUGASSIGN ? n->kids[0] : NULL;
    switch (n->kind) {
    case N_ASSIGN:
        resolve(I, t, T_VOID);
        for (int k = 0; t->kind == N_TUPLE && n->b->kind == N_TUPLE && k < t->nkids; k++)
            resolve(I, n->b->kids[k], t->kids[k]->ty);
        resolve(I, n->b, t->kind == N_TUPLE ? T_VOID : t->ty);
        break;
    case N_AUGASSIGN:
        n->opty = settle(n->opty);
        resolve(I, t, T_VOID);
        resolve(I, n->b, n->opty);
        break;
    case N_RETURN: /* `return 300` into uint8 casts (astype 'unsafe'), as any returned value does */
        if (n->a && n->a->ty.weak && literal_chain(n->a) && fits(n->a->ty, ret))
            give_literal(n->a, ret);
        else
            resolve(I, n->a, ret);
        break;
    case N_EXPRSTMT: resolve(I, n->a, T_VOID); break;
    case N_FOR:
        resolve(I, n->kids[0], T_VOID);
        for (int k = 0; k < n->nrange; k++)
            resolve(I, n->range[k], scalar(UG_INT64, false));
        break;
    default: resolve(I, n->cond, T_VOID); break;
    }
    if (n->body)
        resolve_stmt(I, n->body, ret);
    if (n->orelse)
        resolve_stmt(I, n->orelse, ret);
    for (int k = 0; n->kind == N_BLOCK && k < n->nkids; k++)
        resolve_stmt(I, n->kids[k], ret);
}

static void resolve(infer *I, kernel_node *n, kernel_type want)
{
    if (!n)
        return;
    if (n->ty.weak && literal_chain(n) && fits(n->ty, want)) {
        literal_in_range(I, n, want);
        give_literal(n, want);
        return;
    }
    n->ty = settle(n->ty);
    n->opty = settle(n->opty);
    switch (n->kind) {
    case N_COMPARE:
        for (int k = 0; k + 1 < n->nkids; k++)
            n->cmptys[k] = settle(n->cmptys[k]);
        for (int k = 0; k < n->nkids; k++)
            resolve(I, n->kids[k], n->cmptys[k + 1 < n->nkids ? k : k - 1]);
        return;
    case N_BOOLOP:
    case N_IFEXP:
        resolve(I, n->cond, T_VOID);
        resolve(I, n->a, n->ty);
        resolve(I, n->b, n->ty);
        return;
    case N_CALL:
        for (int k = 0; k < n->nkids; k++)
            resolve(I, n->kids[k], n->callee ? n->callee->params[k].ty : n->builtin == B_LEN ? T_VOID : n->opty);
        return;
    case N_INDEX: resolve(I, n->a, T_VOID); resolve_kids(I, n, scalar(UG_INT64, false)); return;
    case N_UNARY:
    case N_BINARY: resolve(I, n->a, n->opty); resolve(I, n->b, n->opty); return;
    default: resolve(I, n->a, T_VOID); resolve_kids(I, n, T_VOID); return;
    }
}

/* ---------------------------------------------------------------- functions */

/* A scalar parameter the body assigns to becomes a local of its own type
 * (Python rebinds the name: `x = x * 0.5` makes an int x a float), copied
 * from the parameter by an assignment put first in the body. */
static void shadow_params(infer *I, kernel_func *f)
{
    int n = 0;
    for (int k = 0; k < f->nlocals; k++)
        n += param_index(f, f->locals[k].name) >= 0;
    if (n == 0)
        return;
    kernel_node **kids = kernel_arena_alloc(I->a, (size_t)(f->body->nkids + n) * sizeof *kids);
    if (!kids) {
        fail(I, UG_ENOMEM, f->pos, "out of memory");
        return;
    }
    int j = 0;
    for (int k = 0; k < f->nlocals; k++) {
        int pi = param_index(f, f->locals[k].name);
        if (pi < 0)
            continue;
        kernel_node *as = kernel_arena_alloc(I->a, sizeof *as), *t = kernel_arena_alloc(I->a, sizeof *t),
                    *v = kernel_arena_alloc(I->a, sizeof *v), **tk = kernel_arena_alloc(I->a, sizeof *tk);
        if (!as || !t || !v || !tk) {
            fail(I, UG_ENOMEM, f->pos, "out of memory");
            return;
        }
        *t = (kernel_node){.kind = N_NAME, .pos = f->params[pi].pos, .name = f->params[pi].name, .builtin = -1};
        *v = *t;
        v->symkind = SYM_PARAM;
        v->index = pi;
        *tk = t;
        *as = (kernel_node){.kind = N_ASSIGN, .pos = t->pos, .kids = tk, .nkids = 1, .b = v, .builtin = -1};
        kids[j++] = as;
    }
    memcpy(kids + j, f->body->kids, (size_t)f->body->nkids * sizeof *kids);
    f->body->kids = kids;
    f->body->nkids += n;
}

static bool type_function(infer *I, fstate *fs)
{
    kernel_func *f = fs->fn;
    int cap = 0;
    for (int k = 0; k < f->nparams; k++)
        f->params[k].ty = fs->pt[k];
    collect_locals(I, f, f->body, &cap);
    shadow_params(I, f);
    fs->lt = kernel_arena_alloc(I->a, (size_t)(f->nlocals + 1) * sizeof *fs->lt);
    if (!I->failed && !fs->lt)
        fail(I, UG_ENOMEM, f->pos, "out of memory");
    for (int k = 0; k < f->nlocals && fs->lt; k++)
        fs->lt[k] = T_VOID;
    if (!I->failed)
        check_assigned(I, fs);
    int iter = 0;
    do /* to a fixpoint: loops assign locals from themselves */
        fs->changed = fs->unresolved = false, block(I, fs, f->body);
    while (!I->failed && fs->changed && ++iter < 64);
    if (!I->failed && fs->unresolved) {
        fs->strict = true; /* report the read that never got a type */
        block(I, fs, f->body);
    }
    if (I->failed)
        return false;
    for (int k = 0; k < f->nlocals; k++)
        f->locals[k].ty = settle(fs->lt[k]);
    for (int k = 0; k < f->nparams; k++)
        f->params[k].ty = settle(fs->pt[k]);
    f->ret = fs->role == ROLE_GUFUNC || !fs->any_value_ret ? T_VOID : settle(fs->ret);
    if (fs->role == ROLE_SCALAR && fs->fixed_ret)
        f->ret = fs->ret;
    if ((fs->role == ROLE_SCALAR || fs->any_value_ret) && fs->falls_off)
        return fail(I, UG_ETYPE, f->pos, "function '%s' may reach its end without returning a value", f->name) != NULL;
    resolve_stmt(I, f->body, f->ret);
    return !I->failed;
}

static spec *new_spec(infer *I, const kernel_func *orig, const kernel_type *args, int nargs)
{
    spec *s = kernel_arena_alloc(I->a, sizeof *s);
    if (s)
        s->args = kernel_arena_alloc(I->a, (size_t)(nargs + 1) * sizeof *s->args);
    if (!s || !s->args || !(s->fn = copy_func(I, orig)))
        return fail(I, UG_ENOMEM, orig->pos, "out of memory");
    memcpy(s->args, args, (size_t)nargs * sizeof *args);
    s->orig = orig;
    s->nargs = nargs;
    s->busy = true;
    s->next = I->specs;
    I->specs = s;
    return s;
}

static spec *find_spec(infer *I, const kernel_func *orig, const kernel_type *args)
{
    for (spec *s = I->specs; s; s = s->next) {
        bool same = s->orig == orig;
        for (int k = 0; same && k < s->nargs; k++)
            same = same_type(s->args[k], args[k]);
        if (same)
            return s;
    }
    return NULL;
}

static kernel_func *specialise(infer *I, const kernel_func *orig, const kernel_type *args, kernel_pos at)
{
    spec *s = find_spec(I, orig, args);
    if (s && s->busy)
        return fail(I, UG_ETYPE, at, "recursive call to '%s' is not supported in kernels", orig->name);
    if (s)
        return s->fn;
    if (!(s = new_spec(I, orig, args, orig->nparams)))
        return NULL;
    fstate fs = {.fn = s->fn, .role = ROLE_HELPER, .pt = s->args, .ret = T_VOID};
    bool ok = type_function(I, &fs);
    s->busy = false;
    return ok ? s->fn : NULL;
}

/* --------------------------------------------------------------- the kernel */

static bool param_types(infer *I, const kernel_func *k, const kernel_infer_opts *o, kernel_type *pt)
{
    int want = o->gufunc ? o->nin + o->nout : o->nin;
    if (k->nparams != want) {
        if (o->gufunc)
            return fail(I, UG_ETYPE, k->pos, "kernel takes %d parameter%s but the signature has %d input%s and %d output%s",
                        k->nparams, k->nparams == 1 ? "" : "s", o->nin, o->nin == 1 ? "" : "s", o->nout,
                        o->nout == 1 ? "" : "s") != NULL;
        return fail(I, UG_ETYPE, k->pos, "kernel takes %d parameter%s but the signature has %d input%s", k->nparams,
                    k->nparams == 1 ? "" : "s", o->nin, o->nin == 1 ? "" : "s") != NULL;
    }
    for (int i = 0; i < want; i++) {
        int nd = o->args[i].ndim;
        if (o->gufunc && i >= o->nin && nd == 0)
            nd = 1; /* out[0] = v for an output with layout () */
        if (!ug_dtype_valid(o->args[i].dt))
            return fail(I, UG_ETYPE, k->pos, "argument %d has no valid dtype", i + 1) != NULL;
        pt[i] = nd > 0 ? (kernel_type){KT_ARRAY, (int8_t)o->args[i].dt, (uint8_t)nd, 0} : scalar(o->args[i].dt, false);
    }
    return true;
}

/* The kernel first, then every specialised helper reachable from it. */
static void collect_funcs(infer *I, kernel_node *n, kernel_typed *t, int cap)
{
    if (!n || I->failed)
        return;
    if (n->kind == N_CALL && n->callee) {
        bool seen = false;
        for (int k = 0; k < t->nfuncs; k++)
            seen |= t->funcs[k] == n->callee;
        if (!seen && t->nfuncs < cap) {
            t->funcs[t->nfuncs++] = n->callee;
            collect_funcs(I, n->callee->body, t, cap);
        }
    }
    kernel_node *kids[] = {n->a, n->b, n->cond, n->body, n->orelse, n->range[0], n->range[1], n->range[2]};
    for (size_t k = 0; k < sizeof kids / sizeof *kids; k++)
        collect_funcs(I, kids[k], t, cap);
    for (int k = 0; k < n->nkids; k++)
        collect_funcs(I, n->kids[k], t, cap);
}

static bool infer_kernel(infer *I, const kernel_func *kernel, const kernel_infer_opts *o)
{
    kernel_typed *t = I->t;
    kernel_type pt[UG_MAXARGS * 4];
    if (!param_types(I, kernel, o, pt))
        return false;
    spec *s = new_spec(I, kernel, pt, kernel->nparams);
    if (!s)
        return false;
    fstate fs = {.fn = s->fn, .role = o->gufunc ? ROLE_GUFUNC : ROLE_SCALAR, .pt = s->args, .ret = T_VOID};
    if (!o->gufunc && !o->infer_output) {
        fs.fixed_ret = true;
        fs.ret = scalar(o->args[o->nin].dt, false);
    }
    if (!type_function(I, &fs))
        return false;
    s->busy = false;
    int cap = 1;
    for (spec *x = I->specs; x; x = x->next)
        cap++;
    t->funcs = kernel_arena_alloc(I->a, (size_t)cap * sizeof *t->funcs);
    if (!t->funcs)
        return fail(I, UG_ENOMEM, kernel->pos, "out of memory") != NULL;
    t->kernel = t->funcs[t->nfuncs++] = s->fn;
    collect_funcs(I, s->fn->body, t, cap);
    t->out_dt = o->gufunc ? UG_DTYPE_NONE : (ug_dtype)s->fn->ret.dt;
    return !I->failed;
}

ug_status kernel_infer(const kernel_module *m, const kernel_func *kernel, const kernel_infer_opts *o,
                       kernel_typed **out, ug_error *err)
{
    *out = NULL;
    kernel_typed *t = calloc(1, sizeof *t);
    if (!t || !(t->arena = kernel_arena_new())) {
        free(t);
        return ug_err_set(err, UG_ENOMEM, "out of memory");
    }
    t->src = &m->src;
    t->gufunc = o->gufunc;
    t->nin = o->nin;
    t->nout = o->gufunc ? o->nout : 1;
    infer I = {.m = m, .t = t, .a = t->arena, .err = err, .kname = kernel->name};
    if (!infer_kernel(&I, kernel, o)) {
        kernel_typed_free(t);
        return err ? err->code : UG_ETYPE;
    }
    *out = t;
    return UG_OK;
}

void kernel_typed_free(kernel_typed *t)
{
    if (!t)
        return;
    kernel_arena_free(t->arena);
    free(t);
}
