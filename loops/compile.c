/* compile.c — one request → one object file in memory.
 *
 * The driver is a straight line: new context → lower the kernel (lower.c) →
 * emit the NumPy-ABI loop (inner.c) → verify → optimise (default<On>, or a
 * leaner pipeline for scalar kernels at O2; gufunc loops at O2 not
 * runtime-unrolled) → guard speculated FP operations
 * (guard.c) → object bytes.
 * Each call owns its LLVMContext, so compilations on different threads share
 * nothing; the host TargetMachine is one per thread (host.c). UFUNCGEN_DUMP=time prints the CPU time of
 * each stage (lowering, optimisation, code generation) to stderr.
 */
#include <assert.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/DebugInfo.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "loops/gen.h"

static atomic_long compile_count;

long loops_compile_count(void) { return atomic_load(&compile_count); }

/* ---------------------------------------------------------------- stages */

/* ug_options.fastmath (1: all, else UG_FASTMATH_* bits) as LLVM's flags. */
static LLVMFastMathFlags fast_math_flags(int fm)
{
    if (fm == UG_FASTMATH_ALL)
        return LLVMFastMathAll;
    static const struct { int ug; LLVMFastMathFlags llvm; } map[] = {
        {UG_FASTMATH_REASSOC, LLVMFastMathAllowReassoc}, {UG_FASTMATH_NNAN, LLVMFastMathNoNaNs},
        {UG_FASTMATH_NINF, LLVMFastMathNoInfs},          {UG_FASTMATH_NSZ, LLVMFastMathNoSignedZeros},
        {UG_FASTMATH_ARCP, LLVMFastMathAllowReciprocal}, {UG_FASTMATH_CONTRACT, LLVMFastMathAllowContract},
        {UG_FASTMATH_AFN, LLVMFastMathApproxFunc},
    };
    LLVMFastMathFlags f = 0;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (fm & map[i].ug)
            f |= map[i].llvm;
    return f;
}

static void gen_init(loops_gen *g, const loops_request *r, LLVMContextRef C, LLVMTargetMachineRef tm, ug_error *err)
{
    memset(g, 0, sizeof *g);
    g->C = C;
    g->req = r;
    g->err = err;
    g->M = LLVMModuleCreateWithNameInContext(r->symbol, C);
    g->B = LLVMCreateBuilderInContext(C);
    g->i1 = LLVMInt1TypeInContext(C);
    g->i8 = LLVMInt8TypeInContext(C);
    g->i16 = LLVMInt16TypeInContext(C);
    g->i32 = LLVMInt32TypeInContext(C);
    g->i64 = LLVMInt64TypeInContext(C);
    g->f32 = LLVMFloatTypeInContext(C);
    g->f64 = LLVMDoubleTypeInContext(C);
    g->f16 = LLVMHalfTypeInContext(C);
    g->c64 = LLVMStructTypeInContext(C, (LLVMTypeRef[]){g->f32, g->f32}, 2, 0);
    g->c128 = LLVMStructTypeInContext(C, (LLVMTypeRef[]){g->f64, g->f64}, 2, 0);
    g->ptr = LLVMPointerTypeInContext(C, 0);
    g->vd = LLVMVoidTypeInContext(C);
    const char *features = r->target ? r->target->features : loops_host_features();
    g->avx2 = strstr(features, "+avx2") != NULL;
    g->avx512 = strstr(features, "+avx512f") != NULL;
    g->fmf = fast_math_flags(r->fastmath);
    g->errflag = r->boundscheck || (r->tk && r->tk->fallible);
    g->frames = r->tk && r->tk->fallible;
    LLVMSetTarget(g->M, loops_host_triple());
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    char *dl = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(g->M, dl);
    LLVMDisposeMessage(dl);
    LLVMDisposeTargetData(td);
}

/* @llvm.compiler.used keeps the libmvec declarations alive until the
 * vectoriser has had its chance to call them. */
static void emit_compiler_used(loops_gen *g)
{
    if (!g->nused)
        return;
    LLVMValueRef gv = LLVMAddGlobal(g->M, LLVMArrayType2(g->ptr, (uint64_t)g->nused), "llvm.compiler.used");
    LLVMSetLinkage(gv, LLVMAppendingLinkage);
    LLVMSetSection(gv, "llvm.metadata");
    LLVMSetInitializer(gv, LLVMConstArray2(g->ptr, g->used, (uint64_t)g->nused));
}

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* After optimisation the vectoriser has had its chance: drop
 * llvm.compiler.used so that only the variants it called stay referenced
 * (an unused declaration emits no symbol the JIT would have to resolve). */
static void drop_compiler_used(loops_gen *g)
{
    LLVMValueRef gv = LLVMGetNamedGlobal(g->M, "llvm.compiler.used");
    if (gv)
        LLVMDeleteGlobal(gv);
}

/* After optimisation the vectoriser is done with the vector-function-abi-
 * variant attributes of math calls; IPO may since have changed such a call
 * (ug.mvec.log1p(25.0) specialised to a call without arguments), which the
 * verifier then rejects as a variant for the wrong signature. */
static void drop_vector_variants(loops_gen *g)
{
    static const char k[] = "vector-function-abi-variant";
    for (LLVMValueRef fn = LLVMGetFirstFunction(g->M); fn; fn = LLVMGetNextFunction(fn))
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb))
            for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in))
                if (LLVMGetInstructionOpcode(in) == LLVMCall)
                    LLVMRemoveCallSiteStringAttribute(in, LLVMAttributeFunctionIndex, k, sizeof k - 1);
}

static bool want_verify(void)
{
#ifndef NDEBUG
    return true;
#else
    return base_env_verify();
#endif
}

static ug_status verify(loops_gen *g)
{
    char *msg = NULL;
    if (LLVMVerifyModule(g->M, LLVMReturnStatusAction, &msg)) {
        base_err_set(g->err, UG_EJIT, "internal error: generated IR for '%s' does not verify: %s", g->req->symbol,
                   msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return UG_EJIT;
    }
    LLVMDisposeMessage(msg);
    return UG_OK;
}

/* The pipeline of scalar kernels at opt_level 2 (the default): what their
 * generated modules (the kernel, the vector body, the entry with its serial
 * loop; inner.c) need of default<O2>, in its order: clean up the lowered
 * kernel, inline it, simplify, rotate and hoist loops the kernel itself has,
 * unroll those of constant trip count, vectorise the loops marked parallel,
 * clean up, and runtime-unroll what did not vectorise. It leaves out what
 * finds nothing in such modules (the CGSCC inliner and its repeated function
 * simplification, IPO, GVN, jump threading, SLP, ...). Measured on this
 * machine type: 20-30% less compile time per signature (sigmoid, a*b+c,
 * degree-8 polynomial), and the same machine code for the vector bodies of
 * the benchmark kernels (sigmoid, a*b+c, leaky ReLU, polynomial, int64
 * modulo). Gufunc kernels (loops over core dimensions, reductions, small
 * constant cores worth SLP) and opt_level 3 take default<On> (gufuncs at O2
 * with their loops marked not to be runtime-unrolled; no_runtime_unroll). */
static const char scalar_o2[] =
    "function(sroa,early-cse,simplifycfg,instcombine<max-iterations=1;no-verify-fixpoint>),"
    "always-inline,globaldce,"
    "function(sroa,early-cse<memssa>,instcombine<max-iterations=1;no-verify-fixpoint>,simplifycfg,"
    "loop-mssa(loop-rotate,licm<allowspeculation>),loop(indvars,loop-deletion,loop-unroll-full),"
    "loop-vectorize,instcombine<max-iterations=1;no-verify-fixpoint>,"
    "simplifycfg<forward-switch-cond;switch-range-to-icmp;switch-to-lookup;no-keep-loops;hoist-common-insts;"
    "sink-common-insts;speculate-blocks>,"
    "loop-unroll<O2>),"
    "globaldce";

/* Gufunc loops at O2 are not runtime-unrolled: every branch that may close a
 * loop (a successor placed at or before its own block; the lowering appends a
 * loop's header before its body) gets llvm.loop.unroll.runtime.disable, kept
 * with the loop's other properties. Unrolling of constant trip counts, the
 * vectoriser's interleaving and the rest of default<O2> stay. Measured on
 * this machine type, numbagg's 48 kernels (111 signatures): 27% less compile
 * time (a third fewer instructions; 95 of 111 loops change), and loop speed
 * unchanged side by side: numbagg's kernels (float64 and float32, 1e6; 95
 * rows, re-timed at 15 repetitions: 0.97-1.04), bench_arrayfns' operations
 * and bench_suite's gufuncs (60 rows, geometric mean 0.99-1.01, re-timed at
 * 21 repetitions: 0.97-1.02). A branch that closes no loop keeps an ignored
 * property. */
static bool md_named(LLVMValueRef op, const char *name);

/* A loop's properties (its llvm.loop node, self-referential) rebuilt from
 * old's (NULL: none) without those named `drop` (NULL: keep all; *dropped
 * says whether one was) and with `add` appended (NULL: nothing). NULL when
 * out of memory. */
static LLVMMetadataRef loop_props(loops_gen *g, LLVMValueRef old, const char *drop, LLVMMetadataRef add, bool *dropped)
{
    unsigned n = old ? LLVMGetMDNodeNumOperands(old) : 1;
    LLVMValueRef *vals = calloc(n ? n : 1, sizeof *vals);
    LLVMMetadataRef *ops = calloc(n + 1, sizeof *ops);
    LLVMMetadataRef id = NULL;
    if (vals && ops) {
        if (old)
            LLVMGetMDNodeOperands(old, vals);
        unsigned m = 1;
        for (unsigned i = 1; i < n; i++) {
            if (drop && md_named(vals[i], drop))
                *dropped = true;
            else
                ops[m++] = LLVMValueAsMetadata(vals[i]);
        }
        if (add)
            ops[m++] = add;
        LLVMMetadataRef tmp = LLVMTemporaryMDNode(g->C, NULL, 0);
        ops[0] = tmp;
        id = LLVMMDNodeInContext2(g->C, ops, m);
        LLVMMetadataReplaceAllUsesWith(tmp, id); /* also frees tmp */
    }
    free(vals);
    free(ops);
    return id;
}

static LLVMMetadataRef with_runtime_disable(loops_gen *g, LLVMValueRef old, LLVMMetadataRef rd)
{
    return loop_props(g, old, NULL, rd, NULL);
}

typedef struct { LLVMBasicBlockRef bb; unsigned pos; } placed;

static int placed_by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const placed *)a)->bb, y = (uintptr_t)((const placed *)b)->bb;
    return x < y ? -1 : x > y;
}

static void no_runtime_unroll(loops_gen *g)
{
    unsigned kind = LLVMGetMDKindIDInContext(g->C, "llvm.loop", 9);
    const char *key = "llvm.loop.unroll.runtime.disable";
    LLVMMetadataRef str = LLVMMDStringInContext2(g->C, key, strlen(key));
    LLVMMetadataRef rd = LLVMMDNodeInContext2(g->C, &str, 1);
    for (LLVMValueRef fn = LLVMGetFirstFunction(g->M); fn; fn = LLVMGetNextFunction(fn)) {
        unsigned nb = LLVMCountBasicBlocks(fn);
        if (!nb)
            continue;
        placed *at = malloc(nb * sizeof *at);
        if (!at)
            return; /* only a missed compile-time saving */
        unsigned k = 0;
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb && k < nb; bb = LLVMGetNextBasicBlock(bb), k++)
            at[k] = (placed){bb, k};
        qsort(at, k, sizeof *at, placed_by_address);
        unsigned pos = 0;
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb), pos++) {
            LLVMValueRef t = LLVMGetBasicBlockTerminator(bb);
            if (!t || !LLVMIsABranchInst(t)) /* LLVM 23 splits the br opcode in two */
                continue;
            bool back = false;
            for (unsigned s = 0, ns = LLVMGetNumSuccessors(t); s < ns && !back; s++) {
                placed want = {LLVMGetSuccessor(t, s), 0};
                const placed *hit = bsearch(&want, at, k, sizeof *at, placed_by_address);
                back = hit && hit->pos <= pos;
            }
            if (!back)
                continue;
            LLVMValueRef old = LLVMGetMetadata(t, kind);
            LLVMMetadataRef id = with_runtime_disable(g, old, rd);
            if (id)
                LLVMSetMetadata(t, kind, LLVMMetadataAsValue(g->C, id));
        }
        free(at);
    }
}

/* After default<O2>, a gufunc loop that stayed scalar and small (one block,
 * at most SMALL_LOOP instructions, no call but llvm.assume, no
 * floating-point arithmetic: a count, a compare and select, a fill over a
 * strided core) loses its no_runtime_unroll mark and is runtime-unrolled as
 * default<O2> would have done: its loop-carried chain is short next to its
 * per-element overhead. numbagg's kernels side by side with Numba (Intel
 * Emerald Rapids, 1e6 float64): nancount 0.82-0.86x -> 0.97-1.02x, ffill
 * 0.87-0.89x -> 1.05-1.08x, bfill 0.87-0.89x -> 1.0x. Such a loop is often
 * the scalar remainder of a vector loop LLVM made for a unit byte stride
 * that a core of wider elements never has, so remainders qualify too. A
 * loop with floating-point arithmetic on its chain (a sum) gains nothing and
 * keeps the mark, as do larger loops. numbagg's 139 signatures: +8%
 * optimisation and code generation time. */
#define SMALL_LOOP 24
/* Unrolled twice, not default<O2>'s four times: each such loop body is
 * branches and selects, and four copies cost codegen most of a signature's
 * time (numbagg's bfill 13.9 -> 10.1 ms, ffill 10.0 -> 8.3 ms per
 * signature) for no speed; side by side with Numba (1e6 and 1000x1000,
 * float64/float32, two runs each): bfill 0.97-1.03 -> 1.01-1.06, nancount
 * 0.99-1.04 -> 1.00-1.09, ffill 1.00-1.10 -> 1.00-1.11, anynan/allnan
 * unchanged (1.05-1.15). */
#define SMALL_LOOP_UNROLL 2

static bool md_named(LLVMValueRef op, const char *name)
{
    unsigned n = LLVMIsAMDNode(op) ? LLVMGetMDNodeNumOperands(op) : 0;
    LLVMValueRef *all = n ? malloc(n * sizeof *all) : NULL;
    if (!all)
        return false;
    LLVMGetMDNodeOperands(op, all);
    unsigned len = 0;
    const char *s = all[0] ? LLVMGetMDString(all[0], &len) : NULL;
    free(all);
    return s && len == strlen(name) && !memcmp(s, name, len);
}

/* The loop's properties without runtime.disable and with an unroll count
 * of SMALL_LOOP_UNROLL, or NULL if it had no runtime.disable. */
static LLVMMetadataRef unmarked(loops_gen *g, LLVMValueRef old)
{
    bool had = false;
    const char *k = "llvm.loop.unroll.count";
    LLVMMetadataRef ops[2] = {LLVMMDStringInContext2(g->C, k, strlen(k)),
                              LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(g->C), SMALL_LOOP_UNROLL, 0))};
    LLVMMetadataRef count = LLVMMDNodeInContext2(g->C, ops, 2);
    LLVMMetadataRef id = loop_props(g, old, "llvm.loop.unroll.runtime.disable", count, &had);
    return had ? id : NULL;
}

static bool unmark_small_scalar_loops(loops_gen *g)
{
    unsigned kind = LLVMGetMDKindIDInContext(g->C, "llvm.loop", 9);
    bool any = false;
    for (LLVMValueRef fn = LLVMGetFirstFunction(g->M); fn; fn = LLVMGetNextFunction(fn))
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
            LLVMValueRef t = LLVMGetBasicBlockTerminator(bb);
            if (!t || !LLVMIsABranchInst(t))
                continue;
            bool self = false;
            for (unsigned s = 0, ns = LLVMGetNumSuccessors(t); s < ns; s++)
                self |= LLVMGetSuccessor(t, s) == bb;
            LLVMValueRef old = self ? LLVMGetMetadata(t, kind) : NULL;
            if (!old)
                continue;
            int n = 0;
            bool skip = false;
            for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i), n++) {
                LLVMOpcode op = LLVMGetInstructionOpcode(i);
                LLVMValueRef callee = op == LLVMCall ? LLVMGetCalledValue(i) : NULL;
                bool hint = callee && LLVMIsAFunction(callee) && LLVMGetIntrinsicID(callee) &&
                            LLVMGetTypeKind(LLVMTypeOf(i)) == LLVMVoidTypeKind; /* llvm.assume */
                skip |= (op == LLVMCall && !hint) ||
                        op == LLVMFAdd || op == LLVMFSub || op == LLVMFMul || op == LLVMFDiv || op == LLVMFRem;
            }
            if (skip || n > SMALL_LOOP)
                continue;
            LLVMMetadataRef id = unmarked(g, old);
            if (id) {
                LLVMSetMetadata(t, kind, LLVMMetadataAsValue(g->C, id));
                any = true;
            }
        }
    return any;
}

static ug_status optimise(loops_gen *g, LLVMTargetMachineRef tm)
{
    static const char *pipes[] = {"default<O0>", "default<O1>", "default<O2>", "default<O3>"};
    int lvl = g->req->opt_level < 0 ? 0 : g->req->opt_level > 3 ? 3 : g->req->opt_level;
    const char *pipe = lvl == 2 && !g->req->tk->gufunc ? scalar_o2 : pipes[lvl];
    if (lvl == 2 && g->req->tk->gufunc)
        no_runtime_unroll(g);
    LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(g->M, pipe, tm, o);
    if (!e && lvl == 2 && g->req->tk->gufunc && unmark_small_scalar_loops(g))
        e = LLVMRunPasses(g->M, "function(loop-unroll<O2>)", tm, o);
    LLVMDisposePassBuilderOptions(o);
    if (e) {
        char *m = LLVMGetErrorMessage(e); /* consumes e */
        base_err_set(g->err, UG_EJIT, "LLVM optimisation failed: %s", m);
        LLVMDisposeErrorMessage(m);
        return UG_EJIT;
    }
    return UG_OK;
}

static ug_status emit(loops_gen *g, LLVMTargetMachineRef tm, LLVMCodeGenFileType kind, LLVMMemoryBufferRef *buf)
{
    char *msg = NULL;
    /* the module is only read; the buffer is ours to dispose */
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, g->M, kind, &msg, buf)) {
        base_err_set(g->err, UG_EJIT, "LLVM code generation failed: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return UG_EJIT;
    }
    return UG_OK;
}

static void dump_ir(loops_gen *g, const char *when)
{
    char *s = LLVMPrintModuleToString(g->M);
    fprintf(stderr, "; ---- ufuncgen IR (%s) %s ----\n%s", when, g->req->symbol, s);
    LLVMDisposeMessage(s);
}

static void dump_asm(loops_gen *g, LLVMTargetMachineRef tm)
{
    LLVMMemoryBufferRef buf;
    if (emit(g, tm, LLVMAssemblyFile, &buf) != UG_OK)
        return;
    fprintf(stderr, "# ---- ufuncgen asm %s ----\n%.*s", g->req->symbol, (int)LLVMGetBufferSize(buf),
            LLVMGetBufferStart(buf));
    LLVMDisposeMemoryBuffer(buf);
}

static ug_status copy_out(LLVMMemoryBufferRef buf, void **obj, size_t *size, ug_error *err)
{
    size_t n = LLVMGetBufferSize(buf);
    void *p = malloc(n ? n : 1);
    if (!p)
        return base_err_set(err, UG_ENOMEM, "out of memory copying an object file of %zu bytes", n);
    memcpy(p, LLVMGetBufferStart(buf), n);
    *obj = p;
    *size = n;
    return UG_OK;
}

static ug_status build(loops_gen *g)
{
    ug_status st = loops_lower_kernel(g);
    if (!st)
        st = loops_emit_inner(g);
    if (!st)
        emit_compiler_used(g);
    return st;
}

/* lower → verify → optimise → code generation, with the dumps asked for.
 * On success *buf holds the object file (the caller disposes it). */
static ug_status run_stages(loops_gen *g, LLVMTargetMachineRef tm, LLVMMemoryBufferRef *buf)
{
    double t0 = cpu_ms();
    ug_status st = build(g);
    if (!st && base_env_dump("ir"))
        dump_ir(g, "lowered");
    if (!st && want_verify())
        st = verify(g);
    double t1 = cpu_ms();
    if (!st)
        st = optimise(g, tm);
    if (!st) {
        drop_compiler_used(g);
        drop_vector_variants(g);
        loops_guard_speculated(g);
        loops_finish_inner(g);
        if (want_verify())
            st = verify(g);
    }
    double t2 = cpu_ms();
    if (!st && base_env_dump("ir"))
        dump_ir(g, "optimised");
    if (!st && base_env_dump("asm"))
        dump_asm(g, tm);
    if (!st)
        st = emit(g, tm, LLVMObjectFile, buf);
    if (base_env_dump("time"))
        fprintf(stderr, "ufuncgen compile %s: lower+verify %.2f ms, optimise %.2f ms, codegen %.2f ms (thread CPU)\n",
                g->req->symbol, t1 - t0, t2 - t1, cpu_ms() - t2);
    return st;
}

static ug_status compile_entered(const loops_request *r, void **obj, size_t *size, ug_error *err);

ug_status loops_compile(const loops_request *r, void **obj, size_t *size, ug_error *err)
{
    loops_enter(); /* a fork waits until this compile is done (jit.c) */
    ug_status st = compile_entered(r, obj, size, err);
    loops_leave();
    return st;
}

static ug_status compile_entered(const loops_request *r, void **obj, size_t *size, ug_error *err)
{
    ug_error local;
    assert(r && r->tk && r->layout && r->dtypes && r->symbol);
    assert(!r->core_sizes || r->core_steps); /* loops.h: sizes only with steps */
    *obj = NULL;
    *size = 0;
    if (!err)
        err = &local;
    base_err_clear(err); /* lowering tests err->code to tell "unsupported" from a reported error */
    LLVMTargetMachineRef tm = r->target ? loops_target_tm(r->target, err) : loops_host_tm(err);
    if (!tm)
        return UG_EJIT;
    atomic_fetch_add(&compile_count, 1);
    LLVMContextRef C = LLVMContextCreate();
    loops_gen g;
    gen_init(&g, r, C, tm, err);
    LLVMMemoryBufferRef buf = NULL;
    ug_status st = run_stages(&g, tm, &buf);
    if (!st)
        st = copy_out(buf, obj, size, err);
    if (buf)
        LLVMDisposeMemoryBuffer(buf);
    free(g.fns);
    LLVMDisposeBuilder(g.B);
    LLVMDisposeModule(g.M);
    LLVMContextDispose(C);
    if (r->target)
        LLVMDisposeTargetMachine(tm);
    return st;
}
