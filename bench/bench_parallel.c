/* bench_parallel.c — what the parallel driver buys, with hand-written loops.
 *
 * Cases (NumPy-ABI C loops standing in for compiled kernels):
 *   poly8   10M doubles, degree-8 polynomial (compute-bound): serial, 1, 2 threads
 *   axpb    10M doubles, a*b+c (memory-bound): serial vs the driver (2 threads)
 *   medium  100k-element calls, back to back (where the wait policy shows)
 *   small   1000-element calls of both loops: serial vs the driver
 *   forced  the same small calls with the model bypassed (always split), to
 *           show what the threshold protects against
 *   spin    CPU time the pool burns after a burst of parallel calls (the
 *           GOMP spin-wait), measured with getrusage
 * Each time is the best of several runs. Prints a table and writes
 * bench_parallel.json (or the path in argv[1]).
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "parallel/parallel.h"

#define N_BIG 10000000
#define N_SMALL 1000
#define REPS_BIG 7
#define CALLS_SMALL 20000

static void loop_poly(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++) {
        double x = *(const double *)(args[0] + i * steps[0]), r = 0.5;
        r = r * x + 0.1;
        r = r * x - 0.2;
        r = r * x + 0.3;
        r = r * x - 0.4;
        r = r * x + 0.5;
        r = r * x - 0.6;
        r = r * x + 0.7;
        r = r * x - 0.8;
        *(double *)(args[1] + i * steps[1]) = r;
    }
}

static void loop_axpb(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++)
        *(double *)(args[3] + i * steps[3]) = *(const double *)(args[0] + i * steps[0]) *
                                                  *(const double *)(args[1] + i * steps[1]) +
                                              *(const double *)(args[2] + i * steps[2]);
}

typedef struct call {
    ug_loop_fn fn; /* loop_poly / loop_axpb, or par_loop_fn */
    void *data;
    char **args;
    intptr_t n;
    intptr_t *steps;
} call;

/* Best time (ns) of reps runs of `calls` calls each, per call. */
static double best_ns(const call *c, int reps, int calls)
{
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        intptr_t dims[1] = {c->n};
        int64_t t0 = par_now_ns();
        for (int k = 0; k < calls; k++)
            c->fn(c->args, dims, c->steps, c->data);
        double t = (double)(par_now_ns() - t0) / calls;
        if (t < best)
            best = t;
    }
    return best;
}

static double cpu_ns(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e9 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e3;
}

static FILE *json;
static int json_first = 1;

static void report(const char *name, double serial_ns, double par_ns, const char *target)
{
    printf("%-34s %12.1f %12.1f %8.2fx   %s\n", name, serial_ns / 1e3, par_ns / 1e3, serial_ns / par_ns, target);
    fprintf(json, "%s\n  {\"case\": \"%s\", \"serial_us\": %.3f, \"parallel_us\": %.3f, \"speedup\": %.4f}",
            json_first ? "" : ",", name, serial_ns / 1e3, par_ns / 1e3, serial_ns / par_ns);
    json_first = 0;
}

static double *array(intptr_t n, double scale)
{
    double *a = malloc((size_t)n * sizeof *a);
    for (intptr_t i = 0; i < n; i++)
        a[i] = scale * (double)(i % 1000) / 1000.0;
    return a;
}

/* The driver with the model bypassed: the cost estimates are reset to
 * "huge" before every call, so every call splits. */
static void forced_fn(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    par_loop *pl = data;
    pl->ns_per_elem = pl->ns_par_elem = 1e6;
    par_loop_fn(args, dims, steps, pl);
}

/* The serial loop and the driver (nthreads, measured model) on the same operands. */
static void compare(const char *name, ug_loop_fn fn, int nops, char **args, intptr_t *steps, intptr_t n, int nt,
                    int reps, int calls, const char *target, double forced)
{
    par_loop pl = {.fn = fn, .nops = nops, .nthreads = nt, .ns_per_elem = forced};
    call s = {fn, NULL, args, n, steps}, p = {forced > 0 ? forced_fn : par_loop_fn, &pl, args, n, steps};
    best_ns(&p, 1, calls); /* let the driver measure the loop */
    double ts = best_ns(&s, reps, calls), tp = best_ns(&p, reps, calls);
    report(name, ts, tp, target);
}

/* CPU time burned per call by a burst of small parallel calls, vs the wall time of the calls. */
static void spin_cost(char **args, intptr_t *steps)
{
    par_loop pl = {.fn = loop_poly, .nops = 2, .nthreads = 2};
    intptr_t dims[1] = {N_SMALL};
    double c0 = cpu_ns();
    int64_t t0 = par_now_ns();
    for (int k = 0; k < 1000; k++) {
        forced_fn(args, dims, steps, &pl);
        usleep(200); /* the caller does other work between calls */
    }
    double wall = (double)(par_now_ns() - t0), cpu = cpu_ns() - c0;
    printf("spin: 1000 forced-parallel calls with 200 us gaps: wall %.1f ms, CPU %.1f ms (%.2f cores busy)\n",
           wall / 1e6, cpu / 1e6, cpu / wall);
    fprintf(json, ",\n  {\"case\": \"spin_cores_busy\", \"value\": %.3f}", cpu / wall);
}

int main(int argc, char **argv)
{
    json = fopen(argc > 1 ? argv[1] : "bench_parallel.json", "w");
    if (!json)
        return 1;
    fprintf(json, "[");
    const char *wp = getenv("OMP_WAIT_POLICY"), *sc = getenv("GOMP_SPINCOUNT");
    printf("cores %d, omp max threads %d, OMP_WAIT_POLICY=%s GOMP_SPINCOUNT=%s\n", omp_get_num_procs(),
           omp_get_max_threads(), wp ? wp : "(unset)", sc ? sc : "(unset)");
    printf("fork/join (measured, empty region): 2 threads %.2f us\n", par_fork_join_ns(2) / 1e3);
    printf("%-34s %12s %12s %9s   %s\n", "case", "serial us", "driver us", "speedup", "target");

    double *x = array(N_BIG, 2.0), *y = array(N_BIG, 1.0), *z = array(N_BIG, 3.0), *o = array(N_BIG, 0);
    intptr_t s2[2] = {8, 8}, s4[4] = {8, 8, 8, 8};
    char *pa[2] = {(char *)x, (char *)o}, *ma[4] = {(char *)x, (char *)y, (char *)z, (char *)o};

    compare("poly8 10M, 1 thread", loop_poly, 2, pa, s2, N_BIG, 1, REPS_BIG, 1, "~1.0", 0);
    compare("poly8 10M, 2 threads", loop_poly, 2, pa, s2, N_BIG, 2, REPS_BIG, 1, ">= 1.8", 0);
    compare("a*b+c 10M, 2 threads", loop_axpb, 4, ma, s4, N_BIG, 2, REPS_BIG, 1, ">= 1.0 (never slower)", 0);
    compare("poly8 100k, 2 threads", loop_poly, 2, pa, s2, 100000, 2, 5, 200, "> 1", 0);
    compare("a*b+c 100k, 2 threads", loop_axpb, 4, ma, s4, 100000, 2, 5, 200, ">= 1.0", 0);
    compare("poly8 1000, 2 threads", loop_poly, 2, pa, s2, N_SMALL, 2, 5, CALLS_SMALL, "serial/driver >= 0.83", 0);
    compare("a*b+c 1000, 2 threads", loop_axpb, 4, ma, s4, N_SMALL, 2, 5, CALLS_SMALL, "serial/driver >= 0.83", 0);
    compare("poly8 1000, forced split", loop_poly, 2, pa, s2, N_SMALL, 2, 5, CALLS_SMALL, "(no threshold)", 1e6);
    compare("a*b+c 1000, forced split", loop_axpb, 4, ma, s4, N_SMALL, 2, 5, CALLS_SMALL, "(no threshold)", 1e6);
    spin_cost(pa, s2);

    fprintf(json, "\n]\n");
    fclose(json);
    free(x);
    free(y);
    free(z);
    free(o);
    return 0;
}
