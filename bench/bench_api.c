/* bench_api.c — end-to-end figures through the public API, against plain C
 * compiled with gcc -O3 -march=native (cref_api.c), all in one run:
 *   gufuncs (issue 3): batched dot n=16 over 1M rows; 4x4 matmul over 1M stacks;
 *   parallel (issue 5): degree-8 polynomial, sigmoid and sin*cos+exp+log1p on
 *     10M float64 with 2 threads vs 1, the first two also as gcc -O3 -fopenmp
 *     loops (cref_par.c: what this machine allows them); a*b+c parallel vs
 *     serial; a 1000-element call parallel vs serial;
 *   per call: ug_call on 8 float64 against calling the loop directly;
 *   cache (issue 6): loading one cached signature; a fresh process (this
 *     program re-executed) creating three cached ufuncs and calling them,
 *     timed from main() — i.e. beyond the dynamic loading of libLLVM, which
 *     happens before main — and split into context+JIT setup and the rest.
 * Medians of repetitions; ratios > 1 mean the first is slower.
 * Usage: build/bench/bench_api [--json FILE] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ufuncgen/ufuncgen.h"

void cref_dot16(int64_t rows, const double *a, const double *b, double *out);
void cref_matmul4(int64_t stacks, const double *A, const double *B, double *C);
void cref_poly8(int64_t n, const double *x, double *y);
void cref_sigmoid_par(int64_t n, const double *x, double *y, int threads);
void cref_poly8_par(int64_t n, const double *x, double *y, int threads);

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define REPS 9
#define TIME(stmt)                                                                                                   \
    ({                                                                                                               \
        double ts_[REPS];                                                                                            \
        stmt;                                                                                                        \
        for (int r_ = 0; r_ < REPS; r_++) {                                                                          \
            double t0_ = now_ms();                                                                                   \
            stmt;                                                                                                    \
            ts_[r_] = now_ms() - t0_;                                                                                \
        }                                                                                                            \
        median(ts_, REPS);                                                                                           \
    })

/* Two statements timed alternately, call after call, medians of PAIRS each:
 * a busy spell of the host then weighs on both sides of a ratio alike. */
#define PAIRS 15
#define TIME2(a_stmt, b_stmt, ta, tb)                                                                                \
    do {                                                                                                             \
        double xa_[PAIRS], xb_[PAIRS];                                                                               \
        a_stmt;                                                                                                      \
        b_stmt;                                                                                                      \
        for (int r_ = 0; r_ < PAIRS; r_++) {                                                                         \
            double t0_ = now_ms();                                                                                   \
            a_stmt;                                                                                                  \
            double t1_ = now_ms();                                                                                   \
            b_stmt;                                                                                                  \
            xb_[r_] = now_ms() - t1_;                                                                                \
            xa_[r_] = t1_ - t0_;                                                                                     \
        }                                                                                                            \
        ta = median(xa_, PAIRS);                                                                                     \
        tb = median(xb_, PAIRS);                                                                                     \
    } while (0)

static ug_context *ctx;
static FILE *json;

static void report(const char *what, double ours, double ref, const char *refname)
{
    printf("%-52s %9.3f ms  %-16s %9.3f ms  ratio %.3f\n", what, ours, refname, ref, ours / ref);
    if (json)
        fprintf(json, "  {\"name\": \"%s\", \"ufuncgen_ms\": %.6f, \"ref\": \"%s\", \"ref_ms\": %.6f},\n", what, ours,
                refname, ref);
}

static ug_ufunc *make(const char *src, const char *layout, const char *sig, ug_target target, int cache)
{
    ug_options o;
    ug_options_init(&o);
    o.target = target;
    o.cache = cache;
    ug_ufunc *f = NULL;
    ug_status st = layout ? ug_guvectorize(ctx, src, layout, &sig, 1, &o, &f) : ug_vectorize(ctx, src, &sig, 1, &o, &f);
    if (st != UG_OK) {
        fprintf(stderr, "bench_api: %s\n", ug_errmsg(ctx));
        exit(1);
    }
    return f;
}

static void call(ug_ufunc *f, ug_operand *ops, int n)
{
    if (ug_call(f, ops, n, NULL) != UG_OK) {
        fprintf(stderr, "bench_api: %s\n", ug_errmsg(ctx));
        exit(1);
    }
}

static double *filled(int64_t n, double scale)
{
    double *p = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        p[i] = sin((double)i * 0.001 + scale) * 4;
    return p;
}

static void check_close(const char *what, const double *a, const double *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (fabs(a[i] - b[i]) > 1e-9 * (1 + fabs(b[i]))) {
            fprintf(stderr, "bench_api: %s differs at %lld: %.17g vs %.17g\n", what, (long long)i, a[i], b[i]);
            exit(1);
        }
}

static void bench_gufuncs(void)
{
    const int64_t rows = 1000000;
    double *a = filled(rows * 16, 0), *b = filled(rows * 16, 1), *o1 = malloc(8 * rows * 16),
           *o2 = malloc(8 * rows * 16);
    ug_ufunc *dot = make("def dot(a, b, out):\n    acc = 0.0\n    for i in range(a.shape[0]):\n"
                         "        acc += a[i] * b[i]\n    out[0] = acc\n",
                         "(n),(n)->()", "void(float64[:], float64[:], float64[:])", UG_TARGET_CPU, 0);
    ug_operand ops[3];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){rows, 16}, NULL);
    ug_operand_init(&ops[1], b, UG_FLOAT64, 2, (int64_t[]){rows, 16}, NULL);
    ug_operand_init(&ops[2], o1, UG_FLOAT64, 1, (int64_t[]){rows}, NULL);
    double t_ug = TIME(call(dot, ops, 3));
    double t_c = TIME(cref_dot16(rows, a, b, o2));
    check_close("dot", o1, o2, rows);
    report("gufunc dot (n)=16 x 1M rows, float64", t_ug, t_c, "gcc -O3 C loop");
    ug_ufunc *mm = make("def mm(A, B, C):\n    m, n = A.shape\n    p = B.shape[1]\n    for i in range(m):\n"
                        "        for j in range(p):\n            s = 0.0\n            for k in range(n):\n"
                        "                s += A[i, k] * B[k, j]\n            C[i, j] = s\n",
                        "(m,n),(n,p)->(m,p)", "void(float64[:,:], float64[:,:], float64[:,:])", UG_TARGET_CPU, 0);
    ug_operand_init(&ops[0], a, UG_FLOAT64, 3, (int64_t[]){rows, 4, 4}, NULL);
    ug_operand_init(&ops[1], b, UG_FLOAT64, 3, (int64_t[]){rows, 4, 4}, NULL);
    ug_operand_init(&ops[2], o1, UG_FLOAT64, 3, (int64_t[]){rows, 4, 4}, NULL);
    t_ug = TIME(call(mm, ops, 3));
    t_c = TIME(cref_matmul4(rows, a, b, o2));
    check_close("matmul", o1, o2, rows * 16);
    report("gufunc matmul 4x4 x 1M stacks, float64", t_ug, t_c, "gcc -O3 C loop");
    ug_ufunc_free(dot);
    ug_ufunc_free(mm);
    free(a);
    free(b);
    free(o1);
    free(o2);
}

static const char *poly_src = "def poly(v):\n    return ((((((((0.5 * v + 1.5) * v - 2.0) * v + 0.25) * v + 3.0)"
                              " * v - 1.0) * v + 0.125) * v + 2.0) * v - 0.75)\n";
static const char *sig_src = "def sigmoid(x):\n    return 1.0 / (1.0 + exp(-x))\n";
static const char *fma_src = "def fma(a, b, c):\n    return a * b + c\n";
/* compute-bound even with 2 threads (sigmoid and the polynomial are not, on
 * AVX-512: at 2 threads their 24 bytes per element of memory traffic reach
 * the memory bandwidth, so their speed-up tops out near 1.5) */
static const char *heavy_src = "def heavy(x):\n    return sin(x) * cos(x) + exp(-x * x) + log1p(x * x)\n";

/* Serial f and parallel g on x[:n], timed alternately (TIME2). */
static void time_unary2(ug_ufunc *f, ug_ufunc *g, double *x, double *y1, double *y2, int64_t n, double *tf, double *tg)
{
    ug_operand a[2], b[2];
    ug_operand_init(&a[0], x, UG_FLOAT64, 1, &n, NULL);
    ug_operand_init(&a[1], y1, UG_FLOAT64, 1, &n, NULL);
    ug_operand_init(&b[0], x, UG_FLOAT64, 1, &n, NULL);
    ug_operand_init(&b[1], y2, UG_FLOAT64, 1, &n, NULL);
    TIME2(call(f, a, 2), call(g, b, 2), *tf, *tg);
}

static void bench_parallel(void)
{
    const int64_t n = 10000000;
    double *x = filled(n, 0), *b = filled(n, 2), *c = filled(n, 3), *y1 = malloc(8 * n), *y2 = malloc(8 * n);
    const char *srcs[3] = {poly_src, sig_src, heavy_src};
    const char *names[3] = {"degree-8 polynomial", "sigmoid", "sin*cos+exp+log1p"};
    for (int k = 0; k < 3; k++) {
        ug_ufunc *s = make(srcs[k], NULL, "d->d", UG_TARGET_CPU, 0), *p = make(srcs[k], NULL, "d->d", UG_TARGET_PARALLEL, 0);
        double ts, tp;
        time_unary2(s, p, x, y1, y2, n, &ts, &tp);
        if (memcmp(y1, y2, 8 * n)) {
            fprintf(stderr, "bench_api: parallel %s differs from serial\n", names[k]);
            exit(1);
        }
        char what[128];
        snprintf(what, sizeof what, "%s 10M f64: serial / 2 threads (speed-up)", names[k]);
        report(what, ts, tp, "parallel");
        printf("%-52s %9.2f GB/s serial, %.2f GB/s parallel\n", "  memory traffic (24 B/element with the output's RFO)",
               24.0 * n / ts / 1e6, 24.0 * n / tp / 1e6);
        if (k == 0) {
            double tc = TIME(cref_poly8(n, x, y1));
            report("degree-8 polynomial 10M f64, serial", ts, tc, "gcc -O3 C loop");
        }
        if (k < 2) { /* what the machine allows: the same kernel in C over OpenMP, 1 vs 2 threads */
            void (*ref)(int64_t, const double *, double *, int) = k == 0 ? cref_poly8_par : cref_sigmoid_par;
            double c1, c2;
            TIME2(ref(n, x, y1, 1), ref(n, x, y2, 2), c1, c2);
            snprintf(what, sizeof what, "  gcc -O3 -fopenmp reference: 1 / 2 threads");
            report(what, c1, c2, "2 threads");
        }
        int64_t small = 1000;
        double t1, t2;
        time_unary2(s, p, x, y1, y2, small, &t1, &t2);
        snprintf(what, sizeof what, "%s 1000 elements: parallel / serial", names[k]);
        report(what, t2, t1, "serial");
        ug_ufunc_free(s);
        ug_ufunc_free(p);
    }
    ug_ufunc *s = make(fma_src, NULL, "ddd->d", UG_TARGET_CPU, 0), *p = make(fma_src, NULL, "ddd->d", UG_TARGET_PARALLEL, 0);
    ug_operand ops[4];
    ug_operand_init(&ops[0], x, UG_FLOAT64, 1, &n, NULL);
    ug_operand_init(&ops[1], b, UG_FLOAT64, 1, &n, NULL);
    ug_operand_init(&ops[2], c, UG_FLOAT64, 1, &n, NULL);
    ug_operand_init(&ops[3], y1, UG_FLOAT64, 1, &n, NULL);
    double ts, tp;
    TIME2(call(s, ops, 4), call(p, ops, 4), ts, tp);
    report("a*b+c 10M f64: parallel / serial (memory bound)", tp, ts, "serial");
    printf("%-52s %9.2f GB/s serial, %.2f GB/s parallel\n", "a*b+c bandwidth (32 B/element)", 32.0 * n / ts / 1e6,
           32.0 * n / tp / 1e6);
    ug_ufunc_free(s);
    ug_ufunc_free(p);
    free(x);
    free(b);
    free(c);
    free(y1);
    free(y2);
}

/* Child: a fresh process that creates three cached ufuncs and calls them. */
static int cache_child(void)
{
    double t0 = now_ms();
    ctx = ug_context_new(NULL);
    ug_ufunc *f[3] = {make(sig_src, NULL, "d->d", UG_TARGET_CPU, 1), make(poly_src, NULL, "d->d", UG_TARGET_CPU, 1),
                      make(fma_src, NULL, "ddd->d", UG_TARGET_CPU, 1)};
    double t1 = now_ms();
    double x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    int64_t n = 8;
    ug_operand ops[4];
    for (int k = 0; k < 3; k++) {
        int nin = k == 2 ? 3 : 1;
        for (int i = 0; i < nin; i++)
            ug_operand_init(&ops[i], x, UG_FLOAT64, 1, &n, NULL);
        ug_operand_init(&ops[nin], y, UG_FLOAT64, 1, &n, NULL);
        call(f[k], ops, nin + 1);
    }
    double t2 = now_ms();
    printf("%.4f %.4f\n", t1 - t0, t2 - t0);
    return 0;
}

/* A library's worth of cached loops in a fresh process: 50 kernels x 2
 * signatures from the cache, created in the background (ready to be
 * called: each call waits for its loop), then every loop called once. */
enum { LIB_KERNELS = 50 };
static int library_child(void)
{
    double t0 = now_ms();
    ctx = ug_context_new(NULL);
    ug_ufunc *f[LIB_KERNELS];
    const char *sigs[2] = {"d->d", "f->f"};
    for (int k = 0; k < LIB_KERNELS; k++) {
        char src[160];
        snprintf(src, sizeof src, "def k%d(x):\n    return (x * %d.5 - 1.25) * x + exp(-x * x)\n", k, k);
        ug_options o;
        ug_options_init(&o);
        o.cache = 1;
        o.background = 1;
        if (ug_vectorize(ctx, src, sigs, 2, &o, &f[k]) != UG_OK) {
            fprintf(stderr, "bench_api: %s\n", ug_errmsg(ctx));
            return 1;
        }
    }
    double t1 = now_ms();
    double x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    float xf[8] = {1, 2, 3, 4, 5, 6, 7, 8}, yf[8];
    int64_t n = 8;
    ug_operand ops[2];
    for (int k = 0; k < LIB_KERNELS; k++) {
        ug_operand_init(&ops[0], x, UG_FLOAT64, 1, &n, NULL);
        ug_operand_init(&ops[1], y, UG_FLOAT64, 1, &n, NULL);
        call(f[k], ops, 2);
        ug_operand_init(&ops[0], xf, UG_FLOAT32, 1, &n, NULL);
        ug_operand_init(&ops[1], yf, UG_FLOAT32, 1, &n, NULL);
        call(f[k], ops, 2);
    }
    double t2 = now_ms();
    printf("%.4f %.4f\n", t1 - t0, t2 - t0);
    return 0;
}

/* Median (created, total) ms of REPS fresh runs of `self arg`, after one run
 * that fills the cache in UFUNCGEN_CACHE_DIR. */
static void fresh_runs(const char *self, const char *arg, double *create_ms, double *total_ms)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s %s", self, arg);
    double create[REPS], total[REPS];
    for (int r = 0; r <= REPS; r++) { /* run 0 fills the cache */
        FILE *p = popen(cmd, "r");
        double a = 0, b = 0;
        if (!p || fscanf(p, "%lf %lf", &a, &b) != 2) {
            fprintf(stderr, "bench_api: %s child failed\n", arg);
            exit(1);
        }
        pclose(p);
        if (r) {
            create[r - 1] = a;
            total[r - 1] = b;
        }
    }
    *create_ms = median(create, REPS);
    *total_ms = median(total, REPS);
}

static void bench_cache(const char *self)
{
    char dir[128], cmd[512];
    snprintf(dir, sizeof dir, "/tmp/ufuncgen-bench-cache-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {
    }
    setenv("UFUNCGEN_CACHE_DIR", dir, 1);
    double create, total;
    fresh_runs(self, "--cache-child", &create, &total);
    printf("%-52s %9.3f ms  (creating 3 cached ufuncs: %.3f ms; target <= 10 ms)\n",
           "fresh process: 3 cached ufuncs created + called", total, create);
    if (json)
        fprintf(json, "  {\"name\": \"fresh process 3 cached ufuncs\", \"ufuncgen_ms\": %.6f, \"ref\": \"target\", \"ref_ms\": 10.0},\n",
                total);
    fresh_runs(self, "--library-child", &create, &total);
    printf("%-52s %9.3f ms  (every loop called: %.3f ms; target <= 5 ms)\n",
           "fresh process: 50 kernels x 2 cached sigs created", create, total);
    if (json)
        fprintf(json, "  {\"name\": \"fresh process 100 cached signatures\", \"ufuncgen_ms\": %.6f, \"called_ms\": %.6f, \"ref\": \"target\", \"ref_ms\": 5.0},\n",
                create, total);
    /* one cached signature, in this process: create with the cache warm (JIT already up) */
    ug_ufunc *f = make(sig_src, NULL, "d->d", UG_TARGET_CPU, 1);
    ug_ufunc_free(f);
    double t = TIME({
        ug_ufunc *g = make(sig_src, NULL, "d->d", UG_TARGET_CPU, 1);
        ug_ufunc_free(g);
    });
    printf("%-52s %9.3f ms  (target <= 1 ms)\n", "load one cached signature (parse+key+read+JIT link)", t);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {
    }
}

/* The native executor's cost per call (ug_call: checks, broadcasting,
 * dimension coalescing, loop call) on 8 float64, against calling the
 * compiled loop directly through ug_ufunc_loop (NumPy's loop ABI). */
static void bench_call_overhead(void)
{
    ug_ufunc *f = make(fma_src, NULL, "ddd->d", UG_TARGET_CPU, 0);
    double a[8], b[8], c[8], o[8];
    for (int i = 0; i < 8; i++)
        a[i] = b[i] = c[i] = i;
    int64_t n = 8;
    ug_operand ops[4];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 1, &n, NULL);
    ug_operand_init(&ops[1], b, UG_FLOAT64, 1, &n, NULL);
    ug_operand_init(&ops[2], c, UG_FLOAT64, 1, &n, NULL);
    ug_operand_init(&ops[3], o, UG_FLOAT64, 1, &n, NULL);
    ug_loop_fn fn;
    void *data;
    ug_ufunc_loop(f, 0, &fn, &data);
    char *args[4] = {(char *)a, (char *)b, (char *)c, (char *)o};
    intptr_t dims[1] = {8}, steps[4] = {8, 8, 8, 8};
    enum { CALLS = 100000 };
    double tc = TIME(for (int i = 0; i < CALLS; i++) call(f, ops, 4));
    double tl = TIME(for (int i = 0; i < CALLS; i++) fn(args, dims, steps, data));
    printf("%-52s %9.1f ns  %-16s %9.1f ns\n", "ug_call a*b+c on 8 float64, per call", tc * 1e6 / CALLS,
           "loop called directly", tl * 1e6 / CALLS);
    if (json)
        fprintf(json, "  {\"name\": \"ug_call per call, 8 float64\", \"ufuncgen_ns\": %.1f, \"loop_ns\": %.1f},\n",
                tc * 1e6 / CALLS, tl * 1e6 / CALLS);
    ug_ufunc_free(f);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--cache-child") == 0)
        return cache_child();
    if (argc > 1 && strcmp(argv[1], "--library-child") == 0)
        return library_child();
    if (argc > 2 && strcmp(argv[1], "--json") == 0 && (json = fopen(argv[2], "w")))
        fprintf(json, "[\n");
    ctx = ug_context_new(NULL);
    printf("ufuncgen %s bench_api — medians of %d runs, 2 threads for 'parallel' unless UFUNCGEN_NUM_THREADS says\n",
           UG_VERSION_STRING, REPS);
    bench_gufuncs();
    bench_call_overhead();
    bench_parallel();
    bench_cache(argv[0]);
    ug_context_free(ctx);
    if (json) {
        fprintf(json, "  {}\n]\n");
        fclose(json);
    }
    return 0;
}
