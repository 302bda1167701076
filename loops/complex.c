/* complex.c — complex64/complex128 operators and builtins in IR, with
 * NumPy's formulas, so results are NumPy's bit for bit where NumPy's own
 * loops compute them inline:
 *   a * b    (ar*br - ai*bi, ar*bi + ai*br), each part one fused
 *            multiply-add where the host has FMA (NumPy's SIMD loop);
 *   a / b    Smith's method as NumPy's loop writes it (no overflow for
 *            large components; a zero divisor gives ar/0, ai/0);
 *   abs(z)   NumPy's SIMD absolute: larger * sqrt(1 + (smaller/larger)^2)
 *            with inf beating NaN;
 *   a ** b   NumPy's npy_cpow (integer exponents by repeated products,
 *            else glibc's cpow), in the runtime (rt_cpow);
 *   exp log sqrt sin ... atanh: glibc's cexp, clog, ... (which NumPy calls);
 *   log2 log10 expm1 log1p: NumPy's formulas over the real functions.
 * A complex value is the struct {re, im} (gen.h); every function here
 * takes and gives values of the complex dtype dt (or its part type).
 *
 * Requires: operands converted to dt. Breaks nothing.
 */
#include <string.h>

#include "base/base.h"
#include "loops/gen.h"

static LLVMValueRef fconst(loops_gen *g, ug_dtype pt, double x) { return LLVMConstReal(loops_vty(g, pt), x); }

/* An intrinsic of one overloaded float type: llvm.fabs, llvm.fma, llvm.sqrt. */
static LLVMValueRef intr(loops_gen *g, const char *name, ug_dtype pt, LLVMValueRef *args, unsigned n)
{
    LLVMTypeRef t = loops_vty(g, pt);
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(g->M, id, &t, 1);
    return loops_fm(g, LLVMBuildCall2(g->B, LLVMIntrinsicGetType(g->C, id, &t, 1), fn, args, n, ""));
}

static bool host_fma(void) { return strstr(loops_host_features(), "+fma") != NULL; }

/* x*y + z: fused where the host has FMA, as NumPy's dispatched loops are. */
static LLVMValueRef muladd(loops_gen *g, ug_dtype pt, LLVMValueRef x, LLVMValueRef y, LLVMValueRef z)
{
    if (host_fma())
        return intr(g, "llvm.fma", pt, (LLVMValueRef[]){x, y, z}, 3);
    return loops_fm(g, LLVMBuildFAdd(g->B, loops_fm(g, LLVMBuildFMul(g->B, x, y, "")), z, ""));
}

#define FMUL(x, y) loops_fm(g, LLVMBuildFMul(B, (x), (y), ""))
#define FADD(x, y) loops_fm(g, LLVMBuildFAdd(B, (x), (y), ""))
#define FSUB(x, y) loops_fm(g, LLVMBuildFSub(B, (x), (y), ""))
#define FDIV(x, y) loops_fm(g, LLVMBuildFDiv(B, (x), (y), ""))
#define SEL(c, x, y) LLVMBuildSelect(B, (c), (x), (y), "")

static LLVMValueRef cmul(loops_gen *g, ug_dtype dt, LLVMValueRef a, LLVMValueRef b)
{
    LLVMBuilderRef B = g->B;
    ug_dtype pt = base_dtype_part(dt);
    LLVMValueRef ar = loops_re(g, a), ai = loops_im(g, a), br = loops_re(g, b), bi = loops_im(g, b);
    LLVMValueRef re = muladd(g, pt, ar, br, loops_fm(g, LLVMBuildFNeg(B, FMUL(ai, bi), "")));
    LLVMValueRef im = muladd(g, pt, ar, bi, FMUL(ai, br));
    return loops_complex(g, dt, re, im);
}

/* NumPy's division: with p the larger part of b (by magnitude; NaN: the
 * imaginary one) and q the other, rat = q/p, scl = 1/(p + q*rat), then
 * (ar + ai*rat)*scl, (ai - ar*rat)*scl when p is br, (ar*rat + ai)*scl,
 * (ai*rat - ar)*scl when p is bi. A zero b divides each part by |br|.
 * Both paths run on every element, with harmless operands where unused, so
 * no floating-point flag is raised that NumPy's branch would not raise. */
static LLVMValueRef cdiv(loops_gen *g, ug_dtype dt, LLVMValueRef a, LLVMValueRef b)
{
    LLVMBuilderRef B = g->B;
    ug_dtype pt = base_dtype_part(dt);
    LLVMValueRef ar = loops_re(g, a), ai = loops_im(g, a), br = loops_re(g, b), bi = loops_im(g, b);
    LLVMValueRef abr = intr(g, "llvm.fabs", pt, &br, 1), abi = intr(g, "llvm.fabs", pt, &bi, 1);
    LLVMValueRef one = fconst(g, pt, 1.0);
    LLVMValueRef m = LLVMBuildFCmp(B, LLVMRealOGE, abr, abi, "re.larger");
    LLVMValueRef zero = LLVMBuildAnd(B, m, LLVMBuildFCmp(B, LLVMRealOEQ, abr, fconst(g, pt, 0.0), ""), "b.zero");
    LLVMValueRef p = SEL(zero, one, SEL(m, br, bi)), q = SEL(m, bi, br);
    LLVMValueRef rat = FDIV(q, p), scl = FDIV(one, FADD(p, FMUL(q, rat)));
    LLVMValueRef re = FMUL(FADD(SEL(m, ar, ai), FMUL(SEL(m, ai, ar), rat)), scl);
    LLVMValueRef im = FMUL(FSUB(SEL(m, ai, FMUL(ai, rat)), SEL(m, FMUL(ar, rat), ar)), scl);
    LLVMValueRef zden = SEL(zero, abr, one);
    re = SEL(zero, FDIV(ar, zden), re);
    im = SEL(zero, FDIV(ai, zden), im);
    return loops_complex(g, dt, re, im);
}

/* NumPy's absolute: an infinite part makes the result inf (even with a NaN
 * beside it), a NaN part NaN; else larger * sqrt(ratio*ratio + 1). NaNs
 * are selected away before the ordered comparison (x86's vector compares
 * raise "invalid" on them; NumPy's absolute raises nothing). */
static LLVMValueRef cabs_np(loops_gen *g, ug_dtype dt, LLVMValueRef z)
{
    LLVMBuilderRef B = g->B;
    ug_dtype pt = base_dtype_part(dt);
    LLVMValueRef x = loops_re(g, z), y = loops_im(g, z), zero = fconst(g, pt, 0.0);
    LLVMValueRef re = intr(g, "llvm.fabs", pt, &x, 1), im = intr(g, "llvm.fabs", pt, &y, 1);
    LLVMValueRef inf = fconst(g, pt, __builtin_inf()), nan = fconst(g, pt, __builtin_nan(""));
    LLVMValueRef any_inf = LLVMBuildOr(B, LLVMBuildFCmp(B, LLVMRealOEQ, re, inf, ""), LLVMBuildFCmp(B, LLVMRealOEQ, im, inf, ""), "");
    LLVMValueRef any_nan = LLVMBuildFCmp(B, LLVMRealUNO, re, im, "");
    re = SEL(any_nan, zero, re);
    im = SEL(any_nan, zero, im);
    LLVMValueRef gt = LLVMBuildFCmp(B, LLVMRealOGT, re, im, "");
    LLVMValueRef larger = SEL(gt, re, im), smaller = SEL(gt, im, re);
    LLVMValueRef bad = LLVMBuildOr(B, LLVMBuildFCmp(B, LLVMRealOEQ, larger, zero, ""),
                                   LLVMBuildFCmp(B, LLVMRealOEQ, larger, inf, ""), "");
    LLVMValueRef ratio = SEL(bad, zero, FDIV(smaller, SEL(bad, fconst(g, pt, 1.0), larger)));
    LLVMValueRef h = muladd(g, pt, ratio, ratio, fconst(g, pt, 1.0));
    LLVMValueRef r = FMUL(intr(g, "llvm.sqrt", pt, &h, 1), larger);
    return SEL(any_inf, inf, SEL(any_nan, nan, r));
}

/* a ** b: rt_cpow(ar, ai, br, bi, out) in the part precision. */
static LLVMValueRef cpow_call(loops_gen *g, ug_dtype dt, LLVMValueRef a, LLVMValueRef b)
{
    ug_dtype pt = base_dtype_part(dt);
    LLVMTypeRef t = loops_vty(g, pt), ps[5] = {t, t, t, t, g->ptr};
    LLVMValueRef out = loops_entry_alloca(g, LLVMArrayType2(t, 2), "cpow.out");
    LLVMValueRef args[5] = {loops_re(g, a), loops_im(g, a), loops_re(g, b), loops_im(g, b), out};
    loops_rt_call(g, pt == UG_FLOAT32 ? "rt_cpowf" : "rt_cpow", g->vd, ps, args, 5, false);
    LLVMValueRef q = LLVMBuildInBoundsGEP2(g->B, t, out, (LLVMValueRef[]){LLVMConstInt(g->i64, 1, 0)}, 1, "");
    return loops_complex(g, dt, LLVMBuildLoad2(g->B, t, out, "pow.re"), LLVMBuildLoad2(g->B, t, q, "pow.im"));
}

LLVMValueRef loops_complex_binop(loops_gen *g, int op, LLVMValueRef a, LLVMValueRef b, ug_dtype dt)
{
    LLVMBuilderRef B = g->B;
    switch (op) {
    case TK_PLUS:
        return loops_complex(g, dt, FADD(loops_re(g, a), loops_re(g, b)), FADD(loops_im(g, a), loops_im(g, b)));
    case TK_MINUS:
        return loops_complex(g, dt, FSUB(loops_re(g, a), loops_re(g, b)), FSUB(loops_im(g, a), loops_im(g, b)));
    case TK_STAR: return cmul(g, dt, a, b);
    case TK_SLASH: return cdiv(g, dt, a, b);
    case TK_DSTAR: return cpow_call(g, dt, a, b);
    default: return NULL; /* inference rejects the rest */
    }
}

LLVMValueRef loops_complex_unop(loops_gen *g, int op, LLVMValueRef v, ug_dtype dt)
{
    if (op == TK_PLUS)
        return v;
    if (op != TK_MINUS)
        return NULL;
    LLVMValueRef re = loops_fm(g, LLVMBuildFNeg(g->B, loops_re(g, v), "")), im = loops_fm(g, LLVMBuildFNeg(g->B, loops_im(g, v), ""));
    return loops_complex(g, dt, re, im);
}

LLVMValueRef loops_complex_compare(loops_gen *g, int op, LLVMValueRef a, LLVMValueRef b, ug_dtype dt)
{
    ug_dtype pt = base_dtype_part(dt);
    if (op != TK_EQ && op != TK_NE)
        return NULL;
    LLVMValueRef r = loops_emit_compare(g, op, loops_re(g, a), loops_re(g, b), pt);
    LLVMValueRef i = loops_emit_compare(g, op, loops_im(g, a), loops_im(g, b), pt);
    return op == TK_EQ ? LLVMBuildAnd(g->B, r, i, "ceq") : LLVMBuildOr(g->B, r, i, "cne");
}

/* glibc's complex function `name` (cexp ...; the f variant for complex64),
 * declared as the C ABI passes complex values on x86-64: double _Complex
 * as two doubles in and a {double, double} out, float _Complex as one
 * <2 x float> both ways. */
static LLVMValueRef glibc_call(loops_gen *g, const char *name, ug_dtype dt, LLVMValueRef z)
{
    bool f = dt == UG_COMPLEX64;
    char fname[16];
    snprintf(fname, sizeof fname, "%s%s", name, f ? "f" : "");
    LLVMTypeRef v2 = LLVMVectorType(g->f32, 2);
    LLVMTypeRef fty = f ? LLVMFunctionType(v2, &v2, 1, 0) : LLVMFunctionType(g->c128, (LLVMTypeRef[]){g->f64, g->f64}, 2, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(g->M, fname);
    if (!fn) {
        fn = LLVMAddFunction(g->M, fname, fty);
        loops_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
        loops_attr(g, fn, LLVMAttributeFunctionIndex, "willreturn");
    }
    LLVMBuilderRef B = g->B;
    if (!f)
        return LLVMBuildCall2(B, fty, fn, (LLVMValueRef[]){loops_re(g, z), loops_im(g, z)}, 2, fname);
    LLVMValueRef v = LLVMBuildInsertElement(B, LLVMGetPoison(v2), loops_re(g, z), LLVMConstInt(g->i32, 0, 0), "");
    v = LLVMBuildInsertElement(B, v, loops_im(g, z), LLVMConstInt(g->i32, 1, 0), "");
    LLVMValueRef r = LLVMBuildCall2(B, fty, fn, &v, 1, fname);
    return loops_complex(g, dt, LLVMBuildExtractElement(B, r, LLVMConstInt(g->i32, 0, 0), ""),
                         LLVMBuildExtractElement(B, r, LLVMConstInt(g->i32, 1, 0), ""));
}

static LLVMValueRef real_fn(loops_gen *g, int b, ug_dtype pt, LLVMValueRef x, LLVMValueRef y)
{
    LLVMValueRef args[2] = {x, y};
    return loops_emit_builtin(g, b, args, y ? 2 : 1, pt, pt);
}

/* glibc's scalar real function `name` (the f variant for float32): the
 * formulas below cancel, so libmvec's few ulps would grow; these calls give
 * NumPy's bits (it calls the same functions). */
static LLVMValueRef libm(loops_gen *g, const char *name, ug_dtype pt, LLVMValueRef x, LLVMValueRef y)
{
    char fname[16];
    snprintf(fname, sizeof fname, "%s%s", name, pt == UG_FLOAT32 ? "f" : "");
    LLVMTypeRef t = loops_vty(g, pt), ps[2] = {t, t}, fty = LLVMFunctionType(t, ps, y ? 2 : 1, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(g->M, fname), args[2] = {x, y};
    if (!fn) {
        fn = LLVMAddFunction(g->M, fname, fty);
        loops_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
        loops_attr(g, fn, LLVMAttributeFunctionIndex, "willreturn");
    }
    return LLVMBuildCall2(g->B, fty, fn, args, y ? 2 : 1, fname);
}

/* NumPy's absolute in its scalar loop (npy_hypot: libm's hypot), which
 * NumPy's complex absolute takes for a negative stride. */
LLVMValueRef loops_complex_hypot(loops_gen *g, ug_dtype dt, LLVMValueRef z)
{
    return libm(g, "hypot", base_dtype_part(dt), loops_re(g, z), loops_im(g, z));
}

/* NumPy's formulas for the functions glibc lacks: log2/log10 scale clog,
 * expm1 = (expm1(x)cos(y) - 2 sin(y/2)^2, exp(x)sin(y)),
 * log1p = (log(hypot(x+1, y)), atan2(y, x+1)). */
static LLVMValueRef numpy_formula(loops_gen *g, int b, ug_dtype dt, LLVMValueRef z)
{
    LLVMBuilderRef B = g->B;
    ug_dtype pt = base_dtype_part(dt);
    LLVMValueRef x = loops_re(g, z), y = loops_im(g, z);
    if (b == B_LOG2 || b == B_LOG10) {
        LLVMValueRef l = glibc_call(g, "clog", dt, z);
        LLVMValueRef k = fconst(g, pt, b == B_LOG2 ? 1.442695040888963407359924681001892137
                                                   : 0.434294481903251827651128918916605082);
        if (pt == UG_FLOAT32) /* NumPy's NPY_LOG2Ef / NPY_LOG10Ef: the float constant */
            k = fconst(g, pt, (double)(float)(b == B_LOG2 ? 1.442695040888963407359924681001892137
                                                          : 0.434294481903251827651128918916605082));
        return loops_complex(g, dt, FMUL(loops_re(g, l), k), FMUL(loops_im(g, l), k));
    }
    if (b == B_EXPM1) {
        LLVMValueRef s = libm(g, "sin", pt, FDIV(y, fconst(g, pt, 2.0)), NULL);
        LLVMValueRef re = FSUB(FMUL(libm(g, "expm1", pt, x, NULL), libm(g, "cos", pt, y, NULL)),
                               FMUL(FMUL(fconst(g, pt, 2.0), s), s));
        return loops_complex(g, dt, re, FMUL(libm(g, "exp", pt, x, NULL), libm(g, "sin", pt, y, NULL)));
    }
    LLVMValueRef x1 = FADD(x, fconst(g, pt, 1.0)); /* B_LOG1P */
    LLVMValueRef im = libm(g, "atan2", pt, y, x1);
    return loops_complex(g, dt, libm(g, "log", pt, libm(g, "hypot", pt, x1, y), NULL), im);
}

static const char *glibc_name(int b)
{
    switch (b) {
    case B_EXP: return "cexp";    case B_LOG: return "clog";     case B_SQRT: return "csqrt";
    case B_SIN: return "csin";    case B_COS: return "ccos";     case B_TAN: return "ctan";
    case B_SINH: return "csinh";  case B_COSH: return "ccosh";   case B_TANH: return "ctanh";
    case B_ASIN: return "casin";  case B_ACOS: return "cacos";   case B_ATAN: return "catan";
    case B_ASINH: return "casinh"; case B_ACOSH: return "cacosh"; case B_ATANH: return "catanh";
    default: return NULL;
    }
}

/* Predicates: isnan/isinf of either part, isfinite of both. */
static LLVMValueRef predicate(loops_gen *g, int b, ug_dtype dt, LLVMValueRef z)
{
    ug_dtype pt = base_dtype_part(dt);
    LLVMValueRef x = loops_re(g, z), y = loops_im(g, z);
    LLVMValueRef px = loops_emit_builtin(g, b, &x, 1, pt, UG_BOOL), py = loops_emit_builtin(g, b, &y, 1, pt, UG_BOOL);
    return b == B_ISFINITE ? LLVMBuildAnd(g->B, px, py, "") : LLVMBuildOr(g->B, px, py, "");
}

/* The complex builtins on a real opty dt (np.real(x) is x, np.imag(x)
 * zero, np.conj(x) x, np.angle(x) atan2(0, x)); NULL for the rest. */
static LLVMValueRef on_real(loops_gen *g, int b, LLVMValueRef *args, int n, ug_dtype dt)
{
    switch (b) {
    case B_REAL: case B_CONJ: return args[0];
    case B_IMAG: return LLVMConstNull(loops_vty(g, dt));
    case B_ANGLE: return real_fn(g, B_ATAN2, dt, LLVMConstNull(loops_vty(g, dt)), args[0]);
    case B_COMPLEX: return loops_complex(g, UG_COMPLEX128, args[0], n == 2 ? args[1] : fconst(g, UG_FLOAT64, 0.0));
    default: return NULL;
    }
}

LLVMValueRef loops_complex_builtin(loops_gen *g, int b, LLVMValueRef *args, int n, ug_dtype dt)
{
    if (base_dtype_kind(dt) != BASE_KIND_COMPLEX)
        return on_real(g, b, args, n, dt);
    LLVMValueRef z = args[0];
    switch (b) {
    case B_ABS: return cabs_np(g, dt, z);
    case B_REAL: return loops_re(g, z);
    case B_IMAG: return loops_im(g, z);
    case B_CONJ: return loops_complex(g, dt, loops_re(g, z), loops_fm(g, LLVMBuildFNeg(g->B, loops_im(g, z), "")));
    case B_ANGLE: return real_fn(g, B_ATAN2, base_dtype_part(dt), loops_im(g, z), loops_re(g, z));
    case B_POW: return cpow_call(g, dt, z, args[1]);
    case B_ISNAN: case B_ISINF: case B_ISFINITE: return predicate(g, b, dt, z);
    case B_LOG2: case B_LOG10: case B_EXPM1: case B_LOG1P: return numpy_formula(g, b, dt, z);
    default: return glibc_name(b) ? glibc_call(g, glibc_name(b), dt, z) : NULL;
    }
}
