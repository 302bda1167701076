/* test_aot_jit.c — ufuncs compiled ahead of time against the JIT's, in one
 * process linked with the whole static libufuncgen: the host level's loops
 * of aot_kernels.ugk give the JIT's results bit for bit (contiguous, strided,
 * broadcast, parallel), and a kernel without signatures is compiled at first
 * use because the compiler is linked (the generated constructor finds
 * ug_vectorize). The JIT's ufuncs are made from the kernel sources of
 * aot_kernels.ugk itself. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_aot_k.h"
#include "ufuncgen/ufuncgen.h"

static ug_context *ctx;
static char *ugk; /* aot_kernels.ugk */

static void setup(void) { ctx = ug_context_new(NULL); }
static void teardown(void) { ug_context_free(ctx); }

/* The source block of kernel `name` in aot_kernels.ugk (malloc'd). */
static char *source_of(const char *name)
{
    char head[64];
    snprintf(head, sizeof head, "\nkernel %s\n", name);
    const char *k = strstr(ugk, head);
    ck_assert_msg(k != NULL, "kernel %s not in aot_kernels.ugk", name);
    const char *s = strstr(k, "\nsource\n");
    const char *e = s ? strstr(s, "\nend\n") : NULL;
    ck_assert(s && e);
    return strndup(s + 8, (size_t)(e - s - 8) + 1);
}

static ug_ufunc *jit(const char *name, const char *layout, const char *const *sigs, int n, ug_target target)
{
    char *src = source_of(name);
    ug_options o;
    ug_options_init(&o);
    o.target = target;
    o.boundscheck = !strcmp(name, "take");
    o.math = !strcmp(name, "logistic") ? UG_MATH_LIBM : UG_MATH_FAST;
    ug_ufunc *f = NULL;
    ug_status st = layout ? ug_guvectorize(ctx, src, layout, sigs, n, &o, &f) : ug_vectorize(ctx, src, sigs, n, &o, &f);
    ck_assert_msg(st == UG_OK, "%s: %s", name, ug_errmsg(ctx));
    free(src);
    return f;
}

enum { R = 3001, C = 37 };

static void fill(double *a, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = ((i * 7919) % 1000 - 500) * 0.0173;
    a[5] = NAN;
    a[6] = -INFINITY;
}

/* Both ufuncs on the same operands (outputs last, nout 1): the same bits. */
static void same(ug_ufunc *a, ug_ufunc *b, ug_operand *ops, int nops, void *out, size_t bytes)
{
    void *first = malloc(bytes);
    ck_assert_int_eq(ug_call(a, ops, nops, NULL), UG_OK);
    memcpy(first, out, bytes);
    memset(out, 0x5a, bytes);
    ck_assert_int_eq(ug_call(b, ops, nops, NULL), UG_OK);
    ck_assert_msg(!memcmp(first, out, bytes), "%s: AOT and JIT results differ", ug_ufunc_name(a));
    free(first);
}

START_TEST(host_level_is_the_jit_bit_for_bit)
{
    const char *const s1[] = {"f8->f8", "f4->f4"}, *const s2[] = {"f8->f8"},
                      *const s3[] = {"int64(int64, int64, int64)", "float64(float64, float64, float64)"},
                      *const s4[] = {"void(float64[:], int64, float64[:])"};
    struct {
        ug_ufunc *aot, *jit;
    } k[4] = {
        {test_aot_k_sigmoid(ctx), jit("sigmoid", NULL, s1, 2, UG_TARGET_CPU)},
        {test_aot_k_logistic(ctx), jit("logistic", NULL, s2, 1, UG_TARGET_CPU)},
        {test_aot_k_clamp(ctx), jit("clamp", NULL, s3, 2, UG_TARGET_CPU)},
        {test_aot_k_movmean(ctx), jit("movmean", "(n),()->(n)", s4, 1, UG_TARGET_PARALLEL)},
    };
    for (int i = 0; i < 4; i++)
        ck_assert_msg(k[i].aot != NULL, "%s", ug_errmsg(ctx));
    double *x = malloc(sizeof(double) * R * C), *y = malloc(sizeof(double) * R * C);
    fill(x, R * C);
    ug_operand ops[4];
    for (int f = 0; f < 2; f++) {
        /* contiguous 2-d, then every other row and column (strided), then a transposed view */
        ug_operand_init(&ops[0], x, UG_FLOAT64, 2, (int64_t[]){R, C}, NULL);
        ug_operand_init(&ops[1], y, UG_FLOAT64, 2, (int64_t[]){R, C}, NULL);
        same(k[f].aot, k[f].jit, ops, 2, y, sizeof(double) * R * C);
        ug_operand_init(&ops[0], x, UG_FLOAT64, 2, (int64_t[]){R / 2, C / 2}, (int64_t[]){16 * C, 16});
        ug_operand_init(&ops[1], y, UG_FLOAT64, 2, (int64_t[]){R / 2, C / 2}, NULL);
        same(k[f].aot, k[f].jit, ops, 2, y, sizeof(double) * (R / 2) * (C / 2));
        ug_operand_init(&ops[0], x, UG_FLOAT64, 2, (int64_t[]){C, R}, (int64_t[]){8, 8 * C});
        ug_operand_init(&ops[1], y, UG_FLOAT64, 2, (int64_t[]){C, R}, NULL);
        same(k[f].aot, k[f].jit, ops, 2, y, sizeof(double) * R * C);
    }
    /* broadcast: a column against a row */
    double lo[C], hi = 2.5;
    for (int i = 0; i < C; i++)
        lo[i] = -i * 0.1;
    ug_operand_init(&ops[0], x, UG_FLOAT64, 2, (int64_t[]){R, C}, NULL);
    ug_operand_init(&ops[1], lo, UG_FLOAT64, 1, (int64_t[]){C}, NULL);
    ug_operand_init(&ops[2], &hi, UG_FLOAT64, 0, NULL, NULL);
    ug_operand_init(&ops[3], y, UG_FLOAT64, 2, (int64_t[]){R, C}, NULL);
    same(k[2].aot, k[2].jit, ops, 4, y, sizeof(double) * R * C);
    /* the parallel gufunc, split across threads */
    int64_t w = 4;
    ug_operand_init(&ops[0], x, UG_FLOAT64, 2, (int64_t[]){R, C}, NULL);
    ug_operand_init(&ops[1], &w, UG_INT64, 0, NULL, NULL);
    ug_operand_init(&ops[2], y, UG_FLOAT64, 2, (int64_t[]){R, C}, NULL);
    same(k[3].aot, k[3].jit, ops, 3, y, sizeof(double) * R * C);
    free(x);
    free(y);
    for (int i = 0; i < 4; i++) {
        ug_ufunc_free(k[i].aot);
        ug_ufunc_free(k[i].jit);
    }
}
END_TEST

START_TEST(kernel_without_signatures_compiles_where_the_compiler_is_linked)
{
    ug_ufunc *cube = test_aot_k_cube(ctx);
    ck_assert_msg(cube != NULL, "%s", ug_errmsg(ctx));
    ck_assert(ug_ufunc_is_lazy(cube));
    int32_t x[4] = {-2, 0, 3, 1000}, y[4];
    ug_operand ops[2];
    ug_operand_init(&ops[0], x, UG_INT32, 1, (int64_t[]){4}, NULL);
    ug_operand_alloc(&ops[1], UG_DTYPE_NONE);
    ck_assert_int_eq(ug_call(cube, ops, 2, NULL), UG_OK);
    memcpy(y, ops[1].data, sizeof y);
    ug_free(ops[1].data);
    ck_assert(y[0] == -8 && y[1] == 0 && y[2] == 27 && y[3] == 1000000000);
    ug_ufunc_free(cube);
}
END_TEST

int main(void)
{
    const char *root = getenv("UFUNCGEN_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/c/aot_kernels.ugk", root ? root : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", path);
        return EXIT_FAILURE;
    }
    ugk = calloc(1, 1 << 16);
    ugk[0] = '\n';
    fread(ugk + 1, 1, (1 << 16) - 2, f);
    fclose(f);
    Suite *s = suite_create("aot_jit");
    TCase *tc = tcase_create("against the JIT");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, host_level_is_the_jit_bit_for_bit);
    tcase_add_test(tc, kernel_without_signatures_compiles_where_the_compiler_is_linked);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(ugk);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
