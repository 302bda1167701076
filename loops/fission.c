/* fission.c — which `for` loops lowering splits in two (loop fission).
 *
 * A loop like a moving mean
 *
 *     for i in range(w, n):
 *         asum += a[i] - a[i - w]
 *         out[i] = asum / count
 *
 * cannot be vectorised: asum is a recurrence (each value needs the last,
 * and reassociating float additions would change results). So the division
 * runs scalar too, one per element, and bounds the loop (the divider's
 * throughput, not the recurrence, is the limit). Split in two,
 *
 *     for i in range(w, n):  asum += a[i] - a[i - w];  out[i] = asum
 *     for i in range(w, n):  out[i] = out[i] / count
 *
 * the second loop has no recurrence and vectorises, and every element gets
 * the same operations on the same values: results are bit-identical.
 *
 * This file only decides (pure AST; requires a typed kernel satisfying
 * kernel.h's invariants). A loop is split at a top-level statement
 * `X[..., i + c, ...] = V` when:
 *  - the body has no break, continue, return or helper call (each statement
 *    runs once per iteration; nothing else sees X);
 *  - X is an array parameter the body indexes nowhere else (so the first
 *    loop can park a value there that nothing reads), the loop variable i is
 *    not assigned in the body, the other indices of X are loop-invariant;
 *  - V reads no array, and of the locals the body assigns it reads only one,
 *    s, of X's element dtype (parking s in X is exact), besides i and
 *    loop-invariant values;
 *  - s is a recurrence (the body computes s from s), so the loop would not
 *    vectorise whole (also when that happens in a nested loop, as pdist's
 *    `acc += t * t` under `for j`: LLVM vectorises innermost loops only),
 *    and V does expensive vectorisable work (a float division, power,
 *    square root or transcendental function).
 * The two loops that cannot vectorise (the first of the split, and the
 * loop as written) are marked not to vectorise or unroll (lower.c): that
 * halves the extra compile time and measured no slower.
 * What lowering must still check at run time (lower.c): X's memory is
 * apart from every other array the body indexes, the range's step is 1 and
 * X's stride on that axis is its element size (the second loop vectorises
 * only over contiguous elements), and i + c does not start negative.
 */
#include <stdlib.h>

#include "loops/gen.h"

/* What the walk over the loop body collects. */
typedef struct scan {
    const kernel_func *f;
    bool *assigned;   /* per local: assigned somewhere in the body */
    int *xrefs;       /* per param: element accesses (reads, stores) in the body */
    bool bad;         /* a jump or helper call: the loop is never split */
} scan;

static void scan_node(scan *sc, const kernel_node *n);

static void scan_target(scan *sc, const kernel_node *t)
{
    if (t->kind == N_NAME && t->symkind == SYM_LOCAL)
        sc->assigned[t->index] = true;
    else if (t->kind == N_TUPLE)
        for (int k = 0; k < t->nkids; k++)
            scan_target(sc, t->kids[k]);
    else
        scan_node(sc, t);
}

static void scan_kids(scan *sc, const kernel_node *n)
{
    const kernel_node *one[] = {n->a, n->b, n->cond, n->body, n->orelse};
    for (size_t k = 0; k < sizeof one / sizeof *one; k++)
        if (one[k])
            scan_node(sc, one[k]);
    for (int k = 0; k < n->nkids; k++)
        scan_node(sc, n->kids[k]);
    for (int k = 0; k < n->nrange; k++)
        scan_node(sc, n->range[k]);
}

static void scan_node(scan *sc, const kernel_node *n)
{
    switch (n->kind) {
    case N_BREAK: case N_CONTINUE: case N_RETURN:
        sc->bad = true;
        return;
    case N_CALL:
        sc->bad |= n->builtin < 0 || n->builtin == B_PRINT || n->builtin == B_THREAD_ID; /* a helper, output, a thread */
        break;
    case N_INDEX:
        if (n->a->kind == N_NAME && n->a->symkind == SYM_PARAM)
            sc->xrefs[n->a->index]++;
        break;
    case N_ASSIGN: case N_AUGASSIGN:
        scan_target(sc, n->kids[0]);
        scan_node(sc, n->b);
        return;
    case N_FOR:
        scan_target(sc, n->kids[0]);
        break;
    default:
        break;
    }
    scan_kids(sc, n);
}

/* ---------------------------------------------------------------- values */

/* What an expression reads, as far as splitting goes. */
typedef struct reads {
    int s;          /* the one body-assigned local read (-1: none) */
    bool iv;        /* reads the loop variable */
    bool bad;       /* reads an array element, a second body-assigned local, or calls a helper */
    bool costly;    /* a float division, power, sqrt or transcendental call */
} reads;

static bool is_float(kernel_type t) { return t.dt == UG_FLOAT32 || t.dt == UG_FLOAT64; }

/* sqrt and what libmvec vectorises (math.c): exp .. hypot, erf, erfc, pow. */
static bool costly_call(const kernel_node *n)
{
    int b = n->builtin;
    return (b >= B_EXP && b <= B_HYPOT) || b == B_ERF || b == B_ERFC || (b == B_POW && is_float(n->opty));
}

static void read_expr(const scan *sc, int iv, const kernel_node *n, reads *r)
{
    if (!n || r->bad)
        return;
    switch (n->kind) {
    case N_NAME:
        if (n->symkind == SYM_LOCAL && n->index == iv)
            r->iv = true;
        else if (n->symkind == SYM_LOCAL && sc->assigned[n->index]) {
            r->bad |= r->s >= 0 && r->s != n->index;
            r->s = n->index;
        }
        return;
    case N_INDEX:
        r->bad |= n->a->kind != N_ATTR; /* a.shape[k] is invariant */
        break;
    case N_CALL:
        r->bad |= n->builtin < 0;
        r->costly |= costly_call(n);
        break;
    case N_BINARY:
        r->costly |= (n->op == TK_SLASH || n->op == TK_DSTAR) && is_float(n->opty);
        break;
    default:
        break;
    }
    read_expr(sc, iv, n->a, r);
    read_expr(sc, iv, n->b, r);
    read_expr(sc, iv, n->cond, r);
    for (int k = 0; k < n->nkids; k++)
        read_expr(sc, iv, n->kids[k], r);
}

/* Whether n does not change during the loop: no body-assigned local, no
 * loop variable, no array element. */
static bool invariant(const scan *sc, int iv, const kernel_node *n)
{
    reads r = {.s = -1};
    read_expr(sc, iv, n, &r);
    return !r.bad && r.s < 0 && !r.iv;
}

/* i, i + c, c + i or i - c, with c an integer literal. */
static bool iv_index(int iv, const kernel_node *n, int64_t *off)
{
    if (n->kind == N_NAME)
        return n->symkind == SYM_LOCAL && n->index == iv && (*off = 0, true);
    if (n->kind != N_BINARY || (n->op != TK_PLUS && n->op != TK_MINUS))
        return false;
    const kernel_node *v = n->a, *c = n->b;
    if (n->op == TK_PLUS && v->kind == N_INT)
        v = n->b, c = n->a;
    if (v->kind != N_NAME || v->symkind != SYM_LOCAL || v->index != iv || c->kind != N_INT || c->big)
        return false;
    if (c->ival < -(INT64_C(1) << 40) || c->ival > (INT64_C(1) << 40))
        return false;
    *off = n->op == TK_MINUS ? -c->ival : c->ival;
    return true;
}

/* Whether the body computes local s from its own value. */
static bool recurrence(const scan *sc, const kernel_node *n, int s)
{
    if (!n)
        return false;
    const kernel_node *t = (n->kind == N_ASSIGN || n->kind == N_AUGASSIGN) ? n->kids[0] : NULL;
    if (t && t->kind == N_NAME && t->symkind == SYM_LOCAL && t->index == s) {
        if (n->kind == N_AUGASSIGN)
            return true;
        reads r = {.s = -1};
        read_expr(sc, -1, n->b, &r);
        if (r.s == s)
            return true;
    }
    if (recurrence(sc, n->body, s) || recurrence(sc, n->orelse, s))
        return true;
    for (int k = 0; n->kind == N_BLOCK && k < n->nkids; k++)
        if (recurrence(sc, n->kids[k], s))
            return true;
    return false;
}

/* ---------------------------------------------------------------- the plan */

/* Statement st of the body as the split point, or false. */
static bool plan_stmt(const scan *sc, const kernel_node *loop, const kernel_node *st, loops_fission *p)
{
    int iv = loop->kids[0]->index;
    if (st->kind != N_ASSIGN || st->kids[0]->kind != N_INDEX)
        return false;
    const kernel_node *t = st->kids[0], *x = t->a;
    if (x->kind != N_NAME || x->symkind != SYM_PARAM || sc->xrefs[x->index] != 1)
        return false;
    int axis = -1;
    for (int d = 0; d < t->nkids; d++) {
        int64_t off;
        if (axis < 0 && iv_index(iv, t->kids[d], &off))
            axis = d, p->off = off;
        else if (!invariant(sc, iv, t->kids[d]))
            return false;
    }
    reads r = {.s = -1};
    read_expr(sc, iv, st->b, &r);
    if (axis < 0 || r.bad || r.s < 0 || !r.costly)
        return false;
    kernel_type sty = sc->f->locals[r.s].ty;
    if (sty.kind != KT_SCALAR || sty.dt != t->ty.dt || !recurrence(sc, loop->body, r.s))
        return false;
    p->store = st;
    p->s = r.s;
    p->axis = axis;
    return true;
}

bool loops_fission_plan(const kernel_func *f, const kernel_node *loop, loops_fission *p)
{
    const kernel_node *body = loop->body;
    *p = (loops_fission){.s = -1};
    if (!body || body->kind != N_BLOCK || loop->kids[0]->kind != N_NAME || f->nparams > LOOPS_FISSION_MAXP)
        return false;
    scan sc = {.f = f, .assigned = calloc((size_t)f->nlocals + 1, sizeof(bool)),
               .xrefs = calloc((size_t)f->nparams + 1, sizeof(int))};
    bool ok = false;
    if (sc.assigned && sc.xrefs) {
        scan_node(&sc, body);
        ok = !sc.bad && !sc.assigned[loop->kids[0]->index];
        for (int k = 0, found = 0; ok && !found && k < body->nkids; k++)
            found = plan_stmt(&sc, loop, body->kids[k], p);
        ok = ok && p->store;
        for (int k = 0; ok && k < f->nparams; k++) /* arrays to keep apart from X */
            p->touched[k] = sc.xrefs[k] > 0 && k != p->store->kids[0]->a->index;
    }
    free(sc.assigned);
    free(sc.xrefs);
    return ok;
}
