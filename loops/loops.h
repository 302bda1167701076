/* loops.h — internal header of loops/: lowering typed kernels to LLVM IR,
 * inner-loop generation (NumPy loop ABI), optimisation, object emission and
 * JIT loading (ORC LLJIT). LLVM 19 C API only.
 *
 *   lower.c     typed kernel functions → LLVM functions (kernel body)   loops_lower_kernel
 *   arrays.c    array values in kernels: views, slices, local arrays,
 *               slice stores, element-wise expressions (called by lower.c) loops_arr_eval
 *   reduce.c    reductions in kernels: sum/mean/var/min/argmax..., nan*
 *               forms, median, quantile, norm, NumPy's pairwise order     loops_reduce
 *   arrfn.c     array functions giving new arrays: sort, argsort,
 *               partition, unique, lists, copy/astype, cumsum, diff,
 *               dot/outer, a[mask] and a[indices] as values            loops_arrfn_eval
 *   fission.c   whether to split a loop whose recurrence feeds an
 *               expensive store in two (lower.c asks)                   loops_fission_plan
 *   cast.c      NumPy 'unsafe' casts and truthiness in IR                loops_emit_cast
 *   math.c      builtins → IR (intrinsics + libmvec variants)            loops_emit_builtin
 *   complex.c   complex operators and functions → IR, NumPy's formulas
 *               (called by math.c)                                       loops_complex_*
 *   inner.c     the inner loop: a vector loop, a serial loop, and strided
 *               calls handed to runtime/strided.c                       loops_emit_inner
 *   guard.c     after optimisation: no FP flags from operations only one
 *               arm of a blend needs (safe operands in the other lanes)  loops_guard_speculated
 *   compile.c   drives the stages: lower → inner loop → verify →
 *               optimise → guard → object bytes                          loops_compile
 *   jit.c       object bytes → function pointer: link.c, else ORC LLJIT  loops_load
 *   link.c      object bytes → machine code without ORC (x86-64 ELF, the
 *               relocations compile.c emits; declines anything else)    loops_link
 *   ir.c        IR helpers the lowering files share (attributes, allocas)
 *   host.c      host facts: CPU, features, triple, LLVM version, the
 *               per-thread TargetMachine (compiling and cache keys)    loops_host_*
 *   gen.h       private to loops/: the IR generator state and the functions
 *               the files above share (it exposes LLVM types, so it is kept
 *               out of this contract)
 */
#ifndef UG_LOOPS_H
#define UG_LOOPS_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"
#include "layout/layout.h"
#include "runtime/runtime.h"
#include "ufuncgen/ufuncgen.h"

/* A CPU to generate code for instead of the host (ahead-of-time builds). */
typedef struct loops_target {
    const char *cpu;          /* LLVM's CPU name ("x86-64-v3", "skylake-avx512") */
    const char *features;     /* LLVM's feature string ("+avx2,+fma,..."): what the code may use,
                                 and which libmvec variants (AVX-512, AVX2, SSE) it calls */
} loops_target;

/* What to compile: one loop for one dtype signature. */
typedef struct loops_request {
    const kernel_typed *tk;   /* typed kernel for this signature */
    const layout_sig *layout; /* operand core dims (layout_scalar for vectorize) */
    const ug_dtype *dtypes;   /* nin + nout operand dtypes */
    const char *symbol;       /* external name of the loop function (unique per key) */
    const char *kname;        /* kernel name, for boundscheck messages */
    int fastmath;             /* ug_options.fastmath: 0, 1 (all flags) or UG_FASTMATH_* bits */
    int boundscheck;          /* check every array index */
    ug_math math;             /* ug_options.math: libmvec (UG_MATH_FAST) or scalar libm calls */
    int opt_level;            /* 0..3 */
    /* Gufuncs only. Both set: a variant for one shape of the core;
     * core_steps alone: a step variant (any core sizes, these strides).
     * core_sizes[d] is the size of layout dimension d (layout->ndims of
     * them); core_steps lists every core step in the ABI's order
     * (steps[nops..]). The loop then assumes those values instead of reading
     * them from dimensions[] and steps[]: the caller calls it only with
     * exactly these (variant.c checks). Constant trip counts and strides let
     * LLVM unroll and vectorise small cores (4x4 matmul); constant strides
     * alone let it use vector loads where the strides say contiguous (a
     * loop over byte strides known only at run time gets gathers). */
    const int64_t *core_sizes;
    const int64_t *core_steps;
    const loops_target *target; /* NULL: the host (loops_host_*) */
} loops_request;

/* Lower, verify (always in debug builds; in release when UFUNCGEN_VERIFY=1),
 * optimise and emit an object file in memory. On success *obj is malloc'd
 * (free()) and *size its length. Thread-safe (own LLVMContext per call).
 * Honours UFUNCGEN_DUMP=ir,asm,time (IR before and after optimisation,
 * assembly, CPU time per stage; printed to stderr). err may be NULL.
 * Math functions that glibc's libmvec has are computed by its widest variant
 * the host runs, in vector and scalar code alike, so an element's result
 * never depends on how a call's range was split (parallel chunks, buffers);
 * with math == UG_MATH_LIBM, by glibc's scalar libm function instead.
 * Errors: UG_EJIT (LLVM message), UG_EUNSUPPORTED (a construct lowering does
 * not handle; names the source position), UG_ENOMEM. */
ug_status loops_compile(const loops_request *r, void **obj /* OUT */, size_t *size /* OUT */, ug_error *err);

/* Load object code into the process-wide JIT and look up symbol. Loading
 * the same symbol twice shares the code (reference counted). Thread-safe.
 * Errors: UG_EJIT (e.g. a corrupt object), UG_ENOMEM. */
typedef struct loops_code loops_code;
ug_status loops_load(const void *obj, size_t size, const char *symbol, loops_code **code /* OUT */,
                     ug_loop_fn *fn /* OUT */, ug_error *err);
/* Drop one reference; the last one removes the code from the JIT. Accepts NULL. */
void loops_unload(loops_code *code);
/* Where loops_load finds external symbols, in ORC's order too: the runtime
 * functions (rt_*), the process (libm), libmvec.so.1. NULL: not found. */
void *loops_resolve(const char *name);
/* Objects loaded through ORC in this process (those link.c declined). */
long loops_orc_count(void);

/* Link a relocatable object without ORC (link.c), into the shared code
 * arena or pages of its own: true with *fn = symbol's address and *out where it lives,
 * which loops_unlink frees; false (nothing mapped, the reason in why) for an
 * object it does not take, malformed ones included: then ORC decides. */
typedef struct loops_linked {
    struct arena_chunk *chunk; /* packed with other loops (link.c's arena), or */
    void *base;                /* pages of its own */
    size_t len;
} loops_linked;
bool loops_link(const void *obj, size_t size, const char *symbol, void *(*resolve)(const char *name),
                loops_linked *out /* OUT */, void **fn /* OUT */, char *why, size_t nwhy);
void loops_unlink(loops_linked *l); /* accepts NULL and unlinked */

/* Fork safety (jit.c). fork() copies only the calling thread, so a lock
 * another thread holds at that instant (ours, or one of LLVM's) stays held
 * in the child for good. Every use of LLVM, and every section that holds a
 * lock of ufuncgen's around one, runs between loops_enter and loops_leave
 * (a shared lock, re-entrant per thread); a pthread_atfork handler takes it
 * exclusively, so fork() waits for compiles and loads in flight and the
 * child starts with every lock free. loops_compile, loops_load and
 * loops_unload enter by themselves; callers holding their own mutexes
 * around them enter first. */
void loops_enter(void);
void loops_leave(void);

/* Host facts (host.c), the one source of them: the CPU name and feature
 * string code is generated for, which cache keys also name; the target
 * triple; LLVM's version string ("19.1.7"). Static storage, computed once. */
const char *loops_host_cpu(void);
const char *loops_host_features(void);
const char *loops_host_triple(void);
const char *loops_llvm_version(void);
/* The host CPU's identity for cache keys: bytes (static storage, computed
 * once) that are equal exactly when LLVM's CPU name and features above
 * would be, read without asking LLVM (on x86-64 the CPUID registers those
 * derive from; elsewhere the name and features). Returns the length. */
size_t loops_host_id(const unsigned char **bytes /* OUT */);
/* The CPU level names ahead-of-time builds accept ("host", "x86-64-v2",
 * "x86-64-v3", "x86-64-v4") as a target: *t filled (static strings), true;
 * false for an unknown name. */
bool loops_level_target(const char *level, loops_target *t);

/* Counter of loops_compile calls in this process (tests of the cache). */
long loops_compile_count(void);

#endif /* UG_LOOPS_H */
