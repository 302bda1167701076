/* test_aot.c — ufuncs compiled ahead of time (ufuncgen/aot.h), run with the
 * runtime library only: aot_kernels.ugk compiled by ufuncgen-aot for host,
 * x86-64-v4, -v3 and -v2 (meson.build), linked with libufuncgen_runtime.a.
 * Results against C computations of the same formulas; each CPU level forced
 * in a child process (UFUNCGEN_AOT_LEVEL) against the host level; no LLVM
 * in the process; bad prebuilt descriptions and levels. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_aot_k.h"
#include "ufuncgen/aot.h"

static ug_context *ctx;

static void setup(void) { ctx = ug_context_new(NULL); }
static void teardown(void) { ug_context_free(ctx); }

static void vec(ug_operand *op, void *p, ug_dtype t, int64_t n) { ug_operand_init(op, p, t, 1, &n, NULL); }

static uint64_t ulps(double a, double b)
{
    int64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    return (uint64_t)llabs(x - y);
}

enum { N = 1001 };

static void inputs(double *x)
{
    for (int i = 0; i < N; i++)
        x[i] = (i - N / 2) * 0.037;
}

START_TEST(scalar_kernels_compute_their_formulas)
{
    ug_ufunc *sig = test_aot_k_sigmoid(ctx), *lg = test_aot_k_logistic(ctx), *cl = test_aot_k_clamp(ctx);
    ck_assert_msg(sig && lg && cl, "%s", ug_errmsg(ctx));
    static double x[N], y[N];
    inputs(x);
    ug_operand ops[4];
    vec(&ops[0], x, UG_FLOAT64, N);
    vec(&ops[1], y, UG_FLOAT64, N);
    ck_assert_int_eq(ug_call(sig, ops, 2, NULL), UG_OK);
    for (int i = 0; i < N; i++) /* libmvec's exp: within the README's bound */
        ck_assert_msg(ulps(y[i], 1.0 / (1.0 + exp(-x[i]))) <= 4, "sigmoid(%g) = %.17g", x[i], y[i]);
    ck_assert_int_eq(ug_call(lg, ops, 2, NULL), UG_OK);
    for (int i = 0; i < N; i++) /* math libm: glibc's exp, bit for bit */
        ck_assert_msg(y[i] == 1.0 / (1.0 + exp(-x[i])), "logistic(%g) = %.17g", x[i], y[i]);
    float xf[5] = {-1, 0, 1, 2, 80}, yf[5];
    vec(&ops[0], xf, UG_FLOAT32, 5);
    vec(&ops[1], yf, UG_FLOAT32, 5);
    ck_assert_int_eq(ug_call(sig, ops, 2, NULL), UG_OK); /* the float32 loop */
    ck_assert_float_eq_tol(yf[2], 0.7310586f, 1e-6f);
    ck_assert_float_eq(yf[4], 1.0f);
    int64_t xi[6] = {-5, 0, 3, 7, 10, 99}, lo = 0, hi = 7, yi[6];
    vec(&ops[0], xi, UG_INT64, 6);
    ug_operand_init(&ops[1], &lo, UG_INT64, 0, NULL, NULL);
    ug_operand_init(&ops[2], &hi, UG_INT64, 0, NULL, NULL);
    vec(&ops[3], yi, UG_INT64, 6);
    ck_assert_int_eq(ug_call(cl, ops, 4, NULL), UG_OK);
    int64_t want[6] = {0, 0, 3, 7, 7, 7};
    ck_assert_mem_eq(yi, want, sizeof want);
    ug_ufunc_free(sig);
    ug_ufunc_free(lg);
    ug_ufunc_free(cl);
}
END_TEST

static void movmean_ref(const double *a, int n, int64_t w, double *out)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        s += a[i];
        if (i >= w)
            s -= a[i - w];
        out[i] = s / (double)(i + 1 < w ? i + 1 : w);
    }
}

START_TEST(parallel_gufunc_over_a_large_stack)
{
    ug_ufunc *mm = test_aot_k_movmean(ctx);
    ck_assert_msg(mm != NULL, "%s", ug_errmsg(ctx));
    ck_assert_int_eq(ug_ufunc_target(mm), UG_TARGET_PARALLEL);
    ck_assert_str_eq(ug_ufunc_layout(mm), "(n),()->(n)");
    enum { R = 20000, C = 48 };
    double *a = malloc(sizeof(double) * R * C), *o = malloc(sizeof(double) * R * C), ref[C];
    for (int i = 0; i < R * C; i++)
        a[i] = sin(i * 0.01) * 100;
    int64_t w = 5;
    ug_operand ops[3];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){R, C}, NULL);
    ug_operand_init(&ops[1], &w, UG_INT64, 0, NULL, NULL);
    ug_operand_init(&ops[2], o, UG_FLOAT64, 2, (int64_t[]){R, C}, NULL);
    ck_assert_int_eq(ug_call(mm, ops, 3, NULL), UG_OK);
    for (int r = 0; r < R; r += 997) {
        movmean_ref(a + r * C, C, w, ref);
        ck_assert_mem_eq(o + r * C, ref, sizeof ref);
    }
    /* through NumPy's loop ABI: the parallel driver ug_ufunc_loop hands out */
    ug_loop_fn fn;
    void *data;
    ck_assert_int_eq(ug_ufunc_loop(mm, 0, &fn, &data), UG_OK);
    char *args[3] = {(char *)a, (char *)&w, (char *)o};
    intptr_t dims[2] = {R, C}, steps[6] = {C * 8, 0, C * 8, 8, 8};
    memset(o, 0, sizeof(double) * R * C);
    fn(args, dims, steps, data);
    movmean_ref(a + (R - 1) * C, C, w, ref);
    ck_assert_mem_eq(o + (R - 1) * C, ref, sizeof ref);
    free(a);
    free(o);
    ug_ufunc_free(mm);
}
END_TEST

START_TEST(boundscheck_and_loops_without_compiler)
{
    ug_ufunc *tk = test_aot_k_take(ctx), *cube = test_aot_k_cube(ctx);
    ck_assert_msg(tk && cube, "%s", ug_errmsg(ctx));
    double a[3] = {1, 2, 3}, o[2];
    int64_t idx[2] = {2, 3};
    ug_operand ops[3];
    vec(&ops[0], a, UG_FLOAT64, 3);
    vec(&ops[1], idx, UG_INT64, 2);
    vec(&ops[2], o, UG_FLOAT64, 2);
    ck_assert_int_eq(ug_call(tk, ops, 3, NULL), UG_EINDEX);
    ck_assert_ptr_nonnull(strstr(ug_errmsg(ctx), "take"));
    idx[1] = 0;
    ck_assert_int_eq(ug_call(tk, ops, 3, NULL), UG_OK);
    ck_assert(o[0] == 3 && o[1] == 1);
    /* a kernel without signatures, and no compiler linked */
    ck_assert_int_eq(ug_ufunc_nloops(cube), 0);
    vec(&ops[1], o, UG_FLOAT64, 3);
    ck_assert_int_eq(ug_call(cube, ops, 2, NULL), UG_EDTYPE);
    ck_assert_msg(strstr(ug_errmsg(ctx), "compiled ahead of time without signatures") &&
                      strstr(ug_errmsg(ctx), "(float64)"),
                  "%s", ug_errmsg(ctx));
    int loop;
    ck_assert_int_eq(ug_ufunc_add(tk, "f4,q->f4", &loop, NULL), UG_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ug_errmsg(ctx), "compiled ahead of time"));
    ug_ufunc_free(tk);
    ug_ufunc_free(cube);
}
END_TEST

START_TEST(no_llvm_in_the_process)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    while (fgets(line, sizeof line, f))
        ck_assert_msg(!strstr(line, "LLVM") && !strstr(line, "libufuncgen.so"), "mapped: %s", line);
    fclose(f);
}
END_TEST

/* The results a child prints for its CPU level: one hex word per value. */
static void dump(void)
{
    static double x[N], y[N];
    inputs(x);
    ug_ufunc *f[2] = {test_aot_k_sigmoid(ctx), test_aot_k_logistic(ctx)};
    const char *why;
    printf("%s\n", test_aot_k_level(&why) ? test_aot_k_level(&why) : why);
    for (int k = 0; k < 2 && f[k]; k++) {
        ug_operand ops[2];
        vec(&ops[0], x, UG_FLOAT64, N);
        vec(&ops[1], y, UG_FLOAT64, N);
        ug_call(f[k], ops, 2, NULL);
        for (int i = 0; i < N; i++) {
            uint64_t b;
            memcpy(&b, &y[i], 8);
            printf("%d %016llx\n", k, (unsigned long long)b);
        }
        ug_ufunc_free(f[k]);
    }
}

static char *child(const char *level)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "UFUNCGEN_AOT_LEVEL=%s /proc/%d/exe --dump 2>&1", level, (int)getpid());
    FILE *p = popen(cmd, "r");
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    for (size_t r; p && (r = fread(out + n, 1, cap - n - 1, p)) > 0;)
        if ((n += r) + 1 >= cap)
            out = realloc(out, cap *= 2);
    out[n] = 0;
    if (p)
        pclose(p);
    return out;
}

START_TEST(every_cpu_level_gives_the_hosts_results)
{
    char *host = child("host");
    ck_assert_msg(!strncmp(host, "host (", 6), "%s", host);
    const char *levels[] = {"x86-64-v4", "x86-64-v3", "x86-64-v2"};
    int ran = 0;
    for (int l = 0; l < 3; l++) {
        char *got = child(levels[l]);
        if (strstr(got, "does not support")) { /* a level this CPU lacks */
            free(got);
            continue;
        }
        ran++;
        ck_assert_msg(!strncmp(got, levels[l], strlen(levels[l])), "%s", got);
        int lines = 0;
        for (const char *g = strchr(got, '\n'), *h = strchr(host, '\n'); g && h && g[1] && h[1];
             g = strchr(g + 1, '\n'), h = strchr(h + 1, '\n'), lines++) {
            int kg, kh;
            unsigned long long bg, bh;
            ck_assert(sscanf(g + 1, "%d %llx", &kg, &bg) == 2 && sscanf(h + 1, "%d %llx", &kh, &bh) == 2);
            ck_assert_int_eq(kg, kh);
            double dg, dh;
            memcpy(&dg, &bg, 8);
            memcpy(&dh, &bh, 8);
            if (kg == 1) /* math libm: the same bits everywhere */
                ck_assert_msg(bg == bh, "%s: logistic %.17g vs %.17g", levels[l], dg, dh);
            else         /* libmvec's SSE/AVX2/AVX-512 exp differ within their bound */
                ck_assert_msg(ulps(dg, dh) <= 4, "%s: sigmoid %.17g vs %.17g", levels[l], dg, dh);
        }
        ck_assert_int_eq(lines, 2 * N);
        free(got);
    }
    ck_assert_int_ge(ran, 1); /* x86-64-v2 runs wherever this suite does */
    char *bad = child("x86-64-v1");
    ck_assert_msg(strstr(bad, "UFUNCGEN_AOT_LEVEL=x86-64-v1 names no level it was built for") &&
                      strstr(bad, "x86-64-v2"),
                  "%s", bad);
    free(bad);
    free(host);
}
END_TEST

static int never(void) { return 0; }
static int always(void) { return 1; }

START_TEST(pick_names_the_levels)
{
    ug_error err;
    ug_prebuilt_level lv[2] = {{"x86-64-v4", never}, {"x86-64-v3", never}};
    unsetenv("UFUNCGEN_AOT_LEVEL");
    ck_assert_int_eq(ug_prebuilt_pick("m", lv, 2, &err), -1);
    ck_assert_int_eq(err.code, UG_EUNSUPPORTED);
    ck_assert_msg(strstr(err.msg, "module 'm' was compiled ahead of time for CPU levels x86-64-v4, x86-64-v3") &&
                      strstr(err.msg, "supports none"),
                  "%s", err.msg);
    lv[1].supported = always;
    ck_assert_int_eq(ug_prebuilt_pick("m", lv, 2, &err), 1);
    setenv("UFUNCGEN_AOT_LEVEL", "x86-64-v4", 1);
    ck_assert_int_eq(ug_prebuilt_pick("m", lv, 2, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "names level x86-64-v4, which this CPU does not support"));
    setenv("UFUNCGEN_AOT_LEVEL", "host", 1);
    ug_prebuilt_level hostlv[1] = {{"host (znver4)", always}};
    ck_assert_int_eq(ug_prebuilt_pick("m", hostlv, 1, &err), 0);
    unsetenv("UFUNCGEN_AOT_LEVEL");
}
END_TEST

static void run_loop(char **args, const intptr_t *d, const intptr_t *s, void *data) {}

START_TEST(bad_prebuilt_kernels)
{
    ug_ufunc *f = (ug_ufunc *)1;
    static const ug_dtype dd[] = {UG_FLOAT64, UG_FLOAT64}, bad[] = {UG_FLOAT64, (ug_dtype)99};
    ug_prebuilt_loop loops[1] = {{dd, 0, run_loop}};
    ug_prebuilt_kernel k = {.name = "k", .nin = 1, .nout = 1, .nloops = 1, .loops = loops};
    ck_assert_int_eq(ug_prebuilt_ufunc(NULL, &k, &f), UG_EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(ug_prebuilt_ufunc(ctx, NULL, &f), UG_EINVAL);
    ck_assert_int_eq(ug_prebuilt_ufunc(ctx, &k, &f), UG_OK);
    ug_ufunc_free(f);
    k.layout = "(n)->()";
    ck_assert_int_eq(ug_prebuilt_ufunc(ctx, &k, &f), UG_OK);
    ug_ufunc_free(f);
    k.layout = "(n),(n)->()";
    ck_assert_int_eq(ug_prebuilt_ufunc(ctx, &k, &f), UG_EINVAL);
    ck_assert_ptr_nonnull(strstr(ug_errmsg(ctx), "does not have 1 inputs and 1 outputs"));
    k.layout = "(n->";
    ck_assert_int_eq(ug_prebuilt_ufunc(ctx, &k, &f), UG_ELAYOUT);
    k.layout = NULL;
    loops[0].types = bad;
    ck_assert_int_eq(ug_prebuilt_ufunc(ctx, &k, &f), UG_EINVAL);
    ck_assert_ptr_nonnull(strstr(ug_errmsg(ctx), "operand 1 has dtype 99"));
    loops[0].types = dd;
    loops[0].fn = NULL;
    ck_assert_int_eq(ug_prebuilt_ufunc(ctx, &k, &f), UG_EINVAL);
    loops[0].fn = run_loop;
    k.target = (ug_target)7;
    ck_assert_int_eq(ug_prebuilt_ufunc(ctx, &k, &f), UG_EINVAL);
    k.target = UG_TARGET_CPU;
    k.unavailable = "no level fits";
    ck_assert_int_eq(ug_prebuilt_ufunc(ctx, &k, &f), UG_EUNSUPPORTED);
    ck_assert_str_eq(ug_errmsg(ctx), "no level fits");
    ck_assert_ptr_null(f);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--dump")) {
        setup();
        dump();
        teardown();
        return 0;
    }
    Suite *s = suite_create("aot");
    TCase *tc = tcase_create("prebuilt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, scalar_kernels_compute_their_formulas);
    tcase_add_test(tc, parallel_gufunc_over_a_large_stack);
    tcase_add_test(tc, boundscheck_and_loops_without_compiler);
    tcase_add_test(tc, no_llvm_in_the_process);
    tcase_add_test(tc, every_cpu_level_gives_the_hosts_results);
    tcase_add_test(tc, pick_names_the_levels);
    tcase_add_test(tc, bad_prebuilt_kernels);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
