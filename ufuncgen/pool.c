/* pool.c — the compile pool: the threads that compile and load ufuncs' loops
 * in the background, one per core (at most POOL_MAX), started at the first
 * job and kept for the process.
 *
 * A job is queued, then run once, by a pool thread or by the first thread
 * that waits for it while it is still queued: a waiter never sleeps on work
 * nobody has started, so waiting cannot deadlock (a job that waits for
 * another one, a pool of one busy thread) and a process with no pool
 * threads (a forked child) still gets every job done.
 *
 * Fork: fork() copies only the calling thread. The prepare handler takes the
 * pool's mutex, so the child inherits it free and the queue consistent; the
 * child has no pool threads, so it runs jobs only by waiting for them, and
 * a job a pool thread was running at the fork goes back to the queue (job
 * functions are idempotent: they publish their result last, and a rerun of
 * a published job does nothing). Pool threads run each job entered
 * (loops_enter), so a fork never copies a half-made LLVM state.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "ufuncgen/internal.h"

#define POOL_MAX 16

enum { JOB_IDLE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER; /* a job was queued */
static pthread_cond_t done = PTHREAD_COND_INITIALIZER; /* a job finished */
static drv_job *head, *tail;
static drv_job *running;  /* jobs being run (a fork requeues them in the child) */
static int nthreads;      /* pool threads started in this process */
static bool forked_child; /* this process is a fork: no pool threads */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void before_fork(void) { pthread_mutex_lock(&mu); }
static void after_fork_parent(void) { pthread_mutex_unlock(&mu); }

static void after_fork_child(void)
{
    pthread_mutex_init(&mu, NULL);
    pthread_cond_init(&work, NULL);
    pthread_cond_init(&done, NULL);
    forked_child = true;
    nthreads = 0;
    /* Jobs another thread was running go back to the front of the queue. */
    for (drv_job *j = running, *next; j; j = next) {
        next = j->running_next;
        j->state = JOB_QUEUED;
        j->next = head;
        head = j;
        if (!tail)
            tail = j;
    }
    running = NULL;
}

static void init(void);

UG_API void ug_background_stop(void)
{
    pthread_once(&once, init);
    pthread_mutex_lock(&mu);
    for (drv_job *j = head, *next; j; j = next) { /* back to unqueued: a wait runs it */
        next = j->next;
        j->next = NULL;
        j->state = JOB_IDLE;
    }
    head = tail = NULL;
    while (running)
        pthread_cond_wait(&done, &mu);
    pthread_mutex_unlock(&mu);
}

/* At exit: no pool thread may be inside LLVM while its globals are torn
 * down. This handler runs before the destructors of LLVM objects made
 * before the pool started, not before those LLVM makes lazily later, so
 * programs that exit with background work queued should call
 * ug_background_stop first (the Python package does, atexit). */
static void at_exit(void) { ug_background_stop(); }

static void init(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    atexit(at_exit);
}

/* Unlink j from the queue (mu held). */
static void unqueue(drv_job *j)
{
    drv_job **p = &head, *prev = NULL;
    while (*p && *p != j) {
        prev = *p;
        p = &(*p)->next;
    }
    if (!*p)
        return;
    *p = j->next;
    if (tail == j)
        tail = prev;
    j->next = NULL;
}

/* Claim a job for this thread (mu held). */
static void claim(drv_job *j)
{
    unqueue(j);
    j->state = JOB_RUNNING;
    j->running_next = running;
    running = j;
}

/* Run a job this thread claimed; mu not held. The pool's mutex is never
 * taken while entered (loops.h), so the fork handlers of loops/ and of the
 * pool cannot wait for each other, in whatever order they run. */
static void run(drv_job *j)
{
    loops_enter(); /* a fork waits for the job, never copies it half done */
    j->fn(j);
    loops_leave();
    pthread_mutex_lock(&mu);
    for (drv_job **p = &running; *p; p = &(*p)->running_next)
        if (*p == j) {
            *p = j->running_next;
            break;
        }
    __atomic_store_n(&j->state, JOB_DONE, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&done);
    pthread_mutex_unlock(&mu);
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!head)
            pthread_cond_wait(&work, &mu);
        drv_job *j = head;
        claim(j);
        pthread_mutex_unlock(&mu);
        run(j);
        pthread_mutex_lock(&mu);
    }
    return NULL;
}

/* Start pool threads up to one per core (mu held). */
static void grow(void)
{
    if (forked_child)
        return;
    static int want;
    if (!want) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        want = n < 1 ? 1 : n > POOL_MAX ? POOL_MAX : (int)n;
    }
    int queued = 0;
    for (drv_job *j = head; j && queued <= want; j = j->next)
        queued++;
    while (nthreads < want && nthreads < queued) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        int bad = pthread_create(&t, &a, worker, NULL);
        pthread_attr_destroy(&a);
        if (bad)
            return; /* waiters run the jobs themselves */
        nthreads++;
    }
}

void drv_job_init(drv_job *j, void (*fn)(drv_job *j), void *arg)
{
    *j = (drv_job){.fn = fn, .arg = arg, .state = JOB_IDLE};
}

void drv_job_submit(drv_job *j)
{
    pthread_once(&once, init);
    pthread_mutex_lock(&mu);
    if (j->state == JOB_IDLE) {
        j->state = JOB_QUEUED;
        j->next = NULL;
        if (tail)
            tail->next = j;
        else
            head = j;
        tail = j;
        grow();
        pthread_cond_signal(&work);
    }
    pthread_mutex_unlock(&mu);
}

bool drv_job_busy(drv_job *j)
{
    pthread_mutex_lock(&mu);
    bool busy = j->state == JOB_QUEUED || j->state == JOB_RUNNING;
    pthread_mutex_unlock(&mu);
    return busy;
}

void drv_job_wait(drv_job *j)
{
    pthread_once(&once, init);
    pthread_mutex_lock(&mu);
    if (j->state == JOB_IDLE || j->state == JOB_QUEUED) { /* nobody started it: run it here */
        claim(j);
        pthread_mutex_unlock(&mu);
        run(j);
        return;
    }
    while (j->state != JOB_DONE)
        pthread_cond_wait(&done, &mu);
    pthread_mutex_unlock(&mu);
}

void drv_job_cancel(drv_job *j)
{
    pthread_once(&once, init);
    pthread_mutex_lock(&mu);
    if (j->state == JOB_QUEUED)
        unqueue(j);
    if (j->state == JOB_QUEUED || j->state == JOB_IDLE)
        __atomic_store_n(&j->state, JOB_DONE, __ATOMIC_RELEASE);
    while (j->state != JOB_DONE)
        pthread_cond_wait(&done, &mu);
    pthread_mutex_unlock(&mu);
}

UG_API void ug_background_wait(void)
{
    pthread_once(&once, init);
    pthread_mutex_lock(&mu);
    while (head || running) {
        if (!head) {
            pthread_cond_wait(&done, &mu);
            continue;
        }
        drv_job *j = head; /* help rather than wait */
        claim(j);
        pthread_mutex_unlock(&mu);
        run(j);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
}
