/* internal.h — internal header of ufuncgen/, the driver: the public API's
 * objects, built on every other folder. Nothing includes this header but
 * the driver's own files (base/ is what every folder shares).
 *
 *   context.c    contexts, per-thread last error, options          ug_context_*, drv_ctx_*
 *   ufunc.c      ufunc objects: compile per signature (cache →
 *                infer → lower → load), loop selection, ug_call    ug_vectorize ...
 *   numpy.c      the NumPy bridge (ufuncgen/numpy.h): a ug_ufunc as a
 *                numpy.ufunc; built into the Python module and into
 *                C extensions, not into libufuncgen
 */
#ifndef UG_INTERNAL_H
#define UG_INTERNAL_H

#include <pthread.h>

#include "base/base.h"

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

#endif /* UG_INTERNAL_H */
