/* bench_loops.c — compile time and throughput of loops/ (a program, not a test).
 *
 * Prints: the time to compile one signature of 1/(1+exp(-x)) (front end,
 * loops_compile, JIT load; median after the first), and on 10M contiguous
 * float64 the generated sigmoid and a*b+c loops against gcc -O3
 * -march=native -ffast-math references (cref_loops.c, libmvec), as medians
 * of several runs and ratios (ours / gcc; below 1 is faster).
 * Usage: bench_loops [N] [reps]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernel.h"
#include "layout/layout.h"
#include "loops/loops.h"

void cref_sigmoid(long n, const double *restrict x, double *restrict y);
void cref_fma3(long n, const double *restrict a, const double *restrict b, const double *restrict c,
               double *restrict o);
void cref_sigmoid_strided(long n, const double *restrict x, long sx, double *restrict y, long sy);

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

/* CPU time of this thread: compile time without the noise of a loaded machine */
static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
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

static void die(const char *what, const ug_error *e)
{
    fprintf(stderr, "%s: %s\n", what, e->msg);
    exit(1);
}

/* Front end for a scalar float64 kernel of nin inputs. */
static kernel_typed *typed(const char *src, int nin)
{
    static kernel_source s;
    kernel_module *m;
    ug_error e = {0};
    s.text = src;
    s.len = strlen(src);
    if (kernel_parse(&s, &m, &e))
        die("parse", &e);
    kernel_argtype at[4] = {{UG_FLOAT64, 0}, {UG_FLOAT64, 0}, {UG_FLOAT64, 0}, {UG_FLOAT64, 0}};
    kernel_infer_opts o = {.gufunc = false, .nin = nin, .nout = 1, .args = at};
    kernel_typed *t;
    if (kernel_infer(m, kernel_find(m, NULL, &e), &o, &t, &e))
        die("infer", &e);
    return t; /* the module stays alive: the typed kernel borrows its source */
}

static ug_loop_fn compile_load(kernel_typed *t, int nin, const char *sym, double *t_compile, double *t_load,
                               double *t_cpu)
{
    static const ug_dtype dts[4] = {UG_FLOAT64, UG_FLOAT64, UG_FLOAT64, UG_FLOAT64};
    layout_sig *L = layout_scalar(nin, 1);
    loops_request r = {.tk = t, .layout = L, .dtypes = dts, .symbol = sym, .kname = "bench", .opt_level = 2};
    void *obj;
    size_t size;
    ug_error e = {0};
    double c0 = cpu_ms(), a = now_ms();
    if (loops_compile(&r, &obj, &size, &e))
        die("compile", &e);
    double b = now_ms();
    *t_cpu = cpu_ms() - c0;
    loops_code *code;
    ug_loop_fn fn;
    if (loops_load(obj, size, sym, &code, &fn, &e))
        die("load", &e);
    *t_compile = b - a;
    *t_load = now_ms() - b;
    free(obj);
    layout_free(L);
    return fn;
}

static double *arr(long n, double lo, double hi)
{
    double *p = aligned_alloc(64, (size_t)((n * 8 + 63) / 64 * 64));
    uint64_t s = 88172645463325252ull;
    for (long i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        p[i] = lo + (hi - lo) * (double)(s >> 11) * (1.0 / 9007199254740992.0);
    }
    return p;
}

typedef struct run {
    intptr_t step; /* bytes, every operand */
    ug_loop_fn fn;
    char **args;
    void (*ref)(long, double **);
    double **refargs;
} run;

static void ref_sig(long n, double **a) { cref_sigmoid(n, a[0], a[1]); }
static void ref_fma(long n, double **a) { cref_fma3(n, a[0], a[1], a[2], a[3]); }
static void ref_sig2(long n, double **a) { cref_sigmoid_strided(n, a[0], 2, a[1], 2); }

/* Median ms of ours and of the reference, interleaved run by run. */
static void measure(run *r, int nops, long n, int reps, double *ours, double *ref)
{
    double to[64], tr[64];
    intptr_t dims[1] = {n}, steps[4] = {r->step, r->step, r->step, r->step};
    (void)nops;
    r->fn(r->args, dims, steps, NULL); /* warm up both (page faults, code) */
    r->ref(n, r->refargs);
    for (int k = 0; k < reps && k < 64; k++) {
        double a = now_ms();
        r->fn(r->args, dims, steps, NULL);
        double b = now_ms();
        r->ref(n, r->refargs);
        tr[k] = now_ms() - b;
        to[k] = b - a;
    }
    *ours = median(to, reps);
    *ref = median(tr, reps);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000L;
    int reps = argc > 2 ? atoi(argv[2]) : 11;
    enum { NC = 21 };
    const char *sig_src = "def sigmoid(x):\n    return 1 / (1 + exp(-x))\n";
    double tc[NC], tl[NC], tf[NC], tcpu[NC];
    ug_loop_fn sig = NULL;
    for (int k = 0; k < NC; k++) {
        char sym[32];
        snprintf(sym, sizeof sym, "bench_sig_%d", k);
        double a = now_ms();
        kernel_typed *t = typed(sig_src, 1);
        tf[k] = now_ms() - a;
        ug_loop_fn f = compile_load(t, 1, sym, &tc[k], &tl[k], &tcpu[k]);
        if (!sig)
            sig = f;
    }
    printf("compile sigmoid float64 (first in process): front end %.3f ms, loops_compile %.3f ms (CPU %.3f ms), JIT load %.3f ms\n",
           tf[0], tc[0], tcpu[0], tl[0]);
    printf("compile sigmoid float64 (median of %d after the first): front end %.3f ms, loops_compile %.3f ms (CPU %.3f ms), "
           "JIT load %.3f ms\n",
           NC - 1, median(tf + 1, NC - 1), median(tc + 1, NC - 1), median(tcpu + 1, NC - 1), median(tl + 1, NC - 1));
    double c1, l1, u1;
    ug_loop_fn fma = compile_load(typed("def f(a, b, c):\n    return a * b + c\n", 3), 3, "bench_fma", &c1, &l1, &u1);
    printf("compile a*b+c float64: loops_compile %.3f ms (CPU %.3f ms)\n", c1, u1);

    double *x = arr(n, -10, 10), *y = arr(n, 0, 1), *b = arr(n, 0, 1), *c = arr(n, 0, 1), *o = arr(n, 0, 1);
    double ours, ref;
    run rs = {8, sig, (char *[]){(char *)x, (char *)y}, ref_sig, (double *[]){x, o}};
    measure(&rs, 2, n, reps, &ours, &ref);
    double maxrel = 0;
    for (long i = 0; i < n; i += 997)
        maxrel = fmax(maxrel, fabs(y[i] - o[i]) / fabs(o[i]));
    printf("sigmoid  N=%ld: ours %.2f ms, gcc -O3 -march=native -ffast-math + libmvec %.2f ms, ratio %.3f (max rel diff %.1e)\n",
           n, ours, ref, ours / ref, maxrel);
    run rf = {8, fma, (char *[]){(char *)x, (char *)b, (char *)c, (char *)y}, ref_fma, (double *[]){x, b, c, o}};
    measure(&rf, 4, n, reps, &ours, &ref);
    printf("a*b+c    N=%ld: ours %.2f ms (%.2f GB/s), gcc -O3 loop %.2f ms (%.2f GB/s), ratio %.3f\n", n, ours,
           32.0 * n / ours / 1e6, ref, 32.0 * n / ref / 1e6, ours / ref);
    run r2 = {16, sig, (char *[]){(char *)x, (char *)y}, ref_sig2, (double *[]){x, o}};
    measure(&r2, 2, n / 2, reps, &ours, &ref);
    printf("sigmoid stride 2 (gather path) N=%ld: ours %.2f ms, gcc -O3 -march=native -ffast-math %.2f ms, ratio %.3f\n",
           n / 2, ours, ref, ours / ref);
    free(x), free(y), free(b), free(c), free(o);
    return 0;
}
