/* _ufuncgen.c — the extension module behind the Python package `ufuncgen`.
 *
 * A thin layer: argument conversion, one process-wide ug_context, and
 * ufuncgen/numpy.h for the numpy.ufunc itself. Everything a Python user
 * sees (decorators, source extraction, pickling) lives in ufuncgen/__init__.py.
 * Compilation runs with the GIL released. The context is never freed: the
 * ufuncs made from it may live until interpreter exit.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdlib.h>

#include "ufuncgen/aot.h"
#include "ufuncgen/numpy.h"

static ug_context *g_ctx;

/* sigs: None (lazy) or a sequence of str. Fills a malloc'd array of UTF-8
 * pointers owned by *hold (a tuple kept alive by the caller). */
static int convert_sigs(PyObject *sigs, PyObject **hold, const char ***out, int *n)
{
    *hold = NULL;
    *out = NULL;
    *n = 0;
    if (sigs == Py_None)
        return 0;
    if (!(*hold = PySequence_Tuple(sigs)))
        return -1;
    Py_ssize_t len = PyTuple_GET_SIZE(*hold);
    if (len > 256) {
        PyErr_SetString(PyExc_ValueError, "too many signatures (at most 256)");
        return -1;
    }
    *out = calloc((size_t)len + 1, sizeof **out);
    if (!*out) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *s = PyTuple_GET_ITEM(*hold, i);
        if (!PyUnicode_Check(s)) {
            PyErr_Format(PyExc_TypeError, "signature %zd must be a str, not %.100s", i, Py_TYPE(s)->tp_name);
            return -1;
        }
        if (!((*out)[i] = PyUnicode_AsUTF8(s)))
            return -1;
    }
    *n = (int)len;
    return 0;
}

static int set_writable(PyObject *uf, PyObject *writable)
{
    if (writable == Py_None)
        return 0;
    PyObject *t = PySequence_Tuple(writable);
    if (!t)
        return -1;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t); i++) {
        int k = (int)PyLong_AsLong(PyTuple_GET_ITEM(t, i));
        if ((k == -1 && PyErr_Occurred()) || ug_numpy_set_writable_input(uf, k) < 0) {
            Py_DECREF(t);
            return -1;
        }
    }
    Py_DECREF(t);
    return 0;
}

/* A thread count option: any Python int; one that does not fit a C int is a
 * ValueError naming the option and the value (it used to wrap silently, or
 * raise an OverflowError naming neither); the library checks the range. */
static int thread_count(PyObject *v, const char *what, int *out)
{
    int overflow = 0;
    PyObject *i = PyNumber_Index(v);
    if (!i)
        return -1;
    long long n = PyLong_AsLongLongAndOverflow(i, &overflow);
    if (overflow || n < INT_MIN || n > INT_MAX)
        PyErr_Format(PyExc_ValueError, "%s=%R is out of range (0..4096)", what, i); /* ufuncgen.h: at most 4096 */
    Py_DECREF(i);
    if (PyErr_Occurred())
        return -1;
    *out = (int)n;
    return 0;
}

static PyObject *py_make(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"source", "layout", "signatures", "name", "kernel", "doc", "target", "cache",
                             "fastmath", "boundscheck", "identity", "num_threads", "writable_args", "locals",
                             "math", "background", "defer", NULL};
    const char *src, *layout = NULL, *name = NULL, *kernel = NULL, *doc = NULL, *locals = NULL;
    PyObject *sigs = Py_None, *writable = Py_None, *threads = NULL;
    int target = 0, cache = 0, fastmath = 0, boundscheck = 0, identity = 0, num_threads = 0, math = 0;
    int background = 0, defer = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "szO|zzziiiiiOOziii", kwlist, &src, &layout, &sigs, &name, &kernel,
                                     &doc, &target, &cache, &fastmath, &boundscheck, &identity, &threads,
                                     &writable, &locals, &math, &background, &defer))
        return NULL;
    if (threads && thread_count(threads, "num_threads", &num_threads) < 0)
        return NULL;
    PyObject *hold = NULL;
    const char **csigs = NULL;
    int nsigs = 0;
    if (convert_sigs(sigs, &hold, &csigs, &nsigs) < 0) {
        Py_XDECREF(hold);
        free(csigs);
        return NULL;
    }
    ug_options o;
    ug_options_init(&o);
    o.name = name;
    o.kernel = kernel;
    o.doc = doc;
    o.target = (ug_target)target;
    o.cache = cache;
    o.fastmath = fastmath;
    o.boundscheck = boundscheck;
    o.identity = (ug_identity)identity;
    o.num_threads = num_threads;
    o.locals = locals;
    o.math = (ug_math)math;
    o.background = background;
    o.defer = defer;
    ug_ufunc *f = NULL;
    ug_status st;
    Py_BEGIN_ALLOW_THREADS
    if (layout)
        st = ug_guvectorize(g_ctx, src, layout, csigs, nsigs, &o, &f);
    else
        st = ug_vectorize(g_ctx, src, csigs, nsigs, &o, &f);
    Py_END_ALLOW_THREADS
    free(csigs);
    Py_XDECREF(hold);
    if (st != UG_OK)
        return ug_numpy_raise(st, ug_errmsg(g_ctx), ug_errline(g_ctx), ug_errcolumn(g_ctx), src, NULL);
    PyObject *uf = ug_numpy_ufunc(f);
    if (uf && set_writable(uf, writable) < 0)
        Py_CLEAR(uf);
    return uf;
}

static PyObject *py_background_wait(PyObject *self, PyObject *unused)
{
    Py_BEGIN_ALLOW_THREADS
    ug_background_wait();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_background_stop(PyObject *self, PyObject *unused)
{
    Py_BEGIN_ALLOW_THREADS
    ug_background_stop();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_set_num_threads(PyObject *self, PyObject *arg)
{
    int n;
    if (thread_count(arg, "set_num_threads", &n) < 0)
        return NULL;
    ug_status st = ug_context_set_num_threads(g_ctx, n);
    if (st != UG_OK)
        return ug_numpy_raise(st, ug_errmsg(g_ctx), -1, -1, NULL, NULL);
    Py_RETURN_NONE;
}

static PyObject *py_is_ufuncgen(PyObject *self, PyObject *arg)
{
    return PyBool_FromLong(ug_numpy_get(arg) != NULL);
}

static PyObject *py_loops(PyObject *self, PyObject *arg)
{
    ug_ufunc *f = ug_numpy_get(arg);
    if (!f) {
        PyErr_SetString(PyExc_TypeError, "not a ufuncgen ufunc");
        return NULL;
    }
    int n = ug_ufunc_nloops(f), nargs = ug_ufunc_nin(f) + ug_ufunc_nout(f);
    PyObject *list = PyList_New(0);
    for (int i = 0; list && i < n; i++) {
        ug_dtype t[UG_MAXARGS];
        ug_ufunc_loop_types(f, i, t);
        PyObject *tup = PyTuple_New(nargs);
        for (int k = 0; tup && k < nargs; k++)
            PyTuple_SET_ITEM(tup, k, PyUnicode_FromString(ug_dtype_name(t[k])));
        if (!tup || PyList_Append(list, tup) < 0)
            Py_CLEAR(list);
        Py_XDECREF(tup);
    }
    return list;
}

static PyObject *py_get_num_threads(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(ug_context_num_threads(g_ctx));
}

static PyObject *py_default_num_threads(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(ug_default_num_threads());
}

static PyObject *py_add(PyObject *self, PyObject *args)
{
    PyObject *uf;
    const char *sig;
    if (!PyArg_ParseTuple(args, "Os", &uf, &sig))
        return NULL;
    int loop = ug_numpy_add(uf, sig);
    return loop < 0 ? NULL : PyLong_FromLong(loop);
}

static ug_ufunc *ours(PyObject *uf)
{
    ug_ufunc *f = ug_numpy_get(uf);
    if (!f)
        PyErr_SetString(PyExc_TypeError, "not a ufuncgen ufunc");
    return f;
}

static PyObject *py_disable_compile(PyObject *self, PyObject *uf)
{
    ug_ufunc *f = ours(uf);
    if (!f)
        return NULL;
    ug_ufunc_disable_compile(f);
    Py_RETURN_NONE;
}

static PyObject *py_is_lazy(PyObject *self, PyObject *uf)
{
    ug_ufunc *f = ours(uf);
    return f ? PyBool_FromLong(ug_ufunc_is_lazy(f)) : NULL;
}

static PyObject *py_set_user(PyObject *self, PyObject *args)
{
    PyObject *uf, *obj;
    if (!PyArg_ParseTuple(args, "OO", &uf, &obj))
        return NULL;
    if (ug_numpy_set_user(uf, obj) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_get_user(PyObject *self, PyObject *uf)
{
    PyObject *o = ug_numpy_user(uf);
    if (!o)
        Py_RETURN_NONE;
    Py_INCREF(o);
    return o;
}

/* aot_build(description, path, module, outdir, levels, opt_level): an
 * ahead-of-time build (ufuncgen/aot.h) with the GIL released. */
static PyObject *py_aot_build(PyObject *self, PyObject *args)
{
    const char *text, *path, *module, *dir;
    PyObject *levels;
    int opt;
    if (!PyArg_ParseTuple(args, "szssOi", &text, &path, &module, &dir, &levels, &opt))
        return NULL;
    PyObject *t = PySequence_Tuple(levels);
    if (!t)
        return NULL;
    const char *lv[8];
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    for (Py_ssize_t i = 0; i < n && i < 8; i++)
        if (!(lv[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(t, i)))) {
            Py_DECREF(t);
            return NULL;
        }
    ug_config cfg;
    ug_config_init(&cfg);
    cfg.opt_level = opt;
    ug_context *ctx = ug_context_new(&cfg);
    if (!ctx) {
        Py_DECREF(t);
        return PyErr_NoMemory();
    }
    ug_aot *a = NULL;
    ug_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ug_aot_new(ctx, module, &a);
    if (st == UG_OK)
        st = ug_aot_add_spec(a, text, path);
    if (st == UG_OK)
        st = n > 8 ? UG_EINVAL : ug_aot_write(a, dir, lv, (int)n);
    Py_END_ALLOW_THREADS
    PyObject *r = NULL;
    if (st == UG_OK) {
        r = Py_None;
        Py_INCREF(r);
    } else if (n > 8) {
        PyErr_SetString(PyExc_ValueError, "at most 8 CPU levels");
    } else {
        ug_numpy_raise(st, ug_errmsg(ctx), -1, -1, NULL, NULL);
    }
    ug_aot_free(a);
    ug_context_free(ctx);
    Py_DECREF(t);
    return r;
}

static PyMethodDef methods[] = {
    {"get_num_threads", py_get_num_threads, METH_NOARGS, "Threads target='parallel' ufuncs use now."},
    {"default_num_threads", py_default_num_threads, METH_NOARGS,
     "The default thread count (UFUNCGEN_NUM_THREADS, else OpenMP's)."},
    {"add", py_add, METH_VARARGS, "add(ufunc, signature) -> loop index: compile one more loop."},
    {"disable_compile", py_disable_compile, METH_O, "Stop compiling loops for new input dtypes."},
    {"is_lazy", py_is_lazy, METH_O, "True if new input dtypes compile a new loop."},
    {"set_user", py_set_user, METH_VARARGS, "set_user(ufunc, obj): keep obj with the ufunc."},
    {"get_user", py_get_user, METH_O, "The object kept by set_user, or None."},
    {"make", (PyCFunction)(void (*)(void))py_make, METH_VARARGS | METH_KEYWORDS,
     "make(source, layout, signatures, *, name, kernel, doc, target, cache, fastmath, boundscheck, identity, "
     "num_threads, writable_args, locals, math, background, defer) -> numpy.ufunc"},
    {"background_wait", py_background_wait, METH_NOARGS, "Wait for every loop queued in the background."},
    {"background_stop", py_background_stop, METH_NOARGS, "Leave queued loops to their first call; wait for running ones."},
    {"set_num_threads", py_set_num_threads, METH_O, "Default thread count of target='parallel' ufuncs."},
    {"is_ufuncgen", py_is_ufuncgen, METH_O, "True if the object is a ufunc made by ufuncgen."},
    {"loops", py_loops, METH_O, "The dtype names of each compiled loop (inputs then outputs)."},
    {"aot_build", py_aot_build, METH_VARARGS,
     "aot_build(description, path, module, outdir, levels, opt_level): an ahead-of-time build."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_ufuncgen", "ufuncgen's extension module.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__ufuncgen(void)
{
    PyObject *m = PyModule_Create(&moddef);
    if (!m)
        return NULL;
    if (!g_ctx && !(g_ctx = ug_context_new(NULL))) {
        Py_DECREF(m);
        return PyErr_NoMemory();
    }
    if (PyModule_AddStringConstant(m, "__version__", UG_VERSION_STRING) < 0 ||
        PyModule_AddIntConstant(m, "IDENTITY_NONE", UG_IDENTITY_NONE) < 0 ||
        PyModule_AddIntConstant(m, "IDENTITY_ZERO", UG_IDENTITY_ZERO) < 0 ||
        PyModule_AddIntConstant(m, "IDENTITY_ONE", UG_IDENTITY_ONE) < 0 ||
        PyModule_AddIntConstant(m, "IDENTITY_MINUS_ONE", UG_IDENTITY_MINUS_ONE) < 0 ||
        PyModule_AddIntConstant(m, "IDENTITY_REORDERABLE", UG_IDENTITY_REORDERABLE) < 0 ||
        PyModule_AddIntConstant(m, "TARGET_CPU", UG_TARGET_CPU) < 0 ||
        PyModule_AddIntConstant(m, "TARGET_PARALLEL", UG_TARGET_PARALLEL) < 0 ||
        PyModule_AddIntConstant(m, "FASTMATH_ALL", UG_FASTMATH_ALL) < 0 ||
        PyModule_AddIntConstant(m, "FASTMATH_REASSOC", UG_FASTMATH_REASSOC) < 0 ||
        PyModule_AddIntConstant(m, "FASTMATH_NNAN", UG_FASTMATH_NNAN) < 0 ||
        PyModule_AddIntConstant(m, "FASTMATH_NINF", UG_FASTMATH_NINF) < 0 ||
        PyModule_AddIntConstant(m, "FASTMATH_NSZ", UG_FASTMATH_NSZ) < 0 ||
        PyModule_AddIntConstant(m, "FASTMATH_ARCP", UG_FASTMATH_ARCP) < 0 ||
        PyModule_AddIntConstant(m, "FASTMATH_CONTRACT", UG_FASTMATH_CONTRACT) < 0 ||
        PyModule_AddIntConstant(m, "FASTMATH_AFN", UG_FASTMATH_AFN) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
