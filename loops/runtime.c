/* runtime.c — the few functions generated code calls back into.
 *
 * They are bound into the JIT as absolute symbols (jit.c), so they need no
 * dynamic export. Errors from a loop are recorded per thread: a loop has no
 * return value in NumPy's ABI, so the executor (or the NumPy bridge) takes
 * the record after the loop returns.
 */
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loops/loops.h"
#include "ufuncgen/internal.h"

static _Thread_local ug_error rt_err;
static _Thread_local int rt_has_err;

void loops_rt_index_error(const char *kname, const char *argname, int32_t axis, int64_t index, int64_t size)
{
    if (rt_has_err)
        return;
    rt_has_err = 1;
    ug_err_set(&rt_err, UG_EINDEX, "kernel '%s': index %lld is out of bounds for axis %d with size %lld of argument '%s'",
               kname ? kname : "?", (long long)index, (int)axis, (long long)size, argname ? argname : "?");
}

void loops_rt_fpe(int32_t flags) { feraiseexcept(flags); }

int loops_rt_take_error(ug_error *err)
{
    if (!rt_has_err)
        return 0;
    if (err)
        *err = rt_err;
    rt_has_err = 0;
    return 1;
}

void loops_rt_put_error(const ug_error *err)
{
    if (rt_has_err || !err)
        return;
    rt_err = *err;
    rt_has_err = 1;
}

UG_API int ug_take_loop_error(ug_error *err) { return loops_rt_take_error(err); }
