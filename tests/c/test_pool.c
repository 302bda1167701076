/* test_pool.c — loops made on the compile pool (ufuncgen/pool.c) through the
 * public API: signatures compiled concurrently give the same object code as
 * one at a time; ug_options.background returns before the loops exist and a
 * call (also several racing ones) waits for its loop; a failure in one
 * deferred or background loop stays that loop's; ug_options.defer and
 * UFUNCGEN_LAZY; fork while loops are queued. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/c/sanitizers.h"
#include "ufuncgen/ufuncgen.h"

static const char *poly = "def p(x):\n    return ((x * 0.5 - 1.25) * x + 3.0) * x - exp(-x * x)\n";
static const char *sigs8[] = {"f8(f8)", "f4(f4)", "i8(i8)", "i4(i4)", "u8(u8)", "i2(i2)", "u1(u1)", "i1(i1)"};

static ug_ufunc *make(ug_context *ctx, const char *src, const char **sigs, int n, int background, int defer)
{
    ug_options o;
    ug_options_init(&o);
    o.background = background;
    o.defer = defer;
    o.cache = 1;
    ug_ufunc *f = NULL;
    ug_status st = ug_vectorize(ctx, src, sigs, n, &o, &f);
    ck_assert_msg(st == UG_OK, "%s", ug_errmsg(ctx));
    return f;
}

/* y = f(x) for 1000 float64 values; returns ug_call's status. */
static ug_status call_f8(ug_ufunc *f, double *y, ug_error *err)
{
    static double x[1000];
    for (int i = 0; i < 1000; i++)
        x[i] = sin((double)i) * 3;
    int64_t n = 1000;
    ug_operand ops[2];
    ug_operand_init(&ops[0], x, UG_FLOAT64, 1, &n, NULL);
    ug_operand_init(&ops[1], y, UG_FLOAT64, 1, &n, NULL);
    return ug_call(f, ops, 2, err);
}

static void check_poly(const double *y)
{
    for (int i = 0; i < 1000; i++) {
        double x = sin((double)i) * 3, want = ((x * 0.5 - 1.25) * x + 3.0) * x - exp(-x * x);
        ck_assert_msg(fabs(y[i] - want) <= 1e-12 * (1 + fabs(want)), "y[%d] = %.17g, want %.17g", i, y[i], want);
    }
}

static char *new_dir(void)
{
    char *d = strdup("/tmp/ug_pool_testXXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static void rm_dir(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    ck_assert_int_eq(system(cmd), 0);
}

typedef struct blob {
    char *p;
    size_t n;
} blob;

static int blob_cmp(const void *a, const void *b)
{
    const blob *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return memcmp(x->p, y->p, x->n);
}

/* The bytes of every object file (*.ugo) in dir, sorted (slots are given in
 * the order puts happen, which concurrent compiles do not fix). */
static char *objects_of(const char *dir, size_t *len)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    ck_assert_int_ge(n, 0);
    blob b[16];
    int nobj = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        size_t l = strlen(nm);
        if (l > 4 && strcmp(nm + l - 4, ".ugo") == 0 && nobj < 16) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, nm);
            FILE *f = fopen(path, "rb");
            ck_assert_ptr_nonnull(f);
            fseek(f, 0, SEEK_END);
            long sz = ftell(f);
            rewind(f);
            b[nobj].p = malloc((size_t)sz);
            b[nobj].n = (size_t)sz;
            ck_assert_int_eq(fread(b[nobj].p, 1, (size_t)sz, f), (size_t)sz);
            fclose(f);
            nobj++;
        }
        free(names[i]);
    }
    free(names);
    ck_assert_int_eq(nobj, 8);
    qsort(b, (size_t)nobj, sizeof *b, blob_cmp);
    char *all = NULL;
    *len = 0;
    for (int i = 0; i < nobj; i++) {
        all = realloc(all, *len + b[i].n);
        memcpy(all + *len, b[i].p, b[i].n);
        *len += b[i].n;
        free(b[i].p);
    }
    return all;
}

/* Eight signatures compiled at once (the pool) write the same object files
 * as the same signatures compiled one at a time. */
START_TEST(concurrent_compiles_are_bit_identical_to_serial_ones)
{
    char *d1 = new_dir(), *d2 = new_dir();
    ug_config c1, c2;
    ug_config_init(&c1);
    ug_config_init(&c2);
    c1.cache_dir = d1;
    c2.cache_dir = d2;
    ug_context *k1 = ug_context_new(&c1), *k2 = ug_context_new(&c2);
    ug_ufunc *all = make(k1, poly, sigs8, 8, 0, -1);
    ug_ufunc *one = make(k2, poly, sigs8, 1, 0, -1);
    for (int i = 1; i < 8; i++) {
        int loop;
        ck_assert_int_eq(ug_ufunc_add(one, sigs8[i], &loop, NULL), UG_OK); /* compiled right away, alone */
        ck_assert_int_eq(loop, i);
    }
    size_t n1, n2;
    char *o1 = objects_of(d1, &n1), *o2 = objects_of(d2, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(memcmp(o1, o2, n1) == 0, "object code differs between concurrent and serial compiles");
    free(o1);
    free(o2);
    ug_ufunc_free(all);
    ug_ufunc_free(one);
    ug_context_free(k1);
    ug_context_free(k2);
    rm_dir(d1);
    rm_dir(d2);
    free(d1);
    free(d2);
}
END_TEST

typedef struct racer {
    ug_ufunc *f;
    double y[1000];
    ug_status st;
} racer;

static void *race(void *p)
{
    racer *r = p;
    ug_error err;
    r->st = call_f8(r->f, r->y, &err);
    return NULL;
}

/* background: creation returns before the loops are made; calls racing the
 * compile (from several threads) wait for their loop and get its results. */
START_TEST(background_calls_wait_for_their_loop)
{
    char *d = new_dir();
    ug_config cfg;
    ug_config_init(&cfg);
    cfg.cache_dir = d;
    ug_context *ctx = ug_context_new(&cfg);
    for (int rep = 0; rep < 5; rep++) {
        char src[256];
        snprintf(src, sizeof src, "def p%d(x):\n    return ((x * 0.5 - 1.25) * x + 3.0) * x - exp(-x * x)\n", rep);
        ug_ufunc *f = make(ctx, src, sigs8, 8, 1, -1);
        racer r[3];
        pthread_t t[3];
        for (int i = 0; i < 3; i++) {
            r[i].f = f;
            ck_assert_int_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
        }
        for (int i = 0; i < 3; i++) {
            pthread_join(t[i], NULL);
            ck_assert_int_eq(r[i].st, UG_OK);
            check_poly(r[i].y);
        }
        ug_ufunc_free(f);
    }
    ug_ufunc *g = make(ctx, poly, sigs8, 8, 1, -1); /* freed with its loops still queued */
    ug_ufunc_free(g);
    ug_background_wait();
    ug_context_free(ctx);
    rm_dir(d);
    free(d);
}
END_TEST

/* A deferred loop is typed at its first use: its type error is that call's,
 * positioned, and other loops and ufuncs are untouched. */
START_TEST(deferred_failure_stays_with_its_loop)
{
    ug_context *ctx = ug_context_new(NULL);
    const char *bad = "def b(x):\n    return x.nope\n";
    const char *sig[] = {"f8(f8)"};
    ug_ufunc *fb = make(ctx, bad, sig, 1, 0, 1); /* defer: no error yet */
    ug_ufunc *fg = make(ctx, poly, sig, 1, 1, 1);
    double y[1000];
    ug_error err;
    ck_assert_int_eq(call_f8(fb, y, &err), UG_ETYPE);
    ck_assert_msg(strstr(err.msg, "kernel 'b', line 2"), "%s", err.msg);
    ck_assert_int_eq(call_f8(fb, y, &err), UG_ETYPE); /* every call, not just the first */
    ck_assert_int_eq(call_f8(fg, y, &err), UG_OK);
    check_poly(y);
    /* through the loop pointers (NumPy's path): a loop error, taken after the call */
    ug_loop_fn fn;
    void *data;
    ck_assert_int_eq(ug_ufunc_loop(fb, 0, &fn, &data), UG_OK);
    double x1 = 1, y1 = 0;
    char *args[2] = {(char *)&x1, (char *)&y1};
    intptr_t dims[1] = {1}, steps[2] = {8, 8};
    fn(args, dims, steps, data);
    ck_assert(ug_take_loop_error(&err));
    ck_assert_int_eq(err.code, UG_ETYPE);
    ug_ufunc_free(fb);
    ug_ufunc_free(fg);
    /* without defer, the same kernel fails at creation */
    ug_options o;
    ug_options_init(&o);
    o.background = 1;
    ug_ufunc *f = NULL;
    ck_assert_int_eq(ug_vectorize(ctx, bad, sig, 1, &o, &f), UG_ETYPE);
    ck_assert_ptr_null(f);
    o.defer = 2;
    ck_assert_int_eq(ug_vectorize(ctx, poly, sig, 1, &o, &f), UG_EINVAL);
    ck_assert_msg(strstr(ug_errmsg(ctx), "defer 2"), "%s", ug_errmsg(ctx));
    ug_context_free(ctx);
}
END_TEST

/* UFUNCGEN_LAZY=1 defers when neither the options nor the context say. */
START_TEST(lazy_variable_and_context_default)
{
    ug_context *ctx = ug_context_new(NULL);
    const char *bad = "def b(x):\n    return x.nope\n";
    const char *sig[] = {"f8(f8)"};
    ug_options o;
    ug_options_init(&o);
    ug_ufunc *f = NULL;
    setenv("UFUNCGEN_LAZY", "1", 1);
    ck_assert_int_eq(ug_vectorize(ctx, bad, sig, 1, &o, &f), UG_OK); /* deferred: not typed yet */
    ug_ufunc_free(f);
    o.defer = -1; /* never deferred */
    ck_assert_int_eq(ug_vectorize(ctx, bad, sig, 1, &o, &f), UG_ETYPE);
    unsetenv("UFUNCGEN_LAZY");
    o.defer = 0;
    ck_assert_int_eq(ug_vectorize(ctx, bad, sig, 1, &o, &f), UG_ETYPE);
    ug_config cfg;
    ug_config_init(&cfg);
    cfg.defer = 1;
    ug_context *lazy = ug_context_new(&cfg);
    ck_assert_int_eq(ug_vectorize(lazy, bad, sig, 1, &o, &f), UG_OK);
    ug_ufunc_free(f);
    ug_context_free(lazy);
    ug_context_free(ctx);
}
END_TEST

/* fork() right after a background creation: the child (no pool threads)
 * makes the loops it calls itself, the parent's stay right. */
START_TEST(fork_while_loops_are_queued)
{
    if (UG_TEST_ASAN)
        return; /* see test_parallel_e2e's fork test */
    ug_context *ctx = ug_context_new(NULL);
    for (int rep = 0; rep < 20; rep++) {
        char src[256];
        snprintf(src, sizeof src, "def q%d(x):\n    return ((x * 0.5 - 1.25) * x + 3.0) * x - exp(-x * x)\n", rep);
        ug_ufunc *f = make(ctx, src, sigs8, 8, 1, -1);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            alarm(60);
            double y[1000];
            ug_error err;
            if (call_f8(f, y, &err) != UG_OK)
                _exit(2);
            for (int i = 0; i < 1000; i++) {
                double x = sin((double)i) * 3, want = ((x * 0.5 - 1.25) * x + 3.0) * x - exp(-x * x);
                if (fabs(y[i] - want) > 1e-12 * (1 + fabs(want)))
                    _exit(3);
            }
            _exit(0);
        }
        double y[1000];
        ug_error err;
        ck_assert_int_eq(call_f8(f, y, &err), UG_OK);
        check_poly(y);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d (rep %d)", status, rep);
        ug_ufunc_free(f);
    }
    ug_context_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, concurrent_compiles_are_bit_identical_to_serial_ones);
    tcase_add_test(tc, background_calls_wait_for_their_loop);
    tcase_add_test(tc, deferred_failure_stays_with_its_loop);
    tcase_add_test(tc, lazy_variable_and_context_default);
    tcase_add_test(tc, fork_while_loops_are_queued);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
