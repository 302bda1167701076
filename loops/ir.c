/* ir.c — small IR helpers every lowering file uses (gen.h, "ir.c"):
 * attributes, declarations kept alive, allocas in the entry block. They
 * live apart from compile.c so that the driver of the stages calls into
 * the stages and no stage calls back into the driver.
 */
#include <assert.h>
#include <llvm-c/Core.h>
#include <string.h>

#include "loops/gen.h"

/* An enum attribute by name. LLVM 21 replaced `nocapture` with the integer
 * attribute `captures`, whose value 0 is captures(none). An unknown name
 * (kind 0) would crash the verifier, hence the assert. */
void loops_attr(loops_gen *g, LLVMValueRef fn, int idx, const char *name)
{
    unsigned k = LLVMGetEnumAttributeKindForName(name, strlen(name));
    if (k == 0 && !strcmp(name, "nocapture"))
        k = LLVMGetEnumAttributeKindForName("captures", 8);
    assert(k != 0 && "unknown LLVM attribute");
    LLVMAddAttributeAtIndex(fn, (LLVMAttributeIndex)idx, LLVMCreateEnumAttribute(g->C, k, 0));
}

void loops_sattr(loops_gen *g, LLVMValueRef fn, const char *key, const char *val)
{
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(g->C, key, (unsigned)strlen(key), val, (unsigned)strlen(val)));
}

void loops_keep(loops_gen *g, LLVMValueRef decl)
{
    if (g->nused < LOOPS_MAX_USED)
        g->used[g->nused++] = decl;
}

LLVMValueRef loops_entry_alloca(loops_gen *g, LLVMTypeRef t, const char *name)
{
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(g->B);
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(LLVMGetBasicBlockParent(cur));
    LLVMValueRef first = LLVMGetFirstInstruction(entry);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(g->C);
    if (first)
        LLVMPositionBuilderBefore(b, first);
    else
        LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef a = LLVMBuildAlloca(b, t, name);
    LLVMDisposeBuilder(b);
    return a;
}
