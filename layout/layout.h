/* layout.h — internal header of layout/: gufunc layout strings, core-dimension
 * binding, broadcasting, and the native N-d strided executor.
 *
 *   parse.c    layout string → layout_sig                     layout_parse
 *   exec.c     operands + sig + loop → results                 layout_execute
 *              (bind core dims, broadcast loop dims, allocate outputs, cast
 *               inputs/outputs, copy overlapping inputs, coalesce and order
 *               dims, run the 1-d loop over the outer iteration space)
 */
#ifndef UG_LAYOUT_H
#define UG_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "ufuncgen/ufuncgen.h"

/* ======================================================================
 * parse.c
 * ====================================================================== */

/* A parsed layout. Operands are numbered inputs first, then outputs. Core
 * dimensions are numbered by distinct name in order of first appearance
 * (NumPy's numbering), which is the order of dimensions[1..] in the loop ABI. */
typedef struct layout_sig {
    int nin, nout;
    int ndims;              /* distinct core dimensions */
    char **dim_name;        /* ndims names ("n"; a frozen dim's name is its digits, e.g. "3") */
    int64_t *dim_frozen;    /* ndims: fixed size, or -1 for a named dim */
    bool *dim_flexible;     /* ndims: declared with '?' */
    int *op_ncore;          /* nin+nout: number of core dims of each operand */
    int **op_dims;          /* nin+nout arrays of op_ncore[k] indices into the distinct dims */
    int ncore_total;        /* sum of op_ncore */
    char *text;             /* canonical form: no spaces, e.g. "(n),(n)->()" */
    bool scalar;            /* every operand has () (a plain ufunc) */
} layout_sig;

/* Parse NumPy's gufunc signature grammar, with NumPy's acceptances and
 * rejections (numpy/_core/src/umath/ufunc_object.c _parse_signature).
 * Errors: UG_ELAYOUT with err->column (1-based) at the offending character and
 * a message that names it. */
ug_status layout_parse(const char *s, layout_sig **out /* OUT */, ug_error *err);
/* The layout of a scalar ufunc: nin+nout operands, all "()". NULL on OOM. */
layout_sig *layout_scalar(int nin, int nout);
void layout_free(layout_sig *sig); /* accepts NULL */

/* ======================================================================
 * exec.c
 * ====================================================================== */

/* How to run the outer iteration space. The executor calls run(ctx, ...) with
 * a 1-d loop invocation; the parallel driver provides a threaded one. */
typedef struct layout_loop {
    ug_loop_fn fn;          /* the compiled inner loop (NumPy ABI) */
    void *data;             /* passed to fn */
    int nthreads;           /* <= 1: serial; else split via parallel/ (par_for) */
    const char *kname;      /* ufunc name, for messages */
    /* Optional, with nthreads > 1: the same loop behind parallel/'s driver
     * (par_loop_fn or a wrapper of it), which splits dimensions[0] itself
     * and keeps its measured costs across calls. A call that coalesces to
     * one loop dimension makes one call of it; without it, such a call goes
     * through the driver with costs learned anew each call. */
    ug_loop_fn par_fn;
    void *par_data;
    bool operands_checked;  /* the caller ran layout_check_operand on every operand (ug_call does) */
} layout_loop;

/* The one check of an operand descriptor, for every entry point (the
 * executor, ufunc.c's loop calls): ndim in 0..UG_MAXDIMS, a valid dtype,
 * no negative extent, data unless the operand is empty. An output k >= nin
 * flagged UG_OPERAND_ALLOCATE only needs a valid dtype or UG_DTYPE_NONE.
 * Messages: "<name>: input 0 has ...". Errors: UG_EINVAL, UG_EDTYPE, UG_ESHAPE. */
ug_status layout_check_operand(const ug_operand *op, int k, int nin, const char *name, ug_error *err);

/* Execute one call. ops: nin inputs then nout outputs (nops must equal
 * nin + nout; the caller checked). loop_types: the dtypes of the selected
 * loop (nin + nout). Inputs of another dtype are cast to the loop's dtype
 * (the caller checked safe casting); outputs of another dtype receive a
 * same_kind cast (UG_EDTYPE if not allowed). Outputs with
 * UG_OPERAND_ALLOCATE are allocated (ug_free) with the broadcast loop shape
 * followed by their core dims, C order; their shape/strides/ndim/data are set.
 * Errors: UG_ESHAPE (names the dimension, both operands and sizes),
 * UG_EDTYPE, UG_EOVERLAP, UG_ENOMEM, UG_EINDEX (a loop recorded a
 * boundscheck failure; collected with rt_take_error). */
ug_status layout_execute(const layout_sig *sig, ug_operand *ops, int nops, const ug_dtype *loop_types,
                         const layout_loop *loop, ug_error *err);

#endif /* UG_LAYOUT_H */
