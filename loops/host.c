/* host.c — the one provider of host facts: the CPU name and feature string
 * code is generated for (compile.c) and that cache keys name (cache/key.c),
 * the target triple, LLVM's version, and each thread's host TargetMachine;
 * also the CPU levels of ahead-of-time builds (loops_level_target).
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
#include <string.h>

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

/* The x86-64 micro-architecture levels (psABI), as LLVM spells their features. */
#define LEVEL_V2 "+cx16,+sahf,+popcnt,+sse3,+sse4.1,+sse4.2,+ssse3"
#define LEVEL_V3 LEVEL_V2 ",+avx,+avx2,+bmi,+bmi2,+f16c,+fma,+lzcnt,+movbe,+xsave"
#define LEVEL_V4 LEVEL_V3 ",+avx512f,+avx512bw,+avx512cd,+avx512dq,+avx512vl"

bool loops_level_target(const char *level, loops_target *t)
{
    static const struct { const char *name, *features; } levels[] = {
        {"x86-64-v2", LEVEL_V2}, {"x86-64-v3", LEVEL_V3}, {"x86-64-v4", LEVEL_V4}};
    if (!strcmp(level, "host")) {
        t->cpu = loops_host_cpu();
        t->features = loops_host_features();
        return true;
    }
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++)
        if (!strcmp(level, levels[i].name)) {
            t->cpu = levels[i].name;
            t->features = levels[i].features;
            return true;
        }
    return false;
}

/* A TargetMachine for cpu/features (the caller disposes it). */
static LLVMTargetMachineRef make_tm(const char *cpu, const char *features, ug_error *err)
{
    LLVMTargetRef t;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(host_triple, &t, &msg)) {
        base_err_set(err, UG_EJIT, "LLVM target for %s: %s", host_triple, msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return NULL;
    }
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(t, host_triple, cpu, features, LLVMCodeGenLevelAggressive,
                                                      LLVMRelocPIC, LLVMCodeModelDefault);
    if (!tm)
        base_err_set(err, UG_EJIT, "cannot create an LLVM target machine for %s", cpu);
    return tm;
}

LLVMTargetMachineRef loops_target_tm(const loops_target *t, ug_error *err)
{
    pthread_once(&host_once, host_init);
    return make_tm(t->cpu, t->features, err);
}

LLVMTargetMachineRef loops_host_tm(ug_error *err)
{
    pthread_once(&host_once, host_init);
    LLVMTargetMachineRef tm = pthread_getspecific(tm_key);
    if (tm)
        return tm;
    if ((tm = make_tm(host_cpu, host_features, err)))
        pthread_setspecific(tm_key, tm);
    return tm;
}

