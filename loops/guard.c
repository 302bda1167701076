/* guard.c — no floating-point flags from operations the source does not run.
 *
 * LLVM assumes the default FP environment: an fdiv or a math call has no
 * side effect, so SimplifyCFG and the loop vectoriser's if-conversion run
 * both arms of an `if` on every element and blend the results with a
 * select (or store under a mask). Values stay right, but the arm not taken
 * still raises flags: `if x == 0.0: return 1.0` / `sin(pi*x) / (pi*x)` did
 * 0/0 in the lanes where x == 0 and NumPy reported "invalid value". Guards
 * written at lowering do not survive: inside the branch the condition is
 * known true and the guard folds away before vectorisation.
 *
 * So this pass runs after optimisation, on the blends themselves. For each
 * select (and masked store/scatter) with a variable condition, the cone of
 * an arm is the instructions of its block whose every use is in the cone or
 * that arm: they are computed only for it. In lanes where the arm is not
 * taken, their floating-point operations get safe operands instead —
 * select(cond, x, 1.0) — so they raise nothing there. Operations with a
 * partial domain (division, remainder, math calls, float-to-int) get all
 * their operands guarded; total ones (+, -, *, fma, narrowing) those from
 * outside the cone (inside it, operands are already results of guarded
 * operations). A cone stops at lane-crossing instructions (shuffles,
 * element insert/extract, reductions, bitcasts that change the lane count):
 * there the condition's lanes are no longer the value's. Values in taken
 * lanes are unchanged, so results are bit-identical; the cost is one blend
 * per guarded operand, only in if-converted code.
 *
 * Requires optimised IR (runs once, after the pipeline); breaks nothing.
 * Skipped under fastmath (flags are not kept exact there either).
 */
#include <stdlib.h>
#include <string.h>

#include "loops/gen.h"

#define CONE_MAX 256

typedef struct cone {
    LLVMValueRef v[CONE_MAX];
    int n;
} cone;

static bool in_cone(const cone *c, LLVMValueRef v)
{
    for (int i = 0; i < c->n; i++)
        if (c->v[i] == v)
            return true;
    return false;
}

static bool is_fp(LLVMTypeRef t)
{
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind)
        t = LLVMGetElementType(t);
    LLVMTypeKind k = LLVMGetTypeKind(t);
    return k == LLVMFloatTypeKind || k == LLVMDoubleTypeKind || k == LLVMHalfTypeKind;
}

static unsigned lanes(LLVMTypeRef t)
{
    return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetVectorSize(t) : 0;
}

static const char *callee_name(LLVMValueRef call)
{
    LLVMValueRef f = LLVMGetCalledValue(call);
    size_t len;
    return f && LLVMIsAFunction(f) ? LLVMGetValueName2(f, &len) : "";
}

/* Whether an instruction may sit inside a cone: element-wise, same lanes. */
static bool lane_wise(LLVMValueRef I)
{
    switch (LLVMGetInstructionOpcode(I)) {
    case LLVMPHI:
    case LLVMShuffleVector:
    case LLVMExtractElement:
    case LLVMInsertElement:
    case LLVMStore:
    case LLVMLoad: /* its address is not a lane value; loads raise no FP flags anyway */
        return false;
    case LLVMBitCast: return lanes(LLVMTypeOf(I)) == lanes(LLVMTypeOf(LLVMGetOperand(I, 0)));
    case LLVMCall: {
        const char *name = callee_name(I);
        return strncmp(name, "llvm.vector.reduce", 18) && strncmp(name, "llvm.masked", 11) &&
               strncmp(name, "llvm.experimental", 17);
    }
    default: return true;
    }
}

/* Every use of v is an instruction of the cone, or operand `arm` of S. */
static bool used_only_by(LLVMValueRef v, const cone *c, LLVMValueRef S, unsigned arm)
{
    for (LLVMUseRef u = LLVMGetFirstUse(v); u; u = LLVMGetNextUse(u)) {
        LLVMValueRef user = LLVMGetUser(u);
        if (user == S ? u != LLVMGetOperandUse(S, arm) : !in_cone(c, user))
            return false;
    }
    return true;
}

static bool candidate(LLVMValueRef v, LLVMBasicBlockRef bb)
{
    return v && LLVMIsAInstruction(v) && LLVMGetInstructionParent(v) == bb && lane_wise(v);
}

/* The instructions computed only for operand `arm` of S (its block's). */
static void grow_cone(cone *c, LLVMValueRef S, unsigned arm)
{
    LLVMBasicBlockRef bb = LLVMGetInstructionParent(S);
    LLVMValueRef v = LLVMGetOperand(S, arm);
    c->n = 0;
    if (!candidate(v, bb) || !used_only_by(v, c, S, arm))
        return;
    c->v[c->n++] = v;
    for (bool grew = true; grew;) {
        grew = false;
        for (int i = 0; i < c->n && c->n < CONE_MAX; i++) {
            int nops = LLVMGetNumOperands(c->v[i]);
            for (int k = 0; k < nops && c->n < CONE_MAX; k++) {
                LLVMValueRef o = LLVMGetOperand(c->v[i], (unsigned)k);
                if (candidate(o, bb) && !in_cone(c, o) && used_only_by(o, c, S, arm)) {
                    c->v[c->n++] = o;
                    grew = true;
                }
            }
        }
    }
}

enum { NO_FLAGS, TOTAL, PARTIAL };

/* What an operation's flags depend on; *safe: an operand value that raises none. */
static int fp_kind(LLVMValueRef I, double *safe)
{
    *safe = 1.0;
    switch (LLVMGetInstructionOpcode(I)) {
    case LLVMFAdd:
    case LLVMFSub:
    case LLVMFMul:
    case LLVMFPTrunc: return TOTAL;
    case LLVMFDiv:
    case LLVMFRem: return PARTIAL;
    case LLVMFPToSI:
    case LLVMFPToUI: *safe = 0.0; return PARTIAL;
    case LLVMCall: break;
    default: return NO_FLAGS;
    }
    static const char *const quiet[] = {"llvm.fabs", "llvm.copysign", "llvm.floor", "llvm.ceil", "llvm.trunc",
                                        "llvm.rint", "llvm.nearbyint", "llvm.round", "llvm.minnum", "llvm.maxnum",
                                        "llvm.minimum", "llvm.maximum", "llvm.assume"};
    const char *name = callee_name(I);
    for (size_t k = 0; k < sizeof quiet / sizeof *quiet; k++)
        if (!strncmp(name, quiet[k], strlen(quiet[k])))
            return NO_FLAGS;
    if (!strncmp(name, "llvm.fma", 8) || !strncmp(name, "llvm.fmuladd", 12))
        return TOTAL;
    if (strstr(name, "atanh") || strstr(name, "fpto"))
        *safe = 0.0;
    return PARTIAL;
}

/* The predicate true exactly where p is false (NaN operands included). */
static LLVMRealPredicate inverse(LLVMRealPredicate p)
{
    static const LLVMRealPredicate inv[] = {
        [LLVMRealPredicateFalse] = LLVMRealPredicateTrue, [LLVMRealOEQ] = LLVMRealUNE, [LLVMRealOGT] = LLVMRealULE,
        [LLVMRealOGE] = LLVMRealULT, [LLVMRealOLT] = LLVMRealUGE, [LLVMRealOLE] = LLVMRealUGT,
        [LLVMRealONE] = LLVMRealUEQ, [LLVMRealORD] = LLVMRealUNO, [LLVMRealUNO] = LLVMRealORD,
        [LLVMRealUEQ] = LLVMRealONE, [LLVMRealUGT] = LLVMRealOLE, [LLVMRealUGE] = LLVMRealOLT,
        [LLVMRealULT] = LLVMRealOGE, [LLVMRealULE] = LLVMRealOGT, [LLVMRealUNE] = LLVMRealOEQ,
        [LLVMRealPredicateTrue] = LLVMRealPredicateFalse,
    };
    return inv[p];
}

/* select(cond, o, safe) when the arm is the true one, else select(cond, safe, o). */
static LLVMValueRef guarded(LLVMBuilderRef B, LLVMValueRef cond, bool taken_if_true, LLVMValueRef o, double safe)
{
    LLVMTypeRef t = LLVMTypeOf(o);
    LLVMValueRef s;
    unsigned n = lanes(t);
    if (!n) {
        s = LLVMConstReal(t, safe);
        /* A comparison of its own, the inverse one (an identical compare
         * would be merged back): x86 turns a scalar select into compare and
         * blend only when its compare has one use, else into a branch (the
         * blend's select too: a leaky ReLU on strided data ran 4.5x slower
         * on mispredicted branches). */
        if (LLVMIsAFCmpInst(cond)) {
            LLVMRealPredicate inv = inverse(LLVMGetFCmpPredicate(cond));
            cond = LLVMBuildFCmp(B, inv, LLVMGetOperand(cond, 0), LLVMGetOperand(cond, 1), "ug.guard.c");
            taken_if_true = !taken_if_true;
        }
    } else {
        LLVMValueRef e = LLVMConstReal(LLVMGetElementType(t), safe);
        LLVMValueRef *es = malloc(sizeof *es * n);
        if (!es)
            return o;
        for (unsigned k = 0; k < n; k++)
            es[k] = e;
        s = LLVMConstVector(es, n);
        free(es);
    }
    return taken_if_true ? LLVMBuildSelect(B, cond, o, s, "ug.guard") : LLVMBuildSelect(B, cond, s, o, "ug.guard");
}

/* Whether instruction v comes after instruction I in their block. */
static bool after(LLVMValueRef v, LLVMValueRef I)
{
    for (LLVMValueRef x = LLVMGetNextInstruction(I); x; x = LLVMGetNextInstruction(x))
        if (x == v)
            return true;
    return false;
}

/* Move the computation of mask v (pure instructions of I's block) above I,
 * so a guard placed before I may use it: a nested if's mask is often
 * computed after the arms it selects between. false if it cannot move. */
static bool hoist_above(LLVMBuilderRef B, LLVMValueRef v, LLVMValueRef I, int depth)
{
    if (!LLVMIsAInstruction(v) || LLVMGetInstructionParent(v) != LLVMGetInstructionParent(I) || !after(v, I))
        return true;
    switch (LLVMGetInstructionOpcode(v)) {
    case LLVMSelect:
    case LLVMAnd:
    case LLVMOr:
    case LLVMXor:
    case LLVMFCmp:
    case LLVMICmp: break;
    default: return false; /* loads, calls, phis stay where they are */
    }
    if (depth > 16)
        return false;
    for (int k = 0; k < LLVMGetNumOperands(v); k++)
        if (!hoist_above(B, LLVMGetOperand(v, (unsigned)k), I, depth + 1))
            return false;
    LLVMInstructionRemoveFromParent(v);
    LLVMPositionBuilderBefore(B, I);
    LLVMInsertIntoBuilder(B, v);
    return true;
}

static void guard_cone(LLVMBuilderRef B, const cone *c, LLVMValueRef cond, bool taken_if_true)
{
    unsigned cl = lanes(LLVMTypeOf(cond));
    struct {
        LLVMValueRef o, g;
        double safe;
    } made[CONE_MAX]; /* one guard per operand value and safe value: sin(pi*x) / (pi*x) blends pi*x once */
    int nmade = 0;
    if (!c->n)
        return;
    /* In block order: a guard made before its first user is above the later ones. */
    for (LLVMValueRef I = LLVMGetFirstInstruction(LLVMGetInstructionParent(c->v[0])); I; I = LLVMGetNextInstruction(I)) {
        double safe;
        int kind = in_cone(c, I) ? fp_kind(I, &safe) : NO_FLAGS;
        if (kind == NO_FLAGS || !hoist_above(B, cond, I, 0))
            continue;
        int nops = LLVMGetNumOperands(I) - (LLVMGetInstructionOpcode(I) == LLVMCall);
        for (int k = 0; k < nops; k++) {
            LLVMValueRef o = LLVMGetOperand(I, (unsigned)k);
            if (LLVMIsConstant(o) || !is_fp(LLVMTypeOf(o)) || lanes(LLVMTypeOf(o)) != cl ||
                (kind == TOTAL && in_cone(c, o)))
                continue;
            int m = 0;
            while (m < nmade && !(made[m].o == o && made[m].safe == safe))
                m++;
            if (m == nmade) {
                LLVMPositionBuilderBefore(B, I);
                made[m].o = o, made[m].safe = safe, made[m].g = guarded(B, cond, taken_if_true, o, safe);
                nmade += nmade < CONE_MAX - 1;
            }
            LLVMSetOperand(I, (unsigned)k, made[m].g);
        }
    }
}

/* A blend: a select with a variable condition (arms 1 and 2), or a masked
 * store/scatter (value operand 0, mask operand 3). */
static bool is_blend(LLVMValueRef I)
{
    LLVMOpcode op = LLVMGetInstructionOpcode(I);
    if (op == LLVMSelect)
        return !LLVMIsConstant(LLVMGetOperand(I, 0));
    if (op != LLVMCall)
        return false;
    const char *name = callee_name(I);
    return (!strncmp(name, "llvm.masked.store", 17) || !strncmp(name, "llvm.masked.scatter", 19)) &&
           !LLVMIsConstant(LLVMGetOperand(I, 3));
}

static void guard_blend(LLVMBuilderRef B, LLVMValueRef S, cone *c)
{
    if (LLVMGetInstructionOpcode(S) == LLVMSelect) {
        LLVMValueRef cond = LLVMGetOperand(S, 0);
        grow_cone(c, S, 1);
        guard_cone(B, c, cond, true);
        grow_cone(c, S, 2);
        guard_cone(B, c, cond, false);
        return;
    }
    grow_cone(c, S, 0);
    guard_cone(B, c, LLVMGetOperand(S, 3), true);
}

void loops_guard_speculated(loops_gen *g)
{
    if (g->fmf)
        return;
    cone *c = malloc(sizeof *c);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(g->C);
    for (LLVMValueRef fn = LLVMGetFirstFunction(g->M); c && fn; fn = LLVMGetNextFunction(fn))
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
            /* The blends first: the guards this adds are selects too, not to be guarded again. */
            int n = 0, cap = 0;
            LLVMValueRef *blends = NULL;
            for (LLVMValueRef I = LLVMGetFirstInstruction(bb); I; I = LLVMGetNextInstruction(I)) {
                if (!is_blend(I))
                    continue;
                if (n == cap) {
                    LLVMValueRef *b = realloc(blends, sizeof *b * (size_t)(cap = cap ? 2 * cap : 16));
                    if (!b)
                        break;
                    blends = b;
                }
                blends[n++] = I;
            }
            for (int k = 0; k < n; k++)
                guard_blend(B, blends[k], c);
            free(blends);
        }
    LLVMDisposeBuilder(B);
    free(c);
}
