/* exec.c — the native N-d strided executor.
 *
 * One call goes through these stages, in order (each works on `view`s, our
 * own copies of the operand descriptors, so callers' inputs are never
 * changed; only allocated outputs are written back):
 *
 *   check      counts, ndims, dtypes, flexible dims that are missing
 *   bind       core dimension sizes across operands (frozen, flexible)
 *   broadcast  loop dimensions by NumPy's rules; outputs must match exactly
 *   allocate   UG_OPERAND_ALLOCATE outputs, C order
 *   overlap    output/output → UG_EOVERLAP; output/input not identical
 *              element for element → that input is copied
 *   cast       inputs of another dtype → contiguous temporaries; outputs of
 *              another dtype → computed into temporaries, cast back after
 *   coalesce   drop size-1 loop dims, order by output stride (largest
 *              outermost), merge dims contiguous across all operands
 *   run        innermost loop dim → dimensions[0] of the NumPy-ABI call;
 *              the other loop dims are an odometer in C, split across
 *              threads by par_for when asked; with no other loop dims,
 *              parallel/'s driver splits dimensions[0]
 *
 * Core dimensions never take part in broadcasting or coalescing: they go to
 * the loop as dimensions[1..] and as each operand's core steps, exactly as
 * NumPy passes them (a missing flexible dim has size 1 and stride 0).
 * Everything is int64: arrays beyond 2^31 elements and 64 dims work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "layout/layout.h"
#include "parallel/parallel.h"
#include "runtime/runtime.h"

UG_API void ug_free(void *p) { free(p); }

/* One operand as the executor sees it. Core axes are the last `ncore`. */
typedef struct view {
    char *data;
    ug_dtype dt;
    int ndim, ncore;                 /* ncore: present (non-missing) core axes */
    int64_t shape[UG_MAXDIMS];
    int64_t strides[UG_MAXDIMS];
    int64_t lstride[UG_MAXDIMS];     /* stride per broadcast loop dim (0 where broadcast) */
    void *temp;                      /* a buffer we own (cast or copy) */
    bool out_temp;                   /* output computed in temp, cast to the caller's after */
} view;

typedef struct exec {
    const layout_sig *sig;
    ug_operand *ops;
    int nops;
    const ug_dtype *loop_types;
    const layout_loop *loop;
    ug_error *err;
    const char *name;
    view *v;
    int64_t *core_size;      /* sig->ndims: bound sizes, -1 unbound */
    bool *missing;           /* sig->ndims: a flexible dim dropped */
    int *bound_by;           /* sig->ndims: operand that bound it */
    int lnd;                 /* broadcast loop ndim */
    int64_t lshape[UG_MAXDIMS];
    bool allocated[UG_MAXARGS];     /* flagged UG_OPERAND_ALLOCATE */
    bool did_alloc[UG_MAXARGS];     /* allocated by this call (freed on failure) */
    bool v_heap;                    /* v was malloc'ed (more operands than SMALL_OPS) */
} exec;

/* Calls with at most this many operands keep their views and run state on
 * the stack (~10 KB): a small call's time was mostly malloc/calloc of these
 * (each over 1 KB, so glibc consolidated its fast bins on every call). */
#define SMALL_OPS 4

/* Copy/cast an N-d strided array (shape, strides) into another (dstrides). */
static void cast_nd(char *dst, const int64_t *dstrides, ug_dtype dt, const char *src, const int64_t *sstrides,
                    ug_dtype st, int ndim, const int64_t *shape)
{
    if (ndim == 0) {
        rt_cast_strided(dst, 0, dt, src, 0, st, 1);
        return;
    }
    if (ndim == 1) {
        rt_cast_strided(dst, dstrides[0], dt, src, sstrides[0], st, shape[0]);
        return;
    }
    for (int64_t i = 0; i < shape[0]; i++)
        cast_nd(dst + i * dstrides[0], dstrides + 1, dt, src + i * sstrides[0], sstrides + 1, st, ndim - 1,
                shape + 1);
}

/* ---------------------------------------------------------------- helpers */

static const char *opkind(const exec *x, int k) { return k < x->sig->nin ? "input" : "output"; }
static int opnum(const exec *x, int k) { return k < x->sig->nin ? k : k - x->sig->nin; }

/* "(3,4)" or "()" into buf. */
static char *shape_str(char *buf, size_t cap, const int64_t *shape, int n)
{
    size_t w = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < n && w < cap; i++)
        w += (size_t)snprintf(buf + w, cap - w, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (w < cap)
        snprintf(buf + w, cap - w, n == 1 ? ",)" : ")");
    return buf;
}

/* Elements of a shape; -1 on overflow of int64. */
static int64_t count(const int64_t *shape, int n)
{
    int64_t c = 1;
    for (int i = 0; i < n; i++) {
        if (shape[i] == 0)
            return 0;
        if (__builtin_mul_overflow(c, shape[i], &c))
            return -1;
    }
    return c;
}

/* C-contiguous strides for shape. */
static void c_strides(int64_t *strides, const int64_t *shape, int n, int64_t itemsize)
{
    int64_t s = itemsize;
    for (int i = n - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i] > 0 ? shape[i] : 1;
    }
}

/* A C-contiguous buffer for shape (at least 1 byte). NULL on overflow/OOM. */
static void *alloc_array(const int64_t *shape, int n, size_t itemsize)
{
    int64_t c = count(shape, n);
    int64_t bytes;
    if (c < 0 || __builtin_mul_overflow(c, (int64_t)itemsize, &bytes))
        return NULL;
    return malloc(bytes > 0 ? (size_t)bytes : 1);
}

/* ---------------------------------------------------------------- check and bind */

/* Core dims of operand k that are present (not missing). */
static int present_core(const exec *x, int k)
{
    int n = 0;
    for (int j = 0; j < x->sig->op_ncore[k]; j++)
        n += !x->missing[x->sig->op_dims[k][j]];
    return n;
}

/* Drop flexible dims operand k lacks (NumPy's _validate_num_dims). */
static ug_status check_ndim(exec *x, int k)
{
    const layout_sig *sig = x->sig;
    int ndim = x->ops[k].ndim;
    for (int j = 0; j < sig->op_ncore[k] && ndim < present_core(x, k); j++) {
        int ix = sig->op_dims[k][j];
        if (sig->dim_flexible[ix] && !x->missing[ix])
            x->missing[ix] = true;
    }
    if (ndim < present_core(x, k))
        return base_err_set(x->err, UG_ESHAPE,
                          "%s: %s %d does not have enough dimensions (has %d, layout %s requires %d)", x->name,
                          opkind(x, k), opnum(x, k), ndim, sig->text, present_core(x, k));
    return UG_OK;
}

ug_status layout_check_operand(const ug_operand *op, int k, int nin, const char *name, ug_error *err)
{
    const char *kind = k < nin ? "input" : "output";
    int idx = k < nin ? k : k - nin;
    if (k >= nin && (op->flags & UG_OPERAND_ALLOCATE)) {
        if (op->dtype != UG_DTYPE_NONE && !base_dtype_valid(op->dtype))
            return base_err_set(err, UG_EDTYPE, "%s: output %d has an invalid dtype (%d)", name, idx, (int)op->dtype);
        return UG_OK;
    }
    if (op->ndim < 0 || op->ndim > UG_MAXDIMS)
        return base_err_set(err, UG_EINVAL, "%s: %s %d has ndim %d (must be 0..%d)", name, kind, idx, op->ndim,
                            UG_MAXDIMS);
    if (!base_dtype_valid(op->dtype))
        return base_err_set(err, UG_EDTYPE, "%s: %s %d has an invalid dtype (%d)", name, kind, idx, (int)op->dtype);
    for (int d = 0; d < op->ndim; d++)
        if (op->shape[d] < 0)
            return base_err_set(err, UG_ESHAPE, "%s: %s %d has a negative size (%lld) in dimension %d", name, kind,
                                idx, (long long)op->shape[d], d);
    if (!op->data && count(op->shape, op->ndim) != 0)
        return base_err_set(err, UG_EINVAL, "%s: %s %d has no data", name, kind, idx);
    return UG_OK;
}

static ug_status check_operand(exec *x, int k)
{
    ug_status st = x->loop->operands_checked ? UG_OK : layout_check_operand(&x->ops[k], k, x->sig->nin, x->name, x->err);
    if (st != UG_OK || (k >= x->sig->nin && (x->ops[k].flags & UG_OPERAND_ALLOCATE)))
        return st;
    return check_ndim(x, k);
}

/* Bind the core dims of operand k to its last axes. */
static ug_status bind_operand(exec *x, int k)
{
    const layout_sig *sig = x->sig;
    const ug_operand *op = &x->ops[k];
    int axis = op->ndim - present_core(x, k);
    for (int j = 0; j < sig->op_ncore[k]; j++) {
        int ix = sig->op_dims[k][j];
        if (x->missing[ix])
            continue;
        int64_t n = op->shape[axis++];
        if (x->core_size[ix] < 0) {
            x->core_size[ix] = n;
            x->bound_by[ix] = k;
        } else if (x->core_size[ix] != n && x->bound_by[ix] < 0) {
            return base_err_set(x->err, UG_ESHAPE, "%s: core dimension '%s' is fixed to %lld by layout %s but is %lld in %s %d",
                              x->name, sig->dim_name[ix], (long long)x->core_size[ix], sig->text, (long long)n,
                              opkind(x, k), opnum(x, k));
        } else if (x->core_size[ix] != n) {
            int b = x->bound_by[ix];
            return base_err_set(x->err, UG_ESHAPE, "%s: core dimension '%s' is %lld in %s %d but %lld in %s %d", x->name,
                              sig->dim_name[ix], (long long)x->core_size[ix], opkind(x, b), opnum(x, b),
                              (long long)n, opkind(x, k), opnum(x, k));
        }
    }
    return UG_OK;
}

static ug_status check_and_bind(exec *x)
{
    const layout_sig *sig = x->sig;
    for (int ix = 0; ix < sig->ndims; ix++) {
        x->core_size[ix] = sig->dim_frozen[ix];
        x->bound_by[ix] = -1;
    }
    ug_status st;
    for (int k = 0; k < x->nops; k++)
        if ((st = check_operand(x, k)))
            return st;
    for (int k = 0; k < x->nops; k++)
        if (!x->allocated[k] && (st = bind_operand(x, k)))
            return st;
    for (int ix = 0; ix < sig->ndims; ix++) {
        if (x->missing[ix])
            x->core_size[ix] = 1;
        else if (x->core_size[ix] < 0)
            return base_err_set(x->err, UG_ESHAPE, "%s: core dimension '%s' of layout %s is not set by any operand",
                              x->name, sig->dim_name[ix], sig->text);
    }
    return UG_OK;
}

/* ---------------------------------------------------------------- broadcast */

static ug_status broadcast_error(exec *x)
{
    char msg[1024], sh[256];
    size_t w = 0;
    for (int k = 0; k < x->nops && w < sizeof msg; k++)
        if (!x->allocated[k])
            w += (size_t)snprintf(msg + w, sizeof msg - w, " %s",
                                  shape_str(sh, sizeof sh, x->ops[k].shape, x->ops[k].ndim - present_core(x, k)));
    return base_err_set(x->err, UG_ESHAPE, "%s: operands could not be broadcast together with shapes%s%s", x->name,
                      msg, x->sig->scalar ? "" : " (loop dimensions; core dimensions removed)");
}

/* NumPy's broadcast of the loop dims of every operand we were given. */
static ug_status broadcast(exec *x)
{
    x->lnd = 0;
    for (int k = 0; k < x->nops; k++)
        if (!x->allocated[k] && x->ops[k].ndim - present_core(x, k) > x->lnd)
            x->lnd = x->ops[k].ndim - present_core(x, k);
    for (int d = 0; d < x->lnd; d++)
        x->lshape[d] = 1;
    for (int k = 0; k < x->nops; k++) {
        if (x->allocated[k])
            continue;
        int n = x->ops[k].ndim - present_core(x, k);
        for (int d = 0; d < n; d++) {
            int64_t s = x->ops[k].shape[d], *l = &x->lshape[x->lnd - n + d];
            if (s != *l && s != 1 && *l != 1)
                return broadcast_error(x);
            if (*l == 1)
                *l = s;
        }
    }
    return UG_OK;
}

/* Outputs are not broadcast: their loop shape must be the broadcast shape. */
static ug_status check_outputs(exec *x)
{
    for (int k = x->sig->nin; k < x->nops; k++) {
        if (x->allocated[k])
            continue;
        int n = x->ops[k].ndim - present_core(x, k);
        if (n == x->lnd && memcmp(x->ops[k].shape, x->lshape, sizeof(int64_t) * (size_t)n) == 0)
            continue;
        char a[256], b[256];
        return base_err_set(x->err, UG_ESHAPE, "%s: output %d has loop shape %s but the broadcast shape is %s (outputs are not broadcast)",
                          x->name, opnum(x, k), shape_str(a, sizeof a, x->ops[k].shape, n),
                          shape_str(b, sizeof b, x->lshape, x->lnd));
    }
    return UG_OK;
}

/* ---------------------------------------------------------------- allocate and views */

static ug_status allocate_output(exec *x, int k)
{
    ug_operand *op = &x->ops[k];
    int nc = present_core(x, k);
    if (x->lnd + nc > UG_MAXDIMS)
        return base_err_set(x->err, UG_ESHAPE, "%s: output %d would have %d dimensions (at most %d)", x->name,
                          opnum(x, k), x->lnd + nc, UG_MAXDIMS);
    if (op->dtype == UG_DTYPE_NONE)
        op->dtype = x->loop_types[k];
    if (!base_dtype_valid(op->dtype))
        return base_err_set(x->err, UG_EDTYPE, "%s: output %d has an invalid dtype (%d)", x->name, opnum(x, k),
                          (int)op->dtype);
    op->ndim = x->lnd + nc;
    memcpy(op->shape, x->lshape, sizeof(int64_t) * (size_t)x->lnd);
    for (int j = 0, a = x->lnd; j < x->sig->op_ncore[k]; j++) {
        int ix = x->sig->op_dims[k][j];
        if (!x->missing[ix])
            op->shape[a++] = x->core_size[ix];
    }
    c_strides(op->strides, op->shape, op->ndim, (int64_t)ug_dtype_size(op->dtype));
    op->data = alloc_array(op->shape, op->ndim, ug_dtype_size(op->dtype));
    x->did_alloc[k] = op->data != NULL;
    if (!op->data)
        return base_err_set(x->err, UG_ENOMEM, "%s: cannot allocate output %d of shape %s", x->name, opnum(x, k),
                          shape_str((char[256]){0}, 256, op->shape, op->ndim));
    return UG_OK;
}

/* Loop strides of view v: its own stride where it has the dim with size > 1, else 0. */
static void loop_strides(exec *x, view *v)
{
    int n = v->ndim - v->ncore;
    for (int d = 0; d < x->lnd; d++) {
        int a = d - (x->lnd - n);
        v->lstride[d] = a >= 0 && v->shape[a] != 1 ? v->strides[a] : 0;
    }
}

static void make_view(exec *x, int k)
{
    view *v = &x->v[k];
    const ug_operand *op = &x->ops[k];
    v->data = op->data;
    v->dt = op->dtype;
    v->ndim = op->ndim;
    v->ncore = present_core(x, k);
    memcpy(v->shape, op->shape, sizeof(int64_t) * (size_t)op->ndim);
    memcpy(v->strides, op->strides, sizeof(int64_t) * (size_t)op->ndim);
    loop_strides(x, v);
}

/* Replace view v by a C-contiguous temporary of dtype dt (copying its data if `fill`). */
static ug_status to_temp(exec *x, view *v, ug_dtype dt, bool fill)
{
    void *buf = alloc_array(v->shape, v->ndim, ug_dtype_size(dt));
    if (!buf)
        return base_err_set(x->err, UG_ENOMEM, "%s: cannot allocate a temporary of %lld elements", x->name,
                          (long long)count(v->shape, v->ndim));
    int64_t strides[UG_MAXDIMS];
    c_strides(strides, v->shape, v->ndim, (int64_t)ug_dtype_size(dt));
    if (fill && count(v->shape, v->ndim) > 0)
        cast_nd(buf, strides, dt, v->data, v->strides, v->dt, v->ndim, v->shape);
    v->temp = buf;
    v->data = buf;
    v->dt = dt;
    memcpy(v->strides, strides, sizeof strides);
    loop_strides(x, v);
    return UG_OK;
}

/* ---------------------------------------------------------------- overlap */

/* The byte range [lo, hi) that view v touches; false if it has no elements. */
static bool extent(const view *v, uintptr_t *lo, uintptr_t *hi)
{
    if (count(v->shape, v->ndim) == 0)
        return false;
    int64_t a = 0, b = 0;
    for (int d = 0; d < v->ndim; d++) {
        int64_t span = (v->shape[d] - 1) * v->strides[d];
        if (span < 0)
            a += span;
        else
            b += span;
    }
    *lo = (uintptr_t)v->data + (uintptr_t)a;
    *hi = (uintptr_t)v->data + (uintptr_t)b + ug_dtype_size(v->dt);
    return true;
}

static bool overlaps(const view *a, const view *b)
{
    uintptr_t alo, ahi, blo, bhi;
    return extent(a, &alo, &ahi) && extent(b, &blo, &bhi) && alo < bhi && blo < ahi;
}

/* Element for element the same memory: an in-place scalar ufunc is safe (a
 * gufunc kernel may write its output before it has read all of its input,
 * so gufunc operands are never treated as identical). */
static bool identical(const exec *x, const view *a, const view *b)
{
    if (!x->sig->scalar || a->data != b->data || a->dt != b->dt)
        return false;
    for (int d = 0; d < x->lnd; d++)
        if (x->lshape[d] > 1 && a->lstride[d] != b->lstride[d])
            return false;
    return true;
}

/* An output must not write an element twice (a zero stride over a loop dim). */
static ug_status check_self_overlap(exec *x, int k)
{
    const view *v = &x->v[k];
    int n = v->ndim - v->ncore;
    for (int a = 0; a < n; a++)
        if (v->strides[a] == 0 && v->shape[a] > 1)
            return base_err_set(x->err, UG_EOVERLAP,
                              "%s: output %d has stride 0 in dimension %d of size %lld (it would overlap itself)",
                              x->name, opnum(x, k), a, (long long)v->shape[a]);
    return UG_OK;
}

static ug_status check_overlap(exec *x)
{
    int nin = x->sig->nin;
    ug_status st;
    for (int o = nin; o < x->nops; o++) {
        if ((st = check_self_overlap(x, o)))
            return st;
        for (int p = o + 1; p < x->nops; p++)
            if (overlaps(&x->v[o], &x->v[p]))
                return base_err_set(x->err, UG_EOVERLAP, "%s: outputs %d and %d overlap in memory", x->name, o - nin,
                                  p - nin);
    }
    return UG_OK;
}

/* ---------------------------------------------------------------- cast stage */

static ug_status prepare_outputs(exec *x)
{
    for (int k = x->sig->nin; k < x->nops; k++) {
        view *v = &x->v[k];
        ug_dtype lt = x->loop_types[k];
        if (v->dt == lt)
            continue;
        if (!ug_can_cast_same_kind(lt, v->dt))
            return base_err_set(x->err, UG_EDTYPE, "%s: cannot write the loop's %s result to output %d of dtype %s (not a same_kind cast)",
                              x->name, ug_dtype_name(lt), opnum(x, k), ug_dtype_name(v->dt));
        ug_status st = to_temp(x, v, lt, false);
        if (st)
            return st;
        v->out_temp = true;
    }
    return UG_OK;
}

/* Does input i share memory with an output it is not identical to? */
static bool harmful_overlap(const exec *x, int i)
{
    for (int o = x->sig->nin; o < x->nops; o++)
        if (!x->v[o].out_temp && overlaps(&x->v[i], &x->v[o]) && !identical(x, &x->v[i], &x->v[o]))
            return true;
    return false;
}

static ug_status prepare_inputs(exec *x)
{
    for (int i = 0; i < x->sig->nin; i++) {
        view *v = &x->v[i];
        ug_dtype lt = x->loop_types[i];
        if (v->dt != lt || harmful_overlap(x, i)) {
            ug_status st = to_temp(x, v, lt, true);
            if (st)
                return st;
        }
    }
    return UG_OK;
}

static void write_back_outputs(exec *x)
{
    for (int k = x->sig->nin; k < x->nops; k++) {
        const view *v = &x->v[k];
        const ug_operand *op = &x->ops[k];
        if (v->out_temp && count(v->shape, v->ndim) > 0)
            cast_nd(op->data, op->strides, op->dtype, v->data, v->strides, v->dt, v->ndim, v->shape);
    }
}

/* ---------------------------------------------------------------- coalesce */

/* The iteration space after coalescing: dims outermost first. */
typedef struct space {
    int nd;
    int64_t shape[UG_MAXDIMS];
    int64_t *stride[UG_MAXARGS];         /* stride[k][d]: rows of UG_MAXDIMS in strides_mem */
    int64_t *strides_mem;                /* nops * UG_MAXDIMS, owned by the run */
} space;

/* Should dim a be outside dim b? Larger |stride| of the first output that
 * tells them apart (then of the inputs) goes outside. */
static bool outer_than(const exec *x, const space *s, int a, int b)
{
    for (int j = 0; j < x->nops; j++) {
        int k = (j + x->sig->nin) % x->nops;
        int64_t sa = llabs(s->stride[k][a]), sb = llabs(s->stride[k][b]);
        if (sa != sb)
            return sa > sb;
    }
    return false;
}

static void swap_dims(const exec *x, space *s, int a, int b)
{
    int64_t t = s->shape[a];
    s->shape[a] = s->shape[b];
    s->shape[b] = t;
    for (int k = 0; k < x->nops; k++) {
        t = s->stride[k][a];
        s->stride[k][a] = s->stride[k][b];
        s->stride[k][b] = t;
    }
}

/* Merge dim d+1 into d where every operand steps through both as one. */
static void merge_dims(const exec *x, space *s)
{
    int w = 0;
    for (int d = 1; d < s->nd; d++) {
        bool ok = true;
        for (int k = 0; k < x->nops && ok; k++)
            ok = s->stride[k][w] == s->stride[k][d] * s->shape[d];
        if (ok) {
            s->shape[w] *= s->shape[d];
            for (int k = 0; k < x->nops; k++)
                s->stride[k][w] = s->stride[k][d];
            continue;
        }
        w++;
        s->shape[w] = s->shape[d];
        for (int k = 0; k < x->nops; k++)
            s->stride[k][w] = s->stride[k][d];
    }
    s->nd = s->nd ? w + 1 : 0;
}

static void coalesce(const exec *x, space *s)
{
    s->nd = 0;
    for (int k = 0; k < x->nops; k++)
        s->stride[k] = s->strides_mem + (size_t)k * UG_MAXDIMS;
    for (int d = 0; d < x->lnd; d++) {
        if (x->lshape[d] == 1)
            continue;
        s->shape[s->nd] = x->lshape[d];
        for (int k = 0; k < x->nops; k++)
            s->stride[k][s->nd] = x->v[k].lstride[d];
        s->nd++;
    }
    for (int i = 1; i < s->nd; i++)  /* insertion sort: stable, few dims */
        for (int j = i; j > 0 && outer_than(x, s, j, j - 1); j--)
            swap_dims(x, s, j, j - 1);
    merge_dims(x, s);
}

/* ---------------------------------------------------------------- run */

typedef struct run {
    const exec *x;
    space sp;
    char *base[UG_MAXARGS];
    intptr_t *dims;          /* 1 + sig->ndims */
    intptr_t *steps;         /* nops + ncore_total */
    int nouter;              /* sp.nd - 1 (the innermost dim is dimensions[0]) */
    int64_t inner;           /* size of the innermost dim */
} run;

/* Outer items [lo, hi): each is one loop call over the whole innermost dim. */
static void run_outer(void *ctx, int64_t lo, int64_t hi)
{
    const run *r = ctx;
    int nops = r->x->nops, no = r->nouter;
    int64_t idx[UG_MAXDIMS];
    char *args[UG_MAXARGS];
    int64_t rem = lo;
    for (int d = no - 1; d >= 0; d--) {
        idx[d] = rem % r->sp.shape[d];
        rem /= r->sp.shape[d];
    }
    for (int k = 0; k < nops; k++) {
        args[k] = r->base[k];
        for (int d = 0; d < no; d++)
            args[k] += idx[d] * r->sp.stride[k][d];
    }
    for (int64_t it = lo; it < hi; it++) {
        r->x->loop->fn(args, r->dims, r->steps, r->x->loop->data);
        for (int d = no - 1; d >= 0; d--) {  /* odometer */
            for (int k = 0; k < nops; k++)
                args[k] += r->sp.stride[k][d];
            if (++idx[d] < r->sp.shape[d])
                break;
            idx[d] = 0;
            for (int k = 0; k < nops; k++)
                args[k] -= r->sp.shape[d] * r->sp.stride[k][d];
        }
    }
}

/* dimensions = [inner count, core sizes]; steps = [inner strides, core strides per operand]. */
static void fill_abi(run *r)
{
    const exec *x = r->x;
    const layout_sig *sig = x->sig;
    int in = r->sp.nd - 1;
    r->dims[0] = (intptr_t)r->inner;
    for (int ix = 0; ix < sig->ndims; ix++)
        r->dims[1 + ix] = (intptr_t)x->core_size[ix];
    int c = x->nops;
    for (int k = 0; k < x->nops; k++) {
        const view *v = &x->v[k];
        r->steps[k] = in >= 0 ? (intptr_t)r->sp.stride[k][in] : 0;
        int a = v->ndim - v->ncore;
        for (int j = 0; j < sig->op_ncore[k]; j++)
            r->steps[c++] = x->missing[sig->op_dims[k][j]] ? 0 : (intptr_t)v->strides[a++];
        r->base[k] = v->data;
    }
}

static ug_status run_loop(exec *x)
{
    /* The run, then the stride table (UG_MAXDIMS per operand, filled by
     * coalesce as far as used, so not zeroed): on the stack for small calls. */
    size_t table = (size_t)x->nops * UG_MAXDIMS * sizeof(int64_t);
    _Alignas(run) unsigned char small[sizeof(run) + SMALL_OPS * UG_MAXDIMS * sizeof(int64_t)];
    bool heap = x->nops > SMALL_OPS;
    run *r = heap ? malloc(sizeof *r + table) : (run *)small;
    if (!r)
        return base_err_set(x->err, UG_ENOMEM, "%s: out of memory", x->name);
    r->x = x;
    r->nouter = 0;
    r->inner = 0;
    r->sp.strides_mem = (int64_t *)(r + 1);
    r->dims = malloc(sizeof(intptr_t) * (1 + (size_t)x->sig->ndims));
    r->steps = malloc(sizeof(intptr_t) * ((size_t)x->nops + (size_t)x->sig->ncore_total));
    ug_status st = UG_OK;
    if (!r->dims || !r->steps) {
        st = base_err_set(x->err, UG_ENOMEM, "%s: out of memory", x->name);
        goto done;
    }
    coalesce(x, &r->sp);
    int64_t total = count(r->sp.shape, r->sp.nd);
    if (total == 0)
        goto done;
    r->inner = r->sp.nd ? r->sp.shape[r->sp.nd - 1] : 1;
    r->nouter = r->sp.nd ? r->sp.nd - 1 : 0;
    fill_abi(r);
    int64_t nouter_items = count(r->sp.shape, r->nouter);
    if (x->loop->nthreads <= 1)
        run_outer(r, 0, nouter_items);
    else if (r->nouter > 0)
        par_for(nouter_items, x->loop->nthreads, 0, run_outer, r);
    else if (x->loop->par_fn) /* one loop dim: the driver splits dimensions[0], with the loop's learned costs */
        x->loop->par_fn(r->base, r->dims, r->steps, x->loop->par_data);
    else { /* a loop without a driver of its own: one for this call */
        par_loop pl = {.fn = x->loop->fn, .data = x->loop->data, .nops = x->nops, .nthreads = x->loop->nthreads,
                       .ncore = x->sig->ndims};
        par_loop_fn(r->base, r->dims, r->steps, &pl);
    }
done:
    free(r->dims);
    free(r->steps);
    if (heap)
        free(r);
    return st;
}

/* ---------------------------------------------------------------- entry */

static ug_status execute(exec *x)
{
    ug_status st;
    if ((st = check_and_bind(x)) || (st = broadcast(x)) || (st = check_outputs(x)))
        return st;
    for (int k = x->sig->nin; k < x->nops; k++)
        if (x->allocated[k] && (st = allocate_output(x, k)))
            return st;
    for (int k = 0; k < x->nops; k++)
        make_view(x, k);
    if ((st = check_overlap(x)) || (st = prepare_outputs(x)) || (st = prepare_inputs(x)) || (st = run_loop(x)))
        return st;
    ug_error lerr;
    if (rt_take_error(&lerr)) {
        base_err_set(x->err, UG_EINDEX, "%s", lerr.msg);
        return UG_EINDEX;
    }
    write_back_outputs(x);
    return UG_OK;
}

static void release(exec *x, ug_status st)
{
    for (int k = 0; k < x->nops; k++) {
        if (x->v)
            free(x->v[k].temp);
        if (st != UG_OK && x->did_alloc[k]) {
            free(x->ops[k].data);
            x->ops[k].data = NULL;
        }
    }
    if (x->v_heap)
        free(x->v);
    free(x->core_size);
    free(x->missing);
    free(x->bound_by);
}

ug_status layout_execute(const layout_sig *sig, ug_operand *ops, int nops, const ug_dtype *loop_types,
                         const layout_loop *loop, ug_error *err)
{
    exec x = {.sig = sig, .ops = ops, .nops = nops, .loop_types = loop_types, .loop = loop, .err = err,
              .name = loop && loop->kname ? loop->kname : "ufunc"};
    if (!sig || !ops || !loop_types || !loop || !loop->fn || nops != sig->nin + sig->nout || nops > UG_MAXARGS)
        return base_err_set(err, UG_EINVAL, "layout_execute: bad arguments");
    size_t nd = (size_t)sig->ndims + 1;
    view small[SMALL_OPS]; /* filled by make_view; only what release() reads is set here */
    x.v_heap = nops > SMALL_OPS;
    x.v = x.v_heap ? malloc((size_t)nops * sizeof *x.v) : small;
    for (int k = 0; x.v && k < nops; k++) {
        x.v[k].temp = NULL;
        x.v[k].out_temp = false;
    }
    x.core_size = malloc(nd * sizeof *x.core_size);
    x.missing = calloc(nd, sizeof *x.missing);
    x.bound_by = malloc(nd * sizeof *x.bound_by);
    for (int k = sig->nin; k < nops; k++)
        x.allocated[k] = (ops[k].flags & UG_OPERAND_ALLOCATE) != 0;
    ug_status st = x.v && x.core_size && x.missing && x.bound_by ? execute(&x)
                                                                 : base_err_set(err, UG_ENOMEM, "out of memory");
    release(&x, st);
    return st;
}
