/* strided.c — the strided path of scalar loops, called from JIT code.
 *
 * A generated scalar loop (inner.c) runs its vector loop when every operand
 * has unit stride and no input partly overlaps the output. Any other call
 * comes here: this decides between the blocked path and the caller's
 * element-by-element loop, and runs the blocked path. Doing this in C, not
 * in generated IR, keeps each compiled module to one function with the
 * vector loop and the serial loop: the copy loops and overlap tests
 * generated per operand once made up about half of the compile time of a
 * signature.
 *
 * Blocked path: blocks of up to LOOPS_BLOCK elements, each a call of the loop
 * itself (desc->loop) with unit steps, so that it takes its vector loop. Per
 * operand: a unit-stride one is used in place, a zero-stride input (a
 * broadcast scalar) is copied into its buffer once, any other input is
 * gathered into its buffer per block and a strided output is scattered back.
 * Elements move as raw bytes (bool bytes pass unchanged).
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "runtime/runtime.h"

#define LOOPS_BLOCK 256
#define LOOPS_BLOCK_BYTES 16384 /* stack buffers of one call, all operands */

/* m elements of size es from src (byte stride ss) to dst (stride ds);
 * inlined with a constant es below, so each size gets its own plain loop. */
static inline void copy_n(char *dst, intptr_t ds, const char *src, intptr_t ss, int64_t m, size_t es)
{
    for (int64_t i = 0; i < m; i++)
        memcpy(dst + i * ds, src + i * ss, es);
}

static void copy_elems(char *dst, intptr_t ds, const char *src, intptr_t ss, int64_t m, int64_t es)
{
    switch (es) {
    case 8: copy_n(dst, ds, src, ss, m, 8); break;
    case 4: copy_n(dst, ds, src, ss, m, 4); break;
    case 2: copy_n(dst, ds, src, ss, m, 2); break;
    case 1: copy_n(dst, ds, src, ss, m, 1); break;
    default: copy_n(dst, ds, src, ss, m, (size_t)es);
    }
}

/* Whether input k and the output are apart, or the same elements (same
 * pointer, step and size: in place). NumPy's accumulate calls binary loops
 * with args[0] one element behind args[2]: such a call carries a dependency
 * through memory and must run element after element. */
static int no_partial_overlap(char **args, int64_t n, const intptr_t *steps, const rt_desc *d, int k)
{
    int o = d->nin;
    if (args[k] == args[o] && steps[k] == steps[o] && d->esize[k] == d->esize[o])
        return 1;
    uintptr_t lo[2], hi[2];
    int ops[2] = {k, o};
    for (int j = 0; j < 2; j++) {
        uintptr_t base = (uintptr_t)args[ops[j]];
        intptr_t span = (intptr_t)(n - 1) * steps[ops[j]];
        lo[j] = span < 0 ? base + (uintptr_t)span : base;
        hi[j] = (span < 0 ? base : base + (uintptr_t)span) + (uintptr_t)d->esize[ops[j]];
    }
    return hi[0] <= lo[1] || hi[1] <= lo[0];
}

int rt_strided(char **args, int64_t n, const intptr_t *steps, const rt_desc *d)
{
    int nin = d->nin, nops = d->nops, o = d->nin;
    assert(nops == nin + 1 && d->loop); /* runtime.h: one output, last */
    if (n <= 0)
        return 1;
    /* NumPy's reduce (the output is also an input), or a body that did not
     * vectorise or is cheap (blocks would only add copies): the caller's
     * serial loop */
    if (steps[o] == 0 || (d->flags & RT_SERIAL_STRIDED))
        return 0;
    int unit = 1;
    for (int k = 0; k < nin; k++)
        if (!no_partial_overlap(args, n, steps, d, k))
            return 0;
    for (int k = 0; k < nops; k++)
        unit &= steps[k] == d->esize[k];
    if (unit) /* the loop sends unit steps here only if they partly overlap: never block (nor recurse) */
        return 0;
    /* Buffers for the operands that are not used in place, all in one
     * aligned stack area; the block shrinks if many wide operands need one. */
    _Alignas(64) char area[LOOPS_BLOCK_BYTES];
    int64_t per_elem = 0;
    for (int k = 0; k < nops; k++)
        if (steps[k] != d->esize[k])
            per_elem += d->esize[k];
    int64_t cap = LOOPS_BLOCK;
    if (per_elem * cap > LOOPS_BLOCK_BYTES)
        cap = (LOOPS_BLOCK_BYTES / per_elem) & ~(int64_t)7;
    char *buf[UG_MAXARGS], *use[UG_MAXARGS];
    char *next = area;
    for (int k = 0; k < nops; k++) {
        buf[k] = NULL;
        if (steps[k] == d->esize[k])
            continue;
        buf[k] = next;
        next += (cap * d->esize[k] + 63) & ~(int64_t)63;
        if (k < nin && steps[k] == 0) /* broadcast: fill once */
            copy_elems(buf[k], (intptr_t)d->esize[k], args[k], 0, cap, d->esize[k]);
    }
    for (int64_t done = 0; done < n;) {
        intptr_t m = n - done < cap ? n - done : cap;
        for (int k = 0; k < nops; k++) {
            char *p = args[k] + done * steps[k];
            use[k] = buf[k] ? buf[k] : p;
            if (k < nin && buf[k] && steps[k] != 0)
                copy_elems(buf[k], (intptr_t)d->esize[k], p, steps[k], m, d->esize[k]);
        }
        d->loop(use, &m, d->esize, NULL);
        if (buf[o])
            copy_elems(args[o] + done * steps[o], steps[o], buf[o], (intptr_t)d->esize[o], m, d->esize[o]);
        done += m;
    }
    return 1;
}
