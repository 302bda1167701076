/* host.c — the one provider of host facts: the CPU name and feature string
 * code is generated for (compile.c), the CPU identity cache keys name
 * (cache/key.c: loops_host_id, the inputs of that name and string), the
 * target triple, LLVM's version, and each thread's host TargetMachine;
 * also the CPU levels of ahead-of-time builds (loops_level_target).
 * If compiling and keying looked at the host separately and the answers
 * ever differed, the cache would serve code built for another CPU.
 *
 * LLVM's strings are kept for the process lifetime. A TargetMachine is made
 * once per thread (about a millisecond; one is not safe to use from two
 * threads at once) and disposed when the thread exits.
 */
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

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

/* ---- the host's identity for cache keys ----
 *
 * On x86-64, LLVM's host name and features (sys::getHostCPUName,
 * getHostCPUFeatures, LLVM 19-23) are a function of the CPUID leaves below
 * and of XCR0: the same registers give LLVM the same answers, so keys built
 * from them name the code LLVM generates here. Asking LLVM instead costs a
 * warm start 0.4 ms (target initialisation, some 60 CPUID instructions, each
 * a trap under a hypervisor, and a string map of 200 features) that it
 * otherwise never needs; these 12 leaves cost about 40 us there. Only the
 * registers LLVM reads are kept: not the APIC ID, core counts or address
 * sizes, which differ between cores or machines of one CPU and would only
 * split the cache. Elsewhere the identity is LLVM's name and features. */
static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static unsigned char id_regs[4 * 6 * 16], *host_id = id_regs; /* 6 words per leaf */
static size_t host_id_len;

#if defined(__x86_64__)
static void id_put(uint32_t v)
{
    for (int i = 0; i < 4 && host_id_len < sizeof id_regs; i++)
        id_regs[host_id_len++] = (unsigned char)(v >> (8 * i));
}

/* Leaf `leaf`, subleaf `sub`, when max >= leaf (else zeros, as LLVM then
 * reads nothing): the registers selected by mask (1 eax, 2 ebx, 4 ecx, 8 edx),
 * each preceded by the leaf so absent and zero leaves differ. */
static void id_leaf(uint32_t max, uint32_t leaf, uint32_t sub, unsigned mask, uint32_t r[4])
{
    r[0] = r[1] = r[2] = r[3] = 0;
    if (max >= leaf)
        __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
    id_put(leaf);
    id_put(sub);
    for (int i = 0; i < 4; i++)
        id_put(mask >> i & 1 ? r[i] : 0);
}
#endif

static void id_init(void)
{
#if defined(__x86_64__)
    uint32_t r[4], max, ext, sub7 = 0;
    id_leaf(0, 0, 0, 15, r); /* highest leaf, vendor */
    max = r[0];
    id_leaf(max, 1, 0, 13, r); /* family, model, stepping; features (ebx: APIC ID, counts) */
    uint32_t osxsave = r[2] >> 27 & 1, lo = 0, hi = 0;
    if (osxsave)
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0)); /* XCR0: the OS saves AVX/AVX-512/AMX state */
    id_put(lo);
    id_put(hi);
    id_leaf(max, 7, 0, 15, r);
    sub7 = max >= 7 ? r[0] : 0;
    id_leaf(sub7 >= 1 ? max : 0, 7, 1, 15, r);
    id_leaf(max, 0xd, 1, 1, r);  /* xsaveopt, xsavec, xsaves (ebx: a size) */
    id_leaf(max, 0x14, 0, 2, r); /* ptwrite */
    id_leaf(max, 0x19, 0, 2, r); /* widekl */
    id_leaf(max, 0x1e, 1, 1, r); /* AMX extensions */
    id_leaf(max, 0x24, 0, 2, r); /* AVX10 version and vector lengths */
    id_leaf(0x80000000, 0x80000000, 0, 1, r);
    ext = r[0];
    id_leaf(ext, 0x80000001, 0, 13, r); /* ebx: brand and package */
    id_leaf(ext, 0x80000008, 0, 2, r);  /* clzero, rdpru, wbnoinvd (eax: address sizes, ecx: cores) */
#else
    const char *cpu = loops_host_cpu(), *f = loops_host_features();
    size_t n = strlen(cpu) + 1 + strlen(f);
    char *id = malloc(n + 1); /* kept for the process lifetime, as LLVM's strings */
    if (id) {
        snprintf(id, n + 1, "%s,%s", cpu, f);
        host_id = (unsigned char *)id;
        host_id_len = n;
    }
#endif
}

size_t loops_host_id(const unsigned char **bytes)
{
    pthread_once(&id_once, id_init);
    *bytes = host_id;
    return host_id_len;
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

