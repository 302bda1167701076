/* arrays.c — array values inside kernels: views, slices, local arrays.
 *
 * Requires: a typed kernel (kernel.h's invariants, "Arrays"), lower.c's
 * function state. An array value is a loops_arr of SSA values (base
 * pointer, shapes, byte strides), so a view costs nothing at run time: a
 * slice is a new base, shape and stride, `a[i]` of a 2-d array a row, a.T
 * the reversed axes. A local holding an array keeps the descriptor in stack
 * slots (loops_aslot), which mem2reg turns back into SSA.
 *
 * Local arrays (np.empty/zeros/ones/full and the *_like forms) are
 * C-contiguous blocks from rt_alloc, linked into the function's frame
 * and freed when the function returns (every exit goes through its return
 * block, errors included); the runtime keeps a few freed blocks per thread,
 * so a kernel allocating the same size for every item of the outer loop
 * reuses one block instead of calling malloc each time.
 *
 * Slice stores fill (a scalar) or copy (an array, broadcast as NumPy does:
 * trailing axes aligned, an axis of 1 repeats); a source that overlaps the
 * target without being it is copied through a temporary first, so the
 * result is NumPy's. A plain fill or copy (no operator, mask, expression
 * or cast) is a call into the runtime (rt_fill per line, rt_copy) in a
 * loop over run-time core strides, a loop in a core-shape variant (see
 * by_runtime).
 */
#include <string.h>

#include "base/base.h"
#include "loops/gen.h"

static LLVMValueRef i64c(loops_gen *g, long long v) { return LLVMConstInt(g->i64, (unsigned long long)v, 1); }
static bool materialize(loops_gen *g, const kernel_node *n, loops_arr *out);

void loops_arr_store(loops_gen *g, const loops_aslot *s, const loops_arr *v)
{
    if (s->base)
        LLVMBuildStore(g->B, v->base, s->base);
    for (int d = 0; d < v->ndim; d++) {
        LLVMBuildStore(g->B, v->shape[d], s->shape[d]);
        if (s->stride[d])
            LLVMBuildStore(g->B, v->stride[d], s->stride[d]);
    }
}

void loops_arr_load(loops_gen *g, const loops_aslot *s, int ndim, loops_arr *out)
{
    out->ndim = ndim;
    out->base = s->base ? LLVMBuildLoad2(g->B, g->ptr, s->base, "view") : NULL;
    for (int d = 0; d < ndim; d++) {
        out->shape[d] = LLVMBuildLoad2(g->B, g->i64, s->shape[d], "shape");
        out->stride[d] = s->stride[d] ? LLVMBuildLoad2(g->B, g->i64, s->stride[d], "stride") : NULL;
    }
}

LLVMValueRef loops_elem_at(loops_gen *g, const loops_arr *a, LLVMValueRef *idx)
{
    LLVMValueRef off = i64c(g, 0);
    for (int d = 0; d < a->ndim; d++)
        off = LLVMBuildAdd(g->B, off, LLVMBuildMul(g->B, idx[d], a->stride[d], ""), "off");
    return LLVMBuildGEP2(g->B, g->i8, a->base, &off, 1, "elem");
}

/* ------------------------------------------------------------------ slices */

/* Python's slice.indices() for an axis of size L: *start and *len of
 * lo:hi:step (lo/hi/step may be NULL), step in *step. A step of zero stops
 * the call with ValueError, as Python does. */
static void slice_axis(loops_gen *g, const kernel_node *sl, LLVMValueRef L, LLVMValueRef *start, LLVMValueRef *len,
                       LLVMValueRef *step)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef zero = i64c(g, 0), one = i64c(g, 1), m1 = i64c(g, -1);
    LLVMValueRef s = sl->cond ? loops_conv(g, sl->cond, UG_INT64) : one;
    if (!LLVMIsAConstantInt(s) || LLVMConstIntGetSExtValue(s) == 0) {
        LLVMBasicBlockRef bad = loops_block(g, "slice.zero"), ok = loops_block(g, "slice.ok");
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, s, zero, ""), bad, ok);
        LLVMPositionBuilderAtEnd(B, bad);
        loops_raise(g, "ValueError", "slice step cannot be zero", sl->pos.line);
        LLVMPositionBuilderAtEnd(B, ok);
    }
    LLVMValueRef neg = LLVMBuildICmp(B, LLVMIntSLT, s, zero, "back");
    LLVMValueRef Lm1 = LLVMBuildSub(B, L, one, "");
    /* adjust(x): x < 0 → x + L, then clip to [0, L] (step > 0) or [-1, L-1] (step < 0) */
    LLVMValueRef bounds[2];
    const kernel_node *parts[2] = {sl->a, sl->b};
    for (int k = 0; k < 2; k++) {
        if (!parts[k]) { /* defaults: 0 / L going forward, L-1 / "before 0" going back */
            bounds[k] = k == 0 ? LLVMBuildSelect(B, neg, Lm1, zero, "") : LLVMBuildSelect(B, neg, m1, L, "");
            continue;
        }
        LLVMValueRef x = loops_conv(g, parts[k], UG_INT64);
        x = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, x, zero, ""), LLVMBuildAdd(B, x, L, ""), x, "");
        LLVMValueRef lo = LLVMBuildSelect(B, neg, m1, zero, ""), hi = LLVMBuildSelect(B, neg, Lm1, L, "");
        x = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, x, lo, ""), lo, x, "");
        bounds[k] = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, x, hi, ""), hi, x, "");
    }
    /* len = (hi - lo - 1) / step + 1 when the range is not empty (both directions) */
    LLVMValueRef diff = LLVMBuildSelect(B, neg, LLVMBuildSub(B, bounds[0], bounds[1], ""),
                                        LLVMBuildSub(B, bounds[1], bounds[0], ""), "");
    LLVMValueRef mag = LLVMBuildSelect(B, neg, LLVMBuildNeg(B, s, ""), s, "");
    mag = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, mag, zero, ""), one, mag, "");
    LLVMValueRef n = LLVMBuildAdd(B, LLVMBuildSDiv(B, LLVMBuildSub(B, diff, one, ""), mag, ""), one, "");
    *len = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, diff, zero, ""), n, zero, "len");
    *start = bounds[0];
    *step = s;
}

/* a[k0, k1, ...] with slices or fewer indices than axes: a view. */
static bool view_of(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    loops_arr a;
    if (!loops_arr_eval(g, n->a, &a))
        return false;
    const kernel_node *an = n->a;
    const char *what = an->kind != N_NAME ? "array"
                       : an->symkind == SYM_PARAM ? g->fs->f->params[an->index].name : g->fs->f->locals[an->index].name;
    LLVMValueRef off = i64c(g, 0);
    int nd = 0;
    for (int d = 0; d < a.ndim; d++) {
        const kernel_node *x = d < n->nkids ? n->kids[d] : NULL;
        if (x && x->kind != N_SLICE) {
            LLVMValueRef i = loops_conv(g, x, UG_INT64);
            if (!i)
                return false;
            i = loops_checked_index(g, what, d, i, a.shape[d]);
            off = LLVMBuildAdd(g->B, off, LLVMBuildMul(g->B, i, a.stride[d], ""), "off");
            continue;
        }
        if (!x) { /* a trailing axis the index does not name: kept whole */
            out->shape[nd] = a.shape[d];
            out->stride[nd++] = a.stride[d];
            continue;
        }
        LLVMValueRef start, len, step;
        slice_axis(g, x, a.shape[d], &start, &len, &step);
        off = LLVMBuildAdd(g->B, off, LLVMBuildMul(g->B, start, a.stride[d], ""), "off");
        out->shape[nd] = len;
        out->stride[nd++] = LLVMBuildMul(g->B, a.stride[d], step, "stride");
    }
    out->ndim = nd;
    out->base = LLVMBuildGEP2(g->B, g->i8, a.base, &off, 1, "view");
    return true;
}

/* ------------------------------------------------------------ local arrays */

bool loops_shape_eval(loops_gen *g, const kernel_node *n, LLVMValueRef *vals, int *nd)
{
    if (n->kind == N_TUPLE) {
        for (int k = 0; k < n->nkids; k++)
            if (!(vals[k] = loops_conv(g, n->kids[k], UG_INT64)))
                return false;
        *nd = n->nkids;
        return true;
    }
    if (n->ty.kind == KT_SHAPE && n->kind == N_ATTR) { /* a.shape */
        loops_arr a;
        if (!loops_arr_eval(g, n->a, &a))
            return false;
        memcpy(vals, a.shape, (size_t)a.ndim * sizeof *vals);
        *nd = a.ndim;
        return true;
    }
    if (n->ty.kind == KT_SHAPE && n->kind == N_NAME && n->symkind == SYM_LOCAL) {
        loops_arr a;
        loops_arr_load(g, &g->fs->aslot[n->index], n->ty.ndim, &a);
        memcpy(vals, a.shape, (size_t)a.ndim * sizeof *vals);
        *nd = a.ndim;
        return true;
    }
    if (n->ty.kind == KT_SCALAR) { /* np.zeros(n) */
        *nd = 1;
        return (vals[0] = loops_conv(g, n, UG_INT64)) != NULL;
    }
    base_err_set(g->err, UG_EUNSUPPORTED, "kernel '%s', line %d: this shape is not supported by lowering",
               g->req->kname ? g->req->kname : "?", n->pos.line);
    return false;
}

/* dst[...] = v (a scalar, no mask, no operator): a call of rt_fill per
 * line along the last axis, with v stored once in memory as dst holds it.
 * As a loop over byte strides in IR, LLVM made a vector version for a
 * stride of one byte, which an element wider than a byte never has
 * (scatters, interleaved and unrolled) and left the contiguous case scalar:
 * numbagg's group kernels' `out[:] = 0.0` was half of their compile time.
 * The runtime fills a contiguous line with vector stores (memset when the
 * element's bytes are all alike). */
/* Fills and copies go to the runtime in a loop that reads its core strides
 * at run time; a variant (constant core strides: LLVM vectorises the loops
 * for the real strides, compile time matters less there) keeps them as
 * loops. */
static bool by_runtime(const loops_gen *g) { return !g->req->core_steps; }

typedef struct fill_ctx {
    const loops_arr *dst;
    ug_dtype dt;
    LLVMValueRef value; /* the element in memory */
} fill_ctx;

static void fill_line(loops_gen *g, LLVMValueRef *idx, void *p)
{
    fill_ctx *c = p;
    int last = c->dst->ndim - 1;
    LLVMValueRef at[UG_MAXDIMS];
    for (int d = 0; d < last; d++)
        at[d] = idx[d];
    at[last] = i64c(g, 0);
    /* rt_fill(p, n, stride, size, value) */
    LLVMTypeRef ps[5] = {g->ptr, g->i64, g->i64, g->i64, g->ptr};
    LLVMValueRef args[5] = {loops_elem_at(g, c->dst, at), c->dst->shape[last], c->dst->stride[last],
                            i64c(g, (long long)ug_dtype_size(c->dt)), c->value};
    bool declared = LLVMGetNamedFunction(g->M, "rt_fill") != NULL;
    loops_rt_call(g, "rt_fill", g->vd, ps, args, 5, false);
    if (!declared) { /* it touches the line and reads the value, nothing else: loads elsewhere stay in registers */
        LLVMValueRef fn = LLVMGetNamedFunction(g->M, "rt_fill");
        unsigned k = LLVMGetEnumAttributeKindForName("memory", 6);
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(g->C, k, 3)); /* argmem: readwrite */
        loops_attr(g, fn, LLVMAttributeFunctionIndex, "willreturn");
        loops_attr(g, fn, 1, "nocapture");
        loops_attr(g, fn, 5, "nocapture");
        loops_attr(g, fn, 5, "readonly");
    }
}

/* Store v at every element of the contiguous block [p, p + count). */
static void fill_block(loops_gen *g, LLVMValueRef p, LLVMValueRef count, LLVMValueRef v, ug_dtype dt)
{
    if (LLVMIsNull(v) && dt != UG_BOOL) { /* zeros: memset (0.0 is all-zero bits, -0.0 is not null) */
        LLVMValueRef bytes = LLVMBuildMul(g->B, count, i64c(g, (long long)ug_dtype_size(dt)), "");
        LLVMBuildMemSet(g->B, p, LLVMConstInt(g->i8, 0, 0), bytes, 16);
        return;
    }
    if (!by_runtime(g)) {
        loops_counted c;
        LLVMValueRef k = loops_count_begin(g, &c, count);
        loops_store_elem(g, v, LLVMBuildInBoundsGEP2(g->B, loops_mty(g, dt), p, &k, 1, ""), dt);
        loops_count_end(g, &c, NULL);
        return;
    }
    LLVMValueRef size = i64c(g, (long long)ug_dtype_size(dt));
    loops_arr line = {.ndim = 1, .base = p, .shape = {count}, .stride = {size}};
    fill_ctx f = {.dst = &line, .dt = dt, .value = loops_entry_alloca(g, loops_mty(g, dt), "fill.value")};
    loops_store_elem(g, v, f.value, dt);
    fill_line(g, NULL, &f);
}

/* A block for an array of shape dims[0..nd-1] in the function's frame; a
 * negative or too large size stops the call (rt_alloc says which). */
LLVMValueRef loops_alloc_block(loops_gen *g, const LLVMValueRef *dims, int nd, ug_dtype dt, int line)
{
    LLVMTypeRef at = LLVMArrayType2(g->i64, UG_MAXDIMS);
    LLVMValueRef dv = loops_entry_alloca(g, at, "dims");
    for (int d = 0; d < nd; d++) {
        LLVMValueRef ix[2] = {i64c(g, 0), i64c(g, d)};
        LLVMBuildStore(g->B, dims[d], LLVMBuildInBoundsGEP2(g->B, at, dv, ix, 2, ""));
    }
    /* rt_alloc(frame, dims, ndim, esize, kname, line): NULL after recording the error */
    LLVMTypeRef ps[6] = {g->ptr, g->ptr, g->i32, g->i64, g->ptr, g->i32};
    LLVMValueRef args[6] = {g->fs->frame, dv, LLVMConstInt(g->i32, (unsigned)nd, 0),
                            i64c(g, (long long)ug_dtype_size(dt)),
                            LLVMBuildGlobalStringPtr(g->B, g->req->kname ? g->req->kname : "?", "kname"),
                            LLVMConstInt(g->i32, (unsigned)line, 0)};
    LLVMValueRef p = loops_rt_call(g, "rt_alloc", g->ptr, ps, args, 6, false);
    /* malloc-like: a block disjoint from everything else the kernel sees, so
     * loops over several local arrays need no run-time overlap checks */
    loops_attr(g, LLVMGetNamedFunction(g->M, "rt_alloc"), LLVMAttributeReturnIndex, "noalias");
    LLVMBasicBlockRef bad = loops_block(g, "alloc.failed"), ok = loops_block(g, "alloc.ok");
    LLVMBuildCondBr(g->B, LLVMBuildIsNull(g->B, p, ""), bad, ok);
    LLVMPositionBuilderAtEnd(g->B, bad);
    loops_fail_here(g);
    LLVMPositionBuilderAtEnd(g->B, ok);
    return p;
}

/* np.empty/zeros/ones/full(...) and *_like: a new C-contiguous array. */
static bool new_array(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    ug_dtype dt = (ug_dtype)n->ty.dt;
    int nd = n->ty.ndim;
    LLVMValueRef dims[UG_MAXDIMS];
    if (n->kids[0]->ty.kind == KT_ARRAY) {
        loops_arr like;
        if (!loops_arr_eval(g, n->kids[0], &like))
            return false;
        memcpy(dims, like.shape, (size_t)nd * sizeof *dims);
    } else {
        int got = 0;
        if (!loops_shape_eval(g, n->kids[0], dims, &got))
            return false;
    }
    LLVMValueRef fill = NULL;
    if (n->b && !(fill = loops_conv(g, n->b, dt)))
        return false;
    LLVMValueRef p = loops_alloc_block(g, dims, nd, dt, n->pos.line);
    out->ndim = nd;
    out->base = p;
    LLVMValueRef st = i64c(g, (long long)ug_dtype_size(dt)), count = i64c(g, 1);
    for (int d = nd - 1; d >= 0; d--) {
        out->shape[d] = dims[d];
        out->stride[d] = st;
        st = LLVMBuildMul(g->B, st, dims[d], "");
        count = LLVMBuildMul(g->B, count, dims[d], "");
    }
    if (n->builtin == B_ZEROS || n->builtin == B_ZEROS_LIKE)
        fill = LLVMConstNull(loops_vty(g, dt));
    else if (n->builtin == B_ONES || n->builtin == B_ONES_LIKE)
        fill = loops_emit_cast(g, LLVMConstInt(g->i64, 1, 0), UG_INT64, dt);
    if (fill)
        fill_block(g, p, count, fill, dt);
    return true;
}

bool loops_arr_eval(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    switch (n->kind) {
    case N_NAME:
        if (n->symkind == SYM_PARAM) {
            *out = g->fs->arrs[n->index];
            return true;
        }
        loops_arr_load(g, &g->fs->aslot[n->index], n->ty.ndim, out);
        return true;
    case N_INDEX: return n->opty.kind == KT_ARRAY ? loops_gather(g, n, out) : view_of(g, n, out);
    case N_ATTR:
        if (!loops_arr_eval(g, n->a, out))
            return false;
        if (strcmp(n->name, "T") == 0) {
            loops_arr a = *out;
            for (int d = 0; d < a.ndim; d++) {
                out->shape[d] = a.shape[a.ndim - 1 - d];
                out->stride[d] = a.stride[a.ndim - 1 - d];
            }
        }
        return true; /* .flat of a 1-d array: the array itself */
    case N_UNARY:
    case N_BINARY:
    case N_COMPARE:
        if (loops_is_ewise(n))
            return materialize(g, n, out);
        break;
    case N_CALL:
        if (loops_is_ewise(n))
            return materialize(g, n, out);
        if (n->builtin >= B_EMPTY && n->builtin <= B_FULL_LIKE)
            return new_array(g, n, out);
        if (n->callee)
            return loops_helper_array(g, n, out);
        if (n->builtin >= B_SUM)
            return loops_arrfn_eval(g, n, out);
        break;
    default: break;
    }
    base_err_set(g->err, UG_EUNSUPPORTED, "kernel '%s', line %d, column %d: this array expression is not supported by "
               "lowering", g->req->kname ? g->req->kname : "?", n->pos.line, n->pos.col);
    return false;
}

/* ------------------------------------------------------------ slice stores */

/* Nested counted loops over shape[0..nd-1]; body(idx) at the innermost. */

static void nd_loop(loops_gen *g, int nd, const LLVMValueRef *shape, loops_nd_body body, void *ctx,
                    LLVMMetadataRef inner)
{
    loops_counted c[UG_MAXDIMS];
    LLVMValueRef idx[UG_MAXDIMS];
    for (int d = 0; d < nd; d++)
        idx[d] = loops_count_begin(g, &c[d], shape[d]);
    body(g, idx, ctx);
    for (int d = nd - 1; d >= 0; d--)
        loops_count_end(g, &c[d], d == nd - 1 ? inner : NULL);
}

void loops_nd_loop(loops_gen *g, int nd, const LLVMValueRef *shape, loops_nd_body body, void *ctx)
{
    nd_loop(g, nd, shape, body, ctx, NULL);
}

/* The innermost loop of a store into dst: not vectorised where dst's last
 * stride is read at run time and its elements are wider than a byte. LLVM
 * would version that loop for a one-byte stride, the only case its vector
 * body could run, which such a dst never has (see fill_line): compile time
 * for nothing. A local array's constant stride, a core-shape variant's and
 * byte elements keep the vectoriser. */
static LLVMMetadataRef store_loop_id(loops_gen *g, const loops_arr *dst, ug_dtype ddt)
{
    if (!by_runtime(g) || dst->ndim == 0 || ug_dtype_size(ddt) < 2 || LLVMIsAConstant(dst->stride[dst->ndim - 1]))
        return NULL;
    return loops_scalar_loop_id(g);
}

/* Bytes [lo, hi) that a spans (lo > hi... never: empty arrays give lo == hi). */
static void span(loops_gen *g, const loops_arr *a, ug_dtype dt, LLVMValueRef *lo, LLVMValueRef *hi)
{
    LLVMValueRef zero = i64c(g, 0), one = i64c(g, 1);
    LLVMValueRef base = LLVMBuildPtrToInt(g->B, a->base, g->i64, "");
    LLVMValueRef l = base, h = LLVMBuildAdd(g->B, base, i64c(g, (long long)ug_dtype_size(dt)), "");
    LLVMValueRef empty = LLVMConstInt(g->i1, 0, 0);
    for (int d = 0; d < a->ndim; d++) {
        LLVMValueRef ext = LLVMBuildMul(g->B, LLVMBuildSub(g->B, a->shape[d], one, ""), a->stride[d], "");
        LLVMValueRef neg = LLVMBuildICmp(g->B, LLVMIntSLT, ext, zero, "");
        l = LLVMBuildAdd(g->B, l, LLVMBuildSelect(g->B, neg, ext, zero, ""), "");
        h = LLVMBuildAdd(g->B, h, LLVMBuildSelect(g->B, neg, zero, ext, ""), "");
        empty = LLVMBuildOr(g->B, empty, LLVMBuildICmp(g->B, LLVMIntSLE, a->shape[d], zero, ""), "");
    }
    *lo = LLVMBuildSelect(g->B, empty, base, l, "");
    *hi = LLVMBuildSelect(g->B, empty, base, h, "");
}

/* Broadcast src to dst's shape (NumPy: trailing axes, size 1 repeats via a
 * zero stride), or stop the call with ValueError naming both shapes and the
 * kernel's line. */
void loops_broadcast_check(loops_gen *g, const loops_arr *dst, loops_arr *src, int line)
{
    int off = dst->ndim - src->ndim;
    LLVMValueRef bad = LLVMConstInt(g->i1, 0, 0), one = i64c(g, 1);
    for (int d = 0; d < src->ndim; d++) {
        LLVMValueRef is1 = LLVMBuildICmp(g->B, LLVMIntEQ, src->shape[d], one, "");
        LLVMValueRef same = LLVMBuildICmp(g->B, LLVMIntEQ, src->shape[d], dst->shape[off + d], "");
        bad = LLVMBuildOr(g->B, bad, LLVMBuildNot(g->B, LLVMBuildOr(g->B, is1, same, ""), ""), "");
        src->stride[d] = LLVMBuildSelect(g->B, LLVMBuildAnd(g->B, is1, LLVMBuildNot(g->B, same, ""), ""), i64c(g, 0),
                                         src->stride[d], "");
    }
    LLVMBasicBlockRef no = loops_block(g, "bcast.bad"), yes = loops_block(g, "bcast.ok");
    LLVMBuildCondBr(g->B, bad, no, yes);
    LLVMPositionBuilderAtEnd(g->B, no);
    LLVMValueRef ss = loops_entry_alloca(g, LLVMArrayType2(g->i64, 2 * UG_MAXDIMS), "bshapes");
    for (int d = 0; d < src->ndim + dst->ndim; d++) {
        LLVMValueRef ix[2] = {i64c(g, 0), i64c(g, d)};
        LLVMValueRef v = d < src->ndim ? src->shape[d] : dst->shape[d - src->ndim];
        LLVMBuildStore(g->B, v, LLVMBuildInBoundsGEP2(g->B, LLVMArrayType2(g->i64, 2 * UG_MAXDIMS), ss, ix, 2, ""));
    }
    LLVMTypeRef ps[5] = {g->ptr, g->i32, g->i32, g->ptr, g->i32};
    LLVMValueRef args[5] = {ss, LLVMConstInt(g->i32, (unsigned)src->ndim, 0), LLVMConstInt(g->i32, (unsigned)dst->ndim, 0),
                            LLVMBuildGlobalStringPtr(g->B, g->req->kname ? g->req->kname : g->fs->f->name, "kname"),
                            LLVMConstInt(g->i32, (unsigned)line, 0)};
    loops_rt_call(g, "rt_broadcast_error", g->vd, ps, args, 5, true);
    loops_fail_here(g);
    LLVMPositionBuilderAtEnd(g->B, yes);
}

/* ---------------------------------------------------- element-wise expressions
 * An array-valued expression (a + 1, ~mask, np.isnan(a) & (b > 0)) is
 * evaluated element by element inside the loop of whatever consumes it
 * (a slice store, an in-place operator, a mask), with no temporary: its
 * array leaves are evaluated once (descriptors), broadcast to the target's
 * shape (a zero stride where a leaf has size 1), and its scalar parts are
 * evaluated once before the loop. A leaf overlapping the target without
 * being it element for element is read whole first, as NumPy does. */

bool loops_is_ewise(const kernel_node *n)
{
    if (n->ty.kind != KT_ARRAY)
        return false;
    return n->kind == N_UNARY || n->kind == N_BINARY || n->kind == N_COMPARE ||
           (n->kind == N_CALL && !n->callee && n->builtin >= 0 && (n->builtin < B_CAST || n->builtin == B_WHERE));
}

static bool ew_unsupported(loops_gen *g, const kernel_node *n, const char *what)
{
    base_err_set(g->err, UG_EUNSUPPORTED, "kernel '%s', line %d, column %d: %s", g->req->kname ? g->req->kname : "?",
               n->pos.line, n->pos.col, what);
    return false;
}

bool loops_ew_collect(loops_gen *g, const kernel_node *n, loops_ewise *ew)
{
    if (loops_is_ewise(n)) {
        const kernel_node *kids[2] = {n->a, n->b};
        if (n->kind == N_COMPARE || n->kind == N_CALL) {
            for (int k = 0; k < n->nkids; k++)
                if (!loops_ew_collect(g, n->kids[k], ew))
                    return false;
            return true;
        }
        for (int k = 0; k < 2; k++)
            if (kids[k] && !loops_ew_collect(g, kids[k], ew))
                return false;
        return true;
    }
    if (n->ty.kind == KT_ARRAY) {
        if (ew->n == LOOPS_EW_MAX)
            return ew_unsupported(g, n, "an element-wise expression with more than 32 arrays is not supported");
        ew->leaf[ew->n] = n;
        return loops_arr_eval(g, n, &ew->arr[ew->n++]);
    }
    if (ew->ns == LOOPS_EW_MAX)
        return ew_unsupported(g, n, "an element-wise expression with more than 32 scalars is not supported");
    ew->snode[ew->ns] = n;
    return (ew->sval[ew->ns++] = loops_expr(g, n)) != NULL;
}

/* The value of element idx (of the consumer's nd axes) of n, in n's element dtype. */
LLVMValueRef loops_ew_elem(loops_gen *g, const kernel_node *n, loops_ewise *ew, LLVMValueRef *idx, int nd)
{
    for (int k = 0; k < ew->n; k++) /* a leaf (also a whole expression read from a temporary) */
        if (ew->leaf[k] == n) {
            const loops_arr *a = &ew->arr[k];
            return loops_load_elem(g, loops_elem_at(g, a, idx + (nd - a->ndim)), (ug_dtype)n->ty.dt);
        }
    for (int k = 0; k < ew->ns; k++)
        if (ew->snode[k] == n)
            return ew->sval[k];
    if (!loops_is_ewise(n))
        return NULL;
    ug_dtype ot = (ug_dtype)n->opty.dt;
    if (n->kind == N_UNARY) {
        LLVMValueRef v = loops_ew_elem(g, n->a, ew, idx, nd);
        return v ? loops_emit_unop(g, n->op, loops_emit_cast(g, v, (ug_dtype)n->a->ty.dt, ot), ot) : NULL;
    }
    if (n->kind == N_BINARY) {
        LLVMValueRef a = loops_ew_elem(g, n->a, ew, idx, nd), b = a ? loops_ew_elem(g, n->b, ew, idx, nd) : NULL;
        if (!b)
            return NULL;
        return loops_emit_binop(g, n->op, loops_emit_cast(g, a, (ug_dtype)n->a->ty.dt, ot),
                                loops_emit_cast(g, b, (ug_dtype)n->b->ty.dt, ot), ot);
    }
    if (n->kind == N_COMPARE) {
        ug_dtype ct = (ug_dtype)n->cmptys[0].dt;
        LLVMValueRef a = loops_ew_elem(g, n->kids[0], ew, idx, nd), b = a ? loops_ew_elem(g, n->kids[1], ew, idx, nd) : NULL;
        if (!b)
            return NULL;
        return loops_emit_compare(g, n->cmpops[0], loops_emit_cast(g, a, (ug_dtype)n->kids[0]->ty.dt, ct),
                                  loops_emit_cast(g, b, (ug_dtype)n->kids[1]->ty.dt, ct), ct);
    }
    LLVMValueRef args[16];
    if (n->nkids > 16)
        return NULL;
    if (n->builtin == B_WHERE) { /* np.where(c, x, y): both sides are plain values, select one */
        LLVMValueRef c = loops_ew_elem(g, n->kids[0], ew, idx, nd), x = c ? loops_ew_elem(g, n->kids[1], ew, idx, nd) : NULL,
                     y = x ? loops_ew_elem(g, n->kids[2], ew, idx, nd) : NULL;
        if (!y)
            return NULL;
        c = loops_emit_truth(g, c, (ug_dtype)n->kids[0]->ty.dt);
        return LLVMBuildSelect(g->B, c, loops_emit_cast(g, x, (ug_dtype)n->kids[1]->ty.dt, ot),
                               loops_emit_cast(g, y, (ug_dtype)n->kids[2]->ty.dt, ot), "where");
    }
    for (int k = 0; k < n->nkids; k++) {
        LLVMValueRef v = loops_ew_elem(g, n->kids[k], ew, idx, nd);
        if (!v)
            return NULL;
        args[k] = loops_emit_cast(g, v, (ug_dtype)n->kids[k]->ty.dt, ot);
    }
    return loops_emit_builtin(g, n->builtin, args, n->nkids, ot, (ug_dtype)n->ty.dt);
}

/* Whether a leaf may be read while dst is written: apart, or the very same
 * elements in the same order (a += 1, out[:] = out * 2). */
static LLVMValueRef leaf_safe(loops_gen *g, const loops_arr *dst, ug_dtype ddt, const loops_arr *src, ug_dtype sdt)
{
    LLVMValueRef dlo, dhi, slo, shi;
    span(g, dst, ddt, &dlo, &dhi);
    span(g, src, sdt, &slo, &shi);
    LLVMValueRef ok = LLVMBuildOr(g->B, LLVMBuildICmp(g->B, LLVMIntULE, dhi, slo, ""),
                                  LLVMBuildICmp(g->B, LLVMIntULE, shi, dlo, ""), "apart");
    if (src->ndim != dst->ndim || ug_dtype_size(sdt) != ug_dtype_size(ddt))
        return ok;
    LLVMValueRef same = LLVMBuildICmp(g->B, LLVMIntEQ, dst->base, src->base, "");
    for (int d = 0; d < dst->ndim; d++)
        same = LLVMBuildAnd(g->B, same, LLVMBuildICmp(g->B, LLVMIntEQ, dst->stride[d], src->stride[d], ""), "");
    return LLVMBuildOr(g->B, ok, same, "safe");
}

typedef struct store_ctx {
    const loops_arr *dst;
    ug_dtype ddt;
    const kernel_node *value;
    loops_ewise *ew;
    LLVMValueRef scalar; /* a scalar value (ew NULL) */
    int op;              /* 0: dst = value; else dst = dst op value in opty */
    ug_dtype opty;
    const loops_arr *mask; /* a[mask] = v: only where mask holds */
    const kernel_node *mnode;
    loops_ewise *mew;
} store_ctx;

static void store_one(loops_gen *g, LLVMValueRef *idx, void *p)
{
    store_ctx *c = p;
    LLVMBasicBlockRef skip = NULL;
    if (c->mnode) {
        LLVMValueRef m = loops_ew_elem(g, c->mnode, c->mew, idx, c->dst->ndim);
        LLVMBasicBlockRef yes = loops_block(g, "mask.set");
        skip = loops_block(g, "mask.next");
        LLVMBuildCondBr(g->B, loops_emit_truth(g, m, UG_BOOL), yes, skip);
        LLVMPositionBuilderAtEnd(g->B, yes);
    }
    LLVMValueRef v = c->scalar, at = loops_elem_at(g, c->dst, idx);
    ug_dtype vdt = c->ew ? (ug_dtype)c->value->ty.dt : (c->op ? c->opty : c->ddt);
    if (c->ew)
        v = loops_ew_elem(g, c->value, c->ew, idx, c->dst->ndim);
    if (c->op) {
        LLVMValueRef cur = loops_emit_cast(g, loops_load_elem(g, at, c->ddt), c->ddt, c->opty);
        v = loops_emit_binop(g, c->op, cur, loops_emit_cast(g, v, vdt, c->opty), c->opty);
        vdt = c->opty;
    }
    loops_store_elem(g, loops_emit_cast(g, v, vdt, c->ddt), at, c->ddt);
    if (skip) {
        LLVMBuildBr(g->B, skip);
        LLVMPositionBuilderAtEnd(g->B, skip);
    }
}

/* dst[...] = src of one dtype (broadcast to dst's shape already): one call
 * of rt_copy, which copies line by line and through a temporary where the
 * two overlap, as NumPy; in IR the copy and the temporary's path were
 * three loops over byte strides, each vectorised for a stride of one byte
 * (see fill_line). */
static void copy_call(loops_gen *g, const loops_arr *dst, const loops_arr *src, ug_dtype dt, int line)
{
    int nd = dst->ndim, off = dst->ndim - src->ndim;
    LLVMTypeRef at = LLVMArrayType2(g->i64, (unsigned)(nd > 0 ? nd : 1));
    LLVMValueRef sh = loops_entry_alloca(g, at, "copy.shape"), ds = loops_entry_alloca(g, at, "copy.dstride"),
                 ss = loops_entry_alloca(g, at, "copy.sstride");
    for (int d = 0; d < nd; d++) {
        LLVMValueRef ix[2] = {i64c(g, 0), i64c(g, d)};
        LLVMBuildStore(g->B, dst->shape[d], LLVMBuildInBoundsGEP2(g->B, at, sh, ix, 2, ""));
        LLVMBuildStore(g->B, dst->stride[d], LLVMBuildInBoundsGEP2(g->B, at, ds, ix, 2, ""));
        LLVMBuildStore(g->B, d < off ? i64c(g, 0) : src->stride[d - off], LLVMBuildInBoundsGEP2(g->B, at, ss, ix, 2, ""));
    }
    /* rt_copy(dst, shape, dstride, src, sstride, nd, size, kname, line): 0, or 1 after a MemoryError */
    LLVMTypeRef ps[9] = {g->ptr, g->ptr, g->ptr, g->ptr, g->ptr, g->i32, g->i64, g->ptr, g->i32};
    LLVMValueRef args[9] = {dst->base, sh, ds, src->base, ss, LLVMConstInt(g->i32, (unsigned)nd, 0),
                            i64c(g, (long long)ug_dtype_size(dt)),
                            LLVMBuildGlobalStringPtr(g->B, g->req->kname ? g->req->kname : g->fs->f->name, "kname"),
                            LLVMConstInt(g->i32, (unsigned)line, 0)};
    LLVMValueRef st = loops_rt_call(g, "rt_copy", g->i32, ps, args, 9, false);
    LLVMBasicBlockRef bad = loops_block(g, "copy.failed"), ok = loops_block(g, "copy.ok");
    LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntNE, st, LLVMConstInt(g->i32, 0, 0), ""), bad, ok);
    LLVMPositionBuilderAtEnd(g->B, bad);
    loops_fail_here(g);
    LLVMPositionBuilderAtEnd(g->B, ok);
}

/* A C-contiguous temporary of dst's shape holding value (its element dtype). */
static bool materialize_like(loops_gen *g, const loops_arr *shape_of, const kernel_node *value, loops_ewise *ew,
                             loops_arr *t, LLVMMetadataRef inner)
{
    ug_dtype vdt = (ug_dtype)value->ty.dt;
    *t = *shape_of;
    t->base = loops_alloc_block(g, shape_of->shape, shape_of->ndim, vdt, value->pos.line);
    LLVMValueRef st = i64c(g, (long long)ug_dtype_size(vdt));
    for (int d = shape_of->ndim - 1; d >= 0; d--) {
        t->stride[d] = st;
        st = LLVMBuildMul(g->B, st, shape_of->shape[d], "");
    }
    store_ctx c = {.dst = t, .ddt = vdt, .value = value, .ew = ew};
    nd_loop(g, t->ndim, t->shape, store_one, &c, inner);
    return true;
}

/* dst (op)= value, value a scalar or an array expression broadcast to dst. */
static ug_status store_into(loops_gen *g, const loops_arr *dst, ug_dtype ddt, const kernel_node *value, int op,
                            ug_dtype opty, const kernel_node *mask)
{
    store_ctx c = {.dst = dst, .ddt = ddt, .value = value, .op = op, .opty = opty};
    loops_ewise mew = {0};
    if (mask) {
        if (!loops_ew_collect(g, mask, &mew))
            return g->err->code;
        for (int k = 0; k < mew.n; k++)
            loops_broadcast_check(g, dst, &mew.arr[k], mask->pos.line);
        c.mnode = mask;
        c.mew = &mew;
    }
    if (value->ty.kind != KT_ARRAY) {
        if (!(c.scalar = loops_conv(g, value, op ? opty : ddt)))
            return g->err->code;
        if (!op && !mask && dst->ndim > 0 && by_runtime(g)) {
            fill_ctx f = {.dst = dst, .dt = ddt, .value = loops_entry_alloca(g, loops_mty(g, ddt), "fill.value")};
            loops_store_elem(g, c.scalar, f.value, ddt);
            loops_nd_loop(g, dst->ndim - 1, dst->shape, fill_line, &f);
            return UG_OK;
        }
        nd_loop(g, dst->ndim, dst->shape, store_one, &c, store_loop_id(g, dst, ddt));
        return UG_OK;
    }
    if (mask)
        return ew_unsupported(g, value, "a[mask] = <array> is not supported in kernels yet (a scalar value is)"),
               g->err->code;
    loops_ewise ew = {0};
    if (!loops_ew_collect(g, value, &ew))
        return g->err->code;
    if (!op && ew.n == 1 && ew.ns == 0 && ew.leaf[0] == value && (ug_dtype)value->ty.dt == ddt &&
        by_runtime(g)) { /* a plain copy */
        loops_broadcast_check(g, dst, &ew.arr[0], value->pos.line);
        copy_call(g, dst, &ew.arr[0], ddt, value->pos.line);
        return UG_OK;
    }
    LLVMValueRef safe = LLVMConstInt(g->i1, 1, 0);
    for (int k = 0; k < ew.n; k++) {
        loops_broadcast_check(g, dst, &ew.arr[k], value->pos.line);
        safe = LLVMBuildAnd(g->B, safe, leaf_safe(g, dst, ddt, &ew.arr[k], (ug_dtype)ew.leaf[k]->ty.dt), "");
    }
    c.ew = &ew;
    LLVMBasicBlockRef direct = loops_block(g, "store.direct"), via = loops_block(g, "store.temp"),
                      end = loops_block(g, "store.end");
    LLVMBuildCondBr(g->B, safe, direct, via);
    LLVMPositionBuilderAtEnd(g->B, direct);
    nd_loop(g, dst->ndim, dst->shape, store_one, &c, store_loop_id(g, dst, ddt));
    LLVMBuildBr(g->B, end);
    LLVMPositionBuilderAtEnd(g->B, via); /* the value read whole into a temporary first */
    loops_arr t;
    materialize_like(g, dst, value, &ew, &t, store_loop_id(g, dst, ddt)); /* only where they overlap: rare */
    loops_ewise tw = {.n = 1}; /* the temporary stands for the whole value */
    tw.leaf[0] = value;
    tw.arr[0] = t;
    c.ew = &tw;
    nd_loop(g, dst->ndim, dst->shape, store_one, &c, store_loop_id(g, dst, ddt));
    LLVMBuildBr(g->B, end);
    LLVMPositionBuilderAtEnd(g->B, end);
    return UG_OK;
}

/* out[...] = np.sort(x), both 1-d of one dtype: where out is contiguous and
 * x is a contiguous array of out's length, rt_sort_copy reads x and writes
 * out (its first split reads x: no copy pass); where only out is, x is
 * stored into out (the general store: broadcasting check, overlap) and
 * sorted there, with no temporary; elsewhere the general store of the
 * sorted copy. The same sort each way (runtime/sort.c), so the same bits. */
static ug_status sort_into(loops_gen *g, const loops_arr *dst, ug_dtype ddt, const kernel_node *value)
{
    LLVMValueRef contig = LLVMBuildICmp(g->B, LLVMIntEQ, dst->stride[0], i64c(g, (long long)ug_dtype_size(ddt)), "");
    LLVMBasicBlockRef here = loops_block(g, "sort.inplace"), copy = loops_block(g, "sort.copy"),
                      end = loops_block(g, "sort.end");
    const kernel_node *x = value->kids[0];
    loops_arr src;
    if (x->kind == N_NAME && x->ty.ndim == 1 && loops_arr_eval(g, x, &src)) { /* read where it is, if contiguous */
        LLVMBasicBlockRef fused = loops_block(g, "sort.from");
        LLVMValueRef size = i64c(g, (long long)ug_dtype_size(ddt));
        LLVMValueRef ok = LLVMBuildAnd(g->B, LLVMBuildICmp(g->B, LLVMIntEQ, src.stride[0], size, ""),
                                       LLVMBuildICmp(g->B, LLVMIntEQ, src.shape[0], dst->shape[0], ""), "");
        LLVMBuildCondBr(g->B, LLVMBuildAnd(g->B, contig, ok, ""), fused, here);
        LLVMPositionBuilderAtEnd(g->B, fused);
        LLVMTypeRef ps[4] = {g->ptr, g->ptr, g->i64, g->i32};
        LLVMValueRef args[4] = {src.base, dst->base, dst->shape[0], LLVMConstInt(g->i32, (unsigned long long)ddt, 0)};
        loops_rt_call(g, "rt_sort_copy", g->vd, ps, args, 4, false);
        LLVMBuildBr(g->B, end);
        LLVMBasicBlockRef test = loops_block(g, "sort.contig");
        LLVMPositionBuilderAtEnd(g->B, here);
        LLVMBuildCondBr(g->B, contig, test, copy);
        here = test;
    } else {
        LLVMBuildCondBr(g->B, contig, here, copy);
    }
    LLVMPositionBuilderAtEnd(g->B, here);
    ug_status st = store_into(g, dst, ddt, x, 0, UG_DTYPE_NONE, NULL);
    if (st != UG_OK)
        return st;
    loops_emit_sort(g, dst->base, dst->shape[0], ddt);
    LLVMBuildBr(g->B, end);
    LLVMPositionBuilderAtEnd(g->B, copy);
    if ((st = store_into(g, dst, ddt, value, 0, UG_DTYPE_NONE, NULL)) != UG_OK)
        return st;
    LLVMBuildBr(g->B, end);
    LLVMPositionBuilderAtEnd(g->B, end);
    return UG_OK;
}

ug_status loops_slice_store(loops_gen *g, const kernel_node *target, const kernel_node *value)
{
    loops_arr dst;
    if (target->opty.kind == KT_ARRAY) { /* a[mask] = v */
        if (!loops_arr_eval(g, target->a, &dst))
            return g->err->code;
        return store_into(g, &dst, (ug_dtype)target->ty.dt, value, 0, UG_DTYPE_NONE, target->kids[0]);
    }
    if (!view_of(g, target, &dst))
        return g->err->code;
    ug_dtype ddt = (ug_dtype)target->ty.dt;
    if (value->kind == N_CALL && value->builtin == B_SORT && value->nkids == 1 && dst.ndim == 1 &&
        value->ty.ndim == 1 && (ug_dtype)value->ty.dt == ddt && value->kids[0]->ty.kind == KT_ARRAY &&
        (ug_dtype)value->kids[0]->ty.dt == ddt)
        return sort_into(g, &dst, ddt, value);
    return store_into(g, &dst, ddt, value, 0, UG_DTYPE_NONE, NULL);
}

ug_status loops_slice_augassign(loops_gen *g, const kernel_node *n)
{
    const kernel_node *t = n->kids[0];
    bool masked = t->kind == N_INDEX && t->opty.kind == KT_ARRAY; /* a[mask] += v */
    loops_arr dst;
    if (!loops_arr_eval(g, masked ? t->a : t, &dst))
        return g->err->code;
    return store_into(g, &dst, (ug_dtype)t->ty.dt, n->b, n->op, (ug_dtype)n->opty.dt, masked ? t->kids[0] : NULL);
}

/* The broadcast shape of an element-wise expression n whose leaves are in
 * ew (each leaf's strides are set for it). */
void loops_ew_broadcast(loops_gen *g, const kernel_node *n, loops_ewise *ew, loops_arr *shape_out)
{
    if (ew->n == 1 && ew->arr[0].ndim == n->ty.ndim) { /* one array: its own shape, nothing to check */
        *shape_out = ew->arr[0];
        return;
    }
    loops_arr shape = {.ndim = n->ty.ndim};
    for (int d = 0; d < shape.ndim; d++) { /* the broadcast size: a leaf's size unless it is 1 */
        shape.shape[d] = i64c(g, 1);
        for (int k = 0; k < ew->n; k++) {
            int ld = d - (shape.ndim - ew->arr[k].ndim);
            if (ld < 0)
                continue;
            LLVMValueRef s = ew->arr[k].shape[ld];
            shape.shape[d] = LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, LLVMIntEQ, s, i64c(g, 1), ""),
                                             shape.shape[d], s, "bshape");
        }
    }
    for (int k = 0; k < ew->n; k++)
        loops_broadcast_check(g, &shape, &ew->arr[k], n->pos.line);
    *shape_out = shape;
}

/* An element-wise expression (or any array value) kept as a value: a new
 * C-contiguous array of the operands' broadcast shape. */
static bool materialize(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    loops_ewise ew = {0};
    loops_arr shape;
    if (!loops_ew_collect(g, n, &ew))
        return false;
    loops_ew_broadcast(g, n, &ew, &shape);
    return materialize_like(g, &shape, n, &ew, out, NULL);
}

bool loops_ew_copy(loops_gen *g, const kernel_node *n, loops_ewise *ew, loops_arr *out)
{
    loops_arr shape;
    loops_ew_broadcast(g, n, ew, &shape);
    return materialize_like(g, &shape, n, ew, out, NULL);
}

/* The call only where a block was taken: a kernel that may allocate often
 * does not (a gufunc row whose reduction needs no copy), and the call per
 * row cost more than the row's work (argmax stopping at an early NaN). */
void loops_free_frame(loops_gen *g)
{
    if (!g->fs->frame)
        return;
    LLVMBasicBlockRef some = loops_block(g, "frame.free"), done = loops_block(g, "frame.done");
    LLVMValueRef head = LLVMBuildLoad2(g->B, g->ptr, g->fs->frame, "frame.head");
    LLVMBuildCondBr(g->B, LLVMBuildIsNotNull(g->B, head, ""), some, done);
    LLVMPositionBuilderAtEnd(g->B, some);
    LLVMTypeRef ps[1] = {g->ptr};
    loops_rt_call(g, "rt_free_frame", g->vd, ps, &g->fs->frame, 1, false);
    LLVMBuildBr(g->B, done);
    LLVMPositionBuilderAtEnd(g->B, done);
}
