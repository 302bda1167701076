/* test_cache_e2e.c — the on-disk cache with real ufuncs (white-box: counts
 * loops_compile calls). Changing the kernel, a helper it calls, an option or
 * the signature list recompiles exactly what changed; an unchanged kernel in
 * a new process (this binary re-executed) compiles nothing, which its
 * compile count and the UFUNCGEN_DEBUG_CACHE log both show; corrupt objects
 * are recompiled and results stay correct. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loops/loops.h"
#include "ufuncgen/ufuncgen.h"

static char dir[256];
static char self[4096]; /* this binary (argv[0] resolved; /proc/self/exe is valgrind's under valgrind) */

static const char *base_src = "def helper(x):\n"
                              "    return x * 3.0\n"
                              "\n"
                              "def unrelated(x):\n"
                              "    return x - 1.0\n"
                              "\n"
                              "def f(x):\n"
                              "    return helper(x) + 1.0\n";

static ug_context *new_ctx(void)
{
    ug_config cfg;
    ug_config_init(&cfg);
    cfg.cache_dir = dir;
    return ug_context_new(&cfg);
}

/* Create f with cache=1 and the given signatures; return how many loops were compiled. */
static long build(ug_context *ctx, const char *src, const char **sigs, int n, int fastmath, ug_ufunc **out)
{
    ug_options o;
    ug_options_init(&o);
    o.cache = 1;
    o.fastmath = fastmath;
    o.kernel = "f";
    long before = loops_compile_count();
    ug_status st = ug_vectorize(ctx, src, sigs, n, &o, out);
    ck_assert_msg(st == UG_OK, "%s", ug_errmsg(ctx));
    return loops_compile_count() - before;
}

static void check_values(ug_ufunc *f, double scale, double add)
{
    double x[5] = {-2, -1, 0, 1.5, 4}, y[5];
    ug_operand ops[2];
    ug_operand_init(&ops[0], x, UG_FLOAT64, 1, (int64_t[]){5}, NULL);
    ug_operand_init(&ops[1], y, UG_FLOAT64, 1, (int64_t[]){5}, NULL);
    ug_error err;
    ck_assert_msg(ug_call(f, ops, 2, &err) == UG_OK, "%s", err.msg);
    for (int i = 0; i < 5; i++)
        ck_assert_double_eq(y[i], x[i] * scale + add);
}

static long run_child(const char *mode, char *log, size_t logn)
{
    char cmd[4096 + 600];
    snprintf(cmd, sizeof cmd, "UFUNCGEN_DEBUG_CACHE=1 '%s' child %s %s 2>&1", self, mode, dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(log, 1, logn - 1, p);
    log[n] = 0;
    int rc = pclose(p);
    ck_assert_msg(rc != -1, "pclose");
    const char *c = strstr(log, "compiled=");
    ck_assert_msg(c, "child output: %s", log);
    return atol(c + 9);
}

static void fresh_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/ufuncgen-cache-e2e-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

START_TEST(invalidation_is_exact)
{
    fresh_dir();
    const char *sigs[] = {"d->d", "f->f"};
    ug_context *ctx = new_ctx();
    ug_ufunc *f;
    ck_assert_int_eq(build(ctx, base_src, sigs, 2, 0, &f), 2);
    check_values(f, 3, 1);
    ug_ufunc_free(f);
    /* same kernel again (new context, same process): all from the cache */
    ug_context *ctx2 = new_ctx();
    ck_assert_int_eq(build(ctx2, base_src, sigs, 2, 0, &f), 0);
    check_values(f, 3, 1);
    ug_ufunc_free(f);
    /* an unrelated helper changes: nothing to recompile */
    char src[1024];
    snprintf(src, sizeof src, "%s", base_src);
    memcpy(strstr(src, "x - 1.0"), "x - 2.0", 7);
    ck_assert_int_eq(build(ctx2, src, sigs, 2, 0, &f), 0);
    ug_ufunc_free(f);
    /* the helper it calls changes: both signatures recompile, and the result follows */
    memcpy(strstr(src, "x * 3.0"), "x * 5.0", 7);
    ck_assert_int_eq(build(ctx2, src, sigs, 2, 0, &f), 2);
    check_values(f, 5, 1);
    ug_ufunc_free(f);
    /* the kernel itself changes */
    memcpy(strstr(src, ") + 1.0"), ") + 7.0", 7);
    ck_assert_int_eq(build(ctx2, src, sigs, 2, 0, &f), 2);
    check_values(f, 5, 7);
    ug_ufunc_free(f);
    /* an option changes */
    ck_assert_int_eq(build(ctx2, base_src, sigs, 2, 1, &f), 2);
    ug_ufunc_free(f);
    /* one more signature: only it compiles */
    const char *sigs3[] = {"d->d", "f->f", "q->d"};
    ck_assert_int_eq(build(ctx2, base_src, sigs3, 3, 0, &f), 1);
    ug_ufunc_free(f);
    ug_context_free(ctx2);
    ug_context_free(ctx);
}
END_TEST

/* Compile count of creating f with these options (cache on) in ctx. */
static long build_opts(ug_context *ctx, const char *src, const char *layout, const char *sig, ug_options o)
{
    o.cache = 1;
    long before = loops_compile_count();
    ug_ufunc *f = NULL;
    ug_status st = layout ? ug_guvectorize(ctx, src, layout, &sig, 1, &o, &f) : ug_vectorize(ctx, src, &sig, 1, &o, &f);
    ck_assert_msg(st == UG_OK, "%s", ug_errmsg(ctx));
    ug_ufunc_free(f);
    return loops_compile_count() - before;
}

/* Every option that changes the machine code is in the real key: boundscheck,
 * target, the context's opt_level, the layout; each variant compiles once
 * and is then served from the cache next to the others. */
START_TEST(options_and_layout_are_in_the_key)
{
    fresh_dir();
    ug_context *ctx = new_ctx();
    ug_options o;
    ug_options_init(&o);
    o.kernel = "f";
    ug_options bc = o, par = o;
    bc.boundscheck = 1;
    par.target = UG_TARGET_PARALLEL;
    const ug_options *variants[] = {&o, &bc, &par};
    for (int round = 0; round < 2; round++) /* first round compiles each once, the second nothing */
        for (int v = 0; v < 3; v++)
            ck_assert_int_eq(build_opts(ctx, base_src, NULL, "d->d", *variants[v]), round ? 0 : 1);
    ug_config cfg;
    ug_config_init(&cfg);
    cfg.cache_dir = dir;
    cfg.opt_level = 3;
    ug_context *o3 = ug_context_new(&cfg);
    ck_assert_int_eq(build_opts(o3, base_src, NULL, "d->d", o), 1);
    ck_assert_int_eq(build_opts(o3, base_src, NULL, "d->d", o), 0);
    ug_context_free(o3);
    const char *gsrc = "def f(a, out):\n    s = 0.0\n    for i in range(len(a)):\n        s += a[i]\n    out[0] = s\n";
    ug_options g;
    ug_options_init(&g);
    ck_assert_int_eq(build_opts(ctx, gsrc, "(n)->()", "d->d", g), 1);
    ck_assert_int_eq(build_opts(ctx, gsrc, "(3)->()", "d->d", g), 1);
    ck_assert_int_eq(build_opts(ctx, gsrc, "(n)->()", "d->d", g), 0);
    ug_context_free(ctx);
}
END_TEST


/* A gufunc call with few items but much work (outer count x core sizes >=
 * 2**22) is large: the second large call of a core shape compiles its
 * variant (the first runs the generic loop), later ones reuse it; small
 * calls compile nothing. With the cache on, a new ufunc's first large call
 * of that shape loads the variant (no compile). Either way the running
 * values are right (against C). */
static const char running_src[] = "def f(a, out):\n    s = 0.0\n    for i in range(len(a)):\n"
                                  "        s = s * 0.5 + a[i]\n        out[i] = s / 3.0\n";

/* Call f on S rows of n; return its compile count; check the values
 * against want (running_ref). */
static long call_running(ug_ufunc *f, const double *a, double *out, const double *want, int S, int n, int c)
{
    ug_operand ops[2];
    ug_operand_init(&ops[0], (void *)a, UG_FLOAT64, 2, (int64_t[]){S, n}, NULL);
    ug_operand_init(&ops[1], out, UG_FLOAT64, 2, (int64_t[]){S, n}, NULL);
    long before = loops_compile_count();
    ug_error err;
    ck_assert_msg(ug_call(f, ops, 2, &err) == UG_OK, "%s", err.msg);
    long made = loops_compile_count() - before;
    ck_assert_msg(!memcmp(out, want, sizeof *out * (size_t)S * (size_t)n), "call %d (n = %d): wrong values", c, n);
    return made;
}

/* The kernel's values for S rows of n, in C. */
static double *running_ref(const double *a, int S, int n)
{
    double *want = malloc(sizeof *want * (size_t)S * (size_t)n);
    for (int r = 0; r < S; r++) {
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            sum = sum * 0.5 + a[(long)r * n + i];
            want[(long)r * n + i] = sum / 3.0;
        }
    }
    return want;
}

static ug_ufunc *running_ufunc(ug_context *ctx, int cache)
{
    ug_options o;
    ug_options_init(&o);
    o.cache = cache;
    const char *sig = "void(float64[:], float64[:])";
    ug_ufunc *f = NULL;
    ck_assert_msg(ug_guvectorize(ctx, running_src, "(n)->(n)", &sig, 1, &o, &f) == UG_OK, "%s", ug_errmsg(ctx));
    return f;
}

START_TEST(large_work_makes_one_variant)
{
    enum { S = 4, BIG = 1 << 20, SMALL = 1000 };
    double *a = malloc(sizeof *a * S * BIG), *out = malloc(sizeof *out * S * BIG);
    for (long i = 0; i < (long)S * BIG; i++)
        a[i] = (double)((i * 7919) % 1013) / 17.0 - 29.0;
    double *big = running_ref(a, S, BIG), *small = running_ref(a, S, SMALL);
    ug_context *ctx = ug_context_new(NULL);
    ug_ufunc *f = running_ufunc(ctx, 0);
    static const int sizes[] = {SMALL, BIG, SMALL, BIG, BIG, SMALL};
    static const long compiles[] = {0, 0, 0, 1, 0, 0};
    for (int c = 0; c < 6; c++)
        ck_assert_msg(call_running(f, a, out, sizes[c] == BIG ? big : small, S, sizes[c], c) == compiles[c],
                      "call %d (n = %d)", c, sizes[c]);
    ug_ufunc_free(f);
    ug_context_free(ctx);
    /* cache on: the variant compiled at the second large call is stored; a
     * new ufunc's first large call loads it (the debug log shows the hit) */
    fresh_dir();
    ctx = new_ctx();
    f = running_ufunc(ctx, 1);
    ck_assert_int_eq(call_running(f, a, out, big, S, BIG, 10), 0);
    ck_assert_int_eq(call_running(f, a, out, big, S, BIG, 11), 1);
    ug_ufunc_free(f);
    ug_context_free(ctx);
    ug_config cfg;
    ug_config_init(&cfg);
    cfg.cache_dir = dir;
    cfg.debug_cache = 1;
    ctx = ug_context_new(&cfg);
    f = running_ufunc(ctx, 1);
    char path[] = "/tmp/test_cache_e2e_logXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    long made = call_running(f, a, out, big, S, BIG, 12);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    static char log[1 << 16];
    ssize_t got = pread(fd, log, sizeof log - 1, 0);
    log[got > 0 ? got : 0] = 0;
    close(fd);
    unlink(path);
    ck_assert_int_eq(made, 0);
    ck_assert_msg(strstr(log, "hit") && strstr(log, "d->d@"), "no cache hit for the variant:\n%s", log);
    ug_ufunc_free(f);
    ug_context_free(ctx);
    remove_dir();
    free(a);
    free(out);
    free(big);
    free(small);
}
END_TEST

/* Calls of half a million elements or more that no core-shape variant
 * serves (variant.c) make one step variant per set of core strides, at the
 * second such call: it then serves every core size with those strides; a
 * call with other strides makes its own. Values right throughout. */
static long call_running_strided(ug_ufunc *f, const double *a, double *out, int n, int every, int c)
{
    ug_operand ops[2];
    int64_t st = (int64_t)sizeof *a * every;
    ug_operand_init(&ops[0], (void *)a, UG_FLOAT64, 1, (int64_t[]){n}, &st);
    ug_operand_init(&ops[1], out, UG_FLOAT64, 1, (int64_t[]){n}, &st);
    long before = loops_compile_count();
    ug_error err;
    ck_assert_msg(ug_call(f, ops, 2, &err) == UG_OK, "%s", err.msg);
    long made = loops_compile_count() - before;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        sum = sum * 0.5 + a[(long)i * every];
        ck_assert_msg(out[(long)i * every] == sum / 3.0, "call %d (n = %d, every %d): out[%d] wrong", c, n, every, i);
    }
    return made;
}

START_TEST(large_lines_make_step_variants)
{
    enum { BIG = 600000, BIGGER = 700000, SMALL = 1000 };
    double *a = malloc(sizeof *a * 2 * BIGGER), *out = malloc(sizeof *out * 2 * BIGGER);
    for (long i = 0; i < 2L * BIGGER; i++)
        a[i] = (double)((i * 7919) % 1013) / 17.0 - 29.0;
    ug_context *ctx = ug_context_new(NULL);
    ug_ufunc *f = running_ufunc(ctx, 0);
    static const int sizes[] = {BIG, SMALL, BIG, BIGGER, SMALL, BIG, BIG, BIGGER};
    static const int every[] = {1, 1, 1, 1, 1, 2, 2, 2};
    static const long compiles[] = {0, 0, 1, 0, 0, 0, 1, 0};
    for (int c = 0; c < 8; c++)
        ck_assert_msg(call_running_strided(f, a, out, sizes[c], every[c], c) == compiles[c], "call %d (n = %d, every %d)",
                      c, sizes[c], every[c]);
    ug_ufunc_free(f);
    ug_context_free(ctx);
    free(a);
    free(out);
}
END_TEST

START_TEST(new_process_compiles_nothing)
{
    fresh_dir();
    char log[16384];
    ck_assert_int_eq(run_child("build", log, sizeof log), 2);
    long again = run_child("build", log, sizeof log);
    ck_assert_msg(again == 0, "second process compiled %ld loops:\n%s", again, log);
    ck_assert_msg(strstr(log, "hit"), "debug log shows no hit:\n%s", log);
    ck_assert_msg(!strstr(log, "miss") && !strstr(log, "write"), "debug log shows a miss or a write:\n%s", log);
    ck_assert_msg(strstr(log, "values-ok"), "wrong values from cached code:\n%s", log);
}
END_TEST

START_TEST(corrupt_objects_are_recompiled)
{
    fresh_dir();
    char log[16384];
    ck_assert_int_eq(run_child("build", log, sizeof log), 2);
    /* flip a byte in the middle of every object file */
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int flipped = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".ugo"))
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r+b");
        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, size / 2, SEEK_SET);
        int c = fgetc(f);
        fseek(f, size / 2, SEEK_SET);
        fputc(c ^ 0x5a, f);
        fclose(f);
        flipped++;
    }
    closedir(d);
    ck_assert_int_eq(flipped, 2);
    ck_assert_int_eq(run_child("build", log, sizeof log), 2);
    ck_assert_msg(strstr(log, "values-ok"), "%s", log);
    /* and the repaired cache serves the next process */
    ck_assert_int_eq(run_child("build", log, sizeof log), 0);
}
END_TEST

/* Eight processes start at once on an empty cache, each creating the same
 * kernel with four signatures: all compute the right values; the index
 * lists each signature exactly once, every file verifies (the
 * ufuncgen-cache tool), nothing temporary is left, and a ninth process
 * compiles nothing. */
START_TEST(concurrent_processes_share_the_cache)
{
    fresh_dir();
    enum { P = 8 };
    FILE *ps[P];
    char cmd[4096 + 600], out[P][4096];
    for (int i = 0; i < P; i++) { /* all started before any is read */
        snprintf(cmd, sizeof cmd, "'%s' child many %s 2>&1", self, dir);
        ck_assert_ptr_nonnull(ps[i] = popen(cmd, "r"));
    }
    for (int i = 0; i < P; i++) {
        size_t n = fread(out[i], 1, sizeof out[i] - 1, ps[i]);
        out[i][n] = 0;
        ck_assert_int_eq(pclose(ps[i]), 0);
        ck_assert_msg(strstr(out[i], "values-ok"), "process %d: %s", i, out[i]);
    }
    char tool[4096 + 64], *slash;
    snprintf(tool, sizeof tool, "%s", self);
    ck_assert_ptr_nonnull(slash = strrchr(tool, '/'));
    snprintf(slash, sizeof tool - (size_t)(slash - tool), "/../../cache/ufuncgen-cache --dir %s", dir);
    snprintf(cmd, sizeof cmd, "%s verify >/dev/null 2>&1", tool);
    ck_assert_msg(system(cmd) == 0, "ufuncgen-cache verify found a bad file");
    snprintf(cmd, sizeof cmd, "%s list 2>&1", tool);
    FILE *l = popen(cmd, "r");
    char listing[8192];
    size_t n = fread(listing, 1, sizeof listing - 1, l);
    listing[n] = 0;
    pclose(l);
    static const char *sigs[] = {" d->d ", " f->f ", " q->d ", " i->d "};
    for (int k = 0; k < 4; k++) {
        const char *p = strstr(listing, sigs[k]);
        ck_assert_msg(p && !strstr(p + 1, sigs[k]), "signature%s listed %s:\n%s", sigs[k], p ? "twice" : "never", listing);
    }
    DIR *d = opendir(dir);
    int ugi = 0, ugo = 0, other = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.')
            continue;
        if (len > 4 && !strcmp(e->d_name + len - 4, ".ugi"))
            ugi++;
        else if (len > 4 && !strcmp(e->d_name + len - 4, ".ugo"))
            ugo++;
        else if (strcmp(e->d_name, "ufuncgen.lock"))
            other++;
    }
    closedir(d);
    ck_assert_msg(ugi == 1 && ugo == 4 && other == 0, "%d index, %d object and %d other files", ugi, ugo, other);
    char log[16384];
    ck_assert_int_eq(run_child("many", log, sizeof log), 0);
}
END_TEST

static int child(const char *mode, const char *d)
{
    snprintf(dir, sizeof dir, "%s", d);
    ug_context *ctx = new_ctx();
    const char *sigs[] = {"d->d", "f->f", "q->d", "i->d"};
    int nsigs = strcmp(mode, "many") == 0 ? 4 : 2;
    ug_options o;
    ug_options_init(&o);
    o.cache = 1;
    o.kernel = "f";
    ug_ufunc *f;
    if (ug_vectorize(ctx, base_src, sigs, nsigs, &o, &f) != UG_OK) {
        printf("error: %s\n", ug_errmsg(ctx));
        return 1;
    }
    double x[3] = {1, 2, -4}, y[3];
    ug_operand ops[2];
    ug_operand_init(&ops[0], x, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    ug_operand_init(&ops[1], y, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    int ok = ug_call(f, ops, 2, NULL) == UG_OK && y[0] == 4 && y[1] == 7 && y[2] == -11;
    fflush(stderr);
    printf("compiled=%ld %s\n", loops_compile_count(), ok ? "values-ok" : "values-WRONG");
    ug_ufunc_free(f);
    ug_context_free(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "child") == 0)
        return child(argv[2], argv[3]);
    if (!realpath(argv[0], self))
        snprintf(self, sizeof self, "/proc/%d/exe", (int)getpid());
    Suite *s = suite_create("cache_e2e");
    TCase *tc = tcase_create("cache_e2e");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, NULL, remove_dir);
    tcase_add_test(tc, invalidation_is_exact);
    tcase_add_test(tc, options_and_layout_are_in_the_key);
    tcase_add_test(tc, new_process_compiles_nothing);
    tcase_add_test(tc, corrupt_objects_are_recompiled);
    tcase_add_test(tc, large_work_makes_one_variant);
    tcase_add_test(tc, large_lines_make_step_variants);
    tcase_add_test(tc, concurrent_processes_share_the_cache);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
