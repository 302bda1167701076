/* parallel.h — internal header of parallel/: the OpenMP driver.
 *
 *   driver.c   split an inner loop's outer dimension (or the executor's
 *              flattened outer iteration space) across OpenMP threads     par_run, par_for
 *   threads.c  thread-count resolution (API, UFUNCGEN_NUM_THREADS, OpenMP) par_threads
 *   calibrate.c OpenMP set-up (wait policy), clock, the measured fork/join
 *              cost of a parallel region                                  par_omp_init, par_fork_join_ns
 */
#ifndef UG_PARALLEL_H
#define UG_PARALLEL_H

#include <stdint.h>

#include "ufuncgen/ufuncgen.h"

/* Threads to use: api > 0 wins, else UFUNCGEN_NUM_THREADS (a bad value gives
 * one warning on stderr and is ignored), else omp_get_max_threads(). Always >= 1. */
int par_threads(int api);
/* Fork (threads.c): par_note_region before every `omp parallel` of ours;
 * par_in_forked_child: this process was forked by a thread that had run
 * one, its OpenMP pool is gone, and everything runs serially. */
void par_note_region(void);
int par_in_forked_child(void);
/* The calling thread's number in the parallel region running it (0 ..
 * threads-1), 0 outside one (a serial call): get_thread_id() in kernels. */
int par_thread_id(void);
/* The same as int64_t: get_thread_id() in generated code calls it (loops/jit.c binds it). */
int64_t par_kernel_thread_id(void);

/* A parallel loop: the state behind the ug_loop_fn that target=parallel
 * ufuncs expose (par_loop_fn with data = the par_loop). */
typedef struct par_loop {
    ug_loop_fn fn;       /* the serial compiled loop */
    void *data;          /* its data pointer */
    int nops;            /* operands (steps[0..nops-1] are outer strides) */
    int nthreads;        /* 0: par_threads(0) at call time */
    double ns_per_elem;  /* measured cost of one outer iteration (0: not yet measured); for a
                            gufunc, per unit of core work (the product of its core dimensions),
                            so the estimate holds across calls with other core sizes */
    /* added by parallel/ (zero-initialise; the driver fills what it measures): */
    int ncore;           /* core dimensions after dimensions[0] (layout_sig.ndims; 0 for a
                            scalar ufunc). The driver copies dimensions[0..ncore]. */
    double ns_par_elem;  /* measured cost of one outer iteration (same units) on one thread
                            while all threads run (memory-bound loops cost more); 0: not yet */
    const int *default_threads; /* with nthreads 0: read at each call (a context's setting, which
                                   may change after the loop was made); 0 or NULL: par_threads(0) */
} par_loop;

/* NumPy-ABI driver: splits dimensions[0] of the wrapped loop into
 * contiguous chunks across threads, serially below the measured threshold.
 * Results are bit-for-bit those of the serial loop. data: a par_loop. */
void par_loop_fn(char **args, const intptr_t *dimensions, const intptr_t *steps, void *data);

/* Generic splitter for the native executor: body(ctx, lo, hi) over [0, n) in
 * contiguous chunks on up to nthreads threads; serial if n * ns_per_item is
 * below the measured threshold. Boundscheck errors recorded on worker
 * threads are moved to the calling thread. */
void par_for(int64_t n, int nthreads, double ns_per_item, void (*body)(void *ctx, int64_t lo, int64_t hi),
             void *ctx);

/* Per-item costs a caller of par_for_cost keeps across calls (zero-initialise;
 * the driver measures and updates them, atomically per field). */
typedef struct par_cost {
    double ns_serial;   /* one item on one thread alone (0: unknown) */
    double ns_parallel; /* one item on one thread while all threads run (0: unknown) */
} par_cost;

/* par_for that learns: the costs in *cost replace ns_per_item and are
 * refined by every call (so a repeated call needs no probing). The same
 * par_cost may be used by several threads at once. */
void par_for_cost(int64_t n, int nthreads, par_cost *cost, void (*body)(void *ctx, int64_t lo, int64_t hi),
                  void *ctx);

/* ---- calibrate.c ---- */

/* Once per process, before the first OpenMP call: choose the wait policy
 * (see calibrate.c). Thread-safe; every entry point calls it. */
void par_omp_init(void);
/* Processors available to this process (omp_get_num_procs, read once). */
int par_cores(void);
/* Monotonic clock in nanoseconds. */
int64_t par_now_ns(void);
/* Estimated overhead of one parallel region of p threads (p >= 2): measured
 * with empty regions on first use per p, then kept current from real regions
 * and re-measured when it looks stale (see calibrate.c). Thread-safe. */
double par_fork_join_ns(int p);
/* The lowest overhead ever seen for p threads (0: not measured yet). One
 * atomic load: the driver's quick test that a call cannot pay. */
double par_fork_join_min_ns(int p);
/* Report the overhead of a real region of p threads (its wall time minus its
 * slowest chunk); folded into the estimate par_fork_join_ns returns. */
void par_fork_join_note(int p, double ns);

#endif /* UG_PARALLEL_H */
