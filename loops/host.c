/* host.c — the one provider of host facts: the CPU name and feature string
 * code is generated for (compile.c) and that cache keys name (cache/key.c),
 * the target triple, LLVM's version, and each thread's host TargetMachine.
 * If compiling and keying asked LLVM separately and the answers ever
 * differed, the cache would serve code built for another CPU.
 *
 * LLVM's strings are kept for the process lifetime. A TargetMachine is made
 * once per thread (about a millisecond; one is not safe to use from two
 * threads at once) and disposed when the thread exits.
 */
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <pthread.h>
#include <stdio.h>

#include "base/base.h"
#include "loops/gen.h"

static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static char *host_cpu, *host_features, *host_triple;
static pthread_key_t tm_key;
static char llvm_version[32];

static void dispose_tm(void *tm) { LLVMDisposeTargetMachine(tm); }

/* Targets and host facts, once per process. */
static void host_init(void)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    host_cpu = LLVMGetHostCPUName();
    host_features = LLVMGetHostCPUFeatures();
    host_triple = LLVMGetDefaultTargetTriple();
    pthread_key_create(&tm_key, dispose_tm);
    unsigned maj, min, pat;
    LLVMGetVersion(&maj, &min, &pat);
    snprintf(llvm_version, sizeof llvm_version, "%u.%u.%u", maj, min, pat);
}

const char *loops_host_cpu(void)
{
    pthread_once(&host_once, host_init);
    return host_cpu;
}

const char *loops_host_features(void)
{
    pthread_once(&host_once, host_init);
    return host_features;
}

const char *loops_host_triple(void)
{
    pthread_once(&host_once, host_init);
    return host_triple;
}

const char *loops_llvm_version(void)
{
    pthread_once(&host_once, host_init);
    return llvm_version;
}

LLVMTargetMachineRef loops_host_tm(ug_error *err)
{
    pthread_once(&host_once, host_init);
    LLVMTargetMachineRef tm = pthread_getspecific(tm_key);
    if (tm)
        return tm;
    LLVMTargetRef t;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(host_triple, &t, &msg)) {
        base_err_set(err, UG_EJIT, "LLVM target for %s: %s", host_triple, msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return NULL;
    }
    tm = LLVMCreateTargetMachine(t, host_triple, host_cpu, host_features, LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                 LLVMCodeModelDefault);
    if (!tm)
        base_err_set(err, UG_EJIT, "cannot create an LLVM target machine for %s", host_cpu);
    else
        pthread_setspecific(tm_key, tm);
    return tm;
}

