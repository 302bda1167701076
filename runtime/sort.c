/* sort.c — sorting and selection for array functions in kernels (np.sort,
 * a.sort(), np.argsort, np.partition, np.unique, and the sorted copies
 * behind np.median and np.quantile). Called from JIT code, bound as
 * absolute symbols (jit.c); no LLVM here.
 *
 * Order is NumPy's: numbers ascending, NaN after everything (so a sorted
 * float array ends with its NaNs), -0.0 and 0.0 equal. Floats have their
 * NaNs moved to the end first, so the rest compares with a plain `<`.
 * Arrays of 256 or more 4- and 8-byte numbers are radix-sorted (1.5-2x
 * faster than comparisons here); the rest use an introsort (quicksort with
 * median-of-three, insertion sort for short ranges, heapsort when the
 * recursion gets deep), so no input is quadratic;
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

/* a < b in NumPy's sort order (NaN last). */
#define LT_INT(a, b) ((a) < (b))
#define LT_FLT(a, b) ((a) < (b) || ((b) != (b) && (a) == (a)))

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

#define RADIX_MIN 256 /* shorter arrays sort faster by comparisons */

static void f32_sort(float *v, int64_t n)
{
    int64_t m = nan_to_end_float(v, n);
    if (m < RADIX_MIN || !radix_sort(v, m, 4, 2))
        p_f32_sort(v, m);
}

static void f64_sort(double *v, int64_t n)
{
    int64_t m = nan_to_end_double(v, n);
    if (m < RADIX_MIN || !radix_sort(v, m, 8, 2))
        p_f64_sort(v, m);
}

/* Integers of 4 and 8 bytes: radix when long. */
#define RADIX_INT(T, NAME, BYTES, KIND)                                                                              \
    static void T##_radix_sort(NAME *v, int64_t n)                                                                   \
    {                                                                                                                \
        if (n < RADIX_MIN || !radix_sort(v, n, BYTES, KIND))                                                         \
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
