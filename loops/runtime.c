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
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

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

#define STREAM_BLOCK 256 /* elements per block: 2 KiB of float64, stays in L1 */

void loops_rt_stream(loops_body_fn body, char **args, const intptr_t *steps, int32_t nops, int64_t n, void *errflag)
{
#if defined(__x86_64__)
    int o = nops - 1;
    intptr_t es = o >= 0 && nops <= UG_MAXARGS ? steps[o] : 0;
    char *out = o >= 0 ? args[o] : NULL;
    int ok = es > 0 && es <= 8 && 64 % es == 0 && (uintptr_t)out % (uintptr_t)es == 0;
    for (int k = 0; ok && k < o; k++)
        ok = args[k] != out;
    if (!ok || n < STREAM_BLOCK) {
        body(args, n, errflag);
        return;
    }
    _Alignas(64) char buf[STREAM_BLOCK * 8];
    char *p[UG_MAXARGS];
    int64_t done = (int64_t)(((64 - (uintptr_t)out % 64) % 64) / (uintptr_t)es); /* head up to a 64-byte boundary */
    if (done > 0)
        body(args, done, errflag);
    for (; n - done >= STREAM_BLOCK; done += STREAM_BLOCK) {
        for (int k = 0; k < o; k++)
            p[k] = args[k] + done * steps[k];
        p[o] = buf;
        body(p, STREAM_BLOCK, errflag);
        __m128i *dst = (__m128i *)(out + done * es);
        const __m128i *src = (const __m128i *)buf;
        for (intptr_t i = 0; i < STREAM_BLOCK * es / 16; i += 4) {
            _mm_stream_si128(dst + i, _mm_load_si128(src + i));
            _mm_stream_si128(dst + i + 1, _mm_load_si128(src + i + 1));
            _mm_stream_si128(dst + i + 2, _mm_load_si128(src + i + 2));
            _mm_stream_si128(dst + i + 3, _mm_load_si128(src + i + 3));
        }
    }
    if (done < n) {
        for (int k = 0; k <= o; k++)
            p[k] = args[k] + done * steps[k];
        body(p, n - done, errflag);
    }
    _mm_sfence();
#else
    (void)steps;
    (void)nops;
    body(args, n, errflag);
#endif
}

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
