/* lower.c — typed kernel functions → LLVM functions.
 *
 * Requires: a typed kernel satisfying kernel.h's "Typed AST invariants".
 * Produces one internal, always-inline LLVM function per typed function
 * (kernel first), to be inlined into the loop by inner.c. Locals and scalar
 * parameters live in entry-block allocas (mem2reg turns them into SSA);
 * each function has one return block reading a return slot, so `return`
 * anywhere is a store and a branch. Code after a terminator (return, break,
 * continue) goes into a fresh unreachable block that the optimiser drops.
 * With boundscheck every function takes a trailing pointer to the loop's
 * error flag: a failed index check calls rt_index_error, sets the flag
 * and returns; callers test the flag after each helper call.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "loops/gen.h"


static LLVMValueRef expr(loops_gen *g, const kernel_node *n);
static ug_status stmt(loops_gen *g, const kernel_node *n);

static ug_status unsupported(loops_gen *g, const kernel_node *n, const char *what)
{
    return base_err_set(g->err, UG_EUNSUPPORTED, "kernel '%s', line %d, column %d: %s is not supported by lowering",
                      g->req->kname ? g->req->kname : "?", n ? n->pos.line : -1, n ? n->pos.col : -1, what);
}

/* ---------------------------------------------------------------- types */

/* Helpers of a kernel with local arrays take its frame (after the error flag). */
static bool takes_frame(loops_gen *g, const kernel_func *f) { return g->frames && f != g->req->tk->kernel; }

/* A helper's array result: {ptr base, i64 shape[ndim], i64 stride[ndim]}. */
static LLVMTypeRef arr_struct(loops_gen *g, int ndim)
{
    LLVMTypeRef f[1 + 2 * UG_MAXDIMS];
    f[0] = g->ptr;
    for (int d = 0; d < 2 * ndim; d++)
        f[1 + d] = g->i64;
    return LLVMStructTypeInContext(g->C, f, 1 + 2 * (unsigned)ndim, 0);
}

static LLVMTypeRef ret_type(loops_gen *g, const kernel_func *f)
{
    if (f->ret.kind == KT_ARRAY)
        return arr_struct(g, f->ret.ndim);
    return f->ret.kind == KT_SCALAR ? loops_vty(g, (ug_dtype)f->ret.dt) : g->vd;
}

/* Number of LLVM parameters of f: arrays expand to base, shapes, strides. */
static unsigned nparams_llvm(loops_gen *g, const kernel_func *f)
{
    unsigned n = (g->errflag ? 1 : 0) + (takes_frame(g, f) ? 1 : 0);
    for (int k = 0; k < f->nparams; k++)
        n += f->params[k].ty.kind == KT_ARRAY ? 1 + 2u * f->params[k].ty.ndim : 1;
    return n;
}

LLVMTypeRef loops_func_type(loops_gen *g, const kernel_func *f)
{
    LLVMTypeRef *ps = malloc((nparams_llvm(g, f) + 1) * sizeof *ps);
    if (!ps)
        return NULL;
    unsigned n = 0;
    for (int k = 0; k < f->nparams; k++) {
        kernel_type t = f->params[k].ty;
        if (t.kind == KT_ARRAY) {
            ps[n++] = g->ptr;
            for (int d = 0; d < 2 * t.ndim; d++)
                ps[n++] = g->i64;
        } else {
            ps[n++] = loops_vty(g, (ug_dtype)t.dt);
        }
    }
    if (g->errflag)
        ps[n++] = g->ptr;
    if (takes_frame(g, f))
        ps[n++] = g->ptr;
    LLVMTypeRef fty = LLVMFunctionType(ret_type(g, f), ps, n, 0); /* copies the parameter list */
    free(ps);
    return fty;
}

static LLVMValueRef fn_of(loops_gen *g, const kernel_func *f)
{
    for (int k = 0; k < g->req->tk->nfuncs; k++)
        if (g->req->tk->funcs[k] == f)
            return g->fns[k];
    return NULL;
}

static bool terminated(loops_gen *g) { return LLVMGetBasicBlockTerminator(LLVMGetInsertBlock(g->B)) != NULL; }

static LLVMBasicBlockRef block(loops_gen *g, const char *name) { return LLVMAppendBasicBlockInContext(g->C, g->fs->fn, name); }
LLVMBasicBlockRef loops_block(loops_gen *g, const char *name) { return block(g, name); }

static void br_to(loops_gen *g, LLVMBasicBlockRef bb)
{
    if (!terminated(g))
        LLVMBuildBr(g->B, bb);
}

/* After a terminator: continue emitting into a block nothing jumps to. */
static void after_jump(loops_gen *g) { LLVMPositionBuilderAtEnd(g->B, block(g, "dead")); }

/* ---------------------------------------------------------------- expressions */

static LLVMValueRef conv(loops_gen *g, const kernel_node *n, ug_dtype to)
{
    LLVMValueRef v = expr(g, n);
    return v ? loops_emit_cast(g, v, (ug_dtype)n->ty.dt, to) : NULL;
}

static LLVMValueRef constant(loops_gen *g, const kernel_node *n);

/* A literal of complex dtype dt: an imaginary one, or a real one with a zero imaginary part. */
static LLVMValueRef complex_constant(loops_gen *g, const kernel_node *n, ug_dtype dt)
{
    ug_dtype pt = base_dtype_part(dt);
    kernel_node part = *n;
    part.ty.dt = (int8_t)pt;
    if (n->kind == N_IMAG)
        part.kind = N_FLOAT;
    LLVMValueRef v = constant(g, &part), zero = LLVMConstReal(loops_vty(g, pt), 0.0);
    LLVMValueRef parts[2] = {n->kind == N_IMAG ? zero : v, n->kind == N_IMAG ? v : zero};
    return LLVMConstStructInContext(g->C, parts, 2, 0);
}

static LLVMValueRef constant(loops_gen *g, const kernel_node *n)
{
    ug_dtype dt = (ug_dtype)n->ty.dt;
    if (base_dtype_kind(dt) == BASE_KIND_COMPLEX)
        return complex_constant(g, n, dt);
    LLVMTypeRef t = loops_vty(g, dt);
    bool fl = base_dtype_kind(dt) == BASE_KIND_FLOAT;
    if (dt == UG_FLOAT16) /* a literal next to float16 is a float16 number, as NumPy converts it */
        return LLVMConstReal(t, rt_half_to_double(rt_double_to_half(n->kind == N_FLOAT ? n->fval
                                                                    : n->big ? (double)(uint64_t)n->ival
                                                                    : n->kind == N_BOOL ? (double)(n->ival != 0)
                                                                             : (double)n->ival)));
    if (n->kind == N_FLOAT)
        return fl ? LLVMConstReal(t, n->fval) : loops_emit_cast(g, LLVMConstReal(g->f64, n->fval), UG_FLOAT64, dt);
    if (dt == UG_BOOL)
        return LLVMConstInt(g->i1, n->ival != 0, 0);
    if (fl)
        return n->big ? LLVMConstReal(t, (double)(uint64_t)n->ival) : LLVMConstReal(t, (double)n->ival);
    return LLVMConstInt(t, (unsigned long long)n->ival, 0);
}

static LLVMValueRef slot_of(loops_gen *g, const kernel_node *name)
{
    return name->symkind == SYM_LOCAL ? g->fs->lslot[name->index] : g->fs->pslot[name->index];
}

static LLVMValueRef shape_at(loops_gen *g, const loops_arr *a, LLVMValueRef k)
{
    /* Python tuple indexing: a negative k counts from the end */
    LLVMValueRef kk = LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, LLVMIntSLT, k, LLVMConstInt(g->i64, 0, 0), ""),
                                      LLVMBuildAdd(g->B, k, LLVMConstInt(g->i64, (unsigned)a->ndim, 0), ""), k, "k");
    LLVMValueRef r = LLVMConstInt(g->i64, 0, 0);
    for (int d = a->ndim - 1; d >= 0; d--)
        r = LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, LLVMIntEQ, kk, LLVMConstInt(g->i64, (unsigned)d, 0), ""),
                            a->shape[d], r, "shape");
    return r;
}

LLVMValueRef loops_rt_call(loops_gen *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *ps, LLVMValueRef *args,
                           unsigned n, bool cold)
{
    LLVMTypeRef fty = LLVMFunctionType(ret, ps, n, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(g->M, name);
    if (!fn) {
        fn = LLVMAddFunction(g->M, name, fty);
        if (cold)
            loops_attr(g, fn, LLVMAttributeFunctionIndex, "cold");
        loops_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
    }
    return LLVMBuildCall2(g->B, fty, fn, args, n, "");
}

void loops_fail_here(loops_gen *g)
{
    LLVMBuildStore(g->B, LLVMConstInt(g->i8, 1, 0), g->fs->errflag);
    LLVMBuildBr(g->B, g->fs->ret_bb);
}

void loops_raise(loops_gen *g, const char *cls, const char *msg, int line)
{
    LLVMTypeRef ps[4] = {g->ptr, g->ptr, g->ptr, g->i32};
    LLVMValueRef args[4] = {LLVMBuildGlobalStringPtr(g->B, cls, "exc"),
                            msg ? LLVMBuildGlobalStringPtr(g->B, msg, "msg") : LLVMConstNull(g->ptr),
                            LLVMBuildGlobalStringPtr(g->B, g->req->kname ? g->req->kname : g->fs->f->name, "kname"),
                            LLVMConstInt(g->i32, (unsigned)line, 0)};
    loops_rt_call(g, "rt_raise", g->vd, ps, args, 4, true);
    loops_fail_here(g);
}

void loops_raise_if(loops_gen *g, LLVMValueRef cond, const char *cls, const char *msg, int line)
{
    LLVMBasicBlockRef bad = block(g, "raise.if"), ok = block(g, "raise.not");
    LLVMBuildCondBr(g->B, cond, bad, ok);
    LLVMPositionBuilderAtEnd(g->B, bad);
    loops_raise(g, cls, msg, line);
    LLVMPositionBuilderAtEnd(g->B, ok);
}

/* Boundscheck failure: report, set the flag, return from the function. */
static void index_fail(loops_gen *g, const char *what, int axis, LLVMValueRef idx, LLVMValueRef size)
{
    LLVMTypeRef ps[5] = {g->ptr, g->ptr, g->i32, g->i64, g->i64};
    const kernel_func *f = g->fs->f;
    LLVMValueRef args[5] = {LLVMBuildGlobalStringPtr(g->B, g->req->kname ? g->req->kname : f->name, "kname"),
                            LLVMBuildGlobalStringPtr(g->B, what, "argname"),
                            LLVMConstInt(g->i32, (unsigned)axis, 0), idx, size};
    loops_rt_call(g, "rt_index_error", g->vd, ps, args, 5, true);
    LLVMBuildStore(g->B, LLVMConstInt(g->i8, 1, 0), g->fs->errflag);
    LLVMBuildBr(g->B, g->fs->ret_bb);
}

static LLVMValueRef wrap_index(loops_gen *g, const char *what, int axis, LLVMValueRef i, LLVMValueRef size, bool check)
{
    /* a - b < 0 is a < b when the sub cannot wrap (index_nsw): a test LLVM
     * then folds under a dominating `if a >= b` */
    bool nsw_sub = LLVMIsAInstruction(i) && LLVMGetInstructionOpcode(i) == LLVMSub && LLVMGetNSW(i);
    LLVMValueRef neg = nsw_sub ? LLVMBuildICmp(g->B, LLVMIntSLT, LLVMGetOperand(i, 0), LLVMGetOperand(i, 1), "neg")
                               : LLVMBuildICmp(g->B, LLVMIntSLT, i, LLVMConstInt(g->i64, 0, 0), "neg");
    LLVMValueRef w = LLVMBuildSelect(g->B, neg, LLVMBuildAdd(g->B, i, size, ""), i, "idx");
    if (!check)
        return w;
    LLVMBasicBlockRef bad = block(g, "index.bad"), ok = block(g, "index.ok");
    LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntUGE, w, size, "oob"), bad, ok);
    LLVMPositionBuilderAtEnd(g->B, bad);
    index_fail(g, what, axis, i, size);
    LLVMPositionBuilderAtEnd(g->B, ok);
    return w;
}

LLVMValueRef loops_checked_index(loops_gen *g, const char *what, int axis, LLVMValueRef i, LLVMValueRef size)
{
    return wrap_index(g, what, axis, i, size, g->req->boundscheck);
}

LLVMValueRef loops_index_always(loops_gen *g, const char *what, int axis, LLVMValueRef i, LLVMValueRef size)
{
    return wrap_index(g, what, axis, i, size, true);
}

/* The array a node names or computes (see arrays.c), or NULL. */
static const loops_arr *arr_of(loops_gen *g, const kernel_node *n, loops_arr *buf)
{
    return loops_arr_eval(g, n, buf) ? buf : NULL;
}

static const char *arr_name(loops_gen *g, const kernel_node *n)
{
    if (n->kind == N_NAME && n->symkind == SYM_PARAM)
        return g->fs->f->params[n->index].name;
    return n->kind == N_NAME ? g->fs->f->locals[n->index].name : "array";
}

/* An index computed as Python computes it: without boundscheck, the int64
 * `+ - *` that build a subscript (a[i - w], a[2*i + 1]) get nsw, as Numba's
 * signed arithmetic has. Python's ints do not wrap, so an index whose exact
 * value overflows int64 is out of range, which is undefined without
 * boundscheck; with nsw LLVM may use i >= w to drop the negative-index
 * wrap-around of a[i - w] (move_var/move_std's inner loops). Elsewhere int
 * arithmetic keeps wrapping (DESIGN.md), and so does all of it under
 * boundscheck, whose test must see the wrapped value. */
static void index_nsw(const kernel_node *n, LLVMValueRef v)
{
    if (n->kind != N_BINARY || n->opty.kind != KT_SCALAR || (ug_dtype)n->opty.dt != UG_INT64 || !LLVMIsAInstruction(v))
        return;
    LLVMOpcode op = LLVMGetInstructionOpcode(v);
    bool arith = (n->op == TK_PLUS && op == LLVMAdd) || (n->op == TK_MINUS && op == LLVMSub) ||
                 (n->op == TK_STAR && op == LLVMMul);
    if (!arith)
        return;
    LLVMSetNSW(v, 1);
    index_nsw(n->a, LLVMGetOperand(v, 0));
    index_nsw(n->b, LLVMGetOperand(v, 1));
}

static LLVMValueRef index_value(loops_gen *g, const kernel_node *n)
{
    LLVMValueRef v = conv(g, n, UG_INT64);
    if (v && !g->req->boundscheck)
        index_nsw(n, v);
    return v;
}

/* Address of arr[kids...] (every axis indexed by an int, or by one tuple). */
static LLVMValueRef elem_addr(loops_gen *g, const kernel_node *n)
{
    const kernel_node *an = n->a;
    loops_arr buf;
    const loops_arr *a = arr_of(g, an, &buf);
    if (!a)
        return NULL;
    LLVMValueRef idx[UG_MAXDIMS];
    int nd = 0;
    if (n->opty.kind == KT_SHAPE) { /* a[idx] with a tuple idx */
        if (!loops_shape_eval(g, n->kids[0], idx, &nd))
            return NULL;
    } else {
        for (; nd < n->nkids && nd < a->ndim; nd++)
            if (!(idx[nd] = index_value(g, n->kids[nd])))
                return NULL;
    }
    for (int d = 0; d < nd && d < a->ndim; d++)
        idx[d] = loops_checked_index(g, arr_name(g, an), d, idx[d], a->shape[d]);
    return loops_elem_at(g, a, idx);
}

static LLVMValueRef index_expr(loops_gen *g, const kernel_node *n)
{
    if ((n->a->kind == N_ATTR && n->a->ty.kind == KT_SHAPE) || n->a->ty.kind == KT_SHAPE) { /* a.shape[k], s[k] */
        LLVMValueRef vals[UG_MAXDIMS];
        int nd;
        LLVMValueRef k = conv(g, n->kids[0], UG_INT64);
        if (!k || !loops_shape_eval(g, n->a, vals, &nd))
            return NULL;
        loops_arr t = {.ndim = nd};
        memcpy(t.shape, vals, (size_t)nd * sizeof *vals);
        return shape_at(g, &t, k);
    }
    LLVMValueRef p = elem_addr(g, n);
    return p ? loops_load_elem(g, p, (ug_dtype)n->ty.dt) : NULL;
}

static LLVMValueRef attr_expr(loops_gen *g, const kernel_node *n)
{
    if (!strcmp(n->name, "ndim"))
        return LLVMConstInt(g->i64, (unsigned)n->a->ty.ndim, 0);
    loops_arr buf;
    const loops_arr *a = arr_of(g, n->a, &buf);
    if (!a)
        return NULL;
    if (!strcmp(n->name, "ndim"))
        return LLVMConstInt(g->i64, (unsigned)a->ndim, 0);
    LLVMValueRef r = LLVMConstInt(g->i64, 1, 0);
    for (int d = 0; d < a->ndim; d++)
        r = LLVMBuildMul(g->B, r, a->shape[d], "size");
    return r;
}

/* Blocks joined by a phi of type t: used by and/or, ternary and chained compares. */
typedef struct join {
    LLVMBasicBlockRef bb;
    LLVMValueRef vals[MAX_LOOP_DEPTH];
    LLVMBasicBlockRef from[MAX_LOOP_DEPTH];
    int n;
} join;

static void join_add(loops_gen *g, join *j, LLVMValueRef v)
{
    if (j->n < MAX_LOOP_DEPTH) {
        j->vals[j->n] = v;
        j->from[j->n++] = LLVMGetInsertBlock(g->B);
    }
    LLVMBuildBr(g->B, j->bb);
}

static LLVMValueRef join_end(loops_gen *g, join *j, LLVMTypeRef t)
{
    LLVMPositionBuilderAtEnd(g->B, j->bb);
    LLVMValueRef phi = LLVMBuildPhi(g->B, t, "join");
    LLVMAddIncoming(phi, j->vals, j->from, (unsigned)j->n);
    return phi;
}

/* x and y → x if not x else y; x or y → x if x else y (both converted to .ty). */
static LLVMValueRef boolop(loops_gen *g, const kernel_node *n)
{
    ug_dtype dt = (ug_dtype)n->ty.dt;
    LLVMValueRef x = expr(g, n->a);
    if (!x)
        return NULL;
    LLVMValueRef t = loops_emit_truth(g, x, (ug_dtype)n->a->ty.dt);
    LLVMValueRef xc = loops_emit_cast(g, x, (ug_dtype)n->a->ty.dt, dt);
    join j = {.bb = block(g, "bool.end")};
    LLVMBasicBlockRef rhs = block(g, "bool.rhs"), shortc = block(g, "bool.short");
    LLVMBuildCondBr(g->B, t, n->op == TK_AND ? rhs : shortc, n->op == TK_AND ? shortc : rhs);
    LLVMPositionBuilderAtEnd(g->B, shortc);
    join_add(g, &j, xc);
    LLVMPositionBuilderAtEnd(g->B, rhs);
    LLVMValueRef y = conv(g, n->b, dt);
    if (!y)
        return NULL;
    join_add(g, &j, y);
    return join_end(g, &j, loops_vty(g, dt));
}

static LLVMValueRef ifexp(loops_gen *g, const kernel_node *n)
{
    ug_dtype dt = (ug_dtype)n->ty.dt;
    LLVMValueRef c = expr(g, n->cond);
    if (!c)
        return NULL;
    LLVMBasicBlockRef tb = block(g, "ifexp.then"), eb = block(g, "ifexp.else");
    join j = {.bb = block(g, "ifexp.end")};
    LLVMBuildCondBr(g->B, loops_emit_truth(g, c, (ug_dtype)n->cond->ty.dt), tb, eb);
    LLVMPositionBuilderAtEnd(g->B, tb);
    LLVMValueRef a = conv(g, n->a, dt);
    if (!a)
        return NULL;
    join_add(g, &j, a);
    LLVMPositionBuilderAtEnd(g->B, eb);
    LLVMValueRef b = conv(g, n->b, dt);
    if (!b)
        return NULL;
    join_add(g, &j, b);
    return join_end(g, &j, loops_vty(g, dt));
}

/* a < b < c: each operand evaluated once, later pairs only if earlier hold. */
static LLVMValueRef compare(loops_gen *g, const kernel_node *n)
{
    if (n->nkids > MAX_LOOP_DEPTH)
        return NULL;
    join j = {.bb = block(g, "cmp.end")};
    LLVMValueRef left = expr(g, n->kids[0]);
    for (int k = 0; left && k < n->nkids - 1; k++) {
        LLVMValueRef right = expr(g, n->kids[k + 1]);
        if (!right)
            return NULL;
        ug_dtype ct = (ug_dtype)n->cmptys[k].dt;
        LLVMValueRef c = loops_emit_compare(g, n->cmpops[k], loops_emit_cast(g, left, (ug_dtype)n->kids[k]->ty.dt, ct),
                                            loops_emit_cast(g, right, (ug_dtype)n->kids[k + 1]->ty.dt, ct), ct);
        if (!c)
            return NULL;
        if (k == n->nkids - 2) {
            join_add(g, &j, c);
            break;
        }
        LLVMBasicBlockRef next = block(g, "cmp.next");
        if (j.n < MAX_LOOP_DEPTH) {
            j.vals[j.n] = LLVMConstInt(g->i1, 0, 0);
            j.from[j.n++] = LLVMGetInsertBlock(g->B);
        }
        LLVMBuildCondBr(g->B, c, next, j.bb);
        LLVMPositionBuilderAtEnd(g->B, next);
        left = right;
    }
    return left ? join_end(g, &j, g->i1) : NULL;
}

/* Arguments of a helper call: arrays expand to base, shapes, strides. */
static int call_args(loops_gen *g, const kernel_node *n, LLVMValueRef *out)
{
    const kernel_func *callee = n->callee;
    int m = 0;
    for (int k = 0; k < n->nkids; k++) {
        kernel_type pt = callee->params[k].ty;
        if (pt.kind == KT_ARRAY) {
            loops_arr buf;
            const loops_arr *a = arr_of(g, n->kids[k], &buf);
            if (!a)
                return -1;
            out[m++] = a->base;
            for (int d = 0; d < a->ndim; d++)
                out[m++] = a->shape[d];
            for (int d = 0; d < a->ndim; d++)
                out[m++] = a->stride[d];
        } else if (!(out[m++] = conv(g, n->kids[k], (ug_dtype)pt.dt))) {
            return -1;
        }
    }
    if (g->errflag)
        out[m++] = g->fs->errflag;
    if (takes_frame(g, callee))
        out[m++] = g->fs->frame;
    return m;
}

static LLVMValueRef helper_call(loops_gen *g, const kernel_node *n)
{
    LLVMValueRef fn = fn_of(g, n->callee);
    LLVMTypeRef fty = fn ? LLVMGlobalGetValueType(fn) : NULL;
    LLVMValueRef *args = fty ? malloc((nparams_llvm(g, n->callee) + 1) * sizeof *args) : NULL;
    int m = args ? call_args(g, n, args) : -1;
    LLVMValueRef r = m < 0 ? NULL : LLVMBuildCall2(g->B, fty, fn, args, (unsigned)m, "");
    free(args);
    if (!r)
        return NULL;
    if (g->errflag) {
        LLVMValueRef bad = LLVMBuildICmp(g->B, LLVMIntNE, LLVMBuildLoad2(g->B, g->i8, g->fs->errflag, ""),
                                         LLVMConstInt(g->i8, 0, 0), "failed");
        LLVMBasicBlockRef ok = block(g, "call.ok");
        LLVMBuildCondBr(g->B, bad, g->fs->ret_bb, ok);
        LLVMPositionBuilderAtEnd(g->B, ok);
    }
    /* a void helper used as a statement: any non-NULL marker will do */
    return n->callee->ret.kind != KT_VOID ? r : LLVMConstInt(g->i1, 0, 0);
}

bool loops_helper_array(loops_gen *g, const kernel_node *n, loops_arr *out)
{
    LLVMValueRef r = helper_call(g, n);
    if (!r)
        return false;
    out->ndim = n->callee->ret.ndim;
    out->base = LLVMBuildExtractValue(g->B, r, 0, "base");
    for (int d = 0; d < out->ndim; d++) {
        out->shape[d] = LLVMBuildExtractValue(g->B, r, 1 + (unsigned)d, "shape");
        out->stride[d] = LLVMBuildExtractValue(g->B, r, 1 + (unsigned)(out->ndim + d), "stride");
    }
    return true;
}

/* print(a, "b", c): each part appended to the thread's line, then the line
 * written at once (lines of different threads never interleave). */
static LLVMValueRef print_call(loops_gen *g, const kernel_node *n)
{
    for (int k = 0; k < n->nkids; k++) {
        const kernel_node *x = n->kids[k];
        LLVMTypeRef ps[2] = {g->ptr, g->i64};
        if (x->kind == N_STR) {
            LLVMValueRef s = LLVMBuildGlobalStringPtr(g->B, x->str, "str");
            loops_rt_call(g, "rt_print_str", g->vd, ps, &s, 1, false);
            continue;
        }
        ug_dtype dt = (ug_dtype)x->ty.dt;
        LLVMValueRef v = expr(g, x);
        if (!v)
            return NULL;
        base_kind kind = base_dtype_kind(dt);
        /* every number travels as float64 or (u)int64 bits plus a code: 0 int, 1 uint, 2 bool, 3 float64, 4 float32 */
        int code = kind == BASE_KIND_INT ? 0 : kind == BASE_KIND_UINT ? 1 : kind == BASE_KIND_BOOL ? 2 : dt == UG_FLOAT32 ? 4 : 3;
        LLVMValueRef bits = code >= 3 ? LLVMBuildBitCast(g->B, loops_emit_cast(g, v, dt, UG_FLOAT64), g->i64, "")
                                      : loops_emit_cast(g, v, dt, code == 1 ? UG_UINT64 : UG_INT64);
        LLVMTypeRef pn[2] = {g->i64, g->i32};
        LLVMValueRef args[2] = {bits, LLVMConstInt(g->i32, (unsigned)code, 0)};
        loops_rt_call(g, "rt_print_num", g->vd, pn, args, 2, false);
    }
    loops_rt_call(g, "rt_print_end", g->vd, NULL, NULL, 0, false);
    return LLVMConstInt(g->i1, 0, 0);
}

static LLVMValueRef builtin_call(loops_gen *g, const kernel_node *n)
{
    LLVMValueRef args[16];
    if (n->builtin == B_PRINT)
        return print_call(g, n);
    if (n->builtin == B_THREAD_ID)
        return loops_rt_call(g, "par_kernel_thread_id", g->i64, NULL, NULL, 0, false);
    if (n->builtin == B_SORT_INPLACE || n->builtin == B_FILL)
        return loops_arrfn_stmt(g, n) == UG_OK ? LLVMConstInt(g->i1, 0, 0) : NULL;
    if (n->builtin >= B_SUM)
        return loops_reduce(g, n);
    if (n->builtin == B_LEN) {
        loops_arr buf;
        const loops_arr *a = arr_of(g, n->kids[0], &buf);
        return a ? a->shape[0] : NULL;
    }
    if (n->nkids > 16)
        return NULL;
    for (int k = 0; k < n->nkids; k++)
        if (!(args[k] = conv(g, n->kids[k], (ug_dtype)n->opty.dt)))
            return NULL;
    return loops_emit_builtin(g, n->builtin, args, n->nkids, (ug_dtype)n->opty.dt, (ug_dtype)n->ty.dt);
}

/* The exponent of a float `**` as an integer value of its own dtype when it
 * is one (an int literal, also negated, or an integer-typed value): Numba
 * lowers those to multiplications (loops_emit_fpowi). NULL otherwise. */
static LLVMValueRef int_exponent(loops_gen *g, const kernel_node *e, ug_dtype *edt)
{
    const kernel_node *lit = e;
    while (lit->kind == N_UNARY && (lit->op == TK_MINUS || lit->op == TK_PLUS))
        lit = lit->a;
    if (lit->kind == N_INT && !lit->big) { /* its .ty may be the float it stands next to */
        *edt = UG_INT64;
        return conv(g, e, UG_INT64);
    }
    *edt = (ug_dtype)e->ty.dt;
    base_kind k = base_dtype_kind(*edt);
    return k == BASE_KIND_INT || k == BASE_KIND_UINT ? expr(g, e) : NULL;
}

/* a ** b in float dtype ot: an integer exponent as Numba, else pow. */
static LLVMValueRef float_power(loops_gen *g, LLVMValueRef a, const kernel_node *b, ug_dtype ot)
{
    ug_dtype edt;
    LLVMValueRef e = int_exponent(g, b, &edt);
    if (e)
        return loops_emit_fpowi(g, a, e, ot, edt);
    LLVMValueRef v = g->err->code ? NULL : conv(g, b, ot);
    return v ? loops_emit_binop(g, TK_DSTAR, a, v, ot) : NULL;
}

static LLVMValueRef expr_kind(loops_gen *g, const kernel_node *n)
{
    ug_dtype ot = (ug_dtype)n->opty.dt;
    switch (n->kind) {
    case N_INT: case N_FLOAT: case N_BOOL: case N_IMAG: return constant(g, n);
    case N_NAME: return LLVMBuildLoad2(g->B, loops_vty(g, (ug_dtype)n->ty.dt), slot_of(g, n), n->name);
    case N_UNARY: {
        if (n->op == TK_NOT) {
            LLVMValueRef v = expr(g, n->a);
            return v ? LLVMBuildNot(g->B, loops_emit_truth(g, v, (ug_dtype)n->a->ty.dt), "not") : NULL;
        }
        LLVMValueRef v = conv(g, n->a, ot);
        return v ? loops_emit_unop(g, n->op, v, ot) : NULL;
    }
    case N_BINARY: {
        if (n->op == TK_DSTAR && base_dtype_kind(ot) == BASE_KIND_FLOAT) {
            LLVMValueRef a = conv(g, n->a, ot);
            return a ? float_power(g, a, n->b, ot) : NULL;
        }
        LLVMValueRef a = conv(g, n->a, ot), b = a ? conv(g, n->b, ot) : NULL;
        return b ? loops_emit_binop(g, n->op, a, b, ot) : NULL;
    }
    case N_COMPARE: return compare(g, n);
    case N_BOOLOP: return boolop(g, n);
    case N_IFEXP: return ifexp(g, n);
    case N_CALL: return n->builtin >= 0 ? builtin_call(g, n) : helper_call(g, n);
    case N_INDEX: return index_expr(g, n);
    case N_ATTR: return attr_expr(g, n);
    case N_CAST: return conv(g, n->a, (ug_dtype)n->ty.dt);
    default: return NULL;
    }
}

LLVMValueRef loops_expr(loops_gen *g, const kernel_node *n) { return expr(g, n); }
LLVMValueRef loops_conv(loops_gen *g, const kernel_node *n, ug_dtype to) { return conv(g, n, to); }

static LLVMValueRef expr(loops_gen *g, const kernel_node *n)
{
    LLVMValueRef v = expr_kind(g, n);
    if (!v && g->err->code == UG_OK)
        unsupported(g, n, "this expression");
    return v;
}

/* ---------------------------------------------------------------- statements */

/* name = <array or shape value> */
static ug_status store_view(loops_gen *g, const kernel_node *target, const kernel_node *value)
{
    loops_arr v = {0};
    if (value->ty.kind == KT_SHAPE) {
        if (!loops_shape_eval(g, value, v.shape, &v.ndim))
            return g->err->code;
    } else if (!loops_arr_eval(g, value, &v)) {
        return g->err->code;
    }
    loops_arr_store(g, &g->fs->aslot[target->index], &v);
    return UG_OK;
}

static ug_status store_to(loops_gen *g, const kernel_node *target, LLVMValueRef v, ug_dtype from)
{
    if (target->kind == N_NAME) {
        LLVMBuildStore(g->B, loops_emit_cast(g, v, from, (ug_dtype)target->ty.dt), slot_of(g, target));
        return UG_OK;
    }
    if (target->kind != N_INDEX)
        return unsupported(g, target, "this assignment target");
    LLVMValueRef p = elem_addr(g, target);
    if (!p)
        return g->err->code ? g->err->code : unsupported(g, target, "this index");
    loops_store_elem(g, loops_emit_cast(g, v, from, (ug_dtype)target->ty.dt), p, (ug_dtype)target->ty.dt);
    return UG_OK;
}

static ug_status assign_tuple(loops_gen *g, const kernel_node *n)
{
    const kernel_node *t = n->kids[0], *v = n->b;
    LLVMValueRef vals[64];
    ug_dtype dts[64];
    if (t->nkids > 64)
        return unsupported(g, n, "unpacking more than 64 values");
    if (n->opty.kind == KT_ARRAY) { /* x, y = a: a 1-d array of exactly that many elements */
        loops_arr a;
        if (!loops_arr_eval(g, v, &a))
            return g->err->code;
        LLVMBasicBlockRef bad = block(g, "unpack.bad"), ok = block(g, "unpack.ok");
        LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntNE, a.shape[0], LLVMConstInt(g->i64, (unsigned)t->nkids, 0), ""),
                        bad, ok);
        LLVMPositionBuilderAtEnd(g->B, bad);
        char msg[80];
        snprintf(msg, sizeof msg, "the array does not have exactly %d elements to unpack", t->nkids);
        loops_raise(g, "ValueError", msg, n->pos.line);
        LLVMPositionBuilderAtEnd(g->B, ok);
        for (int k = 0; k < t->nkids; k++) {
            LLVMValueRef i = LLVMConstInt(g->i64, (unsigned)k, 0);
            vals[k] = loops_load_elem(g, loops_elem_at(g, &a, &i), (ug_dtype)n->opty.dt);
            dts[k] = (ug_dtype)n->opty.dt;
        }
    }
    for (int k = 0; n->opty.kind != KT_ARRAY && k < t->nkids; k++) { /* evaluate every value before storing any */
        if (v->kind == N_ATTR) {
            loops_arr buf;
            const loops_arr *a = arr_of(g, v->a, &buf);
            if (!a)
                return g->err->code;
            vals[k] = a->shape[k];
            dts[k] = UG_INT64;
        } else if (!(vals[k] = expr(g, v->kids[k]))) {
            return g->err->code;
        } else {
            dts[k] = (ug_dtype)v->kids[k]->ty.dt;
        }
    }
    for (int k = 0; k < t->nkids; k++) {
        ug_status st = store_to(g, t->kids[k], vals[k], dts[k]);
        if (st)
            return st;
    }
    return UG_OK;
}

static ug_status assign(loops_gen *g, const kernel_node *n)
{
    if (n->kids[0]->kind == N_TUPLE)
        return assign_tuple(g, n);
    if (g->fs->park && n == g->fs->park->store) { /* the first loop of a split parks s where V would go */
        ug_dtype dt = (ug_dtype)n->kids[0]->ty.dt;
        return store_to(g, n->kids[0], LLVMBuildLoad2(g->B, loops_vty(g, dt), g->fs->lslot[g->fs->park->s], ""), dt);
    }
    const kernel_node *t = n->kids[0];
    if (t->kind == N_NAME && (t->ty.kind == KT_ARRAY || t->ty.kind == KT_SHAPE))
        return store_view(g, t, n->b);
    if (t->kind == N_INDEX && t->ty.kind == KT_ARRAY)
        return loops_slice_store(g, t, n->b);
    LLVMValueRef v = expr(g, n->b);
    return v ? store_to(g, t, v, (ug_dtype)n->b->ty.dt) : g->err->code;
}

/* target op= value: computed in .opty, stored back with a cast. */
static ug_status augassign(loops_gen *g, const kernel_node *n)
{
    const kernel_node *t = n->kids[0];
    if (t->ty.kind == KT_ARRAY)
        return loops_slice_augassign(g, n);
    ug_dtype tt = (ug_dtype)t->ty.dt, ot = (ug_dtype)n->opty.dt;
    LLVMValueRef p = t->kind == N_NAME ? slot_of(g, t) : t->kind == N_INDEX ? elem_addr(g, t) : NULL;
    if (!p)
        return g->err->code ? g->err->code : unsupported(g, n, "this augmented assignment target");
    LLVMValueRef cur = t->kind == N_NAME ? LLVMBuildLoad2(g->B, loops_vty(g, tt), p, t->name) : loops_load_elem(g, p, tt);
    LLVMValueRef r, a = loops_emit_cast(g, cur, tt, ot);
    if (n->op == TK_DSTAR && base_dtype_kind(ot) == BASE_KIND_FLOAT) {
        if (!(r = float_power(g, a, n->b, ot)))
            return g->err->code ? g->err->code : unsupported(g, n, "this operator");
    } else {
        LLVMValueRef b = conv(g, n->b, ot);
        if (!b)
            return g->err->code;
        r = loops_emit_binop(g, n->op, a, b, ot);
    }
    if (!r)
        return unsupported(g, n, "this operator");
    r = loops_emit_cast(g, r, ot, tt);
    if (t->kind == N_NAME)
        LLVMBuildStore(g->B, r, p);
    else
        loops_store_elem(g, r, p, tt);
    return UG_OK;
}

static bool extends_chain(loops_gen *g, const kernel_node *b, int k);
static ug_status if_stmt(loops_gen *g, const kernel_node *n, bool nan_rare);

static ug_status block_stmts(loops_gen *g, const kernel_node *n)
{
    if (!n)
        return UG_OK;
    if (n->kind != N_BLOCK)
        return stmt(g, n);
    for (int k = 0; k < n->nkids; k++) {
        ug_status st = extends_chain(g, n, k) ? if_stmt(g, n->kids[k], true) : stmt(g, n->kids[k]);
        if (st)
            return st;
    }
    return UG_OK;
}

/* Branch weights saying the true edge (a NaN found) is rare, for a NaN test
 * whose if-statement updates a variable that the same loop body already
 * changed earlier in the iteration (numbagg's exponential moving kernels:
 * `numer *= decay` then `if not isnan(a_i): numer += a_i`). There the
 * update stays a predicted branch, as in Numba's code, instead of a select
 * that lengthens the loop-carried multiply-add chain: move_exp_nansum 1.2x
 * and move_exp_nanmean 1.2x faster by medians, at or above Numba's speed.
 * Any other NaN test gets no weights, so LLVM folds a short guarded update
 * (`if not isnan(x): s += x`) into a select as in Numba's code: weighted,
 * numbagg's nansum, nanmean, nanvar, nanstd, move_std, ffill and bfill ran
 * 0.50-0.74x Numba's speed (random NaNs mispredict), unweighted 0.88-1.01x.
 * Measured side by side on an Intel (Emerald Rapids) machine, 1e6 float64,
 * 10% NaN. Vectorised loops predicate either way.
 * On AMD's Zen cores (LLVM's znver CPUs: 3-cycle multiply and add, so the
 * select costs the chain less) the same weights made move_exp_nanmean
 * 0.90x Numba's speed (which selects there) against 0.96x without them,
 * the other moving kernels alike either way (Zen 4, same data): there the
 * test gets no weights and LLVM chooses, as for Numba. */
static bool nan_weights_pay(const loops_gen *g)
{
    const char *cpu = g->req->target ? g->req->target->cpu : loops_host_cpu();
    return !cpu || strncmp(cpu, "znver", 5) != 0;
}

static void nan_unlikely(loops_gen *g, LLVMValueRef br)
{
    const char *bw = "branch_weights";
    LLVMMetadataRef ops[3] = {LLVMMDStringInContext2(g->C, bw, strlen(bw)),
                              LLVMValueAsMetadata(LLVMConstInt(g->i32, 1, 0)),
                              LLVMValueAsMetadata(LLVMConstInt(g->i32, 2000, 0))};
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(g->C, "prof", 4),
                    LLVMMetadataAsValue(g->C, LLVMMDNodeInContext2(g->C, ops, 3)));
}

/* Branch on the truth of c: `and`/`or`/`not` as jumps, not as Python's
 * value-returning forms (`if not isnan(v) and v:` tests v's truth directly
 * instead of converting v to the promoted type and testing that). */
static ug_status cond_branch_w(loops_gen *g, const kernel_node *c, LLVMBasicBlockRef yes, LLVMBasicBlockRef no,
                               bool nan_rare)
{
    if (c->kind == N_UNARY && c->op == TK_NOT)
        return cond_branch_w(g, c->a, no, yes, nan_rare);
    if (c->kind == N_BOOLOP) {
        LLVMBasicBlockRef rhs = block(g, c->op == TK_AND ? "and.rhs" : "or.rhs");
        ug_status st = c->op == TK_AND ? cond_branch_w(g, c->a, rhs, no, nan_rare)
                                       : cond_branch_w(g, c->a, yes, rhs, nan_rare);
        if (st)
            return st;
        LLVMPositionBuilderAtEnd(g->B, rhs);
        return cond_branch_w(g, c->b, yes, no, nan_rare);
    }
    LLVMValueRef v = expr(g, c);
    if (!v)
        return g->err->code;
    LLVMValueRef br = LLVMBuildCondBr(g->B, loops_emit_truth(g, v, (ug_dtype)c->ty.dt), yes, no);
    if (nan_rare && c->kind == N_CALL && c->builtin == B_ISNAN && nan_weights_pay(g))
        nan_unlikely(g, br);
    return UG_OK;
}

static ug_status cond_branch(loops_gen *g, const kernel_node *c, LLVMBasicBlockRef yes, LLVMBasicBlockRef no)
{
    return cond_branch_w(g, c, yes, no, false);
}

/* Whether statement s (at any depth) assigns the local variable idx. */
static bool assigns_local(const kernel_node *s, int idx)
{
    if (!s)
        return false;
    if (s->kind == N_ASSIGN || s->kind == N_AUGASSIGN) {
        const kernel_node *t = s->kids[0];
        if (t->kind == N_NAME)
            return t->symkind == SYM_LOCAL && t->index == idx;
        if (t->kind == N_TUPLE)
            for (int k = 0; k < t->nkids; k++)
                if (t->kids[k]->kind == N_NAME && t->kids[k]->symkind == SYM_LOCAL && t->kids[k]->index == idx)
                    return true;
        return false;
    }
    if (s->kind == N_BLOCK) {
        for (int k = 0; k < s->nkids; k++)
            if (assigns_local(s->kids[k], idx))
                return true;
        return false;
    }
    if (s->kind == N_IF)
        return assigns_local(s->body, idx) || assigns_local(s->orelse, idx);
    return false;
}

/* nan_unlikely's rule: statement k of block b is an if whose condition has a
 * NaN test, inside a loop, and it assigns a local that a plain assignment
 * earlier in b (not nested) also assigns. */
static bool nan_test_in(const kernel_node *c)
{
    if (c->kind == N_UNARY && c->op == TK_NOT)
        return nan_test_in(c->a);
    if (c->kind == N_BOOLOP)
        return nan_test_in(c->a) || nan_test_in(c->b);
    return c->kind == N_CALL && c->builtin == B_ISNAN;
}

static bool extends_chain(loops_gen *g, const kernel_node *b, int k)
{
    const kernel_node *s = b->kids[k];
    if (g->fs->depth == 0 || s->kind != N_IF || !nan_test_in(s->cond))
        return false;
    for (int j = 0; j < k; j++) {
        const kernel_node *e = b->kids[j];
        if ((e->kind == N_ASSIGN || e->kind == N_AUGASSIGN) && e->kids[0]->kind == N_NAME &&
            e->kids[0]->symkind == SYM_LOCAL && assigns_local(s, e->kids[0]->index))
            return true;
    }
    return false;
}

static ug_status if_stmt(loops_gen *g, const kernel_node *n, bool nan_rare)
{
    LLVMBasicBlockRef tb = block(g, "if.then"), eb = block(g, "if.else"), end = block(g, "if.end");
    ug_status cst = cond_branch_w(g, n->cond, tb, eb, nan_rare);
    if (cst)
        return cst;
    LLVMPositionBuilderAtEnd(g->B, tb);
    ug_status st = block_stmts(g, n->body);
    br_to(g, end);
    LLVMPositionBuilderAtEnd(g->B, eb);
    if (!st)
        st = block_stmts(g, n->orelse);
    br_to(g, end);
    LLVMPositionBuilderAtEnd(g->B, end);
    return st;
}

static ug_status loop_body(loops_gen *g, const kernel_node *body, LLVMBasicBlockRef brk, LLVMBasicBlockRef cont)
{
    loops_fstate *fs = g->fs;
    if (fs->depth >= MAX_LOOP_DEPTH)
        return unsupported(g, body, "nesting loops more than 64 deep");
    fs->brk[fs->depth] = brk;
    fs->cont[fs->depth++] = cont;
    ug_status st = block_stmts(g, body);
    fs->depth--;
    br_to(g, cont);
    return st;
}

static ug_status while_stmt(loops_gen *g, const kernel_node *n)
{
    LLVMBasicBlockRef cond = block(g, "loop.cond"), body = block(g, "loop.body"), exit = block(g, "loop.exit");
    LLVMBuildBr(g->B, cond);
    LLVMPositionBuilderAtEnd(g->B, cond);
    ug_status cst = cond_branch(g, n->cond, body, exit);
    if (cst)
        return cst;
    LLVMPositionBuilderAtEnd(g->B, body);
    ug_status st = loop_body(g, n->body, exit, cond);
    LLVMPositionBuilderAtEnd(g->B, exit);
    return st;
}

/* Number of iterations of range(start, stop, step), Python semantics, as
 * an unsigned count (step 0: no iterations). */
static LLVMValueRef trip_count(loops_gen *g, LLVMValueRef start, LLVMValueRef stop, LLVMValueRef step)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef zero = LLVMConstInt(g->i64, 0, 0), one = LLVMConstInt(g->i64, 1, 0);
    LLVMValueRef pos = LLVMBuildICmp(B, LLVMIntSGT, step, zero, "up");
    LLVMValueRef neg = LLVMBuildICmp(B, LLVMIntSLT, step, zero, "down");
    LLVMValueRef lo = LLVMBuildSelect(B, pos, start, stop, ""), hi = LLVMBuildSelect(B, pos, stop, start, "");
    LLVMValueRef mag = LLVMBuildSelect(B, pos, step, LLVMBuildNeg(B, step, ""), "mag");
    LLVMValueRef safe = LLVMBuildSelect(B, LLVMBuildOr(B, pos, neg, ""), mag, one, "");
    LLVMValueRef n = LLVMBuildAdd(B, LLVMBuildUDiv(B, LLVMBuildSub(B, LLVMBuildSub(B, hi, lo, ""), one, ""), safe, ""),
                                  one, "trips");
    LLVMValueRef any = LLVMBuildAnd(B, LLVMBuildOr(B, pos, neg, ""), LLVMBuildICmp(B, LLVMIntSLT, lo, hi, ""), "");
    return LLVMBuildSelect(B, any, n, zero, "trip");
}

/* A counted loop (gen.h): k = 0 .. trips-1 in the body. */
LLVMValueRef loops_count_begin(loops_gen *g, loops_counted *c, LLVMValueRef trips)
{
    c->ctr = loops_entry_alloca(g, g->i64, "for.k");
    LLVMBuildStore(g->B, LLVMConstInt(g->i64, 0, 0), c->ctr);
    c->cond = block(g, "loop.cond");
    c->step = block(g, "loop.step");
    c->exit = block(g, "loop.exit");
    LLVMBasicBlockRef body = block(g, "loop.body");
    LLVMBuildBr(g->B, c->cond);
    LLVMPositionBuilderAtEnd(g->B, c->cond);
    LLVMValueRef k = LLVMBuildLoad2(g->B, g->i64, c->ctr, "k");
    LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntULT, k, trips, ""), body, c->exit);
    LLVMPositionBuilderAtEnd(g->B, body);
    return k;
}

void loops_count_end(loops_gen *g, loops_counted *c, LLVMMetadataRef loop_id)
{
    br_to(g, c->step);
    LLVMPositionBuilderAtEnd(g->B, c->step);
    LLVMValueRef k = LLVMBuildLoad2(g->B, g->i64, c->ctr, "k");
    /* nsw/nuw: a loop of 2**63 iterations never ends anyway; with them
     * LLVM knows k >= 0 and can drop wrap-around tests of indices */
    LLVMValueRef k1 = LLVMBuildAdd(g->B, k, LLVMConstInt(g->i64, 1, 0), "k.next");
    LLVMSetNSW(k1, 1);
    LLVMSetNUW(k1, 1);
    LLVMBuildStore(g->B, k1, c->ctr);
    LLVMValueRef br = LLVMBuildBr(g->B, c->cond);
    if (loop_id)
        LLVMSetMetadata(br, LLVMGetMDKindIDInContext(g->C, "llvm.loop", 9), LLVMMetadataAsValue(g->C, loop_id));
    LLVMPositionBuilderAtEnd(g->B, c->exit);
}

/* A step of +1 or -1 known at compile time: start + k*step is then every
 * value from start on, none overflows, and LLVM may know it (nsw); with
 * other steps the product may wrap in loops that still end. */
static bool unit_step(LLVMValueRef step)
{
    if (!LLVMIsAConstantInt(step))
        return false;
    long long s = LLVMConstIntGetSExtValue(step);
    return s == 1 || s == -1;
}

/* The loop as written over range r[0..2] (start, stop, step). */
static ug_status range_loop(loops_gen *g, const kernel_node *n, LLVMValueRef *r, LLVMValueRef trips,
                            LLVMMetadataRef loop_id)
{
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, trips);
    if (n->ival) /* reversed(range(...)): the same values, last first */
        k = LLVMBuildSub(g->B, LLVMBuildSub(g->B, trips, LLVMConstInt(g->i64, 1, 0), ""), k, "k.rev");
    LLVMValueRef i = unit_step(r[2]) ? LLVMBuildNSWAdd(g->B, r[0], LLVMBuildNSWMul(g->B, k, r[2], ""), "i")
                                     : LLVMBuildAdd(g->B, r[0], LLVMBuildMul(g->B, k, r[2], ""), "i");
    if (unit_step(r[2])) { /* tell LLVM the bound i never passes (range(n - 1, -1, -1): i >= 0), so an
                              index's negative-wrap test folds away as it does going up */
        LLVMValueRef lo = LLVMConstIntGetSExtValue(r[2]) > 0 ? r[0] : LLVMBuildAdd(g->B, r[1], LLVMConstInt(g->i64, 1, 0), "");
        unsigned id = LLVMLookupIntrinsicID("llvm.assume", 11);
        LLVMValueRef fn = LLVMGetIntrinsicDeclaration(g->M, id, NULL, 0);
        LLVMValueRef ge = LLVMBuildICmp(g->B, LLVMIntSGE, i, lo, "in.range");
        LLVMBuildCall2(g->B, LLVMGlobalGetValueType(fn), fn, &ge, 1, "");
    }
    LLVMBuildStore(g->B, i, slot_of(g, n->kids[0]));
    ug_status st = loop_body(g, n->body, c.exit, c.step);
    loops_count_end(g, &c, loop_id);
    return st;
}

/* Bytes [lo, hi) that array param k spans; *none: it has no element. */
static void extent(loops_gen *g, int k, LLVMValueRef *lo, LLVMValueRef *hi, LLVMValueRef *none)
{
    const loops_arr *a = &g->fs->arrs[k];
    LLVMValueRef zero = LLVMConstInt(g->i64, 0, 0), one = LLVMConstInt(g->i64, 1, 0);
    LLVMValueRef base = LLVMBuildPtrToInt(g->B, a->base, g->i64, "");
    *lo = base;
    *hi = LLVMBuildAdd(g->B, base, LLVMConstInt(g->i64, ug_dtype_size((ug_dtype)g->fs->f->params[k].ty.dt), 0), "");
    *none = LLVMConstInt(g->i1, 0, 0);
    for (int d = 0; d < a->ndim; d++) {
        LLVMValueRef span = LLVMBuildMul(g->B, LLVMBuildSub(g->B, a->shape[d], one, ""), a->stride[d], "span");
        LLVMValueRef neg = LLVMBuildICmp(g->B, LLVMIntSLT, span, zero, "");
        *lo = LLVMBuildAdd(g->B, *lo, LLVMBuildSelect(g->B, neg, span, zero, ""), "ext.lo");
        *hi = LLVMBuildAdd(g->B, *hi, LLVMBuildSelect(g->B, neg, zero, span, ""), "ext.hi");
        *none = LLVMBuildOr(g->B, *none, LLVMBuildICmp(g->B, LLVMIntSLE, a->shape[d], zero, ""), "empty");
    }
}

/* Whether the split loop computes what the loop as written does (fission.c
 * lists what it cannot know before run time): X apart from every other
 * array the body indexes, step 1, X contiguous on the moving axis, and the
 * moving index not starting negative (no wrap-around). */
static LLVMValueRef split_ok(loops_gen *g, const loops_fission *p, LLVMValueRef *r)
{
    const kernel_node *x = p->store->kids[0]->a;
    const loops_arr *xa = &g->fs->arrs[x->index];
    LLVMValueRef esz = LLVMConstInt(g->i64, ug_dtype_size((ug_dtype)p->store->kids[0]->ty.dt), 0);
    LLVMValueRef first = LLVMBuildAdd(g->B, r[0], LLVMConstInt(g->i64, (unsigned long long)p->off, 1), "");
    LLVMValueRef ok = LLVMBuildAnd(g->B, LLVMBuildICmp(g->B, LLVMIntEQ, r[2], LLVMConstInt(g->i64, 1, 0), ""),
                                   LLVMBuildICmp(g->B, LLVMIntEQ, xa->stride[p->axis], esz, ""), "");
    ok = LLVMBuildAnd(g->B, ok, LLVMBuildICmp(g->B, LLVMIntSGE, first, LLVMConstInt(g->i64, 0, 0), ""), "");
    LLVMValueRef xlo, xhi, xnone;
    extent(g, x->index, &xlo, &xhi, &xnone);
    for (int k = 0; k < g->fs->f->nparams; k++) {
        if (!p->touched[k])
            continue;
        LLVMValueRef lo, hi, none;
        extent(g, k, &lo, &hi, &none);
        LLVMValueRef apart = LLVMBuildOr(g->B, LLVMBuildICmp(g->B, LLVMIntULE, xhi, lo, ""),
                                         LLVMBuildICmp(g->B, LLVMIntULE, hi, xlo, ""), "");
        apart = LLVMBuildOr(g->B, apart, LLVMBuildOr(g->B, none, xnone, ""), "apart");
        ok = LLVMBuildAnd(g->B, ok, apart, "split.ok");
    }
    return ok;
}

/* The second loop of a split: X[..., i + off, ...] = V with the parked
 * value of s read back from X, over contiguous elements. */
static ug_status split_tail(loops_gen *g, const kernel_node *n, const loops_fission *p, LLVMValueRef start,
                            LLVMValueRef trips)
{
    const kernel_node *t = p->store->kids[0], *v = p->store->b;
    ug_dtype dt = (ug_dtype)t->ty.dt;
    LLVMValueRef ivslot = slot_of(g, n->kids[0]);
    LLVMValueRef keep = LLVMBuildLoad2(g->B, g->i64, ivslot, "");
    LLVMBuildStore(g->B, start, ivslot); /* the first element's address, the loop variable kept */
    LLVMValueRef p0 = elem_addr(g, t);
    LLVMBuildStore(g->B, keep, ivslot);
    if (!p0)
        return g->err->code ? g->err->code : unsupported(g, t, "this index");
    LLVMValueRef parked = loops_entry_alloca(g, loops_vty(g, dt), "parked");
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, trips);
    LLVMBuildStore(g->B, LLVMBuildAdd(g->B, start, k, "i"), ivslot);
    LLVMValueRef q = LLVMBuildInBoundsGEP2(g->B, loops_mty(g, dt), p0, &k, 1, "elem");
    LLVMBuildStore(g->B, loops_load_elem(g, q, dt), parked);
    LLVMValueRef own = g->fs->lslot[p->s];
    g->fs->lslot[p->s] = parked;
    LLVMValueRef val = expr(g, v);
    g->fs->lslot[p->s] = own;
    if (!val)
        return g->err->code;
    loops_store_elem(g, loops_emit_cast(g, val, (ug_dtype)v->ty.dt, dt), q, dt);
    loops_count_end(g, &c, NULL);
    return UG_OK;
}

/* A loop fission.c splits: checked at run time, else the loop as written. */
static ug_status split_loop(loops_gen *g, const kernel_node *n, const loops_fission *p, LLVMValueRef *r,
                            LLVMValueRef trips)
{
    LLVMBasicBlockRef yes = block(g, "split"), no = block(g, "split.no"), end = block(g, "split.end");
    LLVMBuildCondBr(g->B, split_ok(g, p, r), yes, no);
    LLVMPositionBuilderAtEnd(g->B, no);
    ug_status st = range_loop(g, n, r, trips, loops_scalar_loop_id(g));
    br_to(g, end);
    LLVMPositionBuilderAtEnd(g->B, yes);
    const loops_fission *outer = g->fs->park;
    g->fs->park = p;
    if (!st)
        st = range_loop(g, n, r, trips, loops_scalar_loop_id(g));
    g->fs->park = outer;
    if (!st)
        st = split_tail(g, n, p, r[0], trips);
    br_to(g, end);
    LLVMPositionBuilderAtEnd(g->B, end);
    return st;
}

/* A loop target gets element k of array a: a number (1-d) or a row view. */
static ug_status bind_elem(loops_gen *g, const kernel_node *var, const loops_arr *a, LLVMValueRef k, ug_dtype dt)
{
    if (a->ndim == 1) {
        LLVMValueRef p = LLVMBuildGEP2(g->B, g->i8, a->base,
                                       (LLVMValueRef[]){LLVMBuildMul(g->B, k, a->stride[0], "")}, 1, "elem");
        return store_to(g, var, loops_load_elem(g, p, dt), dt);
    }
    loops_arr row = {.ndim = a->ndim - 1};
    row.base = LLVMBuildGEP2(g->B, g->i8, a->base, (LLVMValueRef[]){LLVMBuildMul(g->B, k, a->stride[0], "")}, 1, "row");
    memcpy(row.shape, a->shape + 1, (size_t)row.ndim * sizeof *row.shape);
    memcpy(row.stride, a->stride + 1, (size_t)row.ndim * sizeof *row.stride);
    loops_arr_store(g, &g->fs->aslot[var->index], &row);
    return UG_OK;
}

/* np.ndindex(shape): one counted loop per axis; the target is a shape
 * tuple local or one int local per axis. */
static ug_status ndindex_loop(loops_gen *g, const kernel_node *n)
{
    LLVMValueRef dims[UG_MAXDIMS], idx[UG_MAXDIMS];
    int nd = 0;
    if (n->nkids == 2) {
        if (!loops_shape_eval(g, n->kids[1], dims, &nd))
            return g->err->code;
    } else {
        for (; nd < n->nkids - 1; nd++)
            if (!(dims[nd] = conv(g, n->kids[nd + 1], UG_INT64)))
                return g->err->code;
    }
    loops_counted c[UG_MAXDIMS];
    for (int d = 0; d < nd; d++)
        idx[d] = loops_count_begin(g, &c[d], dims[d]);
    const kernel_node *var = n->kids[0];
    if (var->kind == N_TUPLE) {
        for (int d = 0; d < nd; d++)
            store_to(g, var->kids[d], idx[d], UG_INT64);
    } else {
        loops_arr t = {.ndim = nd};
        memcpy(t.shape, idx, (size_t)nd * sizeof *idx);
        loops_arr_store(g, &g->fs->aslot[var->index], &t);
    }
    ug_status st = loop_body(g, n->body, c[0].exit, c[nd - 1].step);
    for (int d = nd - 1; d >= 0; d--)
        loops_count_end(g, &c[d], NULL);
    return st;
}

/* for x in a / enumerate(a, s) / zip(a, b, ...): a counted loop over the
 * first axis of arrays evaluated once, before the loop. */
static ug_status iter_loop(loops_gen *g, const kernel_node *n)
{
    if (n->iter == FOR_NDINDEX)
        return ndindex_loop(g, n);
    loops_arr arrs[UG_MAXARGS];
    const kernel_node *src[UG_MAXARGS];
    int na = 0;
    if (n->iter == FOR_ZIP) {
        for (int k = 1; k < n->nkids && na < UG_MAXARGS; k++)
            src[na++] = n->kids[k];
    } else {
        src[na++] = n->a;
    }
    LLVMValueRef trips = NULL, start = NULL;
    for (int k = 0; k < na; k++) {
        if (!loops_arr_eval(g, src[k], &arrs[k]))
            return g->err->code;
        LLVMValueRef len = arrs[k].shape[0];
        trips = !trips ? len : LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, LLVMIntSLT, len, trips, ""), len, trips, "");
    }
    if (n->iter == FOR_ENUMERATE && n->b && !(start = conv(g, n->b, UG_INT64)))
        return g->err->code;
    loops_counted c;
    LLVMValueRef k = loops_count_begin(g, &c, trips);
    const kernel_node *var = n->kids[0];
    ug_status st = UG_OK;
    if (n->iter == FOR_ENUMERATE) {
        st = store_to(g, var->kids[0], start ? LLVMBuildAdd(g->B, k, start, "i") : k, UG_INT64);
        if (!st)
            st = bind_elem(g, var->kids[1], &arrs[0], k, (ug_dtype)src[0]->ty.dt);
    } else {
        for (int j = 0; j < na && !st; j++)
            st = bind_elem(g, var->kind == N_TUPLE ? var->kids[j] : var, &arrs[j], k, (ug_dtype)src[j]->ty.dt);
    }
    if (!st)
        st = loop_body(g, n->body, c.exit, c.step);
    loops_count_end(g, &c, NULL);
    return st;
}

static ug_status for_stmt(loops_gen *g, const kernel_node *n)
{
    if (n->nrange == 0)
        return iter_loop(g, n);
    LLVMValueRef r[3] = {LLVMConstInt(g->i64, 0, 0), NULL, LLVMConstInt(g->i64, 1, 0)};
    int first = n->nrange == 1 ? 1 : 0;
    for (int k = 0; k < n->nrange; k++)
        if (!(r[first + k] = conv(g, n->range[k], UG_INT64)))
            return g->err->code;
    if (!LLVMIsAConstantInt(r[2]) && g->errflag) { /* range(a, b, 0) raises, as Python does */
        LLVMBasicBlockRef bad = block(g, "range.zero"), ok = block(g, "range.ok");
        LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntEQ, r[2], LLVMConstInt(g->i64, 0, 0), ""), bad, ok);
        LLVMPositionBuilderAtEnd(g->B, bad);
        loops_raise(g, "ValueError", "range() arg 3 must not be zero", n->range[2]->pos.line);
        LLVMPositionBuilderAtEnd(g->B, ok);
    }
    LLVMValueRef trips = trip_count(g, r[0], r[1], r[2]);
    loops_fission p;
    if (g->req->opt_level >= 2 && !g->errflag && n->nrange > 0 && !n->ival && loops_fission_plan(g->fs->f, n, &p))
        return split_loop(g, n, &p, r, trips);
    return range_loop(g, n, r, trips, NULL);
}

static ug_status jump(loops_gen *g, const kernel_node *n, bool is_break)
{
    if (!g->fs->depth)
        return unsupported(g, n, is_break ? "'break' outside a loop" : "'continue' outside a loop");
    LLVMBuildBr(g->B, is_break ? g->fs->brk[g->fs->depth - 1] : g->fs->cont[g->fs->depth - 1]);
    after_jump(g);
    return UG_OK;
}

static ug_status return_stmt(loops_gen *g, const kernel_node *n)
{
    const kernel_func *f = g->fs->f;
    if (n->a && f->ret.kind == KT_ARRAY) {
        loops_arr a;
        if (!loops_arr_eval(g, n->a, &a))
            return g->err->code;
        LLVMValueRef v = LLVMGetUndef(arr_struct(g, a.ndim));
        v = LLVMBuildInsertValue(g->B, v, a.base, 0, "");
        for (int d = 0; d < a.ndim; d++) {
            v = LLVMBuildInsertValue(g->B, v, a.shape[d], 1 + (unsigned)d, "");
            v = LLVMBuildInsertValue(g->B, v, a.stride[d], 1 + (unsigned)(a.ndim + d), "");
        }
        LLVMBuildStore(g->B, v, g->fs->ret_slot);
    } else if (n->a && f->ret.kind == KT_SCALAR) {
        LLVMValueRef v = conv(g, n->a, (ug_dtype)f->ret.dt);
        if (!v)
            return g->err->code;
        LLVMBuildStore(g->B, v, g->fs->ret_slot);
    }
    LLVMBuildBr(g->B, g->fs->ret_bb);
    after_jump(g);
    return UG_OK;
}

static ug_status stmt(loops_gen *g, const kernel_node *n)
{
    switch (n->kind) {
    case N_ASSIGN: return assign(g, n);
    case N_AUGASSIGN: return augassign(g, n);
    case N_EXPRSTMT: /* a bare array or a.shape is a value Python drops: nothing to emit */
        if (n->a->ty.kind == KT_ARRAY || n->a->ty.kind == KT_SHAPE)
            return UG_OK;
        return expr(g, n->a) ? UG_OK : g->err->code;
    case N_IF: return if_stmt(g, n, false);
    case N_FOR: return for_stmt(g, n);
    case N_WHILE: return while_stmt(g, n);
    case N_BREAK: return jump(g, n, true);
    case N_CONTINUE: return jump(g, n, false);
    case N_PASS: return UG_OK;
    case N_RETURN: return return_stmt(g, n);
    case N_BLOCK: return block_stmts(g, n);
    case N_RAISE:
        loops_raise(g, n->name, n->str, n->pos.line);
        after_jump(g);
        return UG_OK;
    case N_ASSERT: {
        LLVMValueRef c = expr(g, n->cond);
        if (!c)
            return g->err->code;
        LLVMBasicBlockRef bad = block(g, "assert.failed"), ok = block(g, "assert.ok");
        LLVMBuildCondBr(g->B, loops_emit_truth(g, c, (ug_dtype)n->cond->ty.dt), ok, bad);
        LLVMPositionBuilderAtEnd(g->B, bad);
        loops_raise(g, "AssertionError", n->str, n->pos.line);
        LLVMPositionBuilderAtEnd(g->B, ok);
        return UG_OK;
    }
    default: return unsupported(g, n, "this statement");
    }
}

/* ---------------------------------------------------------------- functions */

/* Parameter k, starting at LLVM parameter p: a scalar goes to a stack slot,
 * an array to its descriptor. Returns the next LLVM parameter index. */
static unsigned bind_param(loops_gen *g, loops_fstate *fs, int k, unsigned p)
{
    const kernel_var *v = &fs->f->params[k];
    if (v->ty.kind != KT_ARRAY) {
        fs->pslot[k] = LLVMBuildAlloca(g->B, loops_vty(g, (ug_dtype)v->ty.dt), v->name);
        LLVMBuildStore(g->B, LLVMGetParam(fs->fn, p), fs->pslot[k]);
        return p + 1;
    }
    loops_arr *a = &fs->arrs[k];
    a->ndim = v->ty.ndim;
    a->base = LLVMGetParam(fs->fn, p++);
    for (int d = 0; d < a->ndim; d++)
        a->shape[d] = LLVMGetParam(fs->fn, p++);
    for (int d = 0; d < a->ndim; d++)
        a->stride[d] = LLVMGetParam(fs->fn, p++);
    return p;
}

/* Entry block: parameters into slots / array descriptors, locals' slots,
 * the return slot (zero, in case a path falls off the end). */
static ug_status prologue(loops_gen *g, loops_fstate *fs)
{
    const kernel_func *f = fs->f;
    unsigned p = 0;
    fs->lslot = calloc((size_t)f->nlocals + 1, sizeof *fs->lslot);
    fs->pslot = calloc((size_t)f->nparams + 1, sizeof *fs->pslot);
    fs->arrs = calloc((size_t)f->nparams + 1, sizeof *fs->arrs);
    if (!fs->lslot || !fs->pslot || !fs->arrs)
        return base_err_set(g->err, UG_ENOMEM, "out of memory lowering '%s'", f->name);
    fs->aslot = calloc((size_t)f->nlocals + 1, sizeof *fs->aslot);
    if (!fs->aslot)
        return base_err_set(g->err, UG_ENOMEM, "out of memory lowering '%s'", f->name);
    for (int k = 0; k < f->nlocals; k++) {
        kernel_type t = f->locals[k].ty;
        if (t.kind != KT_ARRAY && t.kind != KT_SHAPE)
            continue;
        loops_aslot *a = &fs->aslot[k];
        if (t.kind == KT_ARRAY) {
            a->base = LLVMBuildAlloca(g->B, g->ptr, f->locals[k].name);
            LLVMBuildStore(g->B, LLVMConstNull(g->ptr), a->base);
        }
        for (int d = 0; d < t.ndim; d++) { /* zero: a view never assigned on a path is empty, not garbage */
            a->shape[d] = LLVMBuildAlloca(g->B, g->i64, "shape");
            LLVMBuildStore(g->B, LLVMConstInt(g->i64, 0, 0), a->shape[d]);
            if (t.kind == KT_ARRAY) {
                a->stride[d] = LLVMBuildAlloca(g->B, g->i64, "stride");
                LLVMBuildStore(g->B, LLVMConstInt(g->i64, 0, 0), a->stride[d]);
            }
        }
    }
    if (g->frames && !takes_frame(g, f)) { /* the kernel's list of local arrays, freed at its return */
        fs->frame = LLVMBuildAlloca(g->B, g->ptr, "frame");
        LLVMBuildStore(g->B, LLVMConstNull(g->ptr), fs->frame);
    }
    for (int k = 0; k < f->nlocals; k++)
        if (f->locals[k].ty.kind == KT_SCALAR) {
            /* zero-initialised: a loop that runs zero times leaves 0 in its loop variable */
            LLVMTypeRef lt = loops_vty(g, (ug_dtype)f->locals[k].ty.dt);
            fs->lslot[k] = LLVMBuildAlloca(g->B, lt, f->locals[k].name);
            LLVMBuildStore(g->B, LLVMConstNull(lt), fs->lslot[k]);
        }
    for (int k = 0; k < f->nparams; k++)
        p = bind_param(g, fs, k, p);
    if (g->errflag)
        fs->errflag = LLVMGetParam(fs->fn, p++);
    if (takes_frame(g, f))
        fs->frame = LLVMGetParam(fs->fn, p++);
    if (f->ret.kind == KT_SCALAR || f->ret.kind == KT_ARRAY) {
        LLVMTypeRef rt = ret_type(g, f);
        fs->ret_slot = LLVMBuildAlloca(g->B, rt, "ret");
        LLVMBuildStore(g->B, LLVMConstNull(rt), fs->ret_slot);
    }
    return UG_OK;
}

static ug_status lower_func(loops_gen *g, int idx)
{
    loops_fstate fs = {.f = g->req->tk->funcs[idx], .fn = g->fns[idx]};
    g->fs = &fs;
    LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, fs.fn, "entry"));
    ug_status st = prologue(g, &fs);
    fs.ret_bb = block(g, "return");
    if (!st)
        st = block_stmts(g, fs.f->body);
    if (!st) {
        br_to(g, fs.ret_bb);
        LLVMPositionBuilderAtEnd(g->B, fs.ret_bb);
        if (!takes_frame(g, fs.f))
            loops_free_frame(g);
        if (fs.ret_slot)
            LLVMBuildRet(g->B, LLVMBuildLoad2(g->B, ret_type(g, fs.f), fs.ret_slot, "r"));
        else
            LLVMBuildRetVoid(g->B);
    }
    free(fs.lslot);
    free(fs.aslot);
    free(fs.pslot);
    free(fs.arrs);
    g->fs = NULL;
    return st;
}

ug_status loops_lower_kernel(loops_gen *g)
{
    const kernel_typed *tk = g->req->tk;
    if (!(g->fns = calloc((size_t)tk->nfuncs + 1, sizeof *g->fns)))
        return base_err_set(g->err, UG_ENOMEM, "out of memory lowering a kernel");
    for (int k = 0; k < tk->nfuncs; k++) {
        char name[256];
        snprintf(name, sizeof name, "ug.%s.%d", tk->funcs[k]->name ? tk->funcs[k]->name : "lambda", k);
        LLVMTypeRef fty = loops_func_type(g, tk->funcs[k]);
        if (!fty)
            return base_err_set(g->err, UG_ENOMEM, "out of memory lowering '%s'", tk->funcs[k]->name);
        g->fns[k] = LLVMAddFunction(g->M, name, fty);
        LLVMSetLinkage(g->fns[k], LLVMInternalLinkage);
        loops_attr(g, g->fns[k], LLVMAttributeFunctionIndex, "alwaysinline");
        loops_attr(g, g->fns[k], LLVMAttributeFunctionIndex, "nounwind");
    }
    for (int k = 0; k < tk->nfuncs; k++) {
        ug_status st = lower_func(g, k);
        if (st)
            return st;
    }
    return UG_OK;
}
