/* infer.c — type inference: module + kernel + argument types → typed kernel.
 *
 * Each function is specialised on a deep copy in the typed kernel's arena:
 *   1. parameters get their types (signature, or a call site's arguments);
 *   2. locals are collected (every assigned name and loop variable);
 *   3. a syntactic pass checks every local is assigned before use on every
 *      path and notes whether the end of the body is reachable (assigned.c);
 *   4. the body is typed repeatedly until no local (or return) type changes:
 *      a local's type is the NEP 50 promotion of everything assigned to it,
 *      weak Python literals yielding to strong types;
 *   5. a last walk gives weak values concrete types ("Typed AST invariants"
 *      in kernel.h): a literal takes the type its parent converts it to,
 *      anything else weak becomes int64 / float64 / bool (concrete.c).
 * Helpers are specialised per tuple of argument types as calls reach them; a
 * call to a helper that is still being specialised is recursion (rejected).
 * The first error stops everything: `failed` is checked after every step.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/infer.h"

/* The float type a float function computes in, as NumPy picks its loop:
 * floats stay, a bool or an integer takes the smallest float that holds it
 * (np.exp(int8) is float16, of int16 float32, of int32 float64), a Python
 * number (weak) float64. */
static kernel_type float_of(kernel_type t)
{
    if (is_float(t))
        return t;
    return t.weak || !is_scalar(t) ? scalar(UG_FLOAT64, t.weak) : scalar(ug_promote((ug_dtype)t.dt, UG_FLOAT16), false);
}

void *kernel_fail(infer *I, ug_status code, kernel_pos pos, const char *fmt, ...)
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

const char *kernel_tstr(kernel_type t, char *buf) { return kernel_type_str((kernel_type){t.kind, t.dt, t.ndim, 0}, buf, 48); }

/* --------------------------------------------------------------- promotion */

kernel_type kernel_promote(kernel_type a, kernel_type b)
{
    if (!a.weak && !b.weak)
        return scalar(ug_promote((ug_dtype)a.dt, (ug_dtype)b.dt), false);
    if (a.weak && b.weak) { /* Python scalars: bool < int < float < complex */
        return is_complex(a) || is_complex(b) ? scalar(UG_COMPLEX128, true)
               : kind_of(a) == BASE_KIND_FLOAT || kind_of(b) == BASE_KIND_FLOAT ? scalar(UG_FLOAT64, true)
               : kind_of(a) == BASE_KIND_BOOL && kind_of(b) == BASE_KIND_BOOL ? scalar(UG_BOOL, true)
               : scalar(kind_of(a) == BASE_KIND_BOOL ? b.dt : kind_of(b) == BASE_KIND_BOOL ? a.dt
                        : a.dt == UG_UINT64 || b.dt == UG_UINT64 ? UG_UINT64 : UG_INT64, true);
    }
    kernel_type w = a.weak ? a : b, s = a.weak ? b : a;
    switch (kind_of(w)) {
    case BASE_KIND_BOOL: return s;
    case BASE_KIND_FLOAT: return is_inexact(s) ? s : scalar(UG_FLOAT64, false);
    case BASE_KIND_COMPLEX: /* float32 + 1j is complex64; an integer + 1j complex128 (NEP 50) */
        return is_complex(s) ? s : scalar(is_float(s) ? base_dtype_complex_of((ug_dtype)s.dt) : UG_COMPLEX128, false);
    default: return is_bool(s) ? scalar(UG_INT64, false) : s;
    }
}

/* A local's type after one more assignment of `v`. */
static kernel_type join(kernel_type old, kernel_type v)
{
    return old.kind == KT_VOID ? v : kernel_promote(old, v);
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
    c->str = copy_str(I, n->str);
    if (n->kwnames) {
        c->kwnames = kernel_arena_alloc(I->a, (size_t)(n->nkids ? n->nkids : 1) * sizeof *c->kwnames);
        for (int k = 0; c->kwnames && k < n->nkids; k++)
            c->kwnames[k] = copy_str(I, n->kwnames[k]);
    }
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

int kernel_local_index(const kernel_func *f, const char *name)
{
    for (int k = 0; k < f->nlocals; k++)
        if (strcmp(f->locals[k].name, name) == 0)
            return k;
    return -1;
}

static void add_local(infer *I, kernel_func *f, const kernel_node *name, int *cap)
{
    if (kernel_local_index(f, name->name) >= 0)
        return;
    if (f->nlocals == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        kernel_var *v = kernel_arena_alloc(I->a, (size_t)*cap * sizeof *v);
        if (!v) {
            kernel_fail(I, UG_ENOMEM, name->pos, "out of memory");
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
    case N_FOR:
        if (s->kids[0]->kind == N_NAME)
            add_local(I, f, s->kids[0], cap);
        for (int k = 0; s->kids[0]->kind == N_TUPLE && k < s->kids[0]->nkids; k++)
            add_local(I, f, s->kids[0]->kids[k], cap);
        /* fall through */
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

/* -------------------------------------------------------------- expressions */

static kernel_type expr(infer *I, fstate *fs, kernel_node *n);

/* The value must be a number (not an array, a shape, or nothing). */
static bool want_scalar(infer *I, kernel_node *n, kernel_type t)
{
    char b[48];
    if (I->failed || is_scalar(t))
        return !I->failed;
    if (t.kind == KT_ARRAY)
        return kernel_fail(I, UG_ETYPE, n->pos, "expected a number, found %s", kernel_tstr(t, b)) != NULL;
    if (t.kind == KT_SHAPE)
        return kernel_fail(I, UG_ETYPE, n->pos, "a.shape can only be indexed (a.shape[0]) or unpacked") != NULL;
    return kernel_fail(I, UG_ETYPE, n->pos, "this call returns no value") != NULL;
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

/* Arithmetic on bools as NumPy's loops type it: + and * stay bool (np.add
 * is logical or, np.multiply logical and), // % ** take NumPy's first
 * integer loop (int8). Python's own bools (two literals) and `-`, which
 * NumPy does not define for bools, compute in int64. */
static kernel_type bool_arith(int op, kernel_type t)
{
    if (!is_bool(t))
        return t;
    if (t.weak || op == TK_MINUS)
        return scalar(UG_INT64, t.weak);
    return op == TK_PLUS || op == TK_STAR ? t : scalar(UG_INT8, false);
}

/* The type `a op b` computes in (== its result type). */
static kernel_type binop_type(infer *I, kernel_node *at, int op, kernel_type a, kernel_type b)
{
    char x[48], y[48];
    if (I->failed)
        return T_VOID;
    if (!is_scalar(a) || !is_scalar(b))
        return kernel_fail(I, UG_ETYPE, at->pos, "cannot %s %s and %s", op_verb(op), kernel_tstr(a, x), kernel_tstr(b, y)), T_VOID;
    kernel_type t = kernel_promote(a, b);
    switch (op) {
    case TK_SLASH: return is_inexact(t) ? t : scalar(UG_FLOAT64, t.weak);
    case TK_DSLASH:
    case TK_PERCENT:
        if (is_complex(t))
            return kernel_fail(I, UG_ETYPE, at->pos, "cannot %s %s and %s (not defined for complex numbers)", op_verb(op),
                               kernel_tstr(a, x), kernel_tstr(b, y)),
                   T_VOID;
        return bool_arith(op, t);
    case TK_AMP:
    case TK_PIPE:
    case TK_CARET:
    case TK_LSHIFT:
    case TK_RSHIFT:
        if (is_inexact(t))
            return kernel_fail(I, UG_ETYPE, at->pos, "cannot %s %s and %s (bitwise operators need integers or bools)",
                        op_verb(op), kernel_tstr(a, x), kernel_tstr(b, y)),
                   T_VOID;
        return is_bool(t) && (op == TK_LSHIFT || op == TK_RSHIFT) ? scalar(UG_INT64, t.weak) : t;
    default: return bool_arith(op, t);
    }
}

/* Element-wise array expressions (a + 1, ~mask, np.isnan(a), a < b): the
 * node's .ty is an array of the element result, .opty the scalar type the
 * operation computes in; operands broadcast as NumPy's. */
static kernel_type unary_result(infer *I, kernel_node *n, kernel_type t);
static kernel_type elem_of(kernel_type t) { return t.kind == KT_ARRAY ? scalar(t.dt, false) : t; }

static kernel_type elementwise(infer *I, kernel_type r, kernel_type a, kernel_type b)
{
    int nd = a.kind == KT_ARRAY ? a.ndim : 0;
    if (b.kind == KT_ARRAY && b.ndim > nd)
        nd = b.ndim;
    I->t->fallible = true; /* operand shapes are checked at run time; a kept result is allocated */
    return (kernel_type){KT_ARRAY, r.dt, (uint8_t)nd, 0};
}

static kernel_type unary(infer *I, fstate *fs, kernel_node *n)
{
    kernel_type at = value_expr(I, fs, n->a);
    if (I->failed)
        return T_VOID;
    if (at.kind == KT_ARRAY && n->op == TK_NOT)
        return kernel_fail(I, UG_ETYPE, n->pos, "the truth value of an array is ambiguous (use ~ for element-wise not)"),
               T_VOID;
    kernel_type t = elem_of(at);
    n->opty = t;
    if (at.kind == KT_ARRAY) {
        kernel_type r = unary_result(I, n, t);
        return I->failed ? T_VOID : elementwise(I, r, at, at);
    }
    if (n->op == TK_NOT)
        return scalar(UG_BOOL, false);
    return unary_result(I, n, t);
}

/* The result of unary n->op on a value of type t (sets n->opty). */
static kernel_type unary_result(infer *I, kernel_node *n, kernel_type t)
{
    char b[48];
    n->opty = t;
    if (n->op == TK_TILDE && is_inexact(t))
        return kernel_fail(I, UG_ETYPE, n->pos, "bad operand type for ~: %s (needs an integer or bool)", kernel_tstr(t, b)), T_VOID;
    if (n->op != TK_TILDE && is_bool(t))
        n->opty = scalar(UG_INT64, t.weak);
    return n->opty;
}

/* The value of an int literal chain (300, -5, +-1): sign and magnitude; false if n is not one. */
bool kernel_literal_int(const kernel_node *n, bool *neg, uint64_t *mag)
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
bool kernel_int_holds(int dt, bool neg, uint64_t mag)
{
    unsigned bits = (unsigned)ug_dtype_size((ug_dtype)dt) * 8;
    if (base_dtype_kind((ug_dtype)dt) == BASE_KIND_UINT)
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
    if (!kernel_literal_int(w, &neg, &mag))
        return ug_dtype_size((ug_dtype)strong.dt) < 8 ? scalar(UG_INT64, false) : t;
    if (kernel_int_holds(strong.dt, neg, mag))
        return t;
    return strong.dt != UG_UINT64 && kernel_int_holds(UG_INT64, neg, mag) ? scalar(UG_INT64, false) : scalar(UG_FLOAT64, false);
}

static kernel_type array_of(infer *I, fstate *fs, kernel_node *n, const char *what);

/* A compile-time string: a literal, or a.dtype.kind ("f", "i", "u", "b"). */
static const char *const_string(infer *I, fstate *fs, kernel_node *n)
{
    if (n->kind == N_STR)
        return n->str;
    if (n->kind == N_ATTR && strcmp(n->name, "kind") == 0 && n->a->kind == N_ATTR && strcmp(n->a->name, "dtype") == 0) {
        kernel_type t = array_of(I, fs, n->a->a, "asked for its dtype");
        if (I->failed)
            return NULL;
        switch (base_dtype_kind((ug_dtype)t.dt)) {
        case BASE_KIND_FLOAT: return "f";
        case BASE_KIND_COMPLEX: return "c";
        case BASE_KIND_INT: return "i";
        case BASE_KIND_UINT: return "u";
        default: return "b";
        }
    }
    return NULL;
}

/* Complex numbers have no order: only == and != compare them (Python's
 * TypeError, NumPy's missing loop). Returns whether the pair is fine. */
static bool orderable(infer *I, kernel_node *n, int op, kernel_type t, kernel_type a, kernel_type b)
{
    char x[48], y[48];
    if (!is_complex(t) || op == TK_EQ || op == TK_NE)
        return true;
    const char *s = op == TK_LT ? "<" : op == TK_LE ? "<=" : op == TK_GT ? ">" : ">=";
    return kernel_fail(I, UG_ETYPE, n->pos, "'%s' is not supported between %s and %s (complex numbers have no order)", s,
                       kernel_tstr(a, x), kernel_tstr(b, y)) != NULL;
}

static kernel_type compare(infer *I, fstate *fs, kernel_node *n)
{
    char x[48], y[48];
    const char *sa, *sb;
    if (n->nkids == 2 && (n->cmpops[0] == TK_EQ || n->cmpops[0] == TK_NE) && (sa = const_string(I, fs, n->kids[0])) &&
        (sb = const_string(I, fs, n->kids[1]))) { /* out.dtype.kind == "f": decided at compile time */
        n->ival = (strcmp(sa, sb) == 0) == (n->cmpops[0] == TK_EQ);
        n->kind = N_BOOL;
        n->nkids = 0;
        return scalar(UG_BOOL, false);
    }
    if (I->failed)
        return T_VOID;
    kernel_type prev = value_expr(I, fs, n->kids[0]);
    for (int k = 1; k < n->nkids && !I->failed; k++) {
        kernel_type cur = value_expr(I, fs, n->kids[k]);
        if (I->failed)
            break;
        if (n->nkids == 2 && (prev.kind == KT_ARRAY || cur.kind == KT_ARRAY) && is_scalar(elem_of(prev)) &&
            is_scalar(elem_of(cur))) {
            n->cmptys[0] = compare_type(n->kids[0], elem_of(prev), n->kids[1], elem_of(cur));
            if (!orderable(I, n, n->cmpops[0], n->cmptys[0], elem_of(prev), elem_of(cur)))
                return T_VOID;
            return elementwise(I, scalar(UG_BOOL, false), prev, cur);
        }
        if (!is_scalar(prev) || !is_scalar(cur))
            return kernel_fail(I, UG_ETYPE, n->pos, "cannot compare %s and %s", kernel_tstr(prev, x), kernel_tstr(cur, y)), T_VOID;
        n->cmptys[k - 1] = compare_type(n->kids[k - 1], prev, n->kids[k], cur);
        if (!orderable(I, n, n->cmpops[k - 1], n->cmptys[k - 1], prev, cur))
            return T_VOID;
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

static const kernel_const *module_const(const kernel_module *m, const char *name)
{
    for (int k = m->nconsts - 1; k >= 0; k--)
        if (strcmp(m->consts[k].name, name) == 0)
            return &m->consts[k];
    return NULL;
}

static kernel_type expr_kind(infer *I, fstate *fs, kernel_node *n);

/* n (a name of a module constant, or PAIR[k] of a tuple constant) becomes
 * the constant's value: Python resolves a global when the function runs,
 * and Numba freezes it at compile time with its own type, so a Python
 * number is int64 / float64 / bool (not a weak literal), as a local
 * assigned a bare literal is; np.float32(1.5) keeps float32. */
static kernel_type subst_const(infer *I, fstate *fs, kernel_node *n, const kernel_node *value, const char *name)
{
    if (I->const_depth >= 32)
        return kernel_fail(I, UG_ETYPE, n->pos, "module constant '%s' refers to itself", name), T_VOID;
    if (value->kind == N_TUPLE)
        return kernel_fail(I, UG_ETYPE, n->pos, "tuple constant '%s' can only be indexed with a constant (%s[0])", name,
                    name), T_VOID;
    kernel_node *v = copy_node(I, value), *c = kernel_arena_alloc(I->a, sizeof *c);
    if (!v || !c)
        return kernel_fail(I, UG_ENOMEM, n->pos, "out of memory"), T_VOID;
    I->const_depth++;
    kernel_type t = expr(I, fs, v);
    I->const_depth--;
    if (I->failed)
        return T_VOID;
    if (t.kind != KT_SCALAR)
        return kernel_fail(I, UG_ETYPE, n->pos, "module constant '%s' is not a number", name), T_VOID;
    *c = (kernel_node){.kind = N_CAST, .pos = n->pos, .a = v, .ty = kernel_settle(t), .opty = kernel_settle(t), .builtin = -1};
    *n = *c;
    return n->ty;
}

/* PAIR[k]: element k (a constant int, negative from the end) of a tuple constant; false if n is not one. */
static bool tuple_const_index(infer *I, fstate *fs, kernel_node *n, kernel_type *t)
{
    kernel_node *a = n->a;
    if (a->kind != N_NAME || a->prefixed || kernel_local_index(fs->fn, a->name) >= 0 || param_index(fs->fn, a->name) >= 0)
        return false;
    const kernel_const *mc = module_const(I->m, a->name);
    if (!mc || mc->value->kind != N_TUPLE)
        return false;
    bool neg;
    uint64_t mag;
    int len = mc->value->nkids;
    if (n->nkids != 1 || !kernel_literal_int(n->kids[0], &neg, &mag) || mag > (uint64_t)len || (!neg && mag == (uint64_t)len)) {
        kernel_fail(I, UG_ETYPE, n->pos, "tuple constant '%s' (%d values) takes a constant index in range", a->name, len);
        return true;
    }
    int k = neg ? len - (int)mag : (int)mag;
    *t = subst_const(I, fs, n, mc->value->kids[k], a->name);
    return true;
}

static kernel_type name_type(infer *I, fstate *fs, kernel_node *n)
{
    int k = kernel_local_index(fs->fn, n->name);
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
                return kernel_fail(I, UG_ENAME, n->pos, "local variable '%s' may be used before assignment", n->name), T_VOID;
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
    const kernel_const *mc = n->prefixed ? NULL : module_const(I->m, n->name);
    if (mc)
        return subst_const(I, fs, n, mc->value, mc->name);
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
        return kernel_fail(I, UG_ETYPE, n->pos, "function '%s' cannot be used as a value", n->name), T_VOID;
    if (kernel_builtin_lookup(n->name, NULL) >= 0)
        return kernel_fail(I, UG_ETYPE, n->pos, "'%s' is a function: it cannot be used as a value", n->name), T_VOID;
    return kernel_fail(I, UG_ENAME, n->pos, "name '%s' is not defined", n->name), T_VOID;
}

/* An array expression (argument, local, view, new array), else an error. */
static kernel_type array_of(infer *I, fstate *fs, kernel_node *n, const char *what)
{
    char b[48];
    kernel_type t = expr(I, fs, n);
    if (!I->failed && t.kind != KT_ARRAY) {
        if (n->kind == N_NAME)
            return kernel_fail(I, UG_ETYPE, n->pos, "'%s' is %s, not an array: it cannot be %s", n->name, kernel_tstr(t, b), what),
                   T_VOID;
        return kernel_fail(I, UG_ETYPE, n->pos, "this is %s, not an array: it cannot be %s", kernel_tstr(t, b), what), T_VOID;
    }
    return t;
}

static bool want_index(infer *I, fstate *fs, kernel_node *ix, const char *what)
{
    char b[48];
    kernel_type t = scalar_expr(I, fs, ix);
    if (!I->failed && (!is_intlike(t) || is_bool(t)))
        kernel_fail(I, UG_ETYPE, ix->pos, "%s must be an integer, not %s", what, kernel_tstr(t, b));
    return !I->failed;
}

static kernel_type number_attr(infer *I, fstate *fs, kernel_node *n, const char *fn);

static kernel_type attr(infer *I, fstate *fs, kernel_node *n)
{
    if (strcmp(n->name, "real") == 0 || strcmp(n->name, "imag") == 0)
        return number_attr(I, fs, n, n->name);
    kernel_type t = array_of(I, fs, n->a, "asked for attributes");
    if (I->failed)
        return T_VOID;
    if (strcmp(n->name, "shape") == 0)
        return (kernel_type){KT_SHAPE, UG_DTYPE_NONE, t.ndim, 0};
    if (strcmp(n->name, "size") == 0 || strcmp(n->name, "ndim") == 0)
        return scalar(UG_INT64, false);
    if (strcmp(n->name, "flat") == 0) {
        if (t.ndim != 1)
            return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "a.flat of a %d-d array is not supported in kernels (only 1-d)",
                        t.ndim), T_VOID;
        return t; /* a 1-d array's flat iterator visits what the array does */
    }
    if (strcmp(n->name, "T") == 0)
        return t; /* a view with the axes reversed */
    if (strcmp(n->name, "dtype") == 0)
        return kernel_fail(I, UG_ETYPE, n->pos, "a.dtype can only be used as a.dtype.type(x) or dtype=a.dtype in kernels"),
               T_VOID;
    return kernel_fail(I, UG_ETYPE, n->pos,
                "arrays have no attribute '%s' in kernels (only shape, size, ndim, flat, T, dtype.type)", n->name),
           T_VOID;
}

/* a.shape[k] */
static kernel_type shape_index(infer *I, fstate *fs, kernel_node *n)
{
    kernel_type s = n->a->ty = attr(I, fs, n->a);
    if (I->failed)
        return T_VOID;
    if (s.kind != KT_SHAPE || n->nkids != 1)
        return kernel_fail(I, UG_ETYPE, n->pos, "a.shape takes exactly one index"), T_VOID;
    if (!want_index(I, fs, n->kids[0], "a shape index"))
        return T_VOID;
    kernel_node *k = n->kids[0];
    if (k->kind == N_INT && (k->ival >= s.ndim || k->big))
        return kernel_fail(I, UG_ETYPE, k->pos, "index %lld is out of range for the shape of a %d-d array",
                    (long long)k->ival, s.ndim), T_VOID;
    return scalar(UG_INT64, false);
}

static bool slice_part(infer *I, fstate *fs, kernel_node *x)
{
    char b[48];
    if (!x)
        return true;
    kernel_type t = scalar_expr(I, fs, x);
    if (!I->failed && (!is_intlike(t) || is_bool(t)))
        kernel_fail(I, UG_ETYPE, x->pos, "slice bounds must be integers, not %s", kernel_tstr(t, b));
    return !I->failed;
}

/* A shape tuple value (a.shape, a local holding one, an ndindex variable). */
static bool is_shape_value(infer *I, fstate *fs, kernel_node *n, kernel_type *t)
{
    if (n->kind != N_NAME && !(n->kind == N_ATTR && strcmp(n->name, "shape") == 0))
        return false;
    *t = expr(I, fs, n);
    return !I->failed && t->kind == KT_SHAPE;
}

/* a[i, j], a[idx] (a tuple), a[i] of a 2-d array (a row view), a[lo:hi:step, j] (a view). */
static kernel_type index_expr(infer *I, fstate *fs, kernel_node *n)
{
    if (n->a->kind == N_ATTR && strcmp(n->a->name, "shape") == 0)
        return shape_index(I, fs, n);
    kernel_type at;
    if (tuple_const_index(I, fs, n, &at))
        return I->failed ? T_VOID : at;
    if (n->a->kind == N_NAME && is_shape_value(I, fs, n->a, &at)) { /* s[k] of a shape tuple */
        if (n->nkids != 1 || n->kids[0]->kind == N_SLICE)
            return kernel_fail(I, UG_ETYPE, n->pos, "a shape tuple takes exactly one integer index"), T_VOID;
        return want_index(I, fs, n->kids[0], "a tuple index") ? scalar(UG_INT64, false) : T_VOID;
    }
    if (I->failed)
        return T_VOID;
    kernel_type t = array_of(I, fs, n->a, "indexed");
    if (I->failed)
        return T_VOID;
    kernel_type st;
    if (n->nkids == 1 && is_shape_value(I, fs, n->kids[0], &st)) { /* a[idx] with a tuple idx */
        if (st.ndim != t.ndim)
            return kernel_fail(I, UG_ETYPE, n->pos, "a %d-d array is indexed with a tuple of %d", t.ndim, st.ndim), T_VOID;
        n->opty = st; /* marks the tuple index for lowering */
        return scalar(t.dt, false);
    }
    if (I->failed)
        return T_VOID;
    if (n->nkids == 1 && n->kids[0]->kind != N_SLICE) { /* a[mask]: a boolean array of a's shape */
        kernel_type mt = value_expr(I, fs, n->kids[0]);
        if (I->failed)
            return T_VOID;
        if (mt.kind == KT_ARRAY) {
            bool fancy = mt.dt != UG_BOOL && is_intlike(scalar(mt.dt, false)) && mt.ndim == 1 && t.ndim == 1;
            if (fancy && I->store_target)
                return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "a[indices] = v is not supported in kernels (a[mask] = v "
                                                        "is)"), T_VOID;
            if (!fancy && (mt.dt != UG_BOOL || mt.ndim != t.ndim))
                return kernel_fail(I, UG_ETYPE, n->kids[0]->pos, "an array index must be a boolean mask of the array's %d "
                                                          "dimension%s or a 1-d array of integers indexing a 1-d "
                                                          "array", t.ndim, t.ndim == 1 ? "" : "s"), T_VOID;
            n->opty = mt; /* marks the mask (bool) or the indices (int) for lowering */
            I->t->fallible = true; /* the mask's shape is checked at run time */
            return (kernel_type){KT_ARRAY, t.dt, 1, 0};
        }
    }
    if (n->nkids > t.ndim)
        return kernel_fail(I, UG_ETYPE, n->pos, "too many indices: a %d-d array is indexed with %d", t.ndim, n->nkids),
               T_VOID;
    int keep = t.ndim - n->nkids;
    for (int k = 0; k < n->nkids; k++) {
        kernel_node *x = n->kids[k];
        if (x->kind == N_SLICE) {
            if (!slice_part(I, fs, x->a) || !slice_part(I, fs, x->b) || !slice_part(I, fs, x->cond))
                return T_VOID;
            if (x->cond) /* a step that may be zero: ValueError at run time */
                I->t->fallible = true;
            keep++;
            x->ty = T_VOID;
        } else if (!want_index(I, fs, x, "an array index")) {
            return T_VOID;
        }
    }
    if (keep == 0)
        return scalar(t.dt, false);
    return (kernel_type){KT_ARRAY, t.dt, (uint8_t)keep, 0};
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
    case B_COMPLEX: return -1; /* 1 or 2: checked by complex_builtin */
    default: return 1;
    }
}

static bool check_arity(infer *I, kernel_node *n, int b)
{
    int want = builtin_arity(b);
    if (want == -2 && n->nkids < 2)
        return kernel_fail(I, UG_ETYPE, n->pos, "%s() needs at least 2 arguments (%d given)", n->name, n->nkids) != NULL;
    if (want >= 0 && n->nkids != want)
        return kernel_fail(I, UG_ETYPE, n->pos, "%s() takes %d argument%s (%d given)", n->name, want, want == 1 ? "" : "s",
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
    case B_FLOOR: /* NumPy 2's integer loops: the value itself */
    case B_CEIL:
    case B_TRUNC:
    case B_FMAX:
    case B_FMIN: return p;
    case B_SIGN: return is_bool(p) ? scalar(UG_INT64, p.weak) : p;
    default: return float_of(p);
    }
}

/* A function NumPy defines for complex numbers (computed in the complex
 * dtype itself). */
static bool complex_fn(int b)
{
    switch (b) {
    case B_EXP: case B_LOG: case B_LOG2: case B_LOG10: case B_SQRT: case B_SIN: case B_COS: case B_TAN:
    case B_SINH: case B_COSH: case B_TANH: case B_ASIN: case B_ACOS: case B_ATAN: case B_ASINH:
    case B_ACOSH: case B_ATANH: case B_EXPM1: case B_LOG1P: return true;
    default: return false;
    }
}

/* Builtin b on arguments promoted to p, where p is complex or b is one of
 * the complex builtins (complex, conj, real, imag, angle): sets n->opty,
 * returns the result type. */
static kernel_type complex_builtin(infer *I, kernel_node *n, int b, kernel_type p)
{
    char x[48];
    kernel_type part = is_complex(p) ? scalar(base_dtype_part((ug_dtype)p.dt), p.weak) : p;
    n->opty = p;
    switch (b) {
    case B_COMPLEX:
        if (n->nkids < 1 || n->nkids > 2)
            return kernel_fail(I, UG_ETYPE, n->pos, "complex() takes 1 or 2 arguments (%d given)", n->nkids), T_VOID;
        if (is_complex(p))
            return kernel_fail(I, UG_ETYPE, n->pos, "complex() takes real arguments in kernels, not %s", kernel_tstr(p, x)),
                   T_VOID;
        n->opty = scalar(UG_FLOAT64, false); /* Python's complex(): always complex128 */
        return scalar(UG_COMPLEX128, false);
    case B_CONJ: return p;
    case B_REAL: case B_IMAG: case B_ABS: return part;
    case B_ANGLE:
        if (!is_complex(p))
            n->opty = float_of(p);
        return is_complex(p) ? part : n->opty;
    case B_POW: return n->opty = binop_type(I, n, TK_DSTAR, p, p);
    case B_ISNAN: case B_ISINF: case B_ISFINITE: return scalar(UG_BOOL, false);
    default:
        if (complex_fn(b))
            return p;
        return kernel_fail(I, UG_ETYPE, n->pos, "%s() is not supported for %s arguments", n->name, kernel_tstr(p, x)),
               T_VOID;
    }
}

static kernel_type builtin_call(infer *I, fstate *fs, kernel_node *n, int b, ug_dtype cast_to)
{
    if (b == B_RANGE)
        return kernel_fail(I, UG_ETYPE, n->pos, "range() can only be used in a for loop header"), T_VOID;
    if (!check_arity(I, n, b))
        return T_VOID;
    n->builtin = b;
    if (b == B_INT || b == B_FLOAT || b == B_BOOL || b == B_CAST) {
        kernel_type t = cast(I, fs, n, b == B_INT ? UG_INT64 : b == B_FLOAT ? UG_FLOAT64 : b == B_BOOL ? UG_BOOL : cast_to);
        if (!I->failed && (b == B_INT || b == B_FLOAT) && is_complex(n->a->ty)) /* Python's TypeError */
            return kernel_fail(I, UG_ETYPE, n->pos, "cannot convert a complex number to %s (take .real or abs())",
                               b == B_INT ? "int" : "float"), T_VOID;
        return t;
    }
    if (b == B_LEN) {
        array_of(I, fs, n->kids[0], "passed to len()");
        n->opty = scalar(UG_INT64, false);
        return I->failed ? T_VOID : n->opty;
    }
    kernel_type arr = T_VOID; /* an array argument: the call is element-wise (np.isnan(a), np.sqrt(a)) */
    kernel_type p = T_VOID;
    for (int k = 0; k < n->nkids && !I->failed; k++) {
        kernel_type t = b == B_MIN || b == B_MAX ? scalar_expr(I, fs, n->kids[k]) : value_expr(I, fs, n->kids[k]);
        if (t.kind == KT_ARRAY && (arr.kind != KT_ARRAY || t.ndim > arr.ndim))
            arr = t;
        p = k == 0 ? elem_of(t) : kernel_promote(p, elem_of(t));
    }
    if (I->failed)
        return T_VOID;
    kernel_type r;
    if (is_complex(p) || (b >= B_COMPLEX && b <= B_IMAG))
        r = complex_builtin(I, n, b, p);
    else if (b == B_POW)
        r = n->opty = binop_type(I, n, TK_DSTAR, p, p);
    else
        r = (n->opty = builtin_opty(b, p), b == B_ISNAN || b == B_ISINF || b == B_ISFINITE ? scalar(UG_BOOL, false)
                                                                                              : n->opty);
    if (I->failed)
        return T_VOID;
    return arr.kind == KT_ARRAY ? elementwise(I, r, arr, arr) : r;
}

/* Make n (x.attr or x.method()) the call name(x), typed as such. */
static kernel_type as_call(infer *I, fstate *fs, kernel_node *n, const char *name)
{
    kernel_node **kids = kernel_arena_alloc(I->a, sizeof *kids);
    if (!kids)
        return kernel_fail(I, UG_ENOMEM, n->pos, "out of memory"), T_VOID;
    kids[0] = n->a;
    n->kind = N_CALL;
    n->kids = kids;
    n->nkids = 1;
    n->kwnames = NULL;
    n->a = NULL;
    n->name = name;
    n->prefixed = 1; /* never a helper */
    return builtin_call(I, fs, n, kernel_builtin_lookup(name, NULL), UG_DTYPE_NONE);
}

/* z.real, z.imag, z.conjugate() of a number (NumPy's and Python's; also
 * defined for real numbers). Arrays: unsupported. */
static kernel_type number_attr(infer *I, fstate *fs, kernel_node *n, const char *fn)
{
    kernel_type t = value_expr(I, fs, n->a);
    if (I->failed)
        return T_VOID;
    if (t.kind == KT_ARRAY)
        return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "a.%s of an array is not supported in kernels (use it on elements)",
                           n->name), T_VOID;
    return as_call(I, fs, n, fn);
}

static kernel_func *specialise(infer *I, const kernel_func *orig, const kernel_type *args, kernel_pos at);

static kernel_type helper_call(infer *I, fstate *fs, kernel_node *n, const kernel_func *g)
{
    if (n->kwnames)
        for (int k = 0; k < n->nkids; k++)
            if (n->kwnames[k])
                return kernel_fail(I, UG_EUNSUPPORTED, n->kids[k]->pos,
                            "keyword arguments to helper functions are not supported in kernels"), T_VOID;
    if (n->nkids != g->nparams)
        return kernel_fail(I, UG_ETYPE, n->pos, "%s() takes %d argument%s (%d given)", n->name, g->nparams,
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

/* ------------------------------------------------------------ local arrays */

/* The dtype named by a dtype= argument: np.float64, float, np.bool_, a.dtype. */
static int dtype_arg(infer *I, fstate *fs, kernel_node *x)
{
    if (x->kind == N_NAME) {
        ug_dtype t = strcmp(x->name, "bool") == 0 ? UG_BOOL : ug_dtype_from_name(x->name);
        if (t != UG_DTYPE_NONE && strlen(x->name) > 1)
            return t;
    }
    if (x->kind == N_ATTR && strcmp(x->name, "dtype") == 0) {
        kernel_type t = array_of(I, fs, x->a, "asked for its dtype");
        return I->failed ? -1 : t.dt;
    }
    kernel_fail(I, UG_ETYPE, x->pos, "dtype= takes a dtype name (np.float64, np.int64, np.bool_, ...) or a.dtype in kernels");
    return -1;
}

/* The dimensions of a shape argument: an int, a tuple of ints, or a.shape. */
static int shape_arg(infer *I, fstate *fs, kernel_node *x)
{
    kernel_type t;
    if (x->kind == N_TUPLE) {
        if (x->nkids < 1 || x->nkids > UG_MAXDIMS)
            return kernel_fail(I, UG_ETYPE, x->pos, "a shape has 1 to %d dimensions", UG_MAXDIMS), -1;
        for (int k = 0; k < x->nkids; k++)
            if (!want_index(I, fs, x->kids[k], "a dimension"))
                return -1;
        x->ty = (kernel_type){KT_SHAPE, UG_DTYPE_NONE, (uint8_t)x->nkids, 0};
        return x->nkids;
    }
    if (is_shape_value(I, fs, x, &t))
        return t.ndim;
    if (I->failed || !want_index(I, fs, x, "a shape"))
        return -1;
    return 1;
}

/* new_array on a call it has seen: kids[0] the shape or model, .b the fill,
 * .ival 1 if the dtype was given (dtype= or the model's), in .opty. */
static kernel_type new_array_again(infer *I, fstate *fs, kernel_node *n, bool like)
{
    int ndim, dt = n->opty.dt;
    if (like) {
        kernel_type t = array_of(I, fs, n->kids[0], "the model of a new array");
        ndim = t.ndim;
    } else {
        ndim = shape_arg(I, fs, n->kids[0]);
    }
    if (n->b) {
        kernel_type ft = scalar_expr(I, fs, n->b);
        if (!I->failed && !n->ival)
            dt = kernel_settle(ft).dt;
    }
    if (I->failed || ndim < 0)
        return T_VOID;
    n->opty = scalar(dt, false);
    return (kernel_type){KT_ARRAY, (int8_t)dt, (uint8_t)ndim, 0};
}

/* np.empty/zeros/ones/full(shape[, fill], dtype=...) and the *_like forms.
 * After inference: kids[0] the shape (int, N_TUPLE, shape value) or the
 * array of a *_like; .b the fill value (full, full_like) or NULL; .ty the
 * array type. */
static kernel_type new_array(infer *I, fstate *fs, kernel_node *n, int b)
{
    bool like = b >= B_EMPTY_LIKE, full = b == B_FULL || b == B_FULL_LIKE;
    kernel_node *shape = NULL, *fill = NULL, *dtype = NULL;
    int npos = 0;
    if (n->builtin == b) /* typed before (the fixpoint runs again): arguments already sorted */
        return new_array_again(I, fs, n, like);
    for (int k = 0; k < n->nkids; k++) {
        const char *kw = n->kwnames ? n->kwnames[k] : NULL;
        kernel_node *x = n->kids[k];
        if (!kw && npos == 0)
            shape = x, npos++;
        else if (!kw && npos == 1 && full)
            fill = x, npos++;
        else if (!kw && npos == (full ? 2 : 1) && !dtype)
            dtype = x, npos++;
        else if (kw && strcmp(kw, like ? "a" : "shape") == 0 && !shape)
            shape = x;
        else if (kw && full && strcmp(kw, "fill_value") == 0 && !fill)
            fill = x;
        else if (kw && strcmp(kw, "dtype") == 0 && !dtype)
            dtype = x;
        else if (kw)
            return kernel_fail(I, UG_ETYPE, x->pos, "%s() got an unexpected keyword argument '%s' in a kernel", n->name, kw),
                   T_VOID;
        else
            return kernel_fail(I, UG_ETYPE, x->pos, "%s() takes at most %d positional arguments", n->name, full ? 3 : 2),
                   T_VOID;
    }
    if (!shape || (full && !fill))
        return kernel_fail(I, UG_ETYPE, n->pos, "%s() needs %s", n->name,
                    full ? (like ? "an array and a fill value" : "a shape and a fill value")
                         : like ? "an array" : "a shape"), T_VOID;
    int ndim, dt = UG_FLOAT64;
    if (like) {
        kernel_type t = array_of(I, fs, shape, "the model of a new array");
        ndim = t.ndim, dt = t.dt;
    } else {
        ndim = shape_arg(I, fs, shape);
    }
    if (I->failed || ndim < 0)
        return T_VOID;
    if (dtype && (dt = dtype_arg(I, fs, dtype)) < 0)
        return T_VOID;
    if (fill) {
        kernel_type ft = scalar_expr(I, fs, fill);
        if (!I->failed && !dtype && !like) /* np.full(n, 2) is an int64 array, np.full(n, 2.5) a float64 one */
            dt = kernel_settle(ft).dt;
    }
    if (I->failed)
        return T_VOID;
    n->ival = dtype || like;
    n->builtin = b;
    I->t->fallible = true; /* a size may be negative or too large: an error at run time */
    n->kids[0] = shape;
    n->nkids = 1;
    n->kwnames = NULL;
    n->b = fill;
    n->opty = scalar(dt, false);
    return (kernel_type){KT_ARRAY, (int8_t)dt, (uint8_t)ndim, 0};
}

/* --------------------------------------------------------- array functions
 * np.sum(a), a.sum(axis=1), np.where(c, x, y), np.sort(a), [x, y], ...:
 * after the first pass a call is in canonical form (see "Array functions"
 * in kernel.h): kids the array operands, .b the extra operand, .ival the
 * axis (-1: the whole array) or the dtype of astype, .name the canonical
 * spelling, no keywords, no receiver; later passes of the fixpoint type
 * that form again. */

/* The parameters of each array function, in positional order; a name
 * starting with '*' is keyword-only. */
static const char *const *fn_params(int b)
{
    static const char *const red[] = {"a", "axis", NULL}, *const var[] = {"a", "axis", "*ddof", NULL},
                             *const qt[] = {"a", "q", "axis", NULL}, *const wh[] = {"condition", "x", "y", NULL},
                             *const part[] = {"a", "kth", "axis", NULL}, *const one[] = {"a", NULL},
                             *const arr[] = {"object", "dtype", NULL}, *const diff[] = {"a", "n", "axis", NULL},
                             *const two[] = {"a", "b", NULL}, *const norm[] = {"x", "ord", "axis", NULL},
                             *const fill[] = {"a", "value", NULL}, *const uniq[] = {"ar", NULL};
    switch (b) {
    case B_VAR: case B_STD: case B_NANVAR: case B_NANSTD: return var;
    case B_QUANTILE: case B_NANQUANTILE: case B_PERCENTILE: case B_NANPERCENTILE: return qt;
    case B_WHERE: return wh;
    case B_PARTITION: return part;
    case B_COPY: case B_LIST: return one;
    case B_UNIQUE: return uniq;
    case B_ARRAY: return arr;
    case B_DIFF: return diff;
    case B_DOT: case B_VDOT: case B_OUTER: return two;
    case B_NORM: return norm;
    case B_FILL: return fill;
    default: return red;
    }
}

/* Sort a call's arguments into fn_params order (NULL where not given). */
static bool bind_args(infer *I, kernel_node *n, int b, kernel_node **out)
{
    const char *const *ps = fn_params(b);
    int np = 0, npos = 0;
    while (ps[np])
        np++;
    for (int k = 0; k < np; k++)
        out[k] = NULL;
    for (int k = 0; k < n->nkids; k++) {
        const char *kw = n->kwnames ? n->kwnames[k] : NULL;
        int at = -1;
        if (!kw) {
            if (npos < np && ps[npos][0] != '*')
                at = npos++;
            else
                return kernel_fail(I, UG_ETYPE, n->kids[k]->pos, "%s() takes at most %d positional argument%s in kernels",
                            n->name, npos, npos == 1 ? "" : "s") != NULL;
        } else {
            for (int j = 0; j < np && at < 0; j++)
                if (strcmp(kw, ps[j] + (ps[j][0] == '*')) == 0)
                    at = j;
            if (at < 0)
                return kernel_fail(I, UG_ETYPE, n->kids[k]->pos, "%s() got an unexpected keyword argument '%s' in a kernel",
                            n->name, kw) != NULL;
        }
        if (out[at])
            return kernel_fail(I, UG_ETYPE, n->kids[k]->pos, "%s() got multiple values for argument '%s'", n->name,
                        ps[at] + (ps[at][0] == '*')) != NULL;
        out[at] = n->kids[k];
    }
    if (!out[0])
        return kernel_fail(I, UG_ETYPE, n->pos, "%s() needs %s", n->name, b == B_WHERE ? "three arguments" : "an array") !=
               NULL;
    return true;
}

/* An integer literal (possibly negated): its value. */
static bool int_literal(const kernel_node *x, int64_t *v)
{
    bool neg = false;
    while (x->kind == N_UNARY && (x->op == TK_MINUS || x->op == TK_PLUS)) {
        neg ^= x->op == TK_MINUS;
        x = x->a;
    }
    if (x->kind != N_INT || x->big)
        return false;
    *v = neg ? -x->ival : x->ival;
    return true;
}

/* axis= as a constant: normalised to 0..ndim-1; -1 when not given. */
static int axis_arg(infer *I, kernel_node *x, int ndim)
{
    int64_t v;
    if (!x)
        return -1;
    if (!int_literal(x, &v))
        return kernel_fail(I, UG_ETYPE, x->pos, "axis= must be an integer constant in kernels"), -2;
    if (v < -ndim || v >= ndim)
        return kernel_fail(I, UG_ETYPE, x->pos, "axis %lld is out of bounds for an array of dimension %d", (long long)v, ndim),
               -2;
    return (int)(v < 0 ? v + ndim : v);
}

/* The dtype a sum or product of dt accumulates in (NumPy's add.reduce):
 * small and signed ints and bool in int64, unsigned in uint64. */
static int sum_dtype(int dt)
{
    base_kind k = base_dtype_kind((ug_dtype)dt);
    return k == BASE_KIND_FLOAT || k == BASE_KIND_COMPLEX ? dt : k == BASE_KIND_UINT ? UG_UINT64 : UG_INT64;
}

static int float_dtype(int dt)
{
    base_kind k = base_dtype_kind((ug_dtype)dt);
    return k == BASE_KIND_FLOAT || k == BASE_KIND_COMPLEX ? dt : UG_FLOAT64;
}

static bool complex_dt(int dt) { return dt == UG_COMPLEX64 || dt == UG_COMPLEX128; }

static kernel_type array_t(int dt, int ndim) { return (kernel_type){KT_ARRAY, (int8_t)dt, (uint8_t)ndim, 0}; }

/* sum prod mean var std amin amax argmin argmax any all, the nan* forms,
 * count_nonzero: a number, or with axis= on an n-d array an (n-1)-d array. */
static kernel_type reduction(infer *I, fstate *fs, kernel_node *n, int b, kernel_node **arg, bool again)
{
    kernel_type t = array_of(I, fs, n->kids[0], "reduced");
    if (I->failed)
        return T_VOID;
    if (!again) {
        int ax = axis_arg(I, arg[1], t.ndim);
        if (ax == -2)
            return T_VOID;
        n->ival = t.ndim == 1 ? -1 : ax;
        n->b = arg[2]; /* ddof */
    }
    if (n->b && !want_index(I, fs, n->b, "ddof"))
        return T_VOID;
    int dt = t.dt, acc, res;
    switch (b) {
    case B_SUM: case B_PROD: case B_NANSUM: case B_NANPROD: acc = res = sum_dtype(dt); break;
    case B_MEAN: case B_NANMEAN: acc = res = float_dtype(dt); break;
    case B_VAR: case B_STD: case B_NANVAR: case B_NANSTD: /* of complex elements: real, the parts' dtype */
        acc = res = base_dtype_kind((ug_dtype)dt) == BASE_KIND_COMPLEX ? (int)base_dtype_part((ug_dtype)dt) : float_dtype(dt);
        break;
    case B_ARGMIN: case B_ARGMAX: case B_NANARGMIN: case B_NANARGMAX: acc = dt, res = UG_INT64; break;
    case B_ANY: case B_ALL: acc = res = UG_BOOL; break;
    case B_COUNT_NONZERO: acc = res = UG_INT64; break;
    default: acc = res = dt; break; /* amin amax nanmin nanmax */
    }
    if (b == B_AMIN || b == B_AMAX || b == B_NANMIN || b == B_NANMAX || b == B_ARGMIN || b == B_ARGMAX ||
        b == B_NANARGMIN || b == B_NANARGMAX || n->ival >= 0 || t.ndim > 1)
        I->t->fallible = true; /* an empty (or all-NaN) array is a ValueError; an n-d operand is copied, an
                                  axis result allocated */
    n->opty = scalar(acc, false);
    return n->ival >= 0 ? array_t(res, t.ndim - 1) : scalar(res, false);
}

/* median, quantile(a, q), percentile(a, q) and the nan* forms: a number
 * from a sorted copy of the data (float64, or the array's float or complex
 * dtype). NumPy's quantiles refuse complex data (a TypeError), so do we. */
static kernel_type order_stat(infer *I, fstate *fs, kernel_node *n, int b, kernel_node **arg, bool again)
{
    kernel_type t = array_of(I, fs, n->kids[0], "reduced");
    if (I->failed)
        return T_VOID;
    bool withq = b >= B_QUANTILE;
    if (withq && base_dtype_kind((ug_dtype)t.dt) == BASE_KIND_COMPLEX)
        return kernel_fail(I, UG_ETYPE, n->pos, "%s() of %s elements: NumPy refuses complex data too (TypeError: a must "
                                                "be an array of real numbers)", n->name, ug_dtype_name((ug_dtype)t.dt)),
               T_VOID;
    if (!again) {
        int ax = axis_arg(I, arg[withq ? 2 : 1], t.ndim);
        if (ax == -2)
            return T_VOID;
        if (withq && !arg[1])
            return kernel_fail(I, UG_ETYPE, n->pos, "%s() needs q", n->name), T_VOID;
        n->b = withq ? arg[1] : NULL;
        n->ival = t.ndim == 1 ? -1 : ax;
    }
    if (n->b) {
        kernel_type q = value_expr(I, fs, n->b);
        if (!I->failed && q.kind == KT_ARRAY)
            return kernel_fail(I, UG_EUNSUPPORTED, n->b->pos, "%s() of an array of q is not supported in kernels (one q "
                                                       "per call)", n->name), T_VOID;
        if (!I->failed && !is_scalar(q))
            want_scalar(I, n->b, q);
    }
    I->t->fallible = true; /* the sorted copy is allocated; q may be out of range */
    n->opty = scalar(float_dtype(t.dt), false);
    if (I->failed)
        return T_VOID;
    return n->ival >= 0 ? array_t(n->opty.dt, t.ndim - 1) : n->opty;
}

/* np.where(c, x, y): element-wise when any operand is an array. */
static kernel_type where_call(infer *I, fstate *fs, kernel_node *n)
{
    kernel_type c = value_expr(I, fs, n->kids[0]), x = value_expr(I, fs, n->kids[1]),
                y = value_expr(I, fs, n->kids[2]);
    if (I->failed)
        return T_VOID;
    kernel_type p = kernel_promote(elem_of(x), elem_of(y));
    n->opty = p;
    kernel_type big = c.kind == KT_ARRAY ? c : T_VOID;
    if (x.kind == KT_ARRAY && (big.kind != KT_ARRAY || x.ndim > big.ndim))
        big = x;
    if (y.kind == KT_ARRAY && (big.kind != KT_ARRAY || y.ndim > big.ndim))
        big = y;
    return big.kind == KT_ARRAY ? elementwise(I, kernel_settle(p), big, big) : p;
}

/* [x, y, ...]: a new 1-d array of the elements' promoted dtype. */
static kernel_type list_call(infer *I, fstate *fs, kernel_node *n)
{
    kernel_type p = T_VOID;
    for (int k = 0; k < n->nkids && !I->failed; k++) {
        kernel_type t = expr(I, fs, n->kids[k]);
        if (!I->failed && t.kind == KT_ARRAY)
            return kernel_fail(I, UG_EUNSUPPORTED, n->kids[k]->pos, "nested lists are not supported in kernels"), T_VOID;
        if (!want_scalar(I, n->kids[k], t))
            return T_VOID;
        p = k == 0 ? t : kernel_promote(p, t);
    }
    n->opty = kernel_settle(p);
    I->t->fallible = true;
    return I->failed ? T_VOID : array_t(n->opty.dt, 1);
}

static kernel_type need_1d(infer *I, kernel_node *n, kernel_type t)
{
    if (!I->failed && t.ndim != 1)
        return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "%s() of a %d-d array is not supported in kernels (only 1-d)", n->name,
                    t.ndim), T_VOID;
    return t;
}

/* sort argsort partition unique, array/asarray/copy/astype, cumsum cumprod diff. */
static kernel_type new_from_array(infer *I, fstate *fs, kernel_node *n, int b, kernel_node **arg, bool again)
{
    if (b == B_ARRAY && !again && arg[0]->kind == N_CALL && arg[0]->builtin < 0 && arg[0]->name &&
        strcmp(arg[0]->name, "$list") == 0 && !arg[1]) { /* np.array([x, y]) is the list itself */
        *n = *arg[0];
        return list_call(I, fs, n);
    }
    kernel_type t = array_of(I, fs, n->kids[0], b == B_SORT_INPLACE ? "sorted" : "copied");
    if (I->failed)
        return T_VOID;
    if (!again) {
        n->ival = -1;
        n->b = NULL;
        if (b == B_ARRAY && arg[1]) {
            if ((n->ival = dtype_arg(I, fs, arg[1])) < 0)
                return T_VOID;
        }
        if (b == B_PARTITION) {
            if (!arg[1])
                return kernel_fail(I, UG_ETYPE, n->pos, "partition() needs kth"), T_VOID;
            n->b = arg[1];
        }
        kernel_node *ax = b == B_PARTITION ? arg[2] : b == B_DIFF ? arg[2] : b <= B_ARGSORT || b == B_CUMSUM ||
                                                                             b == B_CUMPROD || b == B_SORT_INPLACE
                                                                         ? arg[1] : NULL;
        int a = axis_arg(I, ax, t.ndim);
        bool running = b == B_CUMSUM || b == B_CUMPROD || b == B_DIFF; /* along any axis */
        if (a == -2)
            return T_VOID;
        if (a >= 0 && a != t.ndim - 1 && !running)
            return kernel_fail(I, UG_EUNSUPPORTED, ax->pos, "%s() along axis %d of a %d-d array is not supported in kernels "
                                                     "(only the last axis)", n->name, a, t.ndim), T_VOID;
        if (running) /* cumsum/cumprod without axis=: flat (NumPy's axis=None); diff's default: the last axis */
            n->ival = b == B_DIFF && a < 0 ? t.ndim - 1 : t.ndim == 1 ? -1 : a;
        if (b == B_DIFF) {
            int64_t k = 1;
            if (arg[1] && (!int_literal(arg[1], &k) || k < 0))
                return kernel_fail(I, UG_ETYPE, arg[1]->pos, "diff()'s n must be a non-negative integer constant in kernels"),
                       T_VOID;
            n->fval = (double)k;
        }
    }
    I->t->fallible = true; /* the new array is allocated */
    switch (b) {
    case B_PARTITION: case B_SORT_INPLACE:
        if (need_1d(I, n, t).kind != KT_ARRAY)
            return T_VOID;
        break;
    default: break;
    }
    if (n->b) { /* partition's kth: an int or a 1-d int array */
        kernel_type k = value_expr(I, fs, n->b);
        if (!I->failed && (!is_intlike(elem_of(k)) || is_bool(elem_of(k)) || (k.kind == KT_ARRAY && k.ndim != 1)))
            return kernel_fail(I, UG_ETYPE, n->b->pos, "kth must be an integer or a 1-d array of integers"), T_VOID;
    }
    if (I->failed)
        return T_VOID;
    switch (b) {
    case B_SORT_INPLACE: n->opty = scalar(t.dt, false); return T_VOID;
    case B_ARGSORT: n->opty = scalar(t.dt, false); return array_t(UG_INT64, t.ndim); /* along the last axis */
    case B_UNIQUE: n->opty = scalar(t.dt, false); return array_t(t.dt, 1);
    case B_CUMSUM: case B_CUMPROD:
        n->opty = scalar(sum_dtype(t.dt), false);
        return array_t(n->opty.dt, n->ival < 0 ? 1 : t.ndim);
    case B_ARRAY: case B_COPY:
        n->opty = scalar(n->ival >= 0 ? (int)n->ival : t.dt, false);
        return array_t(n->opty.dt, t.ndim);
    default: n->opty = scalar(t.dt, false); return array_t(t.dt, t.ndim); /* sort partition diff */
    }
}

/* linalg.norm's ord: NaN for None (and 'fro', which the caller allows for
 * matrices only), KERNEL_NORM_NUC for 'nuc' (matrices only), else the
 * number (an int, inf, -inf). */
static bool norm_ord(infer *I, kernel_node *o, bool matrix, double *ord)
{
    int64_t v;
    *ord = NAN;
    if (!o || (matrix && o->kind == N_STR && (strcmp(o->str, "fro") == 0 || strcmp(o->str, "f") == 0)))
        return true;
    if (matrix && o->kind == N_STR && strcmp(o->str, "nuc") == 0) {
        *ord = KERNEL_NORM_NUC;
        return true;
    }
    if (o->kind == N_NAME && strcmp(o->name, "inf") == 0)
        *ord = 1.0 / 0.0;
    else if (o->kind == N_UNARY && o->op == TK_MINUS && o->a->kind == N_NAME && strcmp(o->a->name, "inf") == 0)
        *ord = -1.0 / 0.0;
    else if (int_literal(o, &v))
        *ord = (double)v;
    else
        return kernel_fail(I, UG_EUNSUPPORTED, o->pos, "this ord of linalg.norm() is not supported in kernels (None, "
                                                "'fro', 'nuc', inf, -inf, 1, -1, 2, -2; any integer for vectors)"), false;
    if (!matrix || fabs(*ord) == 1 || fabs(*ord) == 2 || isinf(*ord))
        return true;
    return kernel_fail(I, UG_ETYPE, o->pos, "Invalid norm order for matrices (linalg.norm())"), false;
}

/* linalg.norm(x, ord, axis): .fval the ord (NaN for None and 'fro'), .ival
 * the axis of a 2-d x whose lines get vector norms (a 1-d result), else x
 * whole, a vector's norm or a matrix norm: -1 without axis= (NumPy's
 * default norm is then sqrt of a dot product), -2 with it (add.reduce of
 * the squares; float16 and complex data tell them apart). A tuple axis
 * (r, c) names the matrix's row axis first: (1, 0) is the transpose's norm,
 * so the 1- and inf-norms trade places. */
static bool norm_args(infer *I, kernel_node *n, kernel_node **arg, int ndim)
{
    kernel_node *ax = arg[2];
    int axes[2] = {-1, -1}, na = 0;
    if (ax && ax->kind == N_TUPLE) {
        if (ax->nkids < 1 || ax->nkids > 2)
            return kernel_fail(I, UG_ETYPE, ax->pos, "axis= of linalg.norm() must be one or two axes"), false;
        for (na = 0; na < ax->nkids; na++)
            if ((axes[na] = axis_arg(I, ax->kids[na], ndim)) == -2)
                return false;
        if (na == 2 && axes[0] == axes[1])
            return kernel_fail(I, UG_ETYPE, ax->pos, "Duplicate axes given (linalg.norm())"), false;
    } else if (ax) {
        if ((axes[0] = axis_arg(I, ax, ndim)) == -2)
            return false;
        na = 1;
    }
    bool matrix = na == 2 || (na == 0 && ndim == 2);
    double ord;
    if (!norm_ord(I, arg[1], matrix, &ord))
        return false;
    if (matrix && na == 2 && axes[0] == 1 && (isinf(ord) || fabs(ord) == 1)) /* 2, -2, 'nuc': the transpose's are the same */
        ord = isinf(ord) ? copysign(1.0, ord) : copysign(1.0 / 0.0, ord);
    n->fval = ord;
    n->ival = na == 1 && ndim == 2 ? axes[0] : na ? -2 : -1;
    n->b = NULL;
    return true;
}

/* dot(a, b) / a @ b (1-d and 2-d), vdot(a, b), outer(a, b), linalg.norm(x[, ord[, axis]]). */
static kernel_type linalg_call(infer *I, fstate *fs, kernel_node *n, int b, kernel_node **arg, bool again)
{
    char b1[48], b2[48];
    kernel_type x = array_of(I, fs, n->kids[0], "a linear algebra operand");
    if (b == B_NORM) {
        if (I->failed || (!again && !norm_args(I, n, arg, x.ndim)))
            return T_VOID;
        if (x.ndim > 2)
            return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "linalg.norm() of a %d-d array is not supported in kernels",
                        x.ndim), T_VOID;
        if (x.ndim == 2 && n->ival < 0 && (fabs(n->fval) == 2 || n->fval == KERNEL_NORM_NUC) && x.dt == UG_FLOAT16)
            return kernel_fail(I, UG_ETYPE, n->pos, "array type float16 is unsupported in linalg (the singular "
                                                    "values of linalg.norm())"), T_VOID;
        int rdt = float_dtype(x.dt); /* complex data: the real dtype of the parts */
        n->opty = scalar(complex_dt(rdt) ? (int)base_dtype_part((ug_dtype)rdt) : rdt, false);
        I->t->fallible = true; /* -inf norms of an empty array are a ValueError; an axis result is allocated */
        return n->ival >= 0 ? array_t(n->opty.dt, 1) : n->opty;
    }
    kernel_type y = array_of(I, fs, n->kids[1], "a linear algebra operand");
    if (I->failed)
        return T_VOID;
    kernel_type p = kernel_promote(elem_of(x), elem_of(y));
    if (is_bool(p))
        return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "%s() of boolean arrays is not supported in kernels", n->name), T_VOID;
    n->opty = p;
    n->ival = -1;
    n->b = NULL;
    I->t->fallible = true; /* shapes are checked at run time */
    if (b == B_OUTER)
        return array_t(p.dt, 2);
    if (b == B_VDOT) /* both arrays flat */
        return p;
    if (x.ndim > 2 || y.ndim > 2)
        return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "dot() of %s and %s is not supported in kernels (1-d and 2-d only)",
                    kernel_tstr(x, b1), kernel_tstr(y, b2)), T_VOID;
    int nd = x.ndim + y.ndim - 2;
    return nd == 0 ? p : array_t(p.dt, nd);
}

/* The array functions; again: the call is in canonical form already. */
/* Array functions that compute (reductions, sort, dot ...) work on bool,
 * integer, float32 and float64 elements, those complex_ok names on
 * complex ones, those half_ok names on float16 ones and the products
 * linalg_ok names on both; the others are refused at the call, naming the
 * dtype. np.where, lists, copy and astype only move values and take every
 * dtype. */
static bool array_fn_dtype_ok(int dt) { return dt == UG_DTYPE_NONE || dt <= UG_FLOAT64; }

/* The array functions that take complex elements: the sums and products
 * (per part, as NumPy's complex loops), mean, the variances (real),
 * truthiness, the running sums and products, diff; the extremes and their
 * indices in NumPy's lexicographic order (real part, then imaginary; a
 * NaN in either part propagates, the nan forms skip it); sorting (sort,
 * a.sort(), argsort, partition, unique: the same order, NaNs last), the
 * medians and linalg.norm (real, of NumPy's abs and (x.conj() * x).real). */
static bool complex_ok(int b)
{
    return b == B_SUM || b == B_NANSUM || b == B_PROD || b == B_NANPROD || b == B_MEAN || b == B_NANMEAN ||
           b == B_VAR || b == B_STD || b == B_NANVAR || b == B_NANSTD || b == B_ANY || b == B_ALL ||
           b == B_COUNT_NONZERO || b == B_CUMSUM || b == B_CUMPROD || b == B_DIFF || b == B_AMIN || b == B_AMAX ||
           b == B_NANMIN || b == B_NANMAX || b == B_ARGMIN || b == B_ARGMAX || b == B_NANARGMIN || b == B_NANARGMAX ||
           b == B_SORT || b == B_SORT_INPLACE || b == B_ARGSORT || b == B_PARTITION || b == B_UNIQUE ||
           b == B_MEDIAN || b == B_NANMEDIAN || b == B_NORM;
}

/* The array functions that take float16 elements. Sorting (sort, a.sort(),
 * argsort, partition, unique: NumPy's half order) and the order statistics
 * (median and quantile in NumPy's float16 arithmetic) on any shape they
 * take. The reductions, of operands of any dimensions, whole (in NumPy's
 * memory order; sum, prod, mean, var and std of a 3+-d view that is not
 * one stride in memory, sum and prod of a reversed 2-d one, raise past 8192
 * values: reduce.c's half_order_known) or
 * along an axis:
 * the sums and products (accumulated in float32 and rounded once along a
 * line NumPy's loop gets whole, rounded at every step along an outer axis,
 * as NumPy's half loops), the means (float32 sums as NumPy's dtype=float32
 * / nanmean's float16 sum), the extremes, their indices and truthiness
 * (float32 compares float16 values exactly), the variances; diff and the
 * running sums and products of any (flat or along an axis; NumPy's
 * float16 steps, each rounded); linalg.norm of the shapes it takes (1-d
 * and 2-d; NumPy's float16 steps: HALF_dot for the default norm, abs,
 * squares and powers rounded, add.reduce's sums). */
static bool half_ok(int b, const kernel_node *x)
{
    if (!x || x->ty.dt != UG_FLOAT16)
        return false;
    if ((b >= B_MEDIAN && b <= B_NANPERCENTILE) || b == B_SORT || b == B_SORT_INPLACE || b == B_ARGSORT ||
        b == B_PARTITION || b == B_UNIQUE)
        return true;
    if (b == B_CUMSUM || b == B_CUMPROD || b == B_DIFF)
        return true;
    return (b == B_SUM || b == B_NANSUM || b == B_PROD || b == B_NANPROD || b == B_MEAN || b == B_NANMEAN ||
            b == B_AMIN || b == B_AMAX || b == B_NANMIN || b == B_NANMAX || b == B_ARGMIN || b == B_ARGMAX ||
            b == B_NANARGMIN || b == B_NANARGMAX || b == B_ANY || b == B_ALL || b == B_COUNT_NONZERO || b == B_VAR ||
            b == B_STD || b == B_NANVAR || b == B_NANSTD || b == B_NORM);
}

/* dot / @, vdot and outer of complex or float16 operands, 1-d and 2-d, the
 * others bool, integer or float (promoted as NumPy): complex products as
 * NumPy's complex multiply, float16 ones summed in float32 and rounded
 * once (NumPy's HALF_dot and half matmul loop). */
static bool linalg_ok(int b, const kernel_node *n)
{
    if (b != B_DOT && b != B_VDOT && b != B_OUTER)
        return false;
    for (int k = 0; k < 2; k++) {
        int dt = n->kids[k]->ty.dt;
        if (!complex_dt(dt) && dt != UG_FLOAT16 && !array_fn_dtype_ok(dt))
            return false;
    }
    return true;
}

static kernel_type array_fn_dtypes(infer *I, kernel_node *n, int b, kernel_type r)
{
    if (b == B_WHERE || b == B_LIST || b == B_COPY || b == B_ARRAY)
        return r;
    if (complex_ok(b) && n->nkids >= 1 && n->kids[0] && complex_dt(n->kids[0]->ty.dt))
        return r;
    if (n->nkids >= 1 && half_ok(b, n->kids[0]))
        return r;
    if (linalg_ok(b, n))
        return r;
    kernel_type bad = T_VOID;
    for (int k = 0; k < n->nkids; k++)
        if (n->kids[k] && !array_fn_dtype_ok(n->kids[k]->ty.dt))
            bad = n->kids[k]->ty;
    if (!array_fn_dtype_ok(n->opty.dt))
        bad = n->opty;
    if (!array_fn_dtype_ok(r.dt))
        bad = r;
    if (bad.kind == KT_VOID)
        return r;
    return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "%s() is not supported on %s elements in kernels",
                       n->name[0] == '$' ? n->name + 1 : n->name, ug_dtype_name((ug_dtype)bad.dt)), T_VOID;
}

static kernel_type array_call(infer *I, fstate *fs, kernel_node *n, int b)
{
    bool again = n->builtin == b;
    kernel_node *arg[4] = {0};
    if (!again) {
        if (b != B_LIST && !bind_args(I, n, b, arg))
            return T_VOID;
        if (b == B_WHERE && (!arg[1] || !arg[2]))
            return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "np.where() with one argument is not supported in kernels"), T_VOID;
        if (b != B_LIST) { /* canonical kids: the array operands */
            int nk = b == B_WHERE ? 3 : b == B_DOT || b == B_VDOT || b == B_OUTER ? 2 : 1;
            if (nk == 2 && !arg[1])
                return kernel_fail(I, UG_ETYPE, n->pos, "%s() needs two arrays", n->name), T_VOID;
            kernel_node **kids = kernel_arena_alloc(I->a, 3 * sizeof *kids);
            if (!kids)
                return kernel_fail(I, UG_ENOMEM, n->pos, "out of memory"), T_VOID;
            memcpy(kids, arg, (size_t)nk * sizeof *kids);
            n->kids = kids;
            n->nkids = nk;
            if (b == B_FILL)
                n->b = arg[1];
        }
        n->kwnames = NULL;
        n->name = kernel_builtin_name(b);
        if (b == B_FILL && !n->b)
            return kernel_fail(I, UG_ETYPE, n->pos, "fill() needs a value"), T_VOID;
    }
    kernel_type r;
    if (b <= B_COUNT_NONZERO)
        r = reduction(I, fs, n, b, arg, again);
    else if (b <= B_NANPERCENTILE)
        r = order_stat(I, fs, n, b, arg, again);
    else if (b == B_WHERE)
        r = where_call(I, fs, n);
    else if (b == B_LIST)
        r = list_call(I, fs, n);
    else if (b == B_DOT || b == B_VDOT || b == B_OUTER || b == B_NORM)
        r = linalg_call(I, fs, n, b, arg, again);
    else if (b == B_FILL) {
        kernel_type t = array_of(I, fs, n->kids[0], "filled");
        if (!I->failed)
            scalar_expr(I, fs, n->b);
        n->opty = scalar(t.dt, false);
        r = T_VOID;
    } else
        r = new_from_array(I, fs, n, b, arg, again);
    if (!I->failed)
        r = array_fn_dtypes(I, n, b, r);
    if (!I->failed)
        n->builtin = b;
    return I->failed ? T_VOID : r;
}

/* The array function a method names (a.sum(), a.sort() ...), or -1. */
static int method_builtin(const char *name)
{
    static const struct {
        const char *name;
        int b;
    } tab[] = {{"sum", B_SUM},        {"prod", B_PROD},       {"mean", B_MEAN},     {"var", B_VAR},
               {"std", B_STD},        {"min", B_AMIN},        {"max", B_AMAX},      {"argmin", B_ARGMIN},
               {"argmax", B_ARGMAX},  {"any", B_ANY},         {"all", B_ALL},       {"sort", B_SORT_INPLACE},
               {"argsort", B_ARGSORT}, {"cumsum", B_CUMSUM},  {"cumprod", B_CUMPROD}, {"copy", B_COPY},
               {"astype", B_ARRAY},   {"fill", B_FILL},       {"dot", B_DOT}};
    for (size_t k = 0; k < sizeof tab / sizeof *tab; k++)
        if (strcmp(name, tab[k].name) == 0)
            return tab[k].b;
    return -1;
}

/* x.method(...): a.dtype.type(x) casts to a's dtype; the rest is named. */
static kernel_type method_call(infer *I, fstate *fs, kernel_node *n)
{
    kernel_node *r = n->a;
    if (r->kind == N_ATTR && strcmp(r->name, "dtype") == 0 && strcmp(n->name, "type") == 0) {
        kernel_type t = array_of(I, fs, r->a, "asked for its dtype");
        if (I->failed)
            return T_VOID;
        if (n->nkids != 1 || n->kwnames)
            return kernel_fail(I, UG_ETYPE, n->pos, "a.dtype.type() takes exactly one argument in kernels"), T_VOID;
        n->a = NULL;
        return cast(I, fs, n, t.dt);
    }
    if ((strcmp(n->name, "conjugate") == 0 || strcmp(n->name, "conj") == 0) && n->nkids == 0)
        return number_attr(I, fs, n, "conj");
    if (r->kind == N_NAME && strcmp(r->name, "linalg") == 0)
        return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "np.linalg.%s is not supported in kernels", n->name), T_VOID;
    int mb = method_builtin(n->name);
    if (mb >= 0) { /* a.f(x, k=v) is f(a, x, k=v) */
        kernel_node **kids = kernel_arena_alloc(I->a, (size_t)(n->nkids + 1) * sizeof *kids);
        const char **kw = n->kwnames ? kernel_arena_alloc(I->a, (size_t)(n->nkids + 1) * sizeof *kw) : NULL;
        if (!kids || (n->kwnames && !kw))
            return kernel_fail(I, UG_ENOMEM, n->pos, "out of memory"), T_VOID;
        kids[0] = r;
        memcpy(kids + 1, n->kids, (size_t)n->nkids * sizeof *kids);
        if (kw)
            memcpy(kw + 1, n->kwnames, (size_t)n->nkids * sizeof *kw);
        n->kids = kids;
        n->kwnames = kw;
        n->nkids++;
        n->a = NULL;
        n->prefixed = 1;
        return array_call(I, fs, n, mb);
    }
    kernel_type t = expr(I, fs, r);
    char b[48];
    if (!I->failed)
        kernel_fail(I, UG_EUNSUPPORTED, n->pos, "the method '%s' of %s is not supported in kernels", n->name, kernel_tstr(t, b));
    return T_VOID;
}

static kernel_type call(infer *I, fstate *fs, kernel_node *n)
{
    if (n->a)
        return method_call(I, fs, n);
    const kernel_func *g = n->prefixed ? NULL : find_helper(I->m, n->name);
    if (g)
        return helper_call(I, fs, n, g);
    ug_dtype cast_to = UG_DTYPE_NONE;
    int b = kernel_builtin_lookup(n->name, &cast_to);
    if (b >= B_EMPTY && b <= B_FULL_LIKE)
        return new_array(I, fs, n, b);
    if (b == B_THREAD_ID) {
        if (n->nkids)
            return kernel_fail(I, UG_ETYPE, n->pos, "get_thread_id() takes no arguments"), T_VOID;
        n->builtin = b;
        n->opty = scalar(UG_INT64, false);
        return n->opty;
    }
    if (b == B_PRINT) { /* numbers and string literals, as Numba's print in nopython mode */
        for (int k = 0; k < n->nkids && !I->failed; k++) {
            if (n->kwnames && n->kwnames[k])
                return kernel_fail(I, UG_EUNSUPPORTED, n->kids[k]->pos, "print() keyword '%s' is not supported in kernels",
                            n->kwnames[k]), T_VOID;
            if (n->kids[k]->kind != N_STR && is_complex(scalar_expr(I, fs, n->kids[k])))
                return kernel_fail(I, UG_EUNSUPPORTED, n->kids[k]->pos,
                                   "print() of complex values is not supported in kernels (print .real and .imag)"), T_VOID;
        }
        n->builtin = B_PRINT;
        n->opty = T_VOID;
        return T_VOID;
    }
    if ((b == B_MIN || b == B_MAX) && (n->nkids == 1 || n->kwnames)) { /* np.min(a), max(a): a reduction */
        n->prefixed = 1;
        return array_call(I, fs, n, b == B_MIN ? B_AMIN : B_AMAX);
    }
    if (b >= B_SUM) {
        n->prefixed = 1; /* its canonical name never resolves to a helper */
        return array_call(I, fs, n, b);
    }
    if (b < 0 && strncmp(n->name, "linalg.", 7) == 0)
        return kernel_fail(I, UG_EUNSUPPORTED, n->pos, "np.%s is not supported in kernels", n->name), T_VOID;
    if (b < 0)
        return kernel_fail(I, UG_ENAME, n->pos, "unknown function '%s'", n->name), T_VOID;
    if (n->kwnames)
        for (int k = 0; k < n->nkids; k++)
            if (n->kwnames[k])
                return kernel_fail(I, UG_ETYPE, n->kids[k]->pos, "%s() takes no keyword argument '%s' in kernels", n->name,
                            n->kwnames[k]), T_VOID;
    return builtin_call(I, fs, n, b, cast_to);
}

static kernel_type expr_kind(infer *I, fstate *fs, kernel_node *n)
{
    kernel_type a, b;
    switch (n->kind) {
    case N_INT: return scalar(n->big ? UG_UINT64 : UG_INT64, true);
    case N_FLOAT: return scalar(UG_FLOAT64, true);
    case N_IMAG: return scalar(UG_COMPLEX128, true);
    case N_BOOL: return scalar(UG_BOOL, true);
    case N_NAME: return name_type(I, fs, n);
    case N_UNARY: return unary(I, fs, n);
    case N_BINARY:
        a = value_expr(I, fs, n->a);
        b = value_expr(I, fs, n->b);
        if (!I->failed && (a.kind == KT_ARRAY || b.kind == KT_ARRAY)) {
            n->opty = binop_type(I, n, n->op, elem_of(a), elem_of(b));
            return I->failed ? T_VOID : elementwise(I, n->opty, a, b);
        }
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
    case N_TUPLE: return kernel_fail(I, UG_ETYPE, n->pos, "tuples are not supported as values in kernels"), T_VOID;
    case N_STR: return kernel_fail(I, UG_ETYPE, n->pos, "strings are not supported as values in kernels"), T_VOID;
    case N_SLICE: return kernel_fail(I, UG_ETYPE, n->pos, "a slice can only be an array index"), T_VOID;
    default: return kernel_fail(I, UG_ETYPE, n->pos, "not an expression"), T_VOID;
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
    if (k >= 0 && fs->pt[k].kind == KT_ARRAY && kernel_local_index(fs->fn, t->name) < 0) {
        kernel_fail(I, UG_ETYPE, t->pos, "cannot assign to array argument '%s' (write to its elements instead)", t->name);
        return;
    }
    if (v.kind == KT_ARRAY || v.kind == KT_SHAPE) { /* a view or a shape tuple: one type per variable */
        int li = kernel_local_index(fs->fn, t->name);
        char c[48];
        if (li < 0) {
            kernel_fail(I, UG_ETYPE, t->pos, "cannot assign %s to parameter '%s'", kernel_tstr(v, b), t->name);
            return;
        }
        if (fs->lt[li].kind != KT_VOID && !same_type(fs->lt[li], v)) {
            kernel_fail(I, UG_ETYPE, t->pos, "'%s' holds %s here but %s elsewhere: a variable has one type", t->name,
                 kernel_tstr(v, b), kernel_tstr(fs->lt[li], c));
            return;
        }
        fs->changed |= fs->lt[li].kind == KT_VOID;
        fs->lt[li] = v;
        t->symkind = SYM_LOCAL;
        t->index = li;
        t->ty = v;
        return;
    }
    if (!want_scalar(I, t, v))
        return;
    if (k >= 0 && kernel_local_index(fs->fn, t->name) < 0) {
        t->symkind = SYM_PARAM;
        t->index = k;
        t->ty = fs->pt[k];
        return;
    }
    k = kernel_local_index(fs->fn, t->name);
    if (fs->fixed && fs->fixed[k]) { /* locals={...}: the value is converted on store */
        t->symkind = SYM_LOCAL;
        t->index = k;
        t->ty = fs->lt[k];
        return;
    }
    if (fs->lt[k].kind == KT_ARRAY || fs->lt[k].kind == KT_SHAPE) {
        kernel_fail(I, UG_ETYPE, t->pos, "'%s' holds %s elsewhere: it cannot also hold %s", t->name, kernel_tstr(fs->lt[k], b),
             kernel_tstr(v, (char[48]){0}));
        return;
    }
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
            kernel_fail(I, UG_ETYPE, n->pos, "cannot unpack %s into %d names", s.kind == KT_SHAPE ? "this shape" : "this value",
                 t->nkids);
        for (int k = 0; k < t->nkids && !I->failed; k++)
            assign_name(I, fs, t->kids[k], scalar(UG_INT64, false));
        return;
    }
    if (v->kind != N_TUPLE) { /* x, y = a: the elements of a 1-d array (its length checked at run time) */
        kernel_type at = expr(I, fs, v);
        if (!I->failed && (at.kind != KT_ARRAY || at.ndim != 1))
            kernel_fail(I, UG_ETYPE, n->pos, "can only unpack a.shape, a 1-d array or a tuple of %d values here", t->nkids);
        n->opty = at; /* marks the array for lowering */
        I->t->fallible = true;
        for (int k = 0; k < t->nkids && !I->failed; k++)
            assign_name(I, fs, t->kids[k], scalar(at.dt, false));
        return;
    }
    if (v->nkids != t->nkids) {
        kernel_fail(I, UG_ETYPE, n->pos, "cannot unpack a tuple of %d values into %d names", v->nkids, t->nkids);
        return;
    }
    kernel_type vt[256];
    if (t->nkids > 256) {
        kernel_fail(I, UG_ETYPE, n->pos, "too many names to unpack");
        return;
    }
    for (int k = 0; k < v->nkids && !I->failed; k++) { /* all values first, as Python does */
        vt[k] = v->kids[k]->ty = scalar_expr(I, fs, v->kids[k]);
        if (vt[k].weak && kernel_literal_chain(v->kids[k])) /* a bare literal: its own type, as for `a = 0` */
            vt[k].weak = 0;
    }
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
        kernel_type v = n->b->kind == N_ATTR ? expr(I, fs, n->b) : value_expr(I, fs, n->b);
        /* A local assigned a bare literal takes the literal's own type, as Numba
         * types it (s = 0.0 is float64, n = 0 is int64); inside expressions
         * literals stay weak (NEP 50). */
        if (v.kind == KT_SCALAR && v.weak && kernel_literal_chain(n->b))
            v.weak = 0;
        assign_name(I, fs, t, v);
        return;
    }
    I->store_target = true;
    kernel_type tt = expr(I, fs, t);
    I->store_target = false;
    if (I->failed)
        return;
    if (tt.kind == KT_ARRAY) { /* out[:] = v, out[lo:hi] = a[...]: fill or copy */
        kernel_type vt = value_expr(I, fs, n->b);
        char b1[48], b2[48];
        if (!I->failed && vt.kind == KT_ARRAY && vt.ndim > tt.ndim)
            kernel_fail(I, UG_ETYPE, n->pos, "cannot assign %s to %s", kernel_tstr(vt, b1), kernel_tstr(tt, b2));
        if (vt.kind == KT_ARRAY) /* shapes checked at run time; an overlapping source is copied first */
            I->t->fallible = true;
        return;
    }
    scalar_expr(I, fs, n->b);
}

static void augassign(infer *I, fstate *fs, kernel_node *n)
{
    kernel_node *t = n->kids[0];
    I->store_target = t->kind == N_INDEX;
    kernel_type tt = expr(I, fs, t);
    I->store_target = false;
    kernel_type vt = value_expr(I, fs, n->b);
    if (!I->failed && tt.kind == KT_ARRAY) { /* a *= 2, out[1:] += b: in place, element by element */
        char b1[48], b2[48];
        if (vt.kind == KT_ARRAY && vt.ndim > tt.ndim)
            kernel_fail(I, UG_ETYPE, n->pos, "cannot %s %s into %s in place", op_verb(n->op), kernel_tstr(vt, b1), kernel_tstr(tt, b2));
        n->opty = binop_type(I, n, n->op, elem_of(tt), elem_of(vt));
        I->t->fallible |= vt.kind == KT_ARRAY;
        return;
    }
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

/* The element of iterating over array t: a number (1-d) or a row view. */
static kernel_type element_of(kernel_type t)
{
    return t.ndim == 1 ? scalar(t.dt, false) : (kernel_type){KT_ARRAY, t.dt, (uint8_t)(t.ndim - 1), 0};
}

static bool loop_target(infer *I, fstate *fs, kernel_node *var, kernel_type t)
{
    int pi = param_index(fs->fn, var->name);
    if (pi >= 0 && fs->pt[pi].kind == KT_ARRAY)
        return kernel_fail(I, UG_ETYPE, var->pos, "the loop variable '%s' cannot be an array argument", var->name) != NULL;
    assign_name(I, fs, var, t);
    return !I->failed;
}

static int want_names(infer *I, kernel_node *var, int n, const char *what)
{
    int have = var->kind == N_TUPLE ? var->nkids : 1;
    if (have != n)
        kernel_fail(I, UG_ETYPE, var->pos, "%s gives %d value%s per iteration, unpacked into %d name%s", what, n,
             n == 1 ? "" : "s", have, have == 1 ? "" : "s");
    return !I->failed;
}

/* for x in a / enumerate(a[, s]) / zip(a, b, ...) / np.ndindex(shape) */
static void for_iter(infer *I, fstate *fs, kernel_node *n)
{
    kernel_node *var = n->kids[0];
    kernel_type t;
    switch (n->iter) {
    case FOR_ARRAY:
        t = array_of(I, fs, n->a, "iterated over");
        if (!I->failed && var->kind == N_TUPLE)
            kernel_fail(I, UG_EUNSUPPORTED, var->pos, "unpacking the rows of an array in a for loop is not supported in kernels");
        if (!I->failed)
            loop_target(I, fs, var, element_of(t));
        break;
    case FOR_ENUMERATE:
        t = array_of(I, fs, n->a, "enumerated");
        if (n->b && !want_index(I, fs, n->b, "enumerate()'s start"))
            return;
        if (!I->failed && want_names(I, var, 2, "enumerate()") && loop_target(I, fs, var->kids[0], scalar(UG_INT64, false)))
            loop_target(I, fs, var->kids[1], element_of(t));
        break;
    case FOR_ZIP:
        if (!want_names(I, var, n->nkids - 1, "zip()"))
            return;
        for (int k = 1; k < n->nkids && !I->failed; k++) {
            t = array_of(I, fs, n->kids[k], "zipped");
            if (!I->failed)
                loop_target(I, fs, var->kind == N_TUPLE ? var->kids[k - 1] : var, element_of(t));
        }
        break;
    default: { /* FOR_NDINDEX */
        int nd = n->nkids == 2 ? shape_arg(I, fs, n->kids[1]) : n->nkids - 1;
        for (int k = 1; n->nkids > 2 && k < n->nkids && !I->failed; k++)
            want_index(I, fs, n->kids[k], "an ndindex dimension");
        if (I->failed || nd < 0)
            return;
        if (nd > UG_MAXDIMS) {
            kernel_fail(I, UG_ETYPE, n->pos, "np.ndindex() of more than %d dimensions", UG_MAXDIMS);
            return;
        }
        if (var->kind == N_TUPLE) {
            if (want_names(I, var, nd, "np.ndindex()"))
                for (int k = 0; k < nd && !I->failed; k++)
                    loop_target(I, fs, var->kids[k], scalar(UG_INT64, false));
        } else {
            loop_target(I, fs, var, (kernel_type){KT_SHAPE, UG_DTYPE_NONE, (uint8_t)nd, 0});
        }
        break;
    }
    }
    if (!I->failed)
        block(I, fs, n->body);
}

static void for_stmt(infer *I, fstate *fs, kernel_node *n)
{
    char b[48];
    if (n->nrange == 0) {
        for_iter(I, fs, n);
        return;
    }
    kernel_node *var = n->kids[0];
    if (var->kind != N_NAME) {
        kernel_fail(I, UG_ETYPE, var->pos, "range() gives one value per iteration: it cannot be unpacked");
        return;
    }
    if (!loop_target(I, fs, var, scalar(UG_INT64, false)))
        return;
    for (int k = 0; k < n->nrange && !I->failed; k++) {
        kernel_type t = scalar_expr(I, fs, n->range[k]);
        if (!I->failed && is_inexact(t))
            kernel_fail(I, UG_ETYPE, n->range[k]->pos, "range() arguments must be integers, not %s", kernel_tstr(t, b));
    }
    if (!I->failed && n->nrange == 3 && is_zero_literal(n->range[2]))
        kernel_fail(I, UG_ETYPE, n->range[2]->pos, "range() step must not be zero");
    if (!I->failed && n->nrange == 3 && !n->range[2]->ty.weak)
        I->t->fallible = true; /* a step known only at run time may be zero: ValueError */
    block(I, fs, n->body);
}

static void return_stmt(infer *I, fstate *fs, kernel_node *n)
{
    if (fs->role == ROLE_GUFUNC && n->a) {
        kernel_fail(I, UG_ETYPE, n->pos, "a gufunc kernel cannot return a value (write to its output arguments)");
        return;
    }
    if (fs->role == ROLE_SCALAR && !n->a) {
        kernel_fail(I, UG_ETYPE, n->pos, "a scalar kernel must return a value");
        return;
    }
    if (n->a) {
        fs->any_value_ret = true;
        kernel_type t = fs->role == ROLE_HELPER ? value_expr(I, fs, n->a) : scalar_expr(I, fs, n->a);
        char b1[48], b2[48];
        if (!I->failed && (t.kind == KT_ARRAY || fs->ret.kind == KT_ARRAY) && fs->ret.kind != KT_VOID &&
            !same_type(t, fs->ret)) {
            kernel_fail(I, UG_ETYPE, n->a->pos, "function '%s' returns %s here and %s elsewhere", fs->fn->name, kernel_tstr(t, b1),
                 kernel_tstr(fs->ret, b2));
            return;
        }
        if (!I->failed && t.kind == KT_ARRAY) {
            fs->changed |= fs->ret.kind == KT_VOID;
            fs->ret = t;
        } else if (!I->failed && !fs->fixed_ret) {
            kernel_type j = join(fs->ret, t);
            fs->changed |= !same_type(j, fs->ret);
            fs->ret = j;
        }
    } else {
        fs->any_bare_ret = true;
    }
    if (fs->any_value_ret && fs->any_bare_ret)
        kernel_fail(I, UG_ETYPE, n->pos, "function '%s' returns a value on some paths and nothing on others", fs->fn->name);
}

static const char *const exc_classes[] = {"ValueError", "IndexError", "ZeroDivisionError", "RuntimeError",
                                         "AssertionError", "ArithmeticError", "OverflowError", "TypeError",
                                         "KeyError", "NotImplementedError", "FloatingPointError", "Exception"};

static void raise_stmt(infer *I, kernel_node *n)
{
    for (size_t k = 0; k < sizeof exc_classes / sizeof *exc_classes; k++)
        if (strcmp(n->name, exc_classes[k]) == 0) {
            I->t->fallible = true;
            return;
        }
    kernel_fail(I, UG_EUNSUPPORTED, n->pos, "raising '%s' is not supported in kernels (ValueError, IndexError, "
                                     "ZeroDivisionError, RuntimeError, AssertionError, ArithmeticError, "
                                     "OverflowError, TypeError, ... are)", n->name);
}

static void cond(infer *I, fstate *fs, kernel_node *c)
{
    kernel_type t = expr(I, fs, c);
    if (!I->failed && !is_scalar(t))
        kernel_fail(I, UG_ETYPE, c->pos, "the truth value of %s is ambiguous",
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
    case N_FOR:
        if (++fs->loop_depth > KERNEL_MAX_LOOP_DEPTH)
            kernel_fail(I, UG_EUNSUPPORTED, n->pos, "nesting loops more than %d deep", KERNEL_MAX_LOOP_DEPTH);
        else if (n->kind == N_FOR)
            for_stmt(I, fs, n);
        else {
            cond(I, fs, n->cond);
            block(I, fs, n->body);
        }
        fs->loop_depth--;
        break;
    case N_RETURN: return_stmt(I, fs, n); break;
    case N_RAISE: raise_stmt(I, n); break;
    case N_ASSERT:
        cond(I, fs, n->cond);
        I->t->fallible = true;
        break;
    default: break;
    }
    n->ty = T_VOID;
}

static void block(infer *I, fstate *fs, kernel_node *b)
{
    for (int k = 0; k < b->nkids && !I->failed; k++)
        stmt(I, fs, b->kids[k]);
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
        kernel_fail(I, UG_ENOMEM, f->pos, "out of memory");
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
            kernel_fail(I, UG_ENOMEM, f->pos, "out of memory");
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

/* locals="s:float64,n:int32": each named local gets that type for good. */
static void fix_locals(infer *I, fstate *fs, const char *spec)
{
    kernel_func *f = fs->fn;
    fs->fixed = kernel_arena_alloc(I->a, (size_t)f->nlocals + 1);
    if (!fs->fixed) {
        kernel_fail(I, UG_ENOMEM, f->pos, "out of memory");
        return;
    }
    for (const char *p = spec; *p && !I->failed;) {
        char name[128], dt[64];
        size_t n = strcspn(p, ":"), m;
        if (!p[n] || n >= sizeof name) {
            kernel_fail(I, UG_ETYPE, f->pos, "locals: '%s' is not of the form name:dtype", p);
            return;
        }
        memcpy(name, p, n);
        name[n] = 0;
        p += n + 1;
        m = strcspn(p, ",");
        if (m >= sizeof dt) {
            kernel_fail(I, UG_ETYPE, f->pos, "locals: the dtype of '%s' is too long", name);
            return;
        }
        memcpy(dt, p, m);
        dt[m] = 0;
        p += m + (p[m] == ',');
        ug_dtype t = ug_dtype_from_name(dt);
        int k = kernel_local_index(f, name);
        if (t == UG_DTYPE_NONE)
            kernel_fail(I, UG_ETYPE, f->pos, "locals: unknown dtype '%s' for '%s'", dt, name);
        else if (k < 0)
            kernel_fail(I, UG_ETYPE, f->pos, "locals: '%s' is not a local variable of '%s'", name, f->name);
        else {
            fs->lt[k] = scalar(t, false);
            fs->fixed[k] = true;
        }
    }
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
        kernel_fail(I, UG_ENOMEM, f->pos, "out of memory");
    for (int k = 0; k < f->nlocals && fs->lt; k++)
        fs->lt[k] = T_VOID;
    if (!I->failed && fs->locals_spec)
        fix_locals(I, fs, fs->locals_spec);
    if (!I->failed)
        kernel_check_assigned(I, fs);
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
        f->locals[k].ty = kernel_settle(fs->lt[k]);
    for (int k = 0; k < f->nparams; k++)
        f->params[k].ty = kernel_settle(fs->pt[k]);
    f->ret = fs->role == ROLE_GUFUNC || !fs->any_value_ret ? T_VOID : kernel_settle(fs->ret);
    if (fs->role == ROLE_SCALAR && fs->fixed_ret)
        f->ret = fs->ret;
    if ((fs->role == ROLE_SCALAR || fs->any_value_ret) && fs->falls_off)
        return kernel_fail(I, UG_ETYPE, f->pos, "function '%s' may reach its end without returning a value", f->name) != NULL;
    kernel_concrete_types(I, f->body, f->ret);
    return !I->failed;
}

static spec *new_spec(infer *I, const kernel_func *orig, const kernel_type *args, int nargs)
{
    spec *s = kernel_arena_alloc(I->a, sizeof *s);
    if (s)
        s->args = kernel_arena_alloc(I->a, (size_t)(nargs + 1) * sizeof *s->args);
    if (!s || !s->args || !(s->fn = copy_func(I, orig)))
        return kernel_fail(I, UG_ENOMEM, orig->pos, "out of memory");
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
        return kernel_fail(I, UG_ETYPE, at, "recursive call to '%s' is not supported in kernels", orig->name);
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
            return kernel_fail(I, UG_ETYPE, k->pos, "kernel takes %d parameter%s but the signature has %d input%s and %d output%s",
                        k->nparams, k->nparams == 1 ? "" : "s", o->nin, o->nin == 1 ? "" : "s", o->nout,
                        o->nout == 1 ? "" : "s") != NULL;
        return kernel_fail(I, UG_ETYPE, k->pos, "kernel takes %d parameter%s but the signature has %d input%s", k->nparams,
                    k->nparams == 1 ? "" : "s", o->nin, o->nin == 1 ? "" : "s") != NULL;
    }
    for (int i = 0; i < want; i++) {
        int nd = o->args[i].ndim;
        if (o->gufunc && i >= o->nin && nd == 0)
            nd = 1; /* out[0] = v for an output with layout () */
        if (!base_dtype_valid(o->args[i].dt))
            return kernel_fail(I, UG_ETYPE, k->pos, "argument %d has no valid dtype", i + 1) != NULL;
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
    fstate fs = {.fn = s->fn, .role = o->gufunc ? ROLE_GUFUNC : ROLE_SCALAR, .pt = s->args, .ret = T_VOID,
                 .locals_spec = o->locals && *o->locals ? o->locals : NULL};
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
        return kernel_fail(I, UG_ENOMEM, kernel->pos, "out of memory") != NULL;
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
        return base_err_set(err, UG_ENOMEM, "out of memory");
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
