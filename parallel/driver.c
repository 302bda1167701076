/* driver.c — split a loop's outer range across OpenMP threads, when it pays.
 *
 * Both entry points reduce to a range [0, n) of independent items and a
 * body(ctx, lo, hi) that does items lo..hi-1: par_for's caller gives the
 * body; par_loop_fn's body calls the serial NumPy-ABI loop with every
 * operand pointer advanced by lo * steps[k] and dimensions[0] = hi - lo
 * (core dimensions and all steps unchanged). Each item is computed by the
 * same code whichever chunk it lands in, so results are bit-for-bit those
 * of one serial call. Chunks are contiguous near-equal pieces,
 * CHUNKS_PER_THREAD per thread, taken in order by whichever thread of the
 * region is free (an atomic counter): when the host holds one of our cores
 * for the whole call (a shared machine), the other thread does the chunks
 * the held one never took, instead of waiting for its fixed half. Measured
 * before this (fixed halves): a 10M-element compute-bound call at 2.0x its
 * serial time once in a few dozen runs.
 *
 * Cost model (all terms measured, none guessed):
 *   O      fork/join cost of a region of p threads (calibrate.c);
 *   c_s    serial cost of one item: timed on serial calls;
 *   c_p    cost of one item on one thread while all p run, from the
 *          slowest chunk of each region (starts equal to c_s). Memory-bound
 *          loops have c_p up to p * c_s (they share bandwidth); so does any
 *          loop when another process holds a core (the slow chunk waits).
 *   serial time   S = n * c_s
 *   parallel time P = n * c_p / p + O
 * We go parallel only when S - P > MARGIN * O: the expected saving must
 * exceed the overhead itself, so an error of 2x in O (a cold pool, noise)
 * still never makes a call slower than serial. Until c_s is known, a call
 * runs its first items serially in growing slices (1, 4, 16, ...) and
 * times them; once a slice lasts long enough to time (PROBE_MIN_O of O,
 * and PROBE_FLOOR_NS), c_s is stored and the rest of the range is decided
 * by the model. Serial calls whose predicted time is near the threshold
 * are timed again (one in RETIME_EVERY + 1), so
 * c_s tracks reality (a first call can be slow from page faults). A c_s
 * well above c_p (one thread alone much slower than in a crowd) is
 * suspect: such calls run serially and are timed until c_s comes down --
 * never slower than serial, unlike trusting either number. "Well above":
 * a compute-bound loop that scales perfectly has c_p = c_s, so timing
 * noise alone puts c_s above c_p half the time (measured: sigmoid on 10M
 * went serial on every other call with a plain c_s > c_p).
 * Costs only come out too high (page faults of a first touch, another
 * process on the core, a straggler), never too low, so a measurement
 * below the estimate is folded in with a larger weight than one above.
 * Forgetting: a high c_p (say, one region slowed by page faults) would
 * keep a loop serial for good, as c_p is only measured in regions; so each
 * call declined only because c_p > c_s pulls c_p a little toward c_s. A
 * loop that really is bandwidth-bound then retries a region now and then
 * (the retry re-measures c_p and pushes it back up); each retry costs at
 * most about one fork/join and comes after tens of declined calls (c_p's
 * excess shrinks by FORGET_WEIGHT per call). A call that could not pay
 * even at c_p = c_s and the lowest O ever seen takes a quick serial path:
 * a few loads and a compare (small calls stay within noise of serial); one
 * in 256 takes the full path instead, so a stale O (and with it the lowest
 * O seen) is re-measured even when every call is small.
 *
 * Never nested: inside an OpenMP region (omp_in_parallel) or on a thread
 * that is running a chunk of ours, everything runs serially. Concurrent
 * callers share the cores: a process-wide count of threads in our regions
 * caps a new region at the cores left (at least serial) when another is
 * running. Loop errors (boundscheck) recorded on a worker are taken there
 * and the one from the lowest chunk -- the one a serial run would have
 * recorded first -- is put on the calling thread. Floating-point exception
 * flags (divide-by-zero, invalid, overflow, underflow) raised on worker
 * threads are raised again on the calling thread, so np.errstate and
 * fetestexcept see what a serial run would have shown.
 */
#include <assert.h>
#include <fenv.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <omp.h>
#include <string.h>

#include "parallel/parallel.h"
#include "runtime/runtime.h"

#define MARGIN 1.0        /* required saving, in units of the fork/join cost */
#define PROBE_MIN_O 0.5   /* a probe slice must last this many fork/join costs */
#define PROBE_FLOOR_NS 1000 /* shortest probe slice whose time is the items' more than the call's */
#define EMA_WEIGHT 0.25   /* weight of a new measurement in the running estimates */
#define EMA_WEIGHT_DOWN 0.5 /* ... of one below the estimate (costs are only ever inflated) */
#define SUSPECT_RATIO 1.5 /* c_s this far above c_p is inflated, not noise */
#define FAULTS_OK 2       /* page faults a timed run may take and still count */
#define FORGET_WEIGHT 0.03 /* pull of c_p toward c_s per declined call that would pay at c_p = c_s */
#define MAX_CORE 256      /* core dimensions the driver can copy; more: serial */
#define QUICK_CHECK_EVERY 255u /* one quick decision in 256 takes the full path (re-measures a stale O) */
#define RETIME_EVERY 7u   /* a serial call near the threshold is timed once in 8 */
#define CHUNKS_PER_THREAD 4 /* pieces of a region per thread (taken by whichever thread is free) */

typedef void (*par_body)(void *ctx, int64_t lo, int64_t hi);

/* A range job: the body and the slots holding its measured costs. */
typedef struct job {
    par_body body;
    void *ctx;
    double *c_ser; /* ns per item, serial (0: unknown); read and written atomically */
    double *c_par; /* ns per item per thread in a region (0: unknown) */
    double units;  /* work units per item: the slots hold ns per unit (see par_loop_fn) */
} job;

/* One region's shared state. */
typedef struct region {
    const job *j;
    int64_t lo, n;       /* items [lo, lo + n) */
    int best;            /* lowest chunk that recorded an error (INT_MAX: none) */
    const char *warning; /* a RuntimeWarning some chunk recorded, or NULL */
    ug_error err;        /* its error */
    int team;            /* threads the region got */
    int nchunks;         /* pieces of [lo, lo + n) */
    int next;            /* next piece to take (atomic) */
    int64_t slowest_ns;  /* the longest time a thread spent on pieces */
    int faulted;         /* a chunk's time was mostly page faults (atomic) */
    int fpe;             /* FP exception flags raised on worker threads (atomic OR) */
} region;

static _Thread_local int tl_in_chunk;   /* this thread is running a chunk of ours */
static _Thread_local unsigned tl_quick; /* quick serial decisions on this thread */
static _Thread_local unsigned tl_retime; /* near-threshold serial calls on this thread */
static int busy_threads;                /* threads in our regions, process-wide (atomic) */

static double load_d(double *p)
{
    double v;
    __atomic_load(p, &v, __ATOMIC_RELAXED);
    return v;
}

static void store_d(double *p, double v) { __atomic_store(p, &v, __ATOMIC_RELAXED); }

/* Fold a measurement into a running estimate (first one is taken as is). */
static void update_estimate(double *slot, double v)
{
    double old = load_d(slot);
    store_d(slot, old > 0 ? old + (v < old ? EMA_WEIGHT_DOWN : EMA_WEIGHT) * (v - old) : v);
}

/* A job's costs per item; the slots hold them per work unit. */
static double cost_get(const job *j, double *slot) { return load_d(slot) * j->units; }
static void cost_put(const job *j, double *slot, double per_item) { store_d(slot, per_item / j->units); }
static void cost_fold(const job *j, double *slot, double per_item) { update_estimate(slot, per_item / j->units); }

/* Page faults this thread has taken so far (minor and major). */
static long thread_faults(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) ? 0 : ru.ru_minflt + ru.ru_majflt;
}

/* Run items [lo, hi) and time them. Returns whether the time is the
 * loop's: a run that took more than FAULTS_OK page faults timed the first
 * touch of memory (a new output), which costs the same on one thread or
 * several and is gone on the next call, so the driver does not learn from
 * it. (Measured here: 100 ms of faults for a new 80 MB output, against
 * 6.5 ms of sigmoid; one such region kept a loop serial for ~60 calls.) */
static bool run_timed(const job *j, int64_t lo, int64_t hi, int64_t *ns)
{
    long f0 = thread_faults();
    int64_t t0 = par_now_ns();
    j->body(j->ctx, lo, hi);
    *ns = par_now_ns() - t0;
    return thread_faults() - f0 <= FAULTS_OK;
}

/* ---- choosing the thread count ---- */

/* Reserve up to p threads; with another region running, only the cores it
 * leaves free. Returns the threads granted (release them with release()). */
static int reserve(int p)
{
    int cores = par_cores();
    int old = __atomic_fetch_add(&busy_threads, p, __ATOMIC_ACQ_REL);
    if (old == 0 || old + p <= cores)
        return p;
    int q = cores - old > 1 ? cores - old : 1;
    __atomic_fetch_sub(&busy_threads, p - q, __ATOMIC_ACQ_REL);
    return q;
}

static void release(int p) { __atomic_fetch_sub(&busy_threads, p, __ATOMIC_ACQ_REL); }

/* The cost model of the file comment. */
static int worth_parallel(int64_t n, int p, double c_s, double c_p, double o)
{
    if (p < 2 || n < 2 || c_s <= 0)
        return 0;
    if (c_p <= 0)
        c_p = c_s;
    double ser = (double)n * c_s, par = (double)n * c_p / p + o;
    return ser - par > MARGIN * o;
}

/* ---- running a region ---- */

/* Items of chunk t of T over [0, n): near-equal, contiguous, in order. */
static void chunk(int64_t n, int t, int T, int64_t *a, int64_t *b)
{
    int64_t q = n / T, r = n % T;
    *a = q * t + (t < r ? t : r);
    *b = *a + q + (t < r);
}

/* After a chunk: keep the lowest chunk's recorded loop error. */
static void collect_error(region *g, int t)
{
    ug_error e;
    const char *w;
    if (rt_take_warning(&w))
        __atomic_store_n(&g->warning, w, __ATOMIC_RELAXED);
    if (!rt_take_error(&e))
        return;
#pragma omp critical(par_driver_err)
    if (t < g->best) {
        g->best = t;
        g->err = e;
    }
}

/* Keep the longest time one thread spent on pieces of a region. */
static void note_chunk_ns(region *g, int64_t ns)
{
    int64_t cur = __atomic_load_n(&g->slowest_ns, __ATOMIC_RELAXED);
    while (ns > cur && !__atomic_compare_exchange_n(&g->slowest_ns, &cur, ns, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* Thread t of T: take pieces in order until none is left. */
static void run_chunks(region *g, int t, int T)
{
    if (t != 0) { /* a pool thread starts with a clean record and clean FP flags */
        rt_take_error(NULL);
        feclearexcept(FE_ALL_EXCEPT);
    }
    int64_t busy = 0;
    tl_in_chunk++;
    for (;;) {
        int c = __atomic_fetch_add(&g->next, 1, __ATOMIC_RELAXED);
        if (c >= g->nchunks)
            break;
        int64_t a, b, ns = 0;
        chunk(g->n, c, g->nchunks, &a, &b);
        if (a < b && !run_timed(g->j, g->lo + a, g->lo + b, &ns))
            __atomic_store_n(&g->faulted, 1, __ATOMIC_RELAXED);
        busy += ns;
        collect_error(g, c);
    }
    tl_in_chunk--;
    if (t != 0) { /* the caller's own flags stay where they are */
        int f = fetestexcept(FE_DIVBYZERO | FE_INVALID | FE_OVERFLOW | FE_UNDERFLOW);
        if (f)
            __atomic_fetch_or(&g->fpe, f, __ATOMIC_RELAXED);
    }
    if (t == 0)
        g->team = T;
    note_chunk_ns(g, busy);
}

/* Items [lo, lo + n) on p threads; then the error, the costs and the overhead it showed. */
static void run_region(const job *j, int64_t lo, int64_t n, int p)
{
    int64_t pieces = (int64_t)p * CHUNKS_PER_THREAD;
    region g = {.j = j, .lo = lo, .n = n, .best = INT_MAX, .nchunks = (int)(n < pieces ? n : pieces)};
    int64_t t0 = par_now_ns();
    par_note_region();
#pragma omp parallel num_threads(p)
    run_chunks(&g, omp_get_thread_num(), omp_get_num_threads());
    int64_t wall = par_now_ns() - t0;
    if (g.fpe)
        feraiseexcept(g.fpe);
    if (g.best != INT_MAX)
        rt_put_error(&g.err);
    if (g.warning)
        rt_warn(g.warning);
    if (g.team > 0 && g.slowest_ns > 0 && !g.faulted) /* the busiest thread sets the pace (a busy core, a straggler) */
        cost_fold(j, j->c_par, (double)g.slowest_ns * g.team / (double)n);
    par_fork_join_note(p, (double)(wall - g.slowest_ns));
}

/* ---- deciding ---- */

/* Serial with c_s unknown: run items from *lo in growing slices until one
 * lasts long enough to time (min_ns, and at least PROBE_FLOOR_NS: tiny
 * slices are mostly call overhead -- seen: 16 items of a 2 ns/item kernel
 * took 280 ns and gave c_s = 17.5 ns, which sent 1000-item calls parallel
 * at twice their serial time), store c_s, and advance *lo past what ran.
 * If the range runs out first (a small call), c_s comes from all slices
 * but the first: a little high from their call overhead, which only errs
 * toward serial. Slices are timed with the clock alone: a probe runs once
 * per loop, and its page faults only inflate c_s, which later timed runs
 * correct. */
static void probe(const job *j, int64_t *lo, int64_t n, double min_ns)
{
    int64_t sum_ns = 0, sum_m = 0;
    if (min_ns < PROBE_FLOOR_NS)
        min_ns = PROBE_FLOOR_NS;
    for (int64_t k = 1; *lo < n; k *= 4) {
        int64_t m = n - *lo < k ? n - *lo : k, t0 = par_now_ns();
        j->body(j->ctx, *lo, *lo + m);
        int64_t ns = par_now_ns() - t0;
        *lo += m;
        if (k == 1) /* the first slice pays for cold caches */
            continue;
        if ((double)ns >= min_ns) {
            cost_put(j, j->c_ser, (double)ns / (double)m);
            return;
        }
        sum_ns += ns;
        sum_m += m;
    }
    if (sum_m > 0 && sum_ns > 0)
        cost_put(j, j->c_ser, (double)sum_ns / (double)sum_m);
}

/* Serial run of [lo, n); timed when asked, or once in RETIME_EVERY + 1
 * calls when its predicted time is near the threshold. (Timing costs two
 * getrusage calls, the page-fault check: measured ~0.5 us here, which made
 * a 1000-element call of a 2 ns/element kernel 1.24x its plain serial time
 * when every such call was timed.) */
static void run_serial(const job *j, int64_t lo, int64_t n, double o, int timed)
{
    double c_s = cost_get(j, j->c_ser);
    int near = (double)(n - lo) * c_s >= PROBE_MIN_O * o;
    if ((!timed && (!near || (++tl_retime & RETIME_EVERY))) || lo >= n) {
        if (lo < n)
            j->body(j->ctx, lo, n);
        return;
    }
    int64_t ns;
    if (run_timed(j, lo, n, &ns))
        cost_fold(j, j->c_ser, (double)ns / (double)(n - lo));
}

/* Serial only: nested, or a fork child whose OpenMP pool is gone (threads.c). */
static int nested(void) { return tl_in_chunk > 0 || omp_in_parallel() || par_in_forked_child(); }

/* The quick path: even at c_p = c_s and the lowest overhead ever seen, a
 * region would not pay (except one call in QUICK_CHECK_EVERY + 1). */
static int cannot_pay(const job *j, int64_t n, int p)
{
    double c_s = cost_get(j, j->c_ser), o_min = par_fork_join_min_ns(p);
    return c_s > 0 && o_min > 0 && !worth_parallel(n, p, c_s, c_s, o_min) && (++tl_quick & QUICK_CHECK_EVERY);
}

/* The model's decision for a call that passed the quick checks of run_job
 * (n >= 2, p >= 2, not nested, not cannot_pay). */
static void run_decided(const job *j, int64_t n, int p)
{
    par_omp_init();
    double o = par_fork_join_ns(p);
    int64_t lo = 0;
    if (cost_get(j, j->c_ser) <= 0)
        probe(j, &lo, n, PROBE_MIN_O * o);
    int q = reserve(p);
    if (q != p)
        o = par_fork_join_ns(q);
    double c_s = cost_get(j, j->c_ser), c_p = cost_get(j, j->c_par);
    int suspect = c_p > 0 && c_s > SUSPECT_RATIO * c_p; /* alone much slower than in a crowd: c_s is inflated */
    if (!suspect && worth_parallel(n - lo, q, c_s, c_p, o)) {
        run_region(j, lo, n - lo, q);
        release(q);
        return;
    }
    release(q); /* a serial run leaves the cores to other callers */
    if (c_p > c_s && worth_parallel(n - lo, q, c_s, c_s, o))
        cost_put(j, j->c_par, c_p - FORGET_WEIGHT * (c_p - c_s)); /* see "forgetting" above */
    run_serial(j, lo, n, o, suspect);
}

/* Run [0, n) with up to p threads, choosing serial or parallel by the model. */
static void run_job(const job *j, int64_t n, int p)
{
    if (n <= 0)
        return;
    if (p < 2 || n < 2 || nested() || cannot_pay(j, n, p)) {
        j->body(j->ctx, 0, n);
        return;
    }
    run_decided(j, n, p);
}

/* ---- par_for ---- */

void par_for(int64_t n, int nthreads, double ns_per_item, void (*body)(void *ctx, int64_t lo, int64_t hi),
             void *ctx)
{
    double c_ser = ns_per_item > 0 ? ns_per_item : 0, c_par = 0;
    job j = {.body = body, .ctx = ctx, .c_ser = &c_ser, .c_par = &c_par, .units = 1};
    run_job(&j, n, nthreads > 0 ? nthreads : par_threads(0));
}

void par_for_cost(int64_t n, int nthreads, par_cost *cost, void (*body)(void *ctx, int64_t lo, int64_t hi),
                  void *ctx)
{
    job j = {.body = body, .ctx = ctx, .c_ser = &cost->ns_serial, .c_par = &cost->ns_parallel, .units = 1};
    run_job(&j, n, nthreads > 0 ? nthreads : par_threads(0));
}

/* ---- par_loop_fn ---- */

typedef struct loop_call {
    char **args;
    const intptr_t *dims;
    const intptr_t *steps;
    const par_loop *pl;
} loop_call;

/* Items [lo, hi) of the outer dimension: the serial loop on shifted operands. */
static void loop_body(void *ctx, int64_t lo, int64_t hi)
{
    const loop_call *c = ctx;
    char *args[UG_MAXARGS];
    intptr_t dims[MAX_CORE + 1];
    for (int k = 0; k < c->pl->nops; k++)
        args[k] = c->args[k] + (intptr_t)lo * c->steps[k];
    dims[0] = (intptr_t)(hi - lo);
    memcpy(dims + 1, c->dims + 1, (size_t)c->pl->ncore * sizeof dims[0]);
    c->pl->fn(args, dims, c->steps, c->pl->data);
}

/* Work of one outer item of a gufunc, in units: the product of the core
 * dimensions (exact for (n)->(), (n),(n)->() and matmul's (n,m),(m,p)->(n,p)),
 * so a loop's learned cost carries over between calls with other core sizes.
 * 1 for a scalar ufunc. */
static double core_units(const intptr_t *dims, int ncore)
{
    double u = 1;
    for (int i = 1; i <= ncore; i++)
        u *= dims[i] > 1 ? (double)dims[i] : 1;
    return u;
}

void par_loop_fn(char **args, const intptr_t *dimensions, const intptr_t *steps, void *data)
{
    par_loop *pl = data;
    assert(pl && pl->fn);
    if (dimensions[0] < 2 || pl->nops > UG_MAXARGS || pl->nops < 0 || pl->ncore > MAX_CORE || pl->ncore < 0) {
        pl->fn(args, dimensions, steps, pl->data);
        return;
    }
    loop_call c = {.args = args, .dims = dimensions, .steps = steps, .pl = pl};
    job j = {.body = loop_body, .ctx = &c, .c_ser = &pl->ns_per_elem, .c_par = &pl->ns_par_elem,
             .units = core_units(dimensions, pl->ncore)};
    /* A call that could not pay even on every core goes serial before the
     * thread count is looked up (UFUNCGEN_NUM_THREADS is read per call:
     * getenv was a tenth of a small call's time); more threads than cores
     * cannot pay where all cores do not. */
    if (cannot_pay(&j, (int64_t)dimensions[0], par_cores())) {
        pl->fn(args, dimensions, steps, pl->data);
        return;
    }
    int p = pl->nthreads > 0 ? pl->nthreads
                             : par_threads(pl->default_threads ? __atomic_load_n(pl->default_threads, __ATOMIC_RELAXED) : 0);
    if (p < 2 || nested()) {
        pl->fn(args, dimensions, steps, pl->data);
        return;
    }
    run_decided(&j, (int64_t)dimensions[0], p); /* the quick checks are done above (cannot_pay on every core) */
}
