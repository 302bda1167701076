/* concrete.c — concrete types (step 5 of inference, infer.c): the
 * "Typed AST invariants" of kernel.h. A weak literal takes the type its
 * parent converts it to (an out-of-range int literal is an error, as
 * NumPy's NEP 50 OverflowError); anything else weak becomes int64, float64
 * or bool.
 *
 * Requires: a fully typed body (the fixpoint of infer.c). Breaks: every
 * node's ty/opty loses `weak` (later passes must not re-run the fixpoint).
 */
#include <assert.h>
#include <stdint.h>

#include "kernel/infer.h"

bool kernel_literal_chain(const kernel_node *n)
{
    while (n->kind == N_UNARY && (n->op == TK_MINUS || n->op == TK_PLUS))
        n = n->a;
    return n->kind == N_INT || n->kind == N_FLOAT || n->kind == N_IMAG;
}

/* A weak literal may take the strong type it is converted to when its kind
 * fits (an int literal becomes any number type, a float literal a float or
 * a complex, an imaginary literal a complex). */
static bool fits(kernel_type lit, kernel_type want)
{
    if (!is_scalar(want) || want.weak || is_bool(want))
        return false;
    return is_complex(lit) ? is_complex(want) : !is_float(lit) || is_inexact(want);
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
    if (is_intlike(want) && !is_bool(want) && kernel_literal_int(n, &neg, &mag) && !kernel_int_holds(want.dt, neg, mag))
        kernel_fail(I, UG_ETYPE, n->pos, "integer literal %s%llu is out of range for %s", neg ? "-" : "",
             (unsigned long long)mag, kernel_tstr(want, b));
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
        n->opty = kernel_settle(n->opty);
        resolve(I, t, T_VOID);
        resolve(I, n->b, n->opty);
        break;
    case N_RETURN: /* `return 300` into uint8 casts (astype 'unsafe'), as any returned value does */
        if (n->a && n->a->ty.weak && kernel_literal_chain(n->a) && fits(n->a->ty, ret))
            give_literal(n->a, ret);
        else
            resolve(I, n->a, ret);
        break;
    case N_EXPRSTMT: resolve(I, n->a, T_VOID); break;
    case N_FOR:
        for (int k = 0; k < n->nkids; k++)
            resolve(I, n->kids[k], k == 0 || n->iter != FOR_NDINDEX ? T_VOID : scalar(UG_INT64, false));
        for (int k = 0; k < n->nrange; k++)
            resolve(I, n->range[k], scalar(UG_INT64, false));
        resolve(I, n->a, T_VOID);
        resolve(I, n->b, scalar(UG_INT64, false));
        break;
    case N_RAISE: break;
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
    if (n->ty.weak && kernel_literal_chain(n) && fits(n->ty, want)) {
        literal_in_range(I, n, want);
        give_literal(n, want);
        return;
    }
    n->ty = kernel_settle(n->ty);
    n->opty = kernel_settle(n->opty);
    switch (n->kind) {
    case N_COMPARE:
        for (int k = 0; k + 1 < n->nkids; k++)
            n->cmptys[k] = kernel_settle(n->cmptys[k]);
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
        if (n->builtin >= B_EMPTY && n->builtin <= B_FULL_LIKE) {
            resolve(I, n->kids[0], n->kids[0]->ty.kind == KT_ARRAY ? T_VOID : scalar(UG_INT64, false));
            resolve(I, n->b, n->opty);
            return;
        }
        if (n->builtin >= B_SUM) { /* array functions: scalar operands take the computing type */
            for (int k = 0; k < n->nkids; k++)
                resolve(I, n->kids[k], n->builtin == B_LIST || (n->builtin == B_WHERE && k > 0) ? n->opty : T_VOID);
            resolve(I, n->b, n->builtin == B_FILL ? n->opty : n->builtin >= B_MEDIAN && n->builtin <= B_NANPERCENTILE
                                                                  ? scalar(UG_FLOAT64, false)
                                                                  : scalar(UG_INT64, false));
            return;
        }
        for (int k = 0; k < n->nkids; k++)
            resolve(I, n->kids[k], n->callee ? n->callee->params[k].ty : n->builtin == B_LEN ? T_VOID : n->opty);
        return;
    case N_INDEX: resolve(I, n->a, T_VOID); resolve_kids(I, n, scalar(UG_INT64, false)); return;
    case N_SLICE:
    case N_TUPLE: /* a slice's bounds, a shape's dimensions */
        resolve(I, n->a, want);
        resolve(I, n->b, want);
        resolve(I, n->cond, want);
        resolve_kids(I, n, want);
        return;
    case N_UNARY:
    case N_BINARY: resolve(I, n->a, n->opty); resolve(I, n->b, n->opty); return;
    default: resolve(I, n->a, T_VOID); resolve_kids(I, n, T_VOID); return;
    }
}

#ifndef NDEBUG
/* What kernel.h's "Typed AST invariants" promise lowering, checked in debug
 * builds: no weak type is left, and a literal is a scalar of a real dtype. */
static void check_concrete(const kernel_node *n)
{
    if (!n)
        return;
    assert(!n->ty.weak && !n->opty.weak);
    assert(!(n->kind == N_INT || n->kind == N_FLOAT || n->kind == N_BOOL || n->kind == N_IMAG) ||
           (n->ty.kind == KT_SCALAR && base_dtype_valid(n->ty.dt)));
    assert(n->kind != N_IMAG || base_dtype_kind((ug_dtype)n->ty.dt) == BASE_KIND_COMPLEX);
    check_concrete(n->a);
    check_concrete(n->b);
    check_concrete(n->cond);
    check_concrete(n->body);
    check_concrete(n->orelse);
    for (int k = 0; k < n->nkids; k++)
        check_concrete(n->kids[k]);
    for (int k = 0; k < n->nrange; k++)
        check_concrete(n->range[k]);
}
#endif

void kernel_concrete_types(infer *I, kernel_node *body, kernel_type ret)
{
    resolve_stmt(I, body, ret);
#ifndef NDEBUG
    if (!I->failed)
        check_concrete(body);
#endif
}
