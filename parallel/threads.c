/* threads.c — how many threads a parallel call may use.
 *
 * The API setting wins; else UFUNCGEN_NUM_THREADS; else OpenMP's default
 * (omp_get_max_threads, which honours OMP_NUM_THREADS). The environment is
 * read on every call (a test or a user may change it), but its parse is
 * cached by value under a mutex, and a bad value is reported exactly once
 * ("ufuncgen: warning: ignoring UFUNCGEN_NUM_THREADS='abc' ...") and then
 * ignored. A value is valid when it is a decimal integer in 1..4096 with
 * nothing after it but blanks.
 *
 * Fork: libgomp's thread pool does not survive fork(): the child of a
 * process whose forking thread had run an OpenMP region hangs in that
 * thread's next region, the pool's threads being gone. So when the forking
 * thread had run one of our regions, the child runs serially (par_threads
 * gives 1, par_in_forked_child is true); a child forked by a thread that
 * never did keeps its threads (a fresh pool works). A region the host ran
 * itself on the forking thread is libgomp's problem, and the host's.
 * env_lock is held across fork so the child never inherits it locked.
 */
#include <ctype.h>
#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "parallel/parallel.h"

#define ENV_NAME "UFUNCGEN_NUM_THREADS"

static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;
static char env_last[128];   /* the value parsed last (truncated copy) */
static int env_last_set;     /* env_last holds a value */
static int env_last_threads; /* its parse: 0 when invalid */
static char env_warned[8][128]; /* bad values already reported (the first 8) */
static int env_nwarned;

static int forked_child;           /* forked by a thread that owned an OpenMP pool (atomic) */
static _Thread_local int tl_pool;  /* this thread ran a region of ours: libgomp keeps a pool for it */

void par_note_region(void) { tl_pool = 1; }

int par_in_forked_child(void) { return __atomic_load_n(&forked_child, __ATOMIC_RELAXED); }

int par_thread_id(void) { return omp_in_parallel() ? omp_get_thread_num() : 0; }
int64_t par_kernel_thread_id(void) { return par_thread_id(); }

static void before_fork(void) { pthread_mutex_lock(&env_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&env_lock); }

static void after_fork_child(void)
{
    pthread_mutex_init(&env_lock, NULL); /* afresh: its word may count the parent's waiters */
    if (tl_pool) /* the forking thread's pool: its threads are gone */
        __atomic_store_n(&forked_child, 1, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void fork_handlers(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Report a bad value unless it was reported before. */
static void warn_once(const char *s)
{
    for (int i = 0; i < env_nwarned; i++)
        if (strncmp(env_warned[i], s, sizeof env_warned[i]) == 0)
            return;
    if (env_nwarned < 8)
        snprintf(env_warned[env_nwarned++], sizeof env_warned[0], "%s", s);
    fprintf(stderr, "ufuncgen: warning: ignoring %s='%s' (expected an integer from 1 to %d)\n", ENV_NAME, s,
            UG_MAX_THREADS);
}

/* Parse s (not NULL) unless it is the value seen last; warn once per new bad value. */
static int env_threads_locked(const char *s)
{
    if (env_last_set && strncmp(env_last, s, sizeof env_last) == 0)
        return env_last_threads;
    snprintf(env_last, sizeof env_last, "%s", s);
    env_last_set = 1;
    env_last_threads = base_parse_threads(s);
    if (!env_last_threads)
        warn_once(s);
    return env_last_threads;
}

/* UFUNCGEN_NUM_THREADS, or 0 when unset or invalid. */
static int env_threads(void)
{
    const char *s = base_env_num_threads();
    if (!s)
        return 0;
    pthread_mutex_lock(&env_lock);
    int n = env_threads_locked(s);
    pthread_mutex_unlock(&env_lock);
    return n;
}

int par_threads(int api)
{
    if (par_in_forked_child())
        return 1;
    if (api > 0)
        return api > UG_MAX_THREADS ? UG_MAX_THREADS : api;
    int n = env_threads();
    if (n > 0)
        return n;
    par_omp_init();
    n = omp_get_max_threads();
    return n > 0 ? n : 1;
}
