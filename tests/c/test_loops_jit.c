/* test_loops_jit.c — white-box suite of loops/: compile.c, host.c and jit.c:
 * corrupt objects, shared and unloaded code, host facts, optimisation levels
 * and fast-math, concurrent compiles and loads, UFUNCGEN_DUMP output.
 */
#include <llvm/Config/llvm-config.h> /* the LLVM this build compiled against */

#include "tests/c/loops_support.h"

/* ---------------------------------------------------------------- JIT */

START_TEST(jit_corrupt_object_and_sharing)
{
    void *obj;
    size_t size;
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    build_ex(sigmoid_kernel(UG_FLOAT64), scalar_layout(1, 1), dts, 0, &obj, &size);
    char sym[64];
    snprintf(sym, sizeof sym, "test_loop_%d", symno - 1);
    loops_code *c1, *c2, *c3;
    ug_loop_fn f1, f2, f3;
    ug_error err;
    ck_assert_int_eq(loops_load(obj, size, sym, &c2, &f2, &err), UG_OK); /* shared with the build above */
    ck_assert_int_eq(loops_load(obj, size, sym, &c1, &f1, &err), UG_OK);
    ck_assert_ptr_eq(c1, c2);
    ck_assert_ptr_eq(f1, f2);
    loops_unload(c1);
    loops_unload(c2);
    char junk[512];
    memset(junk, 0x5a, sizeof junk);
    ck_assert_int_eq(loops_load(junk, sizeof junk, "junk_sym", &c3, &f3, &err), UG_EJIT);
    ck_assert_ptr_null(c3);
    ck_assert_int_eq(loops_load(obj, size / 3, "trunc_sym", &c3, &f3, &err), UG_EJIT);
    ck_assert_int_eq(loops_load(obj, size, "no_such_symbol", &c3, &f3, &err), UG_EJIT);
    free(obj);
    loops_unload(NULL);
}
END_TEST

START_TEST(host_facts_and_count)
{
    ck_assert(strlen(loops_host_cpu()) > 0);
    ck_assert(strstr(loops_host_features(), "+") != NULL);
    ck_assert_str_eq(loops_llvm_version(), LLVM_VERSION_STRING);
    long before = loops_compile_count();
    ug_dtype dts[2] = {UG_FLOAT32, UG_FLOAT32};
    build(sigmoid_kernel(UG_FLOAT32), dts);
    ck_assert_int_eq(loops_compile_count(), before + 1);
}
END_TEST


/* ---------------------------------------------------------------- options, threads, dumps */

static void check_sigmoid(ug_loop_fn fn, int ulps)
{
    enum { N = 517 };
    double x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = (i - 258) * 0.07;
    char *args[2] = {(char *)x, (char *)y};
    intptr_t d[1] = {N}, st[2] = {8, 8};
    fn(args, d, st, NULL);
    for (int i = 0; i < N; i++)
        ck_assert_msg(close_ulps(y[i], 1.0 / (1.0 + exp(-x[i])), ulps, false), "x=%g: %.17g", x[i], y[i]);
}

START_TEST(opt_levels_and_fastmath)
{
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    for (int lvl = 0; lvl <= 3; lvl++)
        for (int fast = 0; fast <= 1; fast++) {
            char sym[64];
            snprintf(sym, sizeof sym, "opt_%d_%d", lvl, fast);
            loops_request r = {.tk = sigmoid_kernel(UG_FLOAT64), .layout = scalar_layout(1, 1), .dtypes = dts,
                               .symbol = sym, .kname = "k", .fastmath = fast, .opt_level = lvl};
            void *obj;
            size_t size;
            loops_code *code;
            ug_loop_fn fn;
            ug_error err = {0};
            ck_assert_msg(loops_compile(&r, &obj, &size, &err) == UG_OK, "%s", err.msg);
            ck_assert_msg(loops_load(obj, size, sym, &code, &fn, &err) == UG_OK, "%s", err.msg);
            free(obj);
            check_sigmoid(fn, fast ? 64 : 4);
            loops_unload(code);
        }
}
END_TEST

/* After the last unload the symbol is gone; loading it again gives new, working code. */
START_TEST(unload_and_reload)
{
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    loops_request r = {.tk = sigmoid_kernel(UG_FLOAT64), .layout = scalar_layout(1, 1), .dtypes = dts,
                       .symbol = "reload_me", .kname = "k", .opt_level = 3};
    void *obj;
    size_t size;
    ug_error err = {0};
    ck_assert_int_eq(loops_compile(&r, &obj, &size, &err), UG_OK);
    for (int round = 0; round < 3; round++) {
        loops_code *code;
        ug_loop_fn fn;
        ck_assert_msg(loops_load(obj, size, "reload_me", &code, &fn, &err) == UG_OK, "%s", err.msg);
        check_sigmoid(fn, 4);
        loops_unload(code);
    }
    free(obj);
}
END_TEST

typedef struct worker {
    int id;
    int ok;
} worker;

/* Each thread compiles its own symbol and a shared one, loads, runs, unloads. */
static void *work(void *p)
{
    worker *w = p;
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    w->ok = 1;
    for (int k = 0; k < 4; k++) {
        char sym[64];
        snprintf(sym, sizeof sym, k % 2 ? "shared_sym" : "thr_%d_%d", w->id, k);
        loops_request r = {.tk = sigmoid_kernel(UG_FLOAT64), .layout = scalar_layout(1, 1), .dtypes = dts,
                           .symbol = sym, .kname = "k", .opt_level = 3};
        void *obj;
        size_t size;
        loops_code *code;
        ug_loop_fn fn;
        ug_error err = {0};
        if (loops_compile(&r, &obj, &size, &err) || loops_load(obj, size, sym, &code, &fn, &err)) {
            w->ok = 0;
            return NULL;
        }
        free(obj);
        double x[64], y[64];
        for (int i = 0; i < 64; i++)
            x[i] = i * 0.1 - 3;
        char *args[2] = {(char *)x, (char *)y};
        intptr_t d[1] = {64}, st[2] = {8, 8};
        fn(args, d, st, NULL);
        for (int i = 0; i < 64; i++)
            if (!close_ulps(y[i], 1.0 / (1.0 + exp(-x[i])), 4, false))
                w->ok = 0;
        loops_unload(code);
    }
    return NULL;
}

START_TEST(concurrent_compile_and_load)
{
    enum { T = 4 };
    pthread_t th[T];
    worker w[T];
    for (int i = 0; i < T; i++) {
        w[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(w[i].ok, "thread %d", i);
    }
}
END_TEST


/* UFUNCGEN_DUMP=ir,asm,time prints the IR (with the libmvec attribute), the
 * assembly and stage times to stderr. */
START_TEST(dump_ir_and_asm)
{
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    const char *text = dump_of("ir,asm,time", sigmoid_kernel(UG_FLOAT64), dts);
    ck_assert_msg(strstr(text, "vector-function-abi-variant"), "no vfabi attribute in the IR dump");
    ck_assert_msg(strstr(text, "llvm.loop.parallel_accesses"), "no parallel loop metadata");
    ck_assert_msg(strstr(text, "# ---- ufuncgen asm"), "no asm dump");
    ck_assert_msg(strstr(text, "optimise"), "no stage times");
}
END_TEST

/* The flags of the optimised module's strided descriptor (@ug.desc, read
 * from UFUNCGEN_DUMP=ir): which way strided calls of kernel e run. */

static Suite *suite(void)
{
    Suite *s = suite_create("loops_jit");
    TCase *tc = loops_tcase("jit");
    tcase_add_test(tc, jit_corrupt_object_and_sharing);
    tcase_add_test(tc, host_facts_and_count);
    tcase_add_test(tc, opt_levels_and_fastmath);
    tcase_add_test(tc, unload_and_reload);
    tcase_add_test(tc, concurrent_compile_and_load);
    tcase_add_test(tc, dump_ir_and_asm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }
