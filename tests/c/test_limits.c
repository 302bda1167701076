/* test_limits.c — resource limits through the public API: each case either
 * works or fails with a clear error, in bounded time and memory.
 *   - a 10 000-line kernel compiles and computes the right value;
 *   - 1000 parameters: a clear error (a ufunc has at most 64 operands);
 *   - huge literals: integers beyond 64 bits are an error; 1e999 is inf;
 *   - operator chains of 1900 terms work; 30000 terms, and 30000 elif
 *     branches, give a positioned error (not a stack overflow);
 *   - 64-dimensional operands broadcast and compute; 65 are refused;
 *   - more than 2^31 elements (zero-stride views) in a core dimension and
 *     in the loop dimension;
 *   - (absurd thread counts: refused, in test_parallel_e2e.c);
 *   - many create/call/free cycles of distinct ufuncs: resident memory stays
 *     flat (JIT code of freed ufuncs is released).  UFUNCGEN_LIMITS_CYCLES
 *     sets the count (default 300 to keep CI short; the figure is 10000). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/c/sanitizers.h"
#include "ufuncgen/ufuncgen.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

static ug_context *ctx;
static void setup(void) { ctx = ug_context_new(NULL); }
static void teardown(void) { ug_context_free(ctx); }

static double apply1(ug_ufunc *f, double x)
{
    double y = NAN;
    ug_operand ops[2];
    ug_operand_init(&ops[0], &x, UG_FLOAT64, 0, NULL, NULL);
    ug_operand_init(&ops[1], &y, UG_FLOAT64, 0, NULL, NULL);
    ug_error err;
    ck_assert_msg(ug_call(f, ops, 2, &err) == UG_OK, "%s", err.msg);
    return y;
}

START_TEST(ten_thousand_line_kernel)
{
    enum { LINES = 10000 };
    size_t cap = (size_t)LINES * 40 + 100, n = 0;
    char *src = malloc(cap);
    n += (size_t)snprintf(src + n, cap - n, "def big(x):\n    s = 0.0\n");
    for (int i = 0; i < LINES; i++)
        n += (size_t)snprintf(src + n, cap - n, "    s = s + x * %d.0\n", i % 7);
    snprintf(src + n, cap - n, "    return s\n");
    const char *sig = "d->d";
    ug_ufunc *f = NULL;
    ck_assert_msg(ug_vectorize(ctx, src, &sig, 1, NULL, &f) == UG_OK, "%s", ug_errmsg(ctx));
    double want = 0; /* sum over i of (i % 7), times x */
    for (int i = 0; i < LINES; i++)
        want += i % 7;
    ck_assert_double_eq(apply1(f, 2.0), 2.0 * want);
    ug_ufunc_free(f);
    free(src);
}
END_TEST

/* Source text of "def f(x):\n    return x OP x OP ... x\n" with n operands. */
static char *chain_src(const char *op, int n)
{
    size_t cap = (size_t)n * (strlen(op) + 4) + 64, len = 0;
    char *src = malloc(cap);
    len += (size_t)snprintf(src, cap, "def f(x):\n    return x");
    for (int i = 1; i < n; i++)
        len += (size_t)snprintf(src + len, cap - len, " %s x", op);
    snprintf(src + len, cap - len, "\n");
    return src;
}

/* Operator chains and elif chains (trees one level deeper per operator or
 * branch, which recursive passes walk): long ones work up to the bound and
 * beyond it fail with a positioned error -- never a stack overflow (a
 * 30000-term sum used to crash). */
START_TEST(long_chains)
{
    const char *sig = "d->d";
    ug_ufunc *f = NULL;
    char *ok = chain_src("+", 1900);
    ck_assert_msg(ug_vectorize(ctx, ok, &sig, 1, NULL, &f) == UG_OK, "%s", ug_errmsg(ctx));
    ck_assert_double_eq(apply1(f, 0.5), 950.0);
    ug_ufunc_free(f);
    free(ok);
    static const char *ops[] = {"+", "*", "**", "and", "or", "&"};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        char *src = chain_src(ops[k], 30000);
        const char *s = strcmp(ops[k], "&") ? sig : "q->q";
        f = (ug_ufunc *)1;
        ck_assert_int_eq(ug_vectorize(ctx, src, &s, 1, NULL, &f), UG_ESYNTAX);
        ck_assert_ptr_null(f);
        ck_assert_msg(strstr(ug_errmsg(ctx), "nested too deeply") && ug_errline(ctx) == 2 && ug_errcolumn(ctx) > 10,
                      "%s: %s", ops[k], ug_errmsg(ctx));
        free(src);
    }
    enum { BRANCHES = 30000 };
    size_t cap = (size_t)BRANCHES * 48 + 100, n = 0;
    char *src = malloc(cap);
    n += (size_t)snprintf(src, cap, "def f(x):\n    if x < 0:\n        return 0.0\n");
    for (int i = 1; i < BRANCHES; i++)
        n += (size_t)snprintf(src + n, cap - n, "    elif x < %d:\n        return %d.0\n", i, i);
    snprintf(src + n, cap - n, "    return x\n");
    ck_assert_int_eq(ug_vectorize(ctx, src, &sig, 1, NULL, &f), UG_EUNSUPPORTED);
    ck_assert_msg(strstr(ug_errmsg(ctx), "'elif'") && ug_errline(ctx) == 4 + 2 * 500 && ug_errcolumn(ctx) == 5, "%s",
                  ug_errmsg(ctx));
    free(src);
}
END_TEST

START_TEST(thousand_parameters)
{
    size_t cap = 20000, n = 0;
    char *src = malloc(cap);
    n += (size_t)snprintf(src + n, cap - n, "def many(");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(src + n, cap - n, "%sa%d", i ? ", " : "", i);
    snprintf(src + n, cap - n, "):\n    return a0 + a999\n");
    ug_ufunc *f = (ug_ufunc *)1;
    ug_status st = ug_vectorize(ctx, src, NULL, 0, NULL, &f);
    ck_assert_msg(st == UG_ESYNTAX || st == UG_ETYPE, "%s", ug_status_name(st));
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(ug_errmsg(ctx), "parameters") && ug_errline(ctx) == 1 && ug_errcolumn(ctx) > 1, "%s",
                  ug_errmsg(ctx));
    /* and as a gufunc with a layout of 1000 operands: the layout is refused */
    ck_assert_int_ne(ug_guvectorize(ctx, src, "(n)->()", NULL, 0, NULL, &f), UG_OK);
    free(src);
}
END_TEST

START_TEST(huge_literals)
{
    const char *sig = "d->d";
    ug_ufunc *f = (ug_ufunc *)1;
    ck_assert_int_eq(ug_vectorize(ctx, "def f(x):\n    return x + 123456789012345678901234567890\n", &sig, 1, NULL, &f),
                     UG_ESYNTAX);
    ck_assert_int_eq(ug_errline(ctx), 2);
    ck_assert_msg(strstr(ug_errmsg(ctx), "too large"), "%s", ug_errmsg(ctx));
    ck_assert_int_eq(ug_vectorize(ctx, "def f(x):\n    return x + 1e999\n", &sig, 1, NULL, &f), UG_OK);
    ck_assert(isinf(apply1(f, 1.0)));
    ug_ufunc_free(f);
    /* the largest uint64 literal is fine where it fits */
    const char *usig = "Q->Q";
    ck_assert_int_eq(ug_vectorize(ctx, "def g(x):\n    return x & 18446744073709551615\n", &usig, 1, NULL, &f), UG_OK);
    uint64_t in = 0xdeadbeefcafef00dull, out = 0;
    ug_operand ops[2];
    ug_operand_init(&ops[0], &in, UG_UINT64, 0, NULL, NULL);
    ug_operand_init(&ops[1], &out, UG_UINT64, 0, NULL, NULL);
    ck_assert_int_eq(ug_call(f, ops, 2, NULL), UG_OK);
    ck_assert(out == in);
    ug_ufunc_free(f);
}
END_TEST

/* More operands than the executor keeps on its stack (layout/exec.c,
 * SMALL_OPS): 7 inputs and an output, 2-d with a broadcast row, a
 * transposed input and an int32 input cast to float64 (a temporary), then a
 * call that fails on shapes (nothing leaks, nothing is written). */
START_TEST(many_operands_through_ug_call)
{
    const char *sig = "ddddddd->d";
    ug_ufunc *f = NULL;
    ck_assert_int_eq(ug_vectorize(ctx, "def k(a, b, c, d, e, g, h):\n    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * g + 7 * h\n",
                                  &sig, 1, NULL, &f), UG_OK);
    enum { R = 3, C = 5 };
    double in[6][R * C], row[C], out[R * C];
    int32_t iv[R * C];
    for (int i = 0; i < R * C; i++) {
        for (int k = 0; k < 6; k++)
            in[k][i] = (i * 7 + k * 13) % 11 - 5.0;
        iv[i] = i * 3 - 20;
        out[i] = -1;
    }
    for (int j = 0; j < C; j++)
        row[j] = j * 0.5;
    ug_operand ops[8];
    int64_t shape[2] = {R, C}, tstrides[2] = {8, 8 * R}; /* in[1] read as its transpose's transpose */
    for (int k = 0; k < 6; k++)
        ug_operand_init(&ops[k], in[k], UG_FLOAT64, 2, shape, k == 1 ? tstrides : NULL);
    ug_operand_init(&ops[2], row, UG_FLOAT64, 1, (int64_t[]){C}, NULL); /* broadcast over rows */
    ug_operand_init(&ops[6], iv, UG_INT32, 2, shape, NULL);             /* cast to float64 */
    ug_operand_init(&ops[7], out, UG_FLOAT64, 2, shape, NULL);
    ug_error err;
    ck_assert_msg(ug_call(f, ops, 8, &err) == UG_OK, "%s", err.msg);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            int i = r * C + c;
            double want = in[0][i] + 2 * in[1][c * R + r] + 3 * row[c] + 4 * in[3][i] + 5 * in[4][i] + 6 * in[5][i] +
                          7 * (double)iv[i];
            ck_assert_msg(out[i] == want, "(%d, %d): %g want %g", r, c, out[i], want);
        }
    out[0] = -1;
    ug_operand_init(&ops[5], in[5], UG_FLOAT64, 1, (int64_t[]){4}, NULL); /* 4 does not broadcast to 5 */
    ck_assert_int_eq(ug_call(f, ops, 8, &err), UG_ESHAPE);
    ck_assert(out[0] == -1);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(sixty_four_dims)
{
    const char *sig = "dd->d";
    ug_ufunc *f = NULL;
    ck_assert_int_eq(ug_vectorize(ctx, "lambda a, b: a * b\n", &sig, 1, NULL, &f), UG_OK);
    /* a: 64 dims, all 1 except dims 0 and 63 (2 each); b: broadcast 1-d of 2 */
    double a[4] = {1, 2, 3, 4}, b[2] = {10, 100}, out[4];
    ug_operand ops[3];
    int64_t shape[UG_MAXDIMS], strides[UG_MAXDIMS];
    for (int d = 0; d < UG_MAXDIMS; d++) {
        shape[d] = 1;
        strides[d] = 0;
    }
    shape[0] = shape[63] = 2;
    strides[0] = 16;
    strides[63] = 8;
    ug_operand_init(&ops[0], a, UG_FLOAT64, UG_MAXDIMS, shape, strides);
    ug_operand_init(&ops[1], b, UG_FLOAT64, 1, (int64_t[]){2}, NULL);
    ug_operand_init(&ops[2], out, UG_FLOAT64, UG_MAXDIMS, shape, NULL);
    ug_error err;
    ck_assert_msg(ug_call(f, ops, 3, &err) == UG_OK, "%s", err.msg);
    ck_assert_double_eq(out[0], 10);
    ck_assert_double_eq(out[1], 200);
    ck_assert_double_eq(out[2], 30);
    ck_assert_double_eq(out[3], 400);
    /* 65 dimensions cannot be described */
    ops[0].ndim = UG_MAXDIMS + 1;
    ck_assert_int_eq(ug_call(f, ops, 3, &err), UG_EINVAL);
    ck_assert_msg(strstr(err.msg, "ndim 65"), "%s", err.msg);
    ug_ufunc_free(f);
}
END_TEST

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * 4;
}

/* More than 2^31 elements (zero-stride views, no memory behind them): a
 * gufunc summing a core dimension of 2^31 + 5 elements, and a scalar
 * ufunc whose 2^31 + 5 loop items all write one element (out= a zero-stride
 * view too): counts past 32 bits stay exact. */
START_TEST(beyond_two_to_the_31_elements)
{
    if (RUNNING_ON_VALGRIND)
        return; /* billions of iterations: seconds natively, hours under valgrind */
    const int64_t n = (INT64_C(1) << 31) + 5;
    ug_ufunc *f = NULL;
    const char *sig = "void(int64[:], int64[:])";
    ck_assert_int_eq(ug_guvectorize(ctx, "def total(a, out):\n    s = 0\n    for i in range(len(a)):\n        s += a[i]\n"
                                         "    out[0] = s\n", "(n)->()", &sig, 1, NULL, &f), UG_OK);
    int64_t one = 1, sum = 0;
    ug_operand ops[3];
    ug_operand_init(&ops[0], &one, UG_INT64, 1, &n, (int64_t[]){0});
    ug_operand_init(&ops[1], &sum, UG_INT64, 0, NULL, NULL);
    ug_error err;
    ck_assert_msg(ug_call(f, ops, 2, &err) == UG_OK, "%s", err.msg);
    ck_assert_int_eq(sum, n);
    ug_ufunc_free(f);
    /* loop dimension: zero-stride inputs, a real 2 GiB int8 output (an
     * output with stride 0 would overlap itself: refused, as NumPy does) */
    const char *ssig = "bb->b";
    ck_assert_int_eq(ug_vectorize(ctx, "lambda a, b: a + b\n", &ssig, 1, NULL, &f), UG_OK);
    int8_t a = 20, b = 22, c = 0;
    ug_operand_init(&ops[0], &a, UG_INT8, 1, &n, (int64_t[]){0});
    ug_operand_init(&ops[1], &b, UG_INT8, 1, &n, (int64_t[]){0});
    ug_operand_init(&ops[2], &c, UG_INT8, 1, &n, (int64_t[]){0});
    ck_assert_int_eq(ug_call(f, ops, 3, &err), UG_EOVERLAP);
    ck_assert_msg(strstr(err.msg, "overlap itself"), "%s", err.msg);
    int8_t *out = malloc((size_t)n);
    ck_assert_ptr_nonnull(out);
    ug_operand_init(&ops[2], out, UG_INT8, 1, &n, NULL);
    ck_assert_msg(ug_call(f, ops, 3, &err) == UG_OK, "%s", err.msg);
    for (int64_t i = 0; i < n; i += n / 1000 + 1)
        ck_assert_int_eq(out[i], 42);
    ck_assert_int_eq(out[n - 1], 42);
    free(out);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(create_free_cycles_memory_flat)
{
    const char *env = getenv("UFUNCGEN_LIMITS_CYCLES");
    int cycles = env ? atoi(env) : 300;
    if (cycles < 100)
        cycles = 100;
    const char *sig = "d->d";
    long before = 0, mid = 0;
    /* a third of the cycles to warm up: the compile pool's threads and their
     * malloc arenas start when the machine lets them (under a parallel test
     * run, resident memory still rose by 2 MB after the tenth cycle once, and
     * twice after the warm-up once loads got faster). So the rest is measured
     * in two halves and the smaller growth counts: a one-time step shows in
     * one half, a leak in both. */
    int warm = cycles / 3, half = (cycles - warm) / 2;
    for (int i = 0; i < cycles; i++) {
        char src[96];
        snprintf(src, sizeof src, "def k%d(x):\n    return x * 2.0 + %d.0\n", i, i); /* distinct code each time */
        ug_ufunc *f = NULL;
        ck_assert_msg(ug_vectorize(ctx, src, &sig, 1, NULL, &f) == UG_OK, "%s", ug_errmsg(ctx));
        ck_assert_double_eq(apply1(f, 1.0), 2.0 + i);
        ug_ufunc_free(f);
        if (i == warm)
            before = rss_kb();
        if (i == warm + half)
            mid = rss_kb();
    }
    long after = rss_kb(), grew = mid - before < after - mid ? mid - before : after - mid;
    double per = (double)grew * 1024.0 / half;
    fprintf(stderr, "create/call/free: %d distinct ufuncs, resident %ld kB after %d, %ld kB after %d, %ld kB at the end "
            "(%.0f B/cycle in the calmer half)\n", cycles, before, warm, mid, warm + half, after, per);
    /* A leak of the JIT code or of a module would cost several kB per cycle.
     * AddressSanitizer and valgrind keep freed blocks in quarantine, so
     * resident memory says nothing there (their leak checkers do instead). */
    if (RUNNING_ON_VALGRIND || UG_TEST_ASAN)
        return;
    /* The allocator's own drift (fragmentation, a busy machine's page
     * reclaim) reached ~700 B/cycle here; a leaked module is several kB. */
    ck_assert_msg(per < 2048, "resident memory grows by %.0f bytes per create/free cycle", per);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, ten_thousand_line_kernel);
    tcase_add_test(tc, long_chains);
    tcase_add_test(tc, beyond_two_to_the_31_elements);
    tcase_add_test(tc, thousand_parameters);
    tcase_add_test(tc, huge_literals);
    tcase_add_test(tc, sixty_four_dims);
    tcase_add_test(tc, many_operands_through_ug_call);
    tcase_add_test(tc, create_free_cycles_memory_flat);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
