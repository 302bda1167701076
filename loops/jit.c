/* jit.c — object bytes → machine code: link.c's own linker, else the
 * process-wide ORC LLJIT.
 *
 * link.c takes the objects compile.c emits (a few µs each, no LLJIT at
 * all: a warm start that only loads cached loops never creates one); an
 * object it declines goes to ORC. Both resolve external symbols alike
 * (loops_resolve). One LLJIT per process, created on first use under a mutex. Symbols resolve
 * in this order: our objects, the runtime functions (bound as absolute
 * symbols, so the host needs no -rdynamic), the process (libm), then
 * libmvec.so.1 through a path generator (so vector math resolves even when
 * the host did not link -lmvec). Each object gets its own ResourceTracker, so
 * unloading frees its code; loaded symbols are reference counted in a small
 * table, and loading a symbol already present shares it. Every operation
 * holds the mutex: loading is rare and short next to compiling.
 * ORC reports some failures (e.g. a corrupt object) to the session's error
 * reporter rather than to the caller; we capture that text per thread.
 * Fork safety lives here too (loops_enter): a writer-preferring read-write
 * lock that pthread_atfork takes for writing, then jit_mu.
 */
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "loops/loops.h"
#include "parallel/parallel.h"

struct loops_code {
    char *symbol;
    loops_linked linked;           /* link.c's pages, or */
    LLVMOrcResourceTrackerRef rt;  /* ORC's tracker */
    ug_loop_fn fn;
    int refs;
    loops_code *next;
};

static pthread_mutex_t jit_mu = PTHREAD_MUTEX_INITIALIZER;
static LLVMOrcLLJITRef jit;
static loops_code *loaded; /* list of loaded symbols */
static _Thread_local char session_msg[512];
static atomic_long orc_count;

/* ---------------------------------------------------------------- fork */

/* Writers first: a fork waiting for the write side stops new compiles from
 * starting, so it cannot starve. Never taken recursively (llvm_depth). */
static pthread_rwlock_t llvm_rw = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static _Thread_local int llvm_depth;  /* loops_enter nesting on this thread */
static _Thread_local int fork_locked; /* this thread's before_fork took the locks */

void loops_enter(void)
{
    if (llvm_depth++ == 0)
        pthread_rwlock_rdlock(&llvm_rw);
}

void loops_leave(void)
{
    if (--llvm_depth == 0)
        pthread_rwlock_unlock(&llvm_rw);
}

static void before_fork(void)
{
    if (llvm_depth) /* fork from inside ufuncgen (a callback): cannot wait for ourselves */
        return;
    pthread_rwlock_wrlock(&llvm_rw);
    pthread_mutex_lock(&jit_mu);
    fork_locked = 1;
}

/* The parent releases what its forking thread took. */
static void after_fork_parent(void)
{
    if (!fork_locked)
        return;
    fork_locked = 0;
    pthread_mutex_unlock(&jit_mu);
    pthread_rwlock_unlock(&llvm_rw);
}

/* The child starts the locks afresh: their words still count the parent's
 * waiting threads (a compile blocked behind the fork), which unlocking would
 * hand the lock to -- threads the child does not have (seen: the child's
 * next compile waited for ever). */
static void after_fork_child(void)
{
    if (!fork_locked)
        return;
    fork_locked = 0;
    pthread_mutex_init(&jit_mu, NULL);
    llvm_rw = (pthread_rwlock_t)PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
}

__attribute__((constructor)) static void fork_handlers(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* ---------------------------------------------------------------- JIT */

/* Keep ORC's asynchronous errors for the message of the failing call. */
static void report(void *ctx, LLVMErrorRef e)
{
    char *m = LLVMGetErrorMessage(e); /* consumes e */
    snprintf(session_msg, sizeof session_msg, "%s", m);
    LLVMDisposeErrorMessage(m);
}

/* Turn an LLVMErrorRef (consumed) into UG_EJIT with context. */
static ug_status jit_err(ug_error *err, LLVMErrorRef e, const char *what, const char *symbol)
{
    char *m = LLVMGetErrorMessage(e);
    base_err_set(err, UG_EJIT, "JIT: %s '%s' failed: %s%s%s", what, symbol, m, session_msg[0] ? "; " : "", session_msg);
    LLVMDisposeErrorMessage(m);
    session_msg[0] = 0;
    return UG_EJIT;
}

/* The runtime functions generated code calls, bound by name. */
static const struct {
    const char *name;
    void *addr;
} rt[] = {
    {"rt_index_error", (void *)rt_index_error},
    {"rt_fpe", (void *)rt_fpe},
    {"rt_cpow", (void *)rt_cpow},
    {"rt_cpowf", (void *)rt_cpowf},
    {"rt_strided", (void *)rt_strided},
    {"rt_raise", (void *)rt_raise},
    {"rt_alloc", (void *)rt_alloc},
    {"rt_free_frame", (void *)rt_free_frame},
    {"rt_fill", (void *)rt_fill},
    {"rt_copy", (void *)rt_copy},
    {"rt_broadcast_error", (void *)rt_broadcast_error},
    {"rt_print_str", (void *)rt_print_str},
    {"rt_print_num", (void *)rt_print_num},
    {"rt_print_end", (void *)rt_print_end},
    {"par_kernel_thread_id", (void *)par_kernel_thread_id},
    {"rt_sort", (void *)rt_sort},
    {"rt_sort_copy", (void *)rt_sort_copy},
    {"rt_warn", (void *)rt_warn},
    {"rt_partition", (void *)rt_partition},
    {"rt_argsort", (void *)rt_argsort},
    {"rt_unique", (void *)rt_unique},
    {"rt_svd_norm", (void *)rt_svd_norm},
};
enum { NRT = sizeof rt / sizeof rt[0] };

static void *libmvec;
static pthread_once_t libmvec_once = PTHREAD_ONCE_INIT;
static void open_libmvec(void) { libmvec = dlopen("libmvec.so.1", RTLD_LAZY | RTLD_LOCAL); }

void *loops_resolve(const char *name)
{
    for (int k = 0; k < NRT; k++)
        if (!strcmp(rt[k].name, name))
            return rt[k].addr;
    void *a = dlsym(RTLD_DEFAULT, name);
    if (!a) {
        pthread_once(&libmvec_once, open_libmvec);
        a = libmvec ? dlsym(libmvec, name) : NULL;
    }
    return a;
}

long loops_orc_count(void) { return atomic_load(&orc_count); }

static ug_status bind_runtime(ug_error *err)
{
    LLVMOrcCSymbolMapPair pairs[NRT];
    for (int k = 0; k < NRT; k++) {
        pairs[k].Name = LLVMOrcLLJITMangleAndIntern(jit, rt[k].name);
        pairs[k].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)rt[k].addr;
        pairs[k].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
        pairs[k].Sym.Flags.TargetFlags = 0;
    }
    /* the materialization unit takes over the names' references; Define takes the unit */
    LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, NRT);
    LLVMErrorRef e = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(jit), mu);
    return e ? jit_err(err, e, "binding runtime symbols for", "rt_*") : UG_OK;
}

static ug_status add_generators(ug_error *err)
{
    LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(jit);
    char gp = LLVMOrcLLJITGetGlobalPrefix(jit);
    LLVMOrcDefinitionGeneratorRef gen;
    LLVMErrorRef e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, gp, NULL, NULL);
    if (e)
        return jit_err(err, e, "creating the process symbol generator for", "libm");
    LLVMOrcJITDylibAddGenerator(jd, gen); /* the dylib owns gen */
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForPath(&gen, "libmvec.so.1", gp, NULL, NULL);
    if (e) /* no libmvec: vector variants stay unresolved only if the code calls them */
        LLVMConsumeError(e);
    else
        LLVMOrcJITDylibAddGenerator(jd, gen);
    return UG_OK;
}

/* Create the LLJIT (caller holds jit_mu). */
static ug_status jit_init(ug_error *err)
{
    if (jit)
        return UG_OK;
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&jit, b); /* consumes b */
    if (e) {
        jit = NULL;
        return jit_err(err, e, "creating", "LLJIT");
    }
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(jit), report, NULL);
    ug_status st = bind_runtime(err);
    if (!st)
        st = add_generators(err);
    if (st) {
        LLVMConsumeError(LLVMOrcDisposeLLJIT(jit));
        jit = NULL;
    }
    return st;
}

static loops_code *find_loaded(const char *symbol)
{
    for (loops_code *c = loaded; c; c = c->next)
        if (!strcmp(c->symbol, symbol))
            return c;
    return NULL;
}

/* Add obj under a new tracker and resolve symbol (caller holds jit_mu). */
static ug_status add_object(const void *obj, size_t size, const char *symbol, loops_code *c, ug_error *err)
{
    LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(jit);
    c->rt = LLVMOrcJITDylibCreateResourceTracker(jd);
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, size, symbol);
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(jit, c->rt, buf); /* takes buf, also on error */
    if (e)
        return jit_err(err, e, "adding the object of", symbol);
    LLVMOrcExecutorAddress addr = 0;
    e = LLVMOrcLLJITLookup(jit, &addr, symbol);
    if (e)
        return jit_err(err, e, "looking up", symbol);
    if (!addr)
        return base_err_set(err, UG_EJIT, "JIT: symbol '%s' resolved to a null address", symbol);
    c->fn = (ug_loop_fn)(uintptr_t)addr;
    return UG_OK;
}

static void drop_tracker(loops_code *c)
{
    if (!c->rt)
        return;
    LLVMErrorRef e = LLVMOrcResourceTrackerRemove(c->rt);
    if (e)
        LLVMConsumeError(e); /* nothing to report to: the code is gone either way */
    LLVMOrcReleaseResourceTracker(c->rt);
    c->rt = NULL;
}

/* link.c first; ORC for what it declines (caller holds jit_mu). */
static ug_status link_or_jit(const void *obj, size_t size, const char *symbol, loops_code *c, ug_error *err)
{
    char why[160];
    void *fn;
    if (loops_link(obj, size, symbol, loops_resolve, &c->linked, &fn, why, sizeof why)) {
        c->fn = (ug_loop_fn)(uintptr_t)fn;
        return UG_OK;
    }
    if (base_env_dump("time"))
        fprintf(stderr, "ufuncgen: %s goes to ORC: %s\n", symbol, why);
    atomic_fetch_add(&orc_count, 1);
    ug_status st = jit_init(err);
    return st ? st : add_object(obj, size, symbol, c, err);
}

static ug_status load_locked(const void *obj, size_t size, const char *symbol, loops_code **code, ug_error *err)
{
    ug_status st;
    loops_code *c = find_loaded(symbol);
    if (c) {
        c->refs++;
        *code = c;
        return UG_OK;
    }
    if (!(c = calloc(1, sizeof *c)) || !(c->symbol = strdup(symbol))) {
        free(c);
        return base_err_set(err, UG_ENOMEM, "out of memory loading '%s'", symbol);
    }
    session_msg[0] = 0;
    if ((st = link_or_jit(obj, size, symbol, c, err))) {
        drop_tracker(c);
        free(c->symbol);
        free(c);
        return st;
    }
    c->refs = 1;
    c->next = loaded;
    loaded = c;
    *code = c;
    return UG_OK;
}

ug_status loops_load(const void *obj, size_t size, const char *symbol, loops_code **code, ug_loop_fn *fn,
                     ug_error *err)
{
    *code = NULL;
    *fn = NULL;
    if (!obj || !size || !symbol)
        return base_err_set(err, UG_EJIT, "JIT: empty object or symbol");
    loops_enter();
    pthread_mutex_lock(&jit_mu);
    ug_status st = load_locked(obj, size, symbol, code, err);
    if (!st)
        *fn = (*code)->fn;
    pthread_mutex_unlock(&jit_mu);
    loops_leave();
    return st;
}

void loops_unload(loops_code *code)
{
    if (!code)
        return;
    loops_enter();
    pthread_mutex_lock(&jit_mu);
    if (--code->refs == 0) {
        loops_code **pp = &loaded;
        while (*pp && *pp != code)
            pp = &(*pp)->next;
        if (*pp)
            *pp = code->next;
        drop_tracker(code);
        loops_unlink(&code->linked);
        free(code->symbol);
        free(code);
    }
    pthread_mutex_unlock(&jit_mu);
    loops_leave();
}
