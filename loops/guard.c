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
 * So this pass runs after optimisation and asks, for each instruction of a
 * block, in which lanes its value is needed: a set of conditions that all
 * hold wherever some use needs it. An arm of a select is needed where the
 * select is and its condition holds (or fails, for the other arm); a
 * masked store's value where its mask holds; an element-wise operand where
 * its user is; anything else (stores, other blocks, phis, shuffles, calls
 * with side effects) everywhere. Walking the block backwards gives every
 * instruction the conditions common to all its uses; a condition that is a
 * logical and (select c, a, false) also implies its parts, so `if y != 0:
 * q = x / y` followed by `if q > 1.0:` leaves x / y needed where y != 0
 * only. A condition computed from the instruction itself is dropped.
 *
 * A floating-point operation needed only under conditions then gets safe
 * operands where they fail — select(cond, x, 1.0) — so it raises nothing
 * there: partial-domain ones (division, remainder, math calls,
 * float-to-int) all their operands; x + y, x - y, x * y one operand (1.0
 * or -1.0 where they fail: not an identity, which instruction selection
 * would fold away), preferably the one not carried around a loop, and
 * x / y the divisor (-1.0); fma and narrowing those not computed under the same conditions
 * (those are results of guarded operations already). Values in the lanes that use them are
 * unchanged, so results are bit-identical; the cost is a blend per guarded
 * operand, only in if-converted code. Not guarded: + - * needed exactly
 * where an operand of theirs is not NaN (they raise nothing on a NaN), and
 * x + c with a small finite constant c (it raises nothing).
 *
 * A narrowing chosen against a constant, select(c, fptrunc(x), K) (a
 * float32 output written `s if ok else np.nan`), is first rewritten as
 * fptrunc(select(c, x, K widened)): the same bits, and a narrowing needed
 * everywhere needs no guard.
 *
 * Requires optimised IR (runs once, after the pipeline); breaks nothing.
 * Skipped under fastmath (flags are not kept exact there either).
 */
#include <llvm/Config/llvm-config.h>  /* LLVM_VERSION_MAJOR */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loops/gen.h"

#define MAXLIT 8 /* conditions remembered per instruction; more are dropped (fewer guards, never wrong ones) */

typedef struct lit {
    LLVMValueRef cond;
    bool holds; /* needed where cond is true (else where it is false) */
} lit;

/* Where an instruction's value is needed: everywhere (all) or where every
 * literal holds. */
typedef struct need {
    bool all;
    int n;
    lit l[MAXLIT];
} need;

typedef struct block {
    LLVMValueRef *ins; /* the block's instructions in order */
    need *need;
    int n;
    LLVMValueRef *keys; /* open addressing: instruction -> index + 1 */
    int *vals;
    int cap;
    int *seen; /* per instruction: the stamp of the last depends_on question that visited it */
    int stamp;
    struct made { /* guards made so far, in block order: each is above the later instructions */
        LLVMValueRef o, g;
        double safe;
        need s;
    } *made;
    int nmade, capmade;
} block;

/* ------------------------------------------------------------ helpers */

static unsigned lanes(LLVMTypeRef t)
{
    return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetVectorSize(t) : 0;
}

static bool is_fp(LLVMTypeRef t)
{
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind)
        t = LLVMGetElementType(t);
    LLVMTypeKind k = LLVMGetTypeKind(t);
    return k == LLVMFloatTypeKind || k == LLVMDoubleTypeKind || k == LLVMHalfTypeKind;
}

static const char *callee_name(LLVMValueRef call)
{
    LLVMValueRef f = LLVMGetCalledValue(call);
    size_t len;
    return f && LLVMIsAFunction(f) ? LLVMGetValueName2(f, &len) : "";
}

/* A call that only computes: memory(none) on the callee (math functions,
 * libmvec variants, pure intrinsics). Others run regardless of their uses. */
static bool pure_call(LLVMValueRef call)
{
    LLVMValueRef f = LLVMGetCalledValue(call);
    if (!f || !LLVMIsAFunction(f))
        return false;
    unsigned k = LLVMGetEnumAttributeKindForName("memory", 6);
    LLVMAttributeRef a = LLVMGetEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, k);
    return a && LLVMGetEnumAttributeValue(a) == 0;
}

/* Whether a use by U passes U's own need on: U is element-wise, lane for lane. */
static bool lane_wise(LLVMValueRef U)
{
    switch (LLVMGetInstructionOpcode(U)) {
    case LLVMPHI:
    case LLVMShuffleVector:
    case LLVMExtractElement:
    case LLVMInsertElement:
    case LLVMStore:
    case LLVMLoad:
    case LLVMGetElementPtr:
    case LLVMAlloca:
#if LLVM_VERSION_MAJOR >= 23  /* the branch opcode was split in two */
    case LLVMUncondBr:
    case LLVMCondBr:
#else
    case LLVMBr:
#endif
    case LLVMSwitch:
    case LLVMRet:
        return false;
    case LLVMBitCast: return lanes(LLVMTypeOf(U)) == lanes(LLVMTypeOf(LLVMGetOperand(U, 0)));
    case LLVMCall: return pure_call(U) && strncmp(callee_name(U), "llvm.vector.reduce", 18);
    default: return true;
    }
}

/* A constant of all ones bits: true, or a vector of trues. */
static bool all_ones(LLVMValueRef v)
{
    if (!v || !LLVMIsConstant(v))
        return false;
    if (LLVMIsAConstantInt(v))
        return LLVMConstIntGetZExtValue(v) == (LLVMGetIntTypeWidth(LLVMTypeOf(v)) >= 64 ? ~0ULL
                                               : (1ULL << LLVMGetIntTypeWidth(LLVMTypeOf(v))) - 1);
    unsigned n = lanes(LLVMTypeOf(v));
    for (unsigned k = 0; k < n; k++)
        if (!all_ones(LLVMGetAggregateElement(v, k)))
            return false;
    return n > 0;
}

static bool is_masked_store(LLVMValueRef I)
{
    if (LLVMGetInstructionOpcode(I) != LLVMCall)
        return false;
    const char *name = callee_name(I);
    return !strncmp(name, "llvm.masked.store", 17) || !strncmp(name, "llvm.masked.scatter", 19);
}

/* ------------------------------------------------------------ the block's index */

static size_t slot(const block *b, LLVMValueRef v)
{
    return (size_t)(((uintptr_t)v >> 4) * 0x9E3779B97F4A7C15u) & (size_t)(b->cap - 1);
}

static int index_of(const block *b, LLVMValueRef v)
{
    for (size_t s = slot(b, v);; s = (s + 1) & (size_t)(b->cap - 1)) {
        if (!b->keys[s])
            return -1;
        if (b->keys[s] == v)
            return b->vals[s] - 1;
    }
}

static bool block_load(block *b, LLVMBasicBlockRef bb)
{
    int n = 0;
    for (LLVMValueRef I = LLVMGetFirstInstruction(bb); I; I = LLVMGetNextInstruction(I))
        n++;
    b->n = n;
    for (b->cap = 16; b->cap < 2 * n; b->cap *= 2)
        ;
    b->ins = malloc(sizeof *b->ins * (size_t)(n ? n : 1));
    b->need = calloc((size_t)(n ? n : 1), sizeof *b->need);
    b->keys = calloc((size_t)b->cap, sizeof *b->keys);
    b->vals = calloc((size_t)b->cap, sizeof *b->vals);
    b->seen = calloc((size_t)(n ? n : 1), sizeof *b->seen);
    if (!b->ins || !b->need || !b->keys || !b->vals || !b->seen)
        return false;
    int i = 0;
    for (LLVMValueRef I = LLVMGetFirstInstruction(bb); I; I = LLVMGetNextInstruction(I), i++) {
        b->ins[i] = I;
        size_t s = slot(b, I);
        while (b->keys[s])
            s = (s + 1) & (size_t)(b->cap - 1);
        b->keys[s] = I;
        b->vals[s] = i + 1;
    }
    return true;
}

static void block_free(block *b)
{
    free(b->ins);
    free(b->need);
    free(b->keys);
    free(b->vals);
    free(b->seen);
    free(b->made);
}

/* ------------------------------------------------------------ needed lanes */

static bool has_lit(const need *s, lit l)
{
    for (int k = 0; k < s->n; k++)
        if (s->l[k].cond == l.cond && s->l[k].holds == l.holds)
            return true;
    return false;
}

static void add_lit(need *s, lit l)
{
    if (!has_lit(s, l) && s->n < MAXLIT)
        s->l[s->n++] = l;
}

/* l and what it implies: (a and b) holds -> a, b hold; (a or b) fails -> a,
 * b fail; (not a) holds -> a fails. Select forms too (LLVM's logical and/or). */
static void add_implied(need *s, lit l, int depth)
{
    add_lit(s, l);
    LLVMValueRef c = l.cond;
    if (depth > 4 || !LLVMIsAInstruction(c))
        return;
    LLVMOpcode op = LLVMGetInstructionOpcode(c);
    if (op == LLVMXor && all_ones(LLVMGetOperand(c, 1))) {
        add_implied(s, (lit){LLVMGetOperand(c, 0), !l.holds}, depth + 1);
        return;
    }
    bool and_like = false, or_like = false;
    LLVMValueRef a = NULL, b = NULL;
    if (op == LLVMAnd || op == LLVMOr) {
        a = LLVMGetOperand(c, 0), b = LLVMGetOperand(c, 1);
        and_like = op == LLVMAnd, or_like = op == LLVMOr;
    } else if (op == LLVMSelect) {
        LLVMValueRef t = LLVMGetOperand(c, 1), f = LLVMGetOperand(c, 2);
        a = LLVMGetOperand(c, 0);
        if (LLVMIsConstant(f) && LLVMIsNull(f))
            b = t, and_like = true; /* select a, b, false */
        else if (all_ones(t))
            b = f, or_like = true; /* select a, true, b */
    }
    if ((and_like && l.holds) || (or_like && !l.holds)) {
        add_implied(s, (lit){a, l.holds}, depth + 1);
        add_implied(s, (lit){b, l.holds}, depth + 1);
    }
}

/* Whether value v is computed from instruction i of the block: only
 * instructions after it can be; each is visited once per question. */
static bool depends_on(block *b, LLVMValueRef v, int i)
{
    int j = LLVMIsAInstruction(v) ? index_of(b, v) : -1;
    if (j == i)
        return true;
    if (j < i || LLVMIsAPHINode(v) || b->seen[j] == b->stamp)
        return false;
    b->seen[j] = b->stamp;
    for (int k = 0; k < LLVMGetNumOperands(v); k++)
        if (depends_on(b, LLVMGetOperand(v, (unsigned)k), i))
            return true;
    return false;
}

/* What one use (operand k of user U) needs of the value. */
static need use_need(const block *b, LLVMValueRef U, unsigned k)
{
    need all = {.all = true};
    int u = index_of(b, U);
    if (u < 0)
        return all; /* another block */
    need s = b->need[u];
    if (LLVMGetInstructionOpcode(U) == LLVMSelect && k > 0 && !LLVMIsConstant(LLVMGetOperand(U, 0))) {
        if (s.all)
            s = (need){0};
        add_implied(&s, (lit){LLVMGetOperand(U, 0), k == 1}, 0);
        return s;
    }
    if (is_masked_store(U)) {
        if (k != 0)
            return all;
        s = (need){0};
        /* the mask is the last argument (LLVM 22 dropped the alignment before it) */
        add_implied(&s, (lit){LLVMGetOperand(U, LLVMGetNumArgOperands(U) - 1), true}, 0);
        return s;
    }
    return lane_wise(U) ? s : all;
}

/* Intersection of what the uses of instruction i need. */
static void compute_need(block *b, int i)
{
    LLVMValueRef x = b->ins[i];
    need r = {.all = true};
    bool first = true;
    LLVMOpcode op = LLVMGetInstructionOpcode(x);
    if (op == LLVMStore || op == LLVMPHI || (op == LLVMCall && !pure_call(x) && !is_masked_store(x)) ||
        !LLVMGetFirstUse(x)) {
        b->need[i] = r; /* runs regardless (or nothing reads it) */
        return;
    }
    for (LLVMUseRef use = LLVMGetFirstUse(x); use && !(!first && r.all); use = LLVMGetNextUse(use)) {
        LLVMValueRef U = LLVMGetUser(use);
        unsigned k = 0;
        while ((int)k < LLVMGetNumOperands(U) && LLVMGetOperandUse(U, k) != use)
            k++;
        need s = use_need(b, U, k);
        if (first) {
            r = s;
            first = false;
        } else if (s.all) {
            r = s;
        } else {
            need t = {0};
            for (int m = 0; m < r.n; m++)
                if (has_lit(&s, r.l[m]))
                    t.l[t.n++] = r.l[m];
            r = t;
            r.all = r.n == 0;
        }
    }
    need clean = {0}; /* conditions computed from x itself cannot guard it */
    for (int m = 0; !r.all && m < r.n; m++) {
        b->stamp++;
        if (!depends_on(b, r.l[m].cond, i))
            clean.l[clean.n++] = r.l[m];
    }
    clean.all = clean.n == 0;
    b->need[i] = clean;
}

/* ------------------------------------------------------------ guards */

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
    if (!pure_call(I))
        return NO_FLAGS;
    static const char *const quiet[] = {"llvm.fabs", "llvm.copysign", "llvm.floor", "llvm.ceil", "llvm.trunc",
                                        "llvm.rint", "llvm.nearbyint", "llvm.round", "llvm.minnum", "llvm.maxnum",
                                        "llvm.minimum", "llvm.maximum"};
    const char *name = callee_name(I);
    for (size_t k = 0; k < sizeof quiet / sizeof *quiet; k++)
        if (!strncmp(name, quiet[k], strlen(quiet[k])))
            return NO_FLAGS;
    if (!strncmp(name, "llvm.fma", 8) || !strncmp(name, "llvm.fmuladd", 12))
        return TOTAL;
    if (strstr(name, "atanh") || strstr(name, "fpto"))
        *safe = 0.0;
    if (strstr(name, "acosh")) /* libmvec's acosh(1.0) raises "invalid" (measured: glibc 2.36) */
        *safe = 2.0;
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

static LLVMIntPredicate int_inverse(LLVMIntPredicate p)
{
    static const LLVMIntPredicate inv[] = {
        [LLVMIntEQ] = LLVMIntNE,   [LLVMIntNE] = LLVMIntEQ,   [LLVMIntUGT] = LLVMIntULE, [LLVMIntUGE] = LLVMIntULT,
        [LLVMIntULT] = LLVMIntUGE, [LLVMIntULE] = LLVMIntUGT, [LLVMIntSGT] = LLVMIntSLE, [LLVMIntSGE] = LLVMIntSLT,
        [LLVMIntSLT] = LLVMIntSGE, [LLVMIntSLE] = LLVMIntSGT,
    };
    return inv[p];
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
 * computed after the values it selects between. false if it cannot move. */
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

/* Literal l as an i1 (vector) that is true where it holds. Scalar
 * comparisons (float and integer) get a compare of their own, the inverse
 * one when l fails (an identical compare would be merged back): x86 turns
 * a scalar select into compare and blend only when its compare has one use,
 * else into a branch (the blend's select too: a leaky ReLU on strided data
 * ran 4.5x slower on mispredicted branches); and with one use, a select
 * with an expensive arm (a division) becomes a branch around it, as LLVM
 * and Numba make it unguarded: numbagg's move_mean (`asum / count if count
 * >= min_count else np.nan`, an integer compare) divided and blended on
 * every element, 0.85x Numba on Zen 4 (1e6 float64), 0.87x with the branch. */
static LLVMValueRef lit_value(LLVMBuilderRef B, lit l)
{
    LLVMValueRef c = l.cond;
    if (!lanes(LLVMTypeOf(c)) && LLVMIsAFCmpInst(c)) {
        LLVMRealPredicate p = LLVMGetFCmpPredicate(c);
        return LLVMBuildFCmp(B, l.holds ? p : inverse(p), LLVMGetOperand(c, 0), LLVMGetOperand(c, 1), "ug.guard.c");
    }
    if (!lanes(LLVMTypeOf(c)) && LLVMIsAICmpInst(c)) {
        LLVMIntPredicate p = LLVMGetICmpPredicate(c);
        return LLVMBuildICmp(B, l.holds ? p : int_inverse(p), LLVMGetOperand(c, 0), LLVMGetOperand(c, 1), "ug.guard.c");
    }
    return l.holds ? c : LLVMBuildNot(B, c, "ug.guard.not");
}

/* The literals of s not implied by another of them (fewer ands). */
static need essential(const need *s)
{
    need r = {0};
    for (int k = 0; k < s->n; k++) {
        bool implied = false;
        for (int m = 0; m < s->n && !implied; m++) {
            need e = {0};
            if (m == k)
                continue;
            add_implied(&e, s->l[m], 0);
            implied = has_lit(&e, s->l[k]);
        }
        if (!implied)
            r.l[r.n++] = s->l[k];
    }
    return r;
}

/* select(mask of s, o, safe) placed before I; NULL if a mask cannot be placed there. */
static LLVMValueRef guarded(LLVMBuilderRef B, const need *s, LLVMValueRef I, LLVMValueRef o, double safe)
{
    LLVMTypeRef t = LLVMTypeOf(o);
    unsigned n = lanes(t);
    for (int k = 0; k < s->n; k++)
        if (lanes(LLVMTypeOf(s->l[k].cond)) != n || !hoist_above(B, s->l[k].cond, I, 0))
            return NULL;
    LLVMPositionBuilderBefore(B, I);
    LLVMValueRef m = NULL;
    bool keep_if = true;
    if (s->n == 1 && n) /* one vector condition: select on it, arms swapped where it fails */
        m = s->l[0].cond, keep_if = s->l[0].holds;
    else
        for (int k = 0; k < s->n; k++) {
            LLVMValueRef v = lit_value(B, s->l[k]);
            m = m ? LLVMBuildAnd(B, m, v, "ug.guard.m") : v;
        }
    LLVMValueRef e = LLVMConstReal(n ? LLVMGetElementType(t) : t, safe), c = e;
    if (n) {
        LLVMValueRef es[64];
        if (n > 64)
            return NULL;
        for (unsigned k = 0; k < n; k++)
            es[k] = e;
        c = LLVMConstVector(es, n);
    }
    return keep_if ? LLVMBuildSelect(B, m, o, c, "ug.guard") : LLVMBuildSelect(B, m, c, o, "ug.guard");
}

static bool same_need(const need *a, const need *b)
{
    if (a->n != b->n)
        return false;
    for (int k = 0; k < a->n; k++)
        if (!has_lit(b, a->l[k]))
            return false;
    return true;
}

static bool grow_made(block *b)
{
    int cap = b->capmade ? 2 * b->capmade : 16;
    struct made *m = realloc(b->made, sizeof *m * (size_t)cap);
    if (!m)
        return false;
    b->made = m, b->capmade = cap;
    return true;
}

/* Whether v is NaN wherever x is: x itself, or + - * / of it, its negation
 * or a widening or narrowing of it (each a NaN for a NaN operand, raising
 * nothing: `(ai - mean) * (ai - mean)` under `not np.isnan(ai)`). */
static bool nan_with(LLVMValueRef v, LLVMValueRef x, int depth)
{
    if (v == x)
        return true;
    if (!LLVMIsAInstruction(v) || depth > 6)
        return false;
    switch (LLVMGetInstructionOpcode(v)) {
    case LLVMFAdd:
    case LLVMFSub:
    case LLVMFMul:
    case LLVMFDiv:
    case LLVMFNeg:
    case LLVMFPExt:
    case LLVMFPTrunc: break;
    default: return false;
    }
    for (int k = 0; k < LLVMGetNumOperands(v); k++)
        if (nan_with(LLVMGetOperand(v, (unsigned)k), x, depth + 1))
            return true;
    return false;
}

/* Whether literal l holds exactly where some x is not NaN (fcmp ord x, x,
 * or x and a constant that is not NaN, holding; or fcmp uno failing) and
 * v is NaN wherever x is (nan_with). */
static bool holds_where_not_nan(lit l, LLVMValueRef v)
{
    LLVMValueRef c = l.cond;
    if (!LLVMIsAFCmpInst(c))
        return false;
    LLVMRealPredicate p = LLVMGetFCmpPredicate(c);
    if (!((p == LLVMRealORD && l.holds) || (p == LLVMRealUNO && !l.holds)))
        return false;
    LLVMValueRef a = LLVMGetOperand(c, 0), o = LLVMGetOperand(c, 1);
    if (LLVMIsAConstantFP(a))
        a = o, o = LLVMGetOperand(c, 0);
    if (o != a) {
        LLVMBool lossy;
        if (!LLVMIsAConstantFP(o) || LLVMConstRealGetDouble(o, &lossy) != LLVMConstRealGetDouble(o, &lossy))
            return false; /* x against another value, or against a NaN */
    }
    return nan_with(v, a, 0);
}

/* Whether constant c (a scalar or every lane) is finite and below half an
 * ulp of the largest finite value of its type: x + c and x - c then never
 * overflow (the sum rounds to at most the largest finite value), and are
 * invalid only for a signaling NaN x. */
static bool small_finite(LLVMValueRef c)
{
    if (!c || !LLVMIsConstant(c))
        return false;
    unsigned n = lanes(LLVMTypeOf(c));
    if (n) {
        for (unsigned k = 0; k < n; k++)
            if (!small_finite(LLVMGetAggregateElement(c, k)))
                return false;
        return true;
    }
    if (!LLVMIsAConstantFP(c))
        return false;
    LLVMBool lossy;
    double d = LLVMConstRealGetDouble(c, &lossy);
    LLVMTypeKind k = LLVMGetTypeKind(LLVMTypeOf(c));
    double limit = k == LLVMDoubleTypeKind ? 0x1p970 : k == LLVMFloatTypeKind ? 0x1p103 : 0x1p4; /* half: 2^4 */
    return d == d && d > -limit && d < limit;
}

/* Whether + - * or a narrowing, needed only under s, raises nothing where
 * it is not needed, so needs no guard:
 * - needed exactly where some x is not NaN, with an operand that is NaN
 *   wherever x is (`if not np.isnan(ai): asum += ai`, or += (ai - m) ** 2):
 *   where it is not needed that operand is a NaN, and NaN + y, NaN * y, a
 *   narrowed NaN raise no flag (quiet NaNs, what arithmetic makes);
 * - x + c, x - c with c a small finite constant (`count += 1.0`): never.
 * Not fma: 0 * inf + NaN may raise "invalid". Unguarded, the loop-carried
 * sums of nan-skipping kernels keep their latency (numbagg's nansum ran at
 * 0.77x Numba guarded). */
static bool raises_nothing_unneeded(LLVMValueRef I, const need *s)
{
    LLVMOpcode op = LLVMGetInstructionOpcode(I);
    switch (op) {
    case LLVMFAdd:
    case LLVMFSub:
    case LLVMFMul:
    case LLVMFPTrunc: break;
    default: return false;
    }
    for (int k = 0; op != LLVMFMul && op != LLVMFPTrunc && k < 2; k++)
        if (small_finite(LLVMGetOperand(I, (unsigned)k)))
            return true;
    if (s->n != 1)
        return false;
    for (int k = 0; k < LLVMGetNumOperands(I); k++)
        if (holds_where_not_nan(s->l[0], LLVMGetOperand(I, (unsigned)k)))
            return true;
    return false;
}

/* Whether v is computed in this block from one of its floating-point phis
 * (a value carried around a loop, such as a running sum): a guard on it
 * would lengthen the loop's critical path. A loaded value is not, though
 * its address comes from the induction variable: guarding it costs a blend
 * off the recurrence (numbagg's move_exp_nansum, `weight += alpha[i]`,
 * ran at 0.67x Numba with the guard on the running weight). */
static bool carried(block *b, LLVMValueRef v, int depth)
{
    int j = LLVMIsAInstruction(v) ? index_of(b, v) : -1;
    if (j < 0 || LLVMIsALoadInst(v))
        return false;
    if (LLVMIsAPHINode(v))
        return is_fp(LLVMTypeOf(v));
    if (depth > 8)
        return true; /* deep: as good as carried */
    for (int k = 0; k < LLVMGetNumOperands(v); k++)
        if (carried(b, LLVMGetOperand(v, (unsigned)k), depth + 1))
            return true;
    return false;
}

/* For x + y, x - y, x * y and x / y one guarded operand is enough, with a
 * safe value that raises nothing whatever the other operand is: 1.0 for +
 * and - (x + 1.0 neither overflows nor is invalid), -1.0 for * and for the
 * divisor (x * -1.0 and x / -1.0 are exact). Not the identities 0.0 and
 * 1.0: x86's instruction selection folds select(c, 1.0, y) * x into a
 * blend of x and an unguarded x * y (seen: x * x overflowed in the lanes
 * the guard was for). The operand not carried around a loop gets the
 * guard (a loaded value rather than a running sum), so the sum's chain
 * stays as short as unguarded. -1: not such an operation. */
static int one_operand(block *b, LLVMValueRef I, double *safe)
{
    LLVMOpcode op = LLVMGetInstructionOpcode(I);
    if (op == LLVMFDiv) { /* the divisor (not %: inf % y is invalid) */
        *safe = -1.0;
        return 1;
    }
    if (op != LLVMFAdd && op != LLVMFSub && op != LLVMFMul)
        return -1;
    *safe = op == LLVMFMul ? -1.0 : 1.0;
    for (int k = 0; k < 2; k++)
        if (!carried(b, LLVMGetOperand(I, (unsigned)k), 0))
            return k;
    return 0;
}

/* Guard the operands of instruction i (needed only under b->need[i]). */
static void guard_one(LLVMBuilderRef B, block *b, int i)
{
    double safe;
    LLVMValueRef I = b->ins[i];
    int kind = fp_kind(I, &safe);
    if (kind == NO_FLAGS || b->need[i].all)
        return;
    need s = essential(&b->need[i]);
    if (raises_nothing_unneeded(I, &s))
        return;
    int only = one_operand(b, I, &safe);
    int nops = LLVMGetNumOperands(I) - (LLVMGetInstructionOpcode(I) == LLVMCall);
    for (int k = 0; k < nops; k++) {
        if (only >= 0 && k != only)
            continue;
        LLVMValueRef o = LLVMGetOperand(I, (unsigned)k);
        if (LLVMIsConstant(o) || !is_fp(LLVMTypeOf(o)))
            continue;
        int j = LLVMIsAInstruction(o) ? index_of(b, o) : -1;
        double unused;
        if (only < 0 && kind == TOTAL && j >= 0 && !b->need[j].all && same_need(&b->need[j], &b->need[i]) &&
            fp_kind(o, &unused) != NO_FLAGS)
            continue; /* the result of an operation guarded under the same conditions */
        LLVMValueRef g = NULL;
        for (int m = 0; m < b->nmade && !g; m++)
            if (b->made[m].o == o && b->made[m].safe == safe && same_need(&b->made[m].s, &s))
                g = b->made[m].g;
        if (!g && (g = guarded(B, &s, I, o, safe)) && (b->nmade < b->capmade || grow_made(b)))
            b->made[b->nmade++] = (struct made){o, g, safe, s};
        if (g)
            LLVMSetOperand(I, (unsigned)k, g);
    }
}

/* Whether v is a floating-point constant, or a vector of them. */
static bool fp_constant(LLVMValueRef v)
{
    if (!LLVMIsConstant(v))
        return false;
    unsigned n = lanes(LLVMTypeOf(v));
    for (unsigned k = 0; k < n; k++)
        if (!fp_constant(LLVMGetAggregateElement(v, k)))
            return false;
    return n > 0 || LLVMIsAConstantFP(v);
}

/* select(c, fptrunc(x), K) with K a constant (`out[i] = s if ok else
 * np.nan` into float32) becomes fptrunc(select(c, x, fpext(K))): the same
 * value bit for bit (K widened narrows back exactly, a quiet NaN too), and
 * the narrowing is then needed everywhere, so it needs no guard. Guarded it
 * cost two blends and a mask on the store's path (numbagg's float32
 * move_sum ran at 0.95x Numba). */
static void narrow_after_select(LLVMBuilderRef B, LLVMBasicBlockRef bb)
{
    LLVMValueRef next;
    for (LLVMValueRef U = LLVMGetFirstInstruction(bb); U; U = next) {
        next = LLVMGetNextInstruction(U);
        if (LLVMGetInstructionOpcode(U) != LLVMSelect)
            continue;
        LLVMValueRef t = LLVMGetOperand(U, 1), f = LLVMGetOperand(U, 2);
        bool on_true = LLVMIsAInstruction(t) && LLVMGetInstructionOpcode(t) == LLVMFPTrunc;
        LLVMValueRef I = on_true ? t : f, K = on_true ? f : t;
        if (!LLVMIsAInstruction(I) || LLVMGetInstructionOpcode(I) != LLVMFPTrunc || !fp_constant(K))
            continue;
        LLVMUseRef use = LLVMGetFirstUse(I);
        if (!use || LLVMGetNextUse(use)) /* the select is the narrowing's only user */
            continue;
        LLVMValueRef x = LLVMGetOperand(I, 0);
        LLVMPositionBuilderBefore(B, U);
        LLVMValueRef wide = LLVMBuildFPExt(B, K, LLVMTypeOf(x), "ug.wide"); /* folds to a constant */
        LLVMValueRef c = LLVMGetOperand(U, 0);
        LLVMValueRef s = LLVMBuildSelect(B, c, on_true ? x : wide, on_true ? wide : x, "ug.sel");
        LLVMValueRef n = LLVMBuildFPTrunc(B, s, LLVMTypeOf(U), "ug.narrow");
        LLVMReplaceAllUsesWith(U, n);
        LLVMInstructionEraseFromParent(U);
        LLVMInstructionEraseFromParent(I);
    }
}

void loops_guard_speculated(loops_gen *g)
{
    if (g->fmf)
        return;
    LLVMBuilderRef B = LLVMCreateBuilderInContext(g->C);
    for (LLVMValueRef fn = LLVMGetFirstFunction(g->M); fn; fn = LLVMGetNextFunction(fn))
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
            block b = {0};
            narrow_after_select(B, bb);
            if (block_load(&b, bb)) {
                for (int i = b.n - 1; i >= 0; i--) /* uses before definitions */
                    compute_need(&b, i);
                for (int i = 0; i < b.n; i++) /* the guards are new instructions: not in b */
                    guard_one(B, &b, i);
            }
            block_free(&b);
        }
    LLVMDisposeBuilder(B);
}
