/* numpy.h — ufuncgen ufuncs as real numpy.ufunc objects (the NumPy bridge).
 *
 * For C extension modules (and ufuncgen's own Python package). Include
 * <Python.h> first, compile ufuncgen/numpy.c into your module (it needs
 * NumPy >= 2.0 headers: numpy.get_include()) and link libufuncgen:
 *
 *     static ug_context *ctx;                  // lives for the process
 *     ...
 *     ctx = ug_context_new(NULL);
 *     const char *sigs[] = {"f8(f8)", "f4(f4)"};
 *     ug_ufunc *f;
 *     if (ug_vectorize(ctx, "def sq(x):\n    return x*x\n", sigs, 2, NULL, &f) != UG_OK)
 *         return ug_numpy_raise(ug_errcode(ctx), ug_errmsg(ctx), ug_errline(ctx),
 *                               ug_errcolumn(ctx), NULL, NULL);
 *     PyObject *uf = ug_numpy_ufunc(f);        // owns f from here on
 *     if (!uf || PyModule_AddObject(m, "sq", uf) < 0) ...
 *
 * numpy.c imports NumPy's C API for itself (it has its own copy of the API
 * table), so the including module need not call import_array() for it and
 * may use any PY_ARRAY_UNIQUE_SYMBOL of its own.
 *
 * The ufunc behaves as NumPy's own: out=, where=, casting=, dtype=,
 * axes=/axis=/keepdims= (gufuncs), reduce/accumulate/reduceat/outer/at
 * (with the ufunc's identity), __array_ufunc__ dispatch. Loops run with the
 * GIL released. Out-of-range indexing under boundscheck raises IndexError;
 * floating-point flags raised by a loop go through NumPy's np.errstate
 * machinery. Lazy ufuncs (no signatures) compile a loop for each new
 * combination of input dtypes the first time NumPy asks for it.
 *
 * The context the ug_ufunc was made from must outlive the returned object
 * (a process-lifetime context is the simple way).
 */
#ifndef UFUNCGEN_NUMPY_H
#define UFUNCGEN_NUMPY_H

#include <Python.h>

#include "ufuncgen/ufuncgen.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new reference to a numpy.ufunc computing f. The ufunc takes ownership
 * of f in every case: f is freed when the numpy.ufunc is garbage collected,
 * or at once if this call fails (NULL with a Python exception set). */
PyObject *ug_numpy_ufunc(ug_ufunc *f);

/* The ug_ufunc behind a ufunc made by ug_numpy_ufunc (borrowed: it lives as
 * long as obj), or NULL without an exception if obj is not one. */
ug_ufunc *ug_numpy_get(PyObject *obj);

/* Let the kernel write input k (Numba's writable_args): NumPy then iterates
 * that operand read-write and writes back any temporary copy. 0, or -1 with
 * a Python exception set. */
int ug_numpy_set_writable_input(PyObject *uf, int k);
/* Compile one more loop for dtype signature sig (ug_ufunc_add, with the GIL
 * released) and register it with NumPy. The loop index, or -1 with a Python
 * exception set (ug_numpy_raise's mapping). */
int ug_numpy_add(PyObject *uf, const char *sig);
/* Keep a reference to obj (may be NULL) with the ufunc, released with it:
 * somewhere to hang Python-side state where numpy.ufunc has no instance
 * attributes (NumPy < 2.2). 0, or -1 with an exception if uf is not ours. */
int ug_numpy_set_user(PyObject *uf, PyObject *obj);
/* The object set above (borrowed), or NULL (no exception) if none or if uf
 * is not a ufuncgen ufunc. */
PyObject *ug_numpy_user(PyObject *uf);

/* Raise the Python exception for a failed ufuncgen call and return NULL:
 *   UG_ESYNTAX → SyntaxError (filename, lineno, offset and text set, so the
 *   traceback shows the caret), UG_ENAME → NameError, UG_ETYPE / UG_EDTYPE →
 *   TypeError, UG_ESIGNATURE / UG_ELAYOUT / UG_ESHAPE / UG_EOPERANDS /
 *   UG_EINVAL → ValueError, UG_EINDEX → IndexError, UG_ENOMEM → MemoryError,
 *   UG_EUNSUPPORTED → NotImplementedError, others → RuntimeError.
 * msg is the full message; line/column are 1-based or -1; src (may be NULL)
 * is the kernel source the line refers to; filename may be NULL ("<kernel>"). */
PyObject *ug_numpy_raise(ug_status st, const char *msg, int line, int column, const char *src,
                         const char *filename);

#ifdef __cplusplus
}
#endif
#endif /* UFUNCGEN_NUMPY_H */
