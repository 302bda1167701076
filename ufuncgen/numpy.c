/* numpy.c — the NumPy bridge: a ug_ufunc becomes a real numpy.ufunc.
 *
 * Why ArrayMethod loops (PyUFunc_AddLoopFromSpec) and not the legacy
 * PyUFunc_FromFuncAndData loop table: a legacy loop returns void, and NumPy
 * only checks PyErr_Occurred() after it when the loop needs the Python API
 * (object dtypes), which would also keep the GIL held. An ArrayMethod strided
 * loop returns -1 with an exception set, so a boundscheck failure becomes an
 * IndexError while the loop still runs with the GIL released. ArrayMethods
 * are also the only way to add loops to an existing ufunc, which lazy
 * ufuncs need.
 *
 * The pieces (all NumPy >= 2.0 public API):
 * - The ufunc is created empty (PyUFunc_FromFuncAndDataAndSignatureAndIdentity
 *   with no loops) and a capsule owning the ug_ufunc is put in its `obj`
 *   slot, which NumPy releases in ufunc_dealloc: the ug_ufunc (and its JIT
 *   code) dies with the numpy.ufunc.
 * - Each compiled loop is registered as one ArrayMethod for its exact DTypes.
 *   Its get_loop slot finds the ug loop from the resolved descriptors and
 *   hands NumPy a small strided-loop wrapper with the loop in its auxdata.
 *   The wrapper calls the JIT loop (NumPy's loop ABI: one machine code for
 *   ufuncs and gufuncs, core dimensions and strides appended) and turns a
 *   recorded failure into IndexError (boundscheck) or the class a kernel
 *   raised (ValueError, ...), taking the GIL.
 * - One promoter registered for (None, ..., None) matches every call that
 *   has no exact loop. It picks the first loop the inputs fit (exact, then
 *   safe casts, Python int/float scalars as NEP 50 weak scalars), or, for a
 *   lazy ufunc, compiles a new loop (ug_ufunc_resolve) and registers it
 *   there and then; NumPy then re-dispatches to the now exact loop. Asking
 *   for a loop that cannot exist raises TypeError listing the loops.
 * - A lazy gufunc's calls first pass out_vectorcall (the ufunc's vectorcall
 *   slot), which compiles a loop for out='s dtypes and names them in
 *   signature=: NumPy's dispatch does not show out= to promoters.
 * - For introspection (ufunc.types/ntypes) and for NumPy's legacy fallback
 *   path, the legacy loop table is kept in sync too: our loops have exactly
 *   the legacy signature.
 * - The identity (reduce of empty input, reorderable multi-axis reduce) is
 *   the ufunc's; a get_reduction_initial slot writes it in the loop dtype.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#define NPY_TARGET_VERSION NPY_2_0_API_VERSION
#include <numpy/arrayobject.h>
#include <numpy/dtype_api.h>
#include <numpy/ufuncobject.h>

#include "ufuncgen/numpy.h"

#define CAPSULE_NAME "ufuncgen.bridge"

typedef struct loop_aux {
    NpyAuxData base;
    ug_loop_fn fn;
    void *data;
    int nin, nout;
    int ncore; /* nonzero for a gufunc */
    int owned; /* 1: lives in its bridge (get_loop hands it out without allocating; free is a no-op) */
} loop_aux;

typedef struct bridge {
    ug_ufunc *f;
    int nregistered;                /* loops registered with NumPy so far */
    int cap;                        /* capacity of the tables below */
    PyUFuncGenericFunction *funcs;  /* legacy tables mirrored for ufunc.types */
    void **data;
    char *types;
    loop_aux **aux;                 /* one per loop, made at its first call */
    PyObject *user;                 /* owned: the caller's object (ug_numpy_set_user), or NULL */
} bridge;

/* ------------------------------------------------------------ NumPy API import */

static int np_imported;

static int ensure_numpy(void)
{
    if (np_imported)
        return 0;
    if (_import_array() < 0 || _import_umath() < 0)
        return -1;
    np_imported = 1;
    return 0;
}

/* ------------------------------------------------------------ dtype mapping */

static int typenum_of(ug_dtype t)
{
    static const int map[UG_NDTYPES] = {NPY_BOOL,   NPY_INT8,   NPY_UINT8,  NPY_INT16,
                                        NPY_UINT16, NPY_INT32,  NPY_UINT32, NPY_INT64,
                                        NPY_UINT64, NPY_FLOAT32, NPY_FLOAT64, NPY_CFLOAT,
                                        NPY_CDOUBLE, NPY_HALF};
    return t >= 0 && t < UG_NDTYPES ? map[t] : -1;
}

static ug_dtype dtype_of_typenum(int tn)
{
    switch (tn) {
    case NPY_BOOL: return UG_BOOL;
    case NPY_BYTE: return UG_INT8;
    case NPY_UBYTE: return UG_UINT8;
    case NPY_SHORT: return UG_INT16;
    case NPY_USHORT: return UG_UINT16;
    case NPY_INT: return UG_INT32;
    case NPY_UINT: return UG_UINT32;
    case NPY_LONG: return sizeof(long) == 8 ? UG_INT64 : UG_INT32;
    case NPY_ULONG: return sizeof(long) == 8 ? UG_UINT64 : UG_UINT32;
    case NPY_LONGLONG: return UG_INT64;
    case NPY_ULONGLONG: return UG_UINT64;
    case NPY_FLOAT: return UG_FLOAT32;
    case NPY_DOUBLE: return UG_FLOAT64;
    case NPY_CFLOAT: return UG_COMPLEX64;
    case NPY_CDOUBLE: return UG_COMPLEX128;
    case NPY_HALF: return UG_FLOAT16;
    default: return UG_DTYPE_NONE;
    }
}

/* Borrowed: builtin DType classes are static. */
static PyArray_DTypeMeta *dtype_class(ug_dtype t)
{
    PyArray_Descr *d = PyArray_DescrFromType(typenum_of(t));
    if (!d)
        return NULL;
    PyArray_DTypeMeta *D = NPY_DTYPE(d);
    Py_DECREF(d);
    return D;
}

static int is_int(ug_dtype t) { return t >= UG_INT8 && t <= UG_UINT64; }
static int is_float(ug_dtype t) { return t == UG_FLOAT32 || t == UG_FLOAT64 || t == UG_FLOAT16; }
static int is_complex(ug_dtype t) { return t == UG_COMPLEX64 || t == UG_COMPLEX128; }

/* ------------------------------------------------------------ bridge lookup */

/* Each extension module that compiles numpy.c has its own copy of the
 * library; a capsule is ours only if its context is this copy's tag, so a
 * ug_ufunc is never handed to another copy's code (whose structs may differ). */
static const char owner_tag = 0;

/* The last capsule found valid and its bridge: every call of a ufunc looks
 * its bridge up, and checking a capsule compares its name. Read and written
 * with the GIL held; bridge_free forgets it before the bridge goes. */
static PyObject *last_cap;
static bridge *last_bridge;

static bridge *bridge_of(PyObject *obj)
{
    if (!obj || !np_imported || !PyObject_TypeCheck(obj, &PyUFunc_Type))
        return NULL;
    PyObject *cap = ((PyUFuncObject *)obj)->obj;
    if (cap && cap == last_cap)
        return last_bridge;
    if (!cap || !PyCapsule_IsValid(cap, CAPSULE_NAME) || PyCapsule_GetContext(cap) != (void *)&owner_tag)
        return NULL;
    last_bridge = PyCapsule_GetPointer(cap, CAPSULE_NAME);
    last_cap = cap;
    return last_bridge;
}

ug_ufunc *ug_numpy_get(PyObject *obj)
{
    bridge *b = bridge_of(obj);
    return b ? b->f : NULL;
}

static void bridge_free(PyObject *cap)
{
    bridge *b = PyCapsule_GetPointer(cap, CAPSULE_NAME);
    if (cap == last_cap)
        last_cap = NULL, last_bridge = NULL;
    if (!b)
        return;
    for (int i = 0; i < b->cap && b->aux; i++)
        free(b->aux[i]);
    free(b->aux);
    Py_CLEAR(b->user);
    ug_ufunc_free(b->f);
    free(b->funcs);
    free(b->data);
    free(b->types);
    free(b);
}

/* ------------------------------------------------------------ the strided loop */

static void aux_free(NpyAuxData *a)
{
    if (!((loop_aux *)a)->owned)
        free(a);
}

static NpyAuxData *aux_clone(NpyAuxData *a)
{
    loop_aux *c = malloc(sizeof *c);
    if (c) {
        memcpy(c, a, sizeof *c);
        c->owned = 0;
    }
    return (NpyAuxData *)c;
}

/* NumPy's accumulate calls a binary loop as a recurrence: out[i] =
 * f(out[i-1], in[i]), i.e. args[2] == args[0] + steps[0]. A loop that reads
 * a block of inputs before writing outputs would see stale values, so such
 * calls (an output that partially overlaps an input, found by pointer
 * arithmetic) run one element at a time. Only scalar ufuncs (no core dims). */
static int is_recurrence(const loop_aux *a, char *const *data, const npy_intp *dims, const npy_intp *strides)
{
    if (a->ncore || dims[0] < 2)
        return 0;
    for (int o = a->nin; o < a->nin + a->nout; o++)
        for (int i = 0; i < a->nin; i++) {
            npy_intp d = data[o] - data[i];
            if (d != 0 && strides[o] == strides[i] && strides[i] != 0 &&
                (d > 0 ? d < dims[0] * strides[i] : -d < dims[0] * -strides[i]) &&
                (d > 0) == (strides[i] > 0))
                return 1;
        }
    return 0;
}

static void run_elementwise(const loop_aux *a, char *const *data, const npy_intp *dims, const npy_intp *strides)
{
    int nargs = a->nin + a->nout;
    char *args[UG_MAXARGS];
    intptr_t one = 1;
    for (npy_intp i = 0; i < dims[0]; i++) {
        for (int k = 0; k < nargs; k++)
            args[k] = data[k] + i * strides[k];
        a->fn(args, &one, (const intptr_t *)strides, a->data);
    }
}

/* Runs with or without the GIL (NumPy releases it for large enough work). */
static int strided_loop(PyArrayMethod_Context *ctx, char *const *data, const npy_intp *dims,
                        const npy_intp *strides, NpyAuxData *auxdata)
{
    loop_aux *a = (loop_aux *)auxdata;
    if (is_recurrence(a, data, dims, strides))
        run_elementwise(a, data, dims, strides);
    else
        a->fn((char **)data, (const intptr_t *)dims, (const intptr_t *)strides, a->data);
    ug_error err;
    const char *warning;
    if (ug_take_loop_warning(&warning)) { /* NumPy's RuntimeWarning (np.nanmean of all NaN ...) */
        PyGILState_STATE g = PyGILState_Ensure();
        int bad = PyErr_WarnEx(PyExc_RuntimeWarning, warning, 1); /* -1: warnings are errors here */
        PyGILState_Release(g);
        if (bad) {
            ug_take_loop_error(NULL);
            return -1;
        }
    }
    if (!ug_take_loop_error(&err))
        return 0;
    PyGILState_STATE g = PyGILState_Ensure();
    ug_numpy_raise(err.code, err.msg, -1, -1, NULL, NULL); /* IndexError, or the class a kernel raised */
    PyGILState_Release(g);
    return -1;
}

/* The loop of f whose dtypes are exactly those of the resolved descriptors. */
static int find_loop(const bridge *b, PyArray_Descr *const *descrs)
{
    int nargs = ug_ufunc_nin(b->f) + ug_ufunc_nout(b->f);
    for (int i = 0; i < b->nregistered; i++) { /* the type numbers as registered (the usual case) */
        int k = 0;
        while (k < nargs && descrs[k]->type_num == b->types[i * nargs + k])
            k++;
        if (k == nargs)
            return i;
    }
    ug_dtype want[UG_MAXARGS], have[UG_MAXARGS]; /* other spellings of the same dtypes (longlong for int64) */
    for (int k = 0; k < nargs; k++)
        want[k] = dtype_of_typenum(descrs[k]->type_num);
    for (int i = 0; i < b->nregistered; i++)
        if (ug_ufunc_loop_types(b->f, i, have) == UG_OK && !memcmp(want, have, sizeof(ug_dtype) * (size_t)nargs))
            return i;
    return -1;
}

static int get_loop(PyArrayMethod_Context *ctx, int aligned, int move_references, const npy_intp *strides,
                    PyArrayMethod_StridedLoop **out_loop, NpyAuxData **out_aux, NPY_ARRAYMETHOD_FLAGS *flags)
{
    bridge *b = bridge_of(ctx->caller);
    int i = b ? find_loop(b, ctx->descriptors) : -1;
    if (i < 0) {
        PyErr_SetString(PyExc_RuntimeError, "ufuncgen: no compiled loop for the resolved dtypes (internal error)");
        return -1;
    }
    loop_aux *a = b->aux[i]; /* made once: several threads may run the loop at once, reading it */
    if (!a) {
        if (!(a = calloc(1, sizeof *a))) {
            PyErr_NoMemory();
            return -1;
        }
        a->base.free = aux_free;
        a->base.clone = aux_clone;
        a->owned = 1;
        ug_ufunc_loop(b->f, i, &a->fn, &a->data); /* fixed for the ufunc's life */
        a->nin = ug_ufunc_nin(b->f);
        a->nout = ug_ufunc_nout(b->f);
        a->ncore = ug_ufunc_layout(b->f) != NULL;
        b->aux[i] = a;
    }
    *out_loop = strided_loop;
    *out_aux = (NpyAuxData *)a;
    *flags = 0; /* GIL may be released; floating-point flags are checked */
    return 0;
}

/* The ufunc's identity written in the loop's first operand dtype. */
static int get_initial(PyArrayMethod_Context *ctx, npy_bool empty, void *initial)
{
    bridge *b = bridge_of(ctx->caller);
    if (!b)
        return 0;
    long v;
    switch (ug_ufunc_identity(b->f)) {
    case UG_IDENTITY_ZERO: v = 0; break;
    case UG_IDENTITY_ONE: v = 1; break;
    case UG_IDENTITY_MINUS_ONE: v = -1; break;
    default: return 0;
    }
    switch (dtype_of_typenum(ctx->descriptors[0]->type_num)) {
    case UG_BOOL: *(npy_bool *)initial = v != 0; break;
    case UG_INT8: *(int8_t *)initial = (int8_t)v; break;
    case UG_UINT8: *(uint8_t *)initial = (uint8_t)v; break;
    case UG_INT16: *(int16_t *)initial = (int16_t)v; break;
    case UG_UINT16: *(uint16_t *)initial = (uint16_t)v; break;
    case UG_INT32: *(int32_t *)initial = (int32_t)v; break;
    case UG_UINT32: *(uint32_t *)initial = (uint32_t)v; break;
    case UG_INT64: *(int64_t *)initial = (int64_t)v; break;
    case UG_UINT64: *(uint64_t *)initial = (uint64_t)v; break;
    case UG_FLOAT32: *(float *)initial = (float)v; break;
    case UG_FLOAT64: *(double *)initial = (double)v; break;
    case UG_FLOAT16: *(uint16_t *)initial = v == 0 ? 0 : v == 1 ? 0x3c00 : 0xbc00; break;
    case UG_COMPLEX64: ((float *)initial)[0] = (float)v; ((float *)initial)[1] = 0; break;
    case UG_COMPLEX128: ((double *)initial)[0] = (double)v; ((double *)initial)[1] = 0; break;
    default: return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ registering loops */

/* Mirror loop i into the legacy tables (ufunc.types, ntypes). */
static int mirror_legacy(PyUFuncObject *uf, bridge *b, int i, const ug_dtype *types, int nargs)
{
    if (i >= b->cap) {
        int cap = b->cap ? 2 * b->cap : 8;
        PyUFuncGenericFunction *fn = realloc(b->funcs, sizeof *fn * (size_t)cap);
        if (fn)
            uf->functions = b->funcs = fn;
        void **dt = realloc(b->data, sizeof *dt * (size_t)cap);
        if (dt)
            uf->data = b->data = dt;
        char *ty = realloc(b->types, (size_t)cap * (size_t)nargs);
        if (ty)
            uf->types = b->types = ty;
        loop_aux **ax = realloc(b->aux, sizeof *ax * (size_t)cap);
        if (ax) {
            memset(ax + b->cap, 0, sizeof *ax * (size_t)(cap - b->cap));
            b->aux = ax;
        }
        if (!fn || !dt || !ty || !ax) {
            PyErr_NoMemory();
            return -1;
        }
        b->cap = cap;
    }
    ug_loop_fn fn;
    ug_ufunc_loop(b->f, i, &fn, &b->data[i]);
    b->funcs[i] = (PyUFuncGenericFunction)fn;
    for (int k = 0; k < nargs; k++)
        b->types[i * nargs + k] = (char)typenum_of(types[k]);
    uf->functions = b->funcs;
    uf->data = b->data;
    uf->types = b->types;
    uf->ntypes = i + 1;
    return 0;
}

static int register_loop(PyObject *ufobj, bridge *b, int i)
{
    int nin = ug_ufunc_nin(b->f), nout = ug_ufunc_nout(b->f), nargs = nin + nout;
    ug_dtype types[UG_MAXARGS];
    PyArray_DTypeMeta *dtypes[UG_MAXARGS];
    if (ug_ufunc_loop_types(b->f, i, types) != UG_OK) {
        PyErr_Format(PyExc_RuntimeError, "ufuncgen: loop %d has no types", i);
        return -1;
    }
    for (int k = 0; k < nargs; k++)
        if (!(dtypes[k] = dtype_class(types[k])))
            return -1;
    ug_identity id = ug_ufunc_identity(b->f);
    int has_initial = id == UG_IDENTITY_ZERO || id == UG_IDENTITY_ONE || id == UG_IDENTITY_MINUS_ONE;
    PyType_Slot slots[] = {
        {NPY_METH_get_loop, (void *)get_loop},
        {has_initial ? NPY_METH_get_reduction_initial : 0, has_initial ? (void *)get_initial : NULL},
        {0, NULL},
    };
    PyArrayMethod_Spec spec = {
        .name = ug_ufunc_name(b->f),
        .nin = nin,
        .nout = nout,
        .casting = NPY_NO_CASTING,
        .flags = id != UG_IDENTITY_NONE ? NPY_METH_IS_REORDERABLE : 0,
        .dtypes = dtypes,
        .slots = slots,
    };
    /* Two signatures with the same dtypes: the first one wins (it is also
     * the one ug_ufunc_resolve picks), so the duplicate is not registered. */
    ug_dtype other[UG_MAXARGS];
    for (int j = 0; j < i; j++)
        if (ug_ufunc_loop_types(b->f, j, other) == UG_OK && !memcmp(other, types, sizeof(ug_dtype) * (size_t)nargs))
            return mirror_legacy((PyUFuncObject *)ufobj, b, i, types, nargs);
    if (PyUFunc_AddLoopFromSpec(ufobj, &spec) < 0)
        return -1;
    return mirror_legacy((PyUFuncObject *)ufobj, b, i, types, nargs);
}

/* Register every loop compiled since the last call (lazy ufuncs grow). */
static int register_new_loops(PyObject *ufobj, bridge *b)
{
    int n = ug_ufunc_nloops(b->f);
    while (b->nregistered < n) {
        if (register_loop(ufobj, b, b->nregistered) < 0)
            return -1;
        b->nregistered++;
    }
    return 0;
}

/* ------------------------------------------------------------ the promoter */

enum { WEAK_NONE = 0, WEAK_INT, WEAK_FLOAT, WEAK_COMPLEX };

/* One input as the promoter sees it: a concrete dtype, a weak Python
 * scalar, or a foreign NumPy dtype (float16, ...) that only casts to ours. */
typedef struct in_kind {
    ug_dtype dt;              /* UG_DTYPE_NONE when weak; for foreign: the first of ours it casts to safely */
    int weak;
    int fixed;                /* given by signature=/dtype=: a loop must have exactly this dtype */
    PyArray_Descr *foreign;   /* borrowed: the foreign dtype's singleton, else NULL */
} in_kind;

static int can_cast_safe_descr(PyArray_Descr *from, ug_dtype to)
{
    PyArray_Descr *d = PyArray_DescrFromType(typenum_of(to));
    int ok = d && PyArray_CanCastTypeTo(from, d, NPY_SAFE_CASTING);
    Py_XDECREF(d);
    return ok;
}

static int classify(PyArray_DTypeMeta *D, int fixed, in_kind *out, const char *name, int k)
{
    *out = (in_kind){.dt = UG_DTYPE_NONE, .fixed = fixed};
    if (D == &PyArray_PyLongDType) {
        out->weak = WEAK_INT;
        return 0;
    }
    if (D == &PyArray_PyFloatDType) {
        out->weak = WEAK_FLOAT;
        return 0;
    }
    if (D == &PyArray_PyComplexDType) {
        out->weak = WEAK_COMPLEX;
        return 0;
    }
    if (D && D->type_num >= 0)
        out->dt = dtype_of_typenum(D->type_num);
    if (out->dt == UG_DTYPE_NONE && D && D->singleton && !fixed) {
        for (int t = 0; t < UG_NDTYPES && out->dt == UG_DTYPE_NONE; t++)
            if (can_cast_safe_descr(D->singleton, (ug_dtype)t))
                out->dt = (ug_dtype)t;
        out->foreign = out->dt != UG_DTYPE_NONE ? D->singleton : NULL;
    }
    if (out->dt == UG_DTYPE_NONE) {
        PyErr_Format(PyExc_TypeError, "ufunc '%s': input %d has dtype %S, which ufuncgen does not support", name, k,
                     D ? (PyObject *)D : Py_None);
        return -1;
    }
    return 0;
}

/* A Python scalar of that kind in loop dtype t: exactly its kind (pass 0 of
 * search), or that kind and any above (int in a float or complex loop). */
static int weak_same_kind(int weak, ug_dtype t)
{
    return weak == WEAK_INT ? is_int(t) : weak == WEAK_FLOAT ? is_float(t) : is_complex(t);
}

static int weak_fits(int weak, ug_dtype t)
{
    return weak == WEAK_INT     ? is_int(t) || is_float(t) || is_complex(t)
           : weak == WEAK_FLOAT ? is_float(t) || is_complex(t)
                                : is_complex(t);
}

/* First loop the inputs fit: exact (pass 0: a weak scalar in a loop dtype of
 * its own kind, or as the type NEP 50 gives it next to the other inputs,
 * weak_as[k]; so float32 + 3 does not take a float32 x complex64 loop made
 * earlier for float32 + 1j) or by safe casts (pass 1: a weak scalar in any
 * loop dtype of its kind or above).
 * Outputs fixed by the caller (dtype=, signature=) must match exactly. */
static int search(const bridge *b, const in_kind *in, const ug_dtype *weak_as, const ug_dtype *out_fixed, int pass)
{
    int nin = ug_ufunc_nin(b->f), nargs = nin + ug_ufunc_nout(b->f);
    ug_dtype t[UG_MAXARGS];
    for (int i = 0; i < ug_ufunc_nloops(b->f); i++) {
        if (ug_ufunc_loop_types(b->f, i, t) != UG_OK)
            continue;
        int ok = 1;
        for (int k = 0; ok && k < nin; k++)
            ok = in[k].weak      ? (pass == 0 ? weak_as[k] == t[k] || weak_same_kind(in[k].weak, t[k])
                                             : weak_fits(in[k].weak, t[k]))
                 : in[k].fixed   ? in[k].dt == t[k]
                 : in[k].foreign ? pass == 1 && can_cast_safe_descr(in[k].foreign, t[k])
                 : pass == 0     ? in[k].dt == t[k]
                                 : ug_can_cast_safe(in[k].dt, t[k]);
        for (int k = nin; ok && k < nargs; k++)
            ok = out_fixed[k] == UG_DTYPE_NONE || out_fixed[k] == t[k];
        if (ok)
            return i;
    }
    return -1;
}

/* Concrete input dtypes: weak scalars take the type of the concrete inputs
 * when of a fitting kind (NEP 50), else int64 / float64. */
static void concretize(const in_kind *in, int nin, ug_dtype *types)
{
    ug_dtype c = UG_DTYPE_NONE;
    for (int k = 0; k < nin; k++)
        if (!in[k].weak)
            c = c == UG_DTYPE_NONE ? in[k].dt : ug_promote(c, in[k].dt);
    for (int k = 0; k < nin; k++) {
        if (!in[k].weak)
            types[k] = in[k].dt;
        else if (in[k].weak == WEAK_INT)
            types[k] = is_int(c) || is_float(c) || is_complex(c) ? c : UG_INT64;
        else if (in[k].weak == WEAK_FLOAT)
            types[k] = is_float(c) || is_complex(c) ? c : UG_FLOAT64;
        else /* a Python complex next to float32 is complex64 (NEP 50) */
            types[k] = is_complex(c) ? c : c == UG_FLOAT32 || c == UG_FLOAT16 ? UG_COMPLEX64 : UG_COMPLEX128;
    }
}

/* ug_ufunc_resolve with the GIL released: a lazy ufunc may compile for tens
 * of milliseconds. Safe inside NumPy's dispatch: ufuncgen serialises the
 * compilation, the new loop is registered with NumPy only after the GIL is
 * back (register_new_loops, once per loop), and a second thread that
 * resolves the same dtypes meanwhile ends with the same loop, which NumPy's
 * dispatch cache accepts twice. */
static ug_status resolve_nogil(ug_ufunc *f, const ug_dtype *types, int *loop, ug_error *err)
{
    ug_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ug_ufunc_resolve(f, types, loop, err);
    Py_END_ALLOW_THREADS
    return st;
}

/* No loop fits: ug_ufunc_resolve compiles one (lazy) or finds the safe-cast
 * one; with an output dtype fixed, a lazy ufunc also tries all inputs in it. */
static int resolve_new(bridge *b, const in_kind *in, const ug_dtype *out_fixed, int *loop)
{
    int nin = ug_ufunc_nin(b->f);
    ug_dtype types[UG_MAXARGS], t[UG_MAXARGS];
    ug_error err;
    concretize(in, nin, types);
    ug_status st = resolve_nogil(b->f, types, loop, &err);
    if (st == UG_OK && out_fixed[nin] != UG_DTYPE_NONE && ug_ufunc_loop_types(b->f, *loop, t) == UG_OK &&
        t[nin] != out_fixed[nin]) {
        ug_dtype want = out_fixed[nin];
        int k = 0;
        while (k < nin && ug_can_cast_same_kind(types[k], want))
            k++;
        if (k == nin) {
            for (k = 0; k < nin; k++)
                types[k] = want;
            int alt;
            if (resolve_nogil(b->f, types, &alt, &err) == UG_OK)
                *loop = alt;
        }
    }
    if (st != UG_OK) {
        ug_numpy_raise(st, err.msg, -1, -1, NULL, NULL);
        return -1;
    }
    return 0;
}

static int promoter(PyObject *ufobj, PyArray_DTypeMeta *const op_dtypes[], PyArray_DTypeMeta *const signature[],
                    PyArray_DTypeMeta *new_op_dtypes[])
{
    bridge *b = bridge_of(ufobj);
    if (!b) {
        PyErr_SetString(PyExc_RuntimeError, "ufuncgen promoter called for a foreign ufunc");
        return -1;
    }
    const char *name = ug_ufunc_name(b->f);
    int nin = ug_ufunc_nin(b->f), nargs = nin + ug_ufunc_nout(b->f);
    in_kind in[UG_MAXARGS] = {{0}};
    ug_dtype out_fixed[UG_MAXARGS] = {0};
    for (int k = 0; k < nin; k++) {
        /* Reductions pass op_dtypes[0] == NULL: the accumulator is the input's dtype. */
        PyArray_DTypeMeta *D = signature[k] ? signature[k] : op_dtypes[k] ? op_dtypes[k] : op_dtypes[1];
        if (classify(D, signature[k] != NULL, &in[k], name, k) < 0)
            return -1;
    }
    for (int k = nin; k < nargs; k++) {
        out_fixed[k] = signature[k] ? dtype_of_typenum(signature[k]->type_num) : UG_DTYPE_NONE;
        if (signature[k] && out_fixed[k] == UG_DTYPE_NONE) {
            PyErr_Format(PyExc_TypeError, "ufunc '%s': output dtype %S is not supported by ufuncgen", name,
                         (PyObject *)signature[k]);
            return -1;
        }
    }
    /* Exact (weak scalars as NEP 50 types them) first; safe casts only when an output
     * dtype is fixed or an input is foreign (float16), else
     * ug_ufunc_resolve decides: exact-or-compile for a lazy ufunc,
     * exact-then-safe for one with signatures. */
    int fixed = 0;
    for (int k = nin; k < nargs; k++)
        fixed |= out_fixed[k] != UG_DTYPE_NONE;
    for (int k = 0; k < nin; k++)
        fixed |= in[k].foreign != NULL;
    ug_dtype weak_as[UG_MAXARGS];
    concretize(in, nin, weak_as);
    int loop = search(b, in, weak_as, out_fixed, 0);
    if (loop < 0 && fixed)
        loop = search(b, in, weak_as, out_fixed, 1);
    if (loop < 0 && resolve_new(b, in, out_fixed, &loop) < 0)
        return -1;
    if (register_new_loops(ufobj, b) < 0)
        return -1;
    ug_dtype t[UG_MAXARGS];
    ug_ufunc_loop_types(b->f, loop, t);
    for (int k = 0; k < nargs; k++) {
        new_op_dtypes[k] = dtype_class(t[k]);
        Py_INCREF(new_op_dtypes[k]);
    }
    return 0;
}

static int add_promoter(PyObject *ufobj, int nargs)
{
    PyObject *tuple = PyTuple_New(nargs);
    if (!tuple)
        return -1;
    for (int k = 0; k < nargs; k++) {
        Py_INCREF(Py_None);
        PyTuple_SET_ITEM(tuple, k, Py_None);
    }
    PyObject *cap = PyCapsule_New((void *)promoter, "numpy._ufunc_promoter", NULL);
    int res = cap ? PyUFunc_AddPromoter(ufobj, tuple, cap) : -1;
    Py_XDECREF(cap);
    Py_DECREF(tuple);
    return res;
}

/* ------------------------------------------------------------ out= of a lazy gufunc */

/* A lazy gufunc's outputs are arrays the kernel writes, so their dtype has
 * no inference to come from: a new loop takes the promoted input dtype.
 * Numba's dynamic gufunc instead compiles for the dtypes of all arguments,
 * out= included, and NumPy's dispatch never shows out= to a promoter (it
 * picks loops from the inputs, then casts into out). So `A * 1.5` into a
 * float64 out from int32 A computed int32 and gave [1, 3, 4, 6]. A lazy
 * gufunc's calls go through out_vectorcall first: when every output is an
 * exact ndarray of a supported dtype (and dtype=/signature= are not given),
 * the loop for (the inputs as the promoter types them, the out dtypes) is
 * compiled and the call is NumPy's own with signature=(None, ..., out
 * dtypes) added, which the promoter's exact search matches. Anything else
 * (lists, subclasses with __array_ufunc__, ...) is NumPy's call unchanged. */

static vectorcallfunc numpy_vectorcall; /* NumPy's, saved from the first lazy gufunc */

/* An input object as the promoter would classify its DType: 0 if it is not
 * an exact ndarray, list, tuple, NumPy scalar or Python int/float. */
static int classify_object(PyObject *o, in_kind *out)
{
    *out = (in_kind){.dt = UG_DTYPE_NONE};
    if (PyLong_CheckExact(o) || PyFloat_CheckExact(o) || PyComplex_CheckExact(o)) {
        out->weak = PyLong_CheckExact(o) ? WEAK_INT : PyFloat_CheckExact(o) ? WEAK_FLOAT : WEAK_COMPLEX;
        return 1;
    }
    if (PyList_CheckExact(o) || PyTuple_CheckExact(o)) { /* the dtype NumPy gives it (converted twice: rare) */
        PyObject *a = PyArray_FROM_O(o);
        if (!a) {
            PyErr_Clear(); /* NumPy's own call reports it */
            return 0;
        }
        out->dt = dtype_of_typenum(PyArray_DESCR((PyArrayObject *)a)->type_num);
        Py_DECREF(a);
    } else if (PyArray_CheckExact(o))
        out->dt = dtype_of_typenum(PyArray_DESCR((PyArrayObject *)o)->type_num);
    else if (PyArray_IsScalar(o, Generic)) {
        PyArray_Descr *d = PyArray_DescrFromScalar(o);
        out->dt = d ? dtype_of_typenum(d->type_num) : UG_DTYPE_NONE;
        Py_XDECREF(d);
    }
    return out->dt != UG_DTYPE_NONE;
}

/* Output k of the call (positional or out=), borrowed, or NULL. 0: the
 * call has dtype=/signature=/sig=, or out= is not an array or a tuple. */
static int call_outputs(PyObject *const *args, Py_ssize_t npos, PyObject *kwnames, int nin, int nout, PyObject **outs)
{
    for (int k = 0; k < nout; k++)
        outs[k] = nin + k < npos ? args[nin + k] : NULL;
    for (Py_ssize_t j = 0; kwnames && j < PyTuple_GET_SIZE(kwnames); j++) {
        const char *kw = PyUnicode_AsUTF8(PyTuple_GET_ITEM(kwnames, j));
        PyObject *v = args[npos + j];
        if (!kw || !strcmp(kw, "dtype") || !strcmp(kw, "signature") || !strcmp(kw, "sig"))
            return 0;
        if (strcmp(kw, "out"))
            continue;
        if (PyTuple_Check(v) && PyTuple_GET_SIZE(v) == nout)
            for (int k = 0; k < nout; k++)
                outs[k] = PyTuple_GET_ITEM(v, k);
        else if (nout == 1)
            outs[0] = v;
        else
            return 0;
    }
    return 1;
}

/* signature=(None, ..., out dtypes) for this call, with its loop compiled
 * and registered; NULL (no error set) when the call is left as it is. */
static PyObject *out_signature(PyObject *ufobj, bridge *b, PyObject *const *args, Py_ssize_t npos, PyObject *kwnames)
{
    int nin = ug_ufunc_nin(b->f), nout = ug_ufunc_nout(b->f), nargs = nin + nout;
    PyObject *outs[UG_MAXARGS];
    in_kind in[UG_MAXARGS];
    ug_dtype types[UG_MAXARGS], have[UG_MAXARGS];
    if (nout == 0 || npos < nin || !call_outputs(args, npos, kwnames, nin, nout, outs))
        return NULL;
    for (int k = 0; k < nin; k++)
        if (!classify_object(args[k], &in[k]))
            return NULL;
    concretize(in, nin, types);
    for (int k = 0; k < nout; k++) {
        if (!outs[k] || !PyArray_CheckExact(outs[k]))
            return NULL;
        if ((types[nin + k] = dtype_of_typenum(PyArray_DESCR((PyArrayObject *)outs[k])->type_num)) == UG_DTYPE_NONE)
            return NULL;
    }
    int i = 0, n = ug_ufunc_nloops(b->f);
    while (i < n && !(ug_ufunc_loop_types(b->f, i, have) == UG_OK && !memcmp(have, types, sizeof(ug_dtype) * (size_t)nargs)))
        i++;
    if (i == n) {
        char sig[UG_MAXARGS * 12 + 4] = "";
        for (int k = 0; k < nargs; k++) {
            strcat(sig, k == nin ? "->" : k ? "," : "");
            strcat(sig, ug_dtype_name(types[k]));
        }
        ug_error err;
        ug_status st;
        Py_BEGIN_ALLOW_THREADS
        st = ug_ufunc_add(b->f, sig, &i, &err); /* as resolve_nogil: registered once the GIL is back */
        Py_END_ALLOW_THREADS
        if (st != UG_OK) /* NumPy's own call then gives its loop and error */
            return NULL;
        if (register_new_loops(ufobj, b) < 0)
            return NULL;
    }
    PyObject *sig = PyTuple_New(nargs);
    for (int k = 0; sig && k < nargs; k++) {
        PyObject *item = k < nin ? Py_NewRef(Py_None) : (PyObject *)PyArray_DescrFromType(typenum_of(types[k]));
        if (!item)
            Py_CLEAR(sig);
        else
            PyTuple_SET_ITEM(sig, k, item);
    }
    return sig;
}

static PyObject *out_vectorcall(PyObject *ufobj, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t npos = PyVectorcall_NARGS(nargsf), nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    bridge *b = bridge_of(ufobj);
    PyObject *sig = b && ug_ufunc_is_lazy(b->f) ? out_signature(ufobj, b, args, npos, kwnames) : NULL;
    if (!sig)
        return PyErr_Occurred() ? NULL : numpy_vectorcall(ufobj, args, nargsf, kwnames);
    PyObject *stack[2 * UG_MAXARGS + 16], *res = NULL;
    PyObject *names = npos + nkw < (Py_ssize_t)(sizeof stack / sizeof *stack) ? PyTuple_New(nkw + 1) : NULL;
    if (names) {
        for (Py_ssize_t j = 0; j < npos + nkw; j++)
            stack[j] = args[j];
        stack[npos + nkw] = sig;
        for (Py_ssize_t j = 0; j < nkw; j++)
            PyTuple_SET_ITEM(names, j, Py_NewRef(PyTuple_GET_ITEM(kwnames, j)));
        PyObject *kw = PyUnicode_InternFromString("signature");
        if (kw) {
            PyTuple_SET_ITEM(names, nkw, kw);
            res = numpy_vectorcall(ufobj, stack, (size_t)npos, names);
        }
        Py_DECREF(names);
    }
    Py_DECREF(sig);
    return res ? res : PyErr_Occurred() ? NULL : numpy_vectorcall(ufobj, args, nargsf, kwnames);
}

/* ------------------------------------------------------------ creation */

static int numpy_identity(ug_identity id)
{
    switch (id) {
    case UG_IDENTITY_ZERO: return PyUFunc_Zero;
    case UG_IDENTITY_ONE: return PyUFunc_One;
    case UG_IDENTITY_MINUS_ONE: return PyUFunc_MinusOne;
    case UG_IDENTITY_REORDERABLE: return PyUFunc_ReorderableNone;
    default: return PyUFunc_None;
    }
}

PyObject *ug_numpy_ufunc(ug_ufunc *f)
{
    if (!f) {
        PyErr_SetString(PyExc_ValueError, "ug_numpy_ufunc: ufunc is NULL");
        return NULL;
    }
    bridge *b = NULL;
    PyObject *uf = NULL;
    if (ensure_numpy() < 0)
        goto fail;
    if (!(b = calloc(1, sizeof *b))) {
        PyErr_NoMemory();
        goto fail;
    }
    b->f = f;
    int nin = ug_ufunc_nin(f), nout = ug_ufunc_nout(f);
    uf = PyUFunc_FromFuncAndDataAndSignatureAndIdentity(NULL, NULL, NULL, 0, nin, nout,
                                                        numpy_identity(ug_ufunc_identity(f)), ug_ufunc_name(f),
                                                        ug_ufunc_doc(f), 0, ug_ufunc_layout(f), NULL);
    if (!uf)
        goto fail;
    PyObject *cap = PyCapsule_New(b, CAPSULE_NAME, bridge_free);
    if (!cap)
        goto fail;
    PyCapsule_SetContext(cap, (void *)&owner_tag);
    /* From here the capsule owns b and f: Py_DECREF(uf) frees them. */
    ((PyUFuncObject *)uf)->obj = cap;
    if (register_new_loops(uf, b) < 0 || add_promoter(uf, nin + nout) < 0) {
        Py_DECREF(uf);
        return NULL;
    }
    if (ug_ufunc_is_lazy(f) && ug_ufunc_layout(f) && nout > 0) { /* a lazy gufunc's out= dtypes count */
        numpy_vectorcall = ((PyUFuncObject *)uf)->vectorcall;
        ((PyUFuncObject *)uf)->vectorcall = out_vectorcall;
    }
    for (int k = 0; k < nin; k++) /* inputs the kernel writes: read-write, written back through casts */
        if (ug_ufunc_writes_input(f, k))
            ((PyUFuncObject *)uf)->op_flags[k] = NPY_ITER_READWRITE | NPY_ITER_UPDATEIFCOPY;
    /* A gufunc kernel may leave elements of an output unwritten: a cast copy
     * of out= must start from out's values, not garbage (NumPy's defaults
     * plus READWRITE instead of WRITEONLY). */
    for (int k = nin; ug_ufunc_layout(f) && k < nin + nout; k++)
        ((PyUFuncObject *)uf)->op_flags[k] = NPY_ITER_READWRITE | NPY_ITER_UPDATEIFCOPY | NPY_ITER_ALIGNED |
                                             NPY_ITER_ALLOCATE | NPY_ITER_NO_BROADCAST | NPY_ITER_NO_SUBTYPE |
                                             NPY_ITER_OVERLAP_ASSUME_ELEMENTWISE;
    /* NumPy's constructor leaves the ufunc untracked by the garbage
     * collector (np.frompyfunc tracks its own). From NumPy 2.2 a ufunc has
     * a __dict__ that its traverse visits, and the Python layer keeps
     * objects there that refer back to the ufunc (Numba's `uf.ufunc is uf`,
     * the bound add/inspect methods): untracked, every such ufunc was kept
     * alive by its own attributes, 16 kB each, for good. Tracked, the cycle
     * is collected as any other. The type is a GC type in every NumPy 2. */
    if (PyType_IS_GC(Py_TYPE(uf)) && !PyObject_GC_IsTracked(uf))
        PyObject_GC_Track(uf);
    return uf;
fail:
    Py_XDECREF(uf);
    if (b) {
        free(b->funcs);
        free(b->data);
        free(b->types);
        free(b);
    }
    ug_ufunc_free(f);
    return NULL;
}

/* ------------------------------------------------------------ errors */

/* Line `line` (1-based) of src, with a trailing newline, or None. */
static PyObject *source_line(const char *src, int line)
{
    if (!src || line < 1)
        Py_RETURN_NONE;
    const char *p = src;
    for (int l = 1; l < line && p; l++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!p)
        Py_RETURN_NONE;
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    PyObject *s = PyUnicode_DecodeUTF8(p, (Py_ssize_t)n, "replace");
    if (!s)
        return NULL;
    PyObject *r = PyUnicode_FromFormat("%U\n", s);
    Py_DECREF(s);
    return r;
}

static PyObject *raise_syntax(const char *msg, int line, int column, const char *src, const char *filename)
{
    PyObject *text = source_line(src, line);
    if (!text)
        return NULL;
    PyObject *args = Py_BuildValue("(s(siiN))", msg, filename ? filename : "<kernel>", line > 0 ? line : 1,
                                   column > 0 ? column : 1, text);
    if (args) {
        PyErr_SetObject(PyExc_SyntaxError, args);
        Py_DECREF(args);
    }
    return NULL;
}

/* "ValueError: ..." from a kernel's raise: that builtin exception class
 * (an exception class the kernel language accepts; "LinAlgError", raised
 * by the singular-value norms, is numpy.linalg's), the rest as message. */
static PyObject *raise_named(const char *msg)
{
    const char *colon = strchr(msg, ':');
    PyObject *exc = PyExc_RuntimeError;
    if (colon && colon - msg < 64) {
        char name[64];
        memcpy(name, msg, (size_t)(colon - msg));
        name[colon - msg] = 0;
        PyObject *b = PyEval_GetBuiltins(); /* borrowed */
        PyObject *cls = b ? PyDict_GetItemString(b, name) : NULL; /* borrowed */
        PyObject *own = NULL; /* numpy.linalg.LinAlgError (a ValueError): the singular-value norms' */
        if (!cls && strcmp(name, "LinAlgError") == 0) {
            PyObject *la = PyImport_ImportModule("numpy.linalg");
            cls = own = la ? PyObject_GetAttrString(la, "LinAlgError") : NULL;
            Py_XDECREF(la);
            PyErr_Clear();
        }
        if (cls && PyType_Check(cls) && PyType_IsSubtype((PyTypeObject *)cls, (PyTypeObject *)PyExc_Exception)) {
            msg = colon[1] == ' ' ? colon + 2 : colon + 1;
            PyErr_SetString(cls, msg);
            Py_XDECREF(own);
            return NULL;
        }
        Py_XDECREF(own);
    }
    PyErr_SetString(exc, msg);
    return NULL;
}

PyObject *ug_numpy_raise(ug_status st, const char *msg, int line, int column, const char *src,
                         const char *filename)
{
    PyObject *exc;
    if (!msg || !*msg)
        msg = ug_status_name(st);
    switch (st) {
    case UG_ESYNTAX: return raise_syntax(msg, line, column, src, filename);
    case UG_ENAME: exc = PyExc_NameError; break;
    case UG_ETYPE:
    case UG_EDTYPE: exc = PyExc_TypeError; break;
    case UG_ESIGNATURE:
    case UG_ELAYOUT:
    case UG_ESHAPE:
    case UG_EOPERANDS:
    case UG_EOVERLAP:
    case UG_EINVAL: exc = PyExc_ValueError; break;
    case UG_EINDEX: exc = PyExc_IndexError; break;
    case UG_ENOMEM: return PyErr_NoMemory();
    case UG_EUNSUPPORTED: exc = PyExc_NotImplementedError; break;
    case UG_ERAISE: return raise_named(msg);
    default: exc = PyExc_RuntimeError; break;
    }
    /* messages are valid UTF-8 (base_utf8_fix); decode leniently anyway,
     * so a message can never turn into a UnicodeDecodeError */
    PyObject *text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "backslashreplace");
    if (text) {
        PyErr_SetObject(exc, text);
        Py_DECREF(text);
    }
    return NULL;
}

/* ------------------------------------------------------------ adding loops, user data */

int ug_numpy_add(PyObject *uf, const char *sig)
{
    bridge *b = bridge_of(uf);
    if (!b) {
        PyErr_SetString(PyExc_TypeError, "not a ufunc made by ufuncgen");
        return -1;
    }
    ug_error err;
    int loop;
    ug_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ug_ufunc_add(b->f, sig, &loop, &err);
    Py_END_ALLOW_THREADS
    if (st != UG_OK) {
        ug_numpy_raise(st, err.msg, err.line, err.column, NULL, NULL);
        return -1;
    }
    return register_new_loops(uf, b) < 0 ? -1 : loop;
}

int ug_numpy_set_user(PyObject *uf, PyObject *obj)
{
    bridge *b = bridge_of(uf);
    if (!b) {
        PyErr_SetString(PyExc_TypeError, "not a ufunc made by ufuncgen");
        return -1;
    }
    Py_XINCREF(obj);
    Py_XSETREF(b->user, obj);
    return 0;
}

PyObject *ug_numpy_user(PyObject *uf)
{
    bridge *b = bridge_of(uf);
    return b ? b->user : NULL;
}

/* ------------------------------------------------------------ writable inputs */

int ug_numpy_set_writable_input(PyObject *obj, int k)
{
    bridge *b = bridge_of(obj);
    if (!b || k < 0 || k >= ug_ufunc_nin(b->f)) {
        PyErr_Format(PyExc_ValueError, "writable argument %d is not an input of this ufuncgen ufunc", k);
        return -1;
    }
    ((PyUFuncObject *)obj)->op_flags[k] = NPY_ITER_READWRITE | NPY_ITER_UPDATEIFCOPY;
    return 0;
}
