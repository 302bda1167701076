/* loops_support.h — what the white-box suites of loops/ share: typed ASTs
 * built by hand (the contract of kernel.h's "Typed AST invariants"),
 * kernels from source, compiling and loading through loops_compile and
 * loops_load, tracked allocations freed after each test, integer value
 * helpers and float comparisons. Each suite is one translation unit that
 * includes this header once (so its helpers are static).
 */
#ifndef UG_TESTS_LOOPS_SUPPORT_H
#define UG_TESTS_LOOPS_SUPPORT_H

#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

#include <check.h>
#include <fenv.h>
#include <pthread.h>
#include <unistd.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"
#include "loops/gen.h"
#include "loops/loops.h"
#include "base/base.h"

/* ---------------------------------------------------------------- allocations */

/* Hand-built ASTs, layouts, modules and typed kernels of one test, freed by
 * the teardown of every test (so the suite is clean under valgrind). */
enum { MAX_TRACKED = 4096 };
static struct tracked { void *p; void (*free)(void *); } tracked[MAX_TRACKED];
static int ntracked;
static pthread_mutex_t tracked_mu = PTHREAD_MUTEX_INITIALIZER;

static void *track(void *p, void (*fr)(void *))
{
    pthread_mutex_lock(&tracked_mu);
    ck_assert_int_lt(ntracked, MAX_TRACKED);
    tracked[ntracked++] = (struct tracked){p, fr};
    pthread_mutex_unlock(&tracked_mu);
    return p;
}

static void *talloc(size_t n, size_t size) { return track(calloc(n ? n : 1, size), free); }

static void free_tracked(void)
{
    while (ntracked > 0) {
        ntracked--;
        tracked[ntracked].free(tracked[ntracked].p);
    }
}

/* ---------------------------------------------------------------- AST builders */

static kernel_type sty(ug_dtype dt) { return (kernel_type){.kind = KT_SCALAR, .dt = (int8_t)dt}; }
static kernel_type aty(ug_dtype dt, int nd) { return (kernel_type){.kind = KT_ARRAY, .dt = (int8_t)dt, .ndim = (uint8_t)nd}; }

static kernel_node *nd(int kind, kernel_type ty)
{
    kernel_node *n = talloc(1, sizeof *n);
    n->kind = (uint8_t)kind;
    n->ty = ty;
    n->opty = ty;
    n->builtin = -1;
    n->pos.line = 1;
    n->pos.col = 1;
    return n;
}

static kernel_node *param(int idx, kernel_type ty)
{
    kernel_node *n = nd(N_NAME, ty);
    n->symkind = SYM_PARAM;
    n->index = idx;
    n->name = "p";
    return n;
}

static kernel_node *local(int idx, kernel_type ty)
{
    kernel_node *n = param(idx, ty);
    n->symkind = SYM_LOCAL;
    return n;
}

static kernel_node *fnum(double v, ug_dtype dt)
{
    kernel_node *n = nd(N_FLOAT, sty(dt));
    n->fval = v;
    return n;
}

static kernel_node *inum(int64_t v, ug_dtype dt)
{
    kernel_node *n = nd(N_INT, sty(dt));
    n->ival = v;
    return n;
}

static kernel_node *bin(int op, kernel_node *a, kernel_node *b, ug_dtype opty)
{
    kernel_node *n = nd(N_BINARY, sty(opty));
    n->op = (uint16_t)op;
    n->a = a;
    n->b = b;
    return n;
}

static kernel_node *call(int b, kernel_node **args, int nargs, ug_dtype opty, ug_dtype ty)
{
    kernel_node *n = nd(N_CALL, sty(ty));
    n->opty = sty(opty);
    n->builtin = b;
    n->kids = talloc((size_t)nargs, sizeof *n->kids);
    memcpy(n->kids, args, (size_t)nargs * sizeof *args);
    n->nkids = nargs;
    return n;
}

static kernel_node *blockn(int nk, kernel_node **kids)
{
    kernel_node *n = nd(N_BLOCK, (kernel_type){0});
    n->kids = talloc((size_t)nk + 1, sizeof *n->kids);
    memcpy(n->kids, kids, (size_t)nk * sizeof *kids);
    n->nkids = nk;
    return n;
}

static kernel_node *ret(kernel_node *a)
{
    kernel_node *n = nd(N_RETURN, (kernel_type){0});
    n->a = a;
    return n;
}

static kernel_node *assign(kernel_node *target, kernel_node *v)
{
    kernel_node *n = nd(N_ASSIGN, (kernel_type){0});
    n->kids = talloc(1, sizeof *n->kids);
    n->kids[0] = target;
    n->nkids = 1;
    n->b = v;
    return n;
}

/* A scalar kernel: params of the given dtypes, locals, body; returns out. */
static kernel_typed *scalar_kernel(int nin, const ug_dtype *in, ug_dtype out, kernel_node *body, int nlocals,
                                   const kernel_type *ltys)
{
    kernel_func *f = talloc(1, sizeof *f);
    f->name = "k";
    f->nparams = nin;
    f->params = talloc((size_t)nin + 1, sizeof *f->params);
    for (int k = 0; k < nin; k++)
        f->params[k] = (kernel_var){.name = "x", .ty = sty(in[k])};
    f->nlocals = nlocals;
    f->locals = talloc((size_t)nlocals + 1, sizeof *f->locals);
    for (int k = 0; k < nlocals; k++)
        f->locals[k] = (kernel_var){.name = "l", .ty = ltys[k]};
    f->body = body->kind == N_BLOCK ? body : blockn(1, (kernel_node *[]){ret(body)});
    f->ret = sty(out);
    kernel_typed *t = talloc(1, sizeof *t);
    t->kernel = f;
    t->funcs = talloc(1, sizeof *t->funcs);
    t->funcs[0] = f;
    t->nfuncs = 1;
    t->nin = nin;
    t->nout = 1;
    t->out_dt = out;
    return t;
}

static layout_sig *scalar_layout(int nin, int nout)
{
    layout_sig *s = talloc(1, sizeof *s);
    s->nin = nin;
    s->nout = nout;
    s->op_ncore = talloc((size_t)(nin + nout), sizeof *s->op_ncore);
    s->op_dims = talloc((size_t)(nin + nout), sizeof *s->op_dims);
    s->scalar = true;
    return s;
}

static int symno;

/* Compile and load; returns the loop (fails the test on error). */
/* Set while a test builds a core-shape variant (loops_request.core_sizes/steps). */
static const int64_t *variant_sizes, *variant_steps;
/* The opt_level builds use (3 unless a test sets the product's default, 2). */
static int build_opt_level = 3;

static ug_loop_fn build_ex(kernel_typed *tk, const layout_sig *L, const ug_dtype *dts, int boundscheck, void **objp,
                           size_t *sizep)
{
    char sym[64];
    snprintf(sym, sizeof sym, "test_loop_%d", symno++);
    loops_request r = {.tk = tk, .layout = L, .dtypes = dts, .symbol = sym, .kname = "k", .boundscheck = boundscheck,
                       .opt_level = build_opt_level, .core_sizes = variant_sizes, .core_steps = variant_steps};
    void *obj;
    size_t size;
    ug_error err = {0};
    ug_status st = loops_compile(&r, &obj, &size, &err);
    ck_assert_msg(st == UG_OK, "compile: %s", err.msg);
    loops_code *code;
    ug_loop_fn fn;
    st = loops_load(obj, size, sym, &code, &fn, &err);
    ck_assert_msg(st == UG_OK, "load: %s", err.msg);
    if (objp) {
        *objp = obj;
        *sizep = size;
    } else {
        free(obj);
    }
    return fn;
}

static ug_loop_fn build(kernel_typed *tk, const ug_dtype *dts)
{
    return build_ex(tk, scalar_layout(tk->nin, 1), dts, 0, NULL, NULL);
}

/* ---------------------------------------------------------------- values */

static const ug_dtype ints[] = {UG_INT8, UG_UINT8, UG_INT16, UG_UINT16, UG_INT32, UG_UINT32, UG_INT64, UG_UINT64};

static int bits(ug_dtype dt) { return (int)ug_dtype_size(dt) * 8; }
static bool sgn(ug_dtype dt) { return base_dtype_kind(dt) == BASE_KIND_INT; }

/* Wrap a 64-bit pattern to dt's width (sign- or zero-extended back). */
static int64_t wrap(uint64_t x, ug_dtype dt)
{
    int w = bits(dt);
    if (w == 64)
        return (int64_t)x;
    uint64_t m = (1ull << w) - 1;
    x &= m;
    if (sgn(dt) && (x >> (w - 1)))
        x |= ~m;
    return (int64_t)x;
}

static void put(void *p, ug_dtype dt, int64_t v)
{
    switch (ug_dtype_size(dt)) {
    case 1: *(int8_t *)p = (int8_t)v; break;
    case 2: *(int16_t *)p = (int16_t)v; break;
    case 4: *(int32_t *)p = (int32_t)v; break;
    default: *(int64_t *)p = v; break;
    }
}

static int64_t get(const void *p, ug_dtype dt)
{
    switch (dt) {
    case UG_BOOL: return *(const uint8_t *)p;
    case UG_INT8: return *(const int8_t *)p;
    case UG_UINT8: return *(const uint8_t *)p;
    case UG_INT16: return *(const int16_t *)p;
    case UG_UINT16: return *(const uint16_t *)p;
    case UG_INT32: return *(const int32_t *)p;
    case UG_UINT32: return *(const uint32_t *)p;
    default: return *(const int64_t *)p;
    }
}

static int int_values(ug_dtype dt, int64_t *v)
{
    int w = bits(dt), n = 0;
    uint64_t mn = sgn(dt) ? 1ull << (w - 1) : 0, mx = sgn(dt) ? (1ull << (w - 1)) - 1 : ~0ull;
    int64_t raw[] = {0, 1, -1, 2, -2, 3, -3, 7, -7, 100, w - 1, w, w + 1, 5, -128};
    for (size_t k = 0; k < sizeof raw / sizeof raw[0]; k++)
        v[n++] = wrap((uint64_t)raw[k], dt);
    v[n++] = wrap(mn, dt);
    v[n++] = wrap(mx, dt);
    v[n++] = wrap(mn + 1, dt);
    v[n++] = wrap(mx - 1, dt);
    return n;
}


/* Same value, same sign of zero; any NaN matches any NaN. */
static bool same(double got, double want) { return (isnan(got) && isnan(want)) || (got == want && signbit(got) == signbit(want)); }

static bool close_ulps(double got, double want, int ulps, bool f32)
{
    if (isnan(want) || isnan(got) || isinf(want) || want == 0)
        return same(got, want) || (ulps && fabs(got - want) < (f32 ? 1e-37 : 1e-300));
    double ulp = f32 ? fabs(nextafterf((float)want, INFINITY) - (float)want) : fabs(nextafter(want, INFINITY) - want);
    return fabs(got - want) <= ulps * ulp;
}

static kernel_typed *sigmoid_kernel(ug_dtype dt)
{
    kernel_node *neg = nd(N_UNARY, sty(dt));
    neg->op = TK_MINUS;
    neg->a = param(0, sty(dt));
    kernel_node *e = call(B_EXP, &neg, 1, dt, dt);
    return scalar_kernel(1, &dt, dt, bin(TK_SLASH, fnum(1.0, dt), bin(TK_PLUS, fnum(1.0, dt), e, dt), dt), 0, NULL);
}

static void free_module(void *m) { kernel_module_free(m); }
static void free_typed(void *t) { kernel_typed_free(t); }
static void free_layout(void *l) { layout_free(l); }

/* Parse and infer src for the given argument types (freed at teardown). */
static kernel_typed *typed_src(const char *src, bool gufunc, int nin, int nout, const kernel_argtype *args)
{
    kernel_source *ks = talloc(1, sizeof *ks);
    ks->text = src;
    ks->len = strlen(src);
    kernel_module *m;
    ug_error err = {0};
    ck_assert_msg(kernel_parse(ks, &m, &err) == UG_OK, "parse: %s", err.msg);
    track(m, free_module);
    kernel_func *f = kernel_find(m, NULL, &err);
    ck_assert_msg(f != NULL, "find: %s", err.msg);
    kernel_infer_opts o = {.gufunc = gufunc, .nin = nin, .nout = nout, .args = args};
    kernel_typed *t;
    ck_assert_msg(kernel_infer(m, f, &o, &t, &err) == UG_OK, "infer: %s", err.msg);
    track(t, free_typed); /* freed before the module it borrows from (teardown runs backwards) */
    return t;
}

static ug_loop_fn build_src(const char *src, const char *layout, int nin, int nout, const ug_dtype *dts,
                            const int *ndims, int boundscheck)
{
    kernel_argtype at[UG_MAXARGS];
    for (int k = 0; k < nin + nout; k++)
        at[k] = (kernel_argtype){dts[k], ndims ? ndims[k] : 0};
    layout_sig *L;
    ug_error err = {0};
    if (layout)
        ck_assert_msg(layout_parse(layout, &L, &err) == UG_OK && track(L, free_layout), "layout: %s", err.msg);
    else
        L = track(layout_scalar(nin, nout), free_layout);
    return build_ex(typed_src(src, layout != NULL, nin, nout, at), L, dts, boundscheck, NULL, NULL);
}


/* One float64 -> float64/int64/bool element through a kernel from source. */
static void run_f64(ug_loop_fn fn, const double *x, void *out, ug_dtype odt, int n)
{
    char *args[2] = {(char *)x, (char *)out};
    intptr_t d[1] = {n}, st[2] = {8, (intptr_t)ug_dtype_size(odt)};
    fn(args, d, st, NULL);
}

/* Stderr of UFUNCGEN_DUMP=what while building: dump_begin, build, dump_end
 * (a static buffer). */
static int dump_fd = -1, dump_saved = -1;

static void dump_begin(const char *what)
{
    char path[] = "/tmp/test_loops_dumpXXXXXX";
    dump_fd = mkstemp(path);
    ck_assert_int_ge(dump_fd, 0);
    unlink(path);
    fflush(stderr);
    dump_saved = dup(2);
    dup2(dump_fd, 2);
    setenv("UFUNCGEN_DUMP", what, 1);
}

static const char *dump_end(void)
{
    int fd = dump_fd, saved = dump_saved;
    unsetenv("UFUNCGEN_DUMP");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fdopen(fd, "r");
    rewind(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    return text;
}

/* What building tk prints to stderr with UFUNCGEN_DUMP=what. */
static const char *dump_of(const char *what, kernel_typed *tk, const ug_dtype *dts)
{
    dump_begin(what);
    build(tk, dts);
    return dump_end();
}

/* NumPy's npy_divmod (numpy/_core/src/npymath/npy_math_internal.h.src). */
static double ref_divmod(double a, double b, double *modulus)
{
    double mod = fmod(a, b), div, floordiv;
    if (!b) {
        *modulus = mod;
        return a / b;
    }
    div = (a - mod) / b;
    if (mod) {
        if (isless(b, 0) != isless(mod, 0)) {
            mod += b;
            div -= 1.0;
        }
    } else {
        mod = copysign(0, b);
    }
    if (div) {
        floordiv = floor(div);
        if (isgreater(div - floordiv, 0.5))
            floordiv += 1.0;
    } else {
        floordiv = copysign(0, a / b);
    }
    *modulus = mod;
    return floordiv;
}

static float ref_divmodf(float a, float b, float *modulus)
{
    float mod = fmodf(a, b), div, floordiv;
    if (!b) {
        *modulus = mod;
        return a / b;
    }
    div = (a - mod) / b;
    if (mod) {
        if (isless(b, 0) != isless(mod, 0)) {
            mod += b;
            div -= 1.0f;
        }
    } else {
        mod = copysignf(0, b);
    }
    if (div) {
        floordiv = floorf(div);
        if (isgreater(div - floordiv, 0.5f))
            floordiv += 1.0f;
    } else {
        floordiv = copysignf(0, a / b);
    }
    *modulus = mod;
    return floordiv;
}

/* cvttsd2si: NaN and out-of-range give INT_MIN. */
static int64_t cvtt64(double x) { return (x >= -0x1p63 && x < 0x1p63) ? (int64_t)x : INT64_MIN; }

static int32_t cvtt32(double x) { return (x > -2147483649.0 && x < 2147483648.0) ? (int32_t)x : INT32_MIN; }

/* A test case of these suites: 300 s, allocations freed after each test. */
static TCase *loops_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, NULL, free_tracked);
    return tc;
}

/* Run a suite with UFUNCGEN_VERIFY on (every generated module verified). */
static int run_suite(Suite *s)
{
    setenv("UFUNCGEN_VERIFY", "1", 1);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
