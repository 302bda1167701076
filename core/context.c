/* context.c — contexts, their configuration, and the per-thread last error.
 *
 * A context holds configuration (copied on creation, defaults in
 * ug_config_init) and the on-disk cache the driver opens on first use. Errors of calls made
 * without a caller-owned ug_error land in a thread-local record tagged with
 * the context, so two threads using one context never see each other's
 * messages (like errno, but per context).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "parallel/parallel.h"

static _Thread_local struct {
    const ug_context *ctx;
    ug_error err;
} last;

UG_API void ug_config_init(ug_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->opt_level = 2;
}

UG_API ug_context *ug_context_new(const ug_config *cfg)
{
    ug_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    if (cfg)
        ctx->cfg = *cfg;
    else
        ug_config_init(&ctx->cfg);
    /* creation cannot fail but for memory: a bad field is kept as a message
     * that every ufunc creation on this context returns (never clamped or
     * wrapped silently) */
    if (ctx->cfg.opt_level < 0 || ctx->cfg.opt_level > 3) {
        snprintf(ctx->cfg_error, sizeof ctx->cfg_error, "ug_config.opt_level %d is out of range (0..3)", ctx->cfg.opt_level);
        ctx->cfg.opt_level = 2;
    }
    if (ctx->cfg.num_threads < 0 || ctx->cfg.num_threads > UG_MAX_THREADS) {
        snprintf(ctx->cfg_error, sizeof ctx->cfg_error, "ug_config.num_threads %d is out of range (0..%d)",
                 ctx->cfg.num_threads, UG_MAX_THREADS);
        ctx->cfg.num_threads = 0;
    }
    if (ctx->cfg.defer < -1 || ctx->cfg.defer > 1) {
        snprintf(ctx->cfg_error, sizeof ctx->cfg_error, "ug_config.defer %d is out of range (-1..1)", ctx->cfg.defer);
        ctx->cfg.defer = 0;
    }
    if (cfg && cfg->cache_dir && !(ctx->cache_dir = strdup(cfg->cache_dir))) {
        free(ctx);
        return NULL;
    }
    ctx->cfg.cache_dir = ctx->cache_dir;
    ctx->num_threads = ctx->cfg.num_threads > 0 ? ctx->cfg.num_threads : 0;
    pthread_mutex_init(&ctx->mu, NULL);
    return ctx;
}

UG_API void ug_context_free(ug_context *ctx)
{
    if (!ctx)
        return;
    if (last.ctx == ctx)
        last.ctx = NULL;
    if (ctx->cache)
        ctx->cache_close(ctx->cache);
    pthread_mutex_destroy(&ctx->mu);
    free(ctx->cache_dir);
    free(ctx);
}

UG_API ug_status ug_context_set_num_threads(ug_context *ctx, int n)
{
    if (!ctx)
        return UG_EINVAL;
    ug_error *err = core_ctx_err(ctx); /* a success clears the previous call's message */
    if (n < 0 || n > UG_MAX_THREADS)
        return base_err_set(err, UG_EINVAL, "thread count %d is out of range (0..%d)", n, UG_MAX_THREADS);
    __atomic_store_n(&ctx->num_threads, n, __ATOMIC_RELAXED); /* loops read it at each call */
    return UG_OK;
}

UG_API int ug_context_num_threads(const ug_context *ctx)
{
    int n = ctx ? __atomic_load_n(&ctx->num_threads, __ATOMIC_RELAXED) : 0;
    return par_threads(n);
}

UG_API int ug_default_num_threads(void) { return par_threads(0); }

ug_error *core_ctx_err(const ug_context *ctx)
{
    last.ctx = ctx;
    base_err_clear(&last.err);
    return &last.err;
}

static const ug_error *mine(const ug_context *ctx) { return ctx && last.ctx == ctx ? &last.err : NULL; }

UG_API const char *ug_errmsg(const ug_context *ctx) { return mine(ctx) ? mine(ctx)->msg : ""; }
UG_API ug_status ug_errcode(const ug_context *ctx) { return mine(ctx) ? mine(ctx)->code : UG_OK; }
UG_API int ug_errline(const ug_context *ctx) { return mine(ctx) ? mine(ctx)->line : -1; }
UG_API int ug_errcolumn(const ug_context *ctx) { return mine(ctx) ? mine(ctx)->column : -1; }

UG_API void ug_options_init(ug_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->target = UG_TARGET_CPU;
    opts->identity = UG_IDENTITY_NONE;
}
