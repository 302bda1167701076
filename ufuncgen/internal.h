/* internal.h — internal header of ufuncgen/, the driver: ufuncs made from
 * kernel source at run time, on top of every other folder. The objects
 * themselves (contexts, the loop table, selection, ug_call) are core/'s;
 * the driver attaches its side to them (ug_ufunc.src, core_loop.jit,
 * through a core_maker). Nothing includes this header but the driver's own
 * files.
 *
 *   make.c       ufuncs from source: compile per signature (cache →
 *                infer → lower → load), in the background or lazily;
 *                the context's cache                            ug_vectorize ..., drv_*
 *   pool.c       the compile pool: threads that compile and load loops in
 *                the background; jobs a waiter runs itself if unstarted  drv_job_*
 *   variant.c    core-shape variants of gufunc loops: when a call pays
 *                for one, making it, picking it per call        drv_variant_*
 *   aot.c        ahead-of-time builds: kernels compiled for chosen CPU
 *                levels into an archive, plus the C that registers them
 *                (ufuncgen/aot.h)                               ug_aot_*
 *   ufuncgen-aot.c  the build-time compiler program over aot.c
 *   numpy.c      the NumPy bridge (ufuncgen/numpy.h): a ug_ufunc as a
 *                numpy.ufunc; built into the Python module and into
 *                C extensions (also AOT modules), not into libufuncgen
 */
#ifndef UG_INTERNAL_H
#define UG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/base.h"
#include "cache/cache.h"
#include "core/core.h"
#include "kernel/kernel.h"
#include "layout/layout.h"
#include "loops/loops.h"
#include "parallel/parallel.h"

/* The cache of ctx, opened on first use (NULL only on OOM). */
struct cache *drv_ctx_cache(ug_context *ctx);

/* ---- make.c: the driver's side of a ufunc made from source ---- */

#define SPEC_MAX 6      /* variants per loop */
#define SPEC_MAX_KEY 64 /* core sizes + core steps of a variant key */
#define SPEC_SEEN 8     /* keys (core shapes, steps) remembered from a first large call */

typedef struct spec_variant {
    int nkey;
    intptr_t key[SPEC_MAX_KEY]; /* core sizes (layout dims; a step variant: all -1), then core steps */
    ug_loop_fn fn;
    loops_code *code;
    par_loop par;               /* its parallel driver state */
} spec_variant;

/* A job of the compile pool (pool.c): fn(j) runs once, on a pool thread
 * or on the first thread that waits for it while it is queued. fn must
 * publish its result last and do nothing when run again (after a fork, a
 * job a vanished pool thread had claimed is queued again in the child). */
typedef struct drv_job {
    void (*fn)(struct drv_job *j);
    void *arg;
    int state;                  /* pool.c's JOB_* */
    struct drv_job *next, *running_next;
} drv_job;

/* A loop's compiler side (core_loop.jit). */
typedef struct drv_loop_jit {
    loops_code *code;
    int nkey;                   /* key length of variants; 0: this loop makes none */
    pthread_mutex_t smu;        /* serialises making variants */
    atomic_int nspec;           /* published variants */
    atomic_int spec_done;       /* 1: no more variants (SPEC_MAX made, or one failed) */
    spec_variant *spec;         /* SPEC_MAX of them, allocated with the first (3.5 kB a loop record
                                   otherwise, for the few loops that ever make one) */
    uint64_t seen[SPEC_SEEN];   /* hashes of keys seen once in large calls (ring) */
    unsigned nseen;             /* shapes remembered so far (wraps: seen[] is a ring) */
    /* made in the background (make.c): */
    drv_job job;                /* compiling or loading fn (pool.c) */
    kernel_typed *tk;           /* typed at creation for the job (it frees it) */
    int slot;                   /* the cache's slot for sig from the index read at creation;
                                   -1: not cached; -2: not looked up */
} drv_loop_jit;

/* A ufunc's kernel source side (ug_ufunc.src). */
typedef struct drv_ufunc_src {
    char *text, *kernel_name, *locals; /* owned copies (opts.kernel, opts.locals point here) */
    kernel_source ksrc;
    kernel_module *mod;         /* the parsed kernel: dropped after creation when no loop is being
                                   typed or compiled, parsed again by the next drv_infer (drv_kernel) */
    const kernel_func *kfunc;
    pthread_mutex_t pmu;        /* guards mod and kfunc after creation */
    cache_key kkey;
    pthread_mutex_t mu;         /* serialises lazy compilation */
} drv_ufunc_src;

/* ---- make.c: compiling one loop (variant.c uses them) ---- */

/* Type-check the kernel for these operand dtypes (outputs inferred when infer_out). */
ug_status drv_infer(const ug_ufunc *u, const ug_dtype *types, uint64_t boxed, bool infer_out, kernel_typed **tk,
                    ug_error *err);
/* Compile tk to object code (core_sizes/core_steps: a core-shape variant, or both NULL;
 * target: another CPU than the host, or NULL). */
ug_status drv_compile(const ug_ufunc *u, const kernel_typed *tk, const ug_dtype *types, const char *symbol,
                      const int64_t *core_sizes, const int64_t *core_steps, const loops_target *target, void **obj,
                      size_t *size, ug_error *err);
/* The loop's symbol: unique per (kernel key, signature), the same in every
 * process, so a cached object is looked up under the name it was built with. */
void drv_loop_symbol(const ug_ufunc *u, const char *sig, char out[48]);

/* ---- pool.c ---- */

void drv_job_init(drv_job *j, void (*fn)(drv_job *j), void *arg);
/* Queue j on the pool (started at the first job, one thread per core). */
void drv_job_submit(drv_job *j);
/* Whether j is queued or running (not idle, not done). Not entered, as wait. */
bool drv_job_busy(drv_job *j);
/* Return once j has run: run it on this thread if nobody has started it
 * (also a job never submitted), else wait for it. Never call it entered
 * (loops_enter): the pool's lock is never taken entered. */
void drv_job_wait(drv_job *j);
/* Drop j from the queue if it has not started, else wait for it to end. */
void drv_job_cancel(drv_job *j);

/* ---- variant.c ---- */

/* Variant key length of a gufunc loop (core sizes + core steps), 0 if it makes none. */
int drv_variant_key_len(const ug_ufunc *u);
/* Loop functions handed out for loops that make variants (data: the drv_loop):
 * run the variant for the call's core shape, or the generic loop. */
void drv_variant_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data);
void drv_variant_par_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data);
/* Unload the variants of rec. */
void drv_variants_free(core_loop *rec);

#endif /* UG_INTERNAL_H */
