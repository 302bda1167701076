/* runtime.c — the few functions generated code calls back into.
 *
 * They are bound into the JIT as absolute symbols (jit.c), so they need no
 * dynamic export. Errors from a loop are recorded per thread: a loop has no
 * return value in NumPy's ABI, so the executor (or the NumPy bridge) takes
 * the record after the loop returns.
 */
#include <fenv.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loops/loops.h"
#include "ufuncgen/internal.h"

static _Thread_local ug_error rt_err;
static _Thread_local int rt_has_err;
/* Threads holding a recorded error: taking one is checked after every loop
 * call (NumPy bridge, executor, driver), and in a shared library each
 * _Thread_local access is a call into the dynamic linker; this lets the
 * common case (no error anywhere) skip it. A thread's own increment is
 * visible to its own later load. */
static atomic_int rt_pending;

static void record(void)
{
    rt_has_err = 1;
    atomic_fetch_add_explicit(&rt_pending, 1, memory_order_relaxed);
}

void loops_rt_index_error(const char *kname, const char *argname, int32_t axis, int64_t index, int64_t size)
{
    if (rt_has_err)
        return;
    record();
    ug_err_set(&rt_err, UG_EINDEX, "kernel '%s': index %lld is out of bounds for axis %d with size %lld of argument '%s'",
               kname ? kname : "?", (long long)index, (int)axis, (long long)size, argname ? argname : "?");
}

void loops_rt_fpe(int32_t flags) { feraiseexcept(flags); }

int loops_rt_take_error(ug_error *err)
{
    if (!atomic_load_explicit(&rt_pending, memory_order_relaxed) || !rt_has_err)
        return 0;
    if (err)
        *err = rt_err;
    rt_has_err = 0;
    atomic_fetch_sub_explicit(&rt_pending, 1, memory_order_relaxed);
    return 1;
}

void loops_rt_put_error(const ug_error *err)
{
    if (rt_has_err || !err)
        return;
    rt_err = *err;
    record();
}

UG_API int ug_take_loop_error(ug_error *err) { return loops_rt_take_error(err); }
