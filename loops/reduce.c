/* reduce.c — reductions of arrays inside kernels: np.sum(a), a.mean(),
 * np.nanvar(a, ddof=1), a.max(axis=1), np.argmin, np.count_nonzero,
 * np.median, np.quantile, np.linalg.norm, np.dot of two vectors.
 *
 * Requires: a typed kernel ("Array functions" in kernel.h), arrays.c's
 * element-wise machinery. The reduced operand may be any array value,
 * element-wise expressions included: its elements are computed inside the
 * reduction's loop (np.sum((a - m) ** 2) makes no temporary). An n-d
 * operand reduced whole is first copied contiguous in memory order (NumPy's
 * iterator visits the axes by stride: a Fortran-ordered array column by
 * column), the arg forms in C order (their index counts in C order);
 * with axis= each output element reduces one line along the axis.
 *
 * Summation order is NumPy's, so float results are NumPy's bit for bit:
 * add.reduce sums a line pairwise (blocks of up to 128 elements summed with
 * 8 accumulators, longer lines split in halves at multiples of 8), adding
 * the result to a zero; a line whose elements need a cast (the float64
 * mean of an int array) is summed in buffers of 8192 elements, as NumPy's
 * buffered iterator does. Along axis 0 of a 2-d array NumPy accumulates
 * row after row instead (sequential per output element), and so do we when
 * the reduced axis is not the one with the smallest stride. float16 sums
 * and products run in float32 and round once per line NumPy's half loop
 * gets whole, but round after every row along such an outer axis (the
 * half loop outside a reduce call). Whole, a float16 array of 3 or more
 * dimensions reaches NumPy's loop in one call when it is one stride in
 * memory; past 8192 values of other views NumPy buffers in chunks that 2.1
 * and 2.4 choose differently, and there sum, prod, mean, var and std raise
 * a ValueError (half_order_known; sum and prod of a reversed 2-d view
 * too). The products, minima and maxima are
 * sequential; complex minima and maxima and their indices follow NumPy's
 * lexicographic order and NaN rules (loops.c.src's CGE/CLE loops,
 * arraytypes.c.src's CDOUBLE_argmax). Order statistics partition a copy
 * (sort.c) and interpolate as NumPy's 'linear' method; medians take
 * np.mean's arithmetic (of float16 in float32, rounded once), nanmedian
 * along an axis of short lines np.ma.median's, and of complex data with a
 * NaN the partition's last value, as NumPy. The float dot
 * product of two vectors is the exception: NumPy calls BLAS for it, so it
 * is summed the way BLAS does (several accumulators, multiply-adds), not
 * pairwise; a float16 one is NumPy's HALF_dot, float32 sums in order.
 * np.linalg.norm with axis= and the matrix norms follow NumPy's add.reduce
 * formulas, so those are NumPy's bit for bit again; of complex data with
 * NumPy's abs and (x.conj() * x).real, of float16 data in NumPy's float16
 * steps (the default norm HALF_dot's).
 */
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "loops/gen.h"

static LLVMValueRef i64c(loops_gen *g, long long v) { return LLVMConstInt(g->i64, (unsigned long long)v, 1); }

static bool is_flt(ug_dtype t) { return base_dtype_kind(t) == BASE_KIND_FLOAT; }

static bool is_cplx(ug_dtype t) { return base_dtype_kind(t) == BASE_KIND_COMPLEX; }

static LLVMValueRef num(loops_gen *g, ug_dtype t, double v)
{
    if (is_cplx(t)) {
        LLVMTypeRef pt = loops_vty(g, base_dtype_part(t));
        return loops_complex(g, t, LLVMConstReal(pt, v), LLVMConstReal(pt, 0));
    }
    return is_flt(t) ? LLVMConstReal(loops_vty(g, t), v) : LLVMConstInt(loops_vty(g, t), (unsigned long long)(long long)v, 1);
}

/* NaN test; a complex value is NaN when either part is (np.isnan). */
static LLVMValueRef isnan_of(loops_gen *g, LLVMValueRef v, ug_dtype t)
{
    if (is_cplx(t))
        return LLVMBuildOr(g->B, isnan_of(g, loops_re(g, v), base_dtype_part(t)),
                           isnan_of(g, loops_im(g, v), base_dtype_part(t)), "isnan");
    return is_flt(t) ? LLVMBuildFCmp(g->B, LLVMRealUNO, v, v, "isnan") : LLVMConstInt(g->i1, 0, 0);
}

static LLVMValueRef add(loops_gen *g, LLVMValueRef a, LLVMValueRef b, ug_dtype t)
{
    return loops_emit_binop(g, TK_PLUS, a, b, t);
}

static void warn_if(loops_gen *g, LLVMValueRef cond, const char *msg);

/* ------------------------------------------------------------ sequences
 * The line being reduced: element k of the operand x along `axis`, the
 * other axes fixed at idx (axis 0 of a 1-d operand for whole reductions). */

typedef struct seq {
    loops_ewise ew;
    const kernel_node *x;
    int nd, axis;
    LLVMValueRef idx[UG_MAXDIMS];
    loops_arr shape; /* the operand's broadcast shape */
    loops_arr flat;  /* an n-d operand reduced whole: its contiguous copy, as 1-d */
    bool whole_copy;
    LLVMValueRef inner; /* i1: the walked axis has the smallest |stride| (NumPy sums it pairwise) */
    LLVMValueRef onestride; /* i1, whole_copy of an array (no expression): its memory order is one positive stride */
    LLVMValueRef forward;   /* i1, the same: no axis longer than 1 has a negative stride */
} seq;

static LLVMValueRef seq_at(loops_gen *g, seq *s, LLVMValueRef k)
{
    s->idx[s->axis] = k;
    return loops_ew_elem(g, s->x, &s->ew, s->idx, s->nd);
}

static LLVMValueRef seq_len(const seq *s) { return s->shape.shape[s->axis]; }

static LLVMValueRef iabs(loops_gen *g, LLVMValueRef v)
{
    LLVMValueRef neg = LLVMBuildICmp(g->B, LLVMIntSLT, v, i64c(g, 0), "");
    return LLVMBuildSelect(g->B, neg, LLVMBuildNeg(g->B, v, ""), v, "abs");
}

/* An n-d operand reduced whole is visited in memory order, as NumPy's
 * iterator does: the axes sorted by the first array's |stride|, largest
 * outermost, each axis still walked in index order (reductions ask the
 * iterator not to negate strides); an axis of length 1 counts as outermost
 * (it changes no order). A bubble sort of selects on every leaf's
 * descriptors: stable, as NumPy's insertion sort, and no second copy of
 * the code. A leaf of fewer dimensions (a broadcast row) keeps C order. */
static void memory_order(loops_gen *g, loops_ewise *ew, int nd)
{
    for (int k = 0; k < ew->n; k++)
        if (ew->arr[k].ndim != nd)
            return;
    if (ew->n == 0)
        return;
    LLVMBuilderRef B = g->B;
    LLVMValueRef key[UG_MAXDIMS];
    for (int d = 0; d < nd; d++) {
        LLVMValueRef one = LLVMBuildICmp(B, LLVMIntSLE, ew->arr[0].shape[d], i64c(g, 1), "");
        key[d] = LLVMBuildSelect(B, one, i64c(g, -1), iabs(g, ew->arr[0].stride[d]), "key"); /* -1: unsigned max */
    }
    for (int i = 0; i < nd - 1; i++)
        for (int j = 0; j < nd - 1 - i; j++) {
            LLVMValueRef swap = LLVMBuildICmp(B, LLVMIntULT, key[j], key[j + 1], "korder");
            LLVMValueRef kj = key[j];
            key[j] = LLVMBuildSelect(B, swap, key[j + 1], kj, "");
            key[j + 1] = LLVMBuildSelect(B, swap, kj, key[j + 1], "");
            for (int k = 0; k < ew->n; k++) {
                loops_arr *a = &ew->arr[k], o = *a;
                a->shape[j] = LLVMBuildSelect(B, swap, o.shape[j + 1], o.shape[j], "");
                a->stride[j] = LLVMBuildSelect(B, swap, o.stride[j + 1], o.stride[j], "");
                a->shape[j + 1] = LLVMBuildSelect(B, swap, o.shape[j], o.shape[j + 1], "");
                a->stride[j + 1] = LLVMBuildSelect(B, swap, o.stride[j], o.stride[j + 1], "");
            }
        }
}

/* s->onestride: the array a (in memory order) steps through its elements
 * with one positive stride, the item size, so that NumPy's iterator hands
 * all of them to one inner-loop call without buffering; s->forward: no
 * axis of a longer than 1 runs backwards. */
static void one_stride(loops_gen *g, seq *s, const loops_arr *a, const kernel_node *x)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef ok = LLVMConstInt(g->i1, 1, 0), fw = ok, e = i64c(g, (long long)ug_dtype_size((ug_dtype)x->ty.dt));
    for (int d = a->ndim - 1; d >= 0; d--) {
        LLVMValueRef one = LLVMBuildICmp(B, LLVMIntSLE, a->shape[d], i64c(g, 1), "");
        ok = LLVMBuildAnd(B, ok, LLVMBuildOr(B, one, LLVMBuildICmp(B, LLVMIntEQ, a->stride[d], e, ""), ""), "onestride");
        fw = LLVMBuildAnd(B, fw, LLVMBuildOr(B, one, LLVMBuildICmp(B, LLVMIntSGE, a->stride[d], i64c(g, 0), ""), ""), "fw");
        e = LLVMBuildSelect(B, one, e, LLVMBuildMul(B, e, a->shape[d], ""), "");
    }
    s->onestride = ok;
    s->forward = fw;
}

/* Set s up over the operand x: along `axis` (then the caller fills the other
 * indices), or whole (axis -1: an n-d operand is copied contiguous first,
 * in memory order when korder, else in C order). */
static bool seq_init(loops_gen *g, seq *s, const kernel_node *x, int axis, bool korder)
{
    memset(s, 0, sizeof *s);
    s->x = x;
    if (axis < 0 && x->ty.ndim > 1) {
        loops_arr c;
        if (!loops_ew_collect(g, x, &s->ew))
            return false;
        if (korder)
            memory_order(g, &s->ew, x->ty.ndim);
        if (s->ew.n == 1 && s->ew.leaf[0] == x)
            one_stride(g, s, &s->ew.arr[0], x);
        if (!loops_ew_copy(g, x, &s->ew, &c))
            return false;
        memset(&s->ew, 0, sizeof s->ew);
        LLVMValueRef n = i64c(g, 1);
        for (int d = 0; d < c.ndim; d++)
            n = LLVMBuildMul(g->B, n, c.shape[d], "size");
        s->flat = (loops_arr){.base = c.base, .ndim = 1};
        s->flat.shape[0] = n;
        s->flat.stride[0] = i64c(g, (long long)ug_dtype_size((ug_dtype)x->ty.dt));
        s->ew.leaf[0] = x; /* the copy stands for the whole expression */
        s->ew.arr[0] = s->flat;
        s->ew.n = 1;
        s->shape = s->flat;
        s->nd = 1;
        s->axis = 0;
        s->whole_copy = true;
        return true;
    }
    if (!loops_ew_collect(g, x, &s->ew))
        return false;
    loops_ew_broadcast(g, x, &s->ew, &s->shape);
    s->nd = x->ty.ndim;
    s->axis = axis < 0 ? 0 : axis;
    s->inner = LLVMConstInt(g->i1, 1, 0);
    const loops_arr *l = &s->ew.arr[0]; /* the first array operand's layout decides, as NumPy's iterator */
    int lax = s->axis - (s->nd - l->ndim);
    for (int d = 0; s->ew.n && lax >= 0 && d < l->ndim; d++) {
        if (d == lax)
            continue;
        LLVMValueRef a = iabs(g, l->stride[lax]), o = iabs(g, l->stride[d]);
        LLVMValueRef le = LLVMBuildICmp(g->B, LLVMIntULE, a, o, ""); /* an axis of size 1 does not count */
        le = LLVMBuildOr(g->B, le, LLVMBuildICmp(g->B, LLVMIntSLE, l->shape[d], i64c(g, 1), ""), "");
        s->inner = LLVMBuildAnd(g->B, s->inner, le, "inner");
    }
    return true;
}

/* ------------------------------------------------------------------ terms */

enum { T_X, T_NANZERO, T_NANONE, T_SQDEV, T_NANSQDEV, T_SQ, T_ABS, T_TRUTH, T_NOTNAN, T_PROD2, T_ABSPOW, T_NZ1 };

typedef struct term {
    seq *s, *s2;     /* s2: the second operand of a dot product */
    int kind;
    ug_dtype T;      /* the accumulator's dtype */
    ug_dtype C;      /* a complex sum: the complex dtype, of whose values the term is one part ... */
    int part;        /* ... 1 the real, 2 the imaginary part (0: a real term) */
    LLVMValueRef m;  /* T_SQDEV / T_NANSQDEV: the mean; T_ABSPOW: the power */
    int half;        /* float16 elements summed in float32: 1 whole (NumPy's half loop), 2 in buffers of 8192 */
    bool hypot;      /* a norm's complex abs as NumPy's scalar loop (loops_complex_hypot) */
} term;

/* A norm's term of the element v (of dtype xd): T_SQ NumPy's
 * (x.conj() * x).real, T_ABS abs(x), T_ABSPOW abs(x) ** t->m, T_NZ1 1.0
 * where x != 0 (a float count, summed as floats), each a real number in
 * t->T; of complex x NumPy's complex multiply and absolute, of float16 x
 * (t->half) rounded to float16 as NumPy's half loops. */
static LLVMValueRef norm_term(loops_gen *g, const term *t, LLVMValueRef v, ug_dtype xd)
{
    ug_dtype T = t->T, E = t->half ? UG_FLOAT16 : T;
    if (t->kind == T_NZ1)
        return LLVMBuildSelect(g->B, loops_emit_truth(g, v, xd), num(g, T, 1), num(g, T, 0), "nz");
    if (is_cplx(xd) && t->kind == T_SQ) {
        LLVMValueRef c = loops_emit_builtin(g, B_CONJ, &v, 1, xd, xd);
        return loops_re(g, loops_emit_binop(g, TK_STAR, c, v, xd));
    }
    LLVMValueRef c = is_cplx(xd) ? v : loops_emit_cast(g, v, xd, T);
    if (t->kind == T_SQ)
        return loops_emit_binop(g, TK_STAR, c, c, E);
    LLVMValueRef a[2] = {t->hypot ? loops_complex_hypot(g, xd, v)
                                  : loops_emit_builtin(g, B_ABS, &c, 1, is_cplx(xd) ? xd : E, E), t->m};
    return t->kind == T_ABS ? a[0] : loops_emit_builtin(g, B_POW, a, 2, E, E);
}

static LLVMValueRef term_at(loops_gen *g, const term *t, LLVMValueRef k)
{
    ug_dtype xd = (ug_dtype)t->s->x->ty.dt, T = t->T;
    LLVMValueRef v = seq_at(g, t->s, k);
    if (t->kind == T_TRUTH)
        return LLVMBuildZExt(g->B, loops_emit_truth(g, v, xd), loops_vty(g, T), "");
    if (t->kind == T_NOTNAN)
        return LLVMBuildZExt(g->B, LLVMBuildNot(g->B, isnan_of(g, v, xd), ""), loops_vty(g, T), "");
    if (t->part) { /* T_X or T_NANZERO of a complex value: one part */
        LLVMValueRef z = loops_emit_cast(g, v, xd, t->C);
        if (t->kind == T_NANZERO)
            z = LLVMBuildSelect(g->B, isnan_of(g, z, t->C), num(g, t->C, 0), z, "");
        return t->part == 1 ? loops_re(g, z) : loops_im(g, z);
    }
    if ((t->kind == T_SQDEV || t->kind == T_NANSQDEV) && is_cplx(xd)) { /* a real square of a complex deviation */
        LLVMValueRef z = loops_emit_binop(g, TK_MINUS, v, t->m, xd), p;
        if (t->kind == T_NANSQDEV) { /* nanvar's multiply(x, x.conj()).real, a NaN's x zeroed first */
            LLVMValueRef c = loops_complex(g, xd, loops_re(g, z), loops_fm(g, LLVMBuildFNeg(g->B, loops_im(g, z), "")));
            p = LLVMBuildSelect(g->B, isnan_of(g, v, xd), num(g, T, 0), loops_re(g, loops_emit_binop(g, TK_STAR, z, c, xd)), "");
        } else { /* var's square of each part, then their sum */
            LLVMValueRef re = loops_re(g, z), im = loops_im(g, z);
            p = add(g, loops_emit_binop(g, TK_STAR, re, re, T), loops_emit_binop(g, TK_STAR, im, im, T), T);
        }
        return p;
    }
    if (t->kind == T_SQ || t->kind == T_ABS || t->kind == T_ABSPOW || t->kind == T_NZ1)
        return norm_term(g, t, v, xd);
    LLVMValueRef c = loops_emit_cast(g, v, xd, T), d;
    switch (t->kind) {
    case T_NANZERO: return LLVMBuildSelect(g->B, isnan_of(g, c, T), num(g, T, 0), c, "");
    case T_NANONE: return LLVMBuildSelect(g->B, isnan_of(g, c, T), num(g, T, 1), c, "");
    case T_SQDEV:
    case T_NANSQDEV: {
        ug_dtype E = t->half ? UG_FLOAT16 : T; /* float16: the deviation and its square rounded, as NumPy's */
        d = loops_emit_binop(g, TK_MINUS, c, t->m, E);
        if (t->kind == T_NANSQDEV)
            d = LLVMBuildSelect(g->B, isnan_of(g, c, T), num(g, T, 0), d, "");
        return loops_emit_binop(g, TK_STAR, d, d, E);
    }
    case T_PROD2: {
        LLVMValueRef w = seq_at(g, t->s2, k);
        return loops_emit_binop(g, TK_STAR, c, loops_emit_cast(g, w, (ug_dtype)t->s2->x->ty.dt, T), T);
    }
    default: return c;
    }
}

/* ---------------------------------------------------------- pairwise sums */

/* Elements [off, off + n) of a float term summed as NumPy's pairwise leaf:
 * L = 8 accumulators over the multiple-of-8 part (none when n < 8), combined
 * ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the rest one by one. A part of
 * a complex sum (NumPy's complex pairwise sum unrolls 8 reals, 4 values):
 * L = 4, combined (r0+r1)+(r2+r3). */
static LLVMValueRef pw_leaf(loops_gen *g, const term *t, LLVMValueRef off, LLVMValueRef n)
{
    LLVMBuilderRef B = g->B;
    ug_dtype T = t->T;
    LLVMTypeRef vt = loops_vty(g, T);
    int L = t->part ? 4 : 8, sh = t->part ? 2 : 3;
    /* the L accumulators as one <L x T> vector: lane j adds exactly what
     * r[j] would, and the loads of a unit-stride line combine into vector loads */
    LLVMTypeRef v8 = LLVMVectorType(vt, (unsigned)L);
    LLVMValueRef r = loops_entry_alloca(g, v8, "pw.r"), res = loops_entry_alloca(g, vt, "pw.res");
    LLVMBuildStore(B, LLVMConstNull(v8), r);
    LLVMValueRef n8 = LLVMBuildAnd(B, n, i64c(g, -L), "n8");
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, LLVMBuildLShr(B, n8, i64c(g, sh), ""));
    LLVMValueRef base = LLVMBuildAdd(B, off, LLVMBuildShl(B, k, i64c(g, sh), ""), "");
    LLVMValueRef vec = LLVMGetUndef(v8);
    for (int j = 0; j < L; j++) {
        LLVMValueRef v = term_at(g, t, LLVMBuildAdd(B, base, i64c(g, j), ""));
        vec = LLVMBuildInsertElement(B, vec, v, LLVMConstInt(g->i32, (unsigned)j, 0), "");
    }
    LLVMBuildStore(B, loops_fm(g, LLVMBuildFAdd(B, LLVMBuildLoad2(B, v8, r, ""), vec, "pw.lanes")), r);
    loops_count_end(g, &c, NULL);
    LLVMValueRef q[8], lanes = LLVMBuildLoad2(B, v8, r, "");
    for (int j = 0; j < L; j++)
        q[j] = LLVMBuildExtractElement(B, lanes, LLVMConstInt(g->i32, (unsigned)j, 0), "");
    LLVMValueRef s = add(g, add(g, q[0], q[1], T), add(g, q[2], q[3], T), T);
    if (L == 8)
        s = add(g, s, add(g, add(g, q[4], q[5], T), add(g, q[6], q[7], T), T), T);
    LLVMBuildStore(B, s, res);
    k = loops_count_begin(g, &c, LLVMBuildSub(B, n, n8, ""));
    LLVMValueRef v = term_at(g, t, LLVMBuildAdd(B, LLVMBuildAdd(B, off, n8, ""), k, ""));
    LLVMBuildStore(B, add(g, LLVMBuildLoad2(B, vt, res, ""), v, T), res);
    loops_count_end(g, &c, NULL);
    return LLVMBuildLoad2(B, vt, res, "pw.leaf");
}

/* NumPy's pairwise sum of elements [off, off + n): n <= 128 is a leaf,
 * else the halves at n2 = n/2 rounded down to a multiple of 8, summed
 * left + right. A part of a complex sum counts reals as NumPy does (2n of
 * them): a leaf at n <= 64, n2 = (n - n%8)/2. The recursion runs on an explicit stack of frames
 * (offset, length, state, left sum): at most 64 deep. */
static LLVMValueRef pairwise(loops_gen *g, const term *t, LLVMValueRef off0, LLVMValueRef n0)
{
    LLVMBuilderRef B = g->B;
    LLVMTypeRef vt = loops_vty(g, t->T), a64 = LLVMArrayType2(g->i64, 64), av = LLVMArrayType2(vt, 64);
    LLVMValueRef soff = loops_entry_alloca(g, a64, "pw.off"), sn = loops_entry_alloca(g, a64, "pw.n"),
                 sst = loops_entry_alloca(g, a64, "pw.state"), sleft = loops_entry_alloca(g, av, "pw.left"),
                 sp = loops_entry_alloca(g, g->i64, "pw.sp"), ret = loops_entry_alloca(g, vt, "pw.ret");
#define AT(arr, ty, i) LLVMBuildInBoundsGEP2(B, ty, arr, (LLVMValueRef[]){i64c(g, 0), i}, 2, "")
    LLVMBuildStore(B, off0, AT(soff, a64, i64c(g, 0)));
    LLVMBuildStore(B, n0, AT(sn, a64, i64c(g, 0)));
    LLVMBuildStore(B, i64c(g, 0), AT(sst, a64, i64c(g, 0)));
    LLVMBuildStore(B, i64c(g, 1), sp);
    LLVMBuildStore(B, num(g, t->T, 0), ret);
    LLVMBasicBlockRef head = loops_block(g, "pw.head"), body = loops_block(g, "pw.frame"),
                      leaf = loops_block(g, "pw.leaf"), split = loops_block(g, "pw.split"),
                      s0 = loops_block(g, "pw.left"), s1 = loops_block(g, "pw.right"), s2 = loops_block(g, "pw.join"),
                      done = loops_block(g, "pw.done");
    LLVMBuildBr(B, head);
    LLVMPositionBuilderAtEnd(B, head);
    LLVMValueRef spv = LLVMBuildLoad2(B, g->i64, sp, "sp");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, spv, i64c(g, 0), ""), done, body);
    LLVMPositionBuilderAtEnd(B, body);
    LLVMValueRef f = LLVMBuildSub(B, spv, i64c(g, 1), "f");
    LLVMValueRef off = LLVMBuildLoad2(B, g->i64, AT(soff, a64, f), "off"),
                 n = LLVMBuildLoad2(B, g->i64, AT(sn, a64, f), "n");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLE, n, i64c(g, t->part ? 64 : 128), ""), leaf, split);
    LLVMPositionBuilderAtEnd(B, leaf);
    LLVMBuildStore(B, pw_leaf(g, t, off, n), ret);
    LLVMBuildStore(B, f, sp);
    LLVMBuildBr(B, head);
    LLVMPositionBuilderAtEnd(B, split);
    LLVMValueRef n2 = t->part ? LLVMBuildSDiv(B, LLVMBuildAnd(B, n, i64c(g, -8), ""), i64c(g, 2), "n2")
                              : LLVMBuildAnd(B, LLVMBuildSDiv(B, n, i64c(g, 2), ""), i64c(g, -8), "n2");
    LLVMValueRef st = LLVMBuildLoad2(B, g->i64, AT(sst, a64, f), "state");
    LLVMValueRef sw = LLVMBuildSwitch(B, st, s2, 2);
    LLVMAddCase(sw, i64c(g, 0), s0);
    LLVMAddCase(sw, i64c(g, 1), s1);
    for (int part = 0; part < 2; part++) { /* push the left half, then (its sum kept) the right half */
        LLVMPositionBuilderAtEnd(B, part ? s1 : s0);
        if (part)
            LLVMBuildStore(B, LLVMBuildLoad2(B, vt, ret, ""), AT(sleft, av, f));
        LLVMBuildStore(B, i64c(g, part + 1), AT(sst, a64, f));
        LLVMBuildStore(B, part ? LLVMBuildAdd(B, off, n2, "") : off, AT(soff, a64, spv));
        LLVMBuildStore(B, part ? LLVMBuildSub(B, n, n2, "") : n2, AT(sn, a64, spv));
        LLVMBuildStore(B, i64c(g, 0), AT(sst, a64, spv));
        LLVMBuildStore(B, LLVMBuildAdd(B, spv, i64c(g, 1), ""), sp);
        LLVMBuildBr(B, head);
    }
    LLVMPositionBuilderAtEnd(B, s2);
    LLVMBuildStore(B, add(g, LLVMBuildLoad2(B, vt, AT(sleft, av, f), ""), LLVMBuildLoad2(B, vt, ret, ""), t->T), ret);
    LLVMBuildStore(B, f, sp);
    LLVMBuildBr(B, head);
#undef AT
    LLVMPositionBuilderAtEnd(B, done);
    return LLVMBuildLoad2(B, vt, ret, "pairwise");
}

static LLVMValueRef line_pairwise(loops_gen *g, const term *t, LLVMValueRef n);

/* NumPy's add.reduce of the term over the line: exact sums in any order;
 * float sums pairwise when the line is the operand's innermost axis (or
 * the whole operand), else sequential (NumPy's outer-axis accumulation). */
static LLVMValueRef line_sum(loops_gen *g, const term *t)
{
    LLVMBuilderRef B = g->B;
    ug_dtype T = t->T;
    LLVMValueRef n = seq_len(t->s);
    if (is_cplx(T) && !t->part) { /* the parts summed each as NumPy's complex loop sums them */
        term re = *t, im = *t;
        re.C = im.C = T;
        re.T = im.T = base_dtype_part(T);
        re.part = 1, im.part = 2;
        LLVMValueRef r = line_sum(g, &re);
        return loops_complex(g, T, r, line_sum(g, &im));
    }
    if (!is_flt(T) || t->kind == T_TRUTH || t->kind == T_NOTNAN) { /* exact: any order, vectorised */
        LLVMValueRef acc = loops_entry_alloca(g, loops_vty(g, T), "sum");
        LLVMBuildStore(B, num(g, T, 0), acc);
        loops_counted c;
        LLVMValueRef k = loops_count_begin(g, &c, n);
        LLVMBuildStore(B, add(g, LLVMBuildLoad2(B, loops_vty(g, T), acc, ""), term_at(g, t, k), T), acc);
        loops_count_end(g, &c, NULL);
        return LLVMBuildLoad2(B, loops_vty(g, T), acc, "sum");
    }
    if (t->s->nd > 1 && !t->s->whole_copy) { /* along an axis that is not the innermost: row after row */
        LLVMValueRef seqv = loops_entry_alloca(g, loops_vty(g, T), "seqsum");
        LLVMBasicBlockRef one = loops_block(g, "sum.seq"), pw = loops_block(g, "sum.pw"), end = loops_block(g, "sum.end");
        LLVMBuildCondBr(B, t->s->inner, pw, one);
        LLVMPositionBuilderAtEnd(B, one);
        LLVMBuildStore(B, num(g, T, 0), seqv);
        loops_counted c;
        LLVMValueRef k = loops_count_begin(g, &c, n);
        LLVMValueRef v = add(g, LLVMBuildLoad2(B, loops_vty(g, T), seqv, ""), term_at(g, t, k), T);
        LLVMBuildStore(B, t->half == 1 ? loops_round16(g, v) : v, seqv); /* NumPy's half add loop rounds each step */
        loops_count_end(g, &c, NULL);
        LLVMBuildBr(B, end);
        LLVMPositionBuilderAtEnd(B, pw);
        LLVMBuildStore(B, line_pairwise(g, t, n), seqv);
        LLVMBuildBr(B, end);
        LLVMPositionBuilderAtEnd(B, end);
        return LLVMBuildLoad2(B, loops_vty(g, T), seqv, "sum");
    }
    return line_pairwise(g, t, n);
}

/* add.reduce of a line NumPy hands to its loop whole: 0 + pairwise, in
 * buffers of 8192 elements when they are cast on the way. */
static LLVMValueRef line_pairwise(loops_gen *g, const term *t, LLVMValueRef n)
{
    LLVMBuilderRef B = g->B;
    ug_dtype T = t->T;
    bool cast = t->half ? t->half == 2
                        : t->kind == T_X && (ug_dtype)t->s->x->ty.dt != (t->part ? t->C : T) && !t->s->whole_copy;
    if (!cast)
        return add(g, num(g, T, 0), pairwise(g, t, i64c(g, 0), n), T);
    LLVMValueRef acc = loops_entry_alloca(g, loops_vty(g, T), "sum");
    LLVMBuildStore(B, num(g, T, 0), acc);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, LLVMBuildSDiv(B, LLVMBuildAdd(B, n, i64c(g, 8191), ""), i64c(g, 8192), ""));
    LLVMValueRef off = LLVMBuildMul(B, k, i64c(g, 8192), "");
    LLVMValueRef left = LLVMBuildSub(B, n, off, "");
    LLVMValueRef len = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, left, i64c(g, 8192), ""), left, i64c(g, 8192), "");
    LLVMValueRef part = pairwise(g, t, off, len);
    LLVMBuildStore(B, add(g, LLVMBuildLoad2(B, loops_vty(g, T), acc, ""), part, T), acc);
    loops_count_end(g, &c, NULL);
    return LLVMBuildLoad2(B, loops_vty(g, T), acc, "sum");
}

/* A product (nanprod: NaN counts as 1), sequential as NumPy's multiply.reduce. */
static LLVMValueRef line_prod(loops_gen *g, const term *t)
{
    LLVMValueRef acc = loops_entry_alloca(g, loops_vty(g, t->T), "prod");
    LLVMBuildStore(g->B, num(g, t->T, 1), acc);
    /* float16 along an outer axis: NumPy's half multiply loop rounds each step */
    bool outer = t->half == 1 && t->s->nd > 1 && !t->s->whole_copy;
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, seq_len(t->s));
    LLVMValueRef v = term_at(g, t, k);
    v = loops_emit_binop(g, TK_STAR, LLVMBuildLoad2(g->B, loops_vty(g, t->T), acc, ""), v, t->T);
    if (outer)
        v = LLVMBuildSelect(g->B, t->s->inner, v, loops_round16(g, v), "");
    LLVMBuildStore(g->B, v, acc);
    loops_count_end(g, &c, NULL);
    return LLVMBuildLoad2(g->B, loops_vty(g, t->T), acc, "prod");
}

/* any / all: truthiness or-ed / and-ed. */
static LLVMValueRef line_anyall(loops_gen *g, seq *s, bool all)
{
    LLVMValueRef acc = loops_entry_alloca(g, g->i1, "anyall");
    LLVMBuildStore(g->B, LLVMConstInt(g->i1, all, 0), acc);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, seq_len(s));
    LLVMValueRef v = loops_emit_truth(g, seq_at(g, s, k), (ug_dtype)s->x->ty.dt), cur = LLVMBuildLoad2(g->B, g->i1, acc, "");
    LLVMBuildStore(g->B, all ? LLVMBuildAnd(g->B, cur, v, "") : LLVMBuildOr(g->B, cur, v, ""), acc);
    loops_count_end(g, &c, NULL);
    return LLVMBuildLoad2(g->B, g->i1, acc, "anyall");
}

/* The min / max (op: B_MINIMUM, B_MAXIMUM, B_FMIN, B_FMAX) of a non-empty
 * line in 8 lanes (their order does not change the value), so the loop
 * vectorises as NumPy's does; early: stop at the first block holding a NaN
 * (it is the answer). */
static LLVMValueRef line_minmax(loops_gen *g, seq *s, int op, bool early)
{
    LLVMBuilderRef B = g->B;
    ug_dtype xd = (ug_dtype)s->x->ty.dt;
    LLVMTypeRef vt = loops_vty(g, xd);
    LLVMValueRef len = seq_len(s), r[8], first = seq_at(g, s, i64c(g, 0));
    for (int j = 0; j < 8; j++) {
        r[j] = loops_entry_alloca(g, vt, "mm.r");
        LLVMBuildStore(B, first, r[j]);
    }
    LLVMValueRef n8 = LLVMBuildAnd(B, len, i64c(g, -8), "n8");
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, LLVMBuildLShr(B, n8, i64c(g, 3), ""));
    LLVMValueRef base = LLVMBuildShl(B, k, i64c(g, 3), ""), anynan = LLVMConstInt(g->i1, 0, 0);
    for (int j = 0; j < 8; j++) {
        LLVMValueRef two[2] = {LLVMBuildLoad2(B, vt, r[j], ""), seq_at(g, s, LLVMBuildAdd(B, base, i64c(g, j), ""))};
        LLVMValueRef m = loops_emit_builtin(g, op, two, 2, xd, xd);
        LLVMBuildStore(B, m, r[j]);
        if (early)
            anynan = LLVMBuildOr(B, anynan, isnan_of(g, m, xd), "");
    }
    if (early) {
        LLVMBasicBlockRef go = loops_block(g, "minmax.go");
        LLVMBuildCondBr(B, anynan, c.exit, go);
        LLVMPositionBuilderAtEnd(B, go);
    }
    loops_count_end(g, &c, NULL);
    k = loops_count_begin(g, &c, LLVMBuildSub(B, len, n8, ""));
    LLVMValueRef two[2] = {LLVMBuildLoad2(B, vt, r[0], ""), seq_at(g, s, LLVMBuildAdd(B, n8, k, ""))};
    LLVMBuildStore(B, loops_emit_builtin(g, op, two, 2, xd, xd), r[0]);
    loops_count_end(g, &c, NULL);
    LLVMValueRef acc = LLVMBuildLoad2(B, vt, r[0], "");
    for (int j = 1; j < 8; j++) {
        LLVMValueRef p[2] = {acc, LLVMBuildLoad2(B, vt, r[j], "")};
        acc = loops_emit_builtin(g, op, p, 2, xd, xd);
    }
    return acc;
}

/* Element k of the line s in T; x8: elements k..k+7 as a vector (the loads
 * of a unit-stride line combine into one). */
static LLVMValueRef x1(loops_gen *g, seq *s, LLVMValueRef k, ug_dtype T)
{
    return loops_emit_cast(g, seq_at(g, s, k), (ug_dtype)s->x->ty.dt, T);
}

/* Element k of s as T; part 1 (2) of a complex dot product: the real
 * (imaginary) part of it as the complex dtype C, whose parts are T. */
static LLVMValueRef xpart(loops_gen *g, seq *s, LLVMValueRef k, ug_dtype T, ug_dtype C, int part)
{
    if (!part)
        return x1(g, s, k, T);
    LLVMValueRef z = loops_emit_cast(g, seq_at(g, s, k), (ug_dtype)s->x->ty.dt, C);
    return part == 1 ? loops_re(g, z) : loops_im(g, z);
}

/* Elements k .. k+7 of s as a vector of T (of parts as xpart). */
static LLVMValueRef x8(loops_gen *g, seq *s, LLVMValueRef k, ug_dtype T, ug_dtype C, int part)
{
    LLVMValueRef vec = LLVMGetUndef(LLVMVectorType(loops_vty(g, T), 8));
    for (int j = 0; j < 8; j++)
        vec = LLVMBuildInsertElement(g->B, vec, xpart(g, s, LLVMBuildAdd(g->B, k, i64c(g, j), ""), T, C, part),
                                     LLVMConstInt(g->i32, (unsigned)j, 0), "");
    return vec;
}

static LLVMValueRef splat8(loops_gen *g, LLVMValueRef x)
{
    LLVMValueRef v = LLVMGetUndef(LLVMVectorType(LLVMTypeOf(x), 8));
    for (int j = 0; j < 8; j++)
        v = LLVMBuildInsertElement(g->B, v, x, LLVMConstInt(g->i32, (unsigned)j, 0), "");
    return v;
}

static LLVMValueRef lane(loops_gen *g, LLVMValueRef v, int j)
{
    return LLVMBuildExtractElement(g->B, v, LLVMConstInt(g->i32, (unsigned)j, 0), "");
}

/* argmin/argmax: where `nan` holds, record `at` in nanat and branch to
 * nanend (a NaN decides the answer); the builder goes on where it does not. */
static void leave_at_nan(loops_gen *g, LLVMValueRef nan, LLVMValueRef at, LLVMValueRef nanat,
                         LLVMBasicBlockRef nanend)
{
    LLVMBasicBlockRef found = loops_block(g, "arg.nan"), go = loops_block(g, "arg.go");
    LLVMBuildCondBr(g->B, nan, found, go);
    LLVMPositionBuilderAtEnd(g->B, found);
    LLVMBuildStore(g->B, at, nanat);
    LLVMBuildBr(g->B, nanend);
    LLVMPositionBuilderAtEnd(g->B, go);
}

/* argmax / argmin (not the nan forms) of a line of len > 0: 8 lanes at a
 * time, each keeping its extreme and the first index that reached it (the
 * one-at-a-time loop waited on a select through a mask register per
 * element); the first block holding a NaN ends the search at its first NaN
 * (NumPy's answer). Else the lanes give the extreme and the smallest index
 * holding it, and the rest of the line is scanned one by one. NaNs are
 * selected away before every ordered comparison: x86's raise the invalid
 * flag on them, and LLVM may hoist a comparison above the NaN test.
 * skipnan (nanargmin/nanargmax of floats): as NumPy, a NaN counts as the
 * infinity nothing is beyond (+inf for nanargmin), so [nan, inf] gives 0;
 * a line whose extreme is that infinity is checked for being all NaN
 * (NumPy's ValueError) after the loops. */
static LLVMValueRef arg_extreme(loops_gen *g, seq *s, ug_dtype xd, bool mx, bool skipnan, int line)
{
    LLVMBuilderRef B = g->B;
    bool flt = is_flt(xd);
    LLVMTypeRef vt = loops_vty(g, xd), v8 = LLVMVectorType(vt, 8), i8v = LLVMVectorType(g->i64, 8);
    LLVMValueRef len = seq_len(s), bestv = loops_entry_alloca(g, v8, "arg.bestv"),
                 idxv = loops_entry_alloca(g, i8v, "arg.idxv"), best = loops_entry_alloca(g, vt, "arg.best"),
                 res = loops_entry_alloca(g, g->i64, "arg.res"), nanat = loops_entry_alloca(g, g->i64, "arg.nanat");
    LLVMValueRef x0 = x1(g, s, i64c(g, 0), xd), iota = LLVMConstNull(i8v);
    for (int j = 0; j < 8; j++)
        iota = LLVMBuildInsertElement(B, iota, i64c(g, j), LLVMConstInt(g->i32, (unsigned)j, 0), "");
    LLVMBuildStore(B, i64c(g, 0), nanat);
    LLVMValueRef n8 = LLVMBuildAnd(B, len, i64c(g, -8), "n8"); /* before the first branch: nanend uses it */
    LLVMBasicBlockRef nanend = loops_block(g, "arg.nanend"), done = loops_block(g, "arg.done");
    skipnan = skipnan && flt;
    LLVMValueRef far = flt ? LLVMConstReal(vt, mx ? -INFINITY : INFINITY) : NULL;
    if (skipnan) {
        x0 = LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealUNO, x0, x0, ""), far, x0, "");
    } else if (flt) { /* x[0] a NaN: the answer */
        LLVMBasicBlockRef go = loops_block(g, "arg.start");
        LLVMBuildCondBr(B, LLVMBuildFCmp(B, LLVMRealUNO, x0, x0, ""), nanend, go);
        LLVMPositionBuilderAtEnd(B, go);
    }
    LLVMBuildStore(B, splat8(g, x0), bestv);
    LLVMBuildStore(B, LLVMConstNull(i8v), idxv);
    LLVMRealPredicate rp = mx ? LLVMRealOGT : LLVMRealOLT;
    LLVMIntPredicate ip = mx ? (base_dtype_kind(xd) == BASE_KIND_UINT ? LLVMIntUGT : LLVMIntSGT)
                             : (base_dtype_kind(xd) == BASE_KIND_UINT ? LLVMIntULT : LLVMIntSLT);
#define BETTER(a, b) (flt ? LLVMBuildFCmp(B, rp, a, b, "") : LLVMBuildICmp(B, ip, a, b, ""))
    loops_counted c;
    LLVMValueRef base = LLVMBuildShl(B, loops_count_begin(g, &c, LLVMBuildLShr(B, n8, i64c(g, 3), "")), i64c(g, 3), "");
    LLVMValueRef v = x8(g, s, base, xd, xd, 0), bv = LLVMBuildLoad2(B, v8, bestv, "");
    if (flt) { /* a NaN here: its block is the answer's */
        LLVMValueRef isnan = LLVMBuildFCmp(B, LLVMRealUNO, v, v, "");
        LLVMValueRef any = LLVMBuildICmp(B, LLVMIntNE, LLVMBuildBitCast(B, isnan, g->i8, ""), LLVMConstInt(g->i8, 0, 0), "");
        v = LLVMBuildSelect(B, isnan, skipnan ? splat8(g, far) : bv, v, "");
        if (!skipnan)
            leave_at_nan(g, any, base, nanat, nanend);
    }
    LLVMValueRef m = BETTER(v, bv);
    LLVMBuildStore(B, LLVMBuildSelect(B, m, v, bv, ""), bestv);
    LLVMBuildStore(B, LLVMBuildSelect(B, m, LLVMBuildAdd(B, iota, splat8(g, base), ""),
                                      LLVMBuildLoad2(B, i8v, idxv, ""), ""), idxv);
    loops_count_end(g, &c, NULL);
    /* the lanes: the extreme, then the smallest index holding it */
    LLVMValueRef lv = LLVMBuildLoad2(B, v8, bestv, ""), li = LLVMBuildLoad2(B, i8v, idxv, "");
    LLVMValueRef bval = lane(g, lv, 0);
    for (int j = 1; j < 8; j++)
        bval = LLVMBuildSelect(B, BETTER(lane(g, lv, j), bval), lane(g, lv, j), bval, "");
    LLVMValueRef bidx = i64c(g, INT64_MAX);
    for (int j = 0; j < 8; j++) {
        LLVMValueRef at = flt ? LLVMBuildFCmp(B, LLVMRealOEQ, lane(g, lv, j), bval, "")
                              : LLVMBuildICmp(B, LLVMIntEQ, lane(g, lv, j), bval, "");
        LLVMValueRef lower = LLVMBuildAnd(B, at, LLVMBuildICmp(B, LLVMIntSLT, lane(g, li, j), bidx, ""), "");
        bidx = LLVMBuildSelect(B, lower, lane(g, li, j), bidx, "");
    }
    LLVMBuildStore(B, bval, best);
    LLVMBuildStore(B, bidx, res);
    LLVMValueRef k = LLVMBuildAdd(B, n8, loops_count_begin(g, &c, LLVMBuildSub(B, len, n8, "")), "");
    LLVMValueRef e = x1(g, s, k, xd), cur = LLVMBuildLoad2(B, vt, best, "");
    if (flt) {
        LLVMValueRef isnan = LLVMBuildFCmp(B, LLVMRealUNO, e, e, "");
        e = LLVMBuildSelect(B, isnan, skipnan ? far : cur, e, "");
        if (!skipnan)
            leave_at_nan(g, isnan, k, nanat, nanend);
    }
    LLVMValueRef take = BETTER(e, cur);
    LLVMBuildStore(B, LLVMBuildSelect(B, take, e, cur, ""), best);
    LLVMBuildStore(B, LLVMBuildSelect(B, take, k, LLVMBuildLoad2(B, g->i64, res, ""), ""), res);
    loops_count_end(g, &c, NULL);
#undef BETTER
    if (skipnan) { /* the extreme is the infinity a NaN counts as: all NaN? */
        LLVMBasicBlockRef check = loops_block(g, "arg.allnan");
        LLVMBuildCondBr(B, LLVMBuildFCmp(B, LLVMRealOEQ, LLVMBuildLoad2(B, vt, best, ""), far, ""), check, done);
        LLVMPositionBuilderAtEnd(B, check);
        LLVMValueRef some = loops_entry_alloca(g, g->i1, "arg.some");
        LLVMBuildStore(B, LLVMConstInt(g->i1, 0, 0), some);
        LLVMValueRef xj = x1(g, s, loops_count_begin(g, &c, len), xd);
        LLVMBuildStore(B, LLVMBuildOr(B, LLVMBuildLoad2(B, g->i1, some, ""), LLVMBuildFCmp(B, LLVMRealORD, xj, xj, ""), ""),
                       some);
        loops_count_end(g, &c, NULL);
        loops_raise_if(g, LLVMBuildNot(B, LLVMBuildLoad2(B, g->i1, some, ""), ""), "ValueError",
                       "All-NaN slice encountered", line);
    }
    LLVMBuildBr(B, done);
    /* a NaN: at nanat (x[0], or one in the tail), or the first of the block from nanat */
    LLVMPositionBuilderAtEnd(B, nanend);
    if (flt && !skipnan) {
        LLVMValueRef at = LLVMBuildLoad2(B, g->i64, nanat, "");
        LLVMBuildStore(B, at, res);
        LLVMBasicBlockRef blk = loops_block(g, "arg.nanblock");
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLE, LLVMBuildAdd(B, at, i64c(g, 8), ""), n8, ""), blk, done);
        LLVMPositionBuilderAtEnd(B, blk);
        LLVMValueRef w = x8(g, s, at, xd, xd, 0);
        LLVMValueRef bits = LLVMBuildBitCast(B, LLVMBuildFCmp(B, LLVMRealUNO, w, w, ""), g->i8, "");
        unsigned id = LLVMLookupIntrinsicID("llvm.cttz", 9);
        LLVMTypeRef i8t = g->i8;
        LLVMValueRef fn = LLVMGetIntrinsicDeclaration(g->M, id, &i8t, 1), args[2] = {bits, LLVMConstInt(g->i1, 1, 0)};
        LLVMValueRef tz = LLVMBuildCall2(B, LLVMIntrinsicGetType(g->C, id, &i8t, 1), fn, args, 2, "");
        LLVMBuildStore(B, LLVMBuildAdd(B, at, LLVMBuildZExt(B, tz, g->i64, ""), ""), res);
        LLVMBuildBr(B, done);
    } else {
        LLVMBuildUnreachable(B);
    }
    LLVMPositionBuilderAtEnd(B, done);
    return LLVMBuildLoad2(B, g->i64, res, "argextreme");
}

/* min/max (NaN propagates, as np.minimum), nanmin/nanmax (fmin/fmax), and
 * the arg forms: the first index of the extreme (argmin: of the first NaN;
 * nanargmin: NaN skipped, all-NaN a ValueError). An empty line is a
 * ValueError, as NumPy's. */
/* min / max (nan: fmin / fmax) of a float16 line as NumPy's half loops:
 * one pass, the value kept while it is <= (>=) the next one, so of equal
 * values (0.0 and -0.0) the first; NaN kept (nan: skipped). */
static LLVMValueRef half_minmax(loops_gen *g, seq *s, bool mx, bool nan)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef acc = loops_entry_alloca(g, g->f32, "hmm");
    LLVMBuildStore(B, seq_at(g, s, i64c(g, 0)), acc);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, LLVMBuildSub(B, seq_len(s), i64c(g, 1), ""));
    LLVMValueRef a = LLVMBuildLoad2(B, g->f32, acc, ""), v = seq_at(g, s, LLVMBuildAdd(B, k, i64c(g, 1), ""));
    LLVMValueRef keep = LLVMBuildFCmp(B, mx ? LLVMRealOGE : LLVMRealOLE, a, v, "");
    keep = LLVMBuildOr(B, keep, isnan_of(g, nan ? v : a, UG_FLOAT32), "");
    LLVMBuildStore(B, LLVMBuildSelect(B, keep, a, v, ""), acc);
    loops_count_end(g, &c, NULL);
    return LLVMBuildLoad2(B, g->f32, acc, "hminmax");
}

/* A complex value with its NaN parts made zero: NumPy's order tests NaN
 * first, so the ordered comparisons only ever see the other values (and an
 * ordered comparison of a NaN would raise x86's invalid flag). */
static LLVMValueRef cplx_unnan(loops_gen *g, LLVMValueRef v, ug_dtype t)
{
    return LLVMBuildSelect(g->B, isnan_of(g, v, t), num(g, t, 0), v, "unnan");
}

/* NumPy's lexicographic complex order on values without NaN: a's real part
 * beyond b's (mx: above, else below), or equal and a's imaginary part
 * beyond b's or, unless strict, equal to it (loops.c.src's CGE / CLE; the
 * arg forms' strict test in arraytypes.c.src's CDOUBLE_argmax). */
static LLVMValueRef cplx_beyond(loops_gen *g, LLVMValueRef a, LLVMValueRef b, bool mx, bool strict)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef ar = loops_re(g, a), ai = loops_im(g, a), br = loops_re(g, b), bi = loops_im(g, b);
    LLVMRealPredicate o = mx ? LLVMRealOGT : LLVMRealOLT, oe = strict ? o : mx ? LLVMRealOGE : LLVMRealOLE;
    LLVMValueRef tie = LLVMBuildAnd(B, LLVMBuildFCmp(B, LLVMRealOEQ, ar, br, ""), LLVMBuildFCmp(B, oe, ai, bi, ""), "");
    return LLVMBuildOr(B, LLVMBuildFCmp(B, o, ar, br, ""), tie, "cbeyond");
}

/* min / max of a complex line as NumPy's maximum / minimum loops
 * (loops.c.src): one pass, the kept value stays while it has a NaN part or
 * is CGE (CLE) the next one, so the first NaN propagates and of equal
 * values the first stays; nan (fmax / fmin): the next one is taken unless
 * it has a NaN part or the kept one is CGE (CLE) it, so NaNs are skipped
 * (an all-NaN line gives its first value). */
static LLVMValueRef cplx_minmax(loops_gen *g, seq *s, bool mx, bool nan)
{
    LLVMBuilderRef B = g->B;
    ug_dtype xd = (ug_dtype)s->x->ty.dt;
    LLVMTypeRef vt = loops_vty(g, xd);
    LLVMValueRef acc = loops_entry_alloca(g, vt, "cmm");
    LLVMBuildStore(B, seq_at(g, s, i64c(g, 0)), acc);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, LLVMBuildSub(B, seq_len(s), i64c(g, 1), ""));
    LLVMValueRef a = LLVMBuildLoad2(B, vt, acc, ""), v = seq_at(g, s, LLVMBuildAdd(B, k, i64c(g, 1), ""));
    LLVMValueRef an = isnan_of(g, a, xd), vn = isnan_of(g, v, xd);
    LLVMValueRef ge = cplx_beyond(g, cplx_unnan(g, a, xd), cplx_unnan(g, v, xd), mx, false);
    LLVMValueRef keep = nan ? LLVMBuildOr(B, vn, LLVMBuildAnd(B, LLVMBuildNot(B, an, ""), ge, ""), "")
                            : LLVMBuildOr(B, an, LLVMBuildAnd(B, LLVMBuildNot(B, vn, ""), ge, ""), "");
    LLVMBuildStore(B, LLVMBuildSelect(B, keep, a, v, ""), acc);
    loops_count_end(g, &c, NULL);
    return LLVMBuildLoad2(B, vt, acc, "cminmax");
}

/* argmax / argmin of a complex line of len > 0 as NumPy's CDOUBLE_argmax
 * (arraytypes.c.src): the first value with a NaN part is the answer, else
 * the first index of the lexicographic extreme. skipnan (nanargmax /
 * nanargmin, whose _replace_nan puts -inf (+inf) where np.isnan holds):
 * a NaN counts as -inf+0j (+inf+0j), and an all-NaN line is a ValueError. */
static LLVMValueRef cplx_arg(loops_gen *g, seq *s, bool mx, bool skipnan, int line)
{
    LLVMBuilderRef B = g->B;
    ug_dtype xd = (ug_dtype)s->x->ty.dt;
    LLVMTypeRef vt = loops_vty(g, xd);
    LLVMValueRef far = num(g, xd, mx ? -INFINITY : INFINITY);
    LLVMValueRef best = loops_entry_alloca(g, vt, "carg.best"), res = loops_entry_alloca(g, g->i64, "carg.res"),
                 some = loops_entry_alloca(g, g->i1, "carg.some");
    LLVMValueRef x0 = seq_at(g, s, i64c(g, 0));
    LLVMBuildStore(B, skipnan ? LLVMBuildSelect(B, isnan_of(g, x0, xd), far, x0, "") : cplx_unnan(g, x0, xd), best);
    LLVMBuildStore(B, i64c(g, 0), res);
    LLVMBuildStore(B, LLVMConstInt(g->i1, 0, 0), some);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, seq_len(s));
    LLVMValueRef v = seq_at(g, s, k), vn = isnan_of(g, v, xd);
    if (skipnan) {
        LLVMBuildStore(B, LLVMBuildOr(B, LLVMBuildLoad2(B, g->i1, some, ""), LLVMBuildNot(B, vn, ""), ""), some);
        v = LLVMBuildSelect(B, vn, far, v, "");
    } else { /* a NaN: its index is the answer */
        LLVMBasicBlockRef found = loops_block(g, "carg.nan"), go = loops_block(g, "carg.go");
        LLVMBuildCondBr(B, vn, found, go);
        LLVMPositionBuilderAtEnd(B, found);
        LLVMBuildStore(B, k, res);
        LLVMBuildBr(B, c.exit);
        LLVMPositionBuilderAtEnd(B, go);
        v = cplx_unnan(g, v, xd);
    }
    LLVMValueRef b = LLVMBuildLoad2(B, vt, best, ""), better = cplx_beyond(g, v, b, mx, true);
    LLVMBuildStore(B, LLVMBuildSelect(B, better, v, b, ""), best);
    LLVMBuildStore(B, LLVMBuildSelect(B, better, k, LLVMBuildLoad2(B, g->i64, res, ""), ""), res);
    loops_count_end(g, &c, NULL);
    if (skipnan)
        loops_raise_if(g, LLVMBuildNot(B, LLVMBuildLoad2(B, g->i1, some, ""), ""), "ValueError",
                       "All-NaN slice encountered", line);
    return LLVMBuildLoad2(B, g->i64, res, "cargextreme");
}

static bool is_extreme(int b)
{
    return b == B_AMIN || b == B_AMAX || b == B_NANMIN || b == B_NANMAX || b == B_ARGMIN || b == B_ARGMAX ||
           b == B_NANARGMIN || b == B_NANARGMAX;
}

/* NumPy's error for an extreme (no identity) of an empty line: raised
 * along an axis of length 0 even when there are no lines to reduce. */
static void empty_extreme(loops_gen *g, const kernel_node *n, seq *s)
{
    int b = n->builtin;
    ug_dtype xd = (ug_dtype)s->x->ty.dt;
    bool mx = b == B_AMAX || b == B_ARGMAX || b == B_NANMAX || b == B_NANARGMAX;
    bool arg = b == B_ARGMIN || b == B_ARGMAX || b == B_NANARGMIN || b == B_NANARGMAX;
    bool nan = (b == B_NANMIN || b == B_NANMAX) && (is_flt(xd) || is_cplx(xd));
    static const char *const what[] = {"minimum", "maximum", "fmin", "fmax"};
    char msg[96];
    if (arg)
        snprintf(msg, sizeof msg, "attempt to get %s of an empty sequence", kernel_builtin_name(b));
    else
        snprintf(msg, sizeof msg, "zero-size array to reduction operation %s which has no identity", what[mx + 2 * nan]);
    loops_raise_if(g, LLVMBuildICmp(g->B, LLVMIntSLE, seq_len(s), i64c(g, 0), ""), "ValueError", msg, n->pos.line);
}

static LLVMValueRef line_extreme(loops_gen *g, const kernel_node *n, seq *s)
{
    int b = n->builtin;
    ug_dtype xd = (ug_dtype)s->x->ty.dt;
    bool mx = b == B_AMAX || b == B_ARGMAX || b == B_NANMAX || b == B_NANARGMAX;
    bool arg = b == B_ARGMIN || b == B_ARGMAX || b == B_NANARGMIN || b == B_NANARGMAX;
    bool cx = is_cplx(xd);
    bool nan = (b == B_NANMIN || b == B_NANMAX || b == B_NANARGMIN || b == B_NANARGMAX) && (is_flt(xd) || cx);
    empty_extreme(g, n, s);
    if (!arg) {
        LLVMValueRef r = cx                 ? cplx_minmax(g, s, mx, nan)
                         : xd == UG_FLOAT16 ? half_minmax(g, s, mx, nan)
                                            : line_minmax(g, s, nan ? (mx ? B_FMAX : B_FMIN) : (mx ? B_MAXIMUM : B_MINIMUM),
                                                          !nan && is_flt(xd));
        if (nan)
            warn_if(g, isnan_of(g, r, xd), "All-NaN slice encountered");
        return r;
    }
    return cx ? cplx_arg(g, s, mx, nan, n->pos.line) : arg_extreme(g, s, xd, mx, nan, n->pos.line);
}

/* sum / N in T (np.mean: a NaN for an empty line, 0/0). */
static LLVMValueRef divide(loops_gen *g, LLVMValueRef s, LLVMValueRef count, ug_dtype T)
{
    if (T == UG_COMPLEX64) /* NumPy divides a complex64 sum by the intp count in complex128 */
        return loops_emit_cast(g, divide(g, loops_emit_cast(g, s, T, UG_COMPLEX128), count, UG_COMPLEX128),
                               UG_COMPLEX128, T);
    return loops_emit_binop(g, TK_SLASH, s, loops_emit_cast(g, count, UG_INT64, T), T);
}

/* NumPy's RuntimeWarning msg where cond holds (taken after the loop: the
 * NumPy bridge warns, C callers ask ug_take_loop_warning). */
static void warn_if(loops_gen *g, LLVMValueRef cond, const char *msg)
{
    LLVMBasicBlockRef yes = loops_block(g, "warn"), no = loops_block(g, "warn.done");
    LLVMBuildCondBr(g->B, cond, yes, no);
    LLVMPositionBuilderAtEnd(g->B, yes);
    LLVMTypeRef ps[1] = {g->ptr};
    LLVMValueRef args[1] = {LLVMBuildGlobalStringPtr(g->B, msg, "warning")};
    loops_rt_call(g, "rt_warn", g->vd, ps, args, 1, true);
    LLVMBuildBr(g->B, no);
    LLVMPositionBuilderAtEnd(g->B, no);
}

/* s / count in T, NaN where count <= 0 without dividing by it (the nan
 * forms: NumPy divides there with 'invalid' ignored). */
static LLVMValueRef quiet_divide(loops_gen *g, LLVMValueRef s, LLVMValueRef count, ug_dtype T)
{
    LLVMValueRef none = LLVMBuildICmp(g->B, LLVMIntSLE, count, i64c(g, 0), "");
    LLVMValueRef d = divide(g, s, LLVMBuildSelect(g->B, none, i64c(g, 1), count, ""), T);
    LLVMValueRef nan = num(g, T, NAN);
    if (is_cplx(T)) /* NumPy's 0/0 in complex: NaN in both parts */
        nan = loops_complex(g, T, loops_re(g, nan), loops_re(g, nan));
    return LLVMBuildSelect(g->B, none, nan, d, "");
}

/* A line's sum in t->T; of float16 elements (t->half) accumulated in
 * float32 and rounded to float16, as NumPy's half add.reduce. */
static LLVMValueRef sum_of(loops_gen *g, const term *t)
{
    LLVMValueRef r = line_sum(g, t);
    return t->half ? loops_emit_cast(g, r, UG_FLOAT32, UG_FLOAT16) : r;
}

/* s / count in T (quiet: NaN where count <= 0); a float16 s divided in
 * float64 and rounded, as NumPy divides a float16 by an intp count. */
static LLVMValueRef count_divide(loops_gen *g, LLVMValueRef s, LLVMValueRef count, ug_dtype T, bool quiet)
{
    if (T == UG_FLOAT16)
        return loops_emit_cast(g, count_divide(g, loops_emit_cast(g, s, T, UG_FLOAT64), count, UG_FLOAT64, quiet),
                               UG_FLOAT64, T);
    return quiet ? quiet_divide(g, s, count, T) : divide(g, s, count, T);
}

/* var / std and the nan forms (NumPy's _var / _nanvar arithmetic). The mean
 * is in M: T, or the complex dtype of the elements, whose squared deviations
 * are real: var adds the parts' squares, nanvar takes the real part of
 * x*conj(x) (one fused multiply-add where NumPy's loop has it). Of float16
 * elements every step is NumPy's float16 one: the sums float16 (float32
 * inside), the divisions in float64, deviation and square rounded. */
static LLVMValueRef line_var(loops_gen *g, const kernel_node *n, seq *s, ug_dtype T)
{
    int b = n->builtin;
    ug_dtype xd = (ug_dtype)s->x->ty.dt, M = is_cplx(xd) ? xd : T;
    bool nan = (b == B_NANVAR || b == B_NANSTD) && (is_flt(xd) || is_cplx(xd));
    int half = xd == UG_FLOAT16;
    ug_dtype A = half ? UG_FLOAT32 : M; /* the accumulator */
    LLVMValueRef ddof = n->b ? loops_conv(g, n->b, UG_INT64) : i64c(g, 0);
    if (!ddof)
        return NULL;
    LLVMValueRef cnt = seq_len(s);
    if (nan)
        cnt = line_sum(g, &(term){.s = s, .kind = T_NOTNAN, .T = UG_INT64});
    term t = {.s = s, .kind = nan ? T_NANZERO : T_X, .T = A, .half = half};
    LLVMValueRef m = count_divide(g, sum_of(g, &t), cnt, M, nan);
    t = (term){.s = s, .kind = nan ? T_NANSQDEV : T_SQDEV, .T = half ? A : T, .m = m, .half = half};
    LLVMValueRef dof = LLVMBuildSub(g->B, cnt, ddof, "dof");
    LLVMValueRef zero = i64c(g, 0);
    LLVMValueRef bad = LLVMBuildICmp(g->B, LLVMIntSLE, dof, zero, "");
    warn_if(g, bad, nan ? "Degrees of freedom <= 0 for slice." : "Degrees of freedom <= 0 for slice");
    /* nanvar: no degrees of freedom left is NaN */
    LLVMValueRef v = count_divide(g, sum_of(g, &t), nan ? dof : LLVMBuildSelect(g->B, bad, zero, dof, ""), T, nan);
    if (b == B_STD || b == B_NANSTD)
        v = loops_emit_builtin(g, B_SQRT, &v, 1, T, T);
    return v;
}

/* The sums, products and means of a 1-d float16 line, as NumPy: add.reduce
 * and multiply.reduce accumulate in float32 over the whole line and round
 * once; mean sums with dtype=float32 (cast in buffers of 8192), divides in
 * float32 and rounds; nanmean divides the float16 sum by the count in
 * float64 (_divide_by_count) and rounds. */
static LLVMValueRef half_line(loops_gen *g, const kernel_node *n, seq *s)
{
    const ug_dtype F = UG_FLOAT32, H = UG_FLOAT16;
    term t = {.s = s, .kind = T_X, .T = F, .half = 1};
    switch (n->builtin) {
    case B_NANSUM: t.kind = T_NANZERO; /* fall through */
    case B_SUM: return loops_emit_cast(g, line_sum(g, &t), F, H);
    case B_NANPROD: t.kind = T_NANONE; /* fall through */
    case B_PROD: return loops_emit_cast(g, line_prod(g, &t), F, H);
    case B_MEAN:
        t.half = 2;
        warn_if(g, LLVMBuildICmp(g->B, LLVMIntSLE, seq_len(s), i64c(g, 0), ""), "Mean of empty slice");
        return loops_emit_cast(g, divide(g, line_sum(g, &t), seq_len(s), F), F, H);
    default: { /* B_NANMEAN */
        LLVMValueRef cnt = line_sum(g, &(term){.s = s, .kind = T_NOTNAN, .T = UG_INT64});
        warn_if(g, LLVMBuildICmp(g->B, LLVMIntSLE, cnt, i64c(g, 0), ""), "Mean of empty slice");
        t.kind = T_NANZERO;
        return count_divide(g, sum_of(g, &t), cnt, H, true);
    }
    }
}

/* One reduction of the line s (B_SUM .. B_COUNT_NONZERO). */
static LLVMValueRef reduce_line(loops_gen *g, const kernel_node *n, seq *s)
{
    ug_dtype T = (ug_dtype)n->opty.dt, xd = (ug_dtype)s->x->ty.dt;
    int b = n->builtin;
    if (T == UG_FLOAT16 && (b == B_SUM || b == B_NANSUM || b == B_PROD || b == B_NANPROD || b == B_MEAN || b == B_NANMEAN))
        return half_line(g, n, s);
    bool fx = is_flt(xd) || is_cplx(xd); /* NaN skipped by the nan forms */
    switch (n->builtin) {
    case B_SUM: return line_sum(g, &(term){.s = s, .kind = T_X, .T = T});
    case B_NANSUM: return line_sum(g, &(term){.s = s, .kind = fx ? T_NANZERO : T_X, .T = T});
    case B_PROD: return line_prod(g, &(term){.s = s, .kind = T_X, .T = T});
    case B_NANPROD: return line_prod(g, &(term){.s = s, .kind = fx ? T_NANONE : T_X, .T = T});
    case B_MEAN:
    case B_NANMEAN: {
        if (n->builtin == B_MEAN || !fx) {
            warn_if(g, LLVMBuildICmp(g->B, LLVMIntSLE, seq_len(s), i64c(g, 0), ""), "Mean of empty slice");
            return divide(g, line_sum(g, &(term){.s = s, .kind = T_X, .T = T}), seq_len(s), T);
        }
        LLVMValueRef cnt = line_sum(g, &(term){.s = s, .kind = T_NOTNAN, .T = UG_INT64});
        warn_if(g, LLVMBuildICmp(g->B, LLVMIntSLE, cnt, i64c(g, 0), ""), "Mean of empty slice");
        return quiet_divide(g, line_sum(g, &(term){.s = s, .kind = T_NANZERO, .T = T}), cnt, T);
    }
    case B_VAR: case B_STD: case B_NANVAR: case B_NANSTD: return line_var(g, n, s, T);
    case B_ANY: return line_anyall(g, s, false);
    case B_ALL: return line_anyall(g, s, true);
    case B_COUNT_NONZERO: return line_sum(g, &(term){.s = s, .kind = T_TRUTH, .T = UG_INT64});
    default: return line_extreme(g, n, s);
    }
}

/* reduce_line twice: once where every array leaf walks the line with unit
 * stride (the strides then constants, so LLVM vectorises the loads, as
 * NumPy's contiguous loops are), once for any strides. */
static LLVMValueRef versioned_line(loops_gen *g, const kernel_node *n, seq *s)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef contig = LLVMConstInt(g->i1, 1, 0), saved[LOOPS_EW_MAX];
    int axis[LOOPS_EW_MAX];
    bool any = false;
    for (int k = 0; k < s->ew.n; k++) {
        loops_arr *a = &s->ew.arr[k];
        axis[k] = s->axis - (s->nd - a->ndim);
        if (axis[k] < 0 || LLVMIsAConstant(a->stride[axis[k]]))
            continue;
        LLVMValueRef es = i64c(g, (long long)ug_dtype_size((ug_dtype)s->ew.leaf[k]->ty.dt));
        contig = LLVMBuildAnd(B, contig, LLVMBuildICmp(B, LLVMIntEQ, a->stride[axis[k]], es, ""), "contig");
        any = true;
    }
    if (!any)
        return reduce_line(g, n, s);
    LLVMBasicBlockRef fast = loops_block(g, "red.contig"), slow = loops_block(g, "red.strided"),
                      join = loops_block(g, "red.join");
    LLVMBuildCondBr(B, contig, fast, slow);
    LLVMPositionBuilderAtEnd(B, fast);
    for (int k = 0; k < s->ew.n; k++)
        if (axis[k] >= 0) {
            saved[k] = s->ew.arr[k].stride[axis[k]];
            s->ew.arr[k].stride[axis[k]] = i64c(g, (long long)ug_dtype_size((ug_dtype)s->ew.leaf[k]->ty.dt));
        }
    LLVMValueRef v1 = reduce_line(g, n, s);
    for (int k = 0; k < s->ew.n; k++)
        if (axis[k] >= 0)
            s->ew.arr[k].stride[axis[k]] = saved[k];
    if (!v1)
        return NULL;
    LLVMBasicBlockRef end1 = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, slow);
    LLVMValueRef v2 = reduce_line(g, n, s);
    if (!v2)
        return NULL;
    LLVMBasicBlockRef end2 = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, join);
    LLVMValueRef phi = LLVMBuildPhi(B, LLVMTypeOf(v1), "red");
    LLVMValueRef vals[2] = {v1, v2};
    LLVMBasicBlockRef bbs[2] = {end1, end2};
    LLVMAddIncoming(phi, vals, bbs, 2);
    return phi;
}

static LLVMValueRef median(loops_gen *g, const kernel_node *n, seq *s);
static LLVMValueRef quantile(loops_gen *g, const kernel_node *n, seq *s);
static LLVMValueRef norm_line(loops_gen *g, const kernel_node *n, seq *s);

/* ---------------------------------------------------------- axis reductions */

typedef struct axis_ctx {
    const kernel_node *n;
    seq *s;
    loops_arr *out;
    ug_dtype rdt;
    bool ok;
} axis_ctx;

static void axis_one(loops_gen *g, LLVMValueRef *oidx, void *p)
{
    axis_ctx *c = p;
    for (int d = 0, o = 0; d < c->s->nd; d++)
        if (d != c->s->axis)
            c->s->idx[d] = oidx[o++];
    int b = c->n->builtin;
    LLVMValueRef v = b == B_MEDIAN || b == B_NANMEDIAN ? median(g, c->n, c->s)
                     : b >= B_QUANTILE && b <= B_NANPERCENTILE ? quantile(g, c->n, c->s)
                     : b == B_NORM                             ? norm_line(g, c->n, c->s)
                                                                : versioned_line(g, c->n, c->s);
    if (!v) {
        c->ok = false;
        return;
    }
    loops_store_elem(g, v, loops_elem_at(g, c->out, oidx), c->rdt);
}

/* a.sum(axis=k), np.median(a, axis=k), np.linalg.norm(a, axis=k) and friends: a new array without axis k. */
bool loops_reduce_axis(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    seq s;
    if (!seq_init(g, &s, n->kids[0], (int)n->ival, true))
        return false;
    if (is_extreme(n->builtin))
        empty_extreme(g, n, &s);
    if (n->builtin == B_NORM && n->fval < 0 && isinf(n->fval)) /* NumPy's empty min: also with no lines */
        loops_raise_if(g, LLVMBuildICmp(g->B, LLVMIntSLE, seq_len(&s), i64c(g, 0), ""), "ValueError",
                "zero-size array to reduction operation minimum which has no identity", n->pos.line);
    ug_dtype rdt = (ug_dtype)n->ty.dt;
    LLVMValueRef dims[UG_MAXDIMS];
    int nd = 0;
    for (int d = 0; d < s.nd; d++)
        if (d != s.axis)
            dims[nd++] = s.shape.shape[d];
    out->ndim = nd;
    out->base = loops_alloc_block(g, dims, nd, rdt, n->pos.line);
    LLVMValueRef st = i64c(g, (long long)ug_dtype_size(rdt));
    for (int d = nd - 1; d >= 0; d--) {
        out->shape[d] = dims[d];
        out->stride[d] = st;
        st = LLVMBuildMul(g->B, st, dims[d], "");
    }
    axis_ctx c = {.n = n, .s = &s, .out = out, .rdt = rdt, .ok = true};
    loops_nd_loop(g, nd, dims, axis_one, &c);
    return c.ok;
}

/* ------------------------------------------------------- order statistics */

/* The line's elements (nan forms: the non-NaN ones) in a new contiguous
 * block; *count how many. */
static LLVMValueRef gather_line(loops_gen *g, const kernel_node *n, seq *s, bool skip_nan, LLVMValueRef *count,
                                LLVMValueRef *hasnan)
{
    LLVMBuilderRef B = g->B;
    ug_dtype xd = (ug_dtype)s->x->ty.dt;
    LLVMValueRef len = seq_len(s);
    LLVMValueRef p = loops_alloc_block(g, &len, 1, xd, n->pos.line);
    LLVMValueRef cnt = loops_entry_alloca(g, g->i64, "kept"), seen = loops_entry_alloca(g, g->i1, "seen.nan");
    LLVMBuildStore(B, i64c(g, 0), cnt);
    LLVMBuildStore(B, LLVMConstInt(g->i1, 0, 0), seen);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, len);
    LLVMValueRef v = seq_at(g, s, k), at = LLVMBuildLoad2(B, g->i64, cnt, "");
    loops_store_elem(g, v, LLVMBuildInBoundsGEP2(B, loops_mty(g, xd), p, &at, 1, ""), xd);
    LLVMValueRef keep = skip_nan ? LLVMBuildZExt(B, LLVMBuildNot(B, isnan_of(g, v, xd), ""), g->i64, "") : i64c(g, 1);
    LLVMBuildStore(B, LLVMBuildAdd(B, at, keep, ""), cnt);
    if (!skip_nan) /* a NaN kept makes the statistic NaN */
        LLVMBuildStore(B, LLVMBuildOr(B, LLVMBuildLoad2(B, g->i1, seen, ""), isnan_of(g, v, xd), ""), seen);
    loops_count_end(g, &c, NULL);
    *count = LLVMBuildLoad2(B, g->i64, cnt, "count");
    *hasnan = LLVMBuildLoad2(B, g->i1, seen, "hasnan");
    return p;
}

static LLVMValueRef elem(loops_gen *g, LLVMValueRef p, LLVMValueRef i, ug_dtype dt)
{
    return loops_load_elem(g, LLVMBuildInBoundsGEP2(g->B, loops_mty(g, dt), p, &i, 1, ""), dt);
}

/* Partition p[0..m-1] at the indices k[0..nk-1] (sort.c). */
static void partition_at(loops_gen *g, LLVMValueRef p, LLVMValueRef m, ug_dtype dt, LLVMValueRef *k, int nk)
{
    LLVMTypeRef at = LLVMArrayType2(g->i64, 4);
    LLVMValueRef kv = loops_entry_alloca(g, at, "kth");
    for (int j = 0; j < nk; j++)
        LLVMBuildStore(g->B, k[j], LLVMBuildInBoundsGEP2(g->B, at, kv, (LLVMValueRef[]){i64c(g, 0), i64c(g, j)}, 2, ""));
    LLVMTypeRef ps[5] = {g->ptr, g->i64, g->i32, g->ptr, g->i64};
    LLVMValueRef args[5] = {p, m, LLVMConstInt(g->i32, (unsigned)dt, 0), kv, i64c(g, nk)};
    loops_rt_call(g, "rt_partition", g->vd, ps, args, 5, false);
}

/* NumPy's warnings for an order statistic with nothing to work on: no data
 * at all, or only NaNs (the nan forms). */
static void empty_warnings(loops_gen *g, LLVMValueRef empty, LLVMValueRef len)
{
    LLVMValueRef none = LLVMBuildICmp(g->B, LLVMIntSLE, len, i64c(g, 0), "");
    warn_if(g, LLVMBuildAnd(g->B, empty, none, ""), "Mean of empty slice");
    warn_if(g, LLVMBuildAnd(g->B, empty, LLVMBuildNot(g->B, none, ""), ""), "All-NaN slice encountered");
}

/* The current block closed with a branch to join, which starts with the
 * phi of v (from here) and ov (from block ob). */
static LLVMValueRef join_phi(loops_gen *g, LLVMValueRef v, LLVMValueRef ov, LLVMBasicBlockRef ob, LLVMBasicBlockRef join,
                             ug_dtype T)
{
    LLVMBasicBlockRef here = LLVMGetInsertBlock(g->B);
    LLVMBuildBr(g->B, join);
    LLVMPositionBuilderAtEnd(g->B, join);
    LLVMValueRef phi = LLVMBuildPhi(g->B, loops_vty(g, T), "stat");
    LLVMValueRef vals[2] = {ov, v};
    LLVMBasicBlockRef bbs[2] = {ob, here};
    LLVMAddIncoming(phi, vals, bbs, 2);
    return phi;
}

/* The result r of an order statistic (nanv if the kept data had a NaN),
 * joined with fromv from block `from` (nothing to take the statistic of). */
static LLVMValueRef stat_result(loops_gen *g, LLVMValueRef r, LLVMValueRef hasnan, LLVMValueRef nanv, ug_dtype T,
                                LLVMBasicBlockRef from, LLVMValueRef fromv, LLVMBasicBlockRef join)
{
    return join_phi(g, LLVMBuildSelect(g->B, hasnan, nanv, r, ""), fromv, from, join, T);
}

#define MA_MEDIAN_MAX 600 /* NumPy's nanmedian along an axis: np.ma.median for shorter lines */

/* A median with no number to take it of, emitted in its own blocks: NaN
 * (of complex data NaN in both parts, np.mean of nothing), but a nanmedian
 * line of NaNs only gives NumPy's answer: the line's last element
 * (_nanmedian1d's arr1d[-1]), or np.nan (+0j) along an axis shorter than
 * MA_MEDIAN_MAX (np.ma.median's masked result filled). */
static LLVMValueRef median_of_nothing(loops_gen *g, const kernel_node *n, seq *s, ug_dtype T)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef nan = num(g, T, NAN), len = seq_len(s), zero = i64c(g, 0);
    LLVMValueRef none = is_cplx(T) ? loops_complex(g, T, loops_re(g, nan), loops_re(g, nan)) : nan;
    if (n->builtin != B_NANMEDIAN)
        return none;
    LLVMValueRef some = LLVMBuildICmp(B, LLVMIntSGT, len, zero, "");
    LLVMValueRef last = some;
    if (n->ival >= 0)
        last = LLVMBuildAnd(B, some, LLVMBuildICmp(B, LLVMIntSGE, len, i64c(g, MA_MEDIAN_MAX), ""), "");
    LLVMValueRef v0 = LLVMBuildSelect(B, some, nan, none, "");
    LLVMBasicBlockRef from = LLVMGetInsertBlock(B), take = loops_block(g, "median.last"),
                      join = loops_block(g, "median.nothing");
    LLVMBuildCondBr(B, last, take, join);
    LLVMPositionBuilderAtEnd(B, take);
    LLVMValueRef v = loops_emit_cast(g, seq_at(g, s, LLVMBuildSub(B, len, i64c(g, 1), "")), (ug_dtype)s->x->ty.dt, T);
    return join_phi(g, v, v0, from, join, T);
}

/* np.mean of the middle value a (odd) or values a, b: 0 + a [+ b] over the
 * count; float16 values summed and divided in float32 and rounded once, as
 * np.mean of float16 does. */
static LLVMValueRef middle_mean(loops_gen *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef odd, ug_dtype T)
{
    ug_dtype A = T == UG_FLOAT16 ? UG_FLOAT32 : T;
    LLVMValueRef s1 = add(g, num(g, A, 0), a, A), s2 = add(g, s1, b, A);
    LLVMValueRef r = LLVMBuildSelect(g->B, odd, divide(g, s1, i64c(g, 1), A), divide(g, s2, i64c(g, 2), A), "");
    return loops_emit_cast(g, r, A, T);
}

/* np.ma.median's middle: the sum 0 + a + b in T (b is a again when the
 * count is odd; a float16 sum accumulated in float32 and rounded), then
 * divided by 2.0 in T. */
static LLVMValueRef middle_ma(loops_gen *g, LLVMValueRef a, LLVMValueRef b, ug_dtype T)
{
    ug_dtype A = T == UG_FLOAT16 ? UG_FLOAT32 : T;
    LLVMValueRef sum = loops_emit_cast(g, add(g, add(g, num(g, A, 0), a, A), b, A), A, T);
    return loops_emit_binop(g, TK_SLASH, sum, num(g, T, 2), T);
}

/* median / nanmedian of a partitioned copy as NumPy: the mean of the
 * middle one or two (np.ma.median's sum / 2.0 for nanmedian along an axis
 * shorter than MA_MEDIAN_MAX); if the data has a NaN (median) the
 * partition's last element, as _median_nancheck takes it (of complex data
 * the largest in NumPy's order; for floats a NaN); with no number left,
 * median_of_nothing. */
static LLVMValueRef median(loops_gen *g, const kernel_node *n, seq *s)
{
    LLVMBuilderRef B = g->B;
    ug_dtype xd = (ug_dtype)s->x->ty.dt, T = (ug_dtype)n->opty.dt;
    bool nan = n->builtin == B_NANMEDIAN;
    LLVMValueRef m, hasnan, p = gather_line(g, n, s, nan && (is_flt(xd) || is_cplx(xd)), &m, &hasnan);
    LLVMValueRef one = i64c(g, 1), zero = i64c(g, 0);
    LLVMValueRef half = LLVMBuildSDiv(B, m, i64c(g, 2), "half");
    LLVMValueRef odd = LLVMBuildICmp(B, LLVMIntNE, LLVMBuildSRem(B, m, i64c(g, 2), ""), zero, "odd");
    LLVMValueRef lo = LLVMBuildSelect(B, odd, half, LLVMBuildSub(B, half, one, ""), "lo");
    LLVMValueRef empty = LLVMBuildICmp(B, LLVMIntSLE, m, zero, "");
    empty_warnings(g, empty, seq_len(s));
    LLVMBasicBlockRef work = loops_block(g, "median.work"), none = loops_block(g, "median.none"),
                      join = loops_block(g, "median.end");
    LLVMBuildCondBr(B, empty, none, work);
    LLVMPositionBuilderAtEnd(B, none);
    LLVMValueRef nothing = median_of_nothing(g, n, s, T);
    LLVMBasicBlockRef from = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, work);
    LLVMValueRef last = LLVMBuildSub(B, m, one, "last");
    LLVMValueRef ks[3] = {lo, half, LLVMBuildSelect(B, hasnan, last, half, "")};
    partition_at(g, p, m, xd, ks, 3);
    LLVMValueRef a = loops_emit_cast(g, elem(g, p, lo, xd), xd, T);
    LLVMValueRef bv = loops_emit_cast(g, elem(g, p, half, xd), xd, T);
    LLVMValueRef r = middle_mean(g, a, bv, odd, T);
    if (nan && n->ival >= 0) {
        LLVMValueRef ma = LLVMBuildICmp(B, LLVMIntSLT, seq_len(s), i64c(g, MA_MEDIAN_MAX), "ma");
        r = LLVMBuildSelect(B, ma, middle_ma(g, a, bv, T), r, "");
    }
    LLVMValueRef nanv = loops_emit_cast(g, elem(g, p, last, xd), xd, T);
    return stat_result(g, r, hasnan, nanv, T, from, nothing, join);
}

/* quantile / percentile and the nan forms with a scalar q, NumPy's
 * 'linear' method with a Python-float q (weak: computed in T). */
static LLVMValueRef quantile(loops_gen *g, const kernel_node *n, seq *s)
{
    LLVMBuilderRef B = g->B;
    int b = n->builtin;
    ug_dtype xd = (ug_dtype)s->x->ty.dt, T = (ug_dtype)n->opty.dt;
    bool nanfn = b == B_NANQUANTILE || b == B_NANPERCENTILE, nan = nanfn && is_flt(xd);
    bool pct = b == B_PERCENTILE || b == B_NANPERCENTILE;
    LLVMValueRef q = loops_conv(g, n->b, UG_FLOAT64);
    if (!q)
        return NULL;
    if (pct)
        q = loops_emit_binop(g, TK_SLASH, q, num(g, UG_FLOAT64, 100), UG_FLOAT64);
    LLVMValueRef inr = LLVMBuildAnd(B, LLVMBuildFCmp(B, LLVMRealOGE, q, num(g, UG_FLOAT64, 0), ""),
                                    LLVMBuildFCmp(B, LLVMRealOLE, q, num(g, UG_FLOAT64, 1), ""), "");
    loops_raise_if(g, LLVMBuildNot(B, inr, ""), "ValueError",
            pct ? "Percentiles must be in the range [0, 100]" : "Quantiles must be in the range [0, 1]", n->pos.line);
    LLVMValueRef m, hasnan, p = gather_line(g, n, s, nan, &m, &hasnan);
    LLVMValueRef zero = i64c(g, 0), one = i64c(g, 1);
    if (!nanfn) /* np.nanquantile of nothing is NaN (np.nanmean's answer), np.quantile an IndexError */
        loops_raise_if(g, LLVMBuildICmp(B, LLVMIntSLE, m, zero, ""), "IndexError",
                "cannot take a quantile of an empty array", n->pos.line);
    LLVMValueRef empty = LLVMBuildICmp(B, LLVMIntSLE, m, zero, "");
    empty_warnings(g, empty, seq_len(s));
    LLVMBasicBlockRef work = loops_block(g, "quantile.work"), join = loops_block(g, "quantile.end"),
                      from = LLVMGetInsertBlock(B);
    LLVMBuildCondBr(B, empty, join, work);
    LLVMPositionBuilderAtEnd(B, work);
    LLVMValueRef last = LLVMBuildSub(B, m, one, "last");
    LLVMValueRef vi = loops_emit_binop(g, TK_STAR, loops_emit_cast(g, last, UG_INT64, UG_FLOAT64), q, UG_FLOAT64);
    LLVMValueRef fl = loops_emit_builtin(g, B_FLOOR, &vi, 1, UG_FLOAT64, UG_FLOAT64);
    LLVMValueRef prev = LLVMBuildFPToSI(B, fl, g->i64, ""), next = LLVMBuildAdd(B, prev, one, "");
    LLVMValueRef above = LLVMBuildFCmp(B, LLVMRealOGE, vi, loops_emit_cast(g, last, UG_INT64, UG_FLOAT64), "");
    prev = LLVMBuildSelect(B, above, last, prev, "prev"); /* NumPy's -1: the last */
    next = LLVMBuildSelect(B, above, last, next, "next");
    /* gamma = vi - prev, with prev as NumPy has it (-1 above the bounds) */
    LLVMValueRef pf = LLVMBuildSelect(B, above, num(g, UG_FLOAT64, -1), fl, "");
    LLVMValueRef gamma = loops_emit_binop(g, TK_MINUS, vi, pf, UG_FLOAT64);
    LLVMValueRef ks[2] = {prev, next};
    partition_at(g, p, m, xd, ks, 2);
    LLVMValueRef av = elem(g, p, prev, xd), bv = elem(g, p, next, xd);
    LLVMValueRef diff = loops_emit_cast(g, loops_emit_binop(g, TK_MINUS, bv, av, xd), xd, T);
    LLVMValueRef gt = loops_emit_cast(g, gamma, UG_FLOAT64, T);
    LLVMValueRef lo = add(g, loops_emit_cast(g, av, xd, T), loops_emit_binop(g, TK_STAR, diff, gt, T), T);
    LLVMValueRef om = loops_emit_cast(g, loops_emit_binop(g, TK_MINUS, num(g, UG_FLOAT64, 1), gamma, UG_FLOAT64),
                                      UG_FLOAT64, T);
    LLVMValueRef hi = loops_emit_binop(g, TK_MINUS, loops_emit_cast(g, bv, xd, T), loops_emit_binop(g, TK_STAR, diff, om, T), T);
    LLVMValueRef r = LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealOGE, gamma, num(g, UG_FLOAT64, 0.5), ""), hi, lo, "");
    return stat_result(g, r, hasnan, num(g, T, NAN), T, from, num(g, T, NAN), join);
}

/* -------------------------------------------------------------- linalg */

static LLVMValueRef fmuladd(loops_gen *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    unsigned id = LLVMLookupIntrinsicID("llvm.fmuladd", 12);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(g->M, id, &t, 1), args[3] = {a, b, c};
    return LLVMBuildCall2(g->B, LLVMIntrinsicGetType(g->C, id, &t, 1), fn, args, 3, "");
}

/* The float dot product of s and s2 (equal lengths n). NumPy calls BLAS,
 * whose order is not the pairwise sum's either (results agree to
 * rounding), so this takes BLAS's shape: 4 vectors of 8 accumulators of
 * multiply-adds (fused where the CPU can: four chains hide the add
 * latency that one pairwise leaf waits on), summed as a tree, then the
 * rest one by one. pa, pb: the parts of s and s2 multiplied, as x8's,
 * for a complex dot product (C). */
static LLVMValueRef dot_sum(loops_gen *g, seq *s, seq *s2, LLVMValueRef n, ug_dtype T, ug_dtype C, int pa, int pb)
{
    LLVMBuilderRef B = g->B;
    LLVMTypeRef vt = loops_vty(g, T), v8 = LLVMVectorType(vt, 8);
    LLVMValueRef acc[4], res = loops_entry_alloca(g, vt, "dot.res");
    for (int a = 0; a < 4; a++) {
        acc[a] = loops_entry_alloca(g, v8, "dot.acc");
        LLVMBuildStore(B, LLVMConstNull(v8), acc[a]);
    }
    LLVMValueRef n32 = LLVMBuildAnd(B, n, i64c(g, -32), "n32");
    loops_counted c;
    LLVMValueRef base = LLVMBuildShl(B, loops_count_begin(g, &c, LLVMBuildLShr(B, n32, i64c(g, 5), "")), i64c(g, 5), "");
    for (int a = 0; a < 4; a++) {
        LLVMValueRef k = LLVMBuildAdd(B, base, i64c(g, 8 * a), "");
        LLVMValueRef x = x8(g, s, k, T, C, pa), y = x8(g, s2, k, T, C, pb);
        LLVMBuildStore(B, fmuladd(g, x, y, LLVMBuildLoad2(B, v8, acc[a], "")), acc[a]);
    }
    loops_count_end(g, &c, NULL);
    LLVMValueRef v[4];
    for (int a = 0; a < 4; a++)
        v[a] = LLVMBuildLoad2(B, v8, acc[a], "");
    LLVMValueRef lanes = LLVMBuildFAdd(B, LLVMBuildFAdd(B, v[0], v[1], ""), LLVMBuildFAdd(B, v[2], v[3], ""), "");
    LLVMValueRef q[8];
    for (int j = 0; j < 8; j++)
        q[j] = LLVMBuildExtractElement(B, lanes, LLVMConstInt(g->i32, (unsigned)j, 0), "");
    LLVMBuildStore(B, add(g, add(g, add(g, q[0], q[1], T), add(g, q[2], q[3], T), T),
                          add(g, add(g, q[4], q[5], T), add(g, q[6], q[7], T), T), T), res);
    LLVMValueRef k = LLVMBuildAdd(B, n32, loops_count_begin(g, &c, LLVMBuildSub(B, n, n32, "")), "");
    LLVMBuildStore(B, fmuladd(g, xpart(g, s, k, T, C, pa), xpart(g, s2, k, T, C, pb), LLVMBuildLoad2(B, vt, res, "")), res);
    loops_count_end(g, &c, NULL);
    return LLVMBuildLoad2(B, vt, res, "dot");
}

/* The float16 dot product as NumPy's HALF_dot (arraytypes.c.src): the
 * products in float32 (exact: 11-bit significands), added in order to a
 * float32 zero, rounded to float16 once. */
static LLVMValueRef half_dot(loops_gen *g, seq *s, seq *s2)
{
    LLVMValueRef acc = loops_entry_alloca(g, g->f32, "hdot");
    LLVMBuildStore(g->B, num(g, UG_FLOAT32, 0), acc);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, seq_len(s));
    LLVMValueRef p = loops_emit_binop(g, TK_STAR, x1(g, s, k, UG_FLOAT32), x1(g, s2, k, UG_FLOAT32), UG_FLOAT32);
    LLVMBuildStore(g->B, add(g, LLVMBuildLoad2(g->B, g->f32, acc, ""), p, UG_FLOAT32), acc);
    loops_count_end(g, &c, NULL);
    return loops_round16(g, LLVMBuildLoad2(g->B, g->f32, acc, "hdot"));
}

/* NumPy's default norm of a whole array (no axis=): sqrt(x.dot(x)), of
 * complex x sqrt(x.real.dot(x.real) + x.imag.dot(x.imag)) (dot_sum, BLAS's
 * shape, as dot()), of float16 x HALF_dot's, bit for bit. Real float and
 * integer x: the pairwise sum of squares (NumPy's axis= formula, which
 * BLAS's agrees with to rounding). */
static LLVMValueRef default_norm(loops_gen *g, const kernel_node *n, seq *s)
{
    ug_dtype T = (ug_dtype)n->opty.dt, xd = (ug_dtype)s->x->ty.dt;
    LLVMValueRef v;
    if (xd == UG_FLOAT16) {
        v = half_dot(g, s, s);
    } else if (is_cplx(xd)) {
        LLVMValueRef len = seq_len(s);
        v = add(g, dot_sum(g, s, s, len, T, xd, 1, 1), dot_sum(g, s, s, len, T, xd, 2, 2), T);
    } else {
        v = line_sum(g, &(term){.s = s, .kind = T_SQ, .T = T});
    }
    return loops_emit_builtin(g, B_SQRT, &v, 1, T, T);
}

/* The vector norm of the line s (the whole vector, or one line along the
 * axis= of a 2-d array) with NumPy's arithmetic for each ord: None and 2
 * sqrt(add.reduce((x.conj() * x).real)) (default_norm's without axis=),
 * inf abs(x).max(initial=0) (0 when empty), -inf abs(x).min() (a
 * ValueError when empty), 0 the count of nonzeros, 1 add.reduce(abs(x)),
 * else add.reduce(abs(x) ** ord) ** reciprocal(ord). Of complex x abs and
 * the squares are real (norm_term); float16 x is summed as NumPy's half
 * add.reduce (float32, rounded once along a line NumPy's loop gets whole,
 * at every step along an outer axis). */
static LLVMValueRef vector_norm(loops_gen *g, const kernel_node *n, seq *s, bool hypot)
{
    ug_dtype T = (ug_dtype)n->opty.dt, xd = (ug_dtype)s->x->ty.dt;
    int half = xd == UG_FLOAT16;
    ug_dtype A = half ? UG_FLOAT32 : T; /* the accumulator */
    double ord = n->fval;
    if ((isnan(ord) || ord == 2) && n->ival == -1)
        return default_norm(g, n, s);
    if (isnan(ord) || ord == 2) {
        LLVMValueRef v = sum_of(g, &(term){.s = s, .kind = T_SQ, .T = A, .half = half});
        return loops_emit_builtin(g, B_SQRT, &v, 1, T, T);
    }
    if (ord == 0 && half) /* float16 ones summed as NumPy's half add.reduce: row by row 2048 + 1 is 2048 */
        return sum_of(g, &(term){.s = s, .kind = T_NZ1, .T = A, .half = half});
    if (ord == 0)
        return loops_emit_cast(g, line_sum(g, &(term){.s = s, .kind = T_TRUTH, .T = UG_INT64}), UG_INT64, T);
    if (isinf(ord)) {
        LLVMValueRef len = seq_len(s);
        term t = {.s = s, .kind = T_ABS, .T = T, .hypot = hypot};
        LLVMValueRef best = loops_entry_alloca(g, loops_vty(g, T), "normbest");
        if (ord < 0) {
            loops_raise_if(g, LLVMBuildICmp(g->B, LLVMIntSLE, len, i64c(g, 0), ""), "ValueError",
                    "zero-size array to reduction operation minimum which has no identity", n->pos.line);
            LLVMBuildStore(g->B, term_at(g, &t, i64c(g, 0)), best);
        } else {
            LLVMBuildStore(g->B, num(g, T, 0), best);
        }
        loops_counted c;
        LLVMValueRef k = loops_count_begin(g, &c, len);
        LLVMValueRef two[2] = {LLVMBuildLoad2(g->B, loops_vty(g, T), best, ""), term_at(g, &t, k)};
        LLVMBuildStore(g->B, loops_emit_builtin(g, ord > 0 ? B_MAXIMUM : B_MINIMUM, two, 2, T, T), best);
        loops_count_end(g, &c, NULL);
        return LLVMBuildLoad2(g->B, loops_vty(g, T), best, "norm");
    }
    if (ord == 1)
        return sum_of(g, &(term){.s = s, .kind = T_ABS, .T = A, .half = half, .hypot = hypot});
    /* the power a Python int converted to T (weak), its reciprocal in T */
    LLVMValueRef p = loops_emit_cast(g, num(g, UG_FLOAT64, ord), UG_FLOAT64, T);
    LLVMValueRef v = sum_of(g, &(term){.s = s, .kind = T_ABSPOW, .T = A, .m = p, .half = half, .hypot = hypot});
    LLVMValueRef args[2] = {v, loops_emit_binop(g, TK_SLASH, num(g, T, 1), p, T)};
    return loops_emit_builtin(g, B_POW, args, 2, T, T);
}

/* A matrix norm of the 2-d x whose lines s walks (ord +-1: the columns,
 * +-inf: the rows; infer.c has turned axis=(1, 0) into the ord of the
 * transpose), as NumPy computes it: the max / min of the lines' sums of
 * |x| (the max with initial=0: 0 for an empty matrix; the min of no lines
 * a ValueError), of float16 x each sum rounded to float16 (norm_line's). */
static LLVMValueRef matrix_norm(loops_gen *g, const kernel_node *n, seq *s, bool hypot)
{
    ug_dtype T = (ug_dtype)n->opty.dt;
    int half = n->kids[0]->ty.dt == UG_FLOAT16;
    double ord = n->fval;
    int other = 1 - s->axis;
    LLVMValueRef cnt = s->shape.shape[other];
    LLVMValueRef best = loops_entry_alloca(g, loops_vty(g, T), "normbest");
    if (ord < 0)
        loops_raise_if(g, LLVMBuildICmp(g->B, LLVMIntSLE, cnt, i64c(g, 0), ""), "ValueError",
                "zero-size array to reduction operation minimum which has no identity", n->pos.line);
    LLVMBuildStore(g->B, num(g, T, 0), best);
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, cnt);
    s->idx[other] = k;
    term t = {.s = s, .kind = T_ABS, .T = half ? UG_FLOAT32 : T, .half = half, .hypot = hypot};
    LLVMValueRef v = sum_of(g, &t); /* add.reduce(abs(x), axis) */
    LLVMValueRef cur = LLVMBuildLoad2(g->B, loops_vty(g, T), best, "");
    LLVMValueRef two[2] = {cur, v};
    LLVMValueRef ext = loops_emit_builtin(g, ord > 0 ? B_MAXIMUM : B_MINIMUM, two, 2, T, T);
    if (ord < 0) /* no initial: the first line's sum starts it */
        ext = LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, LLVMIntEQ, k, i64c(g, 0), ""), v, ext, "");
    LLVMBuildStore(g->B, ext, best);
    loops_count_end(g, &c, NULL);
    return LLVMBuildLoad2(g->B, loops_vty(g, T), best, "norm");
}

/* Whether NumPy's complex absolute of the norm's operand takes its scalar
 * loop (hypot): the operand a view (no expression, which NumPy makes a new
 * array), 1-d with a negative stride, or 2-d with a size-1 axis beside a
 * negative stride (NumPy's iterator makes other strides positive). NULL
 * where it never does: no complex abs in this norm. */
static LLVMValueRef hypot_layout(loops_gen *g, const kernel_node *n, const seq *s)
{
    double ord = n->fval;
    if (isnan(ord) || ord == 2 || ord == 0 || !is_cplx((ug_dtype)s->x->ty.dt) || s->whole_copy || s->ew.n != 1 ||
        s->ew.leaf[0] != s->x)
        return NULL;
    LLVMBuilderRef B = g->B;
    const loops_arr *a = &s->ew.arr[0];
    LLVMValueRef zero = i64c(g, 0), one = i64c(g, 1);
    if (a->ndim == 1)
        return LLVMBuildICmp(B, LLVMIntSLT, a->stride[0], zero, "negstride");
    LLVMValueRef r = LLVMConstInt(g->i1, 0, 0);
    for (int d = 0; d < 2; d++)
        r = LLVMBuildOr(B, r, LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntEQ, a->shape[d], one, ""),
                                           LLVMBuildICmp(B, LLVMIntSLT, a->stride[1 - d], zero, ""), ""), "negstride");
    return r;
}

typedef LLVMValueRef (*norm_fn)(loops_gen *g, const kernel_node *n, seq *s, bool hypot);

/* f's norm of s, twice where hypot_layout says NumPy's abs may be hypot's:
 * chosen at run time. */
static LLVMValueRef with_hypot(loops_gen *g, const kernel_node *n, seq *s, norm_fn f)
{
    LLVMValueRef neg = hypot_layout(g, n, s);
    if (!neg)
        return f(g, n, s, false);
    LLVMBuilderRef B = g->B;
    LLVMBasicBlockRef back = loops_block(g, "norm.hypot"), fwd = loops_block(g, "norm.simd"),
                      join = loops_block(g, "norm.join");
    LLVMBuildCondBr(B, neg, back, fwd);
    LLVMValueRef v[2];
    LLVMBasicBlockRef from[2];
    for (int k = 0; k < 2; k++) {
        LLVMPositionBuilderAtEnd(B, k ? fwd : back);
        if (!(v[k] = f(g, n, s, k == 0)))
            return NULL;
        from[k] = LLVMGetInsertBlock(B);
        LLVMBuildBr(B, join);
    }
    LLVMPositionBuilderAtEnd(B, join);
    LLVMValueRef phi = LLVMBuildPhi(B, LLVMTypeOf(v[0]), "norm");
    LLVMAddIncoming(phi, v, from, 2);
    return phi;
}

static LLVMValueRef norm_line(loops_gen *g, const kernel_node *n, seq *s) { return with_hypot(g, n, s, vector_norm); }

/* The matrix norms of singular values (ord 2, -2, 'nuc'; the transpose's
 * are the same, so axis=(1, 0) changes nothing): x copied as float64 (or
 * complex128) columns, the longer axis along them, and rt_svd_norm's
 * Jacobi rotations; a NaN is LAPACK's non-convergence (NumPy's
 * LinAlgError), the minimum of no singular values NumPy's ValueError. */
static LLVMValueRef svd_norm(loops_gen *g, const kernel_node *n)
{
    LLVMBuilderRef B = g->B;
    seq s;
    if (!seq_init(g, &s, n->kids[0], 0, false))
        return NULL;
    bool cplx = is_cplx((ug_dtype)s.x->ty.dt);
    ug_dtype wd = cplx ? UG_COMPLEX128 : UG_FLOAT64, xd = (ug_dtype)s.x->ty.dt;
    LLVMValueRef m = s.shape.shape[0], c = s.shape.shape[1];
    LLVMValueRef tall = LLVMBuildICmp(B, LLVMIntSGE, m, c, "tall");
    LLVMValueRef len = LLVMBuildSelect(B, tall, m, c, "len"), cols = LLVMBuildSelect(B, tall, c, m, "cols");
    if (n->fval == -2)
        loops_raise_if(g, LLVMBuildICmp(B, LLVMIntSLE, cols, i64c(g, 0), ""), "ValueError",
                "zero-size array to reduction operation minimum which has no identity", n->pos.line);
    LLVMValueRef size = LLVMBuildMul(B, m, c, "");
    LLVMValueRef w = loops_alloc_block(g, &size, 1, wd, n->pos.line);
    loops_counted ci, cj;
    LLVMValueRef i = loops_count_begin(g, &ci, m);
    s.idx[1] = loops_count_begin(g, &cj, c);
    LLVMValueRef v = loops_emit_cast(g, seq_at(g, &s, i), xd, wd);
    /* element (i, j) at j * m + i (tall: columns are x's), else at i * c + j (x transposed) */
    LLVMValueRef at = LLVMBuildSelect(B, tall, LLVMBuildAdd(B, LLVMBuildMul(B, s.idx[1], m, ""), i, ""),
                                      LLVMBuildAdd(B, LLVMBuildMul(B, i, c, ""), s.idx[1], ""), "at");
    loops_store_elem(g, v, LLVMBuildInBoundsGEP2(B, loops_mty(g, wd), w, &at, 1, ""), wd);
    loops_count_end(g, &cj, NULL);
    loops_count_end(g, &ci, NULL);
    LLVMValueRef out = loops_entry_alloca(g, g->f64, "svdnorm");
    int which = n->fval == 2 ? RT_SVD_MAX : n->fval == -2 ? RT_SVD_MIN : RT_SVD_SUM;
    LLVMTypeRef ps[6] = {g->ptr, g->i64, g->i64, g->i32, g->i32, g->ptr};
    LLVMValueRef args[6] = {w, len, cols, LLVMConstInt(g->i32, cplx, 0), LLVMConstInt(g->i32, (unsigned)which, 0), out};
    LLVMValueRef st = loops_rt_call(g, "rt_svd_norm", g->i32, ps, args, 6, false);
    loops_raise_if(g, LLVMBuildICmp(B, LLVMIntNE, st, LLVMConstInt(g->i32, 0, 0), ""), "LinAlgError",
            "SVD did not converge", n->pos.line);
    return loops_emit_cast(g, LLVMBuildLoad2(B, g->f64, out, "norm"), UG_FLOAT64, (ug_dtype)n->opty.dt);
}

/* np.linalg.norm(x[, ord[, axis]]) as a number: a vector's norm
 * (norm_line's), or a matrix norm (axis None or both axes): None and 'fro'
 * default_norm's without axis=, else the square root of the pairwise sum
 * of squares in memory order; the others matrix_norm's. */
static LLVMValueRef norm(loops_gen *g, const kernel_node *n)
{
    const kernel_node *x = n->kids[0];
    double ord = n->fval;
    seq s;
    if (x->ty.ndim == 2 && (fabs(ord) == 2 || ord == KERNEL_NORM_NUC))
        return svd_norm(g, n);
    if (x->ty.ndim == 2 && !isnan(ord))
        return seq_init(g, &s, x, isinf(ord) ? 1 : 0, true) ? with_hypot(g, n, &s, matrix_norm) : NULL;
    if (!seq_init(g, &s, x, -1, true))
        return NULL;
    return norm_line(g, n, &s);
}

/* np.dot(a, b) of two vectors: the sum of products (exact for ints; for
 * floats dot_sum's order, as BLAS's is not NumPy's pairwise one either; a
 * complex one as BLAS's zdotu shapes it: four real dot products, re*re -
 * im*im and re*im + im*re, so to rounding NumPy's; a float16 one as
 * HALF_dot, bit for bit). np.vdot(a, b): the same of both arrays flat, a
 * conjugated (zdotc's shape). */
static LLVMValueRef dot(loops_gen *g, const kernel_node *n)
{
    seq s, s2;
    bool v = n->builtin == B_VDOT; /* its arrays flat in C order, as ravel */
    if (!seq_init(g, &s, n->kids[0], -1, !v) || !seq_init(g, &s2, n->kids[1], -1, !v))
        return NULL;
    LLVMValueRef same = LLVMBuildICmp(g->B, LLVMIntEQ, seq_len(&s), seq_len(&s2), "");
    loops_raise_if(g, LLVMBuildNot(g->B, same, ""), "ValueError",
                   v ? "cannot reshape array: vdot() of arrays of different sizes" : "shapes not aligned in dot()",
                   n->pos.line);
    ug_dtype T = (ug_dtype)n->opty.dt;
    if (T == UG_FLOAT16)
        return half_dot(g, &s, &s2);
    if (is_flt(T))
        return dot_sum(g, &s, &s2, seq_len(&s), T, T, 0, 0);
    if (is_cplx(T)) {
        ug_dtype P = base_dtype_part(T);
        LLVMValueRef n = seq_len(&s);
        LLVMValueRef rr = dot_sum(g, &s, &s2, n, P, T, 1, 1), ii = dot_sum(g, &s, &s2, n, P, T, 2, 2);
        LLVMValueRef ri = dot_sum(g, &s, &s2, n, P, T, 1, 2), ir = dot_sum(g, &s, &s2, n, P, T, 2, 1);
        if (v) /* conj(a) . b, as zdotc: re.re + im.im, re.im - im.re */
            return loops_complex(g, T, add(g, rr, ii, P), loops_emit_binop(g, TK_MINUS, ri, ir, P));
        return loops_complex(g, T, loops_emit_binop(g, TK_MINUS, rr, ii, P), add(g, ri, ir, P));
    }
    return line_sum(g, &(term){.s = &s, .s2 = &s2, .kind = T_PROD2, .T = T});
}

/* NumPy's iterator buffers a float16 array that is not one stride in
 * memory, when reduced whole, in chunks whose size and order NumPy 2.1 and
 * 2.3+ choose differently (2.1: 8192 values in memory order; 2.4 neither
 * that nor whole lines), rounding the sum or product to float16 after
 * each. Past 8192 values of such a view of 3 or more dimensions sum, prod,
 * mean and var / std (whose mean is such a sum) raise a ValueError naming
 * the call rather than give another rounding; of 2 dimensions sum and prod
 * of a view with an axis running backwards (the others are NumPy's, as
 * measured). The nan forms reduce NumPy's contiguous copy, the others do
 * not depend on order. */
static void half_order_known(loops_gen *g, const kernel_node *n, const seq *s)
{
    int b = n->builtin, nd = s->x->ty.ndim;
    bool ordered = b == B_SUM || b == B_PROD || (nd > 2 && (b == B_MEAN || b == B_VAR || b == B_STD));
    if (s->x->ty.dt != UG_FLOAT16 || nd < 2 || !s->onestride || !ordered)
        return;
    char msg[160];
    snprintf(msg, sizeof msg, "%s() of a float16 array that is not contiguous in memory (%s) is not supported in "
             "kernels past 8192 elements", kernel_builtin_name(b), nd > 2 ? "3 or more dimensions" : "2-d, reversed");
    LLVMValueRef bad = LLVMBuildNot(g->B, nd > 2 ? s->onestride : s->forward, "");
    LLVMValueRef big = LLVMBuildICmp(g->B, LLVMIntSGT, seq_len(s), i64c(g, 8192), "");
    loops_raise_if(g, LLVMBuildAnd(g->B, big, bad, ""), "ValueError", msg, n->pos.line);
}

LLVMValueRef loops_reduce(loops_gen *g, const kernel_node *n)
{
    int b = n->builtin;
    if (b == B_NORM)
        return norm(g, n);
    if (b == B_DOT || b == B_VDOT)
        return dot(g, n);
    if (b == B_WHERE) { /* np.where of three numbers */
        ug_dtype T = (ug_dtype)n->opty.dt;
        LLVMValueRef c = loops_expr(g, n->kids[0]), x = c ? loops_conv(g, n->kids[1], T) : NULL,
                     y = x ? loops_conv(g, n->kids[2], T) : NULL;
        return y ? LLVMBuildSelect(g->B, loops_emit_truth(g, c, (ug_dtype)n->kids[0]->ty.dt), x, y, "where") : NULL;
    }
    seq s; /* flat indices count in C order: the arg forms visit it */
    bool arg = b == B_ARGMIN || b == B_ARGMAX || b == B_NANARGMIN || b == B_NANARGMAX;
    if (!seq_init(g, &s, n->kids[0], -1, !arg))
        return NULL;
    half_order_known(g, n, &s);
    if (b == B_MEDIAN || b == B_NANMEDIAN)
        return median(g, n, &s);
    if (b >= B_QUANTILE && b <= B_NANPERCENTILE)
        return quantile(g, n, &s);
    return versioned_line(g, n, &s);
}
