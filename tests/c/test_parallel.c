/* test_parallel.c — Check suite of parallel/: the OpenMP driver.
 *
 * Hand-written C inner loops with NumPy's ABI stand in for compiled ones.
 * Every parallel result is compared byte for byte with one serial call of
 * the same loop. To exercise the parallel path on small inputs, a test can
 * seed the loop's measured cost with a huge value ("forced"): the model then
 * always splits; unforced tests check the measured path.
 */
#include <check.h>
#include <omp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <fenv.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "loops/loops.h"
#include "parallel/parallel.h"

#define FORCED_NS 1e12 /* a per-item cost that makes any split worth it, even on a loaded machine */

/* ------------------------------------------------------------ test loops */

static double poly8(double x)
{
    double r = 0.5;
    for (int i = 0; i < 8; i++)
        r = r * x + 0.25 * (i + 1);
    return r;
}

/* d -> d: degree-8 polynomial. */
static void loop_poly_d(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++)
        *(double *)(args[1] + i * steps[1]) = poly8(*(const double *)(args[0] + i * steps[0]));
}

/* ff -> f: a * b + a. */
static void loop_fma_f(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++) {
        float a = *(const float *)(args[0] + i * steps[0]), b = *(const float *)(args[1] + i * steps[1]);
        *(float *)(args[2] + i * steps[2]) = a * b + a;
    }
}

/* qq -> q: a * b ^ (a >> 3). */
static void loop_mix_q(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++) {
        int64_t a = *(const int64_t *)(args[0] + i * steps[0]), b = *(const int64_t *)(args[1] + i * steps[1]);
        *(int64_t *)(args[2] + i * steps[2]) = (int64_t)((uint64_t)a * (uint64_t)b) ^ (a >> 3);
    }
}

/* B -> B: x * 7 + 3 (wrapping). */
static void loop_u8(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++)
        *(uint8_t *)(args[1] + i * steps[1]) = (uint8_t)(*(const uint8_t *)(args[0] + i * steps[0]) * 7 + 3);
}

/* gufunc (n)->(): a sequential (order-dependent) float sum of each row. */
static void loop_rowsum_f(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++) {
        const char *row = args[0] + i * steps[0];
        float s = 0;
        for (intptr_t j = 0; j < dims[1]; j++)
            s += *(const float *)(row + j * steps[2]) * 1.0001f;
        *(float *)(args[1] + i * steps[1]) = s;
    }
}

/* d -> d with a boundscheck-style error for every negative input x,
 * reported as index -x (so the index tells which element failed). */
static void loop_check_d(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++) {
        double x = *(const double *)(args[0] + i * steps[0]);
        if (x < 0)
            rt_index_error("kern", "x", 0, (int64_t)-x, 10);
        *(double *)(args[1] + i * steps[1]) = x;
    }
}

/* ------------------------------------------------------------ helpers */

typedef struct loop_case {
    const char *name;
    ug_loop_fn fn;
    int nin;
    size_t esize; /* all operands share one element size */
} loop_case;

static const loop_case cases[] = {
    {"poly_d", loop_poly_d, 1, 8},
    {"fma_f", loop_fma_f, 2, 4},
    {"mix_q", loop_mix_q, 2, 8},
    {"u8", loop_u8, 1, 1},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Fill n elements of esize bytes: doubles (also fine as int64 bits) or
 * floats in [-2, 2), or random bytes. */
static void fill(char *p, size_t n, size_t esize)
{
    for (size_t i = 0; i < n; i++) {
        double v = (double)(next_rand() % 4000000) / 1e6 - 2.0;
        float f = (float)v;
        uint8_t u = (uint8_t)next_rand();
        memcpy(p + i * esize, esize == 8 ? (void *)&v : esize == 4 ? (void *)&f : (void *)&u, esize);
    }
}

/* One strided operand over a buffer: its pointer and byte step for n elements of stride s (elements). */
typedef struct operand {
    char *buf;
    char *ptr;
    intptr_t step;
    size_t bytes;
} operand;

static operand make_operand(intptr_t n, int s, size_t esize, int input)
{
    size_t span = (size_t)(n > 0 ? n : 1) * (size_t)(s < 0 ? -s : s ? s : 1);
    operand o = {.bytes = span * esize};
    o.buf = calloc(span + 1, esize);
    ck_assert_ptr_nonnull(o.buf);
    if (input)
        fill(o.buf, span, esize);
    o.step = (intptr_t)s * (intptr_t)esize;
    o.ptr = s < 0 ? o.buf + (size_t)(n - 1) * (size_t)(-s) * esize : o.buf;
    return o;
}

/* Run case c on n elements with input stride s_in and output stride s_out,
 * serially and through par_loop_fn on nt threads; assert equal outputs. */
static void check_equal(const loop_case *c, intptr_t n, int s_in, int s_out, int nt, int forced)
{
    int nops = c->nin + 1;
    operand ops[3], out2;
    char *a1[3], *a2[3];
    intptr_t steps[3];
    for (int k = 0; k < nops; k++) {
        ops[k] = make_operand(n, k < c->nin ? s_in : s_out, c->esize, k < c->nin);
        a1[k] = a2[k] = ops[k].ptr;
        steps[k] = ops[k].step;
    }
    out2 = make_operand(n, s_out, c->esize, 0);
    a2[c->nin] = out2.ptr;
    intptr_t dims[1] = {n};
    c->fn(a1, dims, steps, NULL);
    par_loop pl = {.fn = c->fn, .nops = nops, .nthreads = nt, .ns_per_elem = forced ? FORCED_NS : 0};
    par_loop_fn(a2, dims, steps, &pl);
    ck_assert_msg(memcmp(ops[c->nin].buf, out2.buf, out2.bytes) == 0, "%s n=%ld s_in=%d s_out=%d nt=%d forced=%d",
                  c->name, (long)n, s_in, s_out, nt, forced);
    for (int k = 0; k < nops; k++)
        free(ops[k].buf);
    free(out2.buf);
}

static const intptr_t sizes[] = {0, 1, 2, 3, 5, 7, 13, 97, 1009, 65537, 1000000};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

/* ------------------------------------------------------------ par_loop_fn */

/* Thread counts tried on a size: all of 1..8, but only 1, 2, 3 and 8 on
 * the largest; under valgrind 1, 2, 3 and 8, and only 2 above 70000
 * (memcheck runs threads one at a time, and spinning workers crawl). */
static int skip_nt(intptr_t n, int nt)
{
    if (RUNNING_ON_VALGRIND)
        return (nt > 3 && nt < 8) || (n > 70000 && nt != 2);
    return n >= 1000000 && nt > 3 && nt < 8;
}

START_TEST(test_bitwise_contiguous)
{
    for (int c = 0; c < NCASES; c++)
        for (int i = 0; i < NSIZES; i++)
            for (int nt = 1; nt <= 8; nt++)
                if (!skip_nt(sizes[i], nt))
                    check_equal(&cases[c], sizes[i], 1, 1, nt, 1);
}
END_TEST

START_TEST(test_bitwise_strides)
{
    static const int strides[][2] = {{2, 1}, {-1, 1}, {0, 1}, {1, 2}, {1, -1}, {-1, -2}, {3, 2}};
    for (int c = 0; c < NCASES; c++)
        for (int s = 0; s < (int)(sizeof strides / sizeof strides[0]); s++)
            for (int i = 0; i < NSIZES - 1; i++)
                for (int nt = 1; nt <= 8; nt += 3)
                    if (!skip_nt(sizes[i], nt) || nt == 1)
                        check_equal(&cases[c], sizes[i], strides[s][0], strides[s][1], nt, 1);
}
END_TEST

START_TEST(test_bitwise_measured)
{
    /* Unforced: the model decides from its own measurements, over repeated calls. */
    for (int c = 0; c < NCASES; c++)
        for (int i = 0; i < NSIZES; i++)
            for (int rep = 0; rep < 3; rep++)
                check_equal(&cases[c], sizes[i], 1, 1, 2, 0);
}
END_TEST

START_TEST(test_measures_cost)
{
    intptr_t n = 1000000;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (intptr_t i = 0; i < n; i++)
        x[i] = (double)i / n;
    char *args[2] = {(char *)x, (char *)y};
    intptr_t dims[1] = {n}, steps[2] = {8, 8};
    par_loop pl = {.fn = loop_poly_d, .nops = 2, .nthreads = 2};
    par_loop_fn(args, dims, steps, &pl);
    double c;
    __atomic_load(&pl.ns_per_elem, &c, __ATOMIC_RELAXED);
    ck_assert_msg(c > 0 && c < 1e4, "ns_per_elem %g", c);
    for (intptr_t i = 0; i < n; i += 9973)
        ck_assert(y[i] == poly8(x[i]));
    free(x);
    free(y);
}
END_TEST

/* A region whose chunks page-fault (the first touch of a new output) times
 * the kernel's fault path, not the loop: the driver learns nothing from it.
 * The same call on the now-touched memory teaches c_p. */
START_TEST(test_faulting_region_not_learned)
{
    intptr_t n = 2 << 20; /* 16 MiB of output: thousands of 4 KiB pages */
    size_t bytes = (size_t)n * sizeof(double);
    double *x = malloc(bytes);
    for (intptr_t i = 0; i < n; i++)
        x[i] = (double)i / n;
    double *y = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(y != MAP_FAILED);
    madvise(y, bytes, MADV_NOHUGEPAGE); /* one fault per 4 KiB page */
    char *args[2] = {(char *)x, (char *)y};
    intptr_t dims[1] = {n}, steps[2] = {8, 8};
    par_loop pl = {.fn = loop_poly_d, .nops = 2, .nthreads = 2, .ns_per_elem = FORCED_NS};
    par_loop_fn(args, dims, steps, &pl);
    double c;
    __atomic_load(&pl.ns_par_elem, &c, __ATOMIC_RELAXED);
    ck_assert_msg(c == 0, "learned %g ns per item from a region that faulted", c);
    par_loop_fn(args, dims, steps, &pl);
    __atomic_load(&pl.ns_par_elem, &c, __ATOMIC_RELAXED);
    ck_assert_msg(c > 0 && c < 1e4, "ns_par_elem %g after a clean region", c);
    for (intptr_t i = 0; i < n; i += 9973)
        ck_assert(y[i] == poly8(x[i]));
    munmap(y, bytes);
    free(x);
}
END_TEST

/* gufunc (n)->(): outer sizes from 1 (core 10^6) up, thread counts 1..8. */
START_TEST(test_gufunc_core)
{
    static const intptr_t shapes[][2] = {{1, 1000000}, {2, 300000}, {3, 1000}, {17, 999}, {1000, 100}, {5, 0}};
    for (int s = 0; s < 6; s++) {
        intptr_t outer = shapes[s][0], core = shapes[s][1];
        float *in = malloc((size_t)(outer * core + 1) * sizeof *in);
        float *o1 = calloc((size_t)outer, sizeof *o1), *o2 = calloc((size_t)outer, sizeof *o2);
        fill((char *)in, (size_t)(outer * core), 4);
        intptr_t dims[2] = {outer, core}, steps[3] = {core * 4, 4, 4};
        char *a1[2] = {(char *)in, (char *)o1}, *a2[2] = {(char *)in, (char *)o2};
        loop_rowsum_f(a1, dims, steps, NULL);
        for (int nt = 1; nt <= 8; nt++)
            for (int forced = 0; forced < 2; forced++) {
                if (skip_nt(outer * core, nt))
                    continue;
                memset(o2, 0, (size_t)outer * sizeof *o2);
                par_loop pl = {.fn = loop_rowsum_f, .nops = 2, .ncore = 1, .nthreads = nt,
                               .ns_per_elem = forced ? FORCED_NS : 0};
                par_loop_fn(a2, dims, steps, &pl);
                ck_assert_msg(memcmp(o1, o2, (size_t)outer * sizeof *o1) == 0, "outer=%ld core=%ld nt=%d",
                              (long)outer, (long)core, nt);
            }
        free(in);
        free(o1);
        free(o2);
    }
}
END_TEST

/* A gufunc's cost is learned per unit of core work, not per outer item. */
START_TEST(test_gufunc_cost_per_unit)
{
    intptr_t outer = 64, core = 100000;
    float *in = calloc((size_t)(outer * core), sizeof *in), out[64];
    intptr_t dims[2] = {outer, core}, steps[3] = {core * 4, 4, 4};
    char *args[2] = {(char *)in, (char *)out};
    par_loop pl = {.fn = loop_rowsum_f, .nops = 2, .ncore = 1, .nthreads = 2};
    for (int rep = 0; rep < 3; rep++)
        par_loop_fn(args, dims, steps, &pl);
    double c;
    __atomic_load(&pl.ns_per_elem, &c, __ATOMIC_RELAXED);
    ck_assert_msg(c > 0 && c < 1000, "ns_per_elem %g (per item would be ~1e5)", c);
    free(in);
}
END_TEST

/* The data pointer reaches the serial loop unchanged. */
static void loop_data(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++)
        *(intptr_t *)(args[0] + i * steps[0]) = (intptr_t)data;
}

START_TEST(test_data_pointer)
{
    intptr_t out[100], dims[1] = {100}, steps[1] = {sizeof(intptr_t)};
    char *args[1] = {(char *)out};
    par_loop pl = {.fn = loop_data, .data = (void *)0x1234, .nops = 1, .nthreads = 4, .ns_per_elem = FORCED_NS};
    par_loop_fn(args, dims, steps, &pl);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(out[i], 0x1234);
}
END_TEST

/* ------------------------------------------------------------ par_for */

typedef struct cover {
    int *hits;
    int threads[64]; /* which OpenMP thread numbers ran a chunk */
    pthread_t caller;
    int off_caller;  /* a chunk ran on a thread other than the caller */
    int wait_for;    /* the caller's first piece waits (up to 5 s) until this many threads ran one */
} cover;

static int threads_seen(cover *c)
{
    int k = 0;
    for (int t = 0; t < 64; t++)
        k += __atomic_load_n(&c->threads[t], __ATOMIC_RELAXED);
    return k;
}

/* Pieces go to whichever thread of a region is free, so cheap work may all
 * end up on one thread before another wakes; tests that check that every
 * thread of a region takes part hold each thread in its piece (wait_for)
 * until that many threads have run one (a region has more pieces than
 * threads, so the others still find pieces to take). */
static void cover_body(void *ctx, int64_t lo, int64_t hi)
{
    cover *c = ctx;
    for (int64_t i = lo; i < hi; i++)
        __atomic_fetch_add(&c->hits[i], 1, __ATOMIC_RELAXED);
    int t = omp_get_thread_num();
    if (t < 64)
        __atomic_store_n(&c->threads[t], 1, __ATOMIC_RELAXED);
    if (!pthread_equal(pthread_self(), c->caller))
        __atomic_store_n(&c->off_caller, 1, __ATOMIC_RELAXED);
    for (int spins = 0; c->wait_for && threads_seen(c) < c->wait_for && spins < 5000; spins++)
        usleep(1000);
}

static void check_cover(int64_t n, int nt, double ns)
{
    cover c = {.hits = calloc((size_t)(n + 1), sizeof(int)), .caller = pthread_self()};
    par_for(n, nt, ns, cover_body, &c);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(c.hits[i] == 1, "n=%ld nt=%d index %ld hit %d times", (long)n, nt, (long)i, c.hits[i]);
    ck_assert_int_eq(c.hits[n], 0);
    free(c.hits);
}

static void check_cover_cost(int64_t n, int nt, par_cost *cost)
{
    cover c = {.hits = calloc((size_t)(n + 1), sizeof(int)), .caller = pthread_self()};
    par_for_cost(n, nt, cost, cover_body, &c);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(c.hits[i] == 1, "n=%ld nt=%d index %ld hit %d times", (long)n, nt, (long)i, c.hits[i]);
    free(c.hits);
}

START_TEST(test_par_for_coverage)
{
    static const int64_t ns[] = {0, 1, 2, 3, 7, 8, 9, 97, 1000, 65537, 1000003};
    for (int i = 0; i < 11; i++)
        for (int nt = 1; nt <= 8; nt++) {
            if (skip_nt(ns[i], nt))
                continue;
            check_cover(ns[i], nt, FORCED_NS);
            check_cover(ns[i], nt, 0);
            check_cover(ns[i], nt, 0.5);
        }
}
END_TEST

START_TEST(test_par_for_uses_threads)
{
    cover c = {.hits = calloc(1000, sizeof(int)), .caller = pthread_self(), .wait_for = 2};
    par_for(1000, 2, FORCED_NS, cover_body, &c);
    ck_assert(c.threads[0] && c.threads[1]);
    ck_assert(c.off_caller);
    free(c.hits);
}
END_TEST

/* A pool thread held up (as when the host holds its core) does not hold
 * up the rest: its first piece sleeps 200 ms, and the calling thread takes
 * every other piece meanwhile, so the held thread runs exactly one. */
typedef struct held {
    pthread_t caller;
    int caller_pieces, other_pieces;
    int *hits;
} held;

static void held_body(void *ctx, int64_t lo, int64_t hi)
{
    held *h = ctx;
    for (int64_t i = lo; i < hi; i++)
        __atomic_fetch_add(&h->hits[i], 1, __ATOMIC_RELAXED);
    if (pthread_equal(pthread_self(), h->caller)) {
        __atomic_fetch_add(&h->caller_pieces, 1, __ATOMIC_RELAXED);
    } else if (__atomic_fetch_add(&h->other_pieces, 1, __ATOMIC_RELAXED) == 0) {
        usleep(200000);
    }
}

START_TEST(test_held_thread_does_not_hold_the_rest)
{
    held h = {.caller = pthread_self(), .hits = calloc(1000, sizeof(int))};
    par_for(1000, 2, FORCED_NS, held_body, &h);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(h.hits[i], 1);
    ck_assert_int_le(h.other_pieces, 1);
    ck_assert_int_ge(h.caller_pieces, 2);
    free(h.hits);
}
END_TEST

START_TEST(test_par_for_cost_learns)
{
    par_cost cost = {0};
    for (int rep = 0; rep < 5; rep++)
        for (int nt = 1; nt <= 4; nt++) {
            check_cover_cost(200003, nt, &cost);
            check_cover_cost(3, nt, &cost);
        }
    ck_assert(cost.ns_serial > 0); /* measured on the first large call */
    par_cost forced = {FORCED_NS, FORCED_NS};
    cover c = {.hits = calloc(100, sizeof(int)), .caller = pthread_self(), .wait_for = 2};
    par_for_cost(100, 2, &forced, cover_body, &c);
    ck_assert(c.off_caller);
    ck_assert(forced.ns_parallel < FORCED_NS); /* refined by the region */
    free(c.hits);
}
END_TEST

/* Small cheap work stays on the calling thread. */
START_TEST(test_small_is_serial)
{
    cover c = {.hits = calloc(100, sizeof(int)), .caller = pthread_self()};
    par_for(100, 2, 0.001, cover_body, &c);
    ck_assert(!c.off_caller);
    free(c.hits);
}
END_TEST

/* ------------------------------------------------------------ nesting, callers */

START_TEST(test_nested_in_omp)
{
    int bad = 0, off = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad, off)
    {
        for (int rep = 0; rep < 20; rep++) {
            cover c = {.hits = calloc(5000, sizeof(int)), .caller = pthread_self()};
            par_for(5000, 4, FORCED_NS, cover_body, &c);
            for (int i = 0; i < 5000; i++)
                bad += c.hits[i] != 1;
            off += c.off_caller;
            free(c.hits);
        }
        double x[3000], y1[3000], y2[3000];
        for (int i = 0; i < 3000; i++)
            x[i] = i * 1e-3 - 1;
        char *a1[2] = {(char *)x, (char *)y1}, *a2[2] = {(char *)x, (char *)y2};
        intptr_t dims[1] = {3000}, steps[2] = {8, 8};
        loop_poly_d(a1, dims, steps, NULL);
        par_loop pl = {.fn = loop_poly_d, .nops = 2, .nthreads = 4, .ns_per_elem = FORCED_NS};
        par_loop_fn(a2, dims, steps, &pl);
        bad += memcmp(y1, y2, sizeof y1) != 0;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(off, 0); /* nested calls ran serially on their own thread */
}
END_TEST

/* A loop that itself calls the driver (a parallel ufunc called from a worker). */
static void loop_reentrant(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    cover c = {.hits = calloc(64, sizeof(int)), .caller = pthread_self()};
    par_for(64, 2, FORCED_NS, cover_body, &c);
    int ok = !c.off_caller;
    for (int i = 0; i < 64; i++)
        ok &= c.hits[i] == 1;
    free(c.hits);
    for (intptr_t i = 0; i < dims[0]; i++)
        *(int *)(args[0] + i * steps[0]) = ok;
}

START_TEST(test_reentrant_from_worker)
{
    int out[16];
    intptr_t dims[1] = {16}, steps[1] = {sizeof(int)};
    char *args[1] = {(char *)out};
    par_loop pl = {.fn = loop_reentrant, .nops = 1, .nthreads = 2, .ns_per_elem = FORCED_NS};
    par_loop_fn(args, dims, steps, &pl);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(out[i], 1);
}
END_TEST

static void *caller_thread(void *arg)
{
    long bad = 0;
    intptr_t n = 20000 + (intptr_t)arg * 17;
    double *x = malloc(n * 8), *y1 = malloc(n * 8), *y2 = malloc(n * 8);
    for (intptr_t i = 0; i < n; i++)
        x[i] = (double)i / n - 0.5;
    char *a1[2] = {(char *)x, (char *)y1}, *a2[2] = {(char *)x, (char *)y2};
    intptr_t dims[1] = {n}, steps[2] = {8, 8};
    loop_poly_d(a1, dims, steps, NULL);
    par_loop shared = {.fn = loop_poly_d, .nops = 2, .nthreads = 2};
    for (int rep = 0; rep < 30; rep++) {
        memset(y2, 0, n * 8);
        par_loop forced = {.fn = loop_poly_d, .nops = 2, .nthreads = 2 + rep % 3, .ns_per_elem = FORCED_NS};
        par_loop_fn(a2, dims, steps, rep % 2 ? &forced : &shared);
        bad += memcmp(y1, y2, n * 8) != 0;
    }
    free(x);
    free(y1);
    free(y2);
    return (void *)bad;
}

START_TEST(test_many_callers)
{
    pthread_t t[6];
    for (long i = 0; i < 6; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, caller_thread, (void *)i), 0);
    for (int i = 0; i < 6; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        ck_assert_int_eq((long)bad, 0);
    }
}
END_TEST

/* ------------------------------------------------------------ errors */

/* n inputs 0..n-1 with negatives at the given positions; returns the error message of one call. */
static int run_check_loop(int n, const int *neg, int nneg, int nt, ug_error *err)
{
    double *x = malloc(n * 8), *y = malloc(n * 8);
    for (int i = 0; i < n; i++)
        x[i] = i;
    for (int k = 0; k < nneg; k++)
        x[neg[k]] = -neg[k];
    char *args[2] = {(char *)x, (char *)y};
    intptr_t dims[1] = {n}, steps[2] = {8, 8};
    par_loop pl = {.fn = loop_check_d, .nops = 2, .nthreads = nt, .ns_per_elem = FORCED_NS};
    if (nt == 0)
        loop_check_d(args, dims, steps, NULL);
    else
        par_loop_fn(args, dims, steps, &pl);
    free(x);
    free(y);
    return rt_take_error(err);
}

START_TEST(test_error_from_worker)
{
    static const int negs[][2] = {{700, 900}, {300, 900}, {999, 998}, {1, 2}, {500, 501}};
    for (int i = 0; i < 5; i++)
        for (int nt = 2; nt <= 8; nt++) {
            ug_error serial, par;
            ck_assert(run_check_loop(1000, negs[i], 2, 0, &serial));
            ck_assert(run_check_loop(1000, negs[i], 2, nt, &par));
            ck_assert_str_eq(serial.msg, par.msg);
            ck_assert_int_eq(par.code, UG_EINDEX);
            ck_assert(!rt_take_error(NULL)); /* taken: nothing left */
        }
}
END_TEST

/* An error already recorded on the caller wins, as it does for a serial loop. */
START_TEST(test_error_earlier_record_kept)
{
    ug_error old = {.code = UG_EINDEX, .line = -1, .column = -1, .msg = "earlier"}, got;
    int neg[1] = {900};
    rt_put_error(&old);
    ck_assert(run_check_loop(1000, neg, 1, 4, &got));
    ck_assert_str_eq(got.msg, "earlier");
    ck_assert(!rt_take_error(NULL));
}
END_TEST

START_TEST(test_no_error_no_record)
{
    for (int nt = 1; nt <= 4; nt++)
        ck_assert(!run_check_loop(1000, NULL, 0, nt, NULL));
}
END_TEST

/* A worker's stale record (from an earlier call on the worker) is not reported. */
START_TEST(test_error_then_clean_call)
{
    int neg[1] = {900};
    ck_assert(run_check_loop(1000, neg, 1, 2, NULL));
    ck_assert(!run_check_loop(1000, NULL, 0, 2, NULL));
}
END_TEST

/* FP exception flags raised on a worker thread are raised on the caller:
 * the last item divides by zero (a worker's chunk, never chunk 0), item 0
 * overflows only when asked (the caller's own chunk). */
static void fpe_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    (void)data;
    for (intptr_t i = 0; i < dims[0]; i++) {
        volatile double x = *(double *)(args[0] + i * steps[0]);
        *(double *)(args[1] + i * steps[1]) = 1.0 / x;
    }
}

START_TEST(test_fp_flags_from_workers)
{
    enum { N = 4000 };
    feclearexcept(FE_ALL_EXCEPT);
    volatile double zero = 0.0, q = 1.0 / zero;
    (void)q;
    bool flags_modelled = fetestexcept(FE_DIVBYZERO) != 0; /* valgrind keeps no FP status flags */
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (int nt = 2; nt <= 4; nt++) {
        for (int i = 0; i < N; i++)
            x[i] = 2.0;
        x[N - 1] = 0.0;
        char *args[2] = {(char *)x, (char *)y};
        intptr_t dims[1] = {N}, steps[2] = {8, 8};
        par_loop pl = {.fn = fpe_loop, .nops = 2, .nthreads = nt, .ns_per_elem = FORCED_NS};
        feclearexcept(FE_ALL_EXCEPT);
        par_loop_fn(args, dims, steps, &pl);
        ck_assert_msg(fetestexcept(FE_DIVBYZERO) || !flags_modelled, "divide-by-zero raised on a worker is lost (%d threads)", nt);
        ck_assert(isinf(y[N - 1]) && y[0] == 0.5);
        feclearexcept(FE_ALL_EXCEPT);
        x[N - 1] = 2.0; /* no flag anywhere: none on the caller, even after a call that had some */
        par_loop_fn(args, dims, steps, &pl);
        ck_assert(!fetestexcept(FE_DIVBYZERO | FE_INVALID | FE_OVERFLOW));
    }
    free(x);
    free(y);
}
END_TEST

/* ------------------------------------------------------------ threads */

START_TEST(test_parse_threads)
{
    static const struct {
        const char *text;
        int want;
    } t[] = {{"1", 1},   {"8", 8},   {" 3 ", 3}, {"4096", 4096}, {"4097", 0}, {"0", 0},   {"-2", 0},
             {"+2", 0},  {"", 0},    {"abc", 0}, {"4x", 0},      {"2.5", 0},  {"99999999999999999999999", 0}};
    for (int i = 0; i < (int)(sizeof t / sizeof t[0]); i++)
        ck_assert_msg(base_parse_threads(t[i].text) == t[i].want, "'%s'", t[i].text);
    ck_assert_int_eq(base_parse_threads(NULL), 0);
}
END_TEST

START_TEST(test_threads_precedence)
{
    unsetenv("UFUNCGEN_NUM_THREADS");
    ck_assert_int_eq(par_threads(0), omp_get_max_threads());
    ck_assert_int_eq(par_threads(5), 5);
    setenv("UFUNCGEN_NUM_THREADS", "3", 1);
    ck_assert_int_eq(par_threads(0), 3);
    ck_assert_int_eq(par_threads(-1), 3);
    ck_assert_int_eq(par_threads(7), 7);
    ck_assert_int_eq(par_threads(100000), UG_MAX_THREADS);
    unsetenv("UFUNCGEN_NUM_THREADS");
}
END_TEST

/* Calls par_threads(0) `calls` times with UFUNCGEN_NUM_THREADS=value; returns what stderr received. */
static char *stderr_of(const char *value, int calls, int *result)
{
    char path[] = "/tmp/test_parallel_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    setenv("UFUNCGEN_NUM_THREADS", value, 1);
    for (int i = 0; i < calls; i++)
        *result = par_threads(0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    static char buf[4096];
    ssize_t len = pread(fd, buf, sizeof buf - 1, 0);
    buf[len > 0 ? len : 0] = 0;
    close(fd);
    unlink(path);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

START_TEST(test_env_invalid_warns_once)
{
    static const char *bad[] = {"abc", "0", "-3", "4x", "5000", "99999999999999999999", ""};
    for (int i = 0; i < 7; i++) {
        int r = 0;
        char *out = stderr_of(bad[i], 4, &r);
        ck_assert_int_eq(r, omp_get_max_threads());
        ck_assert_msg(count_lines(out) == 1, "value '%s': stderr '%s'", bad[i], out);
        ck_assert_ptr_nonnull(strstr(out, "UFUNCGEN_NUM_THREADS"));
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        ck_assert_ptr_nonnull(strstr(out, quoted));
    }
    unsetenv("UFUNCGEN_NUM_THREADS");
}
END_TEST

START_TEST(test_env_valid_silent)
{
    int r = 0;
    char *out = stderr_of("6", 3, &r);
    ck_assert_int_eq(r, 6);
    ck_assert_str_eq(out, "");
    /* a bad value between good ones warns once, and only for itself */
    out = stderr_of("x1", 2, &r);
    ck_assert_int_eq(count_lines(out), 1);
    out = stderr_of("2", 2, &r);
    ck_assert_int_eq(r, 2);
    ck_assert_str_eq(out, "");
    out = stderr_of("x1", 2, &r); /* already reported */
    ck_assert_str_eq(out, "");
    unsetenv("UFUNCGEN_NUM_THREADS");
}
END_TEST

START_TEST(test_env_drives_driver)
{
    /* par_loop.nthreads = 0 takes UFUNCGEN_NUM_THREADS at call time */
    setenv("UFUNCGEN_NUM_THREADS", "3", 1);
    cover c = {.hits = calloc(3000, sizeof(int)), .caller = pthread_self(), .wait_for = 3};
    par_for(3000, 0, FORCED_NS, cover_body, &c);
    ck_assert(c.threads[0] && c.threads[1] && c.threads[2]);
    ck_assert(!c.threads[3]);
    free(c.hits);
    unsetenv("UFUNCGEN_NUM_THREADS");
}
END_TEST

START_TEST(test_fork_join_measured)
{
    double o2 = par_fork_join_ns(2), o4 = par_fork_join_ns(4);
    ck_assert(o2 > 0 && o2 < 1e9);
    ck_assert(o4 > 0 && o4 < 1e9);
    ck_assert(par_fork_join_ns(2) == o2); /* cached */
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *parallel_suite(void)
{
    Suite *s = suite_create("parallel");
    TCase *t = tcase_create("driver");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_bitwise_contiguous);
    tcase_add_test(t, test_bitwise_strides);
    tcase_add_test(t, test_bitwise_measured);
    tcase_add_test(t, test_measures_cost);
    tcase_add_test(t, test_faulting_region_not_learned);
    tcase_add_test(t, test_gufunc_core);
    tcase_add_test(t, test_gufunc_cost_per_unit);
    tcase_add_test(t, test_data_pointer);
    tcase_add_test(t, test_par_for_coverage);
    tcase_add_test(t, test_par_for_uses_threads);
    tcase_add_test(t, test_held_thread_does_not_hold_the_rest);
    tcase_add_test(t, test_par_for_cost_learns);
    tcase_add_test(t, test_small_is_serial);
    tcase_add_test(t, test_nested_in_omp);
    tcase_add_test(t, test_reentrant_from_worker);
    tcase_add_test(t, test_many_callers);
    tcase_add_test(t, test_error_from_worker);
    tcase_add_test(t, test_no_error_no_record);
    tcase_add_test(t, test_error_earlier_record_kept);
    tcase_add_test(t, test_error_then_clean_call);
    tcase_add_test(t, test_fork_join_measured);
    tcase_add_test(t, test_fp_flags_from_workers);
    suite_add_tcase(s, t);
    TCase *e = tcase_create("threads");
    tcase_add_test(e, test_parse_threads);
    tcase_add_test(e, test_threads_precedence);
    tcase_add_test(e, test_env_invalid_warns_once);
    tcase_add_test(e, test_env_valid_silent);
    tcase_add_test(e, test_env_drives_driver);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(parallel_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
