/* sort.c — sorting and selection for array functions in kernels (np.sort,
 * a.sort(), np.argsort, np.partition, np.unique, and the sorted copies
 * behind np.median and np.quantile). Called from JIT code, bound as
 * absolute symbols (jit.c); no LLVM here.
 *
 * Order is NumPy's: numbers ascending, NaN after everything (so a sorted
 * float array ends with its NaNs), -0.0 and 0.0 equal. Floats have their
 * NaNs moved to the end first, so the rest compares with a plain `<`.
 * float16 elements are handled as their bits (NumPy's HALF_LT order; np.sort
 * puts -0.0 before 0.0, as NumPy's AVX-512 float16 sort does). Complex
 * numbers sort lexicographically, NumPy's CFLOAT_LT: real part, then
 * imaginary part, those with a NaN last in the order (x + yj) < (x + nanj)
 * < (nan + yj) < (nan + nanj), by the part that is a number within each;
 * np.unique of complex keeps the first of equal values in input order and
 * one value for all those with a NaN, the first too (NumPy 2.4's hash
 * path).
 *
 * np.sort of 4- and 8-byte numbers runs a vectorised quicksort with sorting
 * networks where the CPU has AVX-512 (below), reading the source array
 * where it is when the target is another (rt_sort_copy); elsewhere arrays
 * of 256 or more of them are radix-sorted (1.5-2x faster than comparisons), and so
 * are float16 arrays that long; the rest, and every other dtype, use an
 * introsort (quicksort with median-of-three, insertion sort for short
 * ranges, heapsort when the recursion gets deep), so no input is quadratic;
 * argsort is a stable merge sort of indices (NumPy's kind='stable' order;
 * its default quicksort leaves the order of equal elements unspecified);
 * partition is an introselect per kth, smallest kth first, each on the part
 * the previous one left unordered.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

/* a < b in NumPy's sort order (NaN last); for floats quiet comparisons (a
 * plain < of a NaN raises the invalid flag, which becomes NumPy's warning). */
#define LT_INT(a, b) ((a) < (b))
#define LT_FLT(a, b) (__builtin_isless(a, b) || (__builtin_isunordered(b, b) && !__builtin_isunordered(a, a)))

/* float16 bits in NumPy's HALF_LT order: NaN above everything, -0.0 and
 * 0.0 the same key. */
static inline int32_t half_key(uint16_t h)
{
    return (h & 0x7fff) > 0x7c00 ? 0x8000 : (h & 0x8000) ? -(int32_t)(h & 0x7fff) : (int32_t)h;
}
#define LT_HALF(a, b) (half_key(a) < half_key(b))
/* NaN-free float16 bits totally ordered (-0.0 before 0.0), as radix_sort's image */
#define HALF_TOTAL(h) ((h) & 0x8000 ? (uint16_t)~(h) : (uint16_t)((h) | 0x8000))
#define LT_HTOT(a, b) (HALF_TOTAL(a) < HALF_TOTAL(b))

/* NumPy's CFLOAT_LT / CDOUBLE_LT with quiet comparisons. */
typedef struct { float re, im; } c64_t;
typedef struct { double re, im; } c128_t;
#define NAN_OF(x) __builtin_isunordered(x, x)
#define CPLX_LT(T)                                                                                                   \
    static inline bool lt_##T(T a, T b)                                                                              \
    {                                                                                                                \
        if (__builtin_isless(a.re, b.re))                                                                            \
            return !NAN_OF(a.im) || NAN_OF(b.im);                                                                    \
        if (__builtin_isgreater(a.re, b.re))                                                                         \
            return NAN_OF(b.im) && !NAN_OF(a.im);                                                                    \
        if (a.re == b.re || (NAN_OF(a.re) && NAN_OF(b.re)))                                                          \
            return __builtin_isless(a.im, b.im) || (NAN_OF(b.im) && !NAN_OF(a.im));                                  \
        return NAN_OF(b.re);                                                                                         \
    }
CPLX_LT(c64_t)
CPLX_LT(c128_t)
#define LT_C64(a, b) lt_c64_t(a, b)
#define LT_C128(a, b) lt_c128_t(a, b)

#define SMALL 16

#define DEFINE_SORT(NAME, T, LT)                                                                                     \
    static void NAME##_insertion(T *v, int64_t n)                                                                    \
    {                                                                                                                \
        for (int64_t i = 1; i < n; i++) {                                                                            \
            T x = v[i];                                                                                              \
            int64_t j = i;                                                                                           \
            for (; j > 0 && LT(x, v[j - 1]); j--)                                                                    \
                v[j] = v[j - 1];                                                                                     \
            v[j] = x;                                                                                                \
        }                                                                                                            \
    }                                                                                                                \
    static void NAME##_sift(T *v, int64_t root, int64_t n)                                                           \
    {                                                                                                                \
        T x = v[root];                                                                                               \
        for (int64_t c; (c = 2 * root + 1) < n; root = c) {                                                          \
            if (c + 1 < n && LT(v[c], v[c + 1]))                                                                     \
                c++;                                                                                                 \
            if (!LT(x, v[c]))                                                                                        \
                break;                                                                                               \
            v[root] = v[c];                                                                                          \
        }                                                                                                            \
        v[root] = x;                                                                                                 \
    }                                                                                                                \
    static void NAME##_heapsort(T *v, int64_t n)                                                                     \
    {                                                                                                                \
        for (int64_t i = n / 2 - 1; i >= 0; i--)                                                                     \
            NAME##_sift(v, i, n);                                                                                    \
        for (int64_t i = n - 1; i > 0; i--) {                                                                        \
            T t = v[0];                                                                                              \
            v[0] = v[i];                                                                                             \
            v[i] = t;                                                                                                \
            NAME##_sift(v, 0, i);                                                                                    \
        }                                                                                                            \
    }                                                                                                                \
    /* Hoare partition around the median of three; v[lo..hi] ends split at the returned index:  \
     * everything left of it <= pivot <= everything from it on. */                                                  \
    static int64_t NAME##_split(T *v, int64_t lo, int64_t hi)                                                        \
    {                                                                                                                \
        int64_t mid = lo + (hi - lo) / 2;                                                                            \
        T t;                                                                                                         \
        if (LT(v[mid], v[lo])) { t = v[mid]; v[mid] = v[lo]; v[lo] = t; }                                            \
        if (LT(v[hi], v[mid])) { t = v[hi]; v[hi] = v[mid]; v[mid] = t; }                                            \
        if (LT(v[mid], v[lo])) { t = v[mid]; v[mid] = v[lo]; v[lo] = t; }                                            \
        T p = v[mid];                                                                                                \
        int64_t i = lo - 1, j = hi + 1;                                                                              \
        for (;;) {                                                                                                   \
            do i++; while (LT(v[i], p));                                                                             \
            do j--; while (LT(p, v[j]));                                                                             \
            if (i >= j)                                                                                              \
                return j + 1;                                                                                        \
            t = v[i]; v[i] = v[j]; v[j] = t;                                                                         \
        }                                                                                                            \
    }                                                                                                                \
    static void NAME##_intro(T *v, int64_t lo, int64_t hi, int depth)                                                \
    {                                                                                                                \
        while (hi - lo + 1 > SMALL) {                                                                                \
            if (depth-- == 0) {                                                                                      \
                NAME##_heapsort(v + lo, hi - lo + 1);                                                                \
                return;                                                                                              \
            }                                                                                                        \
            int64_t m = NAME##_split(v, lo, hi);                                                                     \
            if (m - lo < hi - m + 1) { /* recurse into the smaller part */                                           \
                NAME##_intro(v, lo, m - 1, depth);                                                                   \
                lo = m;                                                                                              \
            } else {                                                                                                 \
                NAME##_intro(v, m, hi, depth);                                                                       \
                hi = m - 1;                                                                                          \
            }                                                                                                        \
        }                                                                                                            \
        NAME##_insertion(v + lo, hi - lo + 1);                                                                       \
    }                                                                                                                \
    /* Put the k-th smallest of v[lo..hi] at v[k], smaller ones before, larger after. */                            \
    static void NAME##_select(T *v, int64_t lo, int64_t hi, int64_t k)                                               \
    {                                                                                                                \
        int depth = 2 * (64 - __builtin_clzll((unsigned long long)(hi - lo + 2)));                                   \
        while (hi - lo + 1 > SMALL) {                                                                                \
            if (depth-- == 0) { /* degenerate input: sort the rest */                                                \
                NAME##_heapsort(v + lo, hi - lo + 1);                                                                \
                return;                                                                                              \
            }                                                                                                        \
            int64_t m = NAME##_split(v, lo, hi);                                                                     \
            if (k < m)                                                                                               \
                hi = m - 1;                                                                                          \
            else                                                                                                     \
                lo = m;                                                                                              \
        }                                                                                                            \
        NAME##_insertion(v + lo, hi - lo + 1);                                                                       \
    }                                                                                                                \
    static void NAME##_sort(T *v, int64_t n)                                                                         \
    {                                                                                                                \
        if (n > 1)                                                                                                   \
            NAME##_intro(v, 0, n - 1, 2 * (64 - __builtin_clzll((unsigned long long)n)));                          \
    }                                                                                                                \
    __attribute__((unused)) static void NAME##_partition(T *v, int64_t n, const int64_t *kth, int64_t nk)                                    \
    {                                                                                                                \
        int64_t lo = 0;                                                                                              \
        for (int64_t i = 0; i < nk && lo < n; i++) {                                                                 \
            if (kth[i] < lo)                                                                                         \
                continue; /* already in place */                                                                     \
            if (kth[i] == lo) { /* the smallest of the rest: one scan */                                             \
                int64_t m = lo;                                                                                      \
                for (int64_t j = lo + 1; j < n; j++)                                                                 \
                    if (LT(v[j], v[m]))                                                                              \
                        m = j;                                                                                       \
                T t = v[lo];                                                                                         \
                v[lo] = v[m];                                                                                        \
                v[m] = t;                                                                                            \
            } else {                                                                                                 \
                NAME##_select(v, lo, n - 1, kth[i]);                                                                 \
            }                                                                                                        \
            lo = kth[i] + 1;                                                                                         \
        }                                                                                                            \
    }                                                                                                                \
    __attribute__((unused)) static void NAME##_argsort(const char *p, int64_t stride, int64_t n, int64_t *ix, int64_t *tmp)                  \
    {                                                                                                                \
        for (int64_t i = 0; i < n; i++)                                                                              \
            ix[i] = i;                                                                                               \
        for (int64_t w = 1; w < n; w *= 2) { /* bottom-up merge sort: stable */                                      \
            for (int64_t lo = 0; lo < n; lo += 2 * w) {                                                              \
                int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;                         \
                int64_t a = lo, b = mid, o = lo;                                                                     \
                while (a < mid && b < hi) {                                                                          \
                    T x, y;                                                                                          \
                    memcpy(&x, p + ix[a] * stride, sizeof x);                                                        \
                    memcpy(&y, p + ix[b] * stride, sizeof y);                                                        \
                    tmp[o++] = LT(y, x) ? ix[b++] : ix[a++];                                                         \
                }                                                                                                    \
                while (a < mid)                                                                                      \
                    tmp[o++] = ix[a++];                                                                              \
                while (b < hi)                                                                                       \
                    tmp[o++] = ix[b++];                                                                              \
            }                                                                                                        \
            memcpy(ix, tmp, (size_t)n * sizeof *ix);                                                                 \
        }                                                                                                            \
    }                                                                                                                \
    __attribute__((unused)) static int64_t NAME##_unique(T *v, int64_t n)                                                                    \
    {                                                                                                                \
        NAME##_sort(v, n);                                                                                           \
        int64_t m = 0;                                                                                               \
        for (int64_t i = 0; i < n; i++) /* equal neighbours (and NaNs, all at the end) collapse */                   \
            if (m == 0 || (LT(v[m - 1], v[i])))                                                                      \
                v[m++] = v[i];                                                                                       \
        return m;                                                                                                    \
    }

DEFINE_SORT(s_b, uint8_t, LT_INT)
DEFINE_SORT(s_i8, int8_t, LT_INT)
DEFINE_SORT(s_u8, uint8_t, LT_INT)
DEFINE_SORT(s_i16, int16_t, LT_INT)
DEFINE_SORT(s_u16, uint16_t, LT_INT)
DEFINE_SORT(s_i32, int32_t, LT_INT)
DEFINE_SORT(s_u32, uint32_t, LT_INT)
DEFINE_SORT(s_i64, int64_t, LT_INT)
DEFINE_SORT(s_u64, uint64_t, LT_INT)
DEFINE_SORT(s_f32, float, LT_FLT)
DEFINE_SORT(s_f64, double, LT_FLT)
DEFINE_SORT(p_f32, float, LT_INT) /* NaN-free float ranges: one comparison per step */
DEFINE_SORT(p_f64, double, LT_INT)
DEFINE_SORT(s_f16, uint16_t, LT_HALF)
DEFINE_SORT(p_f16, uint16_t, LT_HTOT)
DEFINE_SORT(s_c64, c64_t, LT_C64)
DEFINE_SORT(s_c128, c128_t, LT_C128)

/* Floats: NaNs swapped to the end first, then the rest sorted or
 * partitioned with a plain `<` (NaN last, as NumPy). Returns the count of
 * numbers. */
#define NAN_TO_END(T)                                                                                                \
    static int64_t nan_to_end_##T(T *v, int64_t n)                                                                   \
    {                                                                                                                \
        int64_t i = 0, j = n;                                                                                        \
        while (i < j) {                                                                                              \
            if (v[i] != v[i]) {                                                                                      \
                T t = v[i];                                                                                          \
                v[i] = v[--j];                                                                                       \
                v[j] = t;                                                                                            \
            } else {                                                                                                 \
                i++;                                                                                                 \
            }                                                                                                        \
        }                                                                                                            \
        return j;                                                                                                    \
    }
NAN_TO_END(float)
NAN_TO_END(double)

static int64_t nan_to_end_half(uint16_t *v, int64_t n)
{
    int64_t i = 0, j = n;
    while (i < j) {
        if ((v[i] & 0x7fff) > 0x7c00) {
            uint16_t t = v[i];
            v[i] = v[--j];
            v[j] = t;
        } else {
            i++;
        }
    }
    return j;
}

/* LSD radix sort of n values of `bytes` bytes through their
 * order-preserving unsigned images (sign flipped for ints; for floats all
 * bits flipped if negative, else the sign set), one byte per pass, skipping
 * bytes every key shares; the images map back to the very same values.
 * O(n) and branch-free: long arrays sort several times faster than by
 * comparisons. false when no scratch memory (the caller then compares). */
static uint64_t key_of(uint64_t u, uint64_t top, int kind)
{
    if (kind == 1) /* signed int */
        return u ^ top;
    if (kind == 2) /* float */
        return (u & top) ? ~u & (top | (top - 1)) : u | top;
    return u;
}

static uint64_t value_of(uint64_t k, uint64_t top, int kind)
{
    if (kind == 1)
        return k ^ top;
    if (kind == 2)
        return (k & top) ? k & ~top : ~k & (top | (top - 1));
    return k;
}

static bool radix_sort(void *v, int64_t n, int bytes, int kind)
{
    uint64_t *keys = malloc((size_t)n * 2 * sizeof *keys);
    if (!keys)
        return false;
    uint64_t top = (uint64_t)1 << (bytes * 8 - 1), *k0 = keys, *k1 = keys + n;
    char *a = v;
    for (int64_t i = 0; i < n; i++) {
        uint64_t u = 0;
        memcpy(&u, a + i * bytes, (size_t)bytes); /* little-endian: the low bytes */
        k0[i] = key_of(u, top, kind);
    }
    for (int pass = 0; pass < bytes; pass++) {
        int shift = pass * 8;
        int64_t count[257] = {0};
        for (int64_t i = 0; i < n; i++)
            count[((k0[i] >> shift) & 255) + 1]++;
        if (count[((k0[0] >> shift) & 255) + 1] == n)
            continue; /* every key has this byte: the order stands */
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (int64_t i = 0; i < n; i++)
            k1[count[(k0[i] >> shift) & 255]++] = k0[i];
        uint64_t *t = k0;
        k0 = k1;
        k1 = t;
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t u = value_of(k0[i], top, kind);
        memcpy(a + i * bytes, &u, (size_t)bytes);
    }
    free(keys);
    return true;
}

/* ------------------------------------------------------ AVX-512 quicksort
 * On CPUs with AVX-512F, 4- and 8-byte numbers sort as signed integer keys
 * in the lanes of zmm registers (W = 16 or 8 lanes): floats map to keys
 * whose signed order is theirs (negatives have all bits but the sign
 * flipped, an involution; NaN becomes the largest key and comes back as
 * the canonical quiet NaN, as NumPy's sort writes it), unsigned ints have
 * the sign bit flipped; the mapping is done as vectors are loaded and
 * stored, not in passes of its own. The keys are quicksorted: the pivot is
 * the median of 2W samples; a split moves the range to a scratch copy (or
 * back), out of place, so loads never wait on the counts. The first split
 * may read another array (rt_sort_copy: np.sort(x) into out reads x, and
 * no copy of x is made). With 8 lanes a split permutes each vector once,
 * its keys below the pivot first (the lane order from a 256-entry table),
 * and stores it whole at both ends; with 16 lanes the two sides are
 * compressed apart. A range of 32 registers or fewer is sorted in
 * registers (padded with the largest key): its columns by Batcher's
 * odd-even merge sort on whole registers, each W x W block transposed, then
 * runs merged by bitonic merges (their steps within registers done on two
 * registers at once, after two-source shuffles). Every compare-exchange takes the smaller
 * with a min and the larger as a ^ b ^ min (a ternary-logic op): the
 * CPU runs integer min/max on one port only, logic ops on two, so a
 * second min/max would halve the networks' speed. A pivot that is the
 * range's smallest key splits off its copies in a second pass, so
 * duplicates cannot stall it; past 2 log2 n levels the range goes to the
 * introsort above (no input is quadratic). -0.0 sorts before 0.0 and every
 * value comes out bit for bit (NumPy's own order for the zeros is
 * unspecified, and its float networks can change their signs). Other CPUs
 * keep the radix sort and the introsort, and so does a clang build: clang
 * 19 takes minutes over the fully unrolled networks (gcc 12 seconds).
 * RT_SORT_SCALAR leaves this part out, so tests/c/test_sort.c tests those
 * paths on any CPU. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(RT_SORT_SCALAR)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f")))
#define UNROLL _Pragma("GCC unroll 64")
#define INLINE __attribute__((always_inline))

/* the lanes i (of up to 16) with bit j set (a constant where inlined) */
static inline INLINE unsigned lanes_with(int j)
{
    return j == 1 ? 0xaaaa : j == 2 ? 0xcccc : j == 4 ? 0xf0f0 : j == 8 ? 0xff00 : 0;
}

/* for each 8-lane mask m: the lanes of m in order, then the others, one
 * byte each (lane k of the permutation in byte k) */
static const uint64_t lower_first[256] = {
    0x0706050403020100, 0x0706050403020100, 0x0706050403020001, 0x0706050403020100, 0x0706050403010002, 0x0706050403010200,
    0x0706050403000201, 0x0706050403020100, 0x0706050402010003, 0x0706050402010300, 0x0706050402000301, 0x0706050402030100,
    0x0706050401000302, 0x0706050401030200, 0x0706050400030201, 0x0706050403020100, 0x0706050302010004, 0x0706050302010400,
    0x0706050302000401, 0x0706050302040100, 0x0706050301000402, 0x0706050301040200, 0x0706050300040201, 0x0706050304020100,
    0x0706050201000403, 0x0706050201040300, 0x0706050200040301, 0x0706050204030100, 0x0706050100040302, 0x0706050104030200,
    0x0706050004030201, 0x0706050403020100, 0x0706040302010005, 0x0706040302010500, 0x0706040302000501, 0x0706040302050100,
    0x0706040301000502, 0x0706040301050200, 0x0706040300050201, 0x0706040305020100, 0x0706040201000503, 0x0706040201050300,
    0x0706040200050301, 0x0706040205030100, 0x0706040100050302, 0x0706040105030200, 0x0706040005030201, 0x0706040503020100,
    0x0706030201000504, 0x0706030201050400, 0x0706030200050401, 0x0706030205040100, 0x0706030100050402, 0x0706030105040200,
    0x0706030005040201, 0x0706030504020100, 0x0706020100050403, 0x0706020105040300, 0x0706020005040301, 0x0706020504030100,
    0x0706010005040302, 0x0706010504030200, 0x0706000504030201, 0x0706050403020100, 0x0705040302010006, 0x0705040302010600,
    0x0705040302000601, 0x0705040302060100, 0x0705040301000602, 0x0705040301060200, 0x0705040300060201, 0x0705040306020100,
    0x0705040201000603, 0x0705040201060300, 0x0705040200060301, 0x0705040206030100, 0x0705040100060302, 0x0705040106030200,
    0x0705040006030201, 0x0705040603020100, 0x0705030201000604, 0x0705030201060400, 0x0705030200060401, 0x0705030206040100,
    0x0705030100060402, 0x0705030106040200, 0x0705030006040201, 0x0705030604020100, 0x0705020100060403, 0x0705020106040300,
    0x0705020006040301, 0x0705020604030100, 0x0705010006040302, 0x0705010604030200, 0x0705000604030201, 0x0705060403020100,
    0x0704030201000605, 0x0704030201060500, 0x0704030200060501, 0x0704030206050100, 0x0704030100060502, 0x0704030106050200,
    0x0704030006050201, 0x0704030605020100, 0x0704020100060503, 0x0704020106050300, 0x0704020006050301, 0x0704020605030100,
    0x0704010006050302, 0x0704010605030200, 0x0704000605030201, 0x0704060503020100, 0x0703020100060504, 0x0703020106050400,
    0x0703020006050401, 0x0703020605040100, 0x0703010006050402, 0x0703010605040200, 0x0703000605040201, 0x0703060504020100,
    0x0702010006050403, 0x0702010605040300, 0x0702000605040301, 0x0702060504030100, 0x0701000605040302, 0x0701060504030200,
    0x0700060504030201, 0x0706050403020100, 0x0605040302010007, 0x0605040302010700, 0x0605040302000701, 0x0605040302070100,
    0x0605040301000702, 0x0605040301070200, 0x0605040300070201, 0x0605040307020100, 0x0605040201000703, 0x0605040201070300,
    0x0605040200070301, 0x0605040207030100, 0x0605040100070302, 0x0605040107030200, 0x0605040007030201, 0x0605040703020100,
    0x0605030201000704, 0x0605030201070400, 0x0605030200070401, 0x0605030207040100, 0x0605030100070402, 0x0605030107040200,
    0x0605030007040201, 0x0605030704020100, 0x0605020100070403, 0x0605020107040300, 0x0605020007040301, 0x0605020704030100,
    0x0605010007040302, 0x0605010704030200, 0x0605000704030201, 0x0605070403020100, 0x0604030201000705, 0x0604030201070500,
    0x0604030200070501, 0x0604030207050100, 0x0604030100070502, 0x0604030107050200, 0x0604030007050201, 0x0604030705020100,
    0x0604020100070503, 0x0604020107050300, 0x0604020007050301, 0x0604020705030100, 0x0604010007050302, 0x0604010705030200,
    0x0604000705030201, 0x0604070503020100, 0x0603020100070504, 0x0603020107050400, 0x0603020007050401, 0x0603020705040100,
    0x0603010007050402, 0x0603010705040200, 0x0603000705040201, 0x0603070504020100, 0x0602010007050403, 0x0602010705040300,
    0x0602000705040301, 0x0602070504030100, 0x0601000705040302, 0x0601070504030200, 0x0600070504030201, 0x0607050403020100,
    0x0504030201000706, 0x0504030201070600, 0x0504030200070601, 0x0504030207060100, 0x0504030100070602, 0x0504030107060200,
    0x0504030007060201, 0x0504030706020100, 0x0504020100070603, 0x0504020107060300, 0x0504020007060301, 0x0504020706030100,
    0x0504010007060302, 0x0504010706030200, 0x0504000706030201, 0x0504070603020100, 0x0503020100070604, 0x0503020107060400,
    0x0503020007060401, 0x0503020706040100, 0x0503010007060402, 0x0503010706040200, 0x0503000706040201, 0x0503070604020100,
    0x0502010007060403, 0x0502010706040300, 0x0502000706040301, 0x0502070604030100, 0x0501000706040302, 0x0501070604030200,
    0x0500070604030201, 0x0507060403020100, 0x0403020100070605, 0x0403020107060500, 0x0403020007060501, 0x0403020706050100,
    0x0403010007060502, 0x0403010706050200, 0x0403000706050201, 0x0403070605020100, 0x0402010007060503, 0x0402010706050300,
    0x0402000706050301, 0x0402070605030100, 0x0401000706050302, 0x0401070605030200, 0x0400070605030201, 0x0407060503020100,
    0x0302010007060504, 0x0302010706050400, 0x0302000706050401, 0x0302070605040100, 0x0301000706050402, 0x0301070605040200,
    0x0300070605040201, 0x0307060504020100, 0x0201000706050403, 0x0201070605040300, 0x0200070605040301, 0x0207060504030100,
    0x0100070605040302, 0x0107060504030200, 0x0007060504030201, 0x0706050403020100
};

#define DEFINE_VSORT(S, T, W, M, E, TMAX, IOTA, NETR, FALLBACK, MIN, MAX, LT, LE)                                 \
    /* the lanes of the first c (0..W) */                                                                          \
    static inline AVX512 M S##_first(int64_t c)                                                                    \
    {                                                                                                              \
        return c <= 0 ? (M)0 : c >= W ? (M)-1 : (M)((1u << c) - 1);                                                \
    }                                                                                                              \
    /* lane i gets lane i ^ j (j = W - 1 reverses); in-lane shuffles (one                                          \
     * cycle) and 128-bit block shuffles where they do */                                                          \
    static inline INLINE AVX512 __m512i S##_swap(__m512i v, int j)                                                 \
    {                                                                                                              \
        switch (j * (int)sizeof(T)) {                                                                              \
        case 4: return _mm512_shuffle_epi32(v, (_MM_PERM_ENUM)0xb1);                                               \
        case 8: return _mm512_shuffle_epi32(v, (_MM_PERM_ENUM)0x4e);                                               \
        case 16: return _mm512_shuffle_i64x2(v, v, 0xb1);                                                          \
        case 32: return _mm512_shuffle_i64x2(v, v, 0x4e);                                                          \
        default: return _mm512_permutexvar_##E(_mm512_xor_si512(IOTA, _mm512_set1_##E(j)), v);                     \
        }                                                                                                          \
    }                                                                                                              \
    /* of a and b, the one that is not lo (lo = MIN(a, b) is one of them, bit for                                  \
     * bit): a ^ b ^ lo, one ternary-logic op that either port runs, where                                         \
     * MAX would be a second min/max on the one port that runs those */                                            \
    static inline INLINE AVX512 __m512i S##_other(__m512i a, __m512i b, __m512i lo)                                \
    {                                                                                                              \
        return _mm512_ternarylogic_##E(a, b, lo, 0x96);                                                           \
    }                                                                                                              \
    /* one step of the bitonic network: lanes i and i ^ j compared, lane i keeps                                   \
     * the larger where bit j of i differs from bit k (ascending blocks of k) */                                   \
    static inline INLINE AVX512 __m512i S##_cx(__m512i v, int k, int j)                                            \
    {                                                                                                              \
        __m512i p = S##_swap(v, j);                                                                                \
        M hi = (M)(lanes_with(j) ^ lanes_with(k));                                                                 \
        return _mm512_mask_ternarylogic_##E(MIN(v, p), hi, v, p, 0x96);                                            \
    }                                                                                                              \
    static inline INLINE AVX512 __m512i S##_sort1(__m512i v)                                                       \
    {                                                                                                              \
        UNROLL for (int lk = 1; lk <= __builtin_ctz(W); lk++)                                                      \
            UNROLL for (int lj = lk - 1; lj >= 0; lj--)                                                            \
                v = S##_cx(v, 1 << lk, 1 << lj);                                                                   \
        return v;                                                                                                  \
    }                                                                                                              \
    /* The last steps of a merge (lanes W/2, ..., 2, 1 apart, the larger to                                        \
     * the higher lane) in the two registers *a and *b at once: two-source                                         \
     * shuffles put the lanes to compare in the same lanes of two registers                                        \
     * (a's and b's side by side), so each step is one min and one logic op                                        \
     * for both registers where in-register steps take a shuffle, a min and                                        \
     * a logic op each; one permutation per register puts the lanes back. */                                       \
    static inline INLINE AVX512 void S##_clean2(__m512i *a, __m512i *b)                                            \
    {                                                                                                              \
        __m512i p = _mm512_shuffle_i64x2(*a, *b, 0x44), q = _mm512_shuffle_i64x2(*a, *b, 0xee);                    \
        __m512i l = MIN(p, q), h = S##_other(p, q, l);                                                             \
        p = _mm512_shuffle_i64x2(l, h, 0x88);                                                                      \
        q = _mm512_shuffle_i64x2(l, h, 0xdd);                                                                      \
        l = MIN(p, q);                                                                                             \
        h = S##_other(p, q, l);                                                                                    \
        p = _mm512_unpacklo_epi64(l, h);                                                                           \
        q = _mm512_unpackhi_epi64(l, h);                                                                           \
        l = MIN(p, q);                                                                                             \
        h = S##_other(p, q, l);                                                                                    \
        if (W == 8) {                                                                                              \
            *a = _mm512_permutex2var_epi64(l, _mm512_set_epi64(13, 5, 12, 4, 9, 1, 8, 0), h);                      \
            *b = _mm512_permutex2var_epi64(l, _mm512_set_epi64(15, 7, 14, 6, 11, 3, 10, 2), h);                    \
            return;                                                                                                \
        }                                                                                                          \
        p = _mm512_castps_si512(_mm512_shuffle_ps(_mm512_castsi512_ps(l), _mm512_castsi512_ps(h), 0x88));          \
        q = _mm512_castps_si512(_mm512_shuffle_ps(_mm512_castsi512_ps(l), _mm512_castsi512_ps(h), 0xdd));          \
        l = MIN(p, q);                                                                                             \
        h = S##_other(p, q, l);                                                                                    \
        *a = _mm512_permutex2var_epi32(l, _mm512_set_epi32(27, 11, 25, 9, 26, 10, 24, 8, 19, 3, 17, 1, 18, 2, 16, 0),\
                h);                                                                                                \
        *b = _mm512_permutex2var_epi32(l, _mm512_set_epi32(31, 15, 29, 13, 30, 14, 28, 12, 23, 7, 21, 5, 22, 6, 20, 4),\
                h);                                                                                                \
    }                                                                                                              \
    /* r[0..2s): the sorted runs r[0..s) and r[s..2s) merged (Batcher: the                                         \
     * first against the second reversed, then half-cleaners down to lanes) */                                     \
    static inline INLINE AVX512 void S##_merge(__m512i *r, int s)                                                  \
    {                                                                                                              \
        __m512i hi[NETR / 2];                                                                                      \
        UNROLL for (int i = 0; i < s; i++) {                                                                       \
            __m512i t = S##_swap(r[2 * s - 1 - i], W - 1);                                                         \
            __m512i lo = MIN(r[i], t);                                                                             \
            hi[i] = S##_other(r[i], t, lo);                                                                        \
            r[i] = lo;                                                                                             \
        }                                                                                                          \
        UNROLL for (int i = 0; i < s; i++)                                                                         \
            r[s + i] = hi[i];                                                                                      \
        UNROLL for (int ld = __builtin_ctz(s) - 1; ld >= 0; ld--)                                                  \
            UNROLL for (int i = 0; i < 2 * s; i++)                                                                 \
                if (!(i & (1 << ld))) {                                                                            \
                    __m512i a = r[i], b = r[i + (1 << ld)];                                                        \
                    r[i] = MIN(a, b);                                                                              \
                    r[i + (1 << ld)] = S##_other(a, b, r[i]);                                                      \
                }                                                                                                  \
        UNROLL for (int i = 0; i < 2 * s; i += 2)                                                                  \
            S##_clean2(&r[i], &r[i + 1]);                                                                          \
    }                                                                                                              \
    /* r[0..n) with every lane (column) sorted across the registers: Batcher's                                     \
     * odd-even merge sort, whole registers compared, no lane moves */                                             \
    static inline INLINE AVX512 void S##_columns(__m512i *r, int n)                                                \
    {                                                                                                              \
        UNROLL for (int lp = 0; lp < __builtin_ctz(n); lp++)                                                       \
            UNROLL for (int lk = lp; lk >= 0; lk--)                                                                \
                UNROLL for (int j = (1 << lk) % (1 << lp); j + (1 << lk) < n; j += 2 << lk)                        \
                    UNROLL for (int i = 0; i < (1 << lk) + (n - j - (2 << lk) < 0 ? n - j - (2 << lk) : 0); i++)   \
                        if ((i + j) >> (lp + 1) == (i + j + (1 << lk)) >> (lp + 1)) {                              \
                            __m512i a = r[i + j], b = r[i + j + (1 << lk)];                                        \
                            r[i + j] = MIN(a, b);                                                          \
                            r[i + j + (1 << lk)] = S##_other(a, b, r[i + j]);                              \
                        }                                                                                          \
    }                                                                                                              \
    /* r[0..W) transposed: off-diagonal blocks of d lanes swapped, d = W/2..1 */                                   \
    static inline INLINE AVX512 void S##_transpose(__m512i *r)                                                     \
    {                                                                                                              \
        UNROLL for (int ld = __builtin_ctz(W) - 1; ld >= 0; ld--) {                                                \
            int d = 1 << ld;                                                                                       \
            M hi = _mm512_test_##E##_mask(IOTA, _mm512_set1_##E(d));                                               \
            __m512i ia = _mm512_mask_add_##E(IOTA, hi, IOTA, _mm512_set1_##E(W - d));                              \
            __m512i ib = _mm512_mask_add_##E(_mm512_add_##E(IOTA, _mm512_set1_##E(d)), hi, IOTA, _mm512_set1_##E(W));\
            UNROLL for (int i = 0; i < W; i++)                                                                     \
                if (!(i & d)) {                                                                                    \
                    __m512i a = r[i], b = r[i + d];                                                                \
                    r[i] = _mm512_permutex2var_##E(a, ia, b);                                                      \
                    r[i + d] = _mm512_permutex2var_##E(a, ib, b);                                                  \
                }                                                                                                  \
        }                                                                                                          \
    }                                                                                                              \
    /* r[0..nr) sorted (nr a power of two). From W registers on, the                                               \
     * columns are sorted first and each W x W block transposed, which                                             \
     * leaves runs of nr / W registers sorted with whole-register                                                  \
     * comparisons; then runs are merged pairwise. */                                                              \
    static inline INLINE AVX512 void S##_sortn(__m512i *r, int nr)                                                 \
    {                                                                                                              \
        int s = 1;                                                                                                 \
        if (nr >= W) {                                                                                             \
            __m512i t[NETR];                                                                                       \
            S##_columns(r, nr);                                                                                    \
            UNROLL for (int b = 0; b < nr / W; b++)                                                                \
                S##_transpose(r + b * W);                                                                          \
            UNROLL for (int b = 0; b < nr / W; b++)                                                                \
                UNROLL for (int c = 0; c < W; c++)                                                                 \
                    t[c * (nr / W) + b] = r[b * W + c];                                                            \
            UNROLL for (int i = 0; i < nr; i++)                                                                    \
                r[i] = t[i];                                                                                       \
            s = nr / W;                                                                                            \
        } else {                                                                                                   \
            UNROLL for (int i = 0; i < nr; i++)                                                                    \
                r[i] = S##_sort1(r[i]);                                                                            \
        }                                                                                                          \
        UNROLL for (int ls = __builtin_ctz(s); ls < __builtin_ctz(nr); ls++)                                       \
            UNROLL for (int b = 0; b < nr; b += 2 << ls)                                                           \
                S##_merge(r + b, 1 << ls);                                                                         \
    }                                                                                                              \
    /* A number's key (kind as radix_sort's: 0 unsigned, 1 signed, 2 float)                                        \
     * and back; NaN keys are the largest, and come back as the canonical NaN. */                                  \
    static inline INLINE AVX512 __m512i S##_key(__m512i x, int kind)                                               \
    {                                                                                                              \
        __m512i max = _mm512_set1_##E(TMAX);                                                                       \
        if (kind == 0)                                                                                             \
            return _mm512_xor_si512(x, _mm512_set1_##E((T)((uint64_t)1 << (sizeof(T) * 8 - 1))));                  \
        if (kind == 1)                                                                                             \
            return x;                                                                                              \
        M nan = FLOAT_NAN(x);                                                                                      \
        x = _mm512_xor_si512(x, _mm512_and_si512(_mm512_srai_##E(x, sizeof(T) * 8 - 1), max));                     \
        return _mm512_mask_mov_##E(x, nan, max);                                                                   \
    }                                                                                                              \
    static inline INLINE AVX512 __m512i S##_unkey(__m512i k, int kind)                                             \
    {                                                                                                              \
        __m512i max = _mm512_set1_##E(TMAX);                                                                       \
        if (kind != 2)                                                                                             \
            return S##_key(k, kind);                                                                               \
        M nan = _mm512_cmpeq_##E##_mask(k, max);                                                                   \
        k = _mm512_xor_si512(k, _mm512_and_si512(_mm512_srai_##E(k, sizeof(T) * 8 - 1), max));                     \
        return _mm512_mask_mov_##E(k, nan, _mm512_set1_##E(FLOAT_QNAN));                                           \
    }                                                                                                              \
    static inline INLINE AVX512 T S##_unkey1(T k, int kind)                                                        \
    {                                                                                                              \
        T x;                                                                                                       \
        _mm512_mask_storeu_##E(&x, 1, S##_unkey(_mm512_set1_##E(k), kind));                                        \
        return x;                                                                                                  \
    }                                                                                                              \
    /* v[0..n) turned into keys (to = 1) or back, in place */                                                      \
    static AVX512 void S##_convert(T *v, int64_t n, int kind, int to)                                              \
    {                                                                                                              \
        for (int64_t i = 0; i < n; i += W) {                                                                       \
            M m = S##_first(n - i);                                                                                \
            __m512i x = _mm512_maskz_loadu_##E(m, v + i);                                                          \
            _mm512_mask_storeu_##E(v + i, m, to ? S##_key(x, kind) : S##_unkey(x, kind));                          \
        }                                                                                                          \
    }                                                                                                              \
    /* n <= NETR W numbers of kind lk (1: keys) from src sorted into dst                                           \
     * (the same or apart) in registers, as numbers of kind sk. */                                                 \
    static AVX512 void S##_net(const T *src, T *dst, int64_t n, int lk, int sk)                                    \
    {                                                                                                              \
        __m512i r[NETR];                                                                                           \
        int nr = (int)((n + W - 1) / W), np = 1;                                                                   \
        while (np < nr)                                                                                            \
            np *= 2;                                                                                               \
        for (int i = 0; i < np; i++)                                                                               \
            r[i] = i < nr ? S##_key(_mm512_maskz_loadu_##E(S##_first(n - i * W), src + i * W), lk)                 \
                          : _mm512_set1_##E(TMAX);                                                                 \
        if (n % W) /* the lanes past n: the largest key */                                                         \
            r[nr - 1] = _mm512_mask_mov_##E(r[nr - 1], (M)~S##_first(n % W), _mm512_set1_##E(TMAX));               \
        switch (np) {                                                                                              \
        case 1: S##_sortn(r, 1); break;                                                                            \
        case 2: S##_sortn(r, 2); break;                                                                            \
        case 4: S##_sortn(r, 4); break;                                                                            \
        case 8: S##_sortn(r, 8); break;                                                                            \
        default:                                                                                                   \
            if (NETR == 16 || np == 16)                                                                            \
                S##_sortn(r, 16);                                                                                  \
            else                                                                                                   \
                S##_sortn(r, NETR);                                                                                \
            break;                                                                                                 \
        }                                                                                                          \
        for (int i = 0; i < nr; i++)                                                                               \
            _mm512_mask_storeu_##E(dst + i * W, S##_first(n - i * W), S##_unkey(r[i], sk));                        \
    }                                                                                                              \
    /* the median of 2W keys (numbers of kind lk) sampled evenly */                                                \
    static inline AVX512 T S##_pivot(const T *v, int64_t n, int lk)                                                \
    {                                                                                                              \
        T s[2 * W];                                                                                                \
        int64_t step = n / (2 * W);                                                                                \
        for (int i = 0; i < 2 * W; i++)                                                                            \
            memcpy(&s[i], &v[i * step + step / 2], sizeof *s);                                                     \
        __m512i r[2] = {S##_key(_mm512_loadu_si512(s), lk), S##_key(_mm512_loadu_si512(s + W), lk)};               \
        S##_sortn(r, 2);                                                                                           \
        _mm512_storeu_si512(s, r[1]);                                                                              \
        return s[0];                                                                                               \
    }                                                                                                              \
    /* src[0..n) (numbers of kind lk) split into dst as keys: those below p                                        \
     * (at or below, le) first; returns their count. Out of place, so no load                                      \
     * waits for the counts of the one before (in place, the side to read                                          \
     * next would). The first (partial) vector's lower keys are compressed                                         \
     * and stored whole at the front end (the spare lanes fall in the gap                                          \
     * between the ends, never narrower than a vector, and are overwritten                                         \
     * later), its others compressed and stored masked before the back end.                                        \
     * Each full vector after it the same, but with 8 lanes one permutation                                        \
     * (from a table) puts the lower keys first and the others last, and the                                       \
     * vector is stored whole at both ends: the gap is then a multiple of W                                        \
     * lanes, so each store's extra lanes land in it (the last vector's two                                        \
     * stores are the same store). */                                                                              \
    static inline INLINE AVX512 int64_t S##_part(const T *src, T *dst, int64_t n, __m512i p, bool le, int lk)      \
    {                                                                                                              \
        int64_t ls = 0, rs = n, i = n % W ? n % W : W;                                                             \
        M valid = S##_first(i);                                                                                    \
        __m512i x = S##_key(_mm512_maskz_loadu_##E(valid, src), lk);                                               \
        M l = (le ? LE(x, p) : LT(x, p)) & valid, r = (M)(~l & valid);                                             \
        int cr = __builtin_popcount(r);                                                                            \
        _mm512_storeu_si512(dst + ls, _mm512_maskz_compress_##E(l, x));                                            \
        _mm512_mask_storeu_##E(dst + rs - cr, (M)((1u << cr) - 1), _mm512_maskz_compress_##E(r, x));               \
        ls += __builtin_popcount(l);                                                                               \
        rs -= cr;                                                                                                  \
        for (; i < n; i += W) {                                                                                    \
            x = S##_key(_mm512_loadu_si512(src + i), lk);                                                          \
            l = le ? LE(x, p) : LT(x, p);                                                                          \
            int cl = __builtin_popcount(l);                                                                        \
            if (W == 8) {                                                                                          \
                __m128i ix = _mm_loadl_epi64((const __m128i *)&lower_first[(uint8_t)l]);                           \
                __m512i y = _mm512_permutexvar_epi64(_mm512_cvtepu8_epi64(ix), x);                                 \
                _mm512_storeu_si512(dst + ls, y);                                                                  \
                _mm512_storeu_si512(dst + rs - W, y);                                                              \
            } else {                                                                                               \
                M hi = (M)((1u << (W - cl)) - 1);                                                                  \
                _mm512_storeu_si512(dst + ls, _mm512_maskz_compress_##E(l, x));                                    \
                _mm512_mask_storeu_##E(dst + rs - (W - cl), hi, _mm512_maskz_compress_##E((M)~l, x));              \
            }                                                                                                      \
            ls += cl;                                                                                              \
            rs -= W - cl;                                                                                          \
        }                                                                                                          \
        return ls;                                                                                                 \
    }                                                                                                              \
    static AVX512 int64_t S##_split(const T *src, T *dst, int64_t n, __m512i p, int lk)                            \
    {                                                                                                              \
        switch (lk) {                                                                                              \
        case 0: return S##_part(src, dst, n, p, false, 0);                                                         \
        case 2: return S##_part(src, dst, n, p, false, 2);                                                         \
        default: return S##_part(src, dst, n, p, false, 1);                                                        \
        }                                                                                                          \
    }                                                                                                              \
    static AVX512 int64_t S##_split_le(const T *src, T *dst, int64_t n, __m512i p)                                 \
    {                                                                                                              \
        return S##_part(src, dst, n, p, true, 1);                                                                  \
    }                                                                                                              \
    /* v[0..n) (numbers of kind sk) sorted, t[0..n) scratch: each split moves                                      \
     * the keys across, so they are in t when in_t, and the sorted numbers                                         \
     * end in v. lk: what the numbers are now (the kind, until the first                                           \
     * split makes them keys: 1). x: where the numbers are at first when                                           \
     * not in v (apart from v and t; then in_t is false), so the first split                                       \
     * reads them there and no copy into v is made. */                                                             \
    static AVX512 void S##_qsort(const T *x, T *v, T *t, int64_t n, int depth, bool in_t, int lk, int sk)          \
    {                                                                                                              \
        while (n > NETR * W) {                                                                                     \
            const T *src = x ? x : in_t ? t : v;                                                                   \
            T *dst = in_t ? v : t;                                                                                 \
            if (depth-- == 0) { /* degenerate input: the introsort sorts the keys */                               \
                if (src != v)                                                                                      \
                    memcpy(v, src, (size_t)n * sizeof *v);                                                         \
                S##_convert(v, n, lk, 1);                                                                          \
                FALLBACK(v, n);                                                                                    \
                S##_convert(v, n, sk, 0);                                                                          \
                return;                                                                                            \
            }                                                                                                      \
            T pk = S##_pivot(src, n, lk);                                                                          \
            __m512i p = _mm512_set1_##E(pk);                                                                       \
            int64_t m = S##_split(src, dst, n, p, lk);                                                             \
            lk = 1;                                                                                                \
            x = NULL;                                                                                              \
            if (m == 0) { /* p is the smallest: its copies are done */                                             \
                T *back = in_t ? t : v; /* split back where the keys came from (v if from x) */                    \
                m = S##_split_le(dst, back, n, p);                                                                 \
                in_t = back == t;                                                                                  \
                T y = S##_unkey1(pk, sk);                                                                          \
                for (int64_t i = 0; i < m; i++)                                                                    \
                    memcpy(&v[i], &y, sizeof y);                                                                   \
            } else if (m < n - m) { /* recurse into the smaller part */                                            \
                S##_qsort(NULL, v, t, m, depth, !in_t, 1, sk);                                                     \
                in_t = !in_t;                                                                                      \
            } else {                                                                                               \
                S##_qsort(NULL, v + m, t + m, n - m, depth, !in_t, 1, sk);                                         \
                in_t = !in_t;                                                                                      \
                n = m;                                                                                             \
                continue;                                                                                          \
            }                                                                                                      \
            v += m;                                                                                                \
            t += m;                                                                                                \
            n -= m;                                                                                                \
        }                                                                                                          \
        S##_net(x ? x : in_t ? t : v, v, n, lk, sk);                                                               \
    }

#define FLOAT_NAN(x) _mm512_cmp_pd_mask(_mm512_castsi512_pd(x), _mm512_castsi512_pd(x), _CMP_UNORD_Q)
#define FLOAT_QNAN INT64_C(0x7ff8000000000000)
DEFINE_VSORT(v64, int64_t, 8, __mmask8, epi64, INT64_MAX, _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), 32, s_i64_sort,
        _mm512_min_epi64, _mm512_max_epi64, _mm512_cmplt_epi64_mask, _mm512_cmple_epi64_mask)
#undef FLOAT_NAN
#undef FLOAT_QNAN
#define FLOAT_NAN(x) _mm512_cmp_ps_mask(_mm512_castsi512_ps(x), _mm512_castsi512_ps(x), _CMP_UNORD_Q)
#define FLOAT_QNAN INT32_C(0x7fc00000)
DEFINE_VSORT(v32, int32_t, 16, __mmask16, epi32, INT32_MAX,
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 32, s_i32_sort,
        _mm512_min_epi32, _mm512_max_epi32, _mm512_cmplt_epi32_mask, _mm512_cmple_epi32_mask)

#undef FLOAT_NAN
#undef FLOAT_QNAN

/* v[0..n) of `bytes`-byte numbers of the given kind (as radix_sort's)
 * sorted by the vector quicksort, read from `from` when not NULL (apart
 * from v: then v is only written); false (nothing done) when the CPU lacks
 * AVX-512F or there is no memory for the scratch copy. */
static bool vsort(const void *from, void *v, int64_t n, int bytes, int kind)
{
    if (!__builtin_cpu_supports("avx512f"))
        return false;
    char stack[16384];
    void *t = n * bytes <= (int64_t)sizeof stack ? stack : malloc((size_t)n * (size_t)bytes);
    if (!t)
        return false;
    int depth = 2 * (64 - __builtin_clzll((unsigned long long)n | 1));
    if (bytes == 8)
        v64_qsort(from, v, t, n, depth, false, kind, kind);
    else
        v32_qsort(from, v, t, n, depth, false, kind, kind);
    if (t != stack)
        free(t);
    return true;
}
#else
static bool vsort(const void *from, void *v, int64_t n, int bytes, int kind)
{
    (void)from, (void)v, (void)n, (void)bytes, (void)kind;
    return false;
}
#endif

#define RADIX_MIN 256 /* shorter arrays sort faster by comparisons */

static void f32_sort(float *v, int64_t n)
{
    if (vsort(NULL, v, n, 4, 2))
        return;
    int64_t m = nan_to_end_float(v, n);
    if (m < RADIX_MIN || !radix_sort(v, m, 4, 2))
        p_f32_sort(v, m);
}

static void f64_sort(double *v, int64_t n)
{
    if (vsort(NULL, v, n, 8, 2))
        return;
    int64_t m = nan_to_end_double(v, n);
    if (m < RADIX_MIN || !radix_sort(v, m, 8, 2))
        p_f64_sort(v, m);
}

/* float16: NaNs to the end, the rest in the total order (radix when long). */
static void f16_sort(uint16_t *v, int64_t n)
{
    int64_t m = nan_to_end_half(v, n);
    if (m < RADIX_MIN || !radix_sort(v, m, 2, 2))
        p_f16_sort(v, m);
}

static int64_t f16_unique(uint16_t *v, int64_t n)
{
    f16_sort(v, n);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) /* the first of equal values (-0.0 before 0.0) and of the NaNs */
        if (m == 0 || LT_HALF(v[m - 1], v[i]))
            v[m++] = v[i];
    return m;
}

/* Complex np.unique as NumPy 2.4's hash table gives it, sorted: of equal
 * values the first in v's order (a stable sort keeps it first), one value
 * for all those with a NaN, the first of them. Without memory for the
 * permutation, v sorted in place: the first in sorted order. */
#define CPLX_UNIQUE(N, T, LT)                                                                                        \
    static int64_t N##_unique_first(T *v, int64_t n)                                                                 \
    {                                                                                                                \
        if (n < 2)                                                                                                   \
            return n;                                                                                                \
        int64_t *ix = malloc((size_t)n * 2 * sizeof *ix);                                                            \
        T *c = ix ? malloc((size_t)n * sizeof *c) : NULL;                                                            \
        if (c) {                                                                                                     \
            memcpy(c, v, (size_t)n * sizeof *c);                                                                     \
            N##_argsort((const char *)c, (int64_t)sizeof *c, n, ix, ix + n);                                         \
        } else {                                                                                                     \
            N##_sort(v, n);                                                                                          \
        }                                                                                                            \
        const T *src = c ? c : v; /* element i in sorted order: src[c ? ix[i] : i], read before v[m <= i] is set */ \
        int64_t m = 0, nan = -1;                                                                                     \
        for (int64_t i = 0; i < n; i++) {                                                                            \
            int64_t j = c ? ix[i] : i;                                                                               \
            T x = src[j];                                                                                            \
            if (NAN_OF(x.re) || NAN_OF(x.im)) {                                                                      \
                if (nan < 0 || j < nan)                                                                              \
                    nan = j;                                                                                         \
            } else if (m == 0 || LT(v[m - 1], x)) {                                                                  \
                v[m++] = x;                                                                                          \
            }                                                                                                        \
        }                                                                                                            \
        if (nan >= 0) /* the NaNs sort last: v[nan] is not overwritten */                                            \
            v[m++] = src[nan];                                                                                       \
        free(ix);                                                                                                    \
        free(c);                                                                                                     \
        return m;                                                                                                    \
    }
CPLX_UNIQUE(s_c64, c64_t, LT_C64)
CPLX_UNIQUE(s_c128, c128_t, LT_C128)

/* Integers of 4 and 8 bytes: radix when long. */
#define RADIX_INT(T, NAME, BYTES, KIND)                                                                              \
    static void T##_radix_sort(NAME *v, int64_t n)                                                                   \
    {                                                                                                                \
        if (!vsort(NULL, v, n, BYTES, KIND) && (n < RADIX_MIN || !radix_sort(v, n, BYTES, KIND)))                                                         \
            s_##T##_sort(v, n);                                                                                      \
    }
RADIX_INT(i32, int32_t, 4, 1)
RADIX_INT(u32, uint32_t, 4, 0)
RADIX_INT(i64, int64_t, 8, 1)
RADIX_INT(u64, uint64_t, 8, 0)

/* kth at or past the numbers land on NaNs, which are already in place. */
static void f32_partition(float *v, int64_t n, const int64_t *kth, int64_t nk)
{
    int64_t m = nan_to_end_float(v, n), c = 0;
    while (c < nk && kth[c] < m)
        c++;
    p_f32_partition(v, m, kth, c);
}

static void f64_partition(double *v, int64_t n, const int64_t *kth, int64_t nk)
{
    int64_t m = nan_to_end_double(v, n), c = 0;
    while (c < nk && kth[c] < m)
        c++;
    p_f64_partition(v, m, kth, c);
}

/* One dispatch per operation over the dtypes (bool sorts as its bytes). */
#define DISPATCH(dt, OP, ...)                                                                                        \
    switch ((ug_dtype)(dt)) {                                                                                        \
    case UG_BOOL: OP(s_b, __VA_ARGS__); break;                                                                       \
    case UG_INT8: OP(s_i8, __VA_ARGS__); break;                                                                      \
    case UG_UINT8: OP(s_u8, __VA_ARGS__); break;                                                                     \
    case UG_INT16: OP(s_i16, __VA_ARGS__); break;                                                                    \
    case UG_UINT16: OP(s_u16, __VA_ARGS__); break;                                                                   \
    case UG_INT32: OP(s_i32, __VA_ARGS__); break;                                                                    \
    case UG_UINT32: OP(s_u32, __VA_ARGS__); break;                                                                   \
    case UG_INT64: OP(s_i64, __VA_ARGS__); break;                                                                    \
    case UG_UINT64: OP(s_u64, __VA_ARGS__); break;                                                                   \
    case UG_FLOAT32: OP(s_f32, __VA_ARGS__); break;                                                                  \
    case UG_FLOAT64: OP(s_f64, __VA_ARGS__); break;                                                                  \
    case UG_FLOAT16: OP(s_f16, __VA_ARGS__); break;                                                                  \
    case UG_COMPLEX64: OP(s_c64, __VA_ARGS__); break;                                                                \
    case UG_COMPLEX128: OP(s_c128, __VA_ARGS__); break;                                                              \
    default: break;                                                                                                  \
    }

#define OP_SORT(N, v, n) N##_sort((void *)(v), n)
#define OP_PART(N, v, n, k, nk) N##_partition((void *)(v), n, k, nk)
#define s_f32_sort f32_sort /* the float and wide int entries of DISPATCH for sort and partition */
#define s_f64_sort f64_sort
#define s_i32_sort i32_radix_sort
#define s_u32_sort u32_radix_sort
#define s_i64_sort i64_radix_sort
#define s_u64_sort u64_radix_sort
#define s_f32_partition f32_partition
#define s_f64_partition f64_partition
#define s_f16_sort f16_sort
#define s_f16_unique f16_unique
#define s_c64_unique s_c64_unique_first
#define s_c128_unique s_c128_unique_first
#define OP_ARGSORT(N, p, s, n, ix, tmp) N##_argsort(p, s, n, ix, tmp)
#define OP_UNIQUE(N, v, n, out) (*(out) = N##_unique((void *)(v), n))

void rt_sort(void *v, int64_t n, int32_t dt) { DISPATCH(dt, OP_SORT, v, n) }

/* The dtypes vsort takes: their size and kind (as radix_sort's); 0 for the rest. */
static int vsort_kind(int32_t dt, int *bytes)
{
    switch ((ug_dtype)dt) {
    case UG_INT32: *bytes = 4; return 1;
    case UG_UINT32: *bytes = 4; return 0;
    case UG_FLOAT32: *bytes = 4; return 2;
    case UG_INT64: *bytes = 8; return 1;
    case UG_UINT64: *bytes = 8; return 0;
    case UG_FLOAT64: *bytes = 8; return 2;
    default: *bytes = 0; return 0;
    }
}

void rt_sort_copy(const void *src, void *dst, int64_t n, int32_t dt)
{
    int bytes, kind = vsort_kind(dt, &bytes);
    if (n <= 0)
        return;
    size_t size = (size_t)n * (bytes ? (size_t)bytes : ug_dtype_size((ug_dtype)dt));
    bool apart = (const char *)src + size <= (const char *)dst || (const char *)dst + size <= (const char *)src;
    if (bytes && apart && vsort(src, dst, n, bytes, kind))
        return;
    if (src != dst)
        memmove(dst, src, size);
    rt_sort(dst, n, dt);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void rt_partition(void *v, int64_t n, int32_t dt, int64_t *kth, int64_t nk)
{
    qsort(kth, (size_t)nk, sizeof *kth, cmp_i64); /* kth is the caller's scratch copy */
    DISPATCH(dt, OP_PART, v, n, kth, nk)
}

void rt_argsort(const void *p, int64_t stride, int64_t n, int32_t dt, int64_t *ix, int64_t *tmp)
{
    DISPATCH(dt, OP_ARGSORT, (const char *)p, stride, n, ix, tmp)
}

int64_t rt_unique(void *v, int64_t n, int32_t dt)
{
    int64_t m = n;
    DISPATCH(dt, OP_UNIQUE, v, n, &m)
    return m;
}
