/* ufunc.c — ufunc objects once their loops exist: the loop table,
 * introspection, loop selection and ug_call. Loops come from the driver
 * (made from kernel source, ufuncgen/) or from prebuilt.c (compiled ahead of
 * time); the driver's part of a ufunc hangs off u->mk and u->src.
 *
 * Loops live in a fixed table of pointers that only grows: readers (calls,
 * possibly concurrent) take a snapshot of the count with acquire ordering;
 * adding a loop publishes with release, so a loop record never moves while
 * someone runs it.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* ------------------------------------------------------------ objects */

ug_ufunc *core_ufunc_alloc(ug_context *ctx, const ug_options *opts)
{
    ug_ufunc *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->ctx = ctx;
    u->opts = *opts;
    u->opts.kernel = u->opts.locals = u->opts.name = u->opts.doc = NULL; /* owned copies, where kept */
    atomic_init(&u->lazy, false);
    atomic_init(&u->nloops, 0);
    return u;
}

ug_status core_validate_opts(const ug_options *o, ug_error *err)
{
    if (o->target != UG_TARGET_CPU && o->target != UG_TARGET_PARALLEL)
        return base_err_set(err, UG_EINVAL, "unknown target %d (UG_TARGET_CPU or UG_TARGET_PARALLEL)", (int)o->target);
    if (o->num_threads < 0 || o->num_threads > UG_MAX_THREADS)
        return base_err_set(err, UG_EINVAL, "num_threads %d is out of range (0..%d)", o->num_threads, UG_MAX_THREADS);
    if ((unsigned)o->identity > UG_IDENTITY_REORDERABLE)
        return base_err_set(err, UG_EINVAL, "unknown identity %d", (int)o->identity);
    if ((unsigned)o->math > UG_MATH_LIBM)
        return base_err_set(err, UG_EINVAL, "unknown math %d (UG_MATH_FAST or UG_MATH_LIBM)", (int)o->math);
    if (o->background != 0 && o->background != 1)
        return base_err_set(err, UG_EINVAL, "background %d is not 0 or 1", o->background);
    if (o->defer < -1 || o->defer > 1)
        return base_err_set(err, UG_EINVAL, "defer %d is out of range (-1..1)", o->defer);
    return UG_OK;
}

void core_sig_text(const ug_dtype *types, int nin, int nout, uint64_t boxed, char out[256])
{
    int n = 0;
    for (int k = 0; k < nin + nout && n < 250; k++) {
        if (k == nin) {
            out[n++] = '-';
            out[n++] = '>';
        }
        out[n++] = base_dtype_char(types[k]);
    }
    out[n] = 0;
    for (int k = 0; boxed && k < nin && n < 240; k++) /* "dd->d:a1": input 1 boxed (a cache key of its own) */
        if (boxed >> k & 1)
            n += snprintf(out + n, (size_t)(256 - n), "%s%d", n && strchr(out, ':') ? "," : ":a", k);
}

core_loop *core_loop_new(ug_ufunc *u, const ug_dtype *types, uint64_t boxed)
{
    core_loop *rec = calloc(1, sizeof *rec);
    if (!rec)
        return NULL;
    memcpy(rec->types, types, sizeof(ug_dtype) * (size_t)(u->nin + u->nout));
    rec->boxed = boxed;
    rec->u = u;
    core_sig_text(rec->types, u->nin, u->nout, boxed, rec->sig);
    rec->par = (par_loop){.nops = u->nin + u->nout, .nthreads = u->opts.num_threads,
                          .default_threads = &u->ctx->num_threads, .ncore = u->gufunc ? u->layout->ndims : 0};
    return rec;
}

ug_status core_loop_publish(ug_ufunc *u, core_loop *rec, int *index, ug_error *err)
{
    int n = atomic_load_explicit(&u->nloops, memory_order_relaxed);
    if (n >= CORE_MAX_LOOPS)
        return base_err_set(err, UG_EUNSUPPORTED, "ufunc '%s' has %d loops, the most one ufunc can have", u->name, n);
    u->loops[n] = rec;
    atomic_store_explicit(&u->nloops, n + 1, memory_order_release);
    *index = n;
    return UG_OK;
}

ug_status core_loop_ready(core_loop *rec, ug_error *err)
{
    int r = atomic_load_explicit(&rec->ready, memory_order_acquire);
    if (!r && rec->u->mk) {
        rec->u->mk->wait(rec);
        r = atomic_load_explicit(&rec->ready, memory_order_acquire);
    }
    if (r == 1)
        return UG_OK;
    ug_status st = rec->st ? rec->st : UG_EJIT;
    if (err && rec->err)
        *err = *rec->err;
    else if (err)
        base_err_set(err, st, "making the loop for %s failed (out of memory keeping its message)", rec->sig);
    return st;
}

UG_API void ug_ufunc_free(ug_ufunc *u)
{
    if (!u)
        return;
    if (u->mk)
        u->mk->release(u);
    int n = atomic_load(&u->nloops);
    for (int i = 0; i < n; i++) {
        free(u->loops[i]->err);
        free(u->loops[i]);
    }
    layout_free(u->layout);
    free(u->name);
    free(u->doc);
    free(u);
}

/* ------------------------------------------------------------ introspection */

UG_API const char *ug_ufunc_name(const ug_ufunc *u) { return u ? u->name : NULL; }
UG_API const char *ug_ufunc_doc(const ug_ufunc *u) { return u ? u->doc : NULL; }
UG_API int ug_ufunc_nin(const ug_ufunc *u) { return u ? u->nin : 0; }
UG_API int ug_ufunc_nout(const ug_ufunc *u) { return u ? u->nout : 0; }
UG_API int ug_ufunc_writes_input(const ug_ufunc *u, int k)
{
    return u && k >= 0 && k < u->nin && k < 64 ? (int)(u->written >> k & 1) : 0;
}
UG_API const char *ug_ufunc_layout(const ug_ufunc *u) { return u && u->gufunc ? u->layout->text : NULL; }
UG_API ug_identity ug_ufunc_identity(const ug_ufunc *u) { return u ? u->opts.identity : UG_IDENTITY_NONE; }
UG_API ug_target ug_ufunc_target(const ug_ufunc *u) { return u ? u->opts.target : UG_TARGET_CPU; }
UG_API int ug_ufunc_nloops(const ug_ufunc *u) { return u ? atomic_load_explicit(&u->nloops, memory_order_acquire) : 0; }

static core_loop *loop_at(const ug_ufunc *u, int i)
{
    return u && i >= 0 && i < ug_ufunc_nloops(u) ? u->loops[i] : NULL;
}

/* UG_EINVAL for a bad loop index or a NULL pointer, said on u's context. */
static ug_status bad_loop_arg(const ug_ufunc *u, int i, bool have_rec, const char *fn)
{
    if (!u)
        return UG_EINVAL;
    ug_error *err = core_ctx_err(u->ctx);
    if (!have_rec)
        return base_err_set(err, UG_EINVAL, "%s: loop %d is out of range (ufunc '%s' has %d loops)", fn, i, u->name,
                          ug_ufunc_nloops(u));
    return base_err_set(err, UG_EINVAL, "%s: an output pointer is NULL", fn);
}

UG_API ug_status ug_ufunc_loop_types(const ug_ufunc *u, int i, ug_dtype *types)
{
    core_loop *rec = loop_at(u, i);
    if (!rec || !types) {
        for (int k = 0; types && u && k < u->nin + u->nout; k++)
            types[k] = UG_DTYPE_NONE;
        return bad_loop_arg(u, i, rec != NULL, "ug_ufunc_loop_types");
    }
    memcpy(types, rec->types, sizeof(ug_dtype) * (size_t)(u->nin + u->nout));
    return UG_OK;
}

/* The loop functions of rec: the maker's (pending, variants), else the
 * plain loop or the parallel driver over it. */
static void loop_fns(core_loop *rec, bool parallel, bool ready, ug_loop_fn *fn, void **data)
{
    const core_maker *mk = rec->u->mk;
    if (mk && mk->loop_fns(rec, parallel, ready, fn, data))
        return;
    *fn = parallel ? par_loop_fn : rec->fn;
    *data = parallel ? (void *)&rec->par : NULL;
}

UG_API ug_status ug_ufunc_loop(const ug_ufunc *u, int i, ug_loop_fn *fn, void **data)
{
    core_loop *rec = loop_at(u, i);
    if (fn)
        *fn = NULL;
    if (data)
        *data = NULL;
    if (!rec || !fn || !data)
        return bad_loop_arg(u, i, rec != NULL, "ug_ufunc_loop");
    loop_fns(rec, u->opts.target == UG_TARGET_PARALLEL, false, fn, data);
    return UG_OK;
}

/* ------------------------------------------------------------ loop selection */

static int find_exact(const ug_ufunc *u, const ug_dtype *in, int n)
{
    for (int i = 0; i < n; i++)
        if (memcmp(u->loops[i]->types, in, sizeof(ug_dtype) * (size_t)u->nin) == 0)
            return i;
    return -1;
}

static int find_safe(const ug_ufunc *u, const ug_dtype *in, int n)
{
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < u->nin && ug_can_cast_safe(in[k], u->loops[i]->types[k]))
            k++;
        if (k == u->nin)
            return i;
    }
    return -1;
}

static ug_status no_loop(const ug_ufunc *u, const ug_dtype *in, int n, ug_error *err)
{
    char have[1024] = "", want[512] = "";
    size_t h = 0, w = 0;
    for (int k = 0; k < u->nin && w < sizeof want - 32; k++)
        w += (size_t)snprintf(want + w, sizeof want - w, "%s%s", k ? ", " : "", ug_dtype_name(in[k]));
    for (int i = 0; i < n && h < sizeof have - 300; i++)
        h += (size_t)snprintf(have + h, sizeof have - h, "%s%s", i ? ", " : "", u->loops[i]->sig);
    return base_err_set(err, UG_EDTYPE,
                      "ufunc '%s' has no loop for input types (%s) and they cannot be cast safely to one; "
                      "loops: %s%s",
                      u->name, want, n ? have : "(none)", u->no_loop_note ? u->no_loop_note : "");
}

UG_API ug_status ug_ufunc_add(ug_ufunc *u, const char *sig, int *loop, ug_error *err)
{
    if (!err && u)
        err = core_ctx_err(u->ctx);
    if (!loop)
        return base_err_set(err, UG_EINVAL, "ug_ufunc_add: loop is NULL");
    *loop = -1;
    if (!u || !sig)
        return base_err_set(err, UG_EINVAL, "NULL ufunc or signature");
    if (!u->mk)
        return base_err_set(err, UG_EUNSUPPORTED,
                            "ufunc '%s' was compiled ahead of time: a loop for '%s' needs its kernel source and "
                            "ufuncgen's compiler",
                            u->name, sig);
    return u->mk->add(u, sig, loop, err);
}

UG_API void ug_ufunc_disable_compile(ug_ufunc *u)
{
    if (u)
        atomic_store(&u->lazy, false);
}

UG_API int ug_ufunc_is_lazy(const ug_ufunc *u) { return u && atomic_load(&u->lazy); }

UG_API ug_status ug_ufunc_resolve(ug_ufunc *u, const ug_dtype *in_types, int *loop, ug_error *err)
{
    if (!err && u)
        err = core_ctx_err(u->ctx); /* as ug_call: the error stays on u's context */
    if (!loop)
        return base_err_set(err, UG_EINVAL, "ug_ufunc_resolve: loop is NULL");
    *loop = -1;
    if (!u || !in_types)
        return base_err_set(err, UG_EINVAL, "NULL ufunc or input types");
    for (int k = 0; k < u->nin; k++)
        if (!base_dtype_valid(in_types[k]))
            return base_err_set(err, UG_EDTYPE, "input %d has an unsupported dtype (%d)", k, (int)in_types[k]);
    int n = ug_ufunc_nloops(u);
    int i = find_exact(u, in_types, n);
    if (i < 0 && atomic_load(&u->lazy) && u->mk)
        return u->mk->add_lazy(u, in_types, loop, err);
    if (i < 0)
        i = find_safe(u, in_types, n);
    if (i < 0)
        return no_loop(u, in_types, n, err);
    *loop = i;
    return UG_OK;
}

/* ------------------------------------------------------------ calling */

static ug_status check_operands(const ug_ufunc *u, const ug_operand *ops, int nops, ug_error *err)
{
    if (nops != u->nin + u->nout)
        return base_err_set(err, UG_EOPERANDS,
                          "ufunc '%s' takes %d input%s and %d output%s (%d operands), got %d operands", u->name,
                          u->nin, u->nin == 1 ? "" : "s", u->nout, u->nout == 1 ? "" : "s", u->nin + u->nout, nops);
    for (int k = 0; k < nops; k++) {
        ug_status st = layout_check_operand(&ops[k], k, u->nin, u->name, err);
        if (st != UG_OK)
            return st;
    }
    return UG_OK;
}

static int call_threads(const ug_ufunc *u)
{
    if (u->opts.target != UG_TARGET_PARALLEL)
        return 1;
    return par_threads(u->opts.num_threads > 0 ? u->opts.num_threads : __atomic_load_n(&u->ctx->num_threads, __ATOMIC_RELAXED));
}

UG_API ug_status ug_call(ug_ufunc *u, ug_operand *ops, int nops, ug_error *err)
{
    if (!u)
        return base_err_set(err, UG_EINVAL, "ufunc is NULL");
    if (err)
        base_err_clear(err);
    else
        err = core_ctx_err(u->ctx);
    if (!ops && nops)
        return base_err_set(err, UG_EINVAL, "operands are NULL");
    ug_status st = check_operands(u, ops, nops, err);
    if (st)
        return st;
    ug_dtype in[UG_MAXARGS];
    for (int k = 0; k < u->nin; k++)
        in[k] = ops[k].dtype;
    int li;
    if ((st = ug_ufunc_resolve(u, in, &li, err)))
        return st;
    core_loop *rec = u->loops[li];
    if ((st = core_loop_ready(rec, err)))
        return st;
    layout_loop ll = {.nthreads = call_threads(u), .kname = u->name, .operands_checked = true};
    loop_fns(rec, false, true, &ll.fn, &ll.data);
    if (ll.nthreads > 1)
        loop_fns(rec, true, true, &ll.par_fn, &ll.par_data); /* the driver with this loop's learned costs */
    return layout_execute(u->layout, ops, nops, rec->types, &ll, err);
}

UG_API void ug_operand_init(ug_operand *op, void *data, ug_dtype dtype, int ndim, const int64_t *shape,
                            const int64_t *strides)
{
    memset(op, 0, sizeof *op);
    op->data = data;
    op->dtype = dtype;
    op->ndim = ndim < 0 ? 0 : ndim > UG_MAXDIMS ? UG_MAXDIMS : ndim;
    int64_t step = (int64_t)ug_dtype_size(dtype);
    for (int d = op->ndim - 1; d >= 0; d--) {
        op->shape[d] = shape ? shape[d] : 0;
        op->strides[d] = strides ? strides[d] : step;
        step *= op->shape[d] > 0 ? op->shape[d] : 1;
    }
}

UG_API void ug_operand_alloc(ug_operand *op, ug_dtype dtype)
{
    memset(op, 0, sizeof *op);
    op->dtype = dtype;
    op->flags = UG_OPERAND_ALLOCATE;
}
