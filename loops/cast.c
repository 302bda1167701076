/* cast.c — NumPy astype(..., casting='unsafe') conversions in IR.
 *
 * Requires: values in their value types (bool is i1). Breaks nothing.
 * Every conversion is total: no poison, no undefined behaviour, so the
 * generated code may run on NaN and out-of-range values and still vectorise.
 * Float → integer follows what NumPy gives on x86-64, which is what gcc's
 * scalar code does there: cvttsd2si returns the "integer indefinite" value
 * INT_MIN for NaN and out-of-range inputs; we build it as
 * select(in range, fptosi, INT_MIN). Narrow targets go through int32
 * (int8/int16/uint8/uint16) or int64 (uint32), then truncate; uint64 uses
 * gcc's split at 2**63.
 * float16 values are f32 (gen.h): a cast from float16 is the cast from
 * float32; a cast to float16 rounds once to binary16 (from float64 through
 * a round-to-odd float32, which makes the second rounding exact). Complex
 * to real takes the real part (astype's rule), complex to bool is "either
 * part nonzero", real to complex has imaginary part +0.
 */
#include "base/base.h"
#include "loops/gen.h"

static bool is_signed(ug_dtype dt) { return base_dtype_kind(dt) == BASE_KIND_INT; }
static bool is_float(ug_dtype dt) { return base_dtype_kind(dt) == BASE_KIND_FLOAT; }
static bool is_complex(ug_dtype dt) { return base_dtype_kind(dt) == BASE_KIND_COMPLEX; }
static unsigned bits_of(ug_dtype dt) { return dt == UG_BOOL ? 1 : (unsigned)ug_dtype_size(dt) * 8; }

LLVMTypeRef loops_vty(loops_gen *g, ug_dtype dt)
{
    switch (dt) {
    case UG_BOOL: return g->i1;
    case UG_INT8: case UG_UINT8: return g->i8;
    case UG_INT16: case UG_UINT16: return g->i16;
    case UG_INT32: case UG_UINT32: return g->i32;
    case UG_FLOAT32: case UG_FLOAT16: return g->f32;
    case UG_FLOAT64: return g->f64;
    case UG_COMPLEX64: return g->c64;
    case UG_COMPLEX128: return g->c128;
    default: return g->i64;
    }
}

LLVMTypeRef loops_mty(loops_gen *g, ug_dtype dt)
{
    return dt == UG_BOOL ? g->i8 : dt == UG_FLOAT16 ? g->f16 : loops_vty(g, dt);
}

LLVMValueRef loops_re(loops_gen *g, LLVMValueRef z) { return LLVMBuildExtractValue(g->B, z, 0, "re"); }
LLVMValueRef loops_im(loops_gen *g, LLVMValueRef z) { return LLVMBuildExtractValue(g->B, z, 1, "im"); }

LLVMValueRef loops_complex(loops_gen *g, ug_dtype dt, LLVMValueRef re, LLVMValueRef im)
{
    LLVMValueRef z = LLVMBuildInsertValue(g->B, LLVMGetUndef(loops_vty(g, dt)), re, 0, "");
    return LLVMBuildInsertValue(g->B, z, im, 1, "z");
}

LLVMValueRef loops_round16(loops_gen *g, LLVMValueRef v)
{
    LLVMTypeRef vt = LLVMTypeOf(v), ht = g->f16;
    if (LLVMGetTypeKind(vt) == LLVMVectorTypeKind)
        ht = LLVMVectorType(g->f16, LLVMGetVectorSize(vt));
    return LLVMBuildFPExt(g->B, LLVMBuildFPTrunc(g->B, v, ht, "to.f16"), vt, "f16");
}

/* float64 → float16 with one rounding: round to odd into float32 (truncate
 * toward zero where inexact, then set the last bit), then to nearest even. */
static LLVMValueRef f64_to_f16(loops_gen *g, LLVMValueRef d)
{
    LLVMBuilderRef B = g->B;
    LLVMValueRef f = LLVMBuildFPTrunc(B, d, g->f32, "f"), back = LLVMBuildFPExt(B, f, g->f64, "");
    LLVMValueRef inexact = LLVMBuildFCmp(B, LLVMRealONE, back, d, "inexact");
    LLVMValueRef fabs_fn = LLVMGetNamedFunction(g->M, "llvm.fabs.f64");
    LLVMTypeRef ft = LLVMFunctionType(g->f64, &g->f64, 1, 0);
    if (!fabs_fn)
        fabs_fn = LLVMAddFunction(g->M, "llvm.fabs.f64", ft);
    LLVMValueRef ab = LLVMBuildCall2(B, ft, fabs_fn, &back, 1, ""), ad = LLVMBuildCall2(B, ft, fabs_fn, &d, 1, "");
    LLVMValueRef away = LLVMBuildFCmp(B, LLVMRealOGT, ab, ad, "away");
    LLVMValueRef bits = LLVMBuildBitCast(B, f, g->i32, "");
    bits = LLVMBuildSub(B, bits, LLVMBuildZExt(B, LLVMBuildAnd(B, inexact, away, ""), g->i32, ""), "");
    bits = LLVMBuildOr(B, bits, LLVMBuildZExt(B, inexact, g->i32, ""), "odd");
    return loops_round16(g, LLVMBuildBitCast(B, bits, g->f32, ""));
}

LLVMValueRef loops_load_elem(loops_gen *g, LLVMValueRef p, ug_dtype dt)
{
    if (is_complex(dt)) {
        LLVMTypeRef pt = loops_vty(g, base_dtype_part(dt));
        unsigned al = (unsigned)ug_dtype_size(dt) / 2;
        LLVMValueRef q = LLVMBuildInBoundsGEP2(g->B, pt, p, (LLVMValueRef[]){LLVMConstInt(g->i64, 1, 0)}, 1, "");
        LLVMValueRef re = LLVMBuildLoad2(g->B, pt, p, "ld.re"), im = LLVMBuildLoad2(g->B, pt, q, "ld.im");
        LLVMSetAlignment(re, al);
        LLVMSetAlignment(im, al);
        return loops_complex(g, dt, re, im);
    }
    LLVMValueRef v = LLVMBuildLoad2(g->B, loops_mty(g, dt), p, "ld");
    LLVMSetAlignment(v, (unsigned)ug_dtype_size(dt));
    if (dt == UG_BOOL)
        v = LLVMBuildICmp(g->B, LLVMIntNE, v, LLVMConstInt(g->i8, 0, 0), "ld.b");
    if (dt == UG_FLOAT16)
        v = LLVMBuildFPExt(g->B, v, g->f32, "ld.f16");
    return v;
}

void loops_store_elem(loops_gen *g, LLVMValueRef v, LLVMValueRef p, ug_dtype dt)
{
    if (is_complex(dt)) {
        LLVMTypeRef pt = loops_vty(g, base_dtype_part(dt));
        unsigned al = (unsigned)ug_dtype_size(dt) / 2;
        LLVMValueRef q = LLVMBuildInBoundsGEP2(g->B, pt, p, (LLVMValueRef[]){LLVMConstInt(g->i64, 1, 0)}, 1, "");
        LLVMSetAlignment(LLVMBuildStore(g->B, loops_re(g, v), p), al);
        LLVMSetAlignment(LLVMBuildStore(g->B, loops_im(g, v), q), al);
        return;
    }
    if (dt == UG_BOOL)
        v = LLVMBuildZExt(g->B, v, g->i8, "st.b");
    if (dt == UG_FLOAT16) /* exact: float16 values are binary16 numbers already */
        v = LLVMBuildFPTrunc(g->B, v, g->f16, "st.f16");
    LLVMSetAlignment(LLVMBuildStore(g->B, v, p), (unsigned)ug_dtype_size(dt));
}

LLVMValueRef loops_emit_truth(loops_gen *g, LLVMValueRef v, ug_dtype dt)
{
    if (dt == UG_BOOL)
        return v;
    if (is_complex(dt)) {
        ug_dtype pt = base_dtype_part(dt);
        return LLVMBuildOr(g->B, loops_emit_truth(g, loops_re(g, v), pt), loops_emit_truth(g, loops_im(g, v), pt), "truth");
    }
    if (is_float(dt))
        return LLVMBuildFCmp(g->B, LLVMRealUNE, v, LLVMConstReal(loops_vty(g, dt), 0.0), "truth");
    return LLVMBuildICmp(g->B, LLVMIntNE, v, LLVMConstInt(loops_vty(g, dt), 0, 0), "truth");
}

/* cvtt semantics: truncate toward zero into an int of `bits` (32 or 64);
 * NaN and values outside the range give INT_MIN. */
static LLVMValueRef cvtt(loops_gen *g, LLVMValueRef x, ug_dtype from, unsigned bits)
{
    LLVMTypeRef ft = loops_vty(g, from), it = bits == 32 ? g->i32 : g->i64;
    double hi = bits == 32 ? 2147483648.0 : 9223372036854775808.0;
    LLVMValueRef lo_ok;
    if (bits == 32 && from == UG_FLOAT64) /* -2147483648.9 truncates into range */
        lo_ok = LLVMBuildFCmp(g->B, LLVMRealOGT, x, LLVMConstReal(ft, -2147483649.0), "lo");
    else
        lo_ok = LLVMBuildFCmp(g->B, LLVMRealOGE, x, LLVMConstReal(ft, -hi), "lo");
    LLVMValueRef hi_ok = LLVMBuildFCmp(g->B, LLVMRealOLT, x, LLVMConstReal(ft, hi), "hi");
    LLVMValueRef ok = LLVMBuildAnd(g->B, lo_ok, hi_ok, "inrange");
    /* fptosi is poison out of range; select does not propagate the unchosen arm */
    LLVMValueRef conv = LLVMBuildFPToSI(g->B, x, it, "cvt");
    LLVMValueRef indef = LLVMConstInt(it, bits == 32 ? 0x80000000ull : 0x8000000000000000ull, 0);
    return LLVMBuildSelect(g->B, ok, conv, indef, "cvtt");
}

/* gcc's float → uint64: below 2**63 (or NaN) convert signed, else subtract
 * 2**63, convert and flip the top bit. */
static LLVMValueRef float_to_u64(loops_gen *g, LLVMValueRef x, ug_dtype from)
{
    LLVMTypeRef ft = loops_vty(g, from);
    LLVMValueRef two63 = LLVMConstReal(ft, 9223372036854775808.0);
    LLVMValueRef big = LLVMBuildFCmp(g->B, LLVMRealOGE, x, two63, "big");
    LLVMValueRef lo = cvtt(g, x, from, 64);
    LLVMValueRef hi = cvtt(g, LLVMBuildFSub(g->B, x, two63, "xs"), from, 64);
    hi = LLVMBuildXor(g->B, hi, LLVMConstInt(g->i64, 0x8000000000000000ull, 0), "hi");
    return LLVMBuildSelect(g->B, big, hi, lo, "u64");
}

static LLVMValueRef float_to_int(loops_gen *g, LLVMValueRef v, ug_dtype from, ug_dtype to)
{
    LLVMTypeRef tt = loops_vty(g, to);
    switch (to) {
    case UG_INT64: return cvtt(g, v, from, 64);
    case UG_INT32: return cvtt(g, v, from, 32);
    case UG_UINT64: return float_to_u64(g, v, from);
    case UG_UINT32: return LLVMBuildTrunc(g->B, cvtt(g, v, from, 64), tt, "cvt.u32");
    default: return LLVMBuildTrunc(g->B, cvtt(g, v, from, 32), tt, "cvt.narrow");
    }
}

static LLVMValueRef int_to_int(loops_gen *g, LLVMValueRef v, ug_dtype from, ug_dtype to)
{
    unsigned fb = bits_of(from), tb = bits_of(to);
    LLVMTypeRef tt = loops_vty(g, to);
    if (fb == tb)
        return v;
    if (fb > tb)
        return LLVMBuildTrunc(g->B, v, tt, "trunc");
    return is_signed(from) ? LLVMBuildSExt(g->B, v, tt, "sext") : LLVMBuildZExt(g->B, v, tt, "zext");
}

/* Casts that involve complex types (from != to, to is not bool). */
static LLVMValueRef complex_cast(loops_gen *g, LLVMValueRef v, ug_dtype from, ug_dtype to)
{
    if (!is_complex(to)) /* astype drops the imaginary part */
        return loops_emit_cast(g, loops_re(g, v), base_dtype_part(from), to);
    ug_dtype pt = base_dtype_part(to);
    if (!is_complex(from))
        return loops_complex(g, to, loops_emit_cast(g, v, from, pt), LLVMConstReal(loops_vty(g, pt), 0.0));
    ug_dtype pf = base_dtype_part(from);
    return loops_complex(g, to, loops_emit_cast(g, loops_re(g, v), pf, pt), loops_emit_cast(g, loops_im(g, v), pf, pt));
}

LLVMValueRef loops_emit_cast(loops_gen *g, LLVMValueRef v, ug_dtype from, ug_dtype to)
{
    if (from == to)
        return v;
    if (to == UG_BOOL)
        return loops_emit_truth(g, v, from);
    if (is_complex(from) || is_complex(to))
        return complex_cast(g, v, from, to);
    if (from == UG_FLOAT16)
        from = UG_FLOAT32; /* the same value */
    if (to == UG_FLOAT16)
        return from == UG_FLOAT64 ? f64_to_f16(g, v) : loops_round16(g, loops_emit_cast(g, v, from, UG_FLOAT32));
    if (from == to)
        return v;
    LLVMTypeRef tt = loops_vty(g, to);
    if (is_float(from) && is_float(to))
        return to == UG_FLOAT64 ? LLVMBuildFPExt(g->B, v, tt, "fpext") : LLVMBuildFPTrunc(g->B, v, tt, "fptrunc");
    if (is_float(from))
        return float_to_int(g, v, from, to);
    if (is_float(to))
        return is_signed(from) ? LLVMBuildSIToFP(g->B, v, tt, "sitofp") : LLVMBuildUIToFP(g->B, v, tt, "uitofp");
    return int_to_int(g, v, from, to);
}
