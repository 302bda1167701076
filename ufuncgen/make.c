/* make.c — ufuncs made from kernel source: the driver that turns source +
 * signatures into loaded inner loops, and attaches itself to core/'s
 * objects (ug_ufunc.src, core_loop.jit, the core_maker below).
 *
 * Creation is a straight line per signature:
 *     parse (once) → key → cache lookup ─hit─────────────────────→ load
 *                                    └miss→ infer → lower+optimise → store → load
 * A hit skips type inference and LLVM entirely; parsing still runs because
 * the key covers exactly the kernel and the helpers it calls (kernel_deps).
 * Lazy compilation appends loops under the ufunc's source mutex (core/'s
 * table publishes them).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache.h"
#include "core/core.h"
#include "kernel/kernel.h"
#include "layout/layout.h"
#include "loops/loops.h"
#include "parallel/parallel.h"
#include "ufuncgen/internal.h"

/* Thread CPU time in ms, for UFUNCGEN_DUMP=time (0 without it: reading the
 * clock is a system call, 50 of them a visible part of a warm start). */
static double cpu_ms(void)
{
    if (!base_env_dump("time"))
        return 0;
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* ------------------------------------------------------------ keys */

/* Hash of everything that decides the machine code except the signature. */
static void kernel_key(const ug_ufunc *u, cache_key *out)
{
    cache_hasher h;
    cache_hash_init(&h);
    cache_hash_str(&h, "ufuncgen kernel key v2"); /* v2: the kernel language of round 2 (typing of bare-literal locals) */
    cache_hash_str(&h, u->src->kfunc->name);
    const kernel_func **deps = NULL;
    int n = kernel_deps(u->src->mod, u->src->kfunc, &deps);
    for (int i = 0; i < n; i++)
        cache_hash_bytes(&h, u->src->ksrc.text + deps[i]->src_begin, (size_t)(deps[i]->src_end - deps[i]->src_begin));
    /* Module constants are compiled into the loops, so they are part of the key;
     * they carry no source span, so the whole text is hashed when there are any
     * (more than needed, never less: K = 1 vs K = 2 must not share a loop). */
    if (u->src->mod->nconsts)
        cache_hash_str(&h, u->src->ksrc.text);
    cache_hash_str(&h, u->layout->text);
    cache_hash_int(&h, u->gufunc);
    cache_hash_int(&h, u->opts.target);
    cache_hash_int(&h, u->opts.fastmath);
    cache_hash_int(&h, u->opts.boundscheck);
    cache_hash_int(&h, u->opts.math);
    cache_hash_str(&h, u->opts.locals ? u->opts.locals : "");
    cache_hash_int(&h, u->ctx->cfg.opt_level);
    cache_hash_host(&h);
    cache_hash_final(&h, out);
}

/* The loop's symbol: unique per (kernel key, signature), the same in every
 * process, so a cached object is looked up under the name it was built with. */
void drv_loop_symbol(const ug_ufunc *u, const char *sig, char out[48])
{
    cache_hasher h;
    cache_key k;
    char hex[65];
    cache_hash_init(&h);
    cache_hash_bytes(&h, u->src->kkey.b, sizeof u->src->kkey.b);
    cache_hash_str(&h, sig);
    cache_hash_final(&h, &k);
    cache_key_hex(&k, hex);
    snprintf(out, 48, "ugl_%.40s", hex);
}

/* ------------------------------------------------------------ compiling one loop */

/* The kernel's view of the arguments: gufunc operands are arrays with their
 * core dims, except "()" inputs (scalars) and "()" outputs (1-element
 * arrays, Numba's out[0] convention). */
static void arg_types(const ug_ufunc *u, const ug_dtype *types, uint64_t boxed, kernel_argtype *args)
{
    for (int k = 0; k < u->nin + u->nout; k++) {
        args[k].dt = types[k];
        args[k].ndim = u->gufunc ? u->layout->op_ncore[k] : 0;
        if (u->gufunc && (k >= u->nin || (boxed >> k & 1)) && args[k].ndim == 0)
            args[k].ndim = 1;
    }
}

/* The parsed kernel (s->mod, s->kfunc): parsed at creation, and again if
 * creation dropped it (drop_idle_module). Once there it stays until the
 * ufunc is freed: typed loops refer to it. */
static ug_status drv_kernel(const ug_ufunc *u, ug_error *err)
{
    drv_ufunc_src *s = u->src;
    ug_status st = UG_OK;
    loops_enter(); /* no fork while pmu is held (loops.h) */
    pthread_mutex_lock(&s->pmu);
    if (!s->mod && (st = kernel_parse(&s->ksrc, &s->mod, err)) == UG_OK &&
        !(s->kfunc = kernel_find(s->mod, u->opts.kernel, err))) {
        kernel_module_free(s->mod);
        s->mod = NULL;
        st = err && err->code ? err->code : base_err_set(err, UG_ENAME, "no kernel found in the source");
    }
    pthread_mutex_unlock(&s->pmu);
    loops_leave();
    return st;
}

ug_status drv_infer(const ug_ufunc *u, const ug_dtype *types, uint64_t boxed, bool infer_out, kernel_typed **tk,
                    ug_error *err)
{
    ug_status st = drv_kernel(u, err);
    if (st != UG_OK)
        return st;
    kernel_argtype args[UG_MAXARGS];
    arg_types(u, types, boxed, args);
    kernel_infer_opts o = {.gufunc = u->gufunc, .nin = u->nin, .nout = u->nout, .args = args,
                           .infer_output = infer_out, .locals = u->opts.locals};
    st = kernel_infer(u->src->mod, u->src->kfunc, &o, tk, err);
    if (st == UG_OK && base_env_dump("types"))
        kernel_dump_typed(stderr, *tk);
    return st;
}

ug_status drv_compile(const ug_ufunc *u, const kernel_typed *tk, const ug_dtype *types, const char *symbol,
                      const int64_t *core_sizes, const int64_t *core_steps, const loops_target *target, void **obj,
                      size_t *size, ug_error *err)
{
    loops_request r = {.tk = tk, .layout = u->layout, .dtypes = types, .symbol = symbol, .kname = u->name,
                       .fastmath = u->opts.fastmath, .boundscheck = u->opts.boundscheck, .math = u->opts.math,
                       .opt_level = u->ctx->cfg.opt_level, .core_sizes = core_sizes, .core_steps = core_steps,
                       .target = target};
    return loops_compile(&r, obj, size, err);
}

/* Object code for one signature: from the cache, else compiled (and stored). */
/* The cached object of rec's signature: through the slot the index gave at
 * creation (-1: not cached), else (-2) looked up. */
static bool cached_object(ug_ufunc *u, struct cache *c, const core_loop *rec, void **obj, size_t *size)
{
    if (rec->jit->slot >= 0)
        return cache_get_slot(c, u->name, &u->src->kkey, rec->sig, rec->jit->slot, obj, size);
    return rec->jit->slot == -2 && cache_get(c, u->name, &u->src->kkey, rec->sig, obj, size);
}

/* Object code for one signature: from the cache, else compiled (and stored). */
static ug_status get_object(ug_ufunc *u, kernel_typed **tk, const core_loop *rec, const char *symbol, bool from_cache,
                            void **obj, size_t *size, ug_error *err)
{
    struct cache *c = u->opts.cache ? drv_ctx_cache(u->ctx) : NULL;
    if (c && from_cache && cached_object(u, c, rec, obj, size))
        return UG_OK;
    ug_status st = *tk ? UG_OK : drv_infer(u, rec->types, rec->boxed, false, tk, err);
    if (st == UG_OK)
        st = drv_compile(u, *tk, rec->types, symbol, NULL, NULL, NULL, obj, size, err);
    if (st == UG_OK && c)
        cache_put(c, u->name, &u->src->kkey, rec->sig, *obj, *size);
    return st;
}

/* Make rec's loop: object (cache or compile), then JIT load; frees tk. */
static ug_status load_loop(ug_ufunc *u, kernel_typed *tk, core_loop *rec, ug_error *err)
{
    char symbol[48];
    void *obj = NULL;
    size_t size = 0;
    drv_loop_symbol(u, rec->sig, symbol);
    double t0 = cpu_ms();
    ug_status st = get_object(u, &tk, rec, symbol, true, &obj, &size, err);
    double t1 = cpu_ms();
    if (st == UG_OK) {
        st = loops_load(obj, size, symbol, &rec->jit->code, &rec->fn, err);
        if (base_env_dump("time"))
            fprintf(stderr, "ufuncgen loop %s %s: infer+compile (or cache) %.2f ms, JIT load %.2f ms (thread CPU)\n",
                    u->name, rec->sig, t1 - t0, cpu_ms() - t1);
        if (st != UG_OK && u->opts.cache) {
            /* A cached object that verified but does not load: compile afresh (and overwrite it). */
            free(obj);
            obj = NULL;
            st = get_object(u, &tk, rec, symbol, false, &obj, &size, err);
            if (st == UG_OK)
                st = loops_load(obj, size, symbol, &rec->jit->code, &rec->fn, err);
        }
    }
    free(obj);
    kernel_typed_free(tk);
    return st;
}

/* The pool job of a loop made in the background (pool.c): make it, then
 * publish fn and par (or the failure) last. Run again, it does nothing. */
static void loop_job(drv_job *j)
{
    core_loop *rec = j->arg;
    if (atomic_load_explicit(&rec->ready, memory_order_acquire))
        return;
    kernel_typed *tk = rec->jit->tk;
    rec->jit->tk = NULL;
    ug_error err;
    base_err_clear(&err);
    ug_status st = load_loop(rec->u, tk, rec, &err);
    if (st != UG_OK) {
        rec->st = st;
        if ((rec->err = malloc(sizeof *rec->err)))
            *rec->err = err;
        atomic_store_explicit(&rec->ready, 2, memory_order_release);
        return;
    }
    rec->par.fn = rec->fn;
    atomic_store_explicit(&rec->ready, 1, memory_order_release);
}

/* The loop functions of a loop made in the background: wait for it once,
 * then run what ug_ufunc_loop would have handed out. A failed job is a
 * loop error (ug_take_loop_error), as NumPy's loop ABI has no status. */
static core_loop *pending(void *data)
{
    core_loop *rec = data;
    ug_error err;
    if (core_loop_ready(rec, &err) == UG_OK)
        return rec;
    rt_put_error(&err);
    return NULL;
}

static void pending_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    core_loop *rec = pending(data);
    if (rec && rec->jit->nkey)
        drv_variant_loop(args, dims, steps, rec);
    else if (rec)
        rec->fn(args, dims, steps, NULL);
}

static void pending_par_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    core_loop *rec = pending(data);
    if (rec && rec->jit->nkey)
        drv_variant_par_loop(args, dims, steps, rec);
    else if (rec)
        par_loop_fn(args, dims, steps, &rec->par);
}

/* What the driver attached to rec (entered: loops_unload). */
static void loop_jit_free(core_loop *rec)
{
    if (!rec->jit)
        return;
    kernel_typed_free(rec->jit->tk);
    drv_variants_free(rec);
    loops_unload(rec->jit->code);
    pthread_mutex_destroy(&rec->jit->smu);
    free(rec->jit);
    rec->jit = NULL;
}

/* Output dtypes of a lazily compiled loop: scalar kernels infer it;
 * gufuncs take the promotion of the inputs. */
static ug_status lazy_types(const ug_ufunc *u, ug_dtype *types, kernel_typed **tk, ug_error *err)
{
    if (!u->gufunc) {
        types[u->nin] = UG_FLOAT64; /* placeholder, ignored with infer_output */
        ug_status st = drv_infer(u, types, 0, true, tk, err);
        if (st == UG_OK)
            types[u->nin] = (*tk)->out_dt;
        return st;
    }
    ug_dtype p = types[0];
    for (int k = 1; k < u->nin; k++)
        p = ug_promote(p, types[k]);
    for (int k = u->nin; k < u->nin + u->nout; k++)
        types[k] = p;
    return UG_OK;
}

/* How add_loop makes a loop. */
typedef enum make_mode {
    MAKE_NOW,   /* compile (or load) it before returning */
    MAKE_QUEUE, /* type-check it now (unless cached), queue its job on the pool */
    MAKE_DEFER, /* a job nobody queues: the loop's first use runs it */
} make_mode;

/* A new loop record for these dtypes (outputs: given, or inferred when
 * infer_out), made as `mode` says, published as loop *index. Caller holds
 * u->mu or is the creator; cix: the kernel's cache index read at creation
 * (or NULL). */
static ug_status add_loop(ug_ufunc *u, const ug_dtype *in_types, uint64_t boxed, bool infer_out, make_mode mode,
                          const cache_index *cix, int *index, ug_error *err)
{
    if (atomic_load_explicit(&u->nloops, memory_order_relaxed) >= CORE_MAX_LOOPS)
        return base_err_set(err, UG_EUNSUPPORTED, "ufunc '%s' has %d loops, the most one ufunc can have", u->name,
                            CORE_MAX_LOOPS);
    ug_dtype types[UG_MAXARGS];
    memcpy(types, in_types, sizeof(ug_dtype) * (size_t)(u->nin + u->nout));
    kernel_typed *tk = NULL;
    ug_status st = infer_out ? lazy_types(u, types, &tk, err) : UG_OK;
    if (st != UG_OK)
        return st;
    core_loop *rec = core_loop_new(u, types, boxed);
    drv_loop_jit *jit = rec ? calloc(1, sizeof *jit) : NULL;
    if (!jit) {
        free(rec);
        kernel_typed_free(tk);
        return base_err_set(err, UG_ENOMEM, "out of memory");
    }
    rec->jit = jit;
    jit->slot = -2;
    pthread_mutex_init(&jit->smu, NULL);
    if (mode != MAKE_NOW && u->opts.cache)
        jit->slot = cache_index_slot(cix, rec->sig); /* -1 also without an index: nothing cached */
    if (mode == MAKE_QUEUE && jit->slot < 0 && !tk)
        st = drv_infer(u, rec->types, rec->boxed, false, &tk, err); /* type errors belong to creation */
    if (st == UG_OK && mode == MAKE_NOW) {
        st = load_loop(u, tk, rec, err);
        tk = NULL;
        atomic_init(&rec->ready, 1);
    }
    if (st != UG_OK) {
        kernel_typed_free(tk);
        loops_enter();
        loop_jit_free(rec);
        loops_leave();
        free(rec);
        return st;
    }
    jit->tk = tk;
    rec->pending = mode != MAKE_NOW;
    rec->par.fn = rec->fn;
    jit->nkey = drv_variant_key_len(u);
    drv_job_init(&jit->job, loop_job, rec);
    core_loop_publish(u, rec, index, err); /* room checked above; creation or u's lock serialises */
    /* Only compiles go to the pool. A cached loop (0.1 ms of JIT linking) is
     * loaded by whoever waits for it first: creation when it waits, else
     * the loop's first call, so a warm start is parsing, one index read per
     * kernel, and the loops' registration (no thread hand-off). */
    if (mode == MAKE_QUEUE && jit->slot < 0)
        drv_job_submit(&jit->job);
    return UG_OK;
}

/* ------------------------------------------------------------ creation */

static ug_status check_arity(ug_ufunc *u, ug_error *err)
{
    int np = u->src->kfunc->nparams;
    int want = u->gufunc ? u->nin + u->nout : u->nin;
    if (np == want)
        return UG_OK;
    if (u->gufunc)
        return kernel_error_at(err, UG_ETYPE, &u->src->ksrc, u->src->kfunc->name, u->src->kfunc->pos,
                               "kernel takes %d parameter%s but layout '%s' has %d operands (inputs then outputs)",
                               np, np == 1 ? "" : "s", u->layout->text, want);
    return kernel_error_at(err, UG_ETYPE, &u->src->ksrc, u->src->kfunc->name, u->src->kfunc->pos, "kernel takes %d parameters", np);
}

static ug_status setup_kernel(ug_ufunc *u, const char *layout, ug_error *err)
{
    ug_status st = drv_kernel(u, err);
    if (st)
        return st;
    if (base_env_dump("ast"))
        kernel_dump_module(stderr, u->src->mod);
    if (u->gufunc) {
        if ((st = layout_parse(layout, &u->layout, err)))
            return st;
        u->nin = u->layout->nin;
        u->nout = u->layout->nout;
    } else {
        u->nin = u->src->kfunc->nparams;
        u->nout = 1;
        if (u->nin < 1 || u->nin + 1 > UG_MAXARGS)
            return kernel_error_at(err, UG_ETYPE, &u->src->ksrc, u->src->kfunc->name, u->src->kfunc->pos,
                                   "a vectorize kernel takes 1 to %d parameters, not %d", UG_MAXARGS - 1, u->nin);
        if (!(u->layout = layout_scalar(u->nin, 1)))
            return base_err_set(err, UG_ENOMEM, "out of memory");
    }
    if ((st = check_arity(u, err)))
        return st;
    u->written = kernel_written_params(u->src->mod, u->src->kfunc);
    if (u->nin < 64)
        u->written &= ((uint64_t)1 << u->nin) - 1;
    if (!(u->name = strdup(u->opts.name ? u->opts.name : u->src->kfunc->name)))
        return base_err_set(err, UG_ENOMEM, "out of memory");
    const char *doc = u->opts.doc ? u->opts.doc : u->src->kfunc->doc;
    if (doc && !(u->doc = strdup(doc)))
        return base_err_set(err, UG_ENOMEM, "out of memory");
    kernel_key(u, &u->src->kkey);
    return UG_OK;
}

static ug_status add_signature(ug_ufunc *u, const char *s, bool dedup, make_mode mode, const cache_index *cix,
                               int *index, ug_error *err)
{
    base_sig sig;
    ug_status st = base_sig_parse(s, &sig, err);
    if (st == UG_OK)
        st = base_sig_finish(&sig, s, u->gufunc, u->nin, u->nout, err);
    bool spelled_arrays = false; /* Numba's spelling marks arrays (f8[:]): then a bare type is a scalar */
    for (int k = 0; st == UG_OK && k < u->nin + u->nout; k++)
        spelled_arrays |= sig.ndim[k] > 0;
    if (st == UG_OK && u->gufunc)
        for (int k = 0; k < u->nin + u->nout; k++) {
            if (sig.ndim[k] && u->layout->op_ncore[k] && sig.ndim[k] != u->layout->op_ncore[k])
                return base_err_at(err, UG_ESIGNATURE, "signature", s, 1,
                                        "argument %d has %d array dimension%s but the layout gives it %d", k + 1,
                                        sig.ndim[k], sig.ndim[k] == 1 ? "" : "s", u->layout->op_ncore[k]);
            if (spelled_arrays && !sig.ndim[k] && u->layout->op_ncore[k])
                return base_err_at(err, UG_ESIGNATURE, "signature", s, 1,
                                        "argument %d is a scalar (%s) but the layout gives it %d core dimension%s "
                                        "(write %s[%s])", k + 1, ug_dtype_name(sig.types[k]), u->layout->op_ncore[k],
                                        u->layout->op_ncore[k] == 1 ? "" : "s", ug_dtype_name(sig.types[k]),
                                        u->layout->op_ncore[k] == 1 ? ":" : ":, ...");
        }
    if (st)
        return st;
    uint64_t boxed = 0;
    for (int k = 0; u->gufunc && k < u->nin; k++)
        if (sig.ndim[k] && !u->layout->op_ncore[k])
            boxed |= (uint64_t)1 << k;
    if (dedup) /* the same dtypes again: the loop that exists */
        for (int i = 0; i < ug_ufunc_nloops(u); i++)
            if (!memcmp(u->loops[i]->types, sig.types, sizeof(ug_dtype) * (size_t)(u->nin + u->nout)) &&
                u->loops[i]->boxed == boxed) {
                *index = i;
                return UG_OK;
            }
    return add_loop(u, sig.types, boxed, false, mode, cix, index, err);
}

/* Whether a ufunc's eager signatures wait for their first use (options,
 * then the context, then UFUNCGEN_LAZY). */
static bool deferred(const ug_ufunc *u)
{
    if (u->opts.defer)
        return u->opts.defer > 0;
    if (u->ctx->cfg.defer)
        return u->ctx->cfg.defer > 0;
    return base_env_lazy();
}

/* The eager signatures of a new ufunc, in order: each typed (unless cached
 * or deferred) and queued on the compile pool, so they compile concurrently;
 * then, unless in the background or deferred, wait for all of them and
 * report the first failure. The kernel's cache index is read once. */
static ug_status add_signatures(ug_ufunc *u, const char *const *sigs, int nsigs, ug_error *err)
{
    make_mode mode = deferred(u) ? MAKE_DEFER : MAKE_QUEUE;
    struct cache *c = u->opts.cache && nsigs > 0 ? drv_ctx_cache(u->ctx) : NULL;
    cache_index *cix = c ? cache_index_read(c, u->name, &u->src->kkey) : NULL;
    ug_status st = UG_OK;
    for (int i = 0; st == UG_OK && i < nsigs; i++) {
        int index;
        st = sigs[i] ? add_signature(u, sigs[i], false, mode, cix, &index, err)
                     : base_err_set(err, UG_EINVAL, "signature %d is NULL", i);
    }
    cache_index_free(cix);
    if (mode == MAKE_DEFER || u->opts.background)
        return st;
    int n = ug_ufunc_nloops(u);
    for (int i = 0; i < n; i++) {
        ug_error e;
        ug_status s = core_loop_ready(u->loops[i], &e);
        if (s != UG_OK && st == UG_OK) {
            st = s;
            if (err)
                *err = e;
        }
    }
    return st;
}

/* ------------------------------------------------------------ the maker */

/* A loop for new input dtypes (a lazy ufunc's): the one another thread made
 * meanwhile, else a new one, compiled now. */
static ug_status mk_add_lazy(ug_ufunc *u, const ug_dtype *in, int *loop, ug_error *err)
{
    loops_enter(); /* no fork while the lock is held (loops.h) */
    pthread_mutex_lock(&u->src->mu);
    int n = ug_ufunc_nloops(u), i = -1;
    for (int k = 0; k < n && i < 0; k++)
        if (!memcmp(u->loops[k]->types, in, sizeof(ug_dtype) * (size_t)u->nin))
            i = k;
    ug_status st = UG_OK;
    if (i < 0) {
        ug_dtype types[UG_MAXARGS];
        memcpy(types, in, sizeof(ug_dtype) * (size_t)u->nin);
        st = add_loop(u, types, 0, true, MAKE_NOW, NULL, &i, err);
    }
    pthread_mutex_unlock(&u->src->mu);
    loops_leave();
    *loop = i;
    return st;
}

static ug_status mk_add(ug_ufunc *u, const char *sig, int *loop, ug_error *err)
{
    pthread_mutex_lock(&u->src->mu);
    ug_status st = add_signature(u, sig, true, MAKE_NOW, NULL, loop, err);
    pthread_mutex_unlock(&u->src->mu);
    return st;
}

static void mk_wait(core_loop *rec) { drv_job_wait(&rec->jit->job); }

static bool mk_loop_fns(core_loop *rec, bool parallel, bool ready, ug_loop_fn *fn, void **data)
{
    if (!ready && rec->pending) { /* made in the background: these wait for it */
        *fn = parallel ? pending_par_loop : pending_loop;
        *data = rec;
        return true;
    }
    if (!rec->jit->nkey)
        return false;
    *fn = parallel ? drv_variant_par_loop : drv_variant_loop;
    *data = rec;
    return true;
}

static void src_free(drv_ufunc_src *s)
{
    if (!s)
        return;
    kernel_module_free(s->mod);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->pmu);
    free(s->text);
    free(s->kernel_name);
    free(s->locals);
    free(s);
}

static void mk_release(ug_ufunc *u)
{
    int n = atomic_load(&u->nloops);
    for (int i = 0; i < n; i++) /* before entering: the pool's lock is never taken entered */
        drv_job_cancel(&u->loops[i]->jit->job);
    loops_enter();
    for (int i = 0; i < n; i++)
        loop_jit_free(u->loops[i]);
    loops_leave();
    src_free(u->src);
    u->src = NULL;
}

static const core_maker maker = {mk_add_lazy, mk_add, mk_wait, mk_loop_fns, mk_release};

/* A ufunc with its source side (copies of the source and of the option
 * strings), or NULL when out of memory. */
static ug_ufunc *ufunc_alloc(ug_context *ctx, const char *src, const ug_options *opts)
{
    ug_ufunc *u = core_ufunc_alloc(ctx, opts);
    drv_ufunc_src *s = u ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        free(u);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->pmu, NULL);
    u->mk = &maker;
    u->src = s;
    s->text = strdup(src);
    s->kernel_name = dup_or_null(opts->kernel);
    s->locals = dup_or_null(opts->locals);
    u->opts.kernel = s->kernel_name;
    u->opts.locals = s->locals;
    if (!s->text || (opts->kernel && !s->kernel_name) || (opts->locals && !s->locals)) {
        ug_ufunc_free(u);
        return NULL;
    }
    s->ksrc = (kernel_source){s->text, strlen(s->text)};
    return u;
}

/* After creation the parsed kernel is needed only to type a loop: a lazy
 * signature, a core-shape variant, a cached object that does not load.
 * Parsing it again then (drv_kernel) costs microseconds beside the
 * milliseconds of the compile that follows. So a ufunc none of whose loops
 * holds a typed kernel or waits on the compile pool for one drops its tree:
 * a warm start's ufuncs keep none (5-30 kB each, fresh memory every
 * creation touched), and the next one's parse reuses the memory. */
static void drop_idle_module(ug_ufunc *u)
{
    int n = ug_ufunc_nloops(u);
    for (int i = 0; i < n; i++) {
        core_loop *rec = u->loops[i];
        if (rec->jit->tk || drv_job_busy(&rec->jit->job))
            return; /* typed now, or being compiled by the pool: refers to the tree */
    }
    loops_enter();
    pthread_mutex_lock(&u->src->pmu);
    kernel_module_free(u->src->mod);
    u->src->mod = NULL;
    u->src->kfunc = NULL;
    pthread_mutex_unlock(&u->src->pmu);
    loops_leave();
}

/* Creation is not entered (loops.h): it waits for the compile pool, whose
 * lock is never taken entered; compiling and loading enter by themselves. */
static ug_status create(ug_context *ctx, const char *src, const char *layout, const char *const *sigs,
                                int nsigs, const ug_options *opts_in, ug_ufunc **out)
{
    *out = NULL;
    if (!ctx)
        return UG_EINVAL;
    ug_error *err = core_ctx_err(ctx);
    if (ctx->cfg_error[0])
        return base_err_set(err, UG_EINVAL, "%s", ctx->cfg_error);
    ug_options defaults;
    ug_options_init(&defaults);
    const ug_options *opts = opts_in ? opts_in : &defaults;
    if (!src || nsigs < 0 || (nsigs > 0 && !sigs) || (layout == NULL && sigs == NULL && nsigs > 0))
        return base_err_set(err, UG_EINVAL, "source is NULL or the signature list is invalid (nsigs %d)", nsigs);
    ug_status st = core_validate_opts(opts, err);
    if (st)
        return st;
    ug_ufunc *u = ufunc_alloc(ctx, src, opts);
    if (!u)
        return base_err_set(err, UG_ENOMEM, "out of memory");
    u->gufunc = layout != NULL;
    atomic_init(&u->lazy, nsigs == 0);
    /* opts->name/doc are copied by setup_kernel into u->name/u->doc. */
    u->opts.name = opts->name;
    u->opts.doc = opts->doc;
    double t0 = cpu_ms();
    st = setup_kernel(u, layout, err);
    if (base_env_dump("time"))
        fprintf(stderr, "ufuncgen parse %s: %.2f ms (thread CPU)\n", u->name ? u->name : "?", cpu_ms() - t0);
    u->opts.name = u->name;
    u->opts.doc = u->doc;
    if (st == UG_OK)
        st = add_signatures(u, sigs, nsigs, err);
    if (st != UG_OK) {
        ug_ufunc_free(u);
        return st;
    }
    drop_idle_module(u);
    *out = u;
    return UG_OK;
}

/* UG_EINVAL for a NULL out, said on ctx (when there is one) so that
 * ug_errmsg never shows an earlier call's message. */
static ug_status null_out(ug_context *ctx, const char *fn)
{
    return ctx ? base_err_set(core_ctx_err(ctx), UG_EINVAL, "%s: out is NULL", fn) : UG_EINVAL;
}

UG_API ug_status ug_vectorize(ug_context *ctx, const char *src, const char *const *sigs, int nsigs,
                              const ug_options *opts, ug_ufunc **out)
{
    if (!out)
        return null_out(ctx, "ug_vectorize");
    return create(ctx, src, NULL, sigs, nsigs, opts, out);
}

UG_API ug_status ug_guvectorize(ug_context *ctx, const char *src, const char *layout, const char *const *sigs,
                                int nsigs, const ug_options *opts, ug_ufunc **out)
{
    if (!out)
        return null_out(ctx, "ug_guvectorize");
    *out = NULL;
    if (!layout) {
        if (!ctx)
            return UG_EINVAL;
        return base_err_set(core_ctx_err(ctx), UG_EINVAL, "layout is NULL (use ug_vectorize for scalar kernels)");
    }
    return create(ctx, src, layout, sigs, nsigs, opts, out);
}

/* ------------------------------------------------------------ the context's cache */

struct cache *drv_ctx_cache(ug_context *ctx)
{
    loops_enter(); /* no fork while ctx->mu is held (loops.h) */
    pthread_mutex_lock(&ctx->mu);
    if (!ctx->cache) {
        ctx->cache = cache_open(ctx->cfg.cache_dir, ctx->cfg.debug_cache);
        ctx->cache_close = cache_close;
    }
    struct cache *c = ctx->cache;
    pthread_mutex_unlock(&ctx->mu);
    loops_leave();
    return c;
}
