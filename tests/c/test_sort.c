/* test_sort.c — runtime/sort.c's paths for CPUs without AVX-512, on any CPU:
 * the file is compiled here with RT_SORT_SCALAR, which leaves the vector
 * quicksort out (the Python tests check the vector path against np.sort).
 * np.sort and rt_sort_copy of 4- and 8-byte numbers against qsort with
 * NumPy's order: NaN last, -0.0 and 0.0 equal (the zeros' signs kept). */
#define RT_SORT_SCALAR 1
#include "runtime/sort.c"

#include <check.h>
#include <stdio.h>

static uint64_t rng = 88172645463325252u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return LT_FLT(x, y) ? -1 : LT_FLT(y, x) ? 1 : 0;
}

/* sorted, a permutation of the input (same NaN and -0.0 counts), -0.0 first */
static void check_f64(const double *in, const double *out, int64_t n)
{
    double *want = malloc((size_t)n * sizeof *want + 1);
    memcpy(want, in, (size_t)n * sizeof *want);
    qsort(want, (size_t)n, sizeof *want, cmp_f64);
    int64_t neg_in = 0, neg_out = 0;
    for (int64_t i = 0; i < n; i++) {
        ck_assert_msg(want[i] == out[i] || (want[i] != want[i] && out[i] != out[i]), "n %lld at %lld", (long long)n,
                (long long)i);
        neg_in += in[i] == 0 && signbit(in[i]);
        neg_out += out[i] == 0 && signbit(out[i]);
    }
    ck_assert_int_eq(neg_in, neg_out);
    free(want);
}

static double pick(int kind, int64_t i, int64_t n)
{
    static const double special[] = {NAN, -0.0, 0.0, INFINITY, -INFINITY, 1.0, -1.0};
    switch (kind) {
    case 0: return (double)(int64_t)next() / 1e15;
    case 1: return special[next() % 7];
    case 2: return 3.0;
    case 3: return (double)i;
    case 4: return (double)(n - i);
    default: return (double)(next() % 3);
    }
}

START_TEST(float64_scalar_paths)
{
    static const int64_t lens[] = {0, 1, 2, 15, 16, 17, 255, 256, 257, 1000, 4097};
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
        for (int kind = 0; kind < 6; kind++) {
            int64_t n = lens[l];
            double *in = malloc((size_t)n * sizeof *in + 1), *out = malloc((size_t)n * sizeof *out + 1);
            for (int64_t i = 0; i < n; i++)
                in[i] = pick(kind, i, n);
            rt_sort_copy(in, out, n, UG_FLOAT64);
            check_f64(in, out, n);
            memcpy(out, in, (size_t)n * sizeof *out);
            rt_sort(out, n, UG_FLOAT64);
            check_f64(in, out, n);
            free(in);
            free(out);
        }
}
END_TEST

#define INT_CASE(NAME, T, DT)                                                                                        \
    static int cmp_##NAME(const void *a, const void *b)                                                              \
    {                                                                                                                \
        T x = *(const T *)a, y = *(const T *)b;                                                                      \
        return (x > y) - (x < y);                                                                                    \
    }                                                                                                                \
    START_TEST(NAME##_scalar_paths)                                                                                  \
    {                                                                                                                \
        static const int64_t lens[] = {1, 16, 17, 256, 257, 1000, 4097};                                            \
        for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {                                                    \
            int64_t n = lens[l];                                                                                     \
            T *in = malloc((size_t)n * sizeof *in), *out = malloc((size_t)n * sizeof *out);                          \
            for (int64_t i = 0; i < n; i++)                                                                          \
                in[i] = (T)(l % 2 ? next() : next() % 5 + (uint64_t)-2);                                             \
            rt_sort_copy(in, out, n, DT);                                                                            \
            qsort(in, (size_t)n, sizeof *in, cmp_##NAME);                                                            \
            ck_assert_int_eq(memcmp(in, out, (size_t)n * sizeof *in), 0);                                            \
            free(in);                                                                                                \
            free(out);                                                                                               \
        }                                                                                                            \
    }                                                                                                                \
    END_TEST
INT_CASE(int64, int64_t, UG_INT64)
INT_CASE(uint64, uint64_t, UG_UINT64)
INT_CASE(int32, int32_t, UG_INT32)
INT_CASE(uint32, uint32_t, UG_UINT32)

START_TEST(float32_scalar_paths)
{
    int64_t n = 3000;
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = i % 17 == 0 ? NAN : i % 13 == 0 ? -0.0f : (float)((int64_t)next() % 1000);
    rt_sort_copy(v, v, n, UG_FLOAT32); /* in place */
    int64_t nan = 0;
    for (int64_t i = 0; i < n; i++)
        nan += v[i] != v[i];
    ck_assert_int_eq(nan, (n + 16) / 17);
    for (int64_t i = 1; i < n - nan; i++)
        ck_assert(!(v[i] < v[i - 1]));
    free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sort");
    TCase *tc = tcase_create("scalar");
    tcase_add_test(tc, float64_scalar_paths);
    tcase_add_test(tc, float32_scalar_paths);
    tcase_add_test(tc, int64_scalar_paths);
    tcase_add_test(tc, uint64_scalar_paths);
    tcase_add_test(tc, int32_scalar_paths);
    tcase_add_test(tc, uint32_scalar_paths);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
