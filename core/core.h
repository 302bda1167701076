/* core.h — internal header of core/: the ufunc objects and contexts of the
 * public API, loop selection and calls: everything a ufunc needs once its
 * loops exist. It is runtime layer (no LLVM, no kernel language), so a
 * program whose loops were compiled ahead of time links it without the
 * compiler (libufuncgen_runtime.a). Loops made from kernel source at run
 * time are the driver's (ufuncgen/), which attaches itself to a ufunc
 * through a core_maker.
 *
 *   context.c   contexts, per-thread last error, options     ug_context_*, core_ctx_err
 *   ufunc.c     ufunc objects: the loop table, introspection,
 *               loop selection, ug_call                       ug_call, core_loop_*
 *   prebuilt.c  ufuncs from loops compiled ahead of time, and
 *               the pick of a CPU level at load                ug_prebuilt_*
 */
#ifndef UG_CORE_H
#define UG_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/base.h"
#include "layout/layout.h"
#include "parallel/parallel.h"

struct cache;           /* the on-disk cache (cache/), opened by the driver */
struct drv_ufunc_src;   /* a ufunc's kernel source side (the driver's; NULL for prebuilt ufuncs) */
struct drv_loop_jit;    /* a loop's compiler side (the driver's; NULL for prebuilt loops) */

struct ug_context {
    ug_config cfg;          /* copied; cfg.cache_dir points at cache_dir */
    char *cache_dir;
    int num_threads;        /* ug_context_set_num_threads; 0: env / OpenMP default */
    pthread_mutex_t mu;     /* guards cache creation */
    struct cache *cache;    /* opened on first use by a cache=1 ufunc (the driver's) */
    void (*cache_close)(struct cache *c); /* set by whoever opened it */
    char cfg_error[128];    /* a bad ug_config field, reported by every call that creates a ufunc ("" if none) */
};

/* The calling thread's error record for ctx, cleared. */
ug_error *core_ctx_err(const ug_context *ctx);

#define CORE_MAX_LOOPS 256

typedef struct core_loop {
    ug_dtype types[UG_MAXARGS]; /* inputs then outputs */
    char sig[256];              /* canonical "dd->d" (":a" and input numbers appended for boxed inputs) */
    uint64_t boxed;             /* bit k: input k has layout () but the signature gives it an array type
                                   (Numba's "(n),()" with "f8[:]": the kernel gets a 1-element array) */
    ug_loop_fn fn;              /* the serial loop */
    par_loop par;               /* the parallel driver's state (target=parallel) */
    struct ug_ufunc *u;
    bool pending;               /* made in the background: the maker hands out loop functions that
                                   wait for it (fixed at creation; NumPy keeps the pointers) */
    atomic_int ready;           /* 1: fn and par published; 2: making it failed (st, err) */
    ug_status st;               /* the failure */
    ug_error *err;              /* its message (malloc'd when it failed; a loop record is made per
                                   signature, and an inline ug_error was 2 kB of each) */
    struct drv_loop_jit *jit;   /* the driver's side of a loop made from source */
} core_loop;

/* What the driver adds to a ufunc it makes from kernel source: compiling
 * loops for new dtypes, waiting for loops made in the background, and the
 * loop functions of such loops. Prebuilt ufuncs have none (u->mk NULL). */
typedef struct core_maker {
    /* A new loop for these input dtypes (a lazy ufunc's), published as *loop. */
    ug_status (*add_lazy)(struct ug_ufunc *u, const ug_dtype *in, int *loop, ug_error *err);
    /* ug_ufunc_add: a loop for one more dtype signature. */
    ug_status (*add)(struct ug_ufunc *u, const char *sig, int *loop, ug_error *err);
    /* Return once rec is made (rec->ready set). */
    void (*wait)(core_loop *rec);
    /* The loop functions to hand out for rec when they are not its plain
     * ones (pending loops, core-shape variants): true with *fn and *data set,
     * else false. ready: rec is known to be made. */
    bool (*loop_fns)(core_loop *rec, bool parallel, bool ready, ug_loop_fn *fn, void **data);
    /* Release what the driver attached to u and its loops (u->src, rec->jit):
     * called first by ug_ufunc_free. */
    void (*release)(struct ug_ufunc *u);
} core_maker;

struct ug_ufunc {
    ug_context *ctx;
    ug_options opts;            /* strings are owned copies (name, doc: below; the driver's others) */
    char *name, *doc;
    layout_sig *layout;         /* layout_scalar for a scalar ufunc */
    bool gufunc;
    atomic_bool lazy;           /* compiles a loop for new input dtypes (cleared by ug_ufunc_disable_compile) */
    int nin, nout;
    uint64_t written;           /* inputs the kernel stores into */
    const char *no_loop_note;   /* appended to the "no loop" message (static text), or NULL */
    const core_maker *mk;       /* NULL: a prebuilt ufunc (loops only) */
    struct drv_ufunc_src *src;  /* the driver's: kernel source, parsed module, cache key */
    core_loop *loops[CORE_MAX_LOOPS];
    atomic_int nloops;
};

/* ---- ufunc.c ---- */

/* A new ufunc with the fields every ufunc has (opts copied; name/doc not
 * set), or NULL when out of memory. */
ug_ufunc *core_ufunc_alloc(ug_context *ctx, const ug_options *opts);
/* UG_EINVAL naming a bad field of o. */
ug_status core_validate_opts(const ug_options *o, ug_error *err);
/* A zeroed loop record of u for these dtypes (its par state set from u's
 * options), or NULL when out of memory. Not yet published. */
core_loop *core_loop_new(ug_ufunc *u, const ug_dtype *types, uint64_t boxed);
/* Publish rec as u's next loop (*index), or UG_EUNSUPPORTED when u has
 * CORE_MAX_LOOPS. The caller serialises publishing (creation, or u's lock). */
ug_status core_loop_publish(ug_ufunc *u, core_loop *rec, int *index, ug_error *err);
/* Wait until rec's loop is made: UG_OK, or the failure copied to err. */
ug_status core_loop_ready(core_loop *rec, ug_error *err);
/* "dd->d" (":a1" for boxed inputs) of these dtypes. */
void core_sig_text(const ug_dtype *types, int nin, int nout, uint64_t boxed, char out[256]);

/* ---- prebuilt.c: see ufuncgen/aot.h for the public side ---- */

#endif /* UG_CORE_H */
