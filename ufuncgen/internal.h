/* internal.h — internal header of ufuncgen/, the driver: the public API's
 * objects, built on every other folder. Nothing includes this header but
 * the driver's own files (base/ is what every folder shares).
 *
 *   context.c    contexts, per-thread last error, options          ug_context_*, drv_ctx_*
 *   ufunc.c      ufunc objects: compile per signature (cache →
 *                infer → lower → load), loop selection, ug_call    ug_vectorize ...
 *   pool.c       the compile pool: threads that compile and load loops in
 *                the background; jobs a waiter runs itself if unstarted  drv_job_*
 *   variant.c    core-shape variants of gufunc loops: when a call pays
 *                for one, making it, picking it per call        drv_variant_*
 *   numpy.c      the NumPy bridge (ufuncgen/numpy.h): a ug_ufunc as a
 *                numpy.ufunc; built into the Python module and into
 *                C extensions, not into libufuncgen
 */
#ifndef UG_INTERNAL_H
#define UG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/base.h"
#include "cache/cache.h"
#include "kernel/kernel.h"
#include "layout/layout.h"
#include "loops/loops.h"
#include "parallel/parallel.h"

struct cache;

struct ug_context {
    ug_config cfg;          /* copied; cfg.cache_dir points at cache_dir */
    char *cache_dir;
    int num_threads;        /* ug_context_set_num_threads; 0: env / OpenMP default */
    pthread_mutex_t mu;     /* guards cache creation */
    struct cache *cache;    /* opened on first use by a cache=1 ufunc */
    char cfg_error[128];    /* a bad ug_config field, reported by every call that creates a ufunc ("" if none) */
};

/* The calling thread's error record for ctx, cleared. */
ug_error *drv_ctx_err(const ug_context *ctx);
/* The context's cache, opened on first use (NULL only on OOM). */
struct cache *drv_ctx_cache(ug_context *ctx);

/* ---- ufunc.c: the objects (variant.c reads them) ---- */

#define DRV_MAX_LOOPS 256
#define SPEC_MAX 4      /* variants per loop */
#define SPEC_MAX_KEY 64 /* core sizes + core steps of a variant key */
#define SPEC_SEEN 8     /* core shapes remembered from a first large call */

typedef struct spec_variant {
    int nkey;
    intptr_t key[SPEC_MAX_KEY]; /* core sizes (layout dims), then core steps */
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

typedef struct drv_loop {
    ug_dtype types[UG_MAXARGS]; /* inputs then outputs */
    char sig[256];              /* canonical "dd->d" (":a" and input numbers appended for boxed inputs) */
    uint64_t boxed;             /* bit k: input k has layout () but the signature gives it an array type
                                   (Numba's "(n),()" with "f8[:]": the kernel gets a 1-element array) */
    ug_loop_fn fn;              /* the serial loop */
    loops_code *code;
    par_loop par;               /* the parallel driver's state (target=parallel) */
    struct ug_ufunc *u;
    int nkey;                   /* key length of variants; 0: this loop makes none */
    pthread_mutex_t smu;        /* serialises making variants */
    atomic_int nspec;           /* published variants */
    atomic_int spec_done;       /* 1: no more variants (SPEC_MAX made, or one failed) */
    spec_variant spec[SPEC_MAX];
    uint64_t seen[SPEC_SEEN];   /* hashes of core shapes seen once in large calls (ring) */
    unsigned nseen;             /* shapes remembered so far (wraps: seen[] is a ring) */
    /* made in the background (ufunc.c): */
    drv_job job;                /* compiling or loading fn (pool.c) */
    bool pending;               /* made with a job: its loop functions are the pending ones, which
                                   wait for the job (fixed at creation; NumPy keeps the pointers) */
    atomic_int ready;           /* 1: fn, code and par published; 2: the job failed (st, err) */
    ug_status st;               /* the job's failure */
    ug_error err;
    kernel_typed *tk;           /* typed at creation for the job (it frees it) */
    int slot;                   /* the cache's slot for sig from the index read at creation;
                                   -1: not cached; -2: not looked up */
} drv_loop;

struct ug_ufunc {
    ug_context *ctx;
    ug_options opts;            /* strings below are owned copies */
    char *src, *name, *doc, *kernel_name, *locals;
    kernel_source ksrc;
    kernel_module *mod;
    const kernel_func *kfunc;
    layout_sig *layout;
    bool gufunc;
    atomic_bool lazy;           /* compiles a loop for new input dtypes (cleared by ug_ufunc_disable_compile) */
    int nin, nout;
    uint64_t written;           /* inputs the kernel stores into (kernel_written_params) */
    cache_key kkey;
    pthread_mutex_t mu;         /* serialises lazy compilation */
    drv_loop *loops[DRV_MAX_LOOPS];
    atomic_int nloops;
};

/* ---- ufunc.c: compiling one loop (variant.c uses them) ---- */

/* Type-check the kernel for these operand dtypes (outputs inferred when infer_out). */
ug_status drv_infer(const ug_ufunc *u, const ug_dtype *types, uint64_t boxed, bool infer_out, kernel_typed **tk,
                    ug_error *err);
/* Compile tk to object code (core_sizes/core_steps: a core-shape variant, or both NULL). */
ug_status drv_compile(const ug_ufunc *u, const kernel_typed *tk, const ug_dtype *types, const char *symbol,
                      const int64_t *core_sizes, const int64_t *core_steps, void **obj, size_t *size, ug_error *err);
/* The loop's symbol: unique per (kernel key, signature), the same in every
 * process, so a cached object is looked up under the name it was built with. */
void drv_loop_symbol(const ug_ufunc *u, const char *sig, char out[48]);

/* ---- pool.c ---- */

void drv_job_init(drv_job *j, void (*fn)(drv_job *j), void *arg);
/* Queue j on the pool (started at the first job, one thread per core). */
void drv_job_submit(drv_job *j);
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
void drv_variants_free(drv_loop *rec);

#endif /* UG_INTERNAL_H */
