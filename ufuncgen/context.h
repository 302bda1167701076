/* context.h — the context and ufunc structures, shared by context.c and ufunc.c
 * (part of ufuncgen/'s internal header set; see internal.h for the index). */
#ifndef UG_CONTEXT_H
#define UG_CONTEXT_H

#include <pthread.h>

#include "ufuncgen/internal.h"

#define UG_MAX_THREADS 4096

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
ug_error *ug_ctx_err(const ug_context *ctx);
/* The context's cache, opened on first use (NULL only on OOM). */
struct cache *ug_ctx_cache(ug_context *ctx);

#endif
