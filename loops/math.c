/* math.c — operators and builtins in IR, with NumPy's semantics.
 *
 * Requires: operands already converted to the operation's dtype (cast.c).
 * Breaks nothing. Every operation is total: integer division by zero gives 0
 * and raises FE_DIVBYZERO through rt_fpe, INT_MIN // -1 wraps, shifts
 * by >= the width give 0 (or -1), never poison. Float math uses LLVM
 * intrinsics where they exist and libm calls otherwise; calls that glibc's
 * libmvec implements carry a vector-function-abi-variant attribute naming the
 * SSE/AVX2/AVX-512 variants the host can run, and the variant declarations
 * are kept alive through llvm.compiler.used so the vectoriser may use them.
 */
#include <fenv.h>
#include <string.h>

#include "base/base.h"
#include "loops/gen.h"

static bool is_float(ug_dtype dt) { return base_dtype_kind(dt) == BASE_KIND_FLOAT; }
static bool is_complex(ug_dtype dt) { return base_dtype_kind(dt) == BASE_KIND_COMPLEX; }
static bool is_signed(ug_dtype dt) { return base_dtype_kind(dt) == BASE_KIND_INT; }

LLVMValueRef loops_fm(loops_gen *g, LLVMValueRef v)
{
    if (g->fmf && LLVMCanValueUseFastMathFlags(v))
        LLVMSetFastMathFlags(v, g->fmf);
    return v;
}

static LLVMValueRef fconst(loops_gen *g, ug_dtype dt, double x) { return LLVMConstReal(loops_vty(g, dt), x); }
static LLVMValueRef iconst(loops_gen *g, ug_dtype dt, long long x)
{
    return LLVMConstInt(loops_vty(g, dt), (unsigned long long)x, 1);
}

/* ---------------------------------------------------------------- calls */

/* A math function: LLVM intrinsic name (overloaded on the type) or libm base
 * name (float32 gets the 'f' suffix), arity, and whether libmvec has it. */
typedef struct mfun {
    const char *intrinsic;
    const char *libm;
    int arity;
    bool mvec;
} mfun;

static const mfun *mfun_of(int b)
{
    static const mfun tab[B_NBUILTINS] = {
        [B_EXP] = {"llvm.exp", "exp", 1, true},       [B_EXP2] = {"llvm.exp2", "exp2", 1, true},
        [B_LOG] = {"llvm.log", "log", 1, true},       [B_LOG2] = {"llvm.log2", "log2", 1, true},
        [B_LOG10] = {"llvm.log10", "log10", 1, true}, [B_SIN] = {"llvm.sin", "sin", 1, true},
        [B_COS] = {"llvm.cos", "cos", 1, true},       [B_POW] = {"llvm.pow", "pow", 2, false}, /* as ** */
        [B_SQRT] = {"llvm.sqrt", NULL, 1, false},     [B_FLOOR] = {"llvm.floor", NULL, 1, false},
        [B_CEIL] = {"llvm.ceil", NULL, 1, false},     [B_TRUNC] = {"llvm.trunc", NULL, 1, false},
        [B_RINT] = {"llvm.rint", NULL, 1, false},     [B_FABS] = {"llvm.fabs", NULL, 1, false},
        [B_COPYSIGN] = {"llvm.copysign", NULL, 2, false}, [B_ROUND] = {"llvm.roundeven", NULL, 1, false},
        [B_EXPM1] = {NULL, "expm1", 1, true},         [B_LOG1P] = {NULL, "log1p", 1, true},
        [B_CBRT] = {NULL, "cbrt", 1, true},           [B_TAN] = {NULL, "tan", 1, true},
        [B_ASIN] = {NULL, "asin", 1, true},           [B_ACOS] = {NULL, "acos", 1, true},
        [B_ATAN] = {NULL, "atan", 1, true},           [B_ATAN2] = {NULL, "atan2", 2, true},
        [B_SINH] = {NULL, "sinh", 1, true},           [B_COSH] = {NULL, "cosh", 1, true},
        [B_TANH] = {NULL, "tanh", 1, true},           [B_ASINH] = {NULL, "asinh", 1, true},
        [B_ACOSH] = {NULL, "acosh", 1, true},         [B_ATANH] = {NULL, "atanh", 1, true},
        [B_HYPOT] = {NULL, "hypot", 2, true},         [B_ERF] = {NULL, "erf", 1, true},
        [B_ERFC] = {NULL, "erfc", 1, true},           [B_GAMMA] = {NULL, "tgamma", 1, false},
        [B_LGAMMA] = {NULL, "lgamma", 1, false},      [B_FMOD] = {NULL, "fmod", 2, false},
    };
    return (b >= 0 && b < B_NBUILTINS && (tab[b].intrinsic || tab[b].libm)) ? &tab[b] : NULL;
}

/* memory(none): the call neither reads nor writes memory we can see. */
static void no_memory(loops_gen *g, LLVMValueRef fn)
{
    unsigned k = LLVMGetEnumAttributeKindForName("memory", 6);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(g->C, k, 0));
    loops_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
    loops_attr(g, fn, LLVMAttributeFunctionIndex, "willreturn");
}

/* The widest libmvec variant of m the host runs (AVX-512 'e', AVX2 'd',
 * SSE2 'b'), declared; *vf is its lane count. */
static LLVMValueRef mvec_decl(loops_gen *g, const mfun *m, ug_dtype dt, int *vf)
{
    char isa = g->avx512 ? 'e' : g->avx2 ? 'd' : 'b', vname[64];
    *vf = (g->avx512 ? 8 : g->avx2 ? 4 : 2) * (dt == UG_FLOAT32 ? 2 : 1);
    snprintf(vname, sizeof vname, "_ZGV%cN%d%s_%s%s", isa, *vf, m->arity == 2 ? "vv" : "v", m->libm,
             dt == UG_FLOAT32 ? "f" : "");
    LLVMValueRef decl = LLVMGetNamedFunction(g->M, vname);
    if (decl)
        return decl;
    LLVMTypeRef vt = LLVMVectorType(loops_vty(g, dt), (unsigned)*vf), ps[2] = {vt, vt};
    decl = LLVMAddFunction(g->M, vname, LLVMFunctionType(vt, ps, (unsigned)m->arity, 0));
    no_memory(g, decl);
    loops_keep(g, decl);
    return decl;
}

/* ug.mvec.<f>: the scalar function as lane 0 of the vector variant applied
 * to a splat. Scalar code (loop remainders, serial loops) and vector code
 * then compute every element with the same libmvec routine, so an element's
 * result never depends on where a call's boundaries fall (parallel chunks,
 * NumPy's buffers, f(x[:5]) against f(x)[:5]). Never inlined, so the
 * vectoriser sees the call and replaces it with the variant itself. */
static LLVMValueRef mvec_wrapper(loops_gen *g, const mfun *m, ug_dtype dt, int *vf)
{
    char name[64];
    snprintf(name, sizeof name, "ug.mvec.%s%s", m->libm, dt == UG_FLOAT32 ? "f" : "");
    LLVMValueRef decl = mvec_decl(g, m, dt, vf), fn = LLVMGetNamedFunction(g->M, name);
    if (fn)
        return fn;
    LLVMTypeRef t = loops_vty(g, dt), ps[2] = {t, t}, vt = LLVMVectorType(t, (unsigned)*vf);
    fn = LLVMAddFunction(g->M, name, LLVMFunctionType(t, ps, (unsigned)m->arity, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    loops_attr(g, fn, LLVMAttributeFunctionIndex, "noinline");
    no_memory(g, fn);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(g->C);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(g->C, fn, "entry"));
    LLVMValueRef v[2], lane0 = LLVMConstInt(g->i32, 0, 0);
    LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(g->i32, (unsigned)*vf));
    for (int k = 0; k < m->arity; k++) { /* a splat, so no lane holds garbage that could raise FP flags */
        LLVMValueRef one = LLVMBuildInsertElement(B, LLVMGetPoison(vt), LLVMGetParam(fn, (unsigned)k), lane0, "");
        v[k] = LLVMBuildShuffleVector(B, one, LLVMGetPoison(vt), zeros, "splat");
    }
    LLVMValueRef r = LLVMBuildCall2(B, LLVMGlobalGetValueType(decl), decl, v, (unsigned)m->arity, "v");
    LLVMBuildRet(B, LLVMBuildExtractElement(B, r, lane0, "r"));
    LLVMDisposeBuilder(B);
    return fn;
}

/* The scalar callee for m on dt: an intrinsic declaration or a libm
 * declaration that does not touch memory (so it can be vectorised). */
static LLVMValueRef mfun_decl(loops_gen *g, const mfun *m, ug_dtype dt, LLVMTypeRef *fty, char *name, size_t n)
{
    LLVMTypeRef t = loops_vty(g, dt);
    if (m->intrinsic) {
        unsigned id = LLVMLookupIntrinsicID(m->intrinsic, strlen(m->intrinsic));
        *fty = LLVMIntrinsicGetType(g->C, id, &t, 1);
        snprintf(name, n, "%s.%s", m->intrinsic, dt == UG_FLOAT32 ? "f32" : "f64");
        return LLVMGetIntrinsicDeclaration(g->M, id, &t, 1);
    }
    snprintf(name, n, "%s%s", m->libm, dt == UG_FLOAT32 ? "f" : "");
    LLVMTypeRef ps[2] = {t, t};
    *fty = LLVMFunctionType(t, ps, (unsigned)m->arity, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(g->M, name);
    if (!fn) {
        fn = LLVMAddFunction(g->M, name, *fty);
        loops_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
        loops_attr(g, fn, LLVMAttributeFunctionIndex, "willreturn");
        unsigned k = LLVMGetEnumAttributeKindForName("memory", 6);
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(g->C, k, 0));
    }
    return fn;
}

/* A math call. Functions libmvec has go through ug.mvec.<f>, whose call
 * carries vector-function-abi-variant naming the libmvec variant, so the
 * vectoriser can call it (kept alive by llvm.compiler.used until then).
 * With math=libm they are glibc's scalar function by its libm name (never
 * the intrinsic: no vector library is configured, so a vectorised loop
 * still calls it once per element). */
static LLVMValueRef call_math(loops_gen *g, const mfun *m, ug_dtype dt, LLVMValueRef *args)
{
    LLVMTypeRef fty;
    char scalar[64], variant[256];
    mfun libm = {NULL, m->libm, m->arity, false};
    if (m->mvec && g->req->math == UG_MATH_LIBM)
        m = &libm;
    if (!m->mvec) {
        LLVMValueRef fn = mfun_decl(g, m, dt, &fty, scalar, sizeof scalar);
        return loops_fm(g, LLVMBuildCall2(g->B, fty, fn, args, (unsigned)m->arity, "m"));
    }
    int vf;
    LLVMValueRef fn = mvec_wrapper(g, m, dt, &vf);
    LLVMValueRef c = LLVMBuildCall2(g->B, LLVMGlobalGetValueType(fn), fn, args, (unsigned)m->arity, "m");
    size_t len;
    const char *wname = LLVMGetValueName2(fn, &len), *vname = LLVMGetValueName2(mvec_decl(g, m, dt, &vf), &len);
    snprintf(variant, sizeof variant, "_ZGV_LLVM_N%d%s_%s(%s)", vf, m->arity == 2 ? "vv" : "v", wname, vname);
    const char *k = "vector-function-abi-variant";
    LLVMAddCallSiteAttribute(c, LLVMAttributeFunctionIndex,
                             LLVMCreateStringAttribute(g->C, k, (unsigned)strlen(k), variant, (unsigned)strlen(variant)));
    return loops_fm(g, c);
}

static LLVMValueRef call_intr(loops_gen *g, const char *name, ug_dtype dt, LLVMValueRef *args, int n)
{
    mfun m = {name, NULL, n, false};
    return call_math(g, &m, dt, args);
}

/* Raise FE_DIVBYZERO when cond holds (a cold call into the runtime). */
static void fpe_if(loops_gen *g, LLVMValueRef cond)
{
    LLVMValueRef fn = LLVMGetNamedFunction(g->M, "rt_fpe");
    LLVMTypeRef fty = LLVMFunctionType(g->vd, &g->i32, 1, 0);
    if (!fn) {
        fn = LLVMAddFunction(g->M, "rt_fpe", fty);
        loops_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
        loops_attr(g, fn, LLVMAttributeFunctionIndex, "cold");
    }
    LLVMValueRef cur = LLVMGetBasicBlockParent(LLVMGetInsertBlock(g->B));
    LLVMBasicBlockRef raise = LLVMAppendBasicBlockInContext(g->C, cur, "fpe.raise");
    LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(g->C, cur, "fpe.cont");
    LLVMBuildCondBr(g->B, cond, raise, cont);
    LLVMPositionBuilderAtEnd(g->B, raise);
    LLVMValueRef flag = LLVMConstInt(g->i32, FE_DIVBYZERO, 0);
    LLVMBuildCall2(g->B, fty, fn, &flag, 1, "");
    LLVMBuildBr(g->B, cont);
    LLVMPositionBuilderAtEnd(g->B, cont);
}

/* ---------------------------------------------------------------- integers */

/* Floor division / remainder as np.floor_divide / np.remainder. */
static LLVMValueRef int_divmod(loops_gen *g, LLVMValueRef a, LLVMValueRef b, ug_dtype dt, bool want_mod)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef zero = iconst(g, dt, 0), one = iconst(g, dt, 1);
    LLVMValueRef bz = LLVMBuildICmp(B, LLVMIntEQ, b, zero, "b0");
    fpe_if(g, bz);
    if (!is_signed(dt)) {
        LLVMValueRef sb = LLVMBuildSelect(B, bz, one, b, "sb");
        LLVMValueRef r = want_mod ? LLVMBuildURem(B, a, sb, "urem") : LLVMBuildUDiv(B, a, sb, "udiv");
        return LLVMBuildSelect(B, bz, zero, r, "r");
    }
    /* b == -1 would trap for INT_MIN: divide by 1 and negate instead */
    LLVMValueRef bm1 = LLVMBuildICmp(B, LLVMIntEQ, b, iconst(g, dt, -1), "bm1");
    LLVMValueRef sb = LLVMBuildSelect(B, LLVMBuildOr(B, bz, bm1, ""), one, b, "sb");
    LLVMValueRef q = LLVMBuildSDiv(B, a, sb, "q");
    LLVMValueRef m = LLVMBuildSRem(B, a, sb, "m");
    LLVMValueRef adj = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntNE, m, zero, ""),
                                    LLVMBuildICmp(B, LLVMIntSLT, LLVMBuildXor(B, m, b, ""), zero, ""), "adj");
    LLVMValueRef r;
    if (want_mod) {
        r = LLVMBuildSelect(B, adj, LLVMBuildAdd(B, m, b, ""), m, "mod");
        r = LLVMBuildSelect(B, bm1, zero, r, "");
    } else {
        r = LLVMBuildSelect(B, adj, LLVMBuildSub(B, q, one, ""), q, "fdiv");
        r = LLVMBuildSelect(B, bm1, LLVMBuildSub(B, zero, a, ""), r, "");
    }
    return LLVMBuildSelect(B, bz, zero, r, "r");
}

/* Shifts: a count outside [0, width) gives 0, or -1 for a negative signed
 * value shifted right (NumPy's npy_lshift / npy_rshift). */
static LLVMValueRef int_shift(loops_gen *g, LLVMValueRef a, LLVMValueRef b, ug_dtype dt, bool left)
{
    LLVMBuilderRef B = g->B;
    unsigned w = LLVMGetIntTypeWidth(loops_vty(g, dt));
    LLVMValueRef ok = LLVMBuildICmp(B, LLVMIntULT, b, iconst(g, dt, w), "sh.ok");
    LLVMValueRef sb = LLVMBuildSelect(B, ok, b, iconst(g, dt, 0), "sh.b");
    if (left)
        return LLVMBuildSelect(B, ok, LLVMBuildShl(B, a, sb, "shl"), iconst(g, dt, 0), "shl.r");
    if (!is_signed(dt))
        return LLVMBuildSelect(B, ok, LLVMBuildLShr(B, a, sb, "lshr"), iconst(g, dt, 0), "lshr.r");
    LLVMValueRef sat = LLVMBuildAShr(B, a, iconst(g, dt, w - 1), "sign");
    return LLVMBuildSelect(B, ok, LLVMBuildAShr(B, a, sb, "ashr"), sat, "ashr.r");
}

/* Signed a ** e for e < 0: 1 for a == 1, ±1 for a == -1, else 0; r otherwise. */
static LLVMValueRef ipow_negative(loops_gen *g, LLVMBuilderRef B, LLVMValueRef a, LLVMValueRef e, LLVMValueRef r,
                                  LLVMTypeRef t)
{
    LLVMValueRef zero = LLVMConstInt(t, 0, 0), one = LLVMConstInt(t, 1, 0), m1 = LLVMConstAllOnes(t);
    LLVMValueRef odd = LLVMBuildTrunc(B, e, g->i1, "");
    LLVMValueRef for_m1 = LLVMBuildSelect(B, odd, m1, one, "");
    LLVMValueRef v = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, a, m1, ""), for_m1, zero, "");
    v = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, a, one, ""), one, v, "negpow");
    return LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, e, zero, "neg"), v, r, "");
}

/* Integer power by repeated squaring, in an internal function per type.
 * A negative exponent gives 0, except for bases 1 (→ 1) and -1 (→ ±1). */
static LLVMValueRef ipow_fn(loops_gen *g, ug_dtype dt)
{
    char name[32];
    snprintf(name, sizeof name, "ug.ipow.%s", ug_dtype_name(dt));
    LLVMValueRef fn = LLVMGetNamedFunction(g->M, name);
    LLVMTypeRef t = loops_vty(g, dt), ps[2] = {t, t};
    if (fn)
        return fn;
    fn = LLVMAddFunction(g->M, name, LLVMFunctionType(t, ps, 2, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    loops_attr(g, fn, LLVMAttributeFunctionIndex, "alwaysinline");
    LLVMBuilderRef B = LLVMCreateBuilderInContext(g->C);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(g->C, fn, "entry");
    LLVMBasicBlockRef cond = LLVMAppendBasicBlockInContext(g->C, fn, "loop.cond");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(g->C, fn, "loop.body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(g->C, fn, "loop.exit");
    LLVMValueRef a = LLVMGetParam(fn, 0), e = LLVMGetParam(fn, 1);
    LLVMValueRef zero = LLVMConstInt(t, 0, 0), one = LLVMConstInt(t, 1, 0);
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMBuildBr(B, cond);
    LLVMPositionBuilderAtEnd(B, cond);
    LLVMValueRef r = LLVMBuildPhi(B, t, "r"), base = LLVMBuildPhi(B, t, "base"), ex = LLVMBuildPhi(B, t, "e");
    /* unsigned exponents compare as unsigned */
    LLVMBuildCondBr(B, LLVMBuildICmp(B, is_signed(dt) ? LLVMIntSGT : LLVMIntUGT, ex, zero, ""), body, exit);
    LLVMPositionBuilderAtEnd(B, body);
    LLVMValueRef odd = LLVMBuildTrunc(B, ex, g->i1, "odd");
    LLVMValueRef r2 = LLVMBuildSelect(B, odd, LLVMBuildMul(B, r, base, ""), r, "r.next");
    LLVMValueRef b2 = LLVMBuildMul(B, base, base, "base.next");
    LLVMValueRef e2 = LLVMBuildLShr(B, ex, one, "e.next");
    LLVMBuildBr(B, cond);
    LLVMValueRef rv[2] = {one, r2}, bv[2] = {a, b2}, ev[2] = {e, e2};
    LLVMBasicBlockRef from[2] = {entry, body};
    LLVMAddIncoming(r, rv, from, 2);
    LLVMAddIncoming(base, bv, from, 2);
    LLVMAddIncoming(ex, ev, from, 2);
    LLVMPositionBuilderAtEnd(B, exit);
    LLVMValueRef res = is_signed(dt) ? ipow_negative(g, B, a, e, r, t) : r;
    LLVMBuildRet(B, res);
    LLVMDisposeBuilder(B);
    return fn;
}

static LLVMValueRef int_pow(loops_gen *g, LLVMValueRef a, LLVMValueRef b, ug_dtype dt)
{
    LLVMValueRef fn = ipow_fn(g, dt), args[2] = {a, b};
    LLVMTypeRef t = loops_vty(g, dt), ps[2] = {t, t};
    return LLVMBuildCall2(g->B, LLVMFunctionType(t, ps, 2, 0), fn, args, 2, "ipow");
}

static LLVMValueRef int_binop(loops_gen *g, int op, LLVMValueRef a, LLVMValueRef b, ug_dtype dt)
{
    LLVMBuilderRef B = g->B;
    switch (op) {
    case TK_PLUS: return LLVMBuildAdd(B, a, b, "add");
    case TK_MINUS: return LLVMBuildSub(B, a, b, "sub");
    case TK_STAR: return LLVMBuildMul(B, a, b, "mul");
    case TK_DSLASH: return int_divmod(g, a, b, dt, false);
    case TK_PERCENT: return int_divmod(g, a, b, dt, true);
    case TK_DSTAR: return int_pow(g, a, b, dt);
    case TK_AMP: return LLVMBuildAnd(B, a, b, "and");
    case TK_PIPE: return LLVMBuildOr(B, a, b, "or");
    case TK_CARET: return LLVMBuildXor(B, a, b, "xor");
    case TK_LSHIFT: return int_shift(g, a, b, dt, true);
    case TK_RSHIFT: return int_shift(g, a, b, dt, false);
    default: return NULL;
    }
}

/* ---------------------------------------------------------------- floats */

/* npy_divmod: floor quotient and Python-style modulus of a and b (b != 0);
 * for b == 0 the quotient is a / b and the modulus fmod(a, b). */
static LLVMValueRef float_divmod(loops_gen *g, LLVMValueRef a, LLVMValueRef b, ug_dtype dt, bool want_mod)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef zero = fconst(g, dt, 0.0), one = fconst(g, dt, 1.0);
    LLVMValueRef mod = loops_fm(g, LLVMBuildFRem(B, a, b, "fmod"));
    LLVMValueRef bz = LLVMBuildFCmp(B, LLVMRealOEQ, b, zero, "b0");
    LLVMValueRef div = loops_fm(g, LLVMBuildFDiv(B, loops_fm(g, LLVMBuildFSub(B, a, mod, "")), b, "div"));
    LLVMValueRef modnz = LLVMBuildFCmp(B, LLVMRealUNE, mod, zero, "mod.nz");
    LLVMValueRef bneg = LLVMBuildFCmp(B, LLVMRealOLT, b, zero, ""), mneg = LLVMBuildFCmp(B, LLVMRealOLT, mod, zero, "");
    LLVMValueRef fix = LLVMBuildAnd(B, modnz, LLVMBuildICmp(B, LLVMIntNE, bneg, mneg, ""), "fix");
    LLVMValueRef m1 = LLVMBuildSelect(B, fix, loops_fm(g, LLVMBuildFAdd(B, mod, b, "")), mod, "");
    LLVMValueRef d1 = LLVMBuildSelect(B, fix, loops_fm(g, LLVMBuildFSub(B, div, one, "")), div, "");
    LLVMValueRef cs[2] = {zero, b};
    m1 = LLVMBuildSelect(B, modnz, m1, call_intr(g, "llvm.copysign", dt, cs, 2), "mod.r");
    if (want_mod)
        return LLVMBuildSelect(B, bz, mod, m1, "remainder");
    LLVMValueRef fl = call_intr(g, "llvm.floor", dt, &d1, 1);
    LLVMValueRef up = LLVMBuildFCmp(B, LLVMRealOGT, loops_fm(g, LLVMBuildFSub(B, d1, fl, "")), fconst(g, dt, 0.5), "");
    fl = LLVMBuildSelect(B, up, loops_fm(g, LLVMBuildFAdd(B, fl, one, "")), fl, "");
    /* copysign(0, a/b) for b != 0: the sign of a/b is sign(a) xor sign(b) */
    LLVMValueRef sa[2] = {one, a}, sb[2] = {one, b};
    LLVMValueRef sgn = LLVMBuildFMul(B, call_intr(g, "llvm.copysign", dt, sa, 2), call_intr(g, "llvm.copysign", dt, sb, 2), "");
    LLVMValueRef z[2] = {zero, sgn};
    LLVMValueRef dnz = LLVMBuildFCmp(B, LLVMRealUNE, d1, zero, "div.nz");
    LLVMValueRef q = LLVMBuildSelect(B, dnz, fl, call_intr(g, "llvm.copysign", dt, z, 2), "floordiv");
    return LLVMBuildSelect(B, bz, loops_fm(g, LLVMBuildFDiv(B, a, b, "")), q, "floor_divide");
}

static LLVMValueRef float_binop(loops_gen *g, int op, LLVMValueRef a, LLVMValueRef b, ug_dtype dt)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef args[2] = {a, b};
    switch (op) {
    case TK_PLUS: return loops_fm(g, LLVMBuildFAdd(B, a, b, "fadd"));
    case TK_MINUS: return loops_fm(g, LLVMBuildFSub(B, a, b, "fsub"));
    case TK_STAR: return loops_fm(g, LLVMBuildFMul(B, a, b, "fmul"));
    case TK_SLASH: return loops_fm(g, LLVMBuildFDiv(B, a, b, "fdiv"));
    case TK_DSLASH: return float_divmod(g, a, b, dt, false);
    case TK_PERCENT: return float_divmod(g, a, b, dt, true);
    case TK_DSTAR: return call_intr(g, "llvm.pow", dt, args, 2); /* glibc's pow, see fpow_limit */
    default: return NULL;
    }
}

/* ---------------------------------------------------------------- powers */

/* Numba's cut-off: beyond it an integer exponent goes to pow. A float
 * exponent always does, through llvm.pow (glibc's pow: 0.52 ulp, NumPy's and
 * Numba's function, never the 1-2 ulp libmvec variant), and LLVM folds the
 * exact cases as it does for Numba: ** 2.0 to x*x, ** -1.0 to 1/x, ** 0.5
 * to sqrt with fixes for -0.0 and -inf. */
enum { fpow_limit = 0x10000 };

/* r * v, or v when r is absent (Numba starts from 1 and LLVM folds 1 * v). */
static LLVMValueRef fmul_or(loops_gen *g, LLVMValueRef r, LLVMValueRef v)
{
    return r ? loops_fm(g, LLVMBuildFMul(g->B, r, v, "pow.mul")) : v;
}

/* Numba's static_power_impl: a ** n unrolled, in Numba's order of
 * multiplication, so results are Numba's bit for bit. */
static LLVMValueRef fpow_const(loops_gen *g, LLVMValueRef a, long long n, ug_dtype dt)
{
    unsigned long long m = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
    LLVMValueRef r = NULL, v = a;
    while (m) {
        if (m & 1)
            r = fmul_or(g, r, v);
        m >>= 1;
        if (m) /* no dead last square: it could overflow and raise a flag */
            v = loops_fm(g, LLVMBuildFMul(g->B, v, v, "pow.sq"));
    }
    if (!r)
        return fconst(g, dt, 1.0);
    return n < 0 ? loops_fm(g, LLVMBuildFDiv(g->B, fconst(g, dt, 1.0), r, "pow.inv")) : r;
}

/* ug.fpowi.<f32|f64>.<s|u>(a, e): Numba's int_power_impl for a float base
 * and an integer exponent widened to i64 (signed or not), in an internal
 * function: |e| > 65536 goes to pow (in float64, as Numba's math.pow). */
static LLVMValueRef fpowi_fn(loops_gen *g, ug_dtype dt, bool sgn)
{
    char name[32];
    snprintf(name, sizeof name, "ug.fpowi.%s.%c", dt == UG_FLOAT32 ? "f32" : "f64", sgn ? 's' : 'u');
    LLVMTypeRef t = loops_vty(g, dt), ps[2] = {t, g->i64};
    LLVMValueRef fn = LLVMGetNamedFunction(g->M, name);
    if (fn)
        return fn;
    fn = LLVMAddFunction(g->M, name, LLVMFunctionType(t, ps, 2, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMBuilderRef saved = g->B, B = g->B = LLVMCreateBuilderInContext(g->C);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(g->C, fn, "entry");
    LLVMBasicBlockRef big = LLVMAppendBasicBlockInContext(g->C, fn, "pow.big");
    LLVMBasicBlockRef cond = LLVMAppendBasicBlockInContext(g->C, fn, "loop.cond");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(g->C, fn, "loop.body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(g->C, fn, "loop.exit");
    LLVMValueRef a = LLVMGetParam(fn, 0), e = LLVMGetParam(fn, 1), z = LLVMConstInt(g->i64, 0, 0);
    LLVMValueRef one = fconst(g, dt, 1.0), c1 = LLVMConstInt(g->i64, 1, 0);
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef neg = sgn ? LLVMBuildICmp(B, LLVMIntSLT, e, z, "neg") : LLVMConstInt(g->i1, 0, 0);
    LLVMValueRef mag = LLVMBuildSelect(B, neg, LLVMBuildSub(B, z, e, ""), e, "mag"); /* INT64_MIN stays 2^63: big */
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntUGT, mag, LLVMConstInt(g->i64, fpow_limit, 0), ""), big, cond);
    LLVMPositionBuilderAtEnd(B, big);
    LLVMValueRef pa[2] = {loops_emit_cast(g, a, dt, UG_FLOAT64),
                          sgn ? LLVMBuildSIToFP(B, e, g->f64, "") : LLVMBuildUIToFP(B, e, g->f64, "")};
    LLVMBuildRet(B, loops_emit_cast(g, call_intr(g, "llvm.pow", UG_FLOAT64, pa, 2), UG_FLOAT64, dt));
    LLVMPositionBuilderAtEnd(B, cond);
    LLVMValueRef r = LLVMBuildPhi(B, t, "r"), v = LLVMBuildPhi(B, t, "v"), m = LLVMBuildPhi(B, g->i64, "m");
    LLVMValueRef odd = LLVMBuildTrunc(B, m, g->i1, "odd");
    LLVMValueRef r2 = LLVMBuildSelect(B, odd, loops_fm(g, LLVMBuildFMul(B, r, v, "")), r, "r.next");
    LLVMValueRef m2 = LLVMBuildLShr(B, m, c1, "m.next");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, m2, z, ""), exit, body);
    LLVMPositionBuilderAtEnd(B, body); /* square only when another bit follows */
    LLVMValueRef v2 = loops_fm(g, LLVMBuildFMul(B, v, v, "v.next"));
    LLVMBuildBr(B, cond);
    LLVMValueRef rv[2] = {one, r2}, vv[2] = {a, v2}, mv[2] = {mag, m2};
    LLVMBasicBlockRef from[2] = {entry, body};
    LLVMAddIncoming(r, rv, from, 2);
    LLVMAddIncoming(v, vv, from, 2);
    LLVMAddIncoming(m, mv, from, 2);
    LLVMPositionBuilderAtEnd(B, exit);
    LLVMValueRef res = LLVMBuildSelect(B, neg, loops_fm(g, LLVMBuildFDiv(B, one, r2, "inv")), r2, "");
    LLVMBuildRet(B, res);
    LLVMDisposeBuilder(B);
    g->B = saved;
    return fn;
}

LLVMValueRef loops_emit_fpowi(loops_gen *g, LLVMValueRef a, LLVMValueRef e, ug_dtype dt, ug_dtype edt)
{
    if (dt == UG_FLOAT16) /* in float32, one rounding at the end (NumPy's e**e goes through powf) */
        return loops_round16(g, loops_emit_fpowi(g, a, e, UG_FLOAT32, edt));
    bool sgn = is_signed(edt);
    if (LLVMIsAConstantInt(e)) {
        long long n = sgn ? LLVMConstIntGetSExtValue(e) : (long long)LLVMConstIntGetZExtValue(e);
        if ((sgn || n >= 0) && n >= -fpow_limit && n <= fpow_limit)
            return fpow_const(g, a, n, dt);
    }
    LLVMValueRef w = sgn ? LLVMBuildSExt(g->B, e, g->i64, "") : LLVMBuildZExt(g->B, e, g->i64, "");
    LLVMValueRef fn = fpowi_fn(g, dt, sgn), args[2] = {a, w};
    return LLVMBuildCall2(g->B, LLVMGlobalGetValueType(fn), fn, args, 2, "fpowi");
}

LLVMValueRef loops_emit_binop(loops_gen *g, int op, LLVMValueRef a, LLVMValueRef b, ug_dtype dt)
{
    if (dt == UG_FLOAT16) { /* NumPy's half loops: in float32, rounded to half */
        LLVMValueRef r = loops_emit_binop(g, op, a, b, UG_FLOAT32);
        return r ? loops_round16(g, r) : NULL;
    }
    if (is_complex(dt))
        return loops_complex_binop(g, op, a, b, dt);
    if (is_float(dt))
        return float_binop(g, op, a, b, dt);
    if (dt == UG_BOOL && (op == TK_AMP || op == TK_PIPE || op == TK_CARET))
        return int_binop(g, op, a, b, dt);
    if (dt == UG_BOOL && (op == TK_PLUS || op == TK_STAR)) /* NumPy's add / multiply of bools: or / and */
        return int_binop(g, op == TK_PLUS ? TK_PIPE : TK_AMP, a, b, dt);
    if (dt == UG_BOOL) /* inference promotes the other bool arithmetic; keep it total anyway */
        return NULL;
    return int_binop(g, op, a, b, dt);
}

LLVMValueRef loops_emit_unop(loops_gen *g, int op, LLVMValueRef v, ug_dtype dt)
{
    if (dt == UG_FLOAT16) /* negation is exact */
        dt = UG_FLOAT32;
    if (is_complex(dt) && op != TK_NOT)
        return loops_complex_unop(g, op, v, dt);
    switch (op) {
    case TK_PLUS: return v;
    case TK_MINUS:
        return is_float(dt) ? loops_fm(g, LLVMBuildFNeg(g->B, v, "fneg")) : LLVMBuildNeg(g->B, v, "neg");
    case TK_TILDE: return is_float(dt) ? NULL : LLVMBuildNot(g->B, v, "not");
    case TK_NOT: return LLVMBuildNot(g->B, loops_emit_truth(g, v, dt), "lnot");
    default: return NULL;
    }
}

LLVMValueRef loops_emit_compare(loops_gen *g, int op, LLVMValueRef a, LLVMValueRef b, ug_dtype dt)
{
    static const struct { int tok; LLVMRealPredicate f; LLVMIntPredicate s, u; } p[] = {
        {TK_LT, LLVMRealOLT, LLVMIntSLT, LLVMIntULT}, {TK_LE, LLVMRealOLE, LLVMIntSLE, LLVMIntULE},
        {TK_GT, LLVMRealOGT, LLVMIntSGT, LLVMIntUGT}, {TK_GE, LLVMRealOGE, LLVMIntSGE, LLVMIntUGE},
        {TK_EQ, LLVMRealOEQ, LLVMIntEQ, LLVMIntEQ},   {TK_NE, LLVMRealUNE, LLVMIntNE, LLVMIntNE},
    };
    if (dt == UG_FLOAT16)
        dt = UG_FLOAT32;
    if (is_complex(dt))
        return loops_complex_compare(g, op, a, b, dt);
    for (size_t k = 0; k < sizeof p / sizeof p[0]; k++) {
        if (p[k].tok != op)
            continue;
        if (is_float(dt))
            return loops_fm(g, LLVMBuildFCmp(g->B, p[k].f, a, b, "fcmp"));
        return LLVMBuildICmp(g->B, is_signed(dt) ? p[k].s : p[k].u, a, b, "icmp");
    }
    return NULL;
}

/* ---------------------------------------------------------------- builtins */

/* Python min/max: keep the first argument unless a later one is strictly
 * smaller (larger). */
static LLVMValueRef py_minmax(loops_gen *g, LLVMValueRef *args, int n, ug_dtype dt, bool is_max)
{
    LLVMValueRef r = args[0];
    for (int k = 1; k < n; k++) {
        LLVMValueRef c = loops_emit_compare(g, is_max ? TK_GT : TK_LT, args[k], r, dt);
        r = LLVMBuildSelect(g->B, c, args[k], r, is_max ? "max" : "min");
    }
    return r;
}

/* np.maximum/minimum (NaN-propagating: NaN in a, else b wins ties, as every
 * NumPy loop does) and np.fmax/fmin (NaN-ignoring: a wins ties, NumPy's
 * documented where(a >= b, a, b), its float64 scalar loop and Numba; NumPy's
 * SIMD loops give either sign of a 0.0/-0.0 tie depending on the element's
 * place). Integers: plain comparisons. */
static LLVMValueRef np_minmax(loops_gen *g, LLVMValueRef a, LLVMValueRef b, ug_dtype dt, bool is_max, bool nan_prop)
{
    int op = nan_prop ? (is_max ? TK_GT : TK_LT) : (is_max ? TK_GE : TK_LE);
    LLVMValueRef c = loops_emit_compare(g, op, a, b, dt);
    if (is_float(dt)) {
        LLVMValueRef nan = LLVMBuildFCmp(g->B, LLVMRealUNO, nan_prop ? a : b, nan_prop ? a : b, "isnan");
        c = LLVMBuildOr(g->B, c, nan, "");
    }
    return LLVMBuildSelect(g->B, c, a, b, is_max ? "maximum" : "minimum");
}

/* np.sign: -1, 0, 1 (NaN stays NaN for floats). */
static LLVMValueRef np_sign(loops_gen *g, LLVMValueRef x, ug_dtype dt)
{
    LLVMBuilderRef B = g->B;
    if (is_float(dt)) {
        LLVMValueRef z = fconst(g, dt, 0.0);
        LLVMValueRef r = LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealOEQ, x, z, ""), z, x, "");
        r = LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealOLT, x, z, ""), fconst(g, dt, -1.0), r, "");
        return LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealOGT, x, z, ""), fconst(g, dt, 1.0), r, "sign");
    }
    if (dt == UG_BOOL)
        return x;
    LLVMValueRef z = iconst(g, dt, 0);
    LLVMTypeRef t = loops_vty(g, dt);
    LLVMValueRef pos = LLVMBuildZExt(B, loops_emit_compare(g, TK_GT, x, z, dt), t, "");
    LLVMValueRef neg = LLVMBuildZExt(B, loops_emit_compare(g, TK_LT, x, z, dt), t, "");
    return LLVMBuildSub(B, pos, neg, "sign");
}

static LLVMValueRef predicate(loops_gen *g, int b, LLVMValueRef x, ug_dtype dt)
{
    if (!is_float(dt))
        return LLVMConstInt(g->i1, b == B_ISFINITE, 0);
    if (b == B_ISNAN)
        return LLVMBuildFCmp(g->B, LLVMRealUNO, x, x, "isnan");
    LLVMValueRef ax = call_intr(g, "llvm.fabs", dt, &x, 1), inf = fconst(g, dt, __builtin_inf());
    return LLVMBuildFCmp(g->B, b == B_ISINF ? LLVMRealOEQ : LLVMRealOLT, ax, inf, b == B_ISINF ? "isinf" : "isfinite");
}

static LLVMValueRef int_builtin(loops_gen *g, int b, LLVMValueRef *args, ug_dtype dt)
{
    LLVMValueRef x = args[0];
    switch (b) {
    case B_ABS:
        if (!is_signed(dt))
            return x;
        return LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, LLVMIntSLT, x, iconst(g, dt, 0), ""),
                               LLVMBuildNeg(g->B, x, ""), x, "abs");
    case B_POW: return int_pow(g, args[0], args[1], dt);
    case B_ROUND: case B_FLOOR: case B_CEIL: case B_TRUNC: case B_RINT: return x;
    default: return NULL;
    }
}

LLVMValueRef loops_emit_builtin(loops_gen *g, int b, LLVMValueRef *args, int n, ug_dtype dt, ug_dtype rdt)
{
    bool cast = b == B_INT || b == B_FLOAT || b == B_BOOL || b == B_CAST;
    if ((b >= B_COMPLEX && b <= B_IMAG) || (is_complex(dt) && !cast))
        return loops_complex_builtin(g, b, args, n, dt);
    switch (b) {
    case B_MIN: return py_minmax(g, args, n, dt, false);
    case B_MAX: return py_minmax(g, args, n, dt, true);
    case B_MAXIMUM: return np_minmax(g, args[0], args[1], dt, true, true);
    case B_MINIMUM: return np_minmax(g, args[0], args[1], dt, false, true);
    case B_FMAX: return np_minmax(g, args[0], args[1], dt, true, false);
    case B_FMIN: return np_minmax(g, args[0], args[1], dt, false, false);
    case B_SIGN: return np_sign(g, args[0], dt);
    case B_ISNAN: case B_ISINF: case B_ISFINITE: return predicate(g, b, args[0], dt);
    case B_INT: case B_FLOAT: case B_BOOL: case B_CAST: return loops_emit_cast(g, args[0], dt, rdt);
    default: break;
    }
    if (dt == UG_FLOAT16) { /* NumPy's e->e loops call the float32 function and round */
        LLVMValueRef r = loops_emit_builtin(g, b, args, n, UG_FLOAT32, rdt == UG_FLOAT16 ? UG_FLOAT32 : rdt);
        return r && rdt == UG_FLOAT16 ? loops_round16(g, r) : r;
    }
    switch (b) {
    case B_FMOD:
        if (is_float(dt))
            return loops_fm(g, LLVMBuildFRem(g->B, args[0], args[1], "fmod"));
        break;
    default: break;
    }
    if (!is_float(dt))
        return int_builtin(g, b, args, dt);
    if (b == B_ABS)
        b = B_FABS;
    const mfun *m = mfun_of(b);
    return m ? call_math(g, m, dt, args) : NULL;
}
