/* variant.c — variants of gufunc loops (the policy and the loop functions
 * that pick a variant per call). A gufunc's loop reads its core sizes and
 * core strides at run time, so a 4x4 matmul kernel runs loops of unknown
 * trip count over unknown strides, and a reduction over a contiguous core
 * loads its elements with gathers (LLVM vectorises a loop over a byte
 * stride it does not know). Two kinds of variant, compiled for large calls:
 * - a core-shape variant: a call with SPEC_MIN_OUTER outer iterations, or
 *   SPEC_MIN_WORK of work (spec_worth), gets a variant of the loop with that
 *   call's core sizes and core steps as constants, which LLVM unrolls and
 *   vectorises; later calls with the same core shape use it whatever their
 *   size;
 * - a step variant: a call with STEP_MIN_WORK of work that no core-shape
 *   variant serves gets a variant with only its core steps as constants,
 *   which serves every core size (numbagg's moving windows and reductions
 *   over 1e6-element lines, or a 1000x1000 stack: contiguous loads instead
 *   of gathers).
 * Up to SPEC_MAX variants per loop, of both kinds. A key (core shape, or
 * steps) is compiled for at its second large call (a script that makes one
 * large call does not wait 10-40 ms for a variant it uses once); its first
 * large call takes the variant from the disk cache if it is there.
 * A variant computes exactly what the generic loop computes (no fast-math:
 * with it, variants are not made), so a result never depends on which one
 * ran. UFUNCGEN_SPECIALIZE=0 turns variants off.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ufuncgen/internal.h"

#define SPEC_MIN_OUTER 65536
#define SPEC_MIN_WORK (INT64_C(1) << 22) /* outer iterations x core sizes: as 65536 4x4x4 matmuls */
#define STEP_MIN_WORK (INT64_C(1) << 19) /* a call of half a million elements: 0.1-1 ms */
#define STEP_SIZE (-1)                   /* a step variant's core sizes in its key: any */

int drv_variant_key_len(const ug_ufunc *u)
{
    if (!u->gufunc || u->opts.fastmath || !base_env_specialize())
        return 0;
    int n = u->layout->ndims;
    for (int k = 0; k < u->nin + u->nout; k++)
        n += u->layout->op_ncore[k];
    return n > 0 && n <= SPEC_MAX_KEY ? n : 0;
}

static void spec_key(const core_loop *rec, const intptr_t *dims, const intptr_t *steps, intptr_t *key)
{
    const ug_ufunc *u = rec->u;
    int nd = u->layout->ndims, nops = u->nin + u->nout;
    memcpy(key, dims + 1, sizeof *key * (size_t)nd);
    memcpy(key + nd, steps + nops, sizeof *key * (size_t)(rec->jit->nkey - nd));
}

/* The step variant's key for a core-shape key: its sizes replaced by STEP_SIZE. */
static void step_key(const core_loop *rec, const intptr_t *key, intptr_t *skey)
{
    int nd = rec->u->layout->ndims;
    memcpy(skey, key, sizeof *key * (size_t)rec->jit->nkey);
    for (int d = 0; d < nd; d++)
        skey[d] = STEP_SIZE;
}

/* "dd->d@4,4,4:32,8,..." ("dd->d@*,*,*:32,8,..." for a step variant): the
 * variant's name in the cache and its symbol. */
static void spec_sig(const core_loop *rec, const intptr_t *key, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "%s@", rec->sig);
    for (int i = 0; i < rec->jit->nkey && n < cap; i++)
        n += i < rec->u->layout->ndims && key[i] == STEP_SIZE
                 ? (size_t)snprintf(out + n, cap - n, "%s*", i == 0 ? "" : ",")
                 : (size_t)snprintf(out + n, cap - n, "%s%lld",
                                    i == 0 ? "" : i == rec->u->layout->ndims ? ":" : ",", (long long)key[i]);
}

/* The variant for key into v: from the cache, else (unless cached_only)
 * compiled (and cached). cached_only and not in the cache: UG_OK with
 * v->fn NULL. */
static ug_status spec_compile(core_loop *rec, const intptr_t *key, bool cached_only, spec_variant *v, ug_error *err)
{
    ug_ufunc *u = rec->u;
    char sig[1536], symbol[48];
    int64_t sizes[SPEC_MAX_KEY], steps[SPEC_MAX_KEY];
    int nd = u->layout->ndims;
    for (int i = 0; i < rec->jit->nkey; i++)
        (i < nd ? sizes : steps)[i < nd ? i : i - nd] = key[i];
    spec_sig(rec, key, sig, sizeof sig);
    drv_loop_symbol(u, sig, symbol);
    struct cache *c = u->opts.cache ? drv_ctx_cache(u->ctx) : NULL;
    void *obj = NULL;
    size_t size = 0;
    ug_status st = UG_OK;
    if (!c || !cache_get(c, u->name, &u->src->kkey, sig, &obj, &size)) {
        if (cached_only) {
            v->fn = NULL;
            return UG_OK;
        }
        kernel_typed *tk = NULL;
        st = drv_infer(u, rec->types, rec->boxed, false, &tk, err);
        if (st == UG_OK)
            st = drv_compile(u, tk, rec->types, symbol, nd > 0 && key[0] == STEP_SIZE ? NULL : sizes, steps, NULL,
                             &obj, &size, err);
        kernel_typed_free(tk);
        if (st == UG_OK && c)
            cache_put(c, u->name, &u->src->kkey, sig, obj, size);
    }
    if (st == UG_OK)
        st = loops_load(obj, size, symbol, &v->code, &v->fn, err);
    free(obj);
    return st;
}

/* Whether the call's work (the outer count times every core dimension's
 * size) is at least min (<= 2**22). */
static bool work_at_least(const ug_ufunc *u, const intptr_t *dims, int64_t min)
{
    int64_t work = dims[0];
    for (int d = 0; d < u->layout->ndims && work > 0 && work < min; d++) {
        int64_t n = dims[1 + d];
        work = n >= min ? min : n > 1 ? work * n : work; /* both < 2**22: no overflow */
    }
    return work >= min;
}

/* Whether a call pays for a core-shape variant: many outer iterations, or
 * much work (as a 500x500 pdist over 8 coordinates or 10K series of 1000:
 * few items, each large). */
static bool spec_worth(const ug_ufunc *u, const intptr_t *dims)
{
    return dims[0] >= SPEC_MIN_OUTER || work_at_least(u, dims, SPEC_MIN_WORK);
}

/* Whether this key (core shape, or steps) was seen in an earlier large call; remembers it. */
static bool spec_seen(core_loop *rec, const intptr_t *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the key's bytes: a collision only compiles early */
    const unsigned char *b = (const unsigned char *)key;
    for (size_t i = 0; i < sizeof *key * (size_t)rec->jit->nkey; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    for (unsigned i = 0; i < rec->jit->nseen && i < SPEC_SEEN; i++)
        if (rec->jit->seen[i] == h)
            return true;
    rec->jit->seen[rec->jit->nseen++ % SPEC_SEEN] = h;
    return false;
}

/* Publish v (made under rec->jit->smu) as the n-th variant. */
static spec_variant *spec_publish(core_loop *rec, spec_variant *v, int n)
{
    v->par = rec->par;
    v->par.fn = v->fn;
    v->par.ns_per_elem = v->par.ns_par_elem = 0; /* its own costs */
    atomic_store_explicit(&rec->jit->nspec, n + 1, memory_order_release);
    if (n + 1 >= SPEC_MAX)
        atomic_store(&rec->jit->spec_done, 1);
    return v;
}

/* Make the variant for key under rec->jit->smu: from the cache at a core shape's
 * first large call, compiled at its second. NULL: not (yet) made. */
static spec_variant *spec_make(core_loop *rec, const intptr_t *key, int n)
{
    if (!rec->jit->spec && !(rec->jit->spec = calloc(SPEC_MAX, sizeof *rec->jit->spec))) {
        atomic_store(&rec->jit->spec_done, 1); /* out of memory: the generic loop */
        return NULL;
    }
    spec_variant *v = &rec->jit->spec[n];
    memcpy(v->key, key, sizeof *key * (size_t)rec->jit->nkey);
    v->nkey = rec->jit->nkey;
    bool again = spec_seen(rec, key);
    ug_error err;
    ug_status st = spec_compile(rec, key, !again, v, &err);
    if (st == UG_OK && v->fn)
        return spec_publish(rec, v, n);
    if (st != UG_OK) {
        /* The generic loop is always right: stop making variants of this
         * loop; the reason is kept for UFUNCGEN_DEBUG_CACHE users. */
        if (rec->u->ctx->cfg.debug_cache || base_env_debug_cache())
            fprintf(stderr, "ufuncgen: no core-shape variant of '%s' %s: %s\n", rec->u->name, rec->sig, err.msg);
        atomic_store(&rec->jit->spec_done, 1);
    }
    return NULL;
}

/* The published variant with key k, or NULL. */
static spec_variant *spec_lookup(core_loop *rec, const intptr_t *k, int n)
{
    size_t kb = sizeof *k * (size_t)rec->jit->nkey;
    for (int i = 0; i < n; i++)
        if (!memcmp(rec->jit->spec[i].key, k, kb))
            return &rec->jit->spec[i];
    return NULL;
}

/* The existing variant for key k, else a new one (see spec_make); NULL: none. */
static spec_variant *spec_get(core_loop *rec, const intptr_t *k)
{
    spec_variant *found = NULL;
    loops_enter(); /* no fork while smu is held (loops.h) */
    pthread_mutex_lock(&rec->jit->smu);
    int n = atomic_load_explicit(&rec->jit->nspec, memory_order_relaxed);
    found = spec_lookup(rec, k, n); /* made by another thread meanwhile? */
    if (!found && n < SPEC_MAX && !atomic_load(&rec->jit->spec_done))
        found = spec_make(rec, k, n);
    pthread_mutex_unlock(&rec->jit->smu);
    loops_leave();
    return found;
}

/* The variant for this call: the core-shape variant of its core shape, else
 * the step variant of its steps, existing or new if the call is large
 * enough; NULL: use the generic loop. */
static spec_variant *spec_find(core_loop *rec, const intptr_t *dims, const intptr_t *steps)
{
    if (!rec->jit->nkey)
        return NULL;
    intptr_t key[SPEC_MAX_KEY], skey[SPEC_MAX_KEY];
    spec_key(rec, dims, steps, key);
    int n = atomic_load_explicit(&rec->jit->nspec, memory_order_acquire);
    spec_variant *v = spec_lookup(rec, key, n);
    if (v)
        return v;
    step_key(rec, key, skey);
    v = spec_lookup(rec, skey, n);
    if (atomic_load_explicit(&rec->jit->spec_done, memory_order_relaxed))
        return v;
    spec_variant *shaped = spec_worth(rec->u, dims) ? spec_get(rec, key) : NULL;
    if (shaped)
        return shaped;
    if (!v && work_at_least(rec->u, dims, STEP_MIN_WORK))
        v = spec_get(rec, skey);
    return v;
}

void drv_variant_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    core_loop *rec = data;
    spec_variant *v = spec_find(rec, dims, steps);
    (v ? v->fn : rec->fn)(args, dims, steps, NULL);
}

void drv_variant_par_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    core_loop *rec = data;
    spec_variant *v = spec_find(rec, dims, steps);
    par_loop_fn(args, dims, steps, v ? &v->par : &rec->par);
}

void drv_variants_free(core_loop *rec)
{
    int n = atomic_load(&rec->jit->nspec);
    for (int i = 0; i < n; i++)
        loops_unload(rec->jit->spec[i].code);
    free(rec->jit->spec);
    rec->jit->spec = NULL;
}
