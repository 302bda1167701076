/* numpy_ext.c — a C extension module whose ufuncs are written as kernel
 * strings and compiled when the module is imported, via ufuncgen/numpy.h.
 *
 *     >>> from ufuncgen import _numpy_ext_example as ext
 *     >>> ext.hypot2(3.0, 4.0)          # a real numpy.ufunc
 *     5.0
 *     >>> ext.rownorm(np.ones((2, 4)))  # a gufunc, layout (n)->()
 *     array([2., 2.])
 *
 * The pattern for a third-party extension: one ug_context for the life of
 * the process, ug_vectorize / ug_guvectorize per kernel, ug_numpy_ufunc to
 * hand each one to NumPy (the numpy.ufunc then owns it), ug_numpy_raise to
 * turn a failure into the right Python exception.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ufuncgen/numpy.h"

static ug_context *ctx; /* never freed: the ufuncs live until exit */

static const char hypot2_src[] =
    "def hypot2(x, y):\n"
    "    \"\"\"sqrt(x*x + y*y), computed naively.\"\"\"\n"
    "    return math.sqrt(x * x + y * y)\n";

static const char rownorm_src[] =
    "def rownorm(a, out):\n"
    "    acc = 0.0\n"
    "    for i in range(a.shape[0]):\n"
    "        acc += a[i] * a[i]\n"
    "    out[0] = sqrt(acc)\n";

static const char clamp_src[] = "lambda x, lo, hi: min(max(x, lo), hi)\n";

static PyObject *raise_ctx(const char *src)
{
    return ug_numpy_raise(ug_errcode(ctx), ug_errmsg(ctx), ug_errline(ctx), ug_errcolumn(ctx), src, "numpy_ext.c");
}

/* Build one ufunc and add it to the module; -1 with an exception on failure. */
static int add(PyObject *m, const char *attr, const char *src, const char *layout, const char *const *sigs, int n,
               ug_identity identity)
{
    ug_options o;
    ug_options_init(&o);
    o.name = attr;
    o.identity = identity;
    ug_ufunc *f;
    ug_status st = layout ? ug_guvectorize(ctx, src, layout, sigs, n, &o, &f) : ug_vectorize(ctx, src, sigs, n, &o, &f);
    if (st != UG_OK) {
        raise_ctx(src);
        return -1;
    }
    PyObject *uf = ug_numpy_ufunc(f); /* owns f, also on failure */
    if (!uf)
        return -1;
    if (PyModule_AddObject(m, attr, uf) < 0) {
        Py_DECREF(uf);
        return -1;
    }
    return 0;
}

/* compile(source) -> lazy numpy.ufunc: errors in the kernel surface as Python exceptions. */
static PyObject *py_compile(PyObject *self, PyObject *arg)
{
    const char *src = PyUnicode_AsUTF8(arg);
    if (!src)
        return NULL;
    ug_ufunc *f;
    if (ug_vectorize(ctx, src, NULL, 0, NULL, &f) != UG_OK)
        return raise_ctx(src);
    return ug_numpy_ufunc(f);
}

static PyMethodDef methods[] = {
    {"compile", py_compile, METH_O, "compile(source) -> numpy.ufunc (lazy: loops compiled per input dtypes)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_numpy_ext_example",
                                    "Example C extension: ufuncs from kernel strings via ufuncgen/numpy.h.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__numpy_ext_example(void)
{
    PyObject *m = PyModule_Create(&moddef);
    if (!m)
        return NULL;
    if (!ctx && !(ctx = ug_context_new(NULL))) {
        Py_DECREF(m);
        return PyErr_NoMemory();
    }
    static const char *const hypot_sigs[] = {"f8(f8, f8)", "f4(f4, f4)"};
    static const char *const norm_sigs[] = {"void(float64[:], float64[:])"};
    static const char *const clamp_sigs[] = {"ddd->d", "lll->l"};
    if (add(m, "hypot2", hypot2_src, NULL, hypot_sigs, 2, UG_IDENTITY_NONE) < 0 ||
        add(m, "rownorm", rownorm_src, "(n)->()", norm_sigs, 1, UG_IDENTITY_NONE) < 0 ||
        add(m, "clamp", clamp_src, NULL, clamp_sigs, 2, UG_IDENTITY_NONE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
