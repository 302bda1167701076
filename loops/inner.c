/* inner.c — the loop function with NumPy's ABI:
 *
 *     void loop(char **args, npy_intp const *dimensions, npy_intp const *steps, void *data)
 *
 * Requires: the kernel lowered (g->fns[0]). Scalar kernels get one function
 * with two loops:
 *   contig   every stride (outputs included) the element size and no input
 *            partly overlapping the output: a loop whose accesses are
 *            declared parallel (llvm.loop.parallel_accesses), which LLVM
 *            vectorises without runtime alias checks. Pointers may alias
 *            (out == in); never noalias, since exact overlap is allowed.
 *   strided  anything else goes to rt_strided (runtime/strided.c), which runs
 *            the call in gathered blocks, each a call of this function with
 *            unit steps, or answers that it must run element after element
 *            (NumPy's reduce: output stride 0; accumulate: an input one
 *            element behind the output), and then
 *   serial   the plain loop, iteration after iteration, does that.
 * The blocked path lives in C so that the optimiser and the code generator
 * see the kernel only twice (vector and serial): its copy loops and overlap
 * tests, generated per operand, and a separate vector-body function once
 * made up more than half of the compile time of a signature.
 * Gufunc kernels get one outer loop over dimensions[0] that calls the kernel
 * with array arguments built from dimensions[1..] and the core steps.
 */
#include <stdlib.h>
#include <string.h>

#include <llvm-c/DebugInfo.h>
#include <llvm-c/IRReader.h>

#include "base/base.h"
#include "loops/gen.h"

/* What the loop function reads from its arguments. */
typedef struct abi {
    LLVMValueRef fn, n, errflag;
    LLVMValueRef base[UG_MAXARGS], step[UG_MAXARGS];
    LLVMMetadataRef ag; /* access group of parallel loops (NULL until needed) */
    LLVMBasicBlockRef exit;
    int nin, nops;
} abi;

/* ---------------------------------------------------------------- metadata */

/* The C API cannot create a distinct empty node (what llvm.access.group
 * needs), so parse one; metadata belongs to the context and outlives the
 * helper module, which we dispose. */
LLVMMetadataRef loops_access_group(loops_gen *g)
{
    static const char txt[] = "!ag = !{!0}\n!0 = distinct !{}\n";
    LLVMMemoryBufferRef mb = LLVMCreateMemoryBufferWithMemoryRangeCopy(txt, sizeof txt - 1, "ag");
    LLVMModuleRef m;
    char *msg = NULL;
    if (LLVMParseIRInContext(g->C, mb, &m, &msg)) { /* consumes mb */
        LLVMDisposeMessage(msg);
        return NULL;
    }
    LLVMValueRef op;
    LLVMGetNamedMetadataOperands(m, "ag", &op);
    LLVMMetadataRef ag = LLVMValueAsMetadata(op);
    LLVMDisposeModule(m);
    return ag;
}

/* distinct !{!self, !{!"llvm.loop.parallel_accesses", ag}}: a temporary
 * node replaced by the node itself makes it self-referential. */
LLVMMetadataRef loops_parallel_loop_id(loops_gen *g, LLVMMetadataRef ag)
{
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(g->C, NULL, 0);
    const char *k = "llvm.loop.parallel_accesses";
    LLVMMetadataRef pa[2] = {LLVMMDStringInContext2(g->C, k, strlen(k)), ag};
    LLVMMetadataRef ops[2] = {tmp, LLVMMDNodeInContext2(g->C, pa, 2)};
    LLVMMetadataRef id = LLVMMDNodeInContext2(g->C, ops, 2);
    LLVMMetadataReplaceAllUsesWith(tmp, id); /* also frees tmp */
    return id;
}

/* distinct !{!self, !{!"llvm.loop.vectorize.enable", i1 false}, !{!"llvm.loop.unroll.disable"}}:
 * for loops not worth vectorising (strided copies, serial reductions); they
 * would only cost compile time. */
LLVMMetadataRef loops_scalar_loop_id(loops_gen *g)
{
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(g->C, NULL, 0);
    const char *ve = "llvm.loop.vectorize.enable", *ud = "llvm.loop.unroll.disable";
    LLVMMetadataRef no = LLVMValueAsMetadata(LLVMConstInt(g->i1, 0, 0));
    LLVMMetadataRef v[2] = {LLVMMDStringInContext2(g->C, ve, strlen(ve)), no};
    LLVMMetadataRef u = LLVMMDStringInContext2(g->C, ud, strlen(ud));
    LLVMMetadataRef ops[3] = {tmp, LLVMMDNodeInContext2(g->C, v, 2), LLVMMDNodeInContext2(g->C, &u, 1)};
    LLVMMetadataRef id = LLVMMDNodeInContext2(g->C, ops, 3);
    LLVMMetadataReplaceAllUsesWith(tmp, id); /* also frees tmp */
    return id;
}

static void tag(loops_gen *g, LLVMValueRef inst, LLVMMetadataRef ag)
{
    if (ag && inst && LLVMIsAInstruction(inst))
        LLVMSetMetadata(inst, LLVMGetMDKindIDInContext(g->C, "llvm.access.group", 17), LLVMMetadataAsValue(g->C, ag));
}

/* ---------------------------------------------------------------- counted loops */

typedef struct counted {
    LLVMBasicBlockRef pre, body, exit;
    LLVMValueRef i;
} counted;

/* for i in [0, n) with n > 0: positions the builder in loop.body. */
static void loop_begin(loops_gen *g, LLVMValueRef fn, counted *c, LLVMBasicBlockRef exit)
{
    c->pre = LLVMGetInsertBlock(g->B);
    c->body = LLVMAppendBasicBlockInContext(g->C, fn, "loop.body");
    c->exit = exit;
    LLVMBuildBr(g->B, c->body);
    LLVMPositionBuilderAtEnd(g->B, c->body);
    c->i = LLVMBuildPhi(g->B, g->i64, "i");
}

static void loop_end(loops_gen *g, counted *c, LLVMValueRef n, LLVMMetadataRef loop_id)
{
    LLVMValueRef next = LLVMBuildNUWAdd(g->B, c->i, LLVMConstInt(g->i64, 1, 0), "i.next");
    LLVMValueRef br = LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntEQ, next, n, "loop.done"), c->exit, c->body);
    if (loop_id)
        LLVMSetMetadata(br, LLVMGetMDKindIDInContext(g->C, "llvm.loop", 9), LLVMMetadataAsValue(g->C, loop_id));
    LLVMValueRef vals[2] = {LLVMConstInt(g->i64, 0, 0), next};
    LLVMBasicBlockRef from[2] = {c->pre, LLVMGetInsertBlock(g->B)};
    LLVMAddIncoming(c->i, vals, from, 2);
    LLVMPositionBuilderAtEnd(g->B, c->exit);
}

static LLVMValueRef elem_ptr(loops_gen *g, LLVMValueRef base, LLVMValueRef stride, LLVMValueRef i, ug_dtype dt)
{
    if (LLVMIsConstant(stride) && LLVMConstIntGetSExtValue(stride) == (long long)ug_dtype_size(dt))
        return LLVMBuildInBoundsGEP2(g->B, loops_mty(g, dt), base, &i, 1, "p"); /* unit stride for SCEV */
    LLVMValueRef off = LLVMBuildMul(g->B, i, stride, "off");
    return LLVMBuildGEP2(g->B, g->i8, base, &off, 1, "p");
}

/* ---------------------------------------------------------------- scalar kernels */

static LLVMValueRef kernel_call(loops_gen *g, abi *a, LLVMValueRef *in)
{
    const kernel_func *k = g->req->tk->kernel;
    LLVMValueRef args[UG_MAXARGS + 1];
    int m = 0;
    for (int j = 0; j < a->nin && j < k->nparams; j++)
        args[m++] = loops_emit_cast(g, in[j], g->req->dtypes[j], (ug_dtype)k->params[j].ty.dt);
    if (g->errflag)
        args[m++] = a->errflag;
    LLVMValueRef r = LLVMBuildCall2(g->B, LLVMGlobalGetValueType(g->fns[0]), g->fns[0], args, (unsigned)m, "");
    return loops_emit_cast(g, r, (ug_dtype)k->ret.dt, g->req->dtypes[a->nin]);
}

/* One loop over n elements: operand k at base[k] + i * stride[k], or the
 * value pre[k] if set (a hoisted broadcast input). */
static void scalar_loop(loops_gen *g, abi *a, LLVMValueRef n, LLVMValueRef *base, LLVMValueRef *stride,
                        LLVMValueRef *pre, bool parallel, LLVMBasicBlockRef exit)
{
    const ug_dtype *dt = g->req->dtypes;
    LLVMMetadataRef ag = parallel ? a->ag : NULL;
    counted c;
    loop_begin(g, a->fn, &c, exit);
    LLVMValueRef in[UG_MAXARGS];
    for (int k = 0; k < a->nin; k++) {
        if (pre && pre[k]) {
            in[k] = pre[k];
            continue;
        }
        in[k] = loops_load_elem(g, elem_ptr(g, base[k], stride[k], c.i, dt[k]), dt[k]);
        tag(g, dt[k] == UG_BOOL ? LLVMGetOperand(in[k], 0) : in[k], ag);
    }
    LLVMValueRef r = kernel_call(g, a, in);
    LLVMValueRef p = elem_ptr(g, base[a->nin], stride[a->nin], c.i, dt[a->nin]);
    loops_store_elem(g, r, p, dt[a->nin]);
    tag(g, LLVMGetLastInstruction(LLVMGetInsertBlock(g->B)), ag);
    loop_end(g, &c, n, ag ? loops_parallel_loop_id(g, ag) : loops_scalar_loop_id(g));
}

static LLVMValueRef esize(loops_gen *g, ug_dtype dt) { return LLVMConstInt(g->i64, ug_dtype_size(dt), 0); }

/* The constant rt_desc (runtime/runtime.h) runtime/strided.c reads:
 * {ptr loop, i32 nin, i32 nops, i64 flags, [nops x i64] esize}, loop being
 * this function itself; flags are set by loops_finish_inner. */
static LLVMValueRef desc_init(loops_gen *g, LLVMValueRef fn, int nin, int nops, int64_t flags)
{
    LLVMValueRef es[UG_MAXARGS];
    for (int k = 0; k < nops; k++)
        es[k] = esize(g, g->req->dtypes[k]);
    LLVMValueRef f[5] = {fn, LLVMConstInt(g->i32, (unsigned)nin, 0), LLVMConstInt(g->i32, (unsigned)nops, 0),
                         LLVMConstInt(g->i64, (unsigned long long)flags, 0), LLVMConstArray2(g->i64, es, (uint64_t)nops)};
    return LLVMConstStructInContext(g->C, f, 5, 0);
}

static LLVMValueRef strided_desc(loops_gen *g, abi *a)
{
    LLVMValueRef init = desc_init(g, a->fn, a->nin, a->nops, 0);
    LLVMValueRef gv = LLVMAddGlobal(g->M, LLVMTypeOf(init), "ug.desc");
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetAlignment(gv, 8);
    return gv;
}

/* i32 rt_strided(ptr args, i64 n, ptr steps, ptr desc): nonzero when done. */
static LLVMValueRef call_strided(loops_gen *g, abi *a, LLVMValueRef desc)
{
    LLVMTypeRef ps[4] = {g->ptr, g->i64, g->ptr, g->ptr};
    LLVMTypeRef fty = LLVMFunctionType(g->i32, ps, 4, 0);
    LLVMValueRef fn = LLVMAddFunction(g->M, "rt_strided", fty);
    loops_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
    LLVMValueRef args[4] = {LLVMGetParam(a->fn, 0), a->n, LLVMGetParam(a->fn, 2), desc};
    return LLVMBuildCall2(g->B, fty, fn, args, 4, "strided.done");
}

static LLVMValueRef all_unit(loops_gen *g, abi *a)
{
    LLVMValueRef all = LLVMConstInt(g->i1, 1, 0);
    for (int k = 0; k < a->nops; k++)
        all = LLVMBuildAnd(g->B, all, LLVMBuildICmp(g->B, LLVMIntEQ, a->step[k], esize(g, g->req->dtypes[k]), ""), "");
    return all;
}

/* With unit strides only: no input partly overlaps the output (each is
 * apart from it, or the same elements). NumPy's accumulate calls binary
 * loops with args[0] one element behind args[2]; such a call carries a
 * dependency through memory and must not take the vector body. */
static LLVMValueRef unit_disjoint(loops_gen *g, abi *a)
{
    LLVMBuilderRef B = g->B;
    const ug_dtype *dt = g->req->dtypes;
    LLVMValueRef o = LLVMBuildPtrToInt(B, a->base[a->nin], g->i64, "");
    LLVMValueRef oend = LLVMBuildAdd(B, o, LLVMBuildMul(B, a->n, esize(g, dt[a->nin]), ""), "");
    LLVMValueRef ok = LLVMConstInt(g->i1, 1, 0);
    for (int k = 0; k < a->nin; k++) {
        LLVMValueRef b = LLVMBuildPtrToInt(B, a->base[k], g->i64, "");
        LLVMValueRef bend = LLVMBuildAdd(B, b, LLVMBuildMul(B, a->n, esize(g, dt[k]), ""), "");
        LLVMValueRef fine = LLVMBuildOr(B, LLVMBuildICmp(B, LLVMIntULE, bend, o, ""),
                                        LLVMBuildICmp(B, LLVMIntULE, oend, b, ""), "apart");
        if (ug_dtype_size(dt[k]) == ug_dtype_size(dt[a->nin]))
            fine = LLVMBuildOr(B, fine, LLVMBuildICmp(B, LLVMIntEQ, b, o, ""), "inplace");
        ok = LLVMBuildAnd(B, ok, fine, "");
    }
    return ok;
}

/* Branch to `yes` if cond, else continue in a fresh block. */
static void branch_if(loops_gen *g, abi *a, LLVMValueRef cond, LLVMBasicBlockRef yes, const char *no_name)
{
    LLVMBasicBlockRef no = LLVMAppendBasicBlockInContext(g->C, a->fn, no_name);
    LLVMBuildCondBr(g->B, cond, yes, no);
    LLVMPositionBuilderAtEnd(g->B, no);
}

/* Unit strides everywhere and no partial overlap: the vector loop.
 * Anything else: rt_strided runs the call in gathered blocks, each
 * block a call of this same function with unit steps (so it takes the
 * vector loop), or answers 0 and the serial loop runs it element after
 * element. (Non-temporal "streaming" stores of large outputs were tried and
 * removed: measured side by side on this machine type, 10M float64, they
 * made sigmoid 25-50% and a*b+c ~10% slower than plain stores.) */
static void scalar_paths(loops_gen *g, abi *a)
{
    LLVMBasicBlockRef contig = LLVMAppendBasicBlockInContext(g->C, a->fn, "contig");
    LLVMBasicBlockRef serial = LLVMAppendBasicBlockInContext(g->C, a->fn, "serial");
    branch_if(g, a, LLVMBuildAnd(g->B, all_unit(g, a), unit_disjoint(g, a), ""), contig, "strided");
    LLVMValueRef done = call_strided(g, a, strided_desc(g, a));
    LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntNE, done, LLVMConstInt(g->i32, 0, 0), ""), a->exit, serial);
    LLVMPositionBuilderAtEnd(g->B, contig);
    LLVMValueRef unit[UG_MAXARGS];
    for (int k = 0; k < a->nops; k++)
        unit[k] = esize(g, g->req->dtypes[k]);
    scalar_loop(g, a, a->n, a->base, unit, NULL, true, a->exit);
    LLVMPositionBuilderAtEnd(g->B, serial);
    scalar_loop(g, a, a->n, a->base, a->step, NULL, false, a->exit);
}

/* ---------------------------------------------------------------- gufuncs */

/* The kernel's arguments for outer iteration i. */
static int gufunc_args(loops_gen *g, abi *a, LLVMValueRef i, LLVMValueRef (*core)[2][UG_MAXDIMS], LLVMValueRef *out)
{
    const kernel_func *k = g->req->tk->kernel;
    const layout_sig *L = g->req->layout;
    int m = 0;
    for (int op = 0; op < a->nops && op < k->nparams; op++) {
        ug_dtype dt = g->req->dtypes[op];
        LLVMValueRef p = elem_ptr(g, a->base[op], a->step[op], i, UG_NDTYPES /* never unit */);
        kernel_type pt = k->params[op].ty;
        if (pt.kind != KT_ARRAY) {
            out[m++] = loops_emit_cast(g, loops_load_elem(g, p, dt), dt, (ug_dtype)pt.dt);
            continue;
        }
        out[m++] = p;
        for (int d = 0; d < pt.ndim; d++) /* a () operand is a 1-element array */
            out[m++] = d < L->op_ncore[op] ? core[op][0][d] : LLVMConstInt(g->i64, 1, 0);
        for (int d = 0; d < pt.ndim; d++)
            out[m++] = d < L->op_ncore[op] ? core[op][1][d] : esize(g, dt);
    }
    if (g->errflag)
        out[m++] = a->errflag;
    return m;
}

/* Core shapes (dimensions[1 + dim]) and strides (steps[nops + ...]), loaded once. */
static void load_core(loops_gen *g, abi *a, LLVMValueRef dims, LLVMValueRef steps, LLVMValueRef (*core)[2][UG_MAXDIMS])
{
    const layout_sig *L = g->req->layout;
    int s = a->nops;
    for (int op = 0; op < a->nops; op++)
        for (int d = 0; d < L->op_ncore[op] && d < UG_MAXDIMS; d++, s++) {
            LLVMValueRef di = LLVMConstInt(g->i64, 1 + (unsigned)L->op_dims[op][d], 0);
            LLVMValueRef si = LLVMConstInt(g->i64, (unsigned)s, 0);
            /* A variant: its core sizes (a core-shape variant) and its core
             * steps (both kinds) are constants. */
            core[op][0][d] = g->req->core_sizes
                ? LLVMConstInt(g->i64, (unsigned long long)g->req->core_sizes[L->op_dims[op][d]], 1)
                : LLVMBuildLoad2(g->B, g->i64, LLVMBuildGEP2(g->B, g->i64, dims, &di, 1, ""), "core.n");
            core[op][1][d] = g->req->core_steps
                ? LLVMConstInt(g->i64, (unsigned long long)g->req->core_steps[s - a->nops], 1)
                : LLVMBuildLoad2(g->B, g->i64, LLVMBuildGEP2(g->B, g->i64, steps, &si, 1, ""), "core.s");
        }
}

/* Byte extent [lo, hi) of operand op over the whole call, relative to its
 * base, in a variant (core steps are constants; core sizes are constants in
 * a core-shape variant, loaded in a step variant; the outer step is not).
 * *empty: whether the operand has no elements (some core size <= 0). */
static void variant_extent(loops_gen *g, abi *a, int op, LLVMValueRef (*core)[2][UG_MAXDIMS], LLVMValueRef *lo,
                           LLVMValueRef *hi, LLVMValueRef *empty)
{
    const layout_sig *L = g->req->layout;
    int s = a->nops;
    for (int o = 0; o < op; o++)
        s += L->op_ncore[o];
    LLVMValueRef zero = LLVMConstInt(g->i64, 0, 0), one = LLVMConstInt(g->i64, 1, 0);
    LLVMValueRef clo = zero, chi = LLVMConstInt(g->i64, ug_dtype_size(g->req->dtypes[op]), 0);
    *empty = LLVMConstInt(g->i1, 0, 0);
    for (int d = 0; d < L->op_ncore[op]; d++) {
        LLVMValueRef n = core[op][0][d];
        int64_t st = g->req->core_steps[s - a->nops + d];
        *empty = LLVMBuildOr(g->B, *empty, LLVMBuildICmp(g->B, LLVMIntSLE, n, zero, ""), "empty");
        LLVMValueRef span = LLVMBuildMul(g->B, LLVMBuildSub(g->B, n, one, ""),
                                         LLVMConstInt(g->i64, (unsigned long long)st, 1), "");
        if (st < 0)
            clo = LLVMBuildAdd(g->B, clo, span, "");
        else
            chi = LLVMBuildAdd(g->B, chi, span, "");
    }
    LLVMValueRef span = LLVMBuildMul(g->B, LLVMBuildSub(g->B, a->n, one, ""), a->step[op], "");
    LLVMValueRef neg = LLVMBuildICmp(g->B, LLVMIntSLT, span, zero, "");
    LLVMValueRef base = LLVMBuildPtrToInt(g->B, a->base[op], g->i64, "");
    *lo = LLVMBuildAdd(g->B, base, LLVMBuildAdd(g->B, LLVMBuildSelect(g->B, neg, span, zero, ""), clo, ""), "ext.lo");
    *hi = LLVMBuildAdd(g->B, base, LLVMBuildAdd(g->B, LLVMBuildSelect(g->B, neg, zero, span, ""), chi, ""), "ext.hi");
}

/* Whether no output's memory over the whole call meets another array
 * operand's (scalar () inputs are loaded as values, so they do not count). */
static LLVMValueRef variant_disjoint(loops_gen *g, abi *a, LLVMValueRef (*core)[2][UG_MAXDIMS], bool *array_op)
{
    LLVMValueRef lo[UG_MAXARGS], hi[UG_MAXARGS], empty[UG_MAXARGS], ok = LLVMConstInt(g->i1, 1, 0);
    for (int k = 0; k < a->nops; k++)
        if (array_op[k])
            variant_extent(g, a, k, core, &lo[k], &hi[k], &empty[k]);
    for (int o = a->nin; o < a->nops; o++)
        for (int k = 0; k < o; k++) { /* each pair with an output once */
            if (!array_op[o] || !array_op[k])
                continue;
            LLVMValueRef apart = LLVMBuildOr(g->B, LLVMBuildICmp(g->B, LLVMIntULE, hi[o], lo[k], ""),
                                             LLVMBuildICmp(g->B, LLVMIntULE, hi[k], lo[o], ""), "");
            apart = LLVMBuildOr(g->B, apart, LLVMBuildOr(g->B, empty[o], empty[k], ""), "");
            ok = LLVMBuildAnd(g->B, ok, apart, "disjoint");
        }
    return ok;
}

/* The outer loop calling the kernel once per item; with noalias, every
 * array argument is marked noalias at the call (after inlining: scoped
 * alias metadata, so LLVM may keep inputs in registers across stores to
 * outputs and vectorise across a small core). */
static void gufunc_loop(loops_gen *g, abi *a, LLVMValueRef (*core)[2][UG_MAXDIMS], LLVMValueRef *args, bool noalias)
{
    counted c;
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->C, a->fn, "loop.exit");
    loop_begin(g, a->fn, &c, done);
    int m = gufunc_args(g, a, c.i, core, args);
    LLVMTypeRef fty = LLVMGlobalGetValueType(g->fns[0]);
    LLVMValueRef call = LLVMBuildCall2(g->B, fty, g->fns[0], args, (unsigned)m, "");
    unsigned na = LLVMGetEnumAttributeKindForName("noalias", 7);
    for (int k = 0; noalias && k < m - (g->errflag ? 1 : 0); k++) /* not the error flag */
        if (LLVMGetTypeKind(LLVMTypeOf(args[k])) == LLVMPointerTypeKind)
            LLVMAddCallSiteAttribute(call, (LLVMAttributeIndex)(k + 1), LLVMCreateEnumAttribute(g->C, na, 0));
    if (g->errflag) {
        LLVMValueRef bad = LLVMBuildICmp(g->B, LLVMIntNE, LLVMBuildLoad2(g->B, g->i8, a->errflag, ""),
                                         LLVMConstInt(g->i8, 0, 0), "failed");
        LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(g->C, a->fn, "loop.latch");
        LLVMBuildCondBr(g->B, bad, a->exit, cont);
        LLVMPositionBuilderAtEnd(g->B, cont);
    }
    loop_end(g, &c, a->n, NULL);
    LLVMBuildBr(g->B, a->exit);
}

/* Gufuncs: one outer loop. A variant (core-shape or step; compiled for large calls
 * only, so the second copy of the body costs compile time where it pays)
 * first checks that no output overlaps another operand anywhere in the
 * call, and then runs a copy whose array arguments are noalias; overlapping
 * operands (NumPy in-place calls) take the plain loop. */
static ug_status gufunc_path(loops_gen *g, abi *a, LLVMValueRef dims, LLVMValueRef steps)
{
    LLVMValueRef (*core)[2][UG_MAXDIMS] = calloc((size_t)a->nops, sizeof *core);
    LLVMValueRef *args = calloc((size_t)a->nops * (1 + 2 * UG_MAXDIMS) + 2, sizeof *args);
    if (!core || !args) {
        free(core);
        free(args);
        return base_err_set(g->err, UG_ENOMEM, "out of memory generating a gufunc loop");
    }
    load_core(g, a, dims, steps, core);
    if (g->req->core_steps) {
        const kernel_func *k = g->req->tk->kernel;
        bool array_op[UG_MAXARGS];
        for (int op = 0; op < a->nops; op++)
            array_op[op] = op < k->nparams && k->params[op].ty.kind == KT_ARRAY;
        LLVMBasicBlockRef apart = LLVMAppendBasicBlockInContext(g->C, a->fn, "disjoint");
        branch_if(g, a, variant_disjoint(g, a, core, array_op), apart, "overlap");
        gufunc_loop(g, a, core, args, false);
        LLVMPositionBuilderAtEnd(g->B, apart);
        gufunc_loop(g, a, core, args, true);
    } else {
        gufunc_loop(g, a, core, args, false);
    }
    free(core);
    free(args);
    return UG_OK;
}

/* ---------------------------------------------------------------- the function */

static void read_abi(loops_gen *g, abi *a, LLVMValueRef args, LLVMValueRef dims, LLVMValueRef steps)
{
    for (int k = 0; k < a->nops; k++) {
        LLVMValueRef idx = LLVMConstInt(g->i64, (unsigned)k, 0);
        a->base[k] = LLVMBuildLoad2(g->B, g->ptr, LLVMBuildInBoundsGEP2(g->B, g->ptr, args, &idx, 1, ""), "arg");
        a->step[k] = LLVMBuildLoad2(g->B, g->i64, LLVMBuildInBoundsGEP2(g->B, g->i64, steps, &idx, 1, ""), "step");
    }
    a->n = LLVMBuildLoad2(g->B, g->i64, dims, "n");
    if (g->errflag) {
        a->errflag = LLVMBuildAlloca(g->B, g->i8, "failed");
        LLVMBuildStore(g->B, LLVMConstInt(g->i8, 0, 0), a->errflag);
    }
}

/* 512-bit vectors on AVX-512 hosts, but 256-bit ones for a loop that
 * stores complex values: interleaving {re, im} vectors back into memory
 * from 512-bit registers made a memory-bound complex a*b+c 25-35% slower
 * than from 256-bit ones (10M elements, complex128 and complex64), where
 * a complex abs (a float output) was 5-15% faster at 512. */
static const char *vector_width(loops_gen *g)
{
    const loops_request *r = g->req;
    for (int k = r->layout->nin; k < r->layout->nin + r->layout->nout; k++)
        if (base_dtype_kind(r->dtypes[k]) == BASE_KIND_COMPLEX)
            return "256";
    return "512";
}

static LLVMValueRef declare_loop(loops_gen *g)
{
    LLVMTypeRef ps[4] = {g->ptr, g->ptr, g->ptr, g->ptr};
    LLVMValueRef fn = LLVMAddFunction(g->M, g->req->symbol, LLVMFunctionType(g->vd, ps, 4, 0));
    loops_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
    for (int k = 1; k <= 3; k++) { /* args, dimensions, steps are only read (never the data they point to) */
        loops_attr(g, fn, k, "nocapture");
        loops_attr(g, fn, k, "readonly");
    }
    if (g->avx512)
        loops_sattr(g, fn, "prefer-vector-width", vector_width(g));
    return fn;
}

ug_status loops_emit_inner(loops_gen *g)
{
    const loops_request *r = g->req;
    abi a = {.nin = r->tk->gufunc ? r->tk->nin : r->layout->nin};
    a.nops = r->layout->nin + r->layout->nout;
    if (a.nops > UG_MAXARGS || (!r->tk->gufunc && (r->layout->nout != 1 || a.nin != r->tk->kernel->nparams)))
        return base_err_set(g->err, UG_EJIT, "internal error: kernel '%s' has %d parameters for %d inputs and %d outputs",
                          r->kname ? r->kname : "?", r->tk->kernel->nparams, r->layout->nin, r->layout->nout);
    a.fn = declare_loop(g);
    LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, a.fn, "entry"));
    read_abi(g, &a, LLVMGetParam(a.fn, 0), LLVMGetParam(a.fn, 1), LLVMGetParam(a.fn, 2));
    a.exit = LLVMAppendBasicBlockInContext(g->C, a.fn, "exit");
    a.ag = loops_access_group(g);
    branch_if(g, &a, LLVMBuildICmp(g->B, LLVMIntSLE, a.n, LLVMConstInt(g->i64, 0, 0), "empty"), a.exit, "start");
    ug_status st = UG_OK;
    if (r->tk->gufunc)
        st = gufunc_path(g, &a, LLVMGetParam(a.fn, 1), LLVMGetParam(a.fn, 2));
    else
        scalar_paths(g, &a);
    LLVMPositionBuilderAtEnd(g->B, a.exit);
    LLVMBuildRetVoid(g->B);
    return st;
}

/* ---------------------------------------------------------------- after optimisation */

/* Work per output element of the vector loop, found after optimisation in
 * the blocks that store vectors (the vector loop's body): arithmetic
 * instructions per vector store. WORK_COSTLY stands for a division, square
 * root or call (libmvec): anything worth gathering strided operands for;
 * 0: no vector store (the loop did not vectorise). */
#define WORK_COSTLY 1000
/* Fewer ops per stored vector: strided calls run serial (loops.h). Measured
 * on stride-2 Horner polynomials, serial / blocked time at 100K and 10M:
 * 6 ops 0.61-0.96 (float64), 0.74-0.75 (float32); 8 ops 0.72-0.89,
 * 0.88-0.90; 10 ops 0.91-0.92, 1.15-1.17; 16 ops 1.75-2.17. */
#define WORK_BLOCKED 10

static int call_work(LLVMValueRef in)
{
    LLVMValueRef callee = LLVMGetCalledValue(in);
    size_t len = 0;
    const char *name = callee ? LLVMGetValueName2(callee, &len) : "";
    if (strncmp(name, "llvm.", 5) != 0 || strncmp(name, "llvm.sqrt.", 10) == 0)
        return WORK_COSTLY;
    if (strncmp(name, "llvm.masked.store.", 18) == 0)
        return -1; /* a store */
    return strncmp(name, "llvm.fma.", 9) == 0 || strncmp(name, "llvm.fmuladd.", 13) == 0 ? 2 : 1;
}

static int inst_work(LLVMValueRef in)
{
    switch (LLVMGetInstructionOpcode(in)) {
    case LLVMFDiv: case LLVMFRem: case LLVMSDiv: case LLVMUDiv: case LLVMSRem: case LLVMURem:
        return WORK_COSTLY;
    case LLVMCall:
        return call_work(in);
    case LLVMStore:
        return LLVMGetTypeKind(LLVMTypeOf(LLVMGetOperand(in, 0))) == LLVMVectorTypeKind ? -1 : 0;
    case LLVMFAdd: case LLVMFSub: case LLVMFMul: case LLVMFNeg: case LLVMAdd: case LLVMSub: case LLVMMul:
    case LLVMAnd: case LLVMOr: case LLVMXor: case LLVMShl: case LLVMLShr: case LLVMAShr: case LLVMFCmp:
    case LLVMICmp: case LLVMSelect: case LLVMFPExt: case LLVMFPTrunc: case LLVMSIToFP: case LLVMUIToFP:
    case LLVMFPToSI: case LLVMFPToUI: case LLVMSExt: case LLVMZExt: case LLVMTrunc:
        return LLVMGetTypeKind(LLVMTypeOf(in)) == LLVMVectorTypeKind ? 1 : 0;
    default:
        return 0;
    }
}

static int vector_work(LLVMValueRef fn)
{
    int ops = 0, stores = 0;
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
        int bops = 0, bstores = 0;
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) {
            int w = inst_work(in);
            if (w < 0)
                bstores++;
            else
                bops += w;
        }
        if (bstores) {
            ops += bops;
            stores += bstores;
        }
    }
    if (!stores)
        return 0;
    return ops >= WORK_COSTLY ? WORK_COSTLY : (ops + stores - 1) / stores;
}

void loops_finish_inner(loops_gen *g)
{
    const loops_request *r = g->req;
    LLVMValueRef gv = LLVMGetNamedGlobal(g->M, "ug.desc"), fn = LLVMGetNamedFunction(g->M, r->symbol);
    if (r->tk->gufunc || !gv || !fn || vector_work(fn) >= WORK_BLOCKED)
        return;
    int nin = r->layout->nin, nops = r->layout->nin + r->layout->nout;
    LLVMSetInitializer(gv, desc_init(g, fn, nin, nops, RT_SERIAL_STRIDED));
}
