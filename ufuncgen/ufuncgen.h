/* ufuncgen.h — the public C API of ufuncgen, and its manual.
 *
 * ufuncgen turns small kernels, written once in a typed subset of Python,
 * into NumPy-style universal functions: one LLVM-compiled inner loop per
 * dtype signature, wrapped with broadcasting, strided iteration, optional
 * multi-threading and an on-disk cache of the machine code.
 *
 *     ug_context *ctx = ug_context_new(NULL);
 *     const char *sigs[] = {"float64(float64)", "f->f"};
 *     ug_ufunc *f;
 *     if (ug_vectorize(ctx, "def sig(x):\n    return 1/(1+exp(-x))\n",
 *                      sigs, 2, NULL, &f) != UG_OK)
 *         fprintf(stderr, "%s\n", ug_errmsg(ctx));
 *     ug_operand ops[2];
 *     ug_operand_init(&ops[0], x, UG_FLOAT64, 1, (int64_t[]){n}, NULL);
 *     ug_operand_init(&ops[1], y, UG_FLOAT64, 1, (int64_t[]){n}, NULL);
 *     ug_call(f, ops, 2, NULL);
 *     ug_ufunc_free(f);
 *     ug_context_free(ctx);
 *
 * Conventions of this API:
 * - Every handle is opaque. A constructor names its destructor; every
 *   destructor accepts NULL.
 * - Fallible calls return a ug_status. The message (and, for errors in
 *   kernel source or in a layout/signature string, the line and column) is
 *   kept on the context until the next fallible call on that context from
 *   the same thread, or written to a caller-supplied ug_error.
 * - Output pointers are marked OUT; they are set on entry (to NULL/0), so
 *   they are defined on failure too.
 * - The library never calls exit() and never prints, except the single
 *   warnings documented below (cache directory, environment variables).
 */
#ifndef UFUNCGEN_H
#define UFUNCGEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(UFUNCGEN_BUILDING)
#define UG_API __attribute__((visibility("default")))
#else
#define UG_API
#endif

#define UG_VERSION_MAJOR 0
#define UG_VERSION_MINOR 1
#define UG_VERSION_PATCH 0
#define UG_VERSION_STRING "0.1.0"

/* Most dimensions an operand may have (NumPy 2's NPY_MAXDIMS). */
#define UG_MAXDIMS 64
/* Most operands (inputs + outputs) of one ufunc (NumPy's NPY_MAXARGS). */
#define UG_MAXARGS 64
/* Most threads a count may ask for (ug_options.num_threads, ug_config.num_threads,
 * ug_context_set_num_threads, UFUNCGEN_NUM_THREADS). */
#define UG_MAX_THREADS 4096

/* ------------------------------------------------------------------ status */

typedef enum ug_status {
    UG_OK = 0,        /* success */
    UG_ENOMEM,        /* an allocation failed */
    UG_EINVAL,        /* a bad argument to an API call (NULL handle, bad count, bad option) */
    UG_ESYNTAX,       /* kernel source does not parse (line/column set) */
    UG_ENAME,         /* kernel source uses an unknown name or a missing kernel (line/column set) */
    UG_ETYPE,         /* kernel source does not type-check for a signature (line/column set) */
    UG_ESIGNATURE,    /* a dtype signature string is malformed or does not fit the kernel (column set) */
    UG_ELAYOUT,       /* a layout string is malformed (column set) */
    UG_EOPERANDS,     /* wrong number of operands in a call */
    UG_ESHAPE,        /* operand shapes do not broadcast or core dimensions do not bind */
    UG_EDTYPE,        /* an operand dtype has no loop and cannot be cast safely to one */
    UG_EOVERLAP,      /* an operand layout the library refuses (e.g. an output that overlaps itself) */
    UG_EINDEX,        /* boundscheck: a kernel indexed an array out of range */
    UG_EJIT,          /* LLVM failed to compile or load a loop (internal; message has details) */
    UG_EIO,           /* a file could not be read or written (tools; the cache degrades silently) */
    UG_EUNSUPPORTED,  /* a valid request that this version does not implement (message says what) */
    UG_ERAISE         /* a kernel stopped the call: raise, assert, a bad local array size, a zero
                         range or slice step; the message starts with the Python exception class
                         ("ValueError: ...") and names the kernel and line */
} ug_status;

/* A short constant name for a status ("UG_ESYNTAX"). Never NULL. */
UG_API const char *ug_status_name(ug_status s);

/* An error record a caller may own, for calls made from several threads. */
typedef struct ug_error {
    ug_status code;
    int line;        /* 1-based line in the kernel source, or -1 */
    int column;      /* 1-based column in the source / signature / layout string, or -1 */
    char msg[2048];  /* full message, with source line and caret where there is one */
} ug_error;

/* ------------------------------------------------------------------ dtypes */

/* Element types. The order is NumPy's type-number order for these types
 * (NPY_BOOL 0 ... NPY_DOUBLE 12, NPY_CFLOAT 14, NPY_CDOUBLE 15, NPY_HALF 23),
 * and a type added later is appended, so the values of the older ones never
 * change. Complex types are laid out as C's float _Complex / double _Complex
 * (real part first); float16 is IEEE 754 binary16 (NumPy's npy_half). */
typedef enum ug_dtype {
    UG_BOOL = 0,
    UG_INT8,
    UG_UINT8,
    UG_INT16,
    UG_UINT16,
    UG_INT32,
    UG_UINT32,
    UG_INT64,
    UG_UINT64,
    UG_FLOAT32,
    UG_FLOAT64,
    UG_COMPLEX64,   /* float _Complex */
    UG_COMPLEX128,  /* double _Complex */
    UG_FLOAT16,     /* IEEE binary16, computed in float32 by kernels */
    UG_NDTYPES,
    UG_DTYPE_NONE = -1
} ug_dtype;

/* The canonical name ("float64"), or "invalid". Never NULL. */
UG_API const char *ug_dtype_name(ug_dtype t);
/* Size of one element in bytes, or 0 for an invalid dtype. */
UG_API size_t ug_dtype_size(ug_dtype t);
/* Parse a dtype name in any accepted spelling ("float64", "f8", "d", "double",
 * "np.float64", "complex128", "c16", "D", "complex64", "c8", "F", "float16",
 * "f2", "e", ...). Returns UG_DTYPE_NONE if unknown. */
UG_API ug_dtype ug_dtype_from_name(const char *name);
/* NumPy's can_cast(from, to, "safe") for these dtypes: 1 or 0. */
UG_API int ug_can_cast_safe(ug_dtype from, ug_dtype to);
/* NumPy's can_cast(from, to, "same_kind"): 1 or 0. */
UG_API int ug_can_cast_same_kind(ug_dtype from, ug_dtype to);
/* NumPy's promote_types(a, b) (for the dtypes above), or UG_DTYPE_NONE. */
UG_API ug_dtype ug_promote(ug_dtype a, ug_dtype b);

/* ------------------------------------------------------------------ context */

typedef struct ug_context ug_context;

/* Context configuration. Always fill it with ug_config_init first; the
 * context copies it, so the caller may free its strings after creation. */
typedef struct ug_config {
    const char *cache_dir; /* cache directory; NULL: UFUNCGEN_CACHE_DIR, then $XDG_CACHE_HOME/ufuncgen, then ~/.cache/ufuncgen */
    int num_threads;       /* threads for target=parallel, 0..UG_MAX_THREADS; 0: UFUNCGEN_NUM_THREADS, then OpenMP's default */
    int opt_level;         /* 0, 1, 3: LLVM's pipeline default<On>; 2 (the default): default<O2> for
                            * gufunc kernels, and for scalar kernels a leaner pipeline that gives
                            * the same vector loops as O2/O3 in 3/4 of O2's time */
    int debug_cache;       /* 1: report cache activity on stderr (also UFUNCGEN_DEBUG_CACHE=1) */
    int defer;             /* the default of ug_options.defer for this context's ufuncs: 1 defer,
                              -1 never, 0 UFUNCGEN_LAZY */
} ug_config;

/* Fill *cfg with the defaults. */
UG_API void ug_config_init(ug_config *cfg);

/* fork(): safe at any time, also while other threads are inside ufuncgen
 * (compiling, loading, calling). fork() waits until compiles and loads in
 * flight finish, so the child starts with every lock free; the child may
 * compile and call as usual. target=parallel ufuncs run serially in a child
 * forked by a thread that had made parallel calls (OpenMP's thread pool of
 * that thread does not survive fork: libgomp would hang in the child's next
 * parallel region); a process that wants threads there should start with
 * exec, as multiprocessing's "spawn" and "forkserver" do. */

/* Create a context from *cfg (NULL: defaults). Returns NULL only when out of
 * memory. A field out of range (num_threads outside 0..UG_MAX_THREADS, opt_level
 * outside 0..3) is not clamped: every ug_vectorize / ug_guvectorize on the
 * context then fails with UG_EINVAL naming the field and its value. Free
 * with ug_context_free. A context may be used from several threads; ufuncs
 * created from it must be freed before it. */
UG_API ug_context *ug_context_new(const ug_config *cfg);
/* Free a context. Accepts NULL. */
UG_API void ug_context_free(ug_context *ctx);

/* The last error on this context from the calling thread: message ("" if none),
 * status, source line and column (-1 where none). Every fallible call that
 * has a context (ctx, or the ufunc's) sets or clears it, also when it fails
 * on a NULL argument; only a call without one (ctx == NULL, f == NULL)
 * returns UG_EINVAL and leaves it alone. The message is valid UTF-8 and
 * columns count code points. The string lives until the next fallible call
 * on ctx from this thread. */
UG_API const char *ug_errmsg(const ug_context *ctx);
UG_API ug_status ug_errcode(const ug_context *ctx);
UG_API int ug_errline(const ug_context *ctx);
UG_API int ug_errcolumn(const ug_context *ctx);

/* Set the default thread count of target=parallel ufuncs made from ctx
 * (0 = back to UFUNCGEN_NUM_THREADS / OpenMP default); it applies from the
 * next call of each of them, including ufuncs made before, except those
 * with their own ug_options.num_threads. UG_EINVAL, with a message naming
 * n, if n < 0 or n > UG_MAX_THREADS. */
UG_API ug_status ug_context_set_num_threads(ug_context *ctx, int n);
/* Threads a target=parallel ufunc made from ctx (without its own
 * num_threads) uses now: the count set above, else the default below. */
UG_API int ug_context_num_threads(const ug_context *ctx);
/* The default thread count: UFUNCGEN_NUM_THREADS, else OpenMP's
 * (omp_get_max_threads, which honours OMP_NUM_THREADS). Always >= 1. */
UG_API int ug_default_num_threads(void);

/* ------------------------------------------------------------------ ufuncs */

typedef struct ug_ufunc ug_ufunc;

typedef enum ug_target {
    UG_TARGET_CPU = 0,     /* one thread */
    UG_TARGET_PARALLEL = 1 /* split the outer loop across OpenMP threads */
} ug_target;

/* Identity of a ufunc (for reduce with empty input). */
typedef enum ug_identity {
    UG_IDENTITY_NONE = 0, /* no identity (reduce of empty raises) */
    UG_IDENTITY_ZERO,
    UG_IDENTITY_ONE,
    UG_IDENTITY_MINUS_ONE,
    UG_IDENTITY_REORDERABLE /* NumPy's "reorderable": no identity, but reorderable */
} ug_identity;

/* Fast-math flags for ug_options.fastmath (LLVM's, which Numba's flag sets name). */
enum {
    UG_FASTMATH_ALL = 1,            /* every flag below */
    UG_FASTMATH_REASSOC = 1 << 1,   /* 'reassoc': reassociate (vectorised reductions) */
    UG_FASTMATH_NNAN = 1 << 2,      /* 'nnan': assume no NaN */
    UG_FASTMATH_NINF = 1 << 3,      /* 'ninf': assume no infinity */
    UG_FASTMATH_NSZ = 1 << 4,       /* 'nsz': ignore the sign of zero */
    UG_FASTMATH_ARCP = 1 << 5,      /* 'arcp': x / y as x * (1 / y) */
    UG_FASTMATH_CONTRACT = 1 << 6,  /* 'contract': fuse a * b + c into an FMA */
    UG_FASTMATH_AFN = 1 << 7        /* 'afn': approximate math functions */
};

/* Math functions (exp, sin, tanh, ...) for ug_options.math. */
typedef enum ug_math {
    UG_MATH_FAST = 0, /* glibc's libmvec vector routines in vector and scalar code: within a few
                         ulp (the README's table, checked by a test), not always NumPy's bits */
    UG_MATH_LIBM      /* glibc's scalar libm, one call per element: NumPy's results bit for bit
                         wherever NumPy calls libm (float64 sin, cos, exp, log, tanh, ...);
                         sqrt, fabs, floor, ** and arithmetic stay vectorised (same bits) */
} ug_math;

/* Options of one ufunc. Fill with ug_options_init; the ufunc copies them. */
typedef struct ug_options {
    const char *kernel;   /* which def in the source is the kernel; NULL: the only or the last def */
    const char *name;     /* the ufunc's name; NULL: the kernel's name */
    const char *doc;      /* docstring for NumPy; NULL: the kernel's docstring if any */
    ug_target target;     /* default UG_TARGET_CPU */
    int cache;            /* 1: keep compiled loops on disk */
    int fastmath;         /* 0: none; 1: all of the flags below; else an OR of UG_FASTMATH_* flags */
    int boundscheck;      /* 1: out-of-range array indexing fails with UG_EINDEX */
    ug_identity identity; /* default UG_IDENTITY_NONE */
    int num_threads;      /* threads for this ufunc, 0..UG_MAX_THREADS (0: the context's setting; else UG_EINVAL naming it) */
    const char *locals;   /* fixed types of the kernel's locals, Numba's locals=: "s:float64,n:int32"
                             (a value assigned is converted to that type); NULL: none. A name that is
                             not a local of the kernel, or an unknown dtype, is UG_ETYPE */
    ug_math math;         /* default UG_MATH_FAST; x ** y with a float y is glibc's pow (correctly
                             rounded in practice) in both, unless fastmath */
    /* When the signatures' loops are made. The signatures of one ufunc always
     * compile (or load from the cache) concurrently, on the compile pool (one
     * thread per core, shared by the process), into the same machine code as
     * one after another. */
    int background;       /* 0 (default): creation returns when every loop is ready, with the
                             first failure (in signature order). 1: creation returns once each
                             signature is type-checked (or found in the cache) and its loop is
                             queued; a call of that loop waits for it, and what only compiling
                             can find (UG_EUNSUPPORTED, UG_EJIT, UG_ENOMEM) is reported then, by
                             the call (ug_call's status; through ug_ufunc_loop's pointers, as a
                             loop error: ug_take_loop_error). Type errors stay creation's. */
    int defer;            /* 1: nothing is typed or compiled at creation: each signature's loop at
                             its first use (its errors then, as with background); loop order stays
                             the signatures' order. -1: never deferred. 0: the context's setting
                             (ug_config.defer), else the UFUNCGEN_LAZY variable (1: defer). */
} ug_options;

UG_API void ug_options_init(ug_options *opts);

/* Create a scalar ufunc (NumPy's vectorize) from kernel source.
 * sigs: nsigs dtype signatures, each "float64(float64, float64)", "f8(f8,f8)",
 *   "dd->d", "f8,f8->f8" or "float64,float64->float64"; compiled now, in order
 *   (which is also loop-selection order). nsigs == 0: lazy; a loop is compiled
 *   for each new combination of input dtypes at the first call that needs it.
 * opts: NULL for defaults.
 * On success *out is a new ufunc, freed with ug_ufunc_free.
 * Errors: UG_ESYNTAX, UG_ENAME, UG_ETYPE (with line/column), UG_ESIGNATURE,
 *   UG_EINVAL, UG_EJIT, UG_ENOMEM. */
UG_API ug_status ug_vectorize(ug_context *ctx, const char *src, const char *const *sigs, int nsigs,
                              const ug_options *opts, ug_ufunc **out /* OUT */);

/* Create a generalized ufunc (NumPy's gufunc, Numba's guvectorize).
 * layout: NumPy's gufunc signature, e.g. "(n),(n)->()" or "(m,n),(n,p)->(m,p)".
 * sigs: as for ug_vectorize, listing inputs then outputs; array arguments may
 *   be written "float64[:]" / "float64[:,:]" or just "float64" / "f8"
 *   ("void(float64[:], float64[:], float64[:])", "dd->d", "f8,f8->f8").
 *   nsigs == 0 is accepted only if output dtypes can be inferred (they are
 *   taken as the promotion of the input dtypes). An input with layout "()"
 *   is a scalar in the kernel, unless the signature gives it an array type
 *   ("void(f8[:], f8[:], f8[:])" with "(n),()->(n)"): then, as in Numba, the
 *   kernel gets a 1-element array (n[0]), as "()" outputs always are.
 * Core-shape variants: a call is large with at least 65536 outer
 *   iterations, or at least 2**22 of work (outer iterations times the size
 *   of every core dimension: 10K series of 1000, a 500x500x8 pdist). The
 *   second large call with a given core shape (sizes and strides) compiles
 *   (once, 10-40 ms; stored in the cache when opts->cache) a variant of its
 *   loop with that shape as constants, which LLVM unrolls and vectorises (a
 *   4x4 matmul runs ~2-3x faster); a first large call runs the generic loop,
 *   or the variant if the cache has it. Later calls with that core shape
 *   use it at any size.
 * Step variants: a call of at least 2**19 work that no core-shape variant
 *   serves compiles, at the second such call with the same core strides, a
 *   variant with only the strides as constants: it serves every core size
 *   with those strides (a reduction over contiguous lines loads vectors
 *   instead of gathering: numbagg's nancount ~4x faster on 1e6 values).
 *   At most 6 variants of both kinds per loop; none with fastmath or
 *   UFUNCGEN_SPECIALIZE=0. Results are identical either way.
 * Errors as ug_vectorize, plus UG_ELAYOUT (with column). */
UG_API ug_status ug_guvectorize(ug_context *ctx, const char *src, const char *layout, const char *const *sigs,
                                int nsigs, const ug_options *opts, ug_ufunc **out /* OUT */);

/* Free a ufunc and release its JIT code. Accepts NULL. */
UG_API void ug_ufunc_free(ug_ufunc *f);

/* Introspection. Strings live as long as the ufunc. */
UG_API const char *ug_ufunc_name(const ug_ufunc *f);
UG_API const char *ug_ufunc_doc(const ug_ufunc *f);
UG_API int ug_ufunc_nin(const ug_ufunc *f);
UG_API int ug_ufunc_nout(const ug_ufunc *f);
/* 1 if the kernel stores into input k (directly, through a view of it or a
 * helper): such inputs are read-write operands (the NumPy bridge marks
 * them so, as Numba's writable_args does), and a gufunc may have no
 * outputs at all ("(a),(a),(z)"). 0 otherwise, also for a bad k or NULL. */
UG_API int ug_ufunc_writes_input(const ug_ufunc *f, int k);
/* The layout string ("(n),(n)->()"), or NULL for a scalar ufunc. */
UG_API const char *ug_ufunc_layout(const ug_ufunc *f);
UG_API ug_identity ug_ufunc_identity(const ug_ufunc *f);
UG_API ug_target ug_ufunc_target(const ug_ufunc *f);
/* Number of compiled loops (grows for lazy ufuncs). */
UG_API int ug_ufunc_nloops(const ug_ufunc *f);
/* The dtypes of loop i: nin + nout entries written to types. UG_EINVAL (message
 * on f's context) if i is out of range or types is NULL; types (if not NULL)
 * then holds nin + nout UG_DTYPE_NONE. */
UG_API ug_status ug_ufunc_loop_types(const ug_ufunc *f, int i, ug_dtype *types /* OUT: nin+nout */);

/* NumPy's inner-loop ABI. dimensions[0] is the outer count, then one entry per
 * distinct core dimension; steps holds one outer byte stride per operand,
 * then each operand's core byte strides. */
typedef void (*ug_loop_fn)(char **args, const intptr_t *dimensions, const intptr_t *steps, void *data);

/* The machine code of loop i (for target=parallel, a driver that splits the
 * outer dimension across threads) and the data pointer to pass with it.
 * The pointers live as long as the ufunc. UG_EINVAL (message on f's
 * context) if i is out of range or a pointer is NULL. */
UG_API ug_status ug_ufunc_loop(const ug_ufunc *f, int i, ug_loop_fn *fn /* OUT */, void **data /* OUT */);

/* Find the loop for these input dtypes (exact match first, then the first
 * loop all inputs cast to safely; lazy ufuncs compile a new loop). Writes the
 * loop index (-1 on failure). err: NULL to keep the error on f's context,
 * else written there. Errors:
 *   UG_EINVAL   f, in_types or loop is NULL;
 *   UG_EDTYPE   an input dtype is not a ug_dtype, or no loop fits (the
 *               message lists the loops that exist);
 *   and, when a lazy ufunc compiles a loop for new dtypes, what compiling
 *   one signature can return: UG_ETYPE and UG_ENAME (the kernel does not
 *   type-check for these dtypes; positioned message), UG_EUNSUPPORTED (a
 *   construct lowering does not handle, or the ufunc has 256 loops),
 *   UG_EJIT, UG_ENOMEM. */
UG_API ug_status ug_ufunc_resolve(ug_ufunc *f, const ug_dtype *in_types, int *loop /* OUT */, ug_error *err);

/* Compile one more loop for a dtype signature (any spelling ug_vectorize
 * accepts, outputs included), whether the ufunc is lazy or not; if a loop
 * with exactly these dtypes exists, that one. Writes the loop index (-1 on
 * failure). err: NULL to keep the error on f's context, else written there.
 * Safe while other threads call the ufunc. Errors as ug_vectorize's
 * for one signature (UG_ESIGNATURE, UG_ETYPE, ..., UG_EUNSUPPORTED when the
 * ufunc has 256 loops, or was compiled ahead of time: ufuncgen/aot.h). */
UG_API ug_status ug_ufunc_add(ug_ufunc *f, const char *sig, int *loop /* OUT */, ug_error *err);
/* Stop compiling loops for new input dtypes (Numba's disable_compile): from
 * now on ug_ufunc_resolve only selects among the loops that exist. */
UG_API void ug_ufunc_disable_compile(ug_ufunc *f);
/* 1 if ug_ufunc_resolve compiles a loop for new input dtypes (made without
 * signatures, and ug_ufunc_disable_compile not called), else 0. */
UG_API int ug_ufunc_is_lazy(const ug_ufunc *f);

/* Return once every loop queued in the background (ug_options.background),
 * by any ufunc of the process, is made. For tools that read one compile's
 * UFUNCGEN_DUMP output, which goes to the process's stderr. */
UG_API void ug_background_wait(void);
/* Stop background work: loops queued that no thread has started are left
 * to their first call (which then makes them), and the ones being made are
 * waited for. Call it before exit() when loops may still be queued (LLVM
 * tears its globals down at exit, under a compile that still runs); freeing
 * the ufuncs does it for theirs. */
UG_API void ug_background_stop(void);

/* After a loop ran on the calling thread: nonzero if a boundscheck failure
 * was recorded; the message is copied to err (may be NULL) and the record is
 * cleared. The native executor does this itself; it is for callers (such as
 * the NumPy bridge) that run loops directly. */
UG_API int ug_take_loop_error(ug_error *err);

/* After a loop ran on the calling thread: nonzero if a kernel's array
 * function recorded one of NumPy's RuntimeWarnings ("Mean of empty slice",
 * "All-NaN slice encountered", "Degrees of freedom <= 0 for slice"); *msg
 * (may be NULL) gets the text, valid while the ufunc lives, and the record is
 * cleared. The result stays valid; NumPy's bridge turns it into a warning. */
UG_API int ug_take_loop_warning(const char **msg);

/* ------------------------------------------------------------------ calling */

enum {
    UG_OPERAND_ALLOCATE = 1 /* output: the library allocates data (free with ug_free) and fills shape/strides */
};

/* One array argument: a pointer, a dtype, a shape and byte strides. */
typedef struct ug_operand {
    void *data;
    ug_dtype dtype;   /* for allocated outputs: UG_DTYPE_NONE lets the loop choose */
    int ndim;         /* 0 .. UG_MAXDIMS */
    int flags;        /* UG_OPERAND_* */
    int64_t shape[UG_MAXDIMS];
    int64_t strides[UG_MAXDIMS]; /* in bytes; may be negative or zero */
} ug_operand;

/* Describe an array: strides NULL means C-contiguous. */
UG_API void ug_operand_init(ug_operand *op, void *data, ug_dtype dtype, int ndim, const int64_t *shape,
                            const int64_t *strides);
/* Describe an output that the library allocates (C-contiguous, with the
 * broadcast shape). dtype UG_DTYPE_NONE: the selected loop's output dtype. */
UG_API void ug_operand_alloc(ug_operand *op, ug_dtype dtype);
/* Free memory the library allocated for an operand. Accepts NULL. */
UG_API void ug_free(void *p);

/* Apply f to nin inputs followed by nout outputs, broadcasting loop
 * dimensions by NumPy's rules. Inputs whose dtypes match no loop are cast
 * where NumPy's can_cast(..., "safe") allows; outputs of another dtype are
 * written by a "same_kind" cast. An output that overlaps an input other than
 * element-for-element is computed from a copy of that input.
 * err: NULL to keep the error on f's context, else written there.
 * Errors: UG_EOPERANDS, UG_ESHAPE, UG_EDTYPE, UG_EOVERLAP, UG_EINDEX,
 *   UG_ENOMEM, UG_EJIT (lazy compilation). */
UG_API ug_status ug_call(ug_ufunc *f, ug_operand *ops, int nops, ug_error *err);

#ifdef __cplusplus
}
#endif
#endif /* UFUNCGEN_H */
