/* prebuilt.c — ufuncs over loops compiled ahead of time (ufuncgen/aot.h),
 * and the pick of the CPU level a generated module loads. The ufunc is
 * core/'s object with no maker: loops are ready from the start, nothing is
 * compiled, and the NumPy bridge and ug_call see what the JIT's ufuncs give.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "ufuncgen/aot.h"

static const char no_signatures[] =
    "; it was compiled ahead of time without signatures, so its loops are compiled at first use, which needs "
    "ufuncgen's compiler (libufuncgen, or the ufuncgen Python package)";

static ug_status check_kernel(const ug_prebuilt_kernel *k, ug_error *err)
{
    if (!k->name || !*k->name)
        return base_err_set(err, UG_EINVAL, "ug_prebuilt_ufunc: the kernel has no name");
    if (k->nin < 0 || k->nout < 0 || k->nin + k->nout < 1 || k->nin + k->nout > UG_MAXARGS)
        return base_err_set(err, UG_EINVAL, "prebuilt kernel '%s': %d inputs and %d outputs", k->name, k->nin,
                            k->nout);
    if (k->nloops < 0 || k->nloops > CORE_MAX_LOOPS || (k->nloops && !k->loops))
        return base_err_set(err, UG_EINVAL, "prebuilt kernel '%s': %d loops", k->name, k->nloops);
    for (int i = 0; i < k->nloops; i++) {
        if (!k->loops[i].fn || !k->loops[i].types)
            return base_err_set(err, UG_EINVAL, "prebuilt kernel '%s': loop %d has no function or dtypes", k->name,
                                i);
        for (int t = 0; t < k->nin + k->nout; t++)
            if (!base_dtype_valid(k->loops[i].types[t]))
                return base_err_set(err, UG_EINVAL, "prebuilt kernel '%s': loop %d, operand %d has dtype %d", k->name,
                                    i, t, (int)k->loops[i].types[t]);
    }
    return UG_OK;
}

static ug_status make(ug_ufunc *u, const ug_prebuilt_kernel *k, ug_error *err)
{
    ug_status st;
    if (k->layout) {
        if ((st = layout_parse(k->layout, &u->layout, err)))
            return st;
        if (u->layout->nin != k->nin || u->layout->nout != k->nout)
            return base_err_set(err, UG_EINVAL, "prebuilt kernel '%s': layout '%s' does not have %d inputs and %d outputs",
                                k->name, k->layout, k->nin, k->nout);
    } else if (k->nout != 1 || !(u->layout = layout_scalar(k->nin, 1))) {
        return k->nout != 1 ? base_err_set(err, UG_EINVAL, "prebuilt scalar kernel '%s' has %d outputs", k->name, k->nout)
                            : base_err_set(err, UG_ENOMEM, "out of memory");
    }
    u->gufunc = k->layout != NULL;
    u->nin = k->nin;
    u->nout = k->nout;
    u->written = k->written;
    if (!(u->name = strdup(k->name)) || (k->doc && !(u->doc = strdup(k->doc))))
        return base_err_set(err, UG_ENOMEM, "out of memory");
    if (!k->nloops)
        u->no_loop_note = no_signatures;
    for (int i = 0; i < k->nloops; i++) {
        core_loop *rec = core_loop_new(u, k->loops[i].types, k->loops[i].boxed);
        if (!rec)
            return base_err_set(err, UG_ENOMEM, "out of memory");
        rec->fn = rec->par.fn = k->loops[i].fn;
        atomic_init(&rec->ready, 1);
        int index;
        if ((st = core_loop_publish(u, rec, &index, err))) {
            free(rec);
            return st;
        }
    }
    return UG_OK;
}

UG_API ug_status ug_prebuilt_ufunc(ug_context *ctx, const ug_prebuilt_kernel *k, ug_ufunc **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return UG_EINVAL;
    ug_error *err = core_ctx_err(ctx);
    if (!k || !out)
        return base_err_set(err, UG_EINVAL, "ug_prebuilt_ufunc: the kernel or out is NULL");
    if (k->unavailable)
        return base_err_set(err, UG_EUNSUPPORTED, "%s", k->unavailable);
    ug_status st = check_kernel(k, err);
    ug_options o;
    ug_options_init(&o);
    o.target = k->target;
    o.identity = k->identity;
    o.num_threads = k->num_threads;
    if (st == UG_OK)
        st = core_validate_opts(&o, err);
    if (st)
        return st;
    ug_ufunc *u = core_ufunc_alloc(ctx, &o);
    if (!u)
        return base_err_set(err, UG_ENOMEM, "out of memory");
    if ((st = make(u, k, err))) {
        ug_ufunc_free(u);
        return st;
    }
    *out = u;
    return UG_OK;
}

/* A level's name up to " (": "host (skylake)" is "host". */
static bool names(const char *level, const char *want)
{
    size_t n = strcspn(level, " ");
    return strlen(want) == n && !strncmp(level, want, n);
}

UG_API int ug_prebuilt_pick(const char *module, const ug_prebuilt_level *levels, int n, ug_error *err)
{
    char list[512] = "";
    size_t w = 0;
    for (int i = 0; i < n && w < sizeof list - 64; i++)
        w += (size_t)snprintf(list + w, sizeof list - w, "%s%s", i ? ", " : "", levels[i].name);
    const char *forced = base_env_aot_level();
    for (int i = 0; i < n; i++) {
        if (forced && !names(levels[i].name, forced))
            continue;
        if (levels[i].supported())
            return i;
        if (forced) {
            base_err_set(err, UG_EUNSUPPORTED,
                         "module '%s': UFUNCGEN_AOT_LEVEL=%s names level %s, which this CPU does not support "
                         "(levels built: %s)",
                         module, forced, levels[i].name, list);
            return -1;
        }
    }
    if (forced)
        base_err_set(err, UG_EUNSUPPORTED, "module '%s': UFUNCGEN_AOT_LEVEL=%s names no level it was built for (%s)",
                     module, forced, list);
    else
        base_err_set(err, UG_EUNSUPPORTED,
                     "module '%s' was compiled ahead of time for CPU levels %s; this CPU supports none of them "
                     "(rebuild it with a lower level, e.g. x86-64-v2)",
                     module, n ? list : "(none)");
    return -1;
}
