/* aot.h — ahead-of-time builds: kernels compiled when a package is built,
 * loaded with no compiler in the process.
 *
 * Two halves:
 * - Building (libufuncgen only: it needs LLVM): ug_aot_* compile kernels for
 *   one or several CPU levels into an archive of loops, and write the C that
 *   registers them. The `ufuncgen-aot` program and `python -m ufuncgen.aot`
 *   are front ends of these calls.
 * - Loading (also in libufuncgen_runtime.a, which has no LLVM): what that
 *   generated C calls. ug_prebuilt_pick chooses the CPU level once;
 *   ug_prebuilt_ufunc makes a ug_ufunc from loops, the same object the JIT
 *   makes (ug_call, ug_ufunc_loop, the NumPy bridge), minus compiling.
 *
 * A kernel description (the input of ug_aot_add_spec and ufuncgen-aot):
 * one directive per line, '#' starts a comment line.
 *
 *     kernel sigmoid                 # starts a kernel; the ufunc's name
 *     def sigmoid                    # which def is the kernel (default: the only or last)
 *     layout (n),()->(n)             # a gufunc's layout (none: a scalar kernel)
 *     signature f8->f8               # one per line, any spelling ug_vectorize takes;
 *                                    # none: compiled at first use (needs libufuncgen)
 *     target parallel                # cpu | parallel
 *     fastmath 1 | boundscheck 1 | math libm | identity zero | num_threads 4
 *     locals s:float64 | doc text    # as ug_options
 *     source-file kernels/sig.py     # the kernel source, a file (relative to the description)
 *     source                         # or inline: every line up to a line "end"
 *     def sigmoid(x):
 *         return 1 / (1 + exp(-x))
 *     end
 */
#ifndef UFUNCGEN_AOT_H
#define UFUNCGEN_AOT_H

#include "ufuncgen/ufuncgen.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ building */

typedef struct ug_aot ug_aot;

/* A new build of module `module` (a C identifier: it prefixes every
 * generated name) on ctx (its opt_level applies). UG_EINVAL for a bad name. */
UG_API ug_status ug_aot_new(ug_context *ctx, const char *module, ug_aot **out /* OUT */);
UG_API void ug_aot_free(ug_aot *a);

/* Add the kernels of a description (above). path names it in messages and
 * anchors source-file (may be NULL: the working directory). Every kernel is
 * parsed and type-checked for each signature now: errors are the
 * kernel's positioned ones, prefixed with "path:line: kernel 'name': ".
 * UG_EINVAL for a malformed description, with its line. */
UG_API ug_status ug_aot_add_spec(ug_aot *a, const char *text, const char *path);

/* Compile every loop for each CPU level (1 to 8 of "host", "x86-64-v2",
 * "x86-64-v3", "x86-64-v4", in any order: the module tries them best
 * first, the host ranking just above the highest x86-64 level it reaches)
 * and write into dir:
 *   <module>_loops.a   an archive of the loops (one object per loop and level)
 *   <module>.h         one constructor per kernel: ug_ufunc *<module>_<kernel>(ug_context *)
 *                      (NULL on failure, the error on ctx), and <module>_level()
 *   <module>.c         the constructors and the pick of the CPU level
 *   <module>_module.c  a Python extension module `<module>` of numpy.ufuncs (needs
 *                      <module>.c, ufuncgen/numpy.c and NumPy's headers)
 * Link the first three with libufuncgen_runtime.a (no LLVM) or libufuncgen,
 * plus -lmvec -lm and OpenMP. UG_EIO naming a file that cannot be written. */
UG_API ug_status ug_aot_write(ug_aot *a, const char *dir, const char *const *levels, int nlevels);

/* ------------------------------------------------------------------ loading */

typedef struct ug_prebuilt_loop {
    const ug_dtype *types;  /* nin + nout dtypes */
    uint64_t boxed;         /* bit k: "()" input k declared as an array (Numba's n[0]) */
    ug_loop_fn fn;          /* the compiled loop (NumPy's loop ABI, data unused) */
} ug_prebuilt_loop;

typedef struct ug_prebuilt_kernel {
    const char *name;       /* the ufunc's name */
    const char *doc;        /* or NULL */
    const char *layout;     /* a gufunc's layout, NULL for a scalar ufunc */
    int nin, nout;
    uint64_t written;       /* inputs the kernel stores into (ug_ufunc_writes_input) */
    ug_target target;
    ug_identity identity;
    int num_threads;
    int nloops;             /* 0: a kernel without signatures (no loop until compiled) */
    const ug_prebuilt_loop *loops;
    const char *unavailable; /* not NULL: the loops cannot run here (no CPU level fits); creation
                                fails with UG_EUNSUPPORTED and this message */
} ug_prebuilt_kernel;

/* A ufunc over prebuilt loops (in their order, which is loop-selection
 * order). A kernel without loops gives a ufunc whose calls fail with
 * UG_EDTYPE saying it was built without signatures. Errors: UG_EINVAL
 * (NULL arguments, a bad count or option), UG_ELAYOUT, UG_ENOMEM,
 * UG_EUNSUPPORTED (k->unavailable). */
UG_API ug_status ug_prebuilt_ufunc(ug_context *ctx, const ug_prebuilt_kernel *k, ug_ufunc **out /* OUT */);

typedef struct ug_prebuilt_level {
    const char *name;       /* "x86-64-v3", or "host (<cpu name>)" */
    int (*supported)(void); /* 1 if the running CPU has every feature the level's code uses */
} ug_prebuilt_level;

/* The level of module's loops to load: the first in levels (best first)
 * the CPU supports, or the one UFUNCGEN_AOT_LEVEL names (its name up to
 * " (", so "host" names "host (skylake)"). -1 with err set (UG_EUNSUPPORTED)
 * when the CPU supports none (the message names the levels), or the
 * variable names a level that is absent or unsupported. err may be NULL. */
UG_API int ug_prebuilt_pick(const char *module, const ug_prebuilt_level *levels, int n, ug_error *err);

#ifdef __cplusplus
}
#endif
#endif /* UFUNCGEN_AOT_H */
