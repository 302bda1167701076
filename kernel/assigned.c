/* assigned.c — definite assignment (step 3 of inference, infer.c): every
 * local is assigned before it is read, on every path.
 *
 * Requires: the function's locals collected (f->locals), names resolved
 * (symkind). Breaks nothing: it only reads the tree and sets fs->falls_off.
 * Linear in the size of the function (a loop body is walked twice, and only
 * once inside a learning walk, so nesting does not multiply the work).
 */
#include <stdlib.h>
#include <string.h>

#include "kernel/infer.h"

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
        int li = e->symkind == SYM_PARAM ? -1 : kernel_local_index(f, e->name);
        if (li >= 0 && !s->set[li] && !s->quiet)
            kernel_fail(I, UG_ENAME, e->pos, "local variable '%s' may be used before assignment", e->name);
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
        int li = kernel_local_index(f, t->name);
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
        return kernel_fail(I, UG_ENOMEM, f->pos, "out of memory") != NULL;
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
    case N_RAISE: s->dead = true; break;
    case N_ASSERT: da_reads(I, f, n->cond, s); break;
    case N_BLOCK: da_block(I, f, n, s); break;
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
        da_reads(I, f, n->a, s);
        da_reads(I, f, n->b, s);
        for (int k = 1; n->kind == N_FOR && k < n->nkids; k++)
            da_reads(I, f, n->kids[k], s);
        da_reads(I, f, n->cond, s);
        if (!da_copy(I, f, s, &x))
            return;
        if (n->kind == N_FOR)
            da_mark(f, n->kids[0], &x);
        if (s->quiet) { /* learning already: one walk tells what the loop assigns (two would be exponential in nesting) */
            da_block(I, f, n->body, &x);
            for (int k = 0; k < f->nlocals; k++)
                s->set[k] = s->set[k] || x.set[k];
            break;
        }
        x.quiet = true; /* first pass: learn what one iteration assigns */
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

void kernel_check_assigned(infer *I, fstate *fs)
{
    dstate s = {.set = kernel_arena_alloc(I->a, (size_t)fs->fn->nlocals + 1)};
    if (!s.set) {
        kernel_fail(I, UG_ENOMEM, fs->fn->pos, "out of memory");
        return;
    }
    da_block(I, fs->fn, fs->fn->body, &s);
    fs->falls_off = !s.dead;
}
