/* gen.h — private header of loops/: the IR generator state shared by
 * the files of loops/ (lower.c, arrays.c, reduce.c, arrfn.c, cast.c, math.c,
 * inner.c, guard.c, ir.c, host.c, compile.c). It is not part of the
 * folder's contract (loops.h) because it exposes LLVM types; only files in
 * loops/ include it.
 *
 * Value representation while lowering: a scalar of dtype dt is an SSA value
 * of loops_vty(dt) (bool is i1); in memory bool is one byte (loops_mty).
 * float16 is a float (f32) value, rounded to binary16 by every operation
 * whose dtype is float16 (so a float16 value always holds a binary16
 * number) and a `half` in memory. A complex value is the struct {re, im}
 * of its part type (c64, c128), loaded and stored part by part so the
 * vectoriser sees two interleaved streams.
 * An array argument is a base pointer plus ndim shapes and ndim byte strides
 * (int64), passed to lowered functions as 1 + 2*ndim parameters.
 */
#ifndef UG_LOOPS_GEN_H
#define UG_LOOPS_GEN_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <stdbool.h>

#include "loops/loops.h"

#define LOOPS_MAX_USED 256

/* One array argument inside a lowered function. */
typedef struct loops_arr {
    LLVMValueRef base;
    int ndim;
    LLVMValueRef shape[UG_MAXDIMS];
    LLVMValueRef stride[UG_MAXDIMS];
} loops_arr;

typedef struct loops_gen {
    LLVMContextRef C;
    LLVMModuleRef M;
    LLVMBuilderRef B;
    LLVMTypeRef i1, i8, i16, i32, i64, f32, f64, ptr, vd;
    LLVMTypeRef f16, c64, c128;         /* float16 in memory; complex64/128 values {re, im} */
    const loops_request *req;
    ug_error *err;
    bool avx2, avx512;                  /* host ISA: which libmvec variants may be named */
    unsigned fmf;                       /* fast-math flags for float ops (0 unless fastmath) */
    bool errflag;                       /* functions take a trailing error-flag pointer (boundscheck,
                                           or a kernel that may fail: kernel_typed.fallible) */
    bool frames;                        /* local arrays: helpers also take the kernel's frame pointer
                                           (their arrays live until the kernel returns) */
    LLVMValueRef used[LOOPS_MAX_USED];  /* declarations kept alive via llvm.compiler.used */
    int nused;
    LLVMValueRef *fns;                  /* LLVM function of each req->tk->funcs[k] */
    struct loops_fstate *fs;            /* function being lowered (lower.c) */
} loops_gen;

/* ---- cast.c: value types ---- */
LLVMTypeRef loops_vty(loops_gen *g, ug_dtype dt); /* value type (bool: i1) */
LLVMTypeRef loops_mty(loops_gen *g, ug_dtype dt); /* memory type (bool: i8) */
/* ---- ir.c ---- */
/* Add an enum attribute by name at index (LLVMAttributeFunctionIndex, ...). */
void loops_attr(loops_gen *g, LLVMValueRef fn, int idx, const char *name);
/* Add a string attribute key=val to function fn. */
void loops_sattr(loops_gen *g, LLVMValueRef fn, const char *key, const char *val);
/* Keep a declaration alive through llvm.compiler.used. */
void loops_keep(loops_gen *g, LLVMValueRef decl);
/* An alloca in the entry block of the current function. */
LLVMValueRef loops_entry_alloca(loops_gen *g, LLVMTypeRef t, const char *name);
/* ---- math.c: fast-math flags ---- */
/* Set fast-math flags on v if any (and v is a float operation). */
LLVMValueRef loops_fm(loops_gen *g, LLVMValueRef v);

/* ---- host.c ---- */
/* This thread's host TargetMachine (PIC, aggressive codegen); NULL with err set. */
LLVMTargetMachineRef loops_host_tm(ug_error *err);
/* A new TargetMachine for t (the caller disposes it). */
LLVMTargetMachineRef loops_target_tm(const loops_target *t, ug_error *err);

/* ---- cast.c ---- */
/* v of dtype `from` converted to dtype `to` with NumPy astype('unsafe'). */
LLVMValueRef loops_emit_cast(loops_gen *g, LLVMValueRef v, ug_dtype from, ug_dtype to);
/* Truthiness (x != 0; NaN is true) as i1. */
LLVMValueRef loops_emit_truth(loops_gen *g, LLVMValueRef v, ug_dtype dt);
/* v (f32) rounded to the nearest binary16 value, kept as f32. */
LLVMValueRef loops_round16(loops_gen *g, LLVMValueRef v);
/* Complex values: the parts of z, and the value re + im*j of complex dtype dt. */
LLVMValueRef loops_re(loops_gen *g, LLVMValueRef z);
LLVMValueRef loops_im(loops_gen *g, LLVMValueRef z);
LLVMValueRef loops_complex(loops_gen *g, ug_dtype dt, LLVMValueRef re, LLVMValueRef im);
/* Load a value of dtype dt from memory at p (bool bytes become i1), store back. */
LLVMValueRef loops_load_elem(loops_gen *g, LLVMValueRef p, ug_dtype dt);
void loops_store_elem(loops_gen *g, LLVMValueRef v, LLVMValueRef p, ug_dtype dt);

/* ---- math.c ---- */
/* Binary operator op (kernel_tok) on a and b, both already of dtype dt. */
LLVMValueRef loops_emit_binop(loops_gen *g, int op, LLVMValueRef a, LLVMValueRef b, ug_dtype dt);
/* a ** e for float a of dtype dt and an integer exponent e of its own dtype
 * edt, as Numba lowers it: a constant |e| <= 65536 becomes the unrolled
 * multiplications of repeated squaring (then 1 / r for e < 0), a variable e
 * the same loop at run time; a larger |e| is pow. */
LLVMValueRef loops_emit_fpowi(loops_gen *g, LLVMValueRef a, LLVMValueRef e, ug_dtype dt, ug_dtype edt);
/* Unary operator (TK_MINUS, TK_PLUS, TK_TILDE) on v of dtype dt. */
LLVMValueRef loops_emit_unop(loops_gen *g, int op, LLVMValueRef v, ug_dtype dt);
/* Comparison (TK_LT .. TK_NE) of a and b in dtype dt, as i1. */
LLVMValueRef loops_emit_compare(loops_gen *g, int op, LLVMValueRef a, LLVMValueRef b, ug_dtype dt);
/* Builtin b (kernel_builtin) on n arguments already converted to opty dt;
 * result of dtype `rdt` (bool for predicates). NULL with err set if unsupported. */
LLVMValueRef loops_emit_builtin(loops_gen *g, int b, LLVMValueRef *args, int n, ug_dtype dt, ug_dtype rdt);

/* ---- complex.c (math.c hands complex operations over) ---- */
/* The same contracts as loops_emit_binop/unop/compare/builtin for a complex
 * dtype dt (builtin: also B_COMPLEX .. B_IMAG on a real dt). NULL for an
 * operation complex numbers do not have. */
LLVMValueRef loops_complex_binop(loops_gen *g, int op, LLVMValueRef a, LLVMValueRef b, ug_dtype dt);
LLVMValueRef loops_complex_unop(loops_gen *g, int op, LLVMValueRef v, ug_dtype dt);
LLVMValueRef loops_complex_compare(loops_gen *g, int op, LLVMValueRef a, LLVMValueRef b, ug_dtype dt);
LLVMValueRef loops_complex_builtin(loops_gen *g, int b, LLVMValueRef *args, int n, ug_dtype dt);
/* abs(z) as NumPy's scalar complex loop: libm's hypot of the parts. */
LLVMValueRef loops_complex_hypot(loops_gen *g, ug_dtype dt, LLVMValueRef z);

/* ---- lower.c ---- */
#define MAX_LOOP_DEPTH KERNEL_MAX_LOOP_DEPTH /* inference rejects deeper nesting */
typedef struct loops_fission loops_fission; /* fission.c, below */

/* Stack slots of a local holding an array view (KT_ARRAY: base, shapes,
 * strides) or a shape tuple (KT_SHAPE: shape[0..ndim-1]). */
typedef struct loops_aslot {
    LLVMValueRef base;
    LLVMValueRef shape[UG_MAXDIMS];
    LLVMValueRef stride[UG_MAXDIMS];
} loops_aslot;

/* The function being lowered. */
typedef struct loops_fstate {
    const kernel_func *f;
    LLVMValueRef fn;
    LLVMValueRef *lslot;  /* nlocals allocas of scalar locals */
    loops_aslot *aslot;   /* nlocals: slots of array and shape locals */
    LLVMValueRef *pslot;  /* nparams: allocas of scalar params (NULL for arrays) */
    loops_arr *arrs;      /* nparams: array params */
    LLVMValueRef ret_slot;
    LLVMBasicBlockRef ret_bb;
    LLVMValueRef errflag; /* g->errflag: ptr to i8, set when the call is to stop with an error */
    LLVMValueRef frame;   /* the local arrays this call allocated (rt_alloc), freed at return */
    const loops_fission *park; /* lowering a split's first loop: its store parks the local s */
    LLVMBasicBlockRef brk[MAX_LOOP_DEPTH], cont[MAX_LOOP_DEPTH];
    int depth;
} loops_fstate;

/* Helpers of lower.c that arrays.c uses. */
/* A call of a helper returning an array: its descriptor into *out. */
bool loops_helper_array(loops_gen *g, const kernel_node *n, loops_arr *out);
LLVMValueRef loops_expr(loops_gen *g, const kernel_node *n);            /* a scalar value */
LLVMValueRef loops_conv(loops_gen *g, const kernel_node *n, ug_dtype to); /* ... converted to `to` */
LLVMBasicBlockRef loops_block(loops_gen *g, const char *name);
/* Stop the call (a runtime function has recorded the error): set the error
 * flag and branch to the return block. The current block is terminated:
 * the caller positions the builder elsewhere. */
void loops_fail_here(loops_gen *g);
/* A counted loop k = 0 .. trips-1: loops_count_begin returns k; the body
 * follows; loops_count_end closes it, leaving the builder at its exit. */
typedef struct loops_counted {
    LLVMValueRef ctr;
    LLVMBasicBlockRef cond, step, exit;
} loops_counted;
LLVMValueRef loops_count_begin(loops_gen *g, loops_counted *c, LLVMValueRef trips);
void loops_count_end(loops_gen *g, loops_counted *c, LLVMMetadataRef loop_id);
/* raise cls(msg) at source line `line`: rt_raise records it, then loops_fail_here. */
void loops_raise(loops_gen *g, const char *cls, const char *msg, int line);
/* The same where cond (i1) holds; the builder continues where it does not. */
void loops_raise_if(loops_gen *g, LLVMValueRef cond, const char *cls, const char *msg, int line);
/* Call a runtime function by name (declared on first use, cold + nounwind when cold). */
LLVMValueRef loops_rt_call(loops_gen *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *ps, LLVMValueRef *args,
                           unsigned n, bool cold);
/* Index i of axis `axis` (size `size`) of the array named `what`: negative
 * indices wrap once; with boundscheck an out-of-range index stops the call. */
LLVMValueRef loops_checked_index(loops_gen *g, const char *what, int axis, LLVMValueRef i, LLVMValueRef size);
/* The same, always checked (an IndexError whatever boundscheck says: fancy indexing). */
LLVMValueRef loops_index_always(loops_gen *g, const char *what, int axis, LLVMValueRef i, LLVMValueRef size);

/* ---- arrays.c ---- */
/* The array value of n (an array argument, an array local, a view, a new
 * local array, a.flat, a.T) into *out. false with g->err set if unsupported. */
bool loops_arr_eval(loops_gen *g, const kernel_node *n, loops_arr *out);
/* The values of a shape tuple n (a.shape, a shape local, a tuple of ints). */
bool loops_shape_eval(loops_gen *g, const kernel_node *n, LLVMValueRef *vals, int *nd);
/* The slots of an array or shape local; store a value into them. */
void loops_arr_store(loops_gen *g, const loops_aslot *s, const loops_arr *v);
void loops_arr_load(loops_gen *g, const loops_aslot *s, int ndim, loops_arr *out);
/* Address of element idx[0..a->ndim-1] of a (indices already wrapped/checked). */
LLVMValueRef loops_elem_at(loops_gen *g, const loops_arr *a, LLVMValueRef *idx);
/* target[...] = value where target is a view: a fill (scalar value) or a
 * copy with NumPy's broadcasting (array value; overlap copies through a temporary). */
ug_status loops_slice_store(loops_gen *g, const kernel_node *target, const kernel_node *value);
/* target op= value where target is an array (a name or a view): in place,
 * element by element (value a scalar or broadcast array expression). */
ug_status loops_slice_augassign(loops_gen *g, const kernel_node *n);
/* Element-wise array expressions (a + 1, np.isnan(a) & m, np.where(c, x, y)):
 * evaluated element by element inside the loop of whatever consumes them.
 * loops_ew_collect evaluates the array leaves (descriptors) and the scalar
 * parts once, before the loop; loops_ew_elem gives the value at index
 * idx[0..nd-1] of the consumer's nd axes (a leaf of fewer axes is aligned
 * to the trailing ones), in n's element dtype. */
#define LOOPS_EW_MAX 32

typedef struct loops_ewise {
    const kernel_node *leaf[LOOPS_EW_MAX]; /* array leaves */
    loops_arr arr[LOOPS_EW_MAX];
    int n;
    const kernel_node *snode[LOOPS_EW_MAX]; /* scalar operands, evaluated before the loop */
    LLVMValueRef sval[LOOPS_EW_MAX];
    int ns;
} loops_ewise;
bool loops_is_ewise(const kernel_node *n);
bool loops_ew_collect(loops_gen *g, const kernel_node *n, loops_ewise *ew);
LLVMValueRef loops_ew_elem(loops_gen *g, const kernel_node *n, loops_ewise *ew, LLVMValueRef *idx, int nd);
/* The broadcast shape of n's leaves in *shape (checked; each leaf gets zero
 * strides where it repeats). */
void loops_ew_broadcast(loops_gen *g, const kernel_node *n, loops_ewise *ew, loops_arr *shape);
/* A C-contiguous copy of the array value n from its collected leaves
 * (element-wise expressions fused; the caller may have permuted axes). */
bool loops_ew_copy(loops_gen *g, const kernel_node *n, loops_ewise *ew, loops_arr *out);
/* Broadcast src to dst's shape (zero strides where src has size 1), or stop
 * the call with ValueError naming both shapes and the kernel's line. */
void loops_broadcast_check(loops_gen *g, const loops_arr *dst, loops_arr *src, int line);
/* A block for an array of shape dims[0..nd-1] in the function's frame (freed
 * at its return); a negative or too large size stops the call. */
LLVMValueRef loops_alloc_block(loops_gen *g, const LLVMValueRef *dims, int nd, ug_dtype dt, int line);
/* Nested counted loops over shape[0..nd-1]; body(idx) at the innermost. */
typedef void (*loops_nd_body)(loops_gen *g, LLVMValueRef *idx, void *ctx);
void loops_nd_loop(loops_gen *g, int nd, const LLVMValueRef *shape, loops_nd_body body, void *ctx);
/* a[mask] / a[indices] as a value (arrfn.c): a new 1-d array. */
bool loops_gather(loops_gen *g, const kernel_node *n, loops_arr *out);

/* ---- reduce.c ---- */
/* A reduction, order statistic, norm or vector dot product with a number
 * as its result (builtin >= B_SUM, .ty scalar); also np.where of numbers. */
LLVMValueRef loops_reduce(loops_gen *g, const kernel_node *n);
/* A reduction with axis= (.ival >= 0): a new array without that axis. */
bool loops_reduce_axis(loops_gen *g, const kernel_node *n, loops_arr *out);

/* ---- arrfn.c ---- */
/* An array function with an array result (sort, unique, [x, y], cumsum,
 * dot with a matrix, axis reductions ...): a new C-contiguous array. */
bool loops_arrfn_eval(loops_gen *g, const kernel_node *n, loops_arr *out);
/* Sort n contiguous elements of dtype dt at p in place (runtime/sort.c: NaN last). */
void loops_emit_sort(loops_gen *g, LLVMValueRef p, LLVMValueRef n, ug_dtype dt);
/* The statements a.sort() and a.fill(v). */
ug_status loops_arrfn_stmt(loops_gen *g, const kernel_node *n);

/* Free the local arrays of the current function (at its return). */
void loops_free_frame(loops_gen *g);
/* Declare and define one LLVM function per typed function (internal,
 * alwaysinline). The kernel's function is g->fns[0]. */
ug_status loops_lower_kernel(loops_gen *g);
/* Parameter list of a lowered function f (k-th param expands to 1 or 1+2*ndim). */
LLVMTypeRef loops_func_type(loops_gen *g, const kernel_func *f);

/* ---- fission.c ---- */
#define LOOPS_FISSION_MAXP 64
/* How to split a `for` loop in two (see fission.c for when). */
struct loops_fission {
    const kernel_node *store;          /* the body's top-level statement X[..., i + off, ...] = V */
    int s;                             /* the local V reads, parked in X by the first loop */
    int axis;                          /* X's index that moves with the loop variable */
    int64_t off;
    bool touched[LOOPS_FISSION_MAXP];  /* the other array params the body indexes */
};
/* Whether loop (N_FOR in f) is to be split; *p says how. */
bool loops_fission_plan(const kernel_func *f, const kernel_node *loop, loops_fission *p);

/* ---- guard.c ---- */
/* After optimisation: floating-point operations whose value is needed only
 * in some lanes (if-converted code: blends, masked stores) get safe operands
 * in the others, so they raise no FP flags there. No-op under fastmath. */
void loops_guard_speculated(loops_gen *g);

/* ---- inner.c ---- */
/* The external loop function req->symbol with NumPy's ABI. */
ug_status loops_emit_inner(loops_gen *g);
/* After optimisation: a scalar loop whose vector loop did not vectorise, or
 * does little work per element (no division, root or call, fewer than 10
 * vector operations per stored vector), tells runtime/strided.c to run strided
 * calls serially instead of gathering them into blocks. */
void loops_finish_inner(loops_gen *g);
/* Metadata for a loop whose memory accesses are parallel: the access group
 * to tag loads/stores with and the llvm.loop id for the latch branch. */
LLVMMetadataRef loops_access_group(loops_gen *g);
LLVMMetadataRef loops_parallel_loop_id(loops_gen *g, LLVMMetadataRef ag);
/* llvm.loop metadata of a loop not to vectorise or unroll (a recurrence:
 * trying would only cost compile time). */
LLVMMetadataRef loops_scalar_loop_id(loops_gen *g);

#endif /* UG_LOOPS_GEN_H */
