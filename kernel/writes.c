/* writes.c — which parameters a kernel stores into.
 *
 * Requires: a parsed module (no types). A parameter is written when a store
 * (`x[...] = v`, `x[...] += v`, a slice store) has at its root the
 * parameter itself or a local viewing it (`row = a[i]`, `for row in a`,
 * `v = a[1:]`), or when the parameter is passed to a helper that writes the
 * matching parameter. Rebinding a scalar parameter (`x = x + 1`) writes
 * nothing. The answer is syntactic, so it is the same for every dtype
 * signature: the NumPy bridge marks those inputs read-write before any loop
 * is compiled. Views are tracked by name to a fixpoint; at most 64
 * parameters are tracked (a bit each).
 */
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"

#define MAX_ALIAS 256
#define MAX_DEPTH 32

/* The functions whose answer is known or being worked out in one query:
 * each function is analysed once (a recursive call, which inference
 * rejects anyway, counts as writing nothing), so the cost is linear. Sized
 * to the module (at most one entry per function): one or two, as a rule,
 * where a fixed table of 1024 cleared 17 kB per ufunc created. */
typedef struct wmemo_entry {
    const kernel_func *f;
    uint64_t written;
    bool done;
} wmemo_entry;

typedef struct wmemo {
    wmemo_entry *e;
    int n, cap;
} wmemo;

typedef struct wstate {
    const kernel_module *m;
    wmemo *memo;
    const kernel_func *f;
    const char *name[MAX_ALIAS]; /* locals that may view parameters */
    uint64_t mask[MAX_ALIAS];
    int n;
    uint64_t written;
    bool changed;
    int depth; /* helper nesting */
} wstate;

static uint64_t mask_of(const wstate *w, const char *name)
{
    for (int k = 0; k < w->n; k++)
        if (strcmp(w->name[k], name) == 0)
            return w->mask[k];
    for (int k = 0; k < w->f->nparams && k < 64; k++)
        if (strcmp(w->f->params[k].name, name) == 0)
            return (uint64_t)1 << k;
    return 0;
}

/* The name an array expression is rooted at (a, a[i], a[1:], a.T, a.flat). */
static const char *root(const kernel_node *e)
{
    while (e && (e->kind == N_INDEX || e->kind == N_ATTR))
        e = e->a;
    return e && e->kind == N_NAME ? e->name : NULL;
}

static void alias(wstate *w, const char *local, uint64_t m)
{
    if (!local || !m)
        return;
    for (int k = 0; k < w->n; k++)
        if (strcmp(w->name[k], local) == 0) {
            w->changed |= (w->mask[k] | m) != w->mask[k];
            w->mask[k] |= m;
            return;
        }
    if (w->n < MAX_ALIAS) {
        w->name[w->n] = local;
        w->mask[w->n++] = m;
        w->changed = true;
    }
}

static uint64_t helper_writes(const wstate *w, const kernel_func *h);

static const kernel_func *find_def(const kernel_module *m, const char *name)
{
    for (int k = m->nfuncs - 1; k >= 0; k--)
        if (!m->funcs[k]->is_lambda && strcmp(m->funcs[k]->name, name) == 0)
            return m->funcs[k];
    return NULL;
}

static void walk(wstate *w, const kernel_node *n)
{
    if (!n)
        return;
    const char *r;
    switch (n->kind) {
    case N_ASSIGN:
    case N_AUGASSIGN: {
        const kernel_node *t = n->kids[0];
        if (t->kind == N_INDEX && (r = root(t)))
            w->written |= mask_of(w, r);
        else if (t->kind == N_NAME && (r = root(n->b)))
            alias(w, t->name, mask_of(w, r));
        break;
    }
    case N_FOR: { /* for row in a / enumerate(a) / zip(a, b) */
        const kernel_node *v = n->kids[0];
        if (n->nrange == 0 && n->iter == FOR_ARRAY && v->kind == N_NAME && (r = root(n->a)))
            alias(w, v->name, mask_of(w, r));
        if (n->nrange == 0 && n->iter == FOR_ENUMERATE && v->kind == N_TUPLE && v->nkids == 2 && (r = root(n->a)))
            alias(w, v->kids[1]->name, mask_of(w, r));
        for (int k = 1; n->nrange == 0 && n->iter == FOR_ZIP && v->kind == N_TUPLE && k < n->nkids && k - 1 < v->nkids; k++)
            if ((r = root(n->kids[k])))
                alias(w, v->kids[k - 1]->name, mask_of(w, r));
        break;
    }
    case N_CALL: {
        if (n->a && (strcmp(n->name, "sort") == 0 || strcmp(n->name, "fill") == 0) && (r = root(n->a)))
            w->written |= mask_of(w, r); /* a.sort(), a.fill(v) change a */
        const kernel_func *h = n->a || n->prefixed ? NULL : find_def(w->m, n->name);
        uint64_t hw = h && w->depth < MAX_DEPTH ? helper_writes(w, h) : 0;
        for (int k = 0; k < n->nkids && k < 64; k++)
            if ((hw >> k & 1) && (r = root(n->kids[k])))
                w->written |= mask_of(w, r);
        break;
    }
    default: break;
    }
    const kernel_node *kids[] = {n->a, n->b, n->cond, n->body, n->orelse, n->range[0], n->range[1], n->range[2]};
    for (size_t k = 0; k < sizeof kids / sizeof *kids; k++)
        walk(w, kids[k]);
    for (int k = 0; k < n->nkids; k++)
        walk(w, n->kids[k]);
}

static uint64_t writes(const kernel_module *m, wmemo *memo, const kernel_func *f, int depth)
{
    for (int k = 0; k < memo->n; k++)
        if (memo->e[k].f == f)
            return memo->e[k].done ? memo->e[k].written : 0; /* known, or recursion */
    int slot = memo->n < memo->cap ? memo->n++ : -1;
    if (slot < 0) /* not a function of the module */
        return 0;
    memo->e[slot] = (wmemo_entry){f, 0, false};
    wstate w = {.m = m, .memo = memo, .f = f, .depth = depth + 1};
    int rounds = 0;
    do /* views of views: to a fixpoint */
        w.changed = false, walk(&w, f->body);
    while (w.changed && ++rounds < 16);
    memo->e[slot].written = w.written;
    memo->e[slot].done = true;
    return w.written;
}

static uint64_t helper_writes(const wstate *w, const kernel_func *h) { return writes(w->m, w->memo, h, w->depth); }

uint64_t kernel_written_params(const kernel_module *m, const kernel_func *f)
{
    wmemo memo = {.cap = m->nfuncs + 1}; /* + 1: f itself, should it not be one of m's */
    wmemo_entry stack[8];
    memo.e = memo.cap <= 8 ? stack : malloc((size_t)memo.cap * sizeof *memo.e);
    if (!memo.e) /* out of memory: say every parameter may be written (read-write is always safe) */
        return ~(uint64_t)0;
    uint64_t w = writes(m, &memo, f, 0);
    if (memo.e != stack)
        free(memo.e);
    return w;
}
