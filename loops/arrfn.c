/* arrfn.c — array functions whose result is a new array: np.sort, argsort,
 * partition, unique, [x, y] and np.array, a.copy(), a.astype(), cumsum
 * and cumprod (flat or along an axis), diff (along an axis), np.dot / @
 * with a matrix, np.outer, a[mask] and a[indices] as values; and the
 * statements a.sort() and a.fill(v).
 *
 * Requires: a typed kernel ("Array functions" in kernel.h), arrays.c's
 * element-wise machinery and local-array blocks, sort.c at run time. Every
 * result is a C-contiguous local array (freed with the function's frame);
 * element-wise operands are computed straight into it. Sorting follows
 * NumPy's order (NaN last; complex values lexicographic, sort.c). np.dot
 * and np.outer are plain loops in the promoted dtype (NumPy calls BLAS for
 * float32, float64 and complex, whose summation order differs: results
 * agree to rounding, not bit for bit; float16 ones are NumPy's bit for bit,
 * summed in float32 and rounded once; an outer product is one multiply per
 * element, NumPy's).
 */
#include <string.h>

#include "base/base.h"
#include "loops/gen.h"

static LLVMValueRef i64c(loops_gen *g, long long v) { return LLVMConstInt(g->i64, (unsigned long long)v, 1); }
static LLVMValueRef i32c(loops_gen *g, int v) { return LLVMConstInt(g->i32, (unsigned)v, 0); }

/* A new C-contiguous array of dtype dt and shape dims[0..nd-1]. */
static void new_block(loops_gen *g, const LLVMValueRef *dims, int nd, ug_dtype dt, int line, loops_arr *out)
{
    out->ndim = nd;
    out->base = loops_alloc_block(g, dims, nd, dt, line);
    LLVMValueRef st = i64c(g, (long long)ug_dtype_size(dt));
    for (int d = nd - 1; d >= 0; d--) {
        out->shape[d] = dims[d];
        out->stride[d] = st;
        st = LLVMBuildMul(g->B, st, dims[d], "");
    }
}

static LLVMValueRef size_of(loops_gen *g, const loops_arr *a)
{
    LLVMValueRef n = i64c(g, 1);
    for (int d = 0; d < a->ndim; d++)
        n = LLVMBuildMul(g->B, n, a->shape[d], "size");
    return n;
}

static LLVMValueRef at1(loops_gen *g, LLVMValueRef p, LLVMValueRef i, ug_dtype dt)
{
    return LLVMBuildInBoundsGEP2(g->B, loops_mty(g, dt), p, &i, 1, "");
}

/* ----------------------------------------------------------------- copies */

typedef struct copy_ctx {
    const kernel_node *x;
    loops_ewise *ew;
    const loops_arr *out;
    ug_dtype dt;
} copy_ctx;

static void copy_one(loops_gen *g, LLVMValueRef *idx, void *p)
{
    copy_ctx *c = p;
    LLVMValueRef v = loops_ew_elem(g, c->x, c->ew, idx, c->out->ndim);
    loops_store_elem(g, loops_emit_cast(g, v, (ug_dtype)c->x->ty.dt, c->dt), loops_elem_at(g, c->out, idx), c->dt);
}

/* x (any array value, element-wise expressions fused) copied from its
 * collected leaves ew into a new C-contiguous array of dtype dt. */
static void copy_collected(loops_gen *g, const kernel_node *x, loops_ewise *ew, ug_dtype dt, int line, loops_arr *out)
{
    loops_arr shape;
    loops_ew_broadcast(g, x, ew, &shape);
    new_block(g, shape.shape, shape.ndim, dt, line, out);
    copy_ctx c = {.x = x, .ew = ew, .out = out, .dt = dt};
    loops_nd_loop(g, out->ndim, out->shape, copy_one, &c);
}

/* The same, the leaves collected here (NumPy's astype, 'unsafe'). */
static bool copy_as(loops_gen *g, const kernel_node *x, ug_dtype dt, int line, loops_arr *out)
{
    loops_ewise ew = {0};
    if (!loops_ew_collect(g, x, &ew))
        return false;
    copy_collected(g, x, &ew, dt, line, out);
    return true;
}

/* The same, seen as 1-d (C order). */
static bool flat_copy(loops_gen *g, const kernel_node *x, ug_dtype dt, int line, loops_arr *out)
{
    loops_arr c;
    if (!copy_as(g, x, dt, line, &c))
        return false;
    *out = (loops_arr){.base = c.base, .ndim = 1};
    out->shape[0] = size_of(g, &c);
    out->stride[0] = i64c(g, (long long)ug_dtype_size(dt));
    return true;
}

/* [x, y, ...]: a new 1-d array. */
static bool list_value(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    ug_dtype dt = (ug_dtype)n->opty.dt;
    LLVMValueRef len = i64c(g, n->nkids);
    new_block(g, &len, 1, dt, n->pos.line, out);
    for (int k = 0; k < n->nkids; k++) {
        LLVMValueRef v = loops_conv(g, n->kids[k], dt);
        if (!v)
            return false;
        loops_store_elem(g, v, at1(g, out->base, i64c(g, k), dt), dt);
    }
    return true;
}

/* -------------------------------------------------------------- sorting */

void loops_emit_sort(loops_gen *g, LLVMValueRef p, LLVMValueRef n, ug_dtype dt)
{
    LLVMTypeRef ps[3] = {g->ptr, g->i64, g->i32};
    LLVMValueRef args[3] = {p, n, i32c(g, (int)dt)};
    loops_rt_call(g, "rt_sort", g->vd, ps, args, 3, false);
}

/* np.partition(a, kth): kth an int or a 1-d int array, each wrapped once
 * and checked (ValueError as NumPy's), then sort.c selects. */
static bool partition(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    ug_dtype dt = (ug_dtype)n->opty.dt;
    if (!copy_as(g, n->kids[0], dt, n->pos.line, out))
        return false;
    LLVMValueRef len = out->shape[0], nk, kbuf;
    const kernel_node *kn = n->b;
    if (kn->ty.kind == KT_ARRAY) {
        loops_arr kc;
        if (!flat_copy(g, kn, UG_INT64, kn->pos.line, &kc))
            return false;
        nk = kc.shape[0];
        kbuf = kc.base;
    } else {
        LLVMValueRef one = i64c(g, 1), k = loops_conv(g, kn, UG_INT64);
        if (!k)
            return false;
        kbuf = loops_alloc_block(g, &one, 1, UG_INT64, kn->pos.line);
        LLVMBuildStore(g->B, k, kbuf);
        nk = one;
    }
    loops_counted c;
    LLVMValueRef j = loops_count_begin(g, &c, nk);
    LLVMValueRef p = at1(g, kbuf, j, UG_INT64), k = LLVMBuildLoad2(g->B, g->i64, p, "kth");
    k = LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, LLVMIntSLT, k, i64c(g, 0), ""), LLVMBuildAdd(g->B, k, len, ""), k, "");
    loops_raise_if(g, LLVMBuildICmp(g->B, LLVMIntUGE, k, len, ""), "ValueError", "kth out of bounds in partition()",
            kn->pos.line);
    LLVMBuildStore(g->B, k, p);
    loops_count_end(g, &c, NULL);
    LLVMTypeRef ps[5] = {g->ptr, g->i64, g->i32, g->ptr, g->i64};
    LLVMValueRef args[5] = {out->base, len, i32c(g, (int)dt), kbuf, nk};
    loops_rt_call(g, "rt_partition", g->vd, ps, args, 5, false);
    return true;
}

/* The rows (every line along the last axis) of a C-contiguous array a:
 * row k starts at a.base + k * rowbytes. Returns the count of rows. */
static LLVMValueRef rows_of(loops_gen *g, const loops_arr *a, ug_dtype dt, LLVMValueRef *rowbytes)
{
    LLVMValueRef rows = i64c(g, 1);
    for (int d = 0; d + 1 < a->ndim; d++)
        rows = LLVMBuildMul(g->B, rows, a->shape[d], "rows");
    *rowbytes = LLVMBuildMul(g->B, a->shape[a->ndim - 1], i64c(g, (long long)ug_dtype_size(dt)), "");
    return rows;
}

/* np.sort(a): a sorted copy, each row along the last axis. */
static bool sort_rows(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    ug_dtype dt = (ug_dtype)n->opty.dt;
    if (!copy_as(g, n->kids[0], dt, n->pos.line, out))
        return false;
    LLVMValueRef rb, rows = rows_of(g, out, dt, &rb);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, rows), off = LLVMBuildMul(g->B, k, rb, "");
    loops_emit_sort(g, LLVMBuildGEP2(g->B, g->i8, out->base, &off, 1, ""), out->shape[out->ndim - 1], dt);
    loops_count_end(g, &c, NULL);
    return true;
}

/* np.argsort(a): the stable sorting permutation (int64) of each row. */
static bool argsort(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    const kernel_node *x = n->kids[0];
    ug_dtype dt = (ug_dtype)x->ty.dt;
    loops_arr a;
    if (!copy_as(g, x, dt, n->pos.line, &a))
        return false;
    int last = a.ndim - 1;
    new_block(g, a.shape, a.ndim, UG_INT64, n->pos.line, out);
    LLVMValueRef tmp = loops_alloc_block(g, &a.shape[last], 1, UG_INT64, n->pos.line);
    LLVMValueRef rb, ob, rows = rows_of(g, &a, dt, &rb);
    rows_of(g, out, UG_INT64, &ob);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, rows);
    LLVMValueRef ao = LLVMBuildMul(g->B, k, rb, ""), oo = LLVMBuildMul(g->B, k, ob, "");
    LLVMTypeRef ps[6] = {g->ptr, g->i64, g->i64, g->i32, g->ptr, g->ptr};
    LLVMValueRef args[6] = {LLVMBuildGEP2(g->B, g->i8, a.base, &ao, 1, ""), a.stride[last], a.shape[last],
                            i32c(g, (int)dt), LLVMBuildGEP2(g->B, g->i8, out->base, &oo, 1, ""), tmp};
    loops_rt_call(g, "rt_argsort", g->vd, ps, args, 6, false);
    loops_count_end(g, &c, NULL);
    return true;
}

/* np.unique(a): sorted distinct values of the flattened array. */
static bool unique(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    ug_dtype dt = (ug_dtype)n->opty.dt;
    if (!flat_copy(g, n->kids[0], dt, n->pos.line, out))
        return false;
    LLVMTypeRef ps[3] = {g->ptr, g->i64, g->i32};
    LLVMValueRef args[3] = {out->base, out->shape[0], i32c(g, (int)dt)};
    out->shape[0] = loops_rt_call(g, "rt_unique", g->i64, ps, args, 3, false);
    return true;
}

/* ------------------------------------------------------- running values */

/* NumPy's complex multiply as its accumulate runs it: the loop's input
 * overlaps its output past one product, so NumPy's scalar loop, products
 * not fused, ar*br - ai*bi and ar*bi + ai*br; one product (a line of 2)
 * is the SIMD loop's, fused as a complex * anywhere. */
static LLVMValueRef accumulate_cmul(loops_gen *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef fused, ug_dtype T)
{
    ug_dtype pt = base_dtype_part(T);
    LLVMValueRef ar = loops_re(g, a), ai = loops_im(g, a), br = loops_re(g, b), bi = loops_im(g, b);
#define MUL(x, y) loops_emit_binop(g, TK_STAR, x, y, pt)
    LLVMValueRef re = loops_emit_binop(g, TK_MINUS, MUL(ar, br), MUL(ai, bi), pt);
    LLVMValueRef im = loops_emit_binop(g, TK_PLUS, MUL(ar, bi), MUL(ai, br), pt);
#undef MUL
    return LLVMBuildSelect(g->B, fused, loops_emit_binop(g, TK_STAR, a, b, T), loops_complex(g, T, re, im), "");
}

/* Whether NumPy's accumulate multiplies a line of len complex values as a
 * complex * (its SIMD loop): a line of two, unless complex64 values run
 * backwards along it (its operand a plain array with a negative stride
 * there; a computed operand is a new array), which NumPy 2.1 and 2.4 both
 * multiply in their scalar loop. ew holds x's collected leaves. */
static LLVMValueRef simd_product(loops_gen *g, const kernel_node *x, const loops_ewise *ew, int axis, LLVMValueRef len,
                                 ug_dtype T)
{
    LLVMValueRef two = LLVMBuildICmp(g->B, LLVMIntEQ, len, i64c(g, 2), "");
    if (T != UG_COMPLEX64 || x->ty.dt != UG_COMPLEX64 || ew->n != 1 || ew->leaf[0] != x)
        return two;
    LLVMValueRef fwd = LLVMBuildICmp(g->B, LLVMIntSGE, ew->arr[0].stride[axis], i64c(g, 0), "");
    return LLVMBuildAnd(g->B, two, fwd, "");
}

/* The step of a running value: r (the value so far) with x. */
static LLVMValueRef running_step(loops_gen *g, int b, LLVMValueRef r, LLVMValueRef x, LLVMValueRef fused, ug_dtype T)
{
    if (b != B_CUMPROD)
        return loops_emit_binop(g, TK_PLUS, r, x, T);
    if (base_dtype_kind(T) == BASE_KIND_COMPLEX)
        return accumulate_cmul(g, r, x, fused, T);
    return loops_emit_binop(g, TK_STAR, r, x, T);
}

/* cumsum / cumprod of the flattened array, sequential as NumPy's accumulate
 * (the first value copied, not added to 0 or multiplied by 1: a -0.0 stays,
 * a complex infinity makes no NaN). */
static bool cumulate_flat(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    ug_dtype T = (ug_dtype)n->opty.dt;
    const kernel_node *x = n->kids[0];
    loops_ewise ew = {0};
    loops_arr src;
    if (x->ty.ndim == 1) { /* read the operand straight into the running values */
        if (!loops_ew_collect(g, x, &ew))
            return false;
        loops_ew_broadcast(g, x, &ew, &src);
        new_block(g, src.shape, 1, T, n->pos.line, out);
    } else if (!flat_copy(g, x, T, n->pos.line, out)) { /* NumPy's ravel: a new array where it is not contiguous */
        return false;
    }
    LLVMValueRef fused = x->ty.ndim == 1 ? simd_product(g, x, &ew, 0, out->shape[0], T)
                                         : LLVMBuildICmp(g->B, LLVMIntEQ, out->shape[0], i64c(g, 2), "");
    LLVMValueRef acc = loops_entry_alloca(g, loops_vty(g, T), "running");
    LLVMBuildStore(g->B, loops_emit_cast(g, i64c(g, n->builtin == B_CUMPROD), UG_INT64, T), acc);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, out->shape[0]);
    LLVMValueRef p = at1(g, out->base, k, T);
    LLVMValueRef x_k = x->ty.ndim == 1 ? loops_emit_cast(g, loops_ew_elem(g, x, &ew, &k, 1), (ug_dtype)x->ty.dt, T)
                                       : loops_load_elem(g, p, T);
    LLVMValueRef r = LLVMBuildLoad2(g->B, loops_vty(g, T), acc, "");
    LLVMValueRef v = running_step(g, n->builtin, r, x_k, fused, T);
    v = LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, LLVMIntEQ, k, i64c(g, 0), ""), x_k, v, "");
    LLVMBuildStore(g->B, v, acc);
    loops_store_elem(g, v, p, T);
    loops_count_end(g, &c, NULL);
    return true;
}

/* A pass over the pairs (a[idx], a[idx + 1 along axis]) of a C-contiguous
 * array a, in C order: each pair's second element comes after its first. */
typedef struct pair_ctx {
    const loops_arr *a, *out;
    int axis, b;
    ug_dtype dt;
    LLVMValueRef fused; /* cumprod of complex: see simd_product */
} pair_ctx;

static void pair_one(loops_gen *g, LLVMValueRef *idx, void *p)
{
    pair_ctx *c = p;
    LLVMValueRef next[UG_MAXDIMS];
    memcpy(next, idx, sizeof(LLVMValueRef) * (size_t)c->a->ndim);
    next[c->axis] = LLVMBuildAdd(g->B, idx[c->axis], i64c(g, 1), "");
    LLVMValueRef q = loops_elem_at(g, c->a, next);
    LLVMValueRef x = loops_load_elem(g, loops_elem_at(g, c->a, idx), c->dt), y = loops_load_elem(g, q, c->dt);
    if (c->b == B_DIFF) /* out[idx] = a[idx + 1] - a[idx] (bool: !=) */
        loops_store_elem(g, c->dt == UG_BOOL ? LLVMBuildXor(g->B, x, y, "") : loops_emit_binop(g, TK_MINUS, y, x, c->dt),
                         loops_elem_at(g, c->out, idx), c->dt);
    else /* in place: a[idx + 1] = a[idx] op a[idx + 1] */
        loops_store_elem(g, running_step(g, c->b, x, y, c->fused, c->dt), q, c->dt);
}

/* a's shape with one less along axis (never below 0): its pairs' count. */
static void one_shorter(loops_gen *g, const loops_arr *a, int axis, LLVMValueRef *dims)
{
    memcpy(dims, a->shape, sizeof(LLVMValueRef) * (size_t)a->ndim);
    LLVMValueRef m = LLVMBuildSub(g->B, dims[axis], i64c(g, 1), "");
    dims[axis] = LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, LLVMIntSLT, m, i64c(g, 0), ""), i64c(g, 0), m, "pairs");
}

/* Run pair_one over every pair along the axis: len - 1 of them per line. */
static void pairs(loops_gen *g, pair_ctx *c)
{
    LLVMValueRef dims[UG_MAXDIMS];
    one_shorter(g, c->a, c->axis, dims);
    loops_nd_loop(g, c->a->ndim, dims, pair_one, c);
}

/* cumsum / cumprod along an axis (.ival), or flat. Along an axis each line
 * runs as NumPy's accumulate runs it: the first value copied, then each the
 * one before it op the next, in the result dtype. */
static bool cumulate(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    if (n->ival < 0)
        return cumulate_flat(g, n, out);
    ug_dtype T = (ug_dtype)n->opty.dt;
    const kernel_node *x = n->kids[0];
    int ax = (int)n->ival;
    loops_ewise ew = {0};
    if (!loops_ew_collect(g, x, &ew))
        return false;
    copy_collected(g, x, &ew, T, n->pos.line, out);
    pair_ctx c = {.a = out, .out = out, .axis = ax, .b = n->builtin, .dt = T};
    c.fused = simd_product(g, x, &ew, ax, out->shape[ax], T);
    pairs(g, &c);
    return true;
}

/* np.diff(a, n, axis): n rounds of a[i + 1] - a[i] along the axis (bool:
 * !=), each into a new array one shorter there (never below 0). */
static bool diff(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    ug_dtype dt = (ug_dtype)n->opty.dt;
    int ax = (int)n->ival;
    if (!copy_as(g, n->kids[0], dt, n->pos.line, out))
        return false;
    for (int r = 0; r < (int)n->fval; r++) {
        loops_arr a = *out;
        LLVMValueRef dims[UG_MAXDIMS];
        one_shorter(g, &a, ax, dims);
        new_block(g, dims, a.ndim, dt, n->pos.line, out);
        pair_ctx c = {.a = &a, .out = out, .axis = ax, .b = B_DIFF, .dt = dt};
        pairs(g, &c);
    }
    return true;
}

/* ---------------------------------------------------------------- linalg */

static bool operand(loops_gen *g, const kernel_node *x, loops_arr *a)
{
    return loops_is_ewise(x) ? copy_as(g, x, (ug_dtype)x->ty.dt, x->pos.line, a) : loops_arr_eval(g, x, a);
}

/* a @ b with a matrix: (m,k)(k) -> (m), (k)(k,n) -> (n), (m,k)(k,n) -> (m,n).
 * Each element a sum of products in order, in the promoted dtype T (complex:
 * NumPy's complex multiply); float16 as NumPy's HALF_dot and half matmul
 * loop: products and sum in float32, rounded to float16 once. */
static bool matmul(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    LLVMBuilderRef B = g->B;
    ug_dtype T = (ug_dtype)n->opty.dt, ad = (ug_dtype)n->kids[0]->ty.dt, bd = (ug_dtype)n->kids[1]->ty.dt;
    ug_dtype A = T == UG_FLOAT16 ? UG_FLOAT32 : T; /* the accumulator */
    loops_arr a, b;
    if (!operand(g, n->kids[0], &a) || !operand(g, n->kids[1], &b))
        return false;
    LLVMValueRef one = i64c(g, 1);
    /* as (m,k) and (k,n) with unit axes where an operand is a vector */
    LLVMValueRef m = a.ndim == 2 ? a.shape[0] : one, ka = a.shape[a.ndim - 1];
    LLVMValueRef kb = b.shape[0], nn = b.ndim == 2 ? b.shape[1] : one;
    LLVMValueRef ars = a.ndim == 2 ? a.stride[0] : i64c(g, 0), acs = a.stride[a.ndim - 1];
    LLVMValueRef brs = b.stride[0], bcs = b.ndim == 2 ? b.stride[1] : i64c(g, 0);
    loops_raise_if(g, LLVMBuildICmp(B, LLVMIntNE, ka, kb, ""), "ValueError", "shapes not aligned in dot()", n->pos.line);
    LLVMValueRef dims[2];
    int nd = 0;
    if (a.ndim == 2)
        dims[nd++] = m;
    if (b.ndim == 2)
        dims[nd++] = nn;
    new_block(g, dims, nd, T, n->pos.line, out);
    LLVMValueRef ocs = i64c(g, (long long)ug_dtype_size(T)), ors = LLVMBuildMul(B, ocs, nn, "");
    loops_counted ci, cj, ck;
    LLVMValueRef i = loops_count_begin(g, &ci, m), j = loops_count_begin(g, &cj, nn);
    LLVMValueRef acc = loops_entry_alloca(g, loops_vty(g, A), "dot");
    LLVMBuildStore(B, loops_emit_cast(g, i64c(g, 0), UG_INT64, A), acc);
    LLVMValueRef k = loops_count_begin(g, &ck, ka);
    LLVMValueRef ao = LLVMBuildAdd(B, LLVMBuildMul(B, i, ars, ""), LLVMBuildMul(B, k, acs, ""), "");
    LLVMValueRef bo = LLVMBuildAdd(B, LLVMBuildMul(B, k, brs, ""), LLVMBuildMul(B, j, bcs, ""), "");
    LLVMValueRef x = loops_emit_cast(g, loops_load_elem(g, LLVMBuildGEP2(B, g->i8, a.base, &ao, 1, ""), ad), ad, A);
    LLVMValueRef y = loops_emit_cast(g, loops_load_elem(g, LLVMBuildGEP2(B, g->i8, b.base, &bo, 1, ""), bd), bd, A);
    LLVMBuildStore(B, loops_emit_binop(g, TK_PLUS, LLVMBuildLoad2(B, loops_vty(g, A), acc, ""),
                                       loops_emit_binop(g, TK_STAR, x, y, A), A), acc);
    loops_count_end(g, &ck, NULL);
    LLVMValueRef oo = LLVMBuildAdd(B, LLVMBuildMul(B, i, ors, ""), LLVMBuildMul(B, j, ocs, ""), "");
    LLVMValueRef r = loops_emit_cast(g, LLVMBuildLoad2(B, loops_vty(g, A), acc, ""), A, T);
    loops_store_elem(g, r, LLVMBuildGEP2(B, g->i8, out->base, &oo, 1, ""), T);
    loops_count_end(g, &cj, NULL);
    loops_count_end(g, &ci, NULL);
    return true;
}

/* np.outer(a, b): a.ravel()[i] * b.ravel()[j]. */
static bool outer(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    ug_dtype T = (ug_dtype)n->opty.dt;
    loops_arr a, b;
    if (!flat_copy(g, n->kids[0], T, n->pos.line, &a) || !flat_copy(g, n->kids[1], T, n->pos.line, &b))
        return false;
    LLVMValueRef dims[2] = {a.shape[0], b.shape[0]};
    new_block(g, dims, 2, T, n->pos.line, out);
    loops_counted ci, cj;
    LLVMValueRef i = loops_count_begin(g, &ci, dims[0]), j = loops_count_begin(g, &cj, dims[1]);
    LLVMValueRef x = loops_load_elem(g, at1(g, a.base, i, T), T), y = loops_load_elem(g, at1(g, b.base, j, T), T);
    LLVMValueRef ij[2] = {i, j};
    loops_store_elem(g, loops_emit_binop(g, TK_STAR, x, y, T), loops_elem_at(g, out, ij), T);
    loops_count_end(g, &cj, NULL);
    loops_count_end(g, &ci, NULL);
    return true;
}

/* ------------------------------------------------------- a[mask], a[idx] */

typedef struct mask_ctx {
    const loops_arr *a;
    ug_dtype dt;
    const kernel_node *mask;
    loops_ewise *mew;
    LLVMValueRef count; /* alloca: elements taken so far */
    LLVMValueRef dst;   /* NULL: count only */
} mask_ctx;

static void mask_one(loops_gen *g, LLVMValueRef *idx, void *p)
{
    mask_ctx *c = p;
    LLVMValueRef m = loops_emit_truth(g, loops_ew_elem(g, c->mask, c->mew, idx, c->a->ndim),
                                      (ug_dtype)c->mask->ty.dt);
    LLVMValueRef k = LLVMBuildLoad2(g->B, g->i64, c->count, "");
    if (c->dst) { /* written unconditionally, kept only where the mask holds */
        LLVMValueRef v = loops_load_elem(g, loops_elem_at(g, c->a, idx), c->dt);
        loops_store_elem(g, v, at1(g, c->dst, k, c->dt), c->dt);
    }
    LLVMBuildStore(g->B, LLVMBuildAdd(g->B, k, LLVMBuildZExt(g->B, m, g->i64, ""), ""), c->count);
}

/* a[mask] (the elements where mask holds, C order) or a[idx] (1-d a,
 * indices wrapped once and checked: IndexError as NumPy's). */
bool loops_gather(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    ug_dtype dt = (ug_dtype)n->ty.dt;
    loops_arr a;
    if (!loops_arr_eval(g, n->a, &a))
        return false;
    const kernel_node *ix = n->kids[0];
    if (ix->ty.dt != UG_BOOL) {
        loops_arr ia;
        if (!operand(g, ix, &ia))
            return false;
        new_block(g, ia.shape, 1, dt, n->pos.line, out);
        loops_counted c;
        LLVMValueRef k = loops_count_begin(g, &c, ia.shape[0]);
        ug_dtype idt = (ug_dtype)ix->ty.dt;
        LLVMValueRef i = loops_emit_cast(g, loops_load_elem(g, loops_elem_at(g, &ia, &k), idt), idt, UG_INT64);
        i = loops_index_always(g, n->a->kind == N_NAME ? (n->a->symkind == SYM_PARAM ? g->fs->f->params[n->a->index].name
                                                                                       : g->fs->f->locals[n->a->index].name)
                                                       : "array",
                               0, i, a.shape[0]);
        loops_store_elem(g, loops_load_elem(g, loops_elem_at(g, &a, &i), dt), at1(g, out->base, k, dt), dt);
        loops_count_end(g, &c, NULL);
        return true;
    }
    loops_ewise mew = {0};
    if (!loops_ew_collect(g, ix, &mew))
        return false;
    for (int k = 0; k < mew.n; k++)
        loops_broadcast_check(g, &a, &mew.arr[k], ix->pos.line);
    LLVMValueRef cnt = loops_entry_alloca(g, g->i64, "masked");
    LLVMBuildStore(g->B, i64c(g, 0), cnt);
    mask_ctx c = {.a = &a, .dt = dt, .mask = ix, .mew = &mew, .count = cnt};
    loops_nd_loop(g, a.ndim, a.shape, mask_one, &c); /* count, then copy */
    LLVMValueRef total = LLVMBuildLoad2(g->B, g->i64, cnt, "");
    LLVMValueRef room = LLVMBuildAdd(g->B, total, i64c(g, 1), ""); /* one spare: the last store is unconditional */
    new_block(g, &room, 1, dt, n->pos.line, out);
    out->shape[0] = total;
    LLVMBuildStore(g->B, i64c(g, 0), cnt);
    c.dst = out->base;
    loops_nd_loop(g, a.ndim, a.shape, mask_one, &c);
    return true;
}

/* ------------------------------------------------------------- dispatch */

bool loops_arrfn_eval(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    switch (n->builtin) {
    case B_LIST: return list_value(g, n, out);
    case B_ARRAY:
    case B_COPY: return copy_as(g, n->kids[0], (ug_dtype)n->opty.dt, n->pos.line, out);
    case B_SORT: return sort_rows(g, n, out);
    case B_ARGSORT: return argsort(g, n, out);
    case B_PARTITION: return partition(g, n, out);
    case B_UNIQUE: return unique(g, n, out);
    case B_CUMSUM:
    case B_CUMPROD: return cumulate(g, n, out);
    case B_DIFF: return diff(g, n, out);
    case B_DOT: return matmul(g, n, out);
    case B_OUTER: return outer(g, n, out);
    case B_NORM: return loops_reduce_axis(g, n, out);
    default:
        if (n->builtin >= B_SUM && n->builtin <= B_NANPERCENTILE)
            return loops_reduce_axis(g, n, out);
        break;
    }
    base_err_set(g->err, UG_EUNSUPPORTED, "kernel '%s', line %d: %s() is not supported by lowering",
               g->req->kname ? g->req->kname : "?", n->pos.line, kernel_builtin_name(n->builtin));
    return false;
}

typedef struct fill_ctx {
    const loops_arr *a;
    LLVMValueRef v;
    ug_dtype dt;
} fill_ctx;

static void fill_one(loops_gen *g, LLVMValueRef *idx, void *p)
{
    fill_ctx *c = p;
    loops_store_elem(g, c->v, loops_elem_at(g, c->a, idx), c->dt);
}

/* a.sort() (in place; a strided view through a sorted copy) and a.fill(v). */
ug_status loops_arrfn_stmt(loops_gen *g, const kernel_node *n)
{
    ug_dtype dt = (ug_dtype)n->opty.dt;
    loops_arr a;
    if (!loops_arr_eval(g, n->kids[0], &a))
        return g->err->code;
    if (n->builtin == B_FILL) {
        fill_ctx c = {.a = &a, .v = loops_conv(g, n->b, dt), .dt = dt};
        if (!c.v)
            return g->err->code;
        loops_nd_loop(g, a.ndim, a.shape, fill_one, &c);
        return UG_OK;
    }
    loops_arr t;
    if (!copy_as(g, n->kids[0], dt, n->pos.line, &t))
        return g->err->code;
    loops_emit_sort(g, t.base, t.shape[0], dt);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, a.shape[0]);
    loops_store_elem(g, loops_load_elem(g, at1(g, t.base, k, dt), dt), loops_elem_at(g, &a, &k), dt);
    loops_count_end(g, &c, NULL);
    return UG_OK;
}
