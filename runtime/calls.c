/* calls.c — the few functions generated code calls back into.
 *
 * They are bound into the JIT as absolute symbols (loops/jit.c), so they need no
 * dynamic export. Errors from a loop are recorded per thread: a loop has no
 * return value in NumPy's ABI, so the executor (or the NumPy bridge) takes
 * the record after the loop returns.
 */
#include <assert.h>
#include <complex.h>
#include <fenv.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/runtime.h"

static _Thread_local ug_error rt_err;
static _Thread_local int rt_has_err;
/* Threads holding a recorded error: taking one is checked after every loop
 * call (NumPy bridge, executor, driver), and in a shared library each
 * _Thread_local access is a call into the dynamic linker; this lets the
 * common case (no error anywhere) skip it. A thread's own increment is
 * visible to its own later load. */
static atomic_int rt_pending;

static void record(void)
{
    rt_has_err = 1;
    atomic_fetch_add_explicit(&rt_pending, 1, memory_order_relaxed);
}

void rt_index_error(const char *kname, const char *argname, int32_t axis, int64_t index, int64_t size)
{
    if (rt_has_err)
        return;
    record();
    base_err_set(&rt_err, UG_EINDEX, "kernel '%s': index %lld is out of bounds for axis %d with size %lld of argument '%s'",
               kname ? kname : "?", (long long)index, (int)axis, (long long)size, argname ? argname : "?");
}

void rt_raise(const char *cls, const char *msg, const char *kname, int32_t line)
{
    if (rt_has_err)
        return;
    record();
    base_err_set(&rt_err, UG_ERAISE, "%s: %s%s(kernel '%s', line %d)", cls, msg ? msg : "", msg && *msg ? " " : "",
               kname ? kname : "?", (int)line);
}

/* ---- local arrays: blocks with a header linking them into a frame ----
 * A frame is a singly linked list; at the function's return every block
 * goes back to a small per-thread cache (so a kernel that allocates the
 * same sizes for every item of a call reuses them), or to free(). */
typedef struct rt_block {
    struct rt_block *next;
    size_t cap; /* bytes after the header */
    char pad[48]; /* the data starts 64-byte aligned */
} rt_block;

#define RT_CACHE 4
#define RT_CACHE_MAX ((size_t)4 << 20) /* larger blocks go back to the system (their fill costs more than malloc) */
static _Thread_local rt_block *rt_cache[RT_CACHE];

void *rt_alloc(void **frame, const int64_t *dims, int32_t ndim, int64_t esize, const char *kname, int32_t line)
{
    uint64_t n = 1;
    bool big = false;
    assert(frame && ndim >= 0 && esize > 0);
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 0) {
            rt_raise("ValueError", "negative dimensions are not allowed", kname, line);
            return NULL;
        }
        big |= __builtin_mul_overflow(n, (uint64_t)dims[d], &n);
    }
    big |= __builtin_mul_overflow(n, (uint64_t)esize, &n) || n > ((uint64_t)1 << 62);
    if (big) {
        rt_raise("MemoryError", "array is too big for a local array", kname, line);
        return NULL;
    }
    size_t bytes = n ? (size_t)n : 1;
    rt_block *b = NULL;
    for (int k = 0; k < RT_CACHE; k++)
        if (rt_cache[k] && rt_cache[k]->cap >= bytes && (!b || rt_cache[k]->cap < b->cap))
            b = rt_cache[k];
    for (int k = 0; b && k < RT_CACHE; k++)
        if (rt_cache[k] == b)
            rt_cache[k] = NULL;
    if (!b) {
        b = aligned_alloc(64, (sizeof *b + bytes + 63) & ~(size_t)63);
        if (!b) {
            char m[96];
            snprintf(m, sizeof m, "cannot allocate %llu bytes for a local array", (unsigned long long)bytes);
            rt_raise("MemoryError", m, kname, line);
            return NULL;
        }
        b->cap = bytes;
    }
    b->next = *frame;
    *frame = b;
    return b + 1;
}

/* Keep b in the cache (an empty slot, else in place of a smaller block), or free it. */
static void cache_put(rt_block *b)
{
    int slot = -1;
    for (int k = 0; k < RT_CACHE && b->cap <= RT_CACHE_MAX; k++) {
        if (!rt_cache[k]) {
            slot = k;
            break;
        }
        if (rt_cache[k]->cap < b->cap && (slot < 0 || rt_cache[k]->cap < rt_cache[slot]->cap))
            slot = k;
    }
    if (slot < 0) {
        free(b);
        return;
    }
    free(rt_cache[slot]);
    rt_cache[slot] = b;
}

void rt_free_frame(void **frame)
{
    for (rt_block *b = *frame, *next; b; b = next) {
        next = b->next;
        cache_put(b);
    }
    *frame = NULL;
}

/* One element of each size, stored along the line by bytes (memcpy: the
 * line may be unaligned when it comes from C), so the compiler makes plain
 * (vector) stores of the contiguous case. */
#define FILL_LINE(T)                                                                                                 \
    do {                                                                                                             \
        T v;                                                                                                         \
        memcpy(&v, value, sizeof v);                                                                                 \
        if (stride == (int64_t)sizeof v)                                                                             \
            for (int64_t i = 0; i < n; i++)                                                                          \
                memcpy(p + i * (int64_t)sizeof v, &v, sizeof v);                                                     \
        else                                                                                                         \
            for (int64_t i = 0; i < n; i++)                                                                          \
                memcpy(p + i * stride, &v, sizeof v);                                                                \
    } while (0)

typedef struct { uint64_t lo, hi; } fill16;

/* M(T) with T the unsigned type of `size` bytes (1, 2, 4, 8; 16: two words). */
#define BY_SIZE(size, M)                                                                                             \
    switch (size) {                                                                                                  \
    case 1: M(uint8_t); break;                                                                                       \
    case 2: M(uint16_t); break;                                                                                      \
    case 4: M(uint32_t); break;                                                                                      \
    case 8: M(uint64_t); break;                                                                                      \
    default: assert(size == 16); M(fill16); break;                                                                   \
    }

void rt_fill(char *p, int64_t n, int64_t stride, int64_t size, const void *value)
{
    if (n <= 0)
        return;
    const unsigned char *b = value;
    bool same = true; /* every byte alike (0, 0.0, -1, True): memset */
    for (int64_t k = 1; k < size && same; k++)
        same = b[k] == b[0];
    if (same && stride == size) {
        memset(p, b[0], (size_t)(n * size));
        return;
    }
    BY_SIZE(size, FILL_LINE);
}

/* One line of n elements: contiguous pairs by memmove, others element by
 * element (fixed-size memcpy: plain loads and stores). */
#define COPY_LINE(T)                                                                                                 \
    for (int64_t i = 0; i < n; i++) {                                                                                \
        T v;                                                                                                         \
        memcpy(&v, s + i * ss, sizeof v);                                                                            \
        memcpy(d + i * ds, &v, sizeof v);                                                                            \
    }

static void copy_line(char *d, int64_t ds, const char *s, int64_t ss, int64_t n, int64_t size)
{
    if (ds == size && ss == size) {
        memmove(d, s, (size_t)(n * size));
        return;
    }
    BY_SIZE(size, COPY_LINE);
}

/* Every line along the last axis, the others counted like an odometer. */
static void copy_lines(char *dst, const int64_t *shape, const int64_t *dstride, const char *src,
                       const int64_t *sstride, int nd, int64_t size)
{
    if (nd == 0) {
        memmove(dst, src, (size_t)size);
        return;
    }
    for (int d = 0; d < nd; d++)
        if (shape[d] <= 0)
            return;
    int64_t idx[UG_MAXDIMS] = {0};
    for (;;) {
        char *d = dst;
        const char *s = src;
        for (int k = 0; k < nd - 1; k++) {
            d += idx[k] * dstride[k];
            s += idx[k] * sstride[k];
        }
        copy_line(d, dstride[nd - 1], s, sstride[nd - 1], shape[nd - 1], size);
        int k = nd - 2;
        while (k >= 0 && ++idx[k] == shape[k])
            idx[k--] = 0;
        if (k < 0)
            return;
    }
}

/* The bytes [*lo, *hi) the elements span (lo == hi: none). */
static void span_of(const char *base, const int64_t *shape, const int64_t *stride, int nd, int64_t size,
                    uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t l = (uintptr_t)base, h = l + (uintptr_t)size;
    for (int d = 0; d < nd; d++) {
        if (shape[d] <= 0) {
            *lo = *hi = (uintptr_t)base;
            return;
        }
        int64_t ext = (shape[d] - 1) * stride[d];
        if (ext < 0)
            l -= (uintptr_t)-ext;
        else
            h += (uintptr_t)ext;
    }
    *lo = l;
    *hi = h;
}

int32_t rt_copy(char *dst, const int64_t *shape, const int64_t *dstride, const char *src, const int64_t *sstride,
                int32_t nd, int64_t size, const char *kname, int32_t line)
{
    uintptr_t dlo, dhi, slo, shi;
    span_of(dst, shape, dstride, nd, size, &dlo, &dhi);
    span_of(src, shape, sstride, nd, size, &slo, &shi);
    bool same = dst == src;
    for (int d = 0; d < nd && same; d++)
        same = dstride[d] == sstride[d] || shape[d] == 1;
    if (dlo == dhi || dhi <= slo || shi <= dlo || same) {
        copy_lines(dst, shape, dstride, src, sstride, nd, size);
        return 0;
    }
    int64_t tstride[UG_MAXDIMS], count = 1;
    for (int d = nd - 1; d >= 0; d--) {
        tstride[d] = count * size;
        count *= shape[d];
    }
    char *t = malloc((size_t)(count * size));
    if (!t) {
        rt_raise("MemoryError", "cannot allocate a temporary for an overlapping copy", kname, line);
        return 1;
    }
    copy_lines(t, shape, tstride, src, sstride, nd, size);
    copy_lines(dst, shape, dstride, t, tstride, nd, size);
    free(t);
    return 0;
}

void rt_broadcast_error(const int64_t *shapes, int32_t sn, int32_t dn, const char *kname, int32_t line)
{
    char a[256] = "", b[256] = "";
    for (int d = 0; d < sn; d++)
        snprintf(a + strlen(a), sizeof a - strlen(a), "%lld%s", (long long)shapes[d], sn == 1 ? "," : d + 1 < sn ? "," : "");
    for (int d = 0; d < dn; d++)
        snprintf(b + strlen(b), sizeof b - strlen(b), "%lld%s", (long long)shapes[sn + d], dn == 1 ? "," : d + 1 < dn ? "," : "");
    char m[600];
    snprintf(m, sizeof m, "could not broadcast input array from shape (%s) into shape (%s)", a, b);
    if (rt_has_err)
        return;
    record();
    base_err_set(&rt_err, UG_ERAISE, "ValueError: %s (kernel '%s', line %d)", m, kname ? kname : "?", (int)line);
}

/* ---- print() ---- */
static _Thread_local char rt_line[1024];
static _Thread_local size_t rt_len;
static pthread_mutex_t rt_print_mu = PTHREAD_MUTEX_INITIALIZER;

static void line_add(const char *s)
{
    if (rt_len && rt_len < sizeof rt_line - 1)
        rt_line[rt_len++] = ' ';
    size_t n = strlen(s);
    if (n > sizeof rt_line - 1 - rt_len)
        n = sizeof rt_line - 1 - rt_len;
    memcpy(rt_line + rt_len, s, n);
    rt_len += n;
}

void rt_print_str(const char *s) { line_add(s ? s : ""); }

/* The shortest decimal that reads back as v (Python's repr of a float). */
static void shortest(char *buf, size_t n, double v, bool single)
{
    if (isnan(v) || isinf(v)) { /* no arithmetic here: it would raise FP flags NumPy reports */
        snprintf(buf, n, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        double back = strtod(buf, NULL);
        if (single ? (float)back == (float)v : back == v)
            break;
    }
    if (!strpbrk(buf, ".eEn")) /* 1 → 1.0, as Python prints floats */
        strncat(buf, ".0", n - strlen(buf) - 1);
}

void rt_print_num(int64_t bits, int32_t code)
{
    char buf[64];
    double d;
    switch (code) {
    case 0: snprintf(buf, sizeof buf, "%lld", (long long)bits); break;
    case 1: snprintf(buf, sizeof buf, "%llu", (unsigned long long)bits); break;
    case 2: snprintf(buf, sizeof buf, "%s", bits ? "True" : "False"); break;
    default:
        memcpy(&d, &bits, sizeof d);
        shortest(buf, sizeof buf, d, code == 4);
    }
    line_add(buf);
}

void rt_print_end(void)
{
    rt_line[rt_len++] = '\n';
    pthread_mutex_lock(&rt_print_mu);
    fwrite(rt_line, 1, rt_len, stdout);
    fflush(stdout);
    pthread_mutex_unlock(&rt_print_mu);
    rt_len = 0;
}

void rt_fpe(int32_t flags) { feraiseexcept(flags); }

int rt_take_error(ug_error *err)
{
    if (!atomic_load_explicit(&rt_pending, memory_order_relaxed) || !rt_has_err)
        return 0;
    if (err)
        *err = rt_err;
    rt_has_err = 0;
    atomic_fetch_sub_explicit(&rt_pending, 1, memory_order_relaxed);
    return 1;
}

void rt_put_error(const ug_error *err)
{
    if (rt_has_err || !err)
        return;
    rt_err = *err;
    record();
}

UG_API int ug_take_loop_error(ug_error *err) { return rt_take_error(err); }

static _Thread_local const char *rt_warning;
static atomic_int rt_warnings; /* threads holding one: the common case skips the TLS access */

void rt_warn(const char *msg)
{
    if (rt_warning)
        return;
    rt_warning = msg;
    atomic_fetch_add_explicit(&rt_warnings, 1, memory_order_relaxed);
}

int rt_take_warning(const char **msg)
{
    if (!atomic_load_explicit(&rt_warnings, memory_order_relaxed) || !rt_warning)
        return 0;
    if (msg)
        *msg = rt_warning;
    rt_warning = NULL;
    atomic_fetch_sub_explicit(&rt_warnings, 1, memory_order_relaxed);
    return 1;
}

UG_API int ug_take_loop_warning(const char **msg) { return rt_take_warning(msg); }

/* ---- complex power: NumPy's npy_cpow, in each precision ----
 * b == 0 gives 1; a == 0 gives 0 for re(b) > 0, else NaN (raising
 * FE_INVALID); an integer b in (-100, 100) is repeated squaring with the
 * plain product (1/r for b < 0, by Smith's method); the rest is glibc's
 * cpow. The products are written out, not contracted (no -mfma here). */
#define RT_CPOW(NAME, T, CPOW, CT)                                                                                    \
    static void NAME##_mul(T ar, T ai, T br, T bi, T *r)                                                             \
    {                                                                                                                \
        r[0] = ar * br - ai * bi;                                                                                    \
        r[1] = ar * bi + ai * br;                                                                                    \
    }                                                                                                                \
    void NAME(T ar, T ai, T br, T bi, T *out)                                                                        \
    {                                                                                                                \
        if (br == 0 && bi == 0) {                                                                                    \
            out[0] = 1, out[1] = 0;                                                                                  \
            return;                                                                                                  \
        }                                                                                                            \
        if (ar == 0 && ai == 0) {                                                                                    \
            if (!(br > 0))                                                                                           \
                feraiseexcept(FE_INVALID);                                                                           \
            out[0] = out[1] = br > 0 ? (T)0 : (T)NAN;                                                               \
            return;                                                                                                  \
        }                                                                                                            \
        if (bi == 0 && br > -100 && br < 100 && (T)(int)br == br) {                                                  \
            int n = (int)br < 0 ? -(int)br : (int)br;                                                                \
            T acc[2] = {1, 0}, p[2] = {ar, ai};                                                                      \
            if (n == 1 || n == 2 || n == 3) { /* NumPy unrolls these */                                              \
                acc[0] = ar, acc[1] = ai;                                                                            \
                if (n == 2)                                                                                          \
                    NAME##_mul(ar, ai, ar, ai, acc);                                                                 \
                if (n == 3) {                                                                                        \
                    NAME##_mul(ar, ai, ar, ai, p);                                                                   \
                    NAME##_mul(ar, ai, p[0], p[1], acc);                                                             \
                }                                                                                                    \
                if (br > 0) {                                                                                        \
                    out[0] = acc[0], out[1] = acc[1];                                                                \
                    return;                                                                                          \
                }                                                                                                    \
                p[0] = ar, p[1] = ai, acc[0] = 1, acc[1] = 0;                                                        \
            }                                                                                                        \
            for (int mask = 1;; mask <<= 1) {                                                                        \
                if (n & mask)                                                                                        \
                    NAME##_mul(acc[0], acc[1], p[0], p[1], acc);                                                     \
                if (n < (mask << 1))                                                                                 \
                    break;                                                                                           \
                NAME##_mul(p[0], p[1], p[0], p[1], p);                                                               \
            }                                                                                                        \
            if (br < 0) { /* 1 / acc as NumPy's cdiv((1, 0), acc) */                                                 \
                T xr = acc[0], xi = acc[1], axr = xr < 0 ? -xr : xr, axi = xi < 0 ? -xi : xi, one = 1, zero = 0;     \
                if (axr >= axi && axr == 0) {                                                                        \
                    acc[0] = one / axr, acc[1] = zero / axi;                                                         \
                } else if (axr >= axi) {                                                                             \
                    T rat = xi / xr, scl = one / (xr + xi * rat);                                                    \
                    acc[0] = (one + zero * rat) * scl, acc[1] = (zero - one * rat) * scl;                            \
                } else {                                                                                             \
                    T rat = xr / xi, scl = one / (xi + xr * rat);                                                    \
                    acc[0] = (one * rat + zero) * scl, acc[1] = (zero * rat - one) * scl;                            \
                }                                                                                                    \
            }                                                                                                        \
            out[0] = acc[0], out[1] = acc[1];                                                                        \
            return;                                                                                                  \
        }                                                                                                            \
        CT r = CPOW(CMPLX_##T(ar, ai), CMPLX_##T(br, bi));                                                           \
        out[0] = __real__ r, out[1] = __imag__ r;                                                                    \
    }
/* re + im*i without arithmetic (an infinite or NaN part stays itself):
 * C11's CMPLX, which glibc's complex.h defines for gcc only, not for clang
 * (the fuzz and sanitizer builds). */
static inline double _Complex cmplx_double(double re, double im)
{
    union { double _Complex z; double p[2]; } u = {.p = {re, im}};
    return u.z;
}
static inline float _Complex cmplx_float(float re, float im)
{
    union { float _Complex z; float p[2]; } u = {.p = {re, im}};
    return u.z;
}
#define CMPLX_double(a, b) cmplx_double(a, b)
#define CMPLX_float(a, b) cmplx_float(a, b)
RT_CPOW(rt_cpow, double, cpow, double _Complex)
RT_CPOW(rt_cpowf, float, cpowf, float _Complex)
