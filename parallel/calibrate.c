/* calibrate.c — the facts the driver's cost model is built on.
 *
 * par_fork_join_ns(p) estimates the overhead of an OpenMP region of p
 * threads on this machine. It starts from a measurement: one warm-up empty
 * region (it creates the pool), then the median of several more, taken the
 * first time a given p is needed. Every real region then reports its own
 * overhead (wall time minus the slowest chunk, par_fork_join_note), folded
 * into a running estimate, so the estimate follows the machine's load: on a
 * 2-core machine shared with a compiler an empty region can take
 * milliseconds (the worker waits for a time slice), and then going parallel
 * does not pay. A high estimate stops regions, and so stops the notes; to
 * recover when the load goes away, an estimate that no region confirmed for
 * RECAL_NS is measured again (a few empty regions) by the next call that
 * asks for it: a few microseconds per half second at most on a quiet machine.
 *
 * par_omp_init() runs once before the first OpenMP call; see the comment on
 * the wait policy below.
 */
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "parallel/parallel.h"

#define CAL_SLOTS 64       /* p above this is scaled from the last slot */
#define CAL_SAMPLES 9      /* timed regions per first measurement (after one warm-up) */
#define RECAL_SAMPLES 3    /* timed regions per re-measurement */
#define RECAL_NS 500000000 /* re-measure an estimate at most this often (0.5 s) */
#define NOTE_WEIGHT 0.125  /* weight of one region's overhead in the estimate */
#define NOTE_CAP 2.0       /* a note counts as at most this many times the estimate */

/* The estimate for one p. ns is read without the lock (atomically); the
 * rest is read and written under cal_lock. */
typedef struct cal {
    double ns;      /* current estimate (0: never measured) */
    double min_ns;  /* lowest overhead seen (written under the lock, read atomically) */
    int64_t when;   /* last measurement or note (par_now_ns; atomic) */
} cal;

static cal cals[CAL_SLOTS + 1];
static pthread_mutex_t cal_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t omp_once = PTHREAD_ONCE_INIT;

/* Wait policy, chosen deliberately. After a region, libgomp's workers spin
 * (GOMP_SPINCOUNT, default 300000 pauses, milliseconds on this CPU) before
 * a futex sleep. On the 2-core target, shared with other work, that hurts
 * both sides. Measured (a process making forced 2-thread calls of 100k
 * elements every 500 us, next to a single-threaded compute process):
 *     policy              other process   our calls in 3.5 s
 *     default spin        39-66 Mops/s    135-409
 *     GOMP_SPINCOUNT=1000   139 Mops/s      4553
 *     GOMP_SPINCOUNT=10000  63-114 Mops/s   2313-3105
 *     OMP_WAIT_POLICY=passive 93-222 Mops/s 2928-5244
 *     (other process alone: 112-118 Mops/s; the machine was shared, so
 *     numbers are noisy, but the default spin lost every run.)
 * Passive costs ~10-15 us per region against ~0.5-1 us warm, which the
 * model absorbs: it measures the overhead under the policy in force.
 * libgomp reads these variables in its constructor when it is loaded,
 * before any code of ours runs, so a setenv() here changes nothing
 * (measured: 1.4 s of CPU over 300 regions with setenv("OMP_WAIT_POLICY",
 * "passive") in main, 0.013 s with it in the environment). So we do not
 * setenv (it would only mislead a later reader of the environment); instead:
 *  - the driver goes parallel only when the saving beats the measured
 *    fork/join cost by a margin, so small calls never wake the pool and
 *    never leave it spinning;
 *  - the Python package should set OMP_WAIT_POLICY=passive in os.environ
 *    before it loads the extension, when the user set neither
 *    OMP_WAIT_POLICY nor GOMP_SPINCOUNT (and C programs may set it in their
 *    environment). */
static int num_procs = 1; /* omp_get_num_procs() costs a syscall: read once */

static void omp_setup(void)
{
    int n = omp_get_num_procs();
    num_procs = n > 0 ? n : 1;
}

void par_omp_init(void) { pthread_once(&omp_once, omp_setup); }

int par_cores(void)
{
    par_omp_init();
    return num_procs;
}

int64_t par_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Time `samples` empty regions of p threads after one warm-up; sorted into t. */
static void time_empty_regions(int p, int64_t *t, int samples)
{
    par_note_region();
    for (int i = -1; i < samples; i++) {
        int64_t t0 = par_now_ns();
#pragma omp parallel num_threads(p)
        {
            __asm__ volatile("" ::: "memory");
        }
        if (i >= 0)
            t[i] = par_now_ns() - t0;
    }
    qsort(t, (size_t)samples, sizeof t[0], cmp_i64);
}

static double load_min(const cal *c)
{
    double v;
    __atomic_load(&c->min_ns, &v, __ATOMIC_RELAXED);
    return v;
}

static void set_min_locked(cal *c, double v)
{
    if (c->min_ns == 0 || v < c->min_ns)
        __atomic_store(&c->min_ns, &v, __ATOMIC_RELAXED);
}

/* (Re-)measure slot c for p threads; cal_lock held. */
static void measure_locked(cal *c, int p, int samples)
{
    int64_t t[CAL_SAMPLES];
    time_empty_regions(p, t, samples);
    double med = t[samples / 2] > 1 ? (double)t[samples / 2] : 1, lo = t[0] > 1 ? (double)t[0] : 1;
    set_min_locked(c, lo);
    __atomic_store_n(&c->when, par_now_ns(), __ATOMIC_RELAXED);
    __atomic_store(&c->ns, &med, __ATOMIC_RELEASE);
}

static int slot_of(int p) { return p < 2 ? 2 : p > CAL_SLOTS ? CAL_SLOTS : p; }

/* Never measured, or stale: neither measured nor confirmed by a real region for RECAL_NS. */
static int needs_measure(const cal *c, double ns)
{
    return ns == 0 || par_now_ns() - __atomic_load_n(&c->when, __ATOMIC_RELAXED) > RECAL_NS;
}

double par_fork_join_ns(int p)
{
    cal *c = &cals[slot_of(p)];
    double ns;
    __atomic_load(&c->ns, &ns, __ATOMIC_ACQUIRE);
    if (needs_measure(c, ns)) { /* rechecked under the lock */
        par_omp_init();
        if (ns == 0)
            pthread_mutex_lock(&cal_lock);
        else if (pthread_mutex_trylock(&cal_lock))
            return p > CAL_SLOTS ? ns * p / CAL_SLOTS : ns; /* someone else is measuring */
        __atomic_load(&c->ns, &ns, __ATOMIC_ACQUIRE);
        if (needs_measure(c, ns))
            measure_locked(c, slot_of(p), ns == 0 ? CAL_SAMPLES : RECAL_SAMPLES);
        __atomic_load(&c->ns, &ns, __ATOMIC_ACQUIRE);
        pthread_mutex_unlock(&cal_lock);
    }
    return p > CAL_SLOTS ? ns * p / CAL_SLOTS : ns;
}

double par_fork_join_min_ns(int p)
{
    double v = load_min(&cals[slot_of(p)]);
    return p > CAL_SLOTS ? v * p / CAL_SLOTS : v;
}

void par_fork_join_note(int p, double ns)
{
    if (p > CAL_SLOTS)
        ns = ns * CAL_SLOTS / p;
    cal *c = &cals[slot_of(p)];
    if (pthread_mutex_trylock(&cal_lock))
        return; /* best effort: never wait for a measurement in progress */
    double old;
    __atomic_load(&c->ns, &old, __ATOMIC_RELAXED);
    if (old > 0) {
        /* One region held up far beyond the estimate (a worker that waited
         * for a time slice) moves it by at most NOTE_WEIGHT * NOTE_CAP: seen
         * here, one ~800 us note lifted a 7 us estimate to 106 us and kept
         * every call serial until the next re-measurement. A lasting rise
         * still comes through, compounding region after region. */
        double v = old + NOTE_WEIGHT * ((ns < NOTE_CAP * old ? ns : NOTE_CAP * old) - old);
        __atomic_store(&c->ns, &v, __ATOMIC_RELEASE);
        set_min_locked(c, ns > 1 ? ns : 1);
        __atomic_store_n(&c->when, par_now_ns(), __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&cal_lock);
}
