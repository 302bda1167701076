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
 * networks where the CPU has AVX-512 (below); elsewhere arrays of 256 or
 * more of them are radix-sorted (1.5-2x faster than comparisons), and so
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
 * the median of W samples; a split moves the range to a scratch copy (or
 * back), each vector's keys below the pivot compressed to the front and the
 * others to the back (out of place, so loads never wait on the counts); a
 * range of 32 registers or fewer is sorted in registers (padded with the
 * largest key): its columns by Batcher's odd-even merge sort on whole
 * registers, each W x W block transposed, then runs merged by bitonic
 * merges. A pivot that is the range's smallest key splits off its copies
 * in a second pass, so duplicates cannot stall it; past 2 log2 n levels the
 * range goes to the introsort above. -0.0 sorts before 0.0 (NumPy's own
 * order for them is unspecified). Other CPUs keep the radix sort and the
 * introsort, and so does a clang build: clang 19 takes minutes over the
 * fully unrolled networks (gcc 12 seconds). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f")))
#define UNROLL _Pragma("GCC unroll 64")
#define INLINE __attribute__((always_inline))

/* the lanes i (of up to 16) with bit j set (a constant where inlined) */
static inline INLINE unsigned lanes_with(int j)
{
    return j == 1 ? 0xaaaa : j == 2 ? 0xcccc : j == 4 ? 0xf0f0 : j == 8 ? 0xff00 : 0;
}

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
        UNROLL for (int i = 0; i < 2 * s; i++)                                                                     \
            UNROLL for (int lj = __builtin_ctz(W) - 1; lj >= 0; lj--)                                              \
                r[i] = S##_cx(r[i], 2 * W, 1 << lj);                                                               \
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
     * next would). Each vector's lower keys are compressed and stored whole                                       \
     * at the front end (the spare lanes fall in the gap between the ends,                                         \
     * never narrower than a vector, and are overwritten later), its others                                        \
     * compressed and stored masked before the back end. */                                                        \
    static inline INLINE AVX512 int64_t S##_part(const T *src, T *dst, int64_t n, __m512i p, bool le, int lk)      \
    {                                                                                                              \
        int64_t ls = 0, rs = n, i = n % W;                                                                         \
        M valid = S##_first(i ? i : W);                                                                            \
        __m512i x = S##_key(_mm512_maskz_loadu_##E(valid, src), lk);                                               \
        for (i = i ? i : W;; i += W) {                                                                             \
            M l = (le ? LE(x, p) : LT(x, p)) & valid, r = (M)(~l & valid);                           \
            int cl = __builtin_popcount(l), cr = __builtin_popcount(r);                                            \
            _mm512_storeu_si512(dst + ls, _mm512_maskz_compress_##E(l, x));                                        \
            _mm512_mask_storeu_##E(dst + rs - cr, (M)((1u << cr) - 1), _mm512_maskz_compress_##E(r, x));           \
            ls += cl;                                                                                              \
            rs -= cr;                                                                                              \
            if (i == n)                                                                                            \
                return ls;                                                                                         \
            x = S##_key(_mm512_loadu_si512(src + i), lk);                                                          \
            valid = (M)-1;                                                                                         \
        }                                                                                                          \
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
     * split makes them keys: 1). */                                                                               \
    static AVX512 void S##_qsort(T *v, T *t, int64_t n, int depth, bool in_t, int lk, int sk)                      \
    {                                                                                                              \
        while (n > NETR * W) {                                                                                     \
            T *src = in_t ? t : v, *dst = in_t ? v : t;                                                            \
            if (depth-- == 0) { /* degenerate input: the introsort sorts the keys */                               \
                if (in_t)                                                                                          \
                    memcpy(v, t, (size_t)n * sizeof *v);                                                           \
                S##_convert(v, n, lk, 1);                                                                          \
                FALLBACK(v, n);                                                                                    \
                S##_convert(v, n, sk, 0);                                                                          \
                return;                                                                                            \
            }                                                                                                      \
            T pk = S##_pivot(src, n, lk);                                                                          \
            __m512i p = _mm512_set1_##E(pk);                                                                       \
            int64_t m = S##_split(src, dst, n, p, lk);                                                             \
            lk = 1;                                                                                                \
            if (m == 0) { /* p is the smallest: its copies are done */                                             \
                m = S##_split_le(dst, src, n, p);                                                                  \
                T x = S##_unkey1(pk, sk);                                                                          \
                for (int64_t i = 0; i < m; i++)                                                                    \
                    memcpy(&v[i], &x, sizeof x);                                                                   \
            } else if (m < n - m) { /* recurse into the smaller part */                                            \
                S##_qsort(v, t, m, depth, !in_t, 1, sk);                                                           \
                in_t = !in_t;                                                                                      \
            } else {                                                                                               \
                S##_qsort(v + m, t + m, n - m, depth, !in_t, 1, sk);                                               \
                in_t = !in_t;                                                                                      \
                n = m;                                                                                             \
                continue;                                                                                          \
            }                                                                                                      \
            v += m;                                                                                                \
            t += m;                                                                                                \
            n -= m;                                                                                                \
        }                                                                                                          \
        S##_net(in_t ? t : v, v, n, lk, sk);                                                                       \
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
 * sorted by the vector quicksort; false (nothing done) when the CPU lacks
 * AVX-512F or there is no memory for the scratch copy. */
static bool vsort(void *v, int64_t n, int bytes, int kind)
{
    if (!__builtin_cpu_supports("avx512f"))
        return false;
    char stack[16384];
    void *t = n * bytes <= (int64_t)sizeof stack ? stack : malloc((size_t)n * (size_t)bytes);
    if (!t)
        return false;
    int depth = 2 * (64 - __builtin_clzll((unsigned long long)n | 1));
    if (bytes == 8)
        v64_qsort(v, t, n, depth, false, kind, kind);
    else
        v32_qsort(v, t, n, depth, false, kind, kind);
    if (t != stack)
        free(t);
    return true;
}
#else
static bool vsort(void *v, int64_t n, int bytes, int kind)
{
    (void)v, (void)n, (void)bytes, (void)kind;
    return false;
}
#endif

#define RADIX_MIN 256 /* shorter arrays sort faster by comparisons */

static void f32_sort(float *v, int64_t n)
{
    if (vsort(v, n, 4, 2))
        return;
    int64_t m = nan_to_end_float(v, n);
    if (m < RADIX_MIN || !radix_sort(v, m, 4, 2))
        p_f32_sort(v, m);
}

static void f64_sort(double *v, int64_t n)
{
    if (vsort(v, n, 8, 2))
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
        if (!vsort(v, n, BYTES, KIND) && (n < RADIX_MIN || !radix_sort(v, n, BYTES, KIND)))                                                         \
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
