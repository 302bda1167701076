/* test_loops_jit.c — white-box suite of loops/: compile.c, host.c, jit.c and
 * link.c: corrupt objects, shared and unloaded code, host facts, optimisation
 * levels and fast-math, concurrent compiles and loads, UFUNCGEN_DUMP output,
 * objects linked without ORC and those it leaves to ORC.
 */
#include <llvm/Config/llvm-config.h> /* the LLVM this build compiled against */

#include <llvm-c/Comdat.h>
#include <sys/wait.h>

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

/* ---------------------------------------------------------------- link.c */

/* The objects compile.c emits load without ORC: a loop calling libmvec and
 * rt_strided, and a gufunc with a sorted local copy (rt_sort*, rt_alloc),
 * give their values and no ORC load happens. */
START_TEST(link_takes_compiled_objects)
{
    long orc = loops_orc_count();
    enum { N = 301 };
    double x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = (i - 150) * 0.1;
    ug_dtype dd[2] = {UG_FLOAT64, UG_FLOAT64};
    run_f64(build_src("def sig(x):\n    return 1.0 / (1.0 + exp(-x))\n", NULL, 1, 1, dd, NULL, 0), x, y, UG_FLOAT64, N);
    for (int i = 0; i < N; i++)
        ck_assert_msg(fabs(y[i] - 1.0 / (1.0 + exp(-x[i]))) <= 4 * DBL_EPSILON, "x=%g: %.17g", x[i], y[i]);
    int nd[2] = {1, 0};
    ug_loop_fn g = build_src("def k(a, out):\n    s = np.sort(a * -1.0)\n    out[0] = s[0] * 1000.0 + s[s.shape[0] - 1]\n",
                             "(n)->()", 1, 1, dd, nd, 0);
    double a[2][5] = {{3, -1, 4, 1, 5}, {-9, 2, 6, 5, 3}}, out[2];
    char *args[2] = {(char *)a, (char *)out};
    intptr_t dims[2] = {2, 5}, steps[3] = {5 * 8, 8, 8};
    g(args, dims, steps, NULL);
    ck_assert_double_eq(out[0], -5.0 * 1000.0 + 1.0);
    ck_assert_double_eq(out[1], -6.0 * 1000.0 + 9.0);
    ck_assert_int_eq(loops_orc_count(), orc);
}
END_TEST

/* A hand-made object: f(x) = x * 3, plain, in a COMDAT group (link.c
 * declines groups) or added to a counter in writable data (pages of its
 * own, not the arena), then passed to callee if given. */
typedef enum { OBJ_PLAIN, OBJ_COMDAT, OBJ_COUNTER } obj_kind;

static void *object_of(obj_kind kind, const char *callee, const char *name, size_t *size)
{
    LLVMContextRef C = LLVMContextCreate();
    LLVMModuleRef M = LLVMModuleCreateWithNameInContext(name, C);
    ug_error err = {0};
    LLVMTargetMachineRef tm = loops_host_tm(&err);
    ck_assert_msg(tm, "%s", err.msg);
    LLVMSetTarget(M, loops_host_triple());
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(M, td);
    LLVMDisposeTargetData(td);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C), ft = LLVMFunctionType(i64, &i64, 1, 0);
    LLVMValueRef f = LLVMAddFunction(M, name, ft);
    if (kind == OBJ_COMDAT)
        LLVMSetComdat(f, LLVMGetOrInsertComdat(M, name));
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, f, "entry"));
    LLVMValueRef v = LLVMBuildMul(B, LLVMGetParam(f, 0), LLVMConstInt(i64, 3, 0), "");
    if (kind == OBJ_COUNTER) {
        LLVMValueRef g = LLVMAddGlobal(M, i64, "ug_link_count");
        LLVMSetInitializer(g, LLVMConstInt(i64, 0, 0));
        LLVMSetLinkage(g, LLVMInternalLinkage);
        v = LLVMBuildAdd(B, LLVMBuildLoad2(B, i64, g, ""), v, "");
        LLVMBuildStore(B, v, g);
    }
    if (callee)
        v = LLVMBuildCall2(B, ft, LLVMAddFunction(M, callee, ft), &v, 1, "");
    LLVMBuildRet(B, v);
    LLVMDisposeBuilder(B);
    LLVMMemoryBufferRef buf;
    char *msg = NULL;
    ck_assert_msg(!LLVMTargetMachineEmitToMemoryBuffer(tm, M, LLVMObjectFile, &msg, &buf), "%s", msg);
    *size = LLVMGetBufferSize(buf);
    void *obj = memcpy(malloc(*size), LLVMGetBufferStart(buf), *size);
    LLVMDisposeMemoryBuffer(buf);
    LLVMDisposeModule(M);
    LLVMContextDispose(C);
    return obj;
}

/* What link.c declines goes to ORC: a COMDAT group loads and runs there;
 * a missing symbol is ORC's error, naming the symbol. A runtime symbol
 * resolves; writable data takes pages of its own (not the arena) and
 * keeps its value between calls. */
START_TEST(link_declines_to_orc)
{
    size_t size;
    void *obj = object_of(OBJ_COMDAT, NULL, "ug_link_comdat", &size);
    loops_linked lk;
    void *fn;
    char why[160] = "";
    ck_assert(!loops_link(obj, size, "ug_link_comdat", loops_resolve, &lk, &fn, why, sizeof why));
    ck_assert_msg(strstr(why, "group"), "%s", why);
    ck_assert_ptr_null(lk.base);
    long orc = loops_orc_count();
    loops_code *c;
    ug_loop_fn lf;
    ug_error err = {0};
    ck_assert_msg(loops_load(obj, size, "ug_link_comdat", &c, &lf, &err) == UG_OK, "%s", err.msg);
    ck_assert_int_eq(loops_orc_count(), orc + 1);
    ck_assert_int_eq(((int64_t(*)(int64_t))(uintptr_t)lf)(14), 42);
    loops_unload(c);
    free(obj);

    obj = object_of(OBJ_PLAIN, "ug_link_no_such_fn", "ug_link_missing", &size);
    ck_assert(!loops_link(obj, size, "ug_link_missing", loops_resolve, &lk, &fn, why, sizeof why));
    ck_assert_msg(strstr(why, "'ug_link_no_such_fn' is not found"), "%s", why);
    ck_assert_int_eq(loops_load(obj, size, "ug_link_missing", &c, &lf, &err), UG_EJIT);
    ck_assert_msg(strstr(err.msg, "ug_link_no_such_fn"), "%s", err.msg);
    free(obj);

    obj = object_of(OBJ_PLAIN, "rt_fpe", "ug_link_rt", &size); /* a runtime symbol resolves (not called) */
    ck_assert_msg(loops_link(obj, size, "ug_link_rt", loops_resolve, &lk, &fn, why, sizeof why), "%s", why);
    ck_assert_ptr_nonnull(fn);
    loops_unlink(&lk);
    ck_assert_ptr_null(lk.base);
    loops_unlink(NULL);
    free(obj);

    obj = object_of(OBJ_COUNTER, NULL, "ug_link_counter", &size); /* writable data: pages of its own */
    ck_assert_msg(loops_link(obj, size, "ug_link_counter", loops_resolve, &lk, &fn, why, sizeof why), "%s", why);
    ck_assert_ptr_null(lk.chunk);
    ck_assert_ptr_nonnull(lk.base);
    int64_t (*count)(int64_t) = (int64_t(*)(int64_t))(uintptr_t)fn;
    ck_assert_int_eq(count(1), 3);
    ck_assert_int_eq(count(2), 9);
    loops_unlink(&lk);
    free(obj);
}
END_TEST

/* A damaged object never crashes the linker: every byte changed three ways,
 * every truncation, misaligned; it declines or links (then is unlinked,
 * never run). */
START_TEST(link_survives_damaged_objects)
{
    void *obj;
    size_t size;
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    build_ex(sigmoid_kernel(UG_FLOAT64), scalar_layout(1, 1), dts, 0, &obj, &size);
    unsigned char *m = malloc(size + 8);
    loops_linked lk;
    void *fn;
    char why[160];
    int declined = 0;
    for (size_t i = 0; i < size; i++)
        for (int w = 0; w < 3; w++) {
            memcpy(m, obj, size);
            m[i] = w == 0 ? m[i] ^ 0xff : w == 1 ? 0 : m[i] + 1;
            if (loops_link(m, size, "ug_nothing", loops_resolve, &lk, &fn, why, sizeof why))
                loops_unlink(&lk);
            else
                declined++;
        }
    ck_assert_int_eq(declined, (int)size * 3); /* no such symbol: all decline, after whatever got parsed */
    for (size_t n = 0; n < size; n++) {
        memcpy(m, obj, n);
        ck_assert(!loops_link(m, n, "x", loops_resolve, &lk, &fn, why, sizeof why) || (loops_unlink(&lk), 1));
    }
    memcpy(m + 1, obj, size); /* misaligned: read from an aligned copy */
    char sym[64];
    snprintf(sym, sizeof sym, "test_loop_%d", symno - 1);
    ck_assert_msg(loops_link(m + 1, size, sym, loops_resolve, &lk, &fn, why, sizeof why), "%s", why);
    double x = 0.0, y = -1.0;
    char *args[2] = {(char *)&x, (char *)&y};
    intptr_t d = 1, st[2] = {8, 8};
    ((ug_loop_fn)(uintptr_t)fn)(args, &d, st, NULL);
    ck_assert_double_eq(y, 0.5);
    loops_unlink(&lk);
    free(m);
    free(obj);
}
END_TEST


/* Small loops pack into one chunk of the arena; a forked child links into
 * a chunk of its own, so a loop the parent links after the fork is not
 * overwritten by the child's (the chunk's pages are shared). */
static double call1(void *fn, double x)
{
    double y = -1.0;
    char *args[2] = {(char *)&x, (char *)&y};
    intptr_t d = 1, st[2] = {8, 8};
    ((ug_loop_fn)(uintptr_t)fn)(args, &d, st, NULL);
    return y;
}

/* The objects (and symbols) of two loops: the sigmoid, and 2x + 1. */
static void two_objects(void **sig, size_t *nsig, char ssig[64], void **lin, size_t *nlin, char slin[64])
{
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    build_ex(sigmoid_kernel(UG_FLOAT64), scalar_layout(1, 1), dts, 0, sig, nsig);
    snprintf(ssig, 64, "test_loop_%d", symno - 1);
    kernel_argtype at[2] = {{UG_FLOAT64, 0}, {UG_FLOAT64, 0}};
    build_ex(typed_src("def k(x):\n    return x * 2.0 + 1.0\n", false, 1, 1, at), scalar_layout(1, 1), dts, 0, lin,
             nlin);
    snprintf(slin, 64, "test_loop_%d", symno - 1);
}

START_TEST(link_packs_loops_and_forks)
{
    void *sig, *lin;
    size_t nsig, nlin;
    char ssig[64], slin[64];
    two_objects(&sig, &nsig, ssig, &lin, &nlin, slin);
    loops_linked a, b, c;
    void *fa, *fb, *fc;
    char why[160];
    ck_assert_msg(loops_link(sig, nsig, ssig, loops_resolve, &a, &fa, why, sizeof why), "%s", why);
    ck_assert_msg(loops_link(lin, nlin, slin, loops_resolve, &b, &fb, why, sizeof why), "%s", why);
    ck_assert_ptr_nonnull(a.chunk);
    ck_assert_ptr_eq(a.chunk, b.chunk);
    ck_assert_ptr_null(a.base);
    ck_assert(labs((char *)fa - (char *)fb) < 8192);
    ck_assert_double_eq(call1(fa, 0.0), 0.5);
    ck_assert_double_eq(call1(fb, 3.0), 7.0);
    int go[2], done[2];
    ck_assert(pipe(go) == 0 && pipe(done) == 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    char byte = 0;
    if (pid == 0) { /* the child links the linear loop once the parent has linked the sigmoid */
        int ok = read(go[0], &byte, 1) == 1 && loops_link(lin, nlin, slin, loops_resolve, &c, &fc, why, sizeof why) &&
                 call1(fc, 1.0) == 3.0 && call1(fa, 0.0) == 0.5 && write(done[1], &byte, 1) == 1;
        _exit(ok ? 0 : 1);
    }
    ck_assert_msg(loops_link(sig, nsig, ssig, loops_resolve, &c, &fc, why, sizeof why), "%s", why);
    ck_assert(write(go[1], &byte, 1) == 1);
    ck_assert(read(done[0], &byte, 1) == 1);
    int status;
    ck_assert(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_double_eq(call1(fc, 0.0), 0.5); /* still the sigmoid */
    ck_assert_double_eq(call1(fb, 3.0), 7.0);
    loops_unlink(&a);
    loops_unlink(&b);
    loops_unlink(&c);
    ck_assert_ptr_null(a.chunk);
    close(go[0]), close(go[1]), close(done[0]), close(done[1]);
    free(sig);
    free(lin);
}
END_TEST

/* An emptied current chunk is written again from its start (create/free
 * cycles keep resident memory flat), with the new code; after a fork the
 * chunk may be the other process's code too, so it is not rewritten. Run
 * in a child, whose first link starts a chunk of its own (this process's
 * holds the loops build_ex loaded): the exit code says which check failed. */
static int reuse_until_fork(void *sig, size_t nsig, const char *ssig, void *lin, size_t nlin, const char *slin)
{
    loops_linked a, b;
    void *fa, *f2, *fb;
    char why[160];
    if (!loops_link(sig, nsig, ssig, loops_resolve, &a, &fa, why, sizeof why) || call1(fa, 0.0) != 0.5)
        return 1;
    loops_unlink(&a);
    if (!loops_link(sig, nsig, ssig, loops_resolve, &a, &f2, why, sizeof why) || f2 != fa)
        return 2; /* the same place again */
    loops_unlink(&a);
    if (!loops_link(lin, nlin, slin, loops_resolve, &b, &fb, why, sizeof why) || call1(fb, 3.0) != 7.0)
        return 3; /* other code written over it runs as itself */
    loops_unlink(&b);
    if (!loops_link(sig, nsig, ssig, loops_resolve, &a, &f2, why, sizeof why) || f2 != fa || call1(f2, 0.0) != 0.5)
        return 4;
    pid_t pid = fork();
    if (pid == 0)
        _exit(call1(f2, 0.0) == 0.5 ? 0 : 1);
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
        return 5;
    loops_unlink(&a);
    if (!loops_link(sig, nsig, ssig, loops_resolve, &a, &f2, why, sizeof why))
        return 6;
    return f2 == fa ? 7 : call1(f2, 0.0) != 0.5 ? 8 : 0; /* shared with the child: not rewritten */
}

START_TEST(link_reuses_emptied_chunk_until_fork)
{
    void *sig, *lin;
    size_t nsig, nlin;
    char ssig[64], slin[64];
    two_objects(&sig, &nsig, ssig, &lin, &nlin, slin);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0)
        _exit(reuse_until_fork(sig, nsig, ssig, lin, nlin, slin));
    int status;
    ck_assert(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    ck_assert_msg(WEXITSTATUS(status) == 0, "check %d failed", WEXITSTATUS(status));
    free(sig);
    free(lin);
}
END_TEST

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
    tcase_add_test(tc, link_takes_compiled_objects);
    tcase_add_test(tc, link_declines_to_orc);
    tcase_add_test(tc, link_survives_damaged_objects);
    tcase_add_test(tc, link_packs_loops_and_forks);
    tcase_add_test(tc, link_reuses_emptied_chunk_until_fork);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }
