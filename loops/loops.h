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
 *   inner.c     the inner loop: a vector loop, a serial loop, and strided
 *               calls handed to strided.c                               loops_emit_inner
 *   guard.c     after optimisation: no FP flags from operations only one
 *               arm of a blend needs (safe operands in the other lanes)  loops_guard_speculated
 *   compile.c   module → verify → default<O3> → object bytes            loops_compile
 *   jit.c       object bytes → ORC LLJIT → function pointer             loops_load
 *   runtime.c   functions the JIT code calls (index errors, raise, FP
 *               flags, local-array frames, print, NumPy's warnings)    loops_rt_*
 *   strided.c   the strided path of scalar loops (called by JIT code)    loops_rt_strided
 *   sort.c      sorting and selection for np.sort (an AVX-512 quicksort
 *               where the CPU has it), argsort, partition, unique,
 *               median, quantile (called by JIT code)                   loops_rt_sort
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
#include "ufuncgen/ufuncgen.h"

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
    /* Gufuncs only, both NULL or both set: a variant for one shape of the
     * core. core_sizes[d] is the size of layout dimension d (layout->ndims
     * of them); core_steps lists every core step in the ABI's order
     * (steps[nops..]). The loop then assumes those values instead of reading
     * them from dimensions[] and steps[]: the caller calls it only with
     * exactly these (ufunc.c checks). Constant trip counts and strides let
     * LLVM unroll and vectorise small cores (4x4 matmul). */
    const int64_t *core_sizes;
    const int64_t *core_steps;
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

/* Host facts for cache keys: CPU name and feature string (static storage,
 * computed once), and LLVM's version string ("19.1.7"). */
const char *loops_host_cpu(void);
const char *loops_host_features(void);
const char *loops_llvm_version(void);

/* Counter of loops_compile calls in this process (tests of the cache). */
long loops_compile_count(void);

/* ---- runtime.c: called from JIT code (bound as absolute symbols) ---- */

/* Record an out-of-range index (first one per thread wins). kname and
 * argname are constant strings in the object code. */
void loops_rt_index_error(const char *kname, const char *argname, int32_t axis, int64_t index, int64_t size);
/* Record `raise cls(msg)` at kernel line `line` (UG_ERAISE, "cls: msg
 * (kernel 'k', line n)"); msg may be NULL. */
void loops_rt_raise(const char *cls, const char *msg, const char *kname, int32_t line);
/* A zeroed-header block for a local array of shape dims[0..ndim-1] and
 * element size esize, linked into *frame; NULL after recording a
 * ValueError (negative dimensions) or MemoryError (too large). */
void *loops_rt_alloc(void **frame, const int64_t *dims, int32_t ndim, int64_t esize, const char *kname, int32_t line);
/* print(): parts appended to the calling thread's line (a string; a number
 * as int64/uint64 bits or float64 bits with a code 0 int, 1 uint, 2 bool,
 * 3 float64, 4 float32, formatted as Python prints it), then the line
 * written to stdout whole. */
void loops_rt_print_str(const char *s);
void loops_rt_print_num(int64_t bits, int32_t code);
void loops_rt_print_end(void);
/* get_thread_id(): the thread's number in the parallel call running it, 0 if serial. */
int64_t loops_rt_thread_id(void);
/* Release every block of *frame (a few go to a per-thread cache for reuse). */
void loops_rt_free_frame(void **frame);
/* Record NumPy's broadcast error for a slice copy: shapes[0..sn-1] the
 * source's, shapes[sn..sn+dn-1] the target's. */
void loops_rt_broadcast_error(const int64_t *shapes, int32_t sn, int32_t dn, const char *kname, int32_t line);
/* ---- sort.c: sorting in NumPy's order (NaN last), for array functions ---- */
/* Sort the contiguous array v[0..n-1] of dtype dt in place (float NaNs
 * may come back as the canonical quiet NaN, as NumPy's sort writes them). */
void loops_rt_sort(void *v, int64_t n, int32_t dt);
/* Partition v[0..n-1] so that v[k] for each k of kth[0..nk-1] (each in
 * 0..n-1; the array is reordered as scratch) holds what a sorted v would,
 * smaller elements before it and larger after. */
void loops_rt_partition(void *v, int64_t n, int32_t dt, int64_t *kth, int64_t nk);
/* ix[0..n-1] = the stable sorting permutation of the n elements at p (byte
 * stride `stride`); tmp is n int64 of scratch. */
void loops_rt_argsort(const void *p, int64_t stride, int64_t n, int32_t dt, int64_t *ix, int64_t *tmp);
/* Sort v[0..n-1] and move its distinct values (NaNs count as one) to the
 * front; returns their count. */
int64_t loops_rt_unique(void *v, int64_t n, int32_t dt);
/* Raise FP exception flags (FE_DIVBYZERO, FE_INVALID, FE_OVERFLOW) as NumPy does. */
void loops_rt_fpe(int32_t flags);
/* Take the calling thread's recorded loop error: nonzero if there was one
 * (copied to err if not NULL), and clear it. */
int loops_rt_take_error(ug_error *err);
/* A RuntimeWarning of NumPy's (msg a constant string in the object code):
 * the first one per thread is kept until taken. */
void loops_rt_warn(const char *msg);
int loops_rt_take_warning(const char **msg);
/* Put an error into the calling thread's record (the parallel driver moves
 * a worker thread's error to the caller) unless one is recorded already. */
void loops_rt_put_error(const ug_error *err);

/* ---- strided.c: the strided path of scalar loops (called from JIT code) ---- */

/* What a generated scalar loop tells loops_rt_strided about itself: a
 * constant in its object code (inner.c builds the same layout in IR). */
typedef struct loops_rt_desc {
    ug_loop_fn loop;    /* the loop itself (NumPy's ABI); with unit steps it runs its vector loop */
    int32_t nin, nops;  /* nops = nin + 1 (one output, last) */
    int64_t flags;      /* LOOPS_RT_SERIAL_STRIDED */
    intptr_t esize[];   /* element size of each operand: also the unit steps */
} loops_rt_desc;

/* Strided calls run the serial loop directly, not in gathered blocks:
 *  - the "vector" loop did not vectorise (an int64 division, say): blocks
 *    only add copies (stride-2 (a*31 + b) % 1009 on 10M int64: 21.6 ms
 *    through blocks, 13.2 ms for a plain C loop);
 *  - or its body is so cheap that the copies cost more than vectorising
 *    saves (a*b+c, a + b, x if x > 0 else 0.01*x on stride-2 float64:
 *    serial 0.48-0.62x the blocked time at 1K and 100K, 1.02-1.06x at 10M;
 *    float32 0.28-0.76x; sigmoid and a degree-8 polynomial stay blocked:
 *    serial would be 1.6-4x slower). inner.c counts the work. */
#define LOOPS_RT_SERIAL_STRIDED 1

/* A scalar loop call that is not all unit-stride and disjoint: runs it in
 * gathered blocks, each through desc->loop with unit steps, and returns 1;
 * or returns 0 when the call must run element after element (a zero-stride
 * output, an input partly overlapping the output), which the caller then
 * does. */
int loops_rt_strided(char **args, int64_t n, const intptr_t *steps, const loops_rt_desc *desc);

#endif /* UG_LOOPS_H */
