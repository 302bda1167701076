/* runtime.h — internal header of runtime/: what compiled loops need at run
 * time, in plain C with no LLVM (the runtime library: base/, runtime/,
 * parallel/, layout/; see the README's layout table).
 *
 *   calls.c    functions the JIT code calls: index errors, raise, FP
 *              flags, local-array frames, fills and copies, print, NumPy's warnings,
 *              NumPy's complex power; the per-thread loop-error
 *              record                                              rt_*
 *   strided.c  the strided path of scalar loops (gathered blocks)  rt_strided
 *   sort.c     sorting and selection for np.sort (an AVX-512 quicksort
 *              where the CPU has it), argsort, partition, unique,
 *              median, quantile                                    rt_sort ...
 *   linalg.c   singular values for the matrix norms 2, -2, 'nuc'   rt_svd_norm
 *   cast.c     NumPy's 'unsafe' casts between dtypes in C, binary16
 *              conversions                                         rt_cast_strided, rt_half_*
 *
 * Generated code binds these by name (loops/jit.c lists them), so their
 * signatures here and the declarations loops/ emits in IR must agree.
 */
#ifndef UG_RUNTIME_H
#define UG_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* ======================================================================
 * calls.c — called from JIT code (bound as absolute symbols)
 * ====================================================================== */

/* Record an out-of-range index (first one per thread wins). kname and
 * argname are constant strings in the object code. */
void rt_index_error(const char *kname, const char *argname, int32_t axis, int64_t index, int64_t size);
/* Record `raise cls(msg)` at kernel line `line` (UG_ERAISE, "cls: msg
 * (kernel 'k', line n)"); msg may be NULL. */
void rt_raise(const char *cls, const char *msg, const char *kname, int32_t line);
/* A zeroed-header block for a local array of shape dims[0..ndim-1] and
 * element size esize, linked into *frame; NULL after recording a
 * ValueError (negative dimensions) or MemoryError (too large). */
void *rt_alloc(void **frame, const int64_t *dims, int32_t ndim, int64_t esize, const char *kname, int32_t line);
/* print(): parts appended to the calling thread's line (a string; a number
 * as int64/uint64 bits or float64 bits with a code 0 int, 1 uint, 2 bool,
 * 3 float64, 4 float32, formatted as Python prints it), then the line
 * written to stdout whole. */
void rt_print_str(const char *s);
void rt_print_num(int64_t bits, int32_t code);
void rt_print_end(void);
/* Release every block of *frame (a few go to a per-thread cache for reuse). */
void rt_free_frame(void **frame);
/* Store the element at value (size bytes: 1, 2, 4, 8 or 16) at p, p +
 * stride, ... (n of them): a kernel's `a[...] = scalar` along one line. */
void rt_fill(char *p, int64_t n, int64_t stride, int64_t size, const void *value);
/* dst[...] = src, both of shape[0..nd-1] (src broadcast: stride 0), with
 * elements of size bytes: NumPy's result when they overlap (src read whole
 * into a temporary first unless apart or the very same elements). 0, or 1
 * after recording a MemoryError (no room for that temporary). */
int32_t rt_copy(char *dst, const int64_t *shape, const int64_t *dstride, const char *src, const int64_t *sstride,
                int32_t nd, int64_t size, const char *kname, int32_t line);
/* Record NumPy's broadcast error for a slice copy: shapes[0..sn-1] the
 * source's, shapes[sn..sn+dn-1] the target's. */
void rt_broadcast_error(const int64_t *shapes, int32_t sn, int32_t dn, const char *kname, int32_t line);
/* ======================================================================
 * sort.c — sorting in NumPy's order (NaN last), for array functions
 * ====================================================================== */

/* Sort the contiguous array v[0..n-1] of dtype dt in place. */
void rt_sort(void *v, int64_t n, int32_t dt);
/* dst[0..n-1] = src[0..n-1] (contiguous, dtype dt) sorted; src and dst the
 * same, apart or overlapping (then through a copy). */
void rt_sort_copy(const void *src, void *dst, int64_t n, int32_t dt);
/* Partition v[0..n-1] so that v[k] for each k of kth[0..nk-1] (each in
 * 0..n-1; the array is reordered as scratch) holds what a sorted v would,
 * smaller elements before it and larger after. */
void rt_partition(void *v, int64_t n, int32_t dt, int64_t *kth, int64_t nk);
/* ix[0..n-1] = the stable sorting permutation of the n elements at p (byte
 * stride `stride`); tmp is n int64 of scratch. */
void rt_argsort(const void *p, int64_t stride, int64_t n, int32_t dt, int64_t *ix, int64_t *tmp);
/* Sort v[0..n-1] and move its distinct values (NaNs count as one) to the
 * front; returns their count. Of equal complex values the first in v's
 * order is kept, as NumPy 2.4's np.unique does. */
int64_t rt_unique(void *v, int64_t n, int32_t dt);
/* Raise FP exception flags (FE_DIVBYZERO, FE_INVALID, FE_OVERFLOW) as NumPy does. */
void rt_fpe(int32_t flags);
/* a ** b for complex a = ar + ai j, b = br + bi j as NumPy's npy_cpow
 * (complex128; rt_cpowf for complex64): the result's parts into out[0..1]. */
void rt_cpow(double ar, double ai, double br, double bi, double *out);
void rt_cpowf(float ar, float ai, float br, float bi, float *out);
/* Take the calling thread's recorded loop error: nonzero if there was one
 * (copied to err if not NULL), and clear it. */
int rt_take_error(ug_error *err);
/* A RuntimeWarning of NumPy's (msg a constant string in the object code):
 * the first one per thread is kept until taken. */
void rt_warn(const char *msg);
int rt_take_warning(const char **msg);
/* Put an error into the calling thread's record (the parallel driver moves
 * a worker thread's error to the caller) unless one is recorded already. */
void rt_put_error(const ug_error *err);

/* ======================================================================
 * linalg.c — singular values, for np.linalg.norm's matrix norms
 * ====================================================================== */

enum { RT_SVD_MAX, RT_SVD_MIN, RT_SVD_SUM }; /* ord 2, ord -2, 'nuc' */
/* The largest, smallest or summed singular value of the matrix w holds:
 * cols columns of len values each (cols <= len), float64 or, cplx,
 * complex128 as interleaved pairs; w is overwritten. Returns 1 where w
 * has a NaN (LAPACK's "SVD did not converge"), else 0 with *out set (NaN
 * for an infinity; 0 for an empty matrix). */
int32_t rt_svd_norm(double *w, int64_t len, int64_t cols, int32_t cplx, int32_t which, double *out);

/* ======================================================================
 * strided.c — the strided path of scalar loops (called from JIT code)
 * ====================================================================== */

/* What a generated scalar loop tells rt_strided about itself: a
 * constant in its object code (inner.c builds the same layout in IR). */
typedef struct rt_desc {
    ug_loop_fn loop;    /* the loop itself (NumPy's ABI); with unit steps it runs its vector loop */
    int32_t nin, nops;  /* nops = nin + 1 (one output, last) */
    int64_t flags;      /* RT_SERIAL_STRIDED */
    intptr_t esize[];   /* element size of each operand: also the unit steps */
} rt_desc;

/* Strided calls run the serial loop directly, not in gathered blocks:
 *  - the "vector" loop did not vectorise (an int64 division, say): blocks
 *    only add copies (stride-2 (a*31 + b) % 1009 on 10M int64: 21.6 ms
 *    through blocks, 13.2 ms for a plain C loop);
 *  - or its body is so cheap that the copies cost more than vectorising
 *    saves (a*b+c, a + b, x if x > 0 else 0.01*x on stride-2 float64:
 *    serial 0.48-0.62x the blocked time at 1K and 100K, 1.02-1.06x at 10M;
 *    float32 0.28-0.76x; sigmoid and a degree-8 polynomial stay blocked:
 *    serial would be 1.6-4x slower). inner.c counts the work. */
#define RT_SERIAL_STRIDED 1

/* A scalar loop call that is not all unit-stride and disjoint: runs it in
 * gathered blocks, each through desc->loop with unit steps, and returns 1;
 * or returns 0 when the call must run element after element (a zero-stride
 * output, an input partly overlapping the output), which the caller then
 * does. */
int rt_strided(char **args, int64_t n, const intptr_t *steps, const rt_desc *desc);

/* ======================================================================
 * cast.c
 * ====================================================================== */

/* IEEE binary16 (bits) to double, exactly; double to binary16 rounded to
 * nearest even as NumPy's npy_double_to_half (also right for a float32
 * source, which a double holds exactly). */
double rt_half_to_double(uint16_t h);
uint16_t rt_double_to_half(double x);
/* Cast n elements (strided) between dtypes with NumPy's astype('unsafe')
 * semantics (NaN-safe: same results as loops' generated casts). */
void rt_cast_strided(void *dst, int64_t dstride, ug_dtype dt, const void *src, int64_t sstride, ug_dtype st,
                     int64_t n);

#endif /* UG_RUNTIME_H */
