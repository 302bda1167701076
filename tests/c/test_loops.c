/* test_loops.c — white-box suite of loops/: typed ASTs built by hand (the
 * contract of kernel.h's "Typed AST invariants"), compiled, loaded into the
 * JIT and called through NumPy's loop ABI, compared with independent C
 * references: every operator, cast and math function on every dtype, edge
 * values, every stride path, aliasing, FP flags, gufuncs.
 */
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

static ug_loop_fn build_ex(kernel_typed *tk, const layout_sig *L, const ug_dtype *dts, int boundscheck, void **objp,
                           size_t *sizep)
{
    char sym[64];
    snprintf(sym, sizeof sym, "test_loop_%d", symno++);
    loops_request r = {.tk = tk, .layout = L, .dtypes = dts, .symbol = sym, .kname = "k", .boundscheck = boundscheck,
                       .opt_level = 3, .core_sizes = variant_sizes, .core_steps = variant_steps};
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

/* ---------------------------------------------------------------- integer references */

static int64_t ref_int(int op, int64_t a, int64_t b, ug_dtype dt, int *divzero)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    int w = bits(dt);
    switch (op) {
    case TK_PLUS: return wrap(ua + ub, dt);
    case TK_MINUS: return wrap(ua - ub, dt);
    case TK_STAR: return wrap(ua * ub, dt);
    case TK_AMP: return wrap(ua & ub, dt);
    case TK_PIPE: return wrap(ua | ub, dt);
    case TK_CARET: return wrap(ua ^ ub, dt);
    case TK_LSHIFT: return ub < (uint64_t)w ? wrap(ua << b, dt) : 0;
    case TK_RSHIFT:
        if (ub < (uint64_t)w)
            return sgn(dt) ? (a >> b) : (int64_t)(ua >> b);
        return sgn(dt) && a < 0 ? -1 : 0;
    case TK_DSLASH: case TK_PERCENT:
        if (b == 0) {
            *divzero = 1;
            return 0;
        }
        if (!sgn(dt)) {
            uint64_t m = w == 64 ? ~0ull : (1ull << w) - 1;
            return op == TK_DSLASH ? (int64_t)((ua & m) / (ub & m)) : (int64_t)((ua & m) % (ub & m));
        }
        if (b == -1)
            return op == TK_DSLASH ? wrap(0 - ua, dt) : 0;
        {
            int64_t q = a / b, r = a % b;
            if (r && ((r < 0) != (b < 0))) {
                q--;
                r += b;
            }
            return op == TK_DSLASH ? q : r;
        }
    case TK_DSTAR: {
        if (sgn(dt) && b < 0)
            return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
        uint64_t r = 1, base = ua, e = sgn(dt) ? (uint64_t)b : (ub & (w == 64 ? ~0ull : (1ull << w) - 1));
        while (e) {
            if (e & 1)
                r *= base;
            base *= base;
            e >>= 1;
        }
        return wrap(r, dt);
    }
    default: return 0;
    }
}

/* Whether this environment models FP status flags at all (valgrind does
 * not): the divide-by-zero flag checks are skipped where it cannot. */
static bool fe_flags_work(void)
{
    feclearexcept(FE_ALL_EXCEPT);
    volatile double z = 0.0, one = 1.0, r = one / z;
    (void)r;
    bool ok = fetestexcept(FE_DIVBYZERO) != 0;
    feclearexcept(FE_ALL_EXCEPT);
    return ok;
}

static const int int_ops[] = {TK_PLUS, TK_MINUS, TK_STAR, TK_DSLASH, TK_PERCENT, TK_DSTAR,
                              TK_AMP, TK_PIPE, TK_CARET, TK_LSHIFT, TK_RSHIFT};

/* Run a binary loop over all pairs of vals (contiguous), outputs in out. */
static void run_pairs(ug_loop_fn fn, ug_dtype dt, ug_dtype odt, const int64_t *vals, int nv, void *out)
{
    size_t es = ug_dtype_size(dt);
    int n = nv * nv;
    char *a = calloc((size_t)n, es), *b = calloc((size_t)n, es);
    for (int i = 0; i < nv; i++)
        for (int j = 0; j < nv; j++) {
            put(a + (size_t)(i * nv + j) * es, dt, vals[i]);
            put(b + (size_t)(i * nv + j) * es, dt, vals[j]);
        }
    char *args[3] = {a, b, out};
    intptr_t dims[1] = {n}, steps[3] = {(intptr_t)es, (intptr_t)es, (intptr_t)ug_dtype_size(odt)};
    fn(args, dims, steps, NULL);
    free(a);
    free(b);
}

START_TEST(int_binops_every_dtype)
{
    ug_dtype dt = ints[_i];
    int64_t vals[32];
    int nv = int_values(dt, vals);
    for (size_t o = 0; o < sizeof int_ops / sizeof int_ops[0]; o++) {
        int op = int_ops[o];
        ug_dtype in[2] = {dt, dt}, dts[3] = {dt, dt, dt};
        ug_loop_fn fn = build(scalar_kernel(2, in, dt, bin(op, param(0, sty(dt)), param(1, sty(dt)), dt), 0, NULL), dts);
        char out[32 * 32 * 8];
        feclearexcept(FE_ALL_EXCEPT);
        run_pairs(fn, dt, dt, vals, nv, out);
        int got_dz = fetestexcept(FE_DIVBYZERO) != 0, want_dz = 0;
        for (int i = 0; i < nv; i++)
            for (int j = 0; j < nv; j++) {
                int64_t want = ref_int(op, vals[i], vals[j], dt, &want_dz);
                int64_t got = get(out + (size_t)(i * nv + j) * ug_dtype_size(dt), dt);
                ck_assert_msg(got == want, "%s op %d: %lld, %lld -> %lld, want %lld", ug_dtype_name(dt), op,
                              (long long)vals[i], (long long)vals[j], (long long)got, (long long)want);
            }
        if (fe_flags_work())
            ck_assert_int_eq(got_dz, want_dz);
    }
}
END_TEST

/* Comparisons on every dtype: result bool. */
START_TEST(compare_every_dtype)
{
    static const int ops[] = {TK_LT, TK_LE, TK_GT, TK_GE, TK_EQ, TK_NE};
    ug_dtype dt = (ug_dtype)(_i + 1); /* int8 .. float64 */
    int64_t vals[32];
    double fv[] = {0.0, -0.0, 1.0, -1.0, NAN, INFINITY, -INFINITY, 2.5};
    bool fl = base_dtype_kind(dt) == BASE_KIND_FLOAT;
    int nv = fl ? 8 : int_values(dt, vals);
    for (size_t o = 0; o < 6; o++) {
        kernel_node *c = nd(N_COMPARE, sty(UG_BOOL));
        c->kids = (kernel_node *[]){param(0, sty(dt)), param(1, sty(dt))};
        c->nkids = 2;
        c->cmpops = (uint16_t[]){(uint16_t)ops[o]};
        c->cmptys = (kernel_type[]){sty(dt)};
        kernel_node *kids[2] = {c->kids[0], c->kids[1]};
        c->kids = talloc(2, sizeof *c->kids);
        memcpy(c->kids, kids, sizeof kids);
        ug_dtype in[2] = {dt, dt}, dts[3] = {dt, dt, UG_BOOL};
        ug_loop_fn fn = build(scalar_kernel(2, in, UG_BOOL, c, 0, NULL), dts);
        for (int i = 0; i < nv; i++)
            for (int j = 0; j < nv; j++) {
                char a[8], b[8];
                uint8_t r = 7;
                int want;
                if (fl) {
                    double x = fv[i], y = fv[j];
                    if (dt == UG_FLOAT32) {
                        *(float *)a = (float)x;
                        *(float *)b = (float)y;
                    } else {
                        *(double *)a = x;
                        *(double *)b = y;
                    }
                    want = ops[o] == TK_LT ? x < y : ops[o] == TK_LE ? x <= y : ops[o] == TK_GT ? x > y
                         : ops[o] == TK_GE ? x >= y : ops[o] == TK_EQ ? x == y : x != y;
                } else {
                    put(a, dt, vals[i]);
                    put(b, dt, vals[j]);
                    int64_t x = vals[i], y = vals[j];
                    int c3 = sgn(dt) ? (x < y ? -1 : x > y) : ((uint64_t)x < (uint64_t)y ? -1 : (uint64_t)x > (uint64_t)y);
                    want = ops[o] == TK_LT ? c3 < 0 : ops[o] == TK_LE ? c3 <= 0 : ops[o] == TK_GT ? c3 > 0
                         : ops[o] == TK_GE ? c3 >= 0 : ops[o] == TK_EQ ? c3 == 0 : c3 != 0;
                }
                char *args[3] = {a, b, (char *)&r};
                intptr_t dims[1] = {1}, steps[3] = {0, 0, 1};
                fn(args, dims, steps, NULL);
                ck_assert_msg(r == want, "%s cmp %d pair %d,%d: %d want %d", ug_dtype_name(dt), ops[o], i, j, r, want);
            }
    }
}
END_TEST

/* ---------------------------------------------------------------- floats */

static const double fvals[] = {0.0, -0.0, 1.0, -1.0, 1.5, -2.5, 3.0, 7.0, -7.0, 0.5, 2.5, 1e300, -1e-300,
                               INFINITY, -INFINITY, NAN, 5.75, -0.3};
#define NF ((int)(sizeof fvals / sizeof fvals[0]))

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

static double ref_f64(int op, double a, double b)
{
    double m;
    switch (op) {
    case TK_PLUS: return a + b;
    case TK_MINUS: return a - b;
    case TK_STAR: return a * b;
    case TK_SLASH: return a / b;
    case TK_DSLASH: return ref_divmod(a, b, &m);
    case TK_PERCENT: return b ? (ref_divmod(a, b, &m), m) : fmod(a, b);
    default: return pow(a, b);
    }
}

static float ref_f32(int op, float a, float b)
{
    float m;
    switch (op) {
    case TK_PLUS: return a + b;
    case TK_MINUS: return a - b;
    case TK_STAR: return a * b;
    case TK_SLASH: return a / b;
    case TK_DSLASH: return ref_divmodf(a, b, &m);
    case TK_PERCENT: return b ? (ref_divmodf(a, b, &m), m) : fmodf(a, b);
    default: return powf(a, b);
    }
}

static bool close_ulps(double got, double want, int ulps, bool f32);

/* Same value, same sign of zero; any NaN matches any NaN. */
static bool same(double got, double want) { return (isnan(got) && isnan(want)) || (got == want && signbit(got) == signbit(want)); }

START_TEST(float_binops)
{
    static const int ops[] = {TK_PLUS, TK_MINUS, TK_STAR, TK_SLASH, TK_DSLASH, TK_PERCENT, TK_DSTAR};
    ug_dtype dt = _i ? UG_FLOAT32 : UG_FLOAT64;
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        ug_dtype in[2] = {dt, dt}, dts[3] = {dt, dt, dt};
        ug_loop_fn fn = build(scalar_kernel(2, in, dt, bin(ops[o], param(0, sty(dt)), param(1, sty(dt)), dt), 0, NULL), dts);
        double a[NF * NF], b[NF * NF], out[NF * NF];
        float af[NF * NF], bf[NF * NF], outf[NF * NF];
        for (int i = 0; i < NF * NF; i++) {
            a[i] = fvals[i / NF];
            b[i] = fvals[i % NF];
            af[i] = (float)a[i];
            bf[i] = (float)b[i];
        }
        char *args[3] = {dt == UG_FLOAT64 ? (char *)a : (char *)af, dt == UG_FLOAT64 ? (char *)b : (char *)bf,
                         dt == UG_FLOAT64 ? (char *)out : (char *)outf};
        intptr_t dims[1] = {NF * NF}, steps[3] = {(intptr_t)ug_dtype_size(dt), (intptr_t)ug_dtype_size(dt),
                                                   (intptr_t)ug_dtype_size(dt)};
        fn(args, dims, steps, NULL);
        for (int i = 0; i < NF * NF; i++) {
            double got = dt == UG_FLOAT64 ? out[i] : outf[i];
            double want = dt == UG_FLOAT64 ? ref_f64(ops[o], a[i], b[i]) : ref_f32(ops[o], af[i], bf[i]);
            /* ** goes through libmvec's pow when vectorised: a few ulps from libm */
            bool ok = ops[o] == TK_DSTAR ? close_ulps(got, want, 4, dt == UG_FLOAT32) : same(got, want);
            ck_assert_msg(ok, "%s op %d: %g, %g -> %.17g want %.17g", ug_dtype_name(dt), ops[o], a[i], b[i],
                          got, want);
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- casts */

/* cvttsd2si: NaN and out-of-range give INT_MIN. */
static int64_t cvtt64(double x) { return (x >= -0x1p63 && x < 0x1p63) ? (int64_t)x : INT64_MIN; }
static int32_t cvtt32(double x) { return (x > -2147483649.0 && x < 2147483648.0) ? (int32_t)x : INT32_MIN; }

static int64_t ref_f2i(double x, ug_dtype to)
{
    switch (to) {
    case UG_INT64: return cvtt64(x);
    case UG_INT32: return cvtt32(x);
    case UG_UINT32: return (int64_t)(uint32_t)cvtt64(x);
    case UG_UINT64: return x >= 0x1p63 ? (int64_t)((uint64_t)cvtt64(x - 0x1p63) ^ (1ull << 63)) : cvtt64(x);
    default: return wrap((uint64_t)(int64_t)cvtt32(x), to);
    }
}

START_TEST(casts_every_pair)
{
    static const double fv[] = {NAN, INFINITY, -INFINITY, -1.0, -1.5, 0x1p63, 0x1p64, 1e19, 3e9, -3e9, 300.7,
                                -200.5, 70000.2, 0x1p31, 0x1p32 + 5, -0.0, 0.0, 2147483647.5, -2147483648.9, 255.9};
    ug_dtype from = (ug_dtype)(_i / UG_NDTYPES), to = (ug_dtype)(_i % UG_NDTYPES);
    int64_t iv[32];
    bool ff = base_dtype_kind(from) == BASE_KIND_FLOAT, tf = base_dtype_kind(to) == BASE_KIND_FLOAT;
    int nv = ff ? (int)(sizeof fv / sizeof fv[0]) : from == UG_BOOL ? 2 : int_values(from, iv);
    if (from == UG_BOOL)
        iv[0] = 0, iv[1] = 1;
    kernel_node *c = nd(N_CAST, sty(to));
    c->a = param(0, sty(from));
    ug_dtype dts[2] = {from, to};
    ug_loop_fn fn = build(scalar_kernel(1, &from, to, c, 0, NULL), dts);
    for (int i = 0; i < nv; i++) {
        double fx = from == UG_FLOAT32 ? (double)(float)fv[i] : ff ? fv[i] : 0;
        char in[8] = {0}, out[8] = {0};
        if (from == UG_FLOAT32)
            *(float *)in = (float)fx;
        else if (from == UG_FLOAT64)
            *(double *)in = fx;
        else
            put(in, from, iv[i]);
        char *args[2] = {in, out};
        intptr_t dims[1] = {1}, steps[2] = {0, 0};
        fn(args, dims, steps, NULL);
        if (to == UG_BOOL) {
            int want = ff ? fx != 0 : iv[i] != 0;
            ck_assert_msg(*(uint8_t *)out == want, "%s->bool #%d", ug_dtype_name(from), i);
        } else if (tf) {
            double want = ff ? fx : sgn(from) || from == UG_BOOL ? (double)iv[i] : (double)(uint64_t)iv[i];
            if (to == UG_FLOAT32)
                want = ff ? (double)(float)fx : sgn(from) || from == UG_BOOL ? (double)(float)iv[i] : (double)(float)(uint64_t)iv[i];
            double got = to == UG_FLOAT32 ? *(float *)out : *(double *)out;
            ck_assert_msg(same(got, want), "%s->%s #%d: %.17g want %.17g", ug_dtype_name(from), ug_dtype_name(to), i, got, want);
        } else {
            int64_t want = ff ? wrap((uint64_t)ref_f2i(fx, to), to) : wrap((uint64_t)iv[i], to);
            int64_t got = get(out, to);
            ck_assert_msg(got == want, "%s->%s #%d (%.17g / %lld): %lld want %lld", ug_dtype_name(from), ug_dtype_name(to),
                          i, fx, (long long)iv[i], (long long)got, (long long)want);
        }
    }
}
END_TEST

/* What NumPy 2.4 printed on this machine for astype (strided/scalar path). */
START_TEST(casts_match_numpy)
{
    static const double v[] = {NAN, INFINITY, -INFINITY, -1.0, 0x1p63, 0x1p64, 1e19, -3e9, 0x1p32 + 5};
    static const uint64_t u64[] = {9223372036854775808ull, 0, 9223372036854775808ull, 18446744073709551615ull,
                                   9223372036854775808ull, 0, 10000000000000000000ull, 18446744070709551616ull - 0,
                                   4294967301ull};
    static const int64_t i32[] = {INT32_MIN, INT32_MIN, INT32_MIN, -1, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN};
    static const int64_t u32[] = {0, 0, 0, 4294967295ll, 0, 0, 0, 1294967296ll, 5};
    ug_dtype f = UG_FLOAT64;
    ug_dtype tos[3] = {UG_UINT64, UG_INT32, UG_UINT32};
    for (int t = 0; t < 3; t++) {
        kernel_node *c = nd(N_CAST, sty(tos[t]));
        c->a = param(0, sty(f));
        ug_dtype dts[2] = {f, tos[t]};
        ug_loop_fn fn = build(scalar_kernel(1, &f, tos[t], c, 0, NULL), dts);
        int64_t out[9] = {0};
        char *args[2] = {(char *)v, (char *)out};
        intptr_t dims[1] = {9}, steps[2] = {8, (intptr_t)ug_dtype_size(tos[t])};
        fn(args, dims, steps, NULL);
        for (int i = 0; i < 9; i++) {
            int64_t got = get((char *)out + i * (int)ug_dtype_size(tos[t]), tos[t]);
            int64_t want = t == 0 ? (int64_t)(u64[i] == 18446744070709551616ull ? 18446744070709551616ull : u64[i])
                         : t == 1 ? i32[i] : u32[i];
            if (t == 0 && i == 7)
                want = (int64_t)(uint64_t)-3000000000ll;
            ck_assert_msg(got == want, "%s #%d: %lld want %lld", ug_dtype_name(tos[t]), i, (long long)got, (long long)want);
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- math builtins */

typedef struct mcase {
    int b;
    double (*d)(double);
    float (*f)(float);
    int ulps; /* libmvec may differ from libm by a few ulps */
} mcase;

static double d_sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : x == 0 ? 0 : x; }
static float f_sign(float x) { return x > 0 ? 1 : x < 0 ? -1 : x == 0 ? 0 : x; }
static double d_isnan(double x) { return isnan(x); }
static float f_isnan(float x) { return isnan(x); }
static double d_isinf(double x) { return isinf(x) != 0; }
static float f_isinf(float x) { return isinf(x) != 0; }
static double d_isfin(double x) { return isfinite(x); }
static float f_isfin(float x) { return isfinite(x); }

static const mcase mcases[] = {
    {B_EXP, exp, expf, 4},       {B_EXP2, exp2, exp2f, 4},   {B_EXPM1, expm1, expm1f, 4}, {B_LOG, log, logf, 4},
    {B_LOG2, log2, log2f, 4},    {B_LOG10, log10, log10f, 4}, {B_LOG1P, log1p, log1pf, 4}, {B_SQRT, sqrt, sqrtf, 0},
    {B_CBRT, cbrt, cbrtf, 4},    {B_SIN, sin, sinf, 4},      {B_COS, cos, cosf, 4},       {B_TAN, tan, tanf, 4},
    {B_ASIN, asin, asinf, 4},    {B_ACOS, acos, acosf, 4},   {B_ATAN, atan, atanf, 4},    {B_SINH, sinh, sinhf, 4},
    {B_COSH, cosh, coshf, 4},    {B_TANH, tanh, tanhf, 4},   {B_ASINH, asinh, asinhf, 4}, {B_ACOSH, acosh, acoshf, 4},
    {B_ATANH, atanh, atanhf, 4}, {B_FLOOR, floor, floorf, 0}, {B_CEIL, ceil, ceilf, 0},   {B_TRUNC, trunc, truncf, 0},
    {B_RINT, rint, rintf, 0},    {B_FABS, fabs, fabsf, 0},   {B_ABS, fabs, fabsf, 0},     {B_ERF, erf, erff, 4},
    {B_ERFC, erfc, erfcf, 4},    {B_GAMMA, tgamma, tgammaf, 0}, {B_LGAMMA, lgamma, lgammaf, 0},
    {B_ROUND, roundeven, roundevenf, 0}, {B_SIGN, d_sign, f_sign, 0},
    {B_ISNAN, d_isnan, f_isnan, 0}, {B_ISINF, d_isinf, f_isinf, 0}, {B_ISFINITE, d_isfin, f_isfin, 0},
};
#define NMCASES ((int)(sizeof mcases / sizeof mcases[0]))

static bool close_ulps(double got, double want, int ulps, bool f32)
{
    if (isnan(want) || isnan(got) || isinf(want) || want == 0)
        return same(got, want) || (ulps && fabs(got - want) < (f32 ? 1e-37 : 1e-300));
    double ulp = f32 ? fabs(nextafterf((float)want, INFINITY) - (float)want) : fabs(nextafter(want, INFINITY) - want);
    return fabs(got - want) <= ulps * ulp;
}

START_TEST(math_unary_every_builtin)
{
    const mcase *mc = &mcases[_i / 2];
    ug_dtype dt = _i % 2 ? UG_FLOAT32 : UG_FLOAT64;
    bool pred = mc->b == B_ISNAN || mc->b == B_ISINF || mc->b == B_ISFINITE;
    ug_dtype rdt = pred ? UG_BOOL : dt;
    kernel_node *arg = param(0, sty(dt));
    ug_dtype dts[2] = {dt, rdt};
    ug_loop_fn fn = build(scalar_kernel(1, &dt, rdt, call(mc->b, &arg, 1, dt, rdt), 0, NULL), dts);
    enum { N = 1031 }; /* long enough to take the vector body */
    static double xd[N], yd[N];
    static float xf[N], yf[N];
    static uint8_t yb[N];
    for (int i = 0; i < N; i++) {
        double x = i < NF ? fvals[i] : (i - N / 2) * 0.0173 + 0.001 * (i % 7);
        xd[i] = x;
        xf[i] = (float)x;
    }
    char *args[2] = {dt == UG_FLOAT64 ? (char *)xd : (char *)xf, pred ? (char *)yb : dt == UG_FLOAT64 ? (char *)yd : (char *)yf};
    intptr_t dims[1] = {N}, steps[2] = {(intptr_t)ug_dtype_size(dt), (intptr_t)ug_dtype_size(rdt)};
    fn(args, dims, steps, NULL);
    for (int i = 0; i < N; i++) {
        double want = dt == UG_FLOAT64 ? mc->d(xd[i]) : mc->f(xf[i]);
        double got = pred ? yb[i] : dt == UG_FLOAT64 ? yd[i] : yf[i];
        ck_assert_msg(close_ulps(got, want, mc->ulps, dt == UG_FLOAT32), "builtin %d %s x=%.17g: %.17g want %.17g",
                      mc->b, ug_dtype_name(dt), dt == UG_FLOAT64 ? xd[i] : xf[i], got, want);
    }
}
END_TEST

static double py_max(double a, double b) { return b > a ? b : a; }
static double py_min(double a, double b) { return b < a ? b : a; }
static double np_maximum(double a, double b) { return (a > b || isnan(a)) ? a : b; }
static double np_minimum(double a, double b) { return (a < b || isnan(a)) ? a : b; }
/* fmax/fmin: the first argument wins a tie (NumPy's documented
 * where(a >= b, a, b), its float64 scalar loop, Numba): fmax(0.0, -0.0) is 0.0. */
static double np_fmax(double a, double b) { return (a >= b || isnan(b)) ? a : b; }
static double np_fmin(double a, double b) { return (a <= b || isnan(b)) ? a : b; }

START_TEST(math_binary_builtins)
{
    static const struct { int b; double (*d)(double, double); int ulps; } cs[] = {
        {B_ATAN2, atan2, 4}, {B_HYPOT, hypot, 4}, {B_POW, pow, 4}, {B_COPYSIGN, copysign, 0}, {B_FMOD, fmod, 0},
        {B_MAX, py_max, 0}, {B_MIN, py_min, 0}, {B_MAXIMUM, np_maximum, 0}, {B_MINIMUM, np_minimum, 0},
        {B_FMAX, np_fmax, 0}, {B_FMIN, np_fmin, 0},
    };
    ug_dtype dt = _i ? UG_FLOAT32 : UG_FLOAT64;
    bool f32 = dt == UG_FLOAT32;
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        kernel_node *args2[2] = {param(0, sty(dt)), param(1, sty(dt))};
        ug_dtype in[2] = {dt, dt}, dts[3] = {dt, dt, dt};
        ug_loop_fn fn = build(scalar_kernel(2, in, dt, call(cs[c].b, args2, 2, dt, dt), 0, NULL), dts);
        double a[NF * NF], b[NF * NF], out[NF * NF];
        float af[NF * NF], bf[NF * NF], outf[NF * NF];
        for (int i = 0; i < NF * NF; i++) {
            af[i] = (float)fvals[i / NF];
            bf[i] = (float)fvals[i % NF];
            a[i] = f32 ? af[i] : fvals[i / NF];
            b[i] = f32 ? bf[i] : fvals[i % NF];
        }
        char *args[3] = {f32 ? (char *)af : (char *)a, f32 ? (char *)bf : (char *)b, f32 ? (char *)outf : (char *)out};
        intptr_t dims[1] = {NF * NF}, steps[3] = {f32 ? 4 : 8, f32 ? 4 : 8, f32 ? 4 : 8};
        fn(args, dims, steps, NULL);
        for (int i = 0; i < NF * NF; i++) {
            double got = f32 ? outf[i] : out[i];
            double want = f32 ? (double)(float)cs[c].d(a[i], b[i]) : cs[c].d(a[i], b[i]); /* float32: the rounded true value */
            ck_assert_msg(close_ulps(got, want, cs[c].ulps, f32), "%s builtin %d (%g, %g): %.17g want %.17g",
                          f32 ? "float32" : "float64", cs[c].b, a[i], b[i], got, want);
        }
    }
}
END_TEST

/* Ties of 0.0 and -0.0 and NaNs give the same sign on every path: the vector
 * body, the scalar remainder, strided operands and a broadcast operand. */
START_TEST(minmax_signed_zeros_every_path)
{
    static const int bs[] = {B_MAXIMUM, B_MINIMUM, B_FMAX, B_FMIN};
    static double (*const ref[])(double, double) = {np_maximum, np_minimum, np_fmax, np_fmin};
    static const double v[] = {0.0, -0.0, NAN, 1.0, -1.0};
    ug_dtype dt = _i ? UG_FLOAT32 : UG_FLOAT64;
    size_t sz = ug_dtype_size(dt);
    enum { N = 67, S = 3 };
    for (int k = 0; k < 4; k++) {
        kernel_node *args2[2] = {param(0, sty(dt)), param(1, sty(dt))};
        ug_dtype in[2] = {dt, dt}, dts[3] = {dt, dt, dt};
        ug_loop_fn fn = build(scalar_kernel(2, in, dt, call(bs[k], args2, 2, dt, dt), 0, NULL), dts);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++)
                for (int path = 0; path < 3; path++) { /* contiguous, strided, b broadcast */
                    static char a[N * S * 8], b[N * S * 8], out[N * S * 8];
                    intptr_t st = path == 1 ? (intptr_t)(S * sz) : (intptr_t)sz;
                    for (int e = 0; e < N * S; e++) {
                        if (dt == UG_FLOAT32) {
                            ((float *)a)[e] = (float)v[i], ((float *)b)[e] = (float)v[j];
                        } else {
                            ((double *)a)[e] = v[i], ((double *)b)[e] = v[j];
                        }
                    }
                    char *args[3] = {a, b, out};
                    intptr_t dims[1] = {N}, steps[3] = {st, path == 2 ? 0 : st, st};
                    fn(args, dims, steps, NULL);
                    double want = ref[k](v[i], v[j]);
                    for (int e = 0; e < N; e++) {
                        char *o = out + (size_t)e * (size_t)st;
                        double got = dt == UG_FLOAT32 ? *(float *)o : *(double *)o;
                        ck_assert_msg(same(got, want), "%s builtin %d (%g, %g) path %d element %d: %g want %g",
                                      ug_dtype_name(dt), bs[k], v[i], v[j], path, e, got, want);
                    }
                }
    }
}
END_TEST

/* Integer builtins: abs (wraps at INT_MIN), sign, min/max, maximum/minimum, ** */
START_TEST(int_builtins)
{
    ug_dtype dt = ints[_i];
    int64_t vals[32];
    int nv = int_values(dt, vals);
    static const int bs[] = {B_ABS, B_SIGN, B_MAX, B_MIN, B_MAXIMUM, B_MINIMUM, B_POW};
    for (size_t k = 0; k < sizeof bs / sizeof bs[0]; k++) {
        bool two = bs[k] != B_ABS && bs[k] != B_SIGN;
        kernel_node *args2[2] = {param(0, sty(dt)), param(1, sty(dt))};
        ug_dtype in[2] = {dt, dt}, dts[3] = {dt, dt, dt};
        ug_loop_fn fn = build(scalar_kernel(2, in, dt, call(bs[k], args2, two ? 2 : 1, dt, dt), 0, NULL), dts);
        char out[32 * 32 * 8];
        run_pairs(fn, dt, dt, vals, nv, out);
        for (int i = 0; i < nv; i++)
            for (int j = 0; j < nv; j++) {
                int64_t a = vals[i], b = vals[j], want, dz = 0;
                int lt = sgn(dt) ? a < b : (uint64_t)a < (uint64_t)b;
                int gt = sgn(dt) ? a > b : (uint64_t)a > (uint64_t)b;
                switch (bs[k]) {
                case B_ABS: want = sgn(dt) && a < 0 ? wrap(0 - (uint64_t)a, dt) : a; break;
                case B_SIGN: want = sgn(dt) ? (a > 0) - (a < 0) : a != 0; break;
                case B_MAX: want = lt ? b : a; break;
                case B_MIN: want = gt ? b : a; break;
                case B_MAXIMUM: want = gt ? a : b; break;
                case B_MINIMUM: want = lt ? a : b; break;
                default: want = ref_int(TK_DSTAR, a, b, dt, (int *)&dz); break;
                }
                int64_t got = get(out + (size_t)(i * nv + j) * ug_dtype_size(dt), dt);
                ck_assert_msg(got == want, "%s builtin %d (%lld, %lld): %lld want %lld", ug_dtype_name(dt), bs[k],
                              (long long)a, (long long)b, (long long)got, (long long)want);
            }
    }
}
END_TEST

/* ---------------------------------------------------------------- stride paths */

/* fma3 = a*b+c on float64 over every stride pattern and size; with
 * `costly`, (a*b+c) / 3.0: a cheap body runs strided calls serially, a
 * division makes them take the gathered blocks (inner.c, strided.c). */
static ug_loop_fn fma3_loop(bool costly)
{
    static ug_loop_fn fn[2];
    if (fn[costly])
        return fn[costly];
    ug_dtype dt = UG_FLOAT64, in[3] = {dt, dt, dt}, dts[4] = {dt, dt, dt, dt};
    kernel_node *e = bin(TK_PLUS, bin(TK_STAR, param(0, sty(dt)), param(1, sty(dt)), dt), param(2, sty(dt)), dt);
    if (costly)
        e = bin(TK_SLASH, e, fnum(3.0, dt), dt);
    return fn[costly] = build(scalar_kernel(3, in, dt, e, 0, NULL), dts);
}

START_TEST(stride_paths)
{
    static const intptr_t sizes[] = {0, 1, 7, 255, 256, 257, 1000, 1000003};
    /* element strides per operand (a, b, c, out); negative strides start at the end */
    static const int pat[][4] = {{1, 1, 1, 1}, {0, 1, 1, 1}, {1, 0, 1, 1}, {1, 1, 0, 1}, {2, 1, 3, 1},
                                 {1, 1, 1, 2}, {-1, 1, 1, 1}, {1, 1, 1, -1}, {-2, 0, 1, 3}, {0, 0, 0, 1}};
    bool costly = _i;
    ug_loop_fn fn = fma3_loop(costly);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t p = 0; p < sizeof pat / sizeof pat[0]; p++) {
            intptr_t n = sizes[s];
            double *mem[4];
            char *args[4];
            intptr_t steps[4], dims[1] = {n};
            for (int k = 0; k < 4; k++) {
                intptr_t span = (n ? n : 1) * (pat[p][k] ? abs(pat[p][k]) : 1);
                mem[k] = malloc((size_t)span * 8 + 8);
                for (intptr_t i = 0; i < span; i++)
                    mem[k][i] = k == 3 ? -99.0 : (double)((i * 7 + k * 13) % 101) - 50.0;
                steps[k] = pat[p][k] * 8;
                args[k] = (char *)(pat[p][k] < 0 ? mem[k] + span - 1 : mem[k]);
            }
            fn(args, dims, steps, NULL);
            for (intptr_t i = 0; i < n; i++) {
                const double *a = (double *)(args[0] + i * steps[0]), *b = (double *)(args[1] + i * steps[1]),
                             *c = (double *)(args[2] + i * steps[2]), *o = (double *)(args[3] + i * steps[3]);
                double want = *a * *b + *c;
                ck_assert_msg(*o == (costly ? want / 3.0 : want), "n=%ld pattern %zu i=%ld", (long)n, p, (long)i);
            }
            if (pat[p][3] == 2 && n > 1) /* gaps in a strided output stay untouched */
                ck_assert(mem[3][1] == -99.0);
            for (int k = 0; k < 4; k++)
                free(mem[k]);
        }
}
END_TEST

START_TEST(in_place_and_reduce_aliasing)
{
    ug_dtype dt = UG_FLOAT64, in[2] = {dt, dt}, dts[3] = {dt, dt, dt};
    ug_loop_fn add = build(scalar_kernel(2, in, dt, bin(TK_PLUS, param(0, sty(dt)), param(1, sty(dt)), dt), 0, NULL), dts);
    enum { N = 1003 };
    double x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = y[i] = i * 0.5;
    /* in place: out == first input */
    char *a1[3] = {(char *)x, (char *)y, (char *)x};
    intptr_t d[1] = {N}, s1[3] = {8, 8, 8};
    add(a1, d, s1, NULL);
    for (int i = 0; i < N; i++)
        ck_assert(x[i] == i * 1.0);
    /* reduce: args[0] == args[2], stride 0: acc += y[i] in order */
    double acc = 0.25, want = 0.25;
    char *a2[3] = {(char *)&acc, (char *)y, (char *)&acc};
    intptr_t s2[3] = {0, 8, 0};
    add(a2, d, s2, NULL);
    for (int i = 0; i < N; i++)
        want += y[i];
    ck_assert(acc == want);
    /* accumulate: args[0] one element behind args[2] (a prefix sum), contiguous and strided */
    for (int stride = 1; stride <= 2; stride++) {
        static double z[2 * N];
        for (int i = 0; i < 2 * N; i++)
            z[i] = 1.0;
        char *a3[3] = {(char *)z, (char *)y, (char *)(z + stride)};
        intptr_t d3[1] = {N - 1}, s3[3] = {8 * stride, 8, 8 * stride};
        add(a3, d3, s3, NULL);
        double run = 1.0;
        for (int i = 1; i < N; i++) {
            run += y[i - 1];
            ck_assert_msg(z[i * stride] == run, "stride %d i=%d: %g want %g", stride, i, z[i * stride], run);
        }
    }
}
END_TEST

START_TEST(bool_and_narrow_types_strided)
{
    /* (a & b) ^ c on bool, strided inputs: bytes other than 0/1 never escape */
    ug_dtype dt = UG_BOOL, in[3] = {dt, dt, dt}, dts[4] = {dt, dt, dt, dt};
    kernel_node *e = bin(TK_CARET, bin(TK_AMP, param(0, sty(dt)), param(1, sty(dt)), dt), param(2, sty(dt)), dt);
    ug_loop_fn fn = build(scalar_kernel(3, in, dt, e, 0, NULL), dts);
    enum { N = 700 };
    uint8_t a[2 * N], b[N], c[N], o[N];
    for (int i = 0; i < 2 * N; i++)
        a[i] = (uint8_t)(i % 3 == 0);
    for (int i = 0; i < N; i++) {
        b[i] = (uint8_t)(i % 5 != 0);
        c[i] = (uint8_t)(i % 7 == 0);
    }
    char *args[4] = {(char *)a, (char *)b, (char *)c, (char *)o};
    intptr_t d[1] = {N}, st[4] = {2, 1, 1, 1};
    fn(args, d, st, NULL);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(o[i], (a[2 * i] & b[i]) ^ c[i]);
}
END_TEST

/* ---------------------------------------------------------------- control flow */

/* def k(n): s = 0; for i in range(n, -1, -3): if i % 2: continue; s += i; (while s > 100: s = s - 7) ; return s */
START_TEST(control_flow_for_negative_step_while_continue)
{
    ug_dtype I = UG_INT64;
    kernel_type lt[2] = {sty(I), sty(I)}; /* s, i */
    kernel_node *f = nd(N_FOR, (kernel_type){0});
    f->kids = talloc(1, sizeof *f->kids);
    f->kids[0] = local(1, sty(I));
    f->nkids = 1;
    f->range[0] = param(0, sty(I));
    f->range[1] = inum(-1, I);
    f->range[2] = inum(-3, I);
    f->nrange = 3;
    kernel_node *iff = nd(N_IF, (kernel_type){0});
    iff->cond = bin(TK_PERCENT, local(1, sty(I)), inum(2, I), I);
    iff->body = blockn(1, (kernel_node *[]){nd(N_CONTINUE, (kernel_type){0})});
    kernel_node *aug = nd(N_AUGASSIGN, (kernel_type){0});
    aug->op = TK_PLUS;
    aug->opty = sty(I);
    aug->kids = talloc(1, sizeof *aug->kids);
    aug->kids[0] = local(0, sty(I));
    aug->b = local(1, sty(I));
    f->body = blockn(2, (kernel_node *[]){iff, aug});
    kernel_node *w = nd(N_WHILE, (kernel_type){0});
    kernel_node *cmp = nd(N_COMPARE, sty(UG_BOOL));
    cmp->kids = talloc(2, sizeof *cmp->kids);
    cmp->kids[0] = local(0, sty(I));
    cmp->kids[1] = inum(100, I);
    cmp->nkids = 2;
    cmp->cmpops = (uint16_t[]){TK_GT};
    cmp->cmptys = (kernel_type[]){sty(I)};
    w->cond = cmp;
    w->body = blockn(1, (kernel_node *[]){assign(local(0, sty(I)), bin(TK_MINUS, local(0, sty(I)), inum(7, I), I))});
    kernel_node *body = blockn(4, (kernel_node *[]){assign(local(0, sty(I)), inum(0, I)), f, w,
                                                     ret(bin(TK_PLUS, local(0, sty(I)), bin(TK_STAR, local(1, sty(I)), inum(1000, I), I), I))});
    ug_dtype dts[2] = {I, I};
    ug_loop_fn fn = build(scalar_kernel(1, &I, I, body, 2, lt), dts);
    int64_t ns[] = {0, 1, 5, 10, 30, 61};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        int64_t s = 0, last = 0;
        for (int64_t i = ns[k]; i > -1; i -= 3) {
            last = i;
            if (((i % 2) + 2) % 2)
                continue;
            s += i;
        }
        while (s > 100)
            s -= 7;
        int64_t out = 0;
        char *args[2] = {(char *)&ns[k], (char *)&out};
        intptr_t d[1] = {1}, st[2] = {8, 8};
        fn(args, d, st, NULL);
        ck_assert_msg(out == s + last * 1000, "n=%lld: %lld want %lld", (long long)ns[k], (long long)out,
                      (long long)(s + last * 1000));
    }
}
END_TEST

/* x and y / x or y (Python values), chained 0 < x < 10, ternary. */
START_TEST(boolops_chains_ternary)
{
    ug_dtype F = UG_FLOAT64;
    kernel_node *andn = nd(N_BOOLOP, sty(F));
    andn->op = TK_AND;
    andn->a = param(0, sty(F));
    andn->b = param(1, sty(F));
    kernel_node *orn = nd(N_BOOLOP, sty(F));
    orn->op = TK_OR;
    orn->a = param(0, sty(F));
    orn->b = param(1, sty(F));
    kernel_node *chain = nd(N_COMPARE, sty(UG_BOOL));
    chain->kids = talloc(3, sizeof *chain->kids);
    chain->kids[0] = fnum(0.0, F);
    chain->kids[1] = param(0, sty(F));
    chain->kids[2] = fnum(10.0, F);
    chain->nkids = 3;
    chain->cmpops = (uint16_t[]){TK_LT, TK_LT};
    chain->cmptys = (kernel_type[]){sty(F), sty(F)};
    kernel_node *tern = nd(N_IFEXP, sty(F));
    tern->cond = chain;
    tern->a = andn;
    tern->b = orn;
    ug_dtype in[2] = {F, F}, dts[3] = {F, F, F};
    ug_loop_fn fn = build(scalar_kernel(2, in, F, tern, 0, NULL), dts);
    double xs[] = {0.0, 5.0, 5.0, 10.0, -3.0, NAN, 9.99}, ys[] = {1.0, 0.0, 2.0, 4.0, 7.0, 8.0, -1.0};
    for (int k = 0; k < 7; k++) {
        double x = xs[k], y = ys[k], out;
        double want = (0 < x && x < 10) ? (x ? y : x) : (x ? x : y);
        char *args[3] = {(char *)&xs[k], (char *)&ys[k], (char *)&out};
        intptr_t d[1] = {1}, st[3] = {8, 8, 8};
        fn(args, d, st, NULL);
        ck_assert_msg(same(out, want), "x=%g y=%g: %g want %g", x, y, out, want);
    }
}
END_TEST

/* ---------------------------------------------------------------- libmvec */

static kernel_typed *sigmoid_kernel(ug_dtype dt)
{
    kernel_node *neg = nd(N_UNARY, sty(dt));
    neg->op = TK_MINUS;
    neg->a = param(0, sty(dt));
    kernel_node *e = call(B_EXP, &neg, 1, dt, dt);
    return scalar_kernel(1, &dt, dt, bin(TK_SLASH, fnum(1.0, dt), bin(TK_PLUS, fnum(1.0, dt), e, dt), dt), 0, NULL);
}

START_TEST(sigmoid_calls_libmvec)
{
    ug_dtype dt = _i ? UG_FLOAT32 : UG_FLOAT64, dts[2] = {dt, dt};
    void *obj;
    size_t size;
    ug_loop_fn fn = build_ex(sigmoid_kernel(dt), scalar_layout(1, 1), dts, 0, &obj, &size);
    const char *needle = dt == UG_FLOAT64 ? "_ZGV" : "_ZGV";
    const char *suffix = dt == UG_FLOAT64 ? "v_exp" : "v_expf";
    bool found = false;
    for (size_t i = 0; i + 12 < size && !found; i++)
        if (!memcmp((char *)obj + i, needle, 4)) {
            const char *s = (char *)obj + i;
            size_t len = strnlen(s, size - i);
            found = len >= strlen(suffix) && !strcmp(s + len - strlen(suffix), suffix);
        }
    ck_assert_msg(found, "no libmvec exp variant referenced by the object");
    free(obj);
    enum { N = 4099 };
    static double x[N], y[N];
    static float xf[N], yf[N];
    for (int i = 0; i < N; i++) {
        x[i] = (i - N / 2) * 0.01;
        xf[i] = (float)x[i];
    }
    char *args[2] = {dt == UG_FLOAT64 ? (char *)x : (char *)xf, dt == UG_FLOAT64 ? (char *)y : (char *)yf};
    intptr_t d[1] = {N}, st[2] = {(intptr_t)ug_dtype_size(dt), (intptr_t)ug_dtype_size(dt)};
    fn(args, d, st, NULL);
    for (int i = 0; i < N; i++) {
        double want = dt == UG_FLOAT64 ? 1.0 / (1.0 + exp(-x[i])) : 1.0f / (1.0f + expf(-xf[i]));
        double got = dt == UG_FLOAT64 ? y[i] : yf[i];
        ck_assert_msg(close_ulps(got, want, 4, dt == UG_FLOAT32), "x=%g: %.17g want %.17g", x[i], got, want);
    }
}
END_TEST

/* ---------------------------------------------------------------- gufuncs */

static kernel_node *index1(int p, kernel_type at, kernel_node *i)
{
    kernel_node *n = nd(N_INDEX, sty((ug_dtype)at.dt));
    n->a = param(p, at);
    n->kids = talloc(2, sizeof *n->kids);
    n->kids[0] = i;
    n->nkids = 1;
    return n;
}

static kernel_node *shape_of(int p, kernel_type at, int k)
{
    kernel_node *attr = nd(N_ATTR, (kernel_type){.kind = KT_SHAPE, .ndim = at.ndim});
    attr->a = param(p, at);
    attr->name = "shape";
    kernel_node *n = nd(N_INDEX, sty(UG_INT64));
    n->a = attr;
    n->kids = talloc(1, sizeof *n->kids);
    n->kids[0] = inum(k, UG_INT64);
    n->nkids = 1;
    return n;
}

/* def dot(a, b, out): acc = 0.0; for i in range(a.shape[0]): acc += a[i]*b[i]; out[0] = acc */
static kernel_typed *dot_kernel(void)
{
    ug_dtype F = UG_FLOAT64, I = UG_INT64;
    kernel_type A = aty(F, 1);
    kernel_func *f = talloc(1, sizeof *f);
    f->name = "dot";
    f->nparams = 3;
    f->params = talloc(3, sizeof *f->params);
    f->params[0] = (kernel_var){.name = "a", .ty = A};
    f->params[1] = (kernel_var){.name = "b", .ty = A};
    f->params[2] = (kernel_var){.name = "out", .ty = A};
    f->nlocals = 2;
    f->locals = talloc(2, sizeof *f->locals);
    f->locals[0] = (kernel_var){.name = "acc", .ty = sty(F)};
    f->locals[1] = (kernel_var){.name = "i", .ty = sty(I)};
    kernel_node *fr = nd(N_FOR, (kernel_type){0});
    fr->kids = talloc(1, sizeof *fr->kids);
    fr->kids[0] = local(1, sty(I));
    fr->nkids = 1;
    fr->range[0] = shape_of(0, A, 0);
    fr->nrange = 1;
    kernel_node *aug = nd(N_AUGASSIGN, (kernel_type){0});
    aug->op = TK_PLUS;
    aug->opty = sty(F);
    aug->kids = talloc(1, sizeof *aug->kids);
    aug->kids[0] = local(0, sty(F));
    aug->b = bin(TK_STAR, index1(0, A, local(1, sty(I))), index1(1, A, local(1, sty(I))), F);
    fr->body = blockn(1, (kernel_node *[]){aug});
    f->body = blockn(3, (kernel_node *[]){assign(local(0, sty(F)), fnum(0.0, F)), fr,
                                          assign(index1(2, A, inum(0, I)), local(0, sty(F)))});
    f->ret = (kernel_type){.kind = KT_VOID};
    kernel_typed *t = talloc(1, sizeof *t);
    t->kernel = f;
    t->funcs = talloc(1, sizeof *t->funcs);
    t->funcs[0] = f;
    t->nfuncs = 1;
    t->gufunc = true;
    t->nin = 2;
    t->nout = 1;
    return t;
}

static layout_sig *dot_layout(void)
{
    layout_sig *s = scalar_layout(2, 1);
    s->scalar = false;
    s->ndims = 1;
    s->op_ncore[0] = s->op_ncore[1] = 1;
    static int d0[1] = {0};
    s->op_dims[0] = d0;
    s->op_dims[1] = d0;
    s->ncore_total = 2;
    return s;
}

START_TEST(gufunc_dot)
{
    ug_dtype dts[3] = {UG_FLOAT64, UG_FLOAT64, UG_FLOAT64};
    ug_loop_fn fn = build_ex(dot_kernel(), dot_layout(), dts, _i, NULL, NULL);
    enum { M = 5, N = 37 };
    double a[M][N], b[N][M], out[M]; /* b is used transposed: core stride M*8 */
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = i + j * 0.5;
            b[j][i] = j - i * 0.25;
        }
    char *args[3] = {(char *)a, (char *)b, (char *)out};
    intptr_t dims[2] = {M, N}, steps[5] = {N * 8, 8, 8, 8, M * 8};
    fn(args, dims, steps, NULL);
    for (int i = 0; i < M; i++) {
        double want = 0;
        for (int j = 0; j < N; j++)
            want += a[i][j] * b[j][i];
        ck_assert_msg(out[i] == want, "row %d: %g want %g", i, out[i], want);
    }
    ck_assert_int_eq(rt_take_error(NULL), 0);
}
END_TEST

/* Boundscheck: out[1] on a () output (size 1) fails with an index error. */
START_TEST(gufunc_boundscheck)
{
    kernel_typed *t = dot_kernel();
    kernel_node *st = t->kernel->body->kids[2];
    st->kids[0]->kids[0] = inum(1, UG_INT64);
    ug_dtype dts[3] = {UG_FLOAT64, UG_FLOAT64, UG_FLOAT64};
    ug_loop_fn fn = build_ex(t, dot_layout(), dts, 1, NULL, NULL);
    double a[4] = {1, 2, 3, 4}, out[2] = {-1, -1};
    char *args[3] = {(char *)a, (char *)a, (char *)out};
    intptr_t dims[2] = {2, 2}, steps[5] = {16, 16, 8, 8, 8};
    fn(args, dims, steps, NULL);
    ug_error err;
    ck_assert_int_eq(rt_take_error(&err), 1);
    ck_assert_int_eq(err.code, UG_EINDEX);
    ck_assert_msg(strstr(err.msg, "index 1 is out of bounds for axis 0 with size 1") && strstr(err.msg, "'out'"), "%s",
                  err.msg);
    ck_assert(out[0] == -1 && out[1] == -1);
}
END_TEST

/* ---------------------------------------------------------------- JIT */

START_TEST(jit_corrupt_object_and_sharing)
{
    void *obj;
    size_t size;
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    build_ex(sigmoid_kernel(UG_FLOAT64), scalar_layout(1, 1), dts, 0, &obj, &size);
    char sym[64];
    snprintf(sym, sizeof sym, "test_loop_%d", symno - 1);
    loops_code *c1, *c2, *c3;
    ug_loop_fn f1, f2, f3;
    ug_error err;
    ck_assert_int_eq(loops_load(obj, size, sym, &c2, &f2, &err), UG_OK); /* shared with the build above */
    ck_assert_int_eq(loops_load(obj, size, sym, &c1, &f1, &err), UG_OK);
    ck_assert_ptr_eq(c1, c2);
    ck_assert_ptr_eq(f1, f2);
    loops_unload(c1);
    loops_unload(c2);
    char junk[512];
    memset(junk, 0x5a, sizeof junk);
    ck_assert_int_eq(loops_load(junk, sizeof junk, "junk_sym", &c3, &f3, &err), UG_EJIT);
    ck_assert_ptr_null(c3);
    ck_assert_int_eq(loops_load(obj, size / 3, "trunc_sym", &c3, &f3, &err), UG_EJIT);
    ck_assert_int_eq(loops_load(obj, size, "no_such_symbol", &c3, &f3, &err), UG_EJIT);
    free(obj);
    loops_unload(NULL);
}
END_TEST

START_TEST(host_facts_and_count)
{
    ck_assert(strlen(loops_host_cpu()) > 0);
    ck_assert(strstr(loops_host_features(), "+") != NULL);
    ck_assert(!strncmp(loops_llvm_version(), "19.", 3));
    long before = loops_compile_count();
    ug_dtype dts[2] = {UG_FLOAT32, UG_FLOAT32};
    build(sigmoid_kernel(UG_FLOAT32), dts);
    ck_assert_int_eq(loops_compile_count(), before + 1);
}
END_TEST

/* ---------------------------------------------------------------- from source (kernel/ front end) */

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

static const char collatz_src[] =
    "def steps(n):\n"
    "    c = 0\n"
    "    while n != 1:\n"
    "        if c >= 1000:\n"
    "            break\n"
    "        n = n // 2 if n % 2 == 0 else 3 * n + 1\n"
    "        c += 1\n"
    "    return c\n"
    "\n"
    "def clamp(x, lo, hi):\n"
    "    if x < lo:\n"
    "        return lo\n"
    "    elif x > hi:\n"
    "        return hi\n"
    "    return x\n"
    "\n"
    "def k(n, x):\n"
    "    s = 0\n"
    "    i = 0\n"
    "    for i in range(10, 0, -3):\n"
    "        if 0 < i <= 7 and not i == 4:\n"
    "            continue\n"
    "        s += i\n"
    "    a, b = s, i\n"
    "    return steps(n) * 1000 + clamp(x, -5, 5) * 10 + a + b * 100\n";

static int64_t ref_collatz(int64_t n, int64_t x)
{
    int64_t c = 0, s = 0, last = 0;
    while (n != 1 && c < 1000) {
        n = n % 2 == 0 ? n / 2 : 3 * n + 1;
        c++;
    }
    for (int64_t i = 10; i > 0; i -= 3) {
        last = i;
        if (0 < i && i <= 7 && i != 4)
            continue;
        s += i;
    }
    int64_t cl = x < -5 ? -5 : x > 5 ? 5 : x;
    return c * 1000 + cl * 10 + s + last * 100;
}

START_TEST(source_helpers_control_flow)
{
    ug_dtype dts[3] = {UG_INT64, UG_INT64, UG_INT64};
    ug_loop_fn fn = build_src(collatz_src, NULL, 2, 1, dts, NULL, 0);
    enum { N = 300 };
    int64_t n[N], x[N], out[N];
    for (int i = 0; i < N; i++) {
        n[i] = i + 1;
        x[i] = i % 17 - 8;
    }
    char *args[3] = {(char *)n, (char *)x, (char *)out};
    intptr_t d[1] = {N}, st[3] = {8, 8, 8};
    fn(args, d, st, NULL);
    for (int i = 0; i < N; i++)
        ck_assert_msg(out[i] == ref_collatz(n[i], x[i]), "n=%lld x=%lld: %lld want %lld", (long long)n[i],
                      (long long)x[i], (long long)out[i], (long long)ref_collatz(n[i], x[i]));
}
END_TEST

START_TEST(source_sigmoid_float32_weak_literals)
{
    ug_dtype dts[2] = {UG_FLOAT32, UG_FLOAT32};
    ug_loop_fn fn = build_src("def sig(x):\n    return 1.0 / (1.0 + exp(-x))\n", NULL, 1, 1, dts, NULL, 0);
    enum { N = 1001 };
    float x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = (float)(i - 500) * 0.05f;
    char *args[2] = {(char *)x, (char *)y};
    intptr_t d[1] = {N}, st[2] = {4, 4};
    fn(args, d, st, NULL);
    for (int i = 0; i < N; i++)
        ck_assert_msg(close_ulps(y[i], 1.0f / (1.0f + expf(-x[i])), 4, true), "x=%g: %.9g", x[i], y[i]);
}
END_TEST

static const char matmul_src[] =
    "def matmul(A, B, C):\n"
    "    m, n = A.shape\n"
    "    p = B.shape[1]\n"
    "    for i in range(m):\n"
    "        for j in range(p):\n"
    "            acc = 0.0\n"
    "            for k in range(n):\n"
    "                acc += A[i, k] * B[k, j]\n"
    "            C[i, j] = acc\n";

/* One float64 -> float64/int64/bool element through a kernel from source. */
static void run_f64(ug_loop_fn fn, const double *x, void *out, ug_dtype odt, int n)
{
    char *args[2] = {(char *)x, (char *)out};
    intptr_t d[1] = {n}, st[2] = {8, (intptr_t)ug_dtype_size(odt)};
    fn(args, d, st, NULL);
}

static const char *dump_of(const char *what, kernel_typed *tk, const ug_dtype *dts);

/* Numba's static_power_impl in C: repeated squaring, r * v in its order. */
static double numba_pow(double x, long long n)
{
    unsigned long long m = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
    double r = 1.0, v = x;
    for (; m; m >>= 1, v = v * v)
        if (m & 1)
            r = r * v;
    return n < 0 ? 1.0 / r : r;
}

static float numba_powf(float x, long long n)
{
    unsigned long long m = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
    float r = 1.0f, v = x;
    for (; m; m >>= 1, v = v * v)
        if (m & 1)
            r = r * v;
    return n < 0 ? 1.0f / r : r;
}

/* x ** <int literal> is Numba's multiplications bit for bit, with no pow
 * call left (x ** 2 was a libmvec pow per element, 130x slower than x * x);
 * x ** <int variable> runs the same loop; float exponents are glibc's pow,
 * so 3.0 ** -1.0 is 1/3 rounded (libmvec's pow gave 0.33333333333333337). */
START_TEST(source_power_as_numba)
{
    static const long long ns[] = {0, 1, 2, 3, 4, 5, 7, 10, 13, -1, -2, -3, -7, 65536, -65536};
    enum { N = 41 };
    double x[N];
    float xf[N];
    for (int i = 0; i < N; i++) {
        x[i] = i == 0 ? 0.0 : i == 1 ? -0.0 : i == 2 ? INFINITY : i == 3 ? NAN : (i - 20) * 0.37 + 0.013 * i;
        xf[i] = (float)x[i];
    }
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        char src[64];
        snprintf(src, sizeof src, "def k(x):\n    return x ** %lld\n", ns[k]);
        for (int f32 = 0; f32 < 2; f32++) {
            ug_dtype dt = f32 ? UG_FLOAT32 : UG_FLOAT64, dts[2] = {dt, dt};
            kernel_argtype at[2] = {{dt, 0}, {dt, 0}};
            const char *ir = dump_of("ir", typed_src(src, false, 1, 1, at), dts);
            const char *opt = strstr(ir, "optimised");
            ck_assert_msg(opt && !strstr(opt, "@llvm.pow") && !strstr(opt, "@pow") && !strstr(opt, "_pow"),
                          "x ** %lld (%s) still calls pow", ns[k], ug_dtype_name(dt));
            ug_loop_fn fn = build_src(src, NULL, 1, 1, dts, NULL, 0);
            double y[N];
            float yf[N];
            char *args[2] = {f32 ? (char *)xf : (char *)x, f32 ? (char *)yf : (char *)y};
            intptr_t d[1] = {N}, st[2] = {f32 ? 4 : 8, f32 ? 4 : 8};
            fn(args, d, st, NULL);
            for (int i = 0; i < N; i++) {
                double got = f32 ? yf[i] : y[i], want = f32 ? numba_powf(xf[i], ns[k]) : numba_pow(x[i], ns[k]);
                ck_assert_msg(same(got, want), "%s %g ** %lld: %.17g want %.17g", ug_dtype_name(dt), x[i], ns[k], got, want);
            }
        }
    }
    /* an int64 exponent variable: the same multiplications; beyond 65536, pow */
    ug_dtype di[3] = {UG_FLOAT64, UG_INT64, UG_FLOAT64}, dd[3] = {UG_FLOAT64, UG_FLOAT64, UG_FLOAT64};
    ug_loop_fn fi = build_src("def k(x, n):\n    return x ** n\n", NULL, 2, 1, di, NULL, 0);
    ug_loop_fn fa = build_src("def k(x, n):\n    x **= n\n    return x\n", NULL, 2, 1, di, NULL, 0);
    ug_loop_fn fd = build_src("def k(x, y):\n    return x ** y\n", NULL, 2, 1, dd, NULL, 0);
    static const long long big[] = {65537, -65537, 1LL << 40, INT64_MIN, INT64_MAX};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0] + sizeof big / sizeof big[0]; k++) {
        long long e = k < sizeof ns / sizeof ns[0] ? ns[k] : big[k - sizeof ns / sizeof ns[0]];
        for (int i = 0; i < N; i++) {
            double xi = k < sizeof ns / sizeof ns[0] ? x[i] : 1.0 + (i - 20) * 1e-7, out = 0, ed = (double)e;
            char *args[3] = {(char *)&xi, (char *)&e, (char *)&out};
            intptr_t d[1] = {1}, st[3] = {0, 0, 0};
            fi(args, d, st, NULL);
            double want = k < sizeof ns / sizeof ns[0] ? numba_pow(xi, e) : pow(xi, (double)e);
            ck_assert_msg(same(out, want), "%g ** int64 %lld: %.17g want %.17g", xi, e, out, want);
            fa(args, d, st, NULL);
            ck_assert_msg(same(out, want), "%g **= int64 %lld: %.17g want %.17g", xi, e, out, want);
            char *dargs[3] = {(char *)&xi, (char *)&ed, (char *)&out};
            fd(dargs, d, st, NULL);
            ck_assert_msg(same(out, pow(xi, ed)), "%g ** float64 %g: %.17g want pow %.17g", xi, ed, out, pow(xi, ed));
        }
    }
    double three = 3.0, m1 = -1.0, r = 0;
    char *args[3] = {(char *)&three, (char *)&m1, (char *)&r};
    intptr_t d[1] = {1}, st[3] = {0, 0, 0};
    fd(args, d, st, NULL);
    ck_assert_msg(r == 1.0 / 3.0, "3.0 ** -1.0 = %.17g", r);
}
END_TEST

/* Unary operators, int()/float()/bool() and the constants, by value. */
START_TEST(source_unary_casts_constants)
{
    static const ug_dtype its[] = {UG_INT8, UG_UINT8, UG_INT32, UG_INT64};
    for (size_t t = 0; t < sizeof its / sizeof its[0]; t++) { /* ~x wraps in the type, as NumPy's invert */
        ug_dtype dts[2] = {its[t], its[t]};
        ug_loop_fn fn = build_src("def k(x):\n    return ~x\n", NULL, 1, 1, dts, NULL, 0);
        int64_t vals[] = {0, 1, -1, 5, 127, -128, 255};
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            char in[8] = {0}, out[8] = {0};
            put(in, its[t], wrap((uint64_t)vals[v], its[t]));
            char *args[2] = {in, out};
            intptr_t d[1] = {1}, st[2] = {0, 0};
            fn(args, d, st, NULL);
            ck_assert_msg(get(out, its[t]) == wrap(~(uint64_t)wrap((uint64_t)vals[v], its[t]), its[t]), "~%lld in dtype %d",
                          (long long)vals[v], its[t]);
        }
    }
    enum { N = 9 };
    const double x[N] = {0.0, -0.0, 2.7, -2.7, 0.5, 1e18, -1e18, INFINITY, NAN};
    ug_dtype fb[2] = {UG_FLOAT64, UG_BOOL}, ff[2] = {UG_FLOAT64, UG_FLOAT64}, fi[2] = {UG_FLOAT64, UG_INT64};
    bool b[N];
    run_f64(build_src("def k(x):\n    return not x\n", NULL, 1, 1, fb, NULL, 0), x, b, UG_BOOL, N);
    for (int i = 0; i < N; i++) /* Python: bool(nan) is True, bool(-0.0) False */
        ck_assert_msg(b[i] == (x[i] == 0), "not %g", x[i]);
    run_f64(build_src("def k(x):\n    return bool(x)\n", NULL, 1, 1, fb, NULL, 0), x, b, UG_BOOL, N);
    for (int i = 0; i < N; i++)
        ck_assert_msg(b[i] == (x[i] != 0 || isnan(x[i])), "bool(%g)", x[i]);
    double y[N];
    run_f64(build_src("def k(x):\n    return +x\n", NULL, 1, 1, ff, NULL, 0), x, y, UG_FLOAT64, N);
    for (int i = 0; i < N; i++)
        ck_assert_msg(same(y[i], x[i]), "+%g", x[i]);
    int64_t r[N];
    run_f64(build_src("def k(x):\n    return int(x)\n", NULL, 1, 1, fi, NULL, 0), x, r, UG_INT64, 7);
    const int64_t want_int[7] = {0, 0, 2, -2, 0, 1000000000000000000, -1000000000000000000};
    for (int i = 0; i < 7; i++) /* truncation toward zero (inf and nan have no int: NumPy leaves them unspecified) */
        ck_assert_msg(r[i] == want_int[i], "int(%g) = %lld", x[i], (long long)r[i]);
    ug_dtype idf[2] = {UG_INT64, UG_FLOAT64};
    ug_loop_fn fl = build_src("def k(x):\n    return float(x) / 2\n", NULL, 1, 1, idf, NULL, 0);
    int64_t iv[3] = {3, -7, (INT64_C(1) << 53) + 1};
    double fo[3];
    char *args[2] = {(char *)iv, (char *)fo};
    intptr_t d[1] = {3}, st[2] = {8, 8};
    fl(args, d, st, NULL);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(fo[i] == (double)iv[i] / 2, "float(%lld) / 2 = %.17g", (long long)iv[i], fo[i]);
    static const struct { const char *src; double want; } cs[] = {
        {"def k(x):\n    return x * 0.0 + pi\n", M_PI}, {"def k(x):\n    return x * 0.0 + math.e\n", M_E},
        {"def k(x):\n    return np.pi * 2 + x * 0.0\n", 2 * M_PI}, {"def k(x):\n    return -inf\n", -INFINITY},
        {"def k(x):\n    return np.inf\n", INFINITY}, {"def k(x):\n    return nan\n", NAN},
    };
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        run_f64(build_src(cs[c].src, NULL, 1, 1, ff, NULL, 0), x, y, UG_FLOAT64, 3);
        for (int i = 0; i < 3; i++)
            ck_assert_msg(same(y[i], cs[c].want), "%s: %.17g", cs[c].src, y[i]);
    }
}
END_TEST

/* bool operands by value: bitwise and comparisons stay bool (NumPy); + and
 * * count as integers (Python and Numba: True + True == 2). */
START_TEST(source_bool_operators)
{
    static const struct { const char *expr; ug_dtype out; int64_t want[4]; } cs[] = {
        {"a & b | a ^ b", UG_BOOL, {0, 1, 1, 1}}, {"a < b", UG_BOOL, {0, 1, 0, 0}}, {"a == b", UG_BOOL, {1, 0, 0, 1}},
        {"a >= b", UG_BOOL, {1, 0, 1, 1}}, {"~a", UG_BOOL, {1, 1, 0, 0}}, {"not a", UG_BOOL, {1, 1, 0, 0}},
        {"a and not b", UG_BOOL, {0, 0, 1, 0}}, {"a + b", UG_INT64, {0, 1, 1, 2}}, {"a * b - b", UG_INT64, {0, -1, 0, 0}},
    };
    bool a[4] = {0, 0, 1, 1}, b[4] = {0, 1, 0, 1};
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        char src[96];
        snprintf(src, sizeof src, "def k(a, b):\n    return %s\n", cs[c].expr);
        ug_dtype dts[3] = {UG_BOOL, UG_BOOL, cs[c].out};
        ug_loop_fn fn = build_src(src, NULL, 2, 1, dts, NULL, 0);
        int64_t out[4] = {0};
        char *args[3] = {(char *)a, (char *)b, (char *)out};
        intptr_t d[1] = {4}, st[3] = {1, 1, (intptr_t)ug_dtype_size(cs[c].out)};
        fn(args, d, st, NULL);
        for (int i = 0; i < 4; i++) {
            int64_t got = cs[c].out == UG_BOOL ? ((bool *)out)[i] : out[i];
            ck_assert_msg(got == cs[c].want[i], "%s with a=%d b=%d: %lld", cs[c].expr, a[i], b[i], (long long)got);
        }
    }
}
END_TEST

/* The strided path (strided.c) with many wide operands, where the block
 * shrinks to fit its stack area (12 float64 gathered inputs and a strided
 * output: 104 bytes per element), and with operands of different sizes
 * sharing memory (a float32 input over the float64 output is a partial
 * overlap, so the call runs element after element). */
START_TEST(source_strided_many_operands_and_mixed_sizes)
{
    enum { NIN = 12, N = 1001 };
    char src[512] = "def k(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11):\n    return a0";
    for (int k = 1; k < NIN; k++)
        snprintf(src + strlen(src), sizeof src - strlen(src), " + %d.0 * a%d", k + 1, k);
    strcat(src, "\n");
    ug_dtype dts[NIN + 1];
    for (int k = 0; k <= NIN; k++)
        dts[k] = UG_FLOAT64;
    ug_loop_fn fn = build_src(src, NULL, NIN, 1, dts, NULL, 0);
    static double in[NIN][3 * N], out[3 * N];
    char *args[NIN + 1];
    intptr_t d[1] = {N}, st[NIN + 1];
    for (int k = 0; k < NIN; k++) {
        for (int i = 0; i < 3 * N; i++)
            in[k][i] = (double)((i * 7 + k * 13) % 101) - 50.0;
        args[k] = (char *)in[k];
        st[k] = k == 0 ? 0 : k == 1 ? 8 : 16; /* one broadcast, one in place, the rest gathered */
    }
    for (int i = 0; i < 3 * N; i++)
        out[i] = -99.0;
    args[NIN] = (char *)out;
    st[NIN] = 24;
    fn(args, d, st, NULL);
    for (int i = 0; i < N; i++) {
        double want = *(double *)(args[0] + i * st[0]);
        for (int k = 1; k < NIN; k++)
            want = want + (k + 1.0) * *(double *)(args[k] + i * st[k]);
        ck_assert_msg(out[3 * i] == want, "i=%d: %g want %g", i, out[3 * i], want);
        ck_assert(out[3 * i + 1] == -99.0 && out[3 * i + 2] == -99.0);
    }
    /* float32 in, float64 out, over the same bytes; also with a disjoint input */
    ug_dtype mix[2] = {UG_FLOAT32, UG_FLOAT64};
    ug_loop_fn twice = build_src("def k(x):\n    return x * 2.0\n", NULL, 1, 1, mix, NULL, 0);
    static double mem[N], sim[N];
    for (int i = 0; i < N; i++)
        mem[i] = sim[i] = i * 0.25 - 3.0;
    char *a2[2] = {(char *)mem, (char *)mem};
    intptr_t s2[2] = {4, 8};
    twice(a2, d, s2, NULL);
    for (int i = 0; i < N; i++) { /* element after element: read 4 bytes at 4i, write 8 bytes at 8i */
        float x;
        memcpy(&x, (char *)sim + 4 * i, 4);
        sim[i] = (double)(x * 2.0f);
    }
    ck_assert(memcmp(mem, sim, sizeof mem) == 0);
    static float f[N];
    for (int i = 0; i < N; i++)
        f[i] = (float)i - 500.5f;
    char *a3[2] = {(char *)f, (char *)mem};
    twice(a3, d, s2, NULL);
    for (int i = 0; i < N; i++)
        ck_assert(mem[i] == (double)(f[i] * 2.0f));
}
END_TEST

/* A body that does not vectorise (int64 modulo): strided calls skip the
 * blocks and run the serial loop (RT_SERIAL_STRIDED); results over
 * stride patterns against C. */
START_TEST(source_scalar_body_strided)
{
    ug_dtype dts[3] = {UG_INT64, UG_INT64, UG_INT64};
    ug_loop_fn fn = build_src("def k(a, b):\n    return (a * 31 + b) % 1009\n", NULL, 2, 1, dts, NULL, 0);
    enum { N = 777 };
    static int64_t a[3 * N], b[3 * N], o[3 * N];
    for (int i = 0; i < 3 * N; i++)
        a[i] = i * 7919 - 1000000, b[i] = 5 - i * 13;
    static const int pat[][3] = {{2, 1, 1}, {-1, 0, 3}, {1, 1, 2}, {0, 2, -3}};
    for (size_t p = 0; p < sizeof pat / sizeof pat[0]; p++) {
        intptr_t st[3], d[1] = {N};
        char *args[3];
        int64_t *mem[3] = {a, b, o};
        for (int k = 0; k < 3; k++) {
            st[k] = pat[p][k] * 8;
            args[k] = (char *)(pat[p][k] < 0 ? mem[k] + 3 * N - 1 : mem[k]);
        }
        for (int i = 0; i < 3 * N; i++)
            o[i] = -7;
        fn(args, d, st, NULL);
        for (int i = 0; i < N; i++) {
            int64_t x = *(int64_t *)(args[0] + i * st[0]), y = *(int64_t *)(args[1] + i * st[1]);
            int64_t m = (x * 31 + y) % 1009;
            m += m < 0 ? 1009 : 0;
            ck_assert_msg(*(int64_t *)(args[2] + i * st[2]) == m, "pattern %zu i=%d", p, i);
        }
    }
}
END_TEST

START_TEST(source_gufunc_matmul_strided)
{
    ug_dtype dts[3] = {UG_FLOAT64, UG_FLOAT64, UG_FLOAT64};
    int nd[3] = {2, 2, 2};
    ug_loop_fn fn = build_src(matmul_src, "(m,n),(n,p)->(m,p)", 2, 1, dts, nd, 0);
    enum { S = 3, M = 4, N = 5, P = 3 };
    /* A stacked and C-contiguous; B shared by every item (outer stride 0) and
     * transposed in memory; C Fortran-ordered */
    double A[S][M][N], Bt[P][N], C[S][P][M];
    for (int s = 0; s < S; s++)
        for (int i = 0; i < M; i++)
            for (int k = 0; k < N; k++)
                A[s][i][k] = s + i * 0.5 - k;
    for (int k = 0; k < N; k++)
        for (int j = 0; j < P; j++)
            Bt[j][k] = k * 0.25 + j;
    char *args[3] = {(char *)A, (char *)Bt, (char *)C};
    /* dims: outer, m, n, p; steps: 3 outer, then A(m,n) B(n,p) C(m,p) */
    intptr_t dims[4] = {S, M, N, P};
    intptr_t steps[9] = {M * N * 8, 0, P * M * 8, N * 8, 8, 8, N * 8, 8, M * 8};
    fn(args, dims, steps, NULL);
    for (int s = 0; s < S; s++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < P; j++) {
                double want = 0;
                for (int k = 0; k < N; k++)
                    want += A[s][i][k] * Bt[j][k];
                ck_assert_msg(C[s][j][i] == want, "C[%d][%d][%d] = %g want %g", s, i, j, C[s][j][i], want);
            }
}
END_TEST

/* A core-shape variant marks its array arguments noalias only when no
 * output meets another operand anywhere in the call. Called directly (the
 * executor would copy), with the output in place, one stack ahead, one
 * behind, half a stack off, and apart: every result equals a C simulation
 * of the serial order (out[i] = a[0] + a[i] re-reads a[0] once written). */
START_TEST(source_gufunc_variant_overlap)
{
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    int nd[2] = {1, 1};
    static const int64_t sizes[1] = {4}, csteps[2] = {8, 8};
    variant_sizes = sizes;
    variant_steps = csteps;
    ug_loop_fn fn = build_src("def k(a, out):\n    for i in range(len(a)):\n        out[i] = a[0] + a[i]\n",
                              "(n)->(n)", 1, 1, dts, nd, 0);
    variant_sizes = variant_steps = NULL;
    enum { S = 1000, N = 4, LEN = S * N + 2 * N };
    static const int offs[][2] = {{0, 0}, {0, N}, {N, 0}, {0, 2}, {0, S * N + N}};
    double *mem = malloc(sizeof *mem * (LEN + S * N)), *ref = malloc(sizeof *ref * (LEN + S * N));
    for (size_t c = 0; c < sizeof offs / sizeof offs[0]; c++) {
        for (int i = 0; i < LEN + S * N; i++)
            mem[i] = ref[i] = (double)(i % 97) - 40.0;
        int ia = offs[c][0], io = offs[c][1];
        for (int st = 0; st < S; st++) /* the serial order */
            for (int i = 0; i < N; i++)
                ref[io + st * N + i] = ref[ia + st * N] + ref[ia + st * N + i];
        char *args[2] = {(char *)(mem + ia), (char *)(mem + io)};
        intptr_t dims[2] = {S, N}, steps[4] = {N * 8, N * 8, 8, 8};
        fn(args, dims, steps, NULL);
        for (int i = 0; i < LEN + S * N; i++)
            ck_assert_msg(mem[i] == ref[i], "offsets %d,%d: element %d is %g, want %g", ia, io, i, mem[i], ref[i]);
    }
    free(mem);
    free(ref);
}
END_TEST

START_TEST(source_gufunc_negative_index_and_boundscheck)
{
    static const char src[] = "def last(a, k, out):\n    out[0] = a[-1] + a[k]\n";
    ug_dtype dts[3] = {UG_INT32, UG_INT64, UG_INT32};
    int nd[3] = {1, 0, 1};
    ug_loop_fn fn = build_src(src, "(n),()->()", 2, 1, dts, nd, 1);
    int32_t a[6] = {1, 2, 3, 4, 5, 6}, out[2] = {0, 0};
    int64_t k[2] = {-2, 0};
    char *args[3] = {(char *)a, (char *)k, (char *)out};
    intptr_t dims[2] = {2, 3}, steps[4] = {12, 8, 4, 4};
    fn(args, dims, steps, NULL);
    ck_assert_int_eq(rt_take_error(NULL), 0);
    ck_assert_int_eq(out[0], 3 + 2);
    ck_assert_int_eq(out[1], 6 + 4);
    k[1] = 3; /* out of range for n = 3 */
    fn(args, dims, steps, NULL);
    ug_error err;
    ck_assert_int_eq(rt_take_error(&err), 1);
    ck_assert_msg(strstr(err.msg, "index 3 is out of bounds for axis 0 with size 3") && strstr(err.msg, "'a'"), "%s", err.msg);
    k[1] = -4;
    fn(args, dims, steps, NULL);
    ck_assert_int_eq(rt_take_error(&err), 1);
    ck_assert_msg(strstr(err.msg, "index -4 is out of bounds"), "%s", err.msg);
}
END_TEST

/* Expression statements whose value is an array or a.shape do nothing (they
 * reached lowering as loads of an array and crashed LLVM's passes). */
START_TEST(source_array_expression_statements)
{
    static const char src[] =
        "def f(a, b, out):\n"
        "    n0 = len(a)\n"
        "    a\n"
        "    (b)\n"
        "    out\n"
        "    a.shape\n"
        "    a[0]\n"
        "    out[0] = a[0] + b[n0 - 1]\n";
    ug_dtype dts[3] = {UG_FLOAT64, UG_FLOAT64, UG_FLOAT64};
    int nd[3] = {1, 1, 1};
    ug_loop_fn fn = build_src(src, "(n),(n)->()", 2, 1, dts, nd, 0);
    double a[3] = {1, 2, 3}, b[3] = {10, 20, 30}, out[1] = {0};
    char *args[3] = {(char *)a, (char *)b, (char *)out};
    intptr_t dims[2] = {1, 3}, steps[5] = {0, 0, 0, 8, 8};
    fn(args, dims, steps, NULL);
    ck_assert(out[0] == 31);
}
END_TEST

/* len, .size, .ndim, .shape[-1], 3-argument min/max, mixed int/float floor
 * division and modulo, a returned float cast to int32 (NumPy unsafe). */
START_TEST(source_array_attributes_and_mixed_arithmetic)
{
    static const char src[] =
        "def f(a, x, out):\n"
        "    t = len(a) * 1000 + a.size * 100 + a.ndim * 10 + a.shape[-1]\n"
        "    q = x // 2.5 + x % -3\n"
        "    out[0] = t + min(x, 7, q) + max(q, -1, x) * 0 + int32(q * 1e10)\n";
    ug_dtype dts[3] = {UG_FLOAT64, UG_INT64, UG_FLOAT64};
    int nd[3] = {2, 0, 1};
    ug_loop_fn fn = build_src(src, "(m,n),()->()", 2, 1, dts, nd, 0);
    double a[6] = {0};
    int64_t x[4] = {-7, 0, 5, 12};
    double out[4];
    char *args[3] = {(char *)a, (char *)x, (char *)out};
    intptr_t dims[3] = {4, 2, 3}, steps[5] = {0, 8, 8, 24, 8};
    fn(args, dims, steps, NULL);
    for (int i = 0; i < 4; i++) {
        double xd = (double)x[i], m;
        double q = ref_divmod(xd, 2.5, &m);
        ref_divmod(xd, -3.0, &m);
        q += m;
        double t = 2 * 1000 + 6 * 100 + 2 * 10 + 3;
        double mn = xd, mx = q;
        if (7 < mn)
            mn = 7;
        if (q < mn)
            mn = q;
        double want = t + mn + mx * 0 + (double)cvtt32(q * 1e10);
        ck_assert_msg(out[i] == want, "x=%lld: %.17g want %.17g", (long long)x[i], out[i], want);
    }
}
END_TEST

/* An element's result does not depend on where a call's boundaries fall:
 * one call over N, N calls over 1, and calls over odd pieces agree bit for
 * bit (vector body, loop remainder and serial path use one libmvec routine). */
START_TEST(results_independent_of_call_boundaries)
{
    static const int bs[] = {B_EXP, B_SIN, B_LOG1P, B_ATAN2, B_POW};
    ug_dtype dt = _i ? UG_FLOAT32 : UG_FLOAT64;
    size_t es = ug_dtype_size(dt);
    for (size_t b = 0; b < sizeof bs / sizeof bs[0]; b++) {
        int two = bs[b] == B_ATAN2 || bs[b] == B_POW;
        kernel_node *args2[2] = {param(0, sty(dt)), param(1, sty(dt))};
        ug_dtype in[2] = {dt, dt}, dts[3] = {dt, dt, dt};
        ug_loop_fn fn = build(scalar_kernel(2, in, dt, call(bs[b], args2, two ? 2 : 1, dt, dt), 0, NULL), dts);
        enum { N = 203 };
        static char x[N * 8], y[N * 8], whole[N * 8], piece[N * 8], one[N * 8];
        for (int i = 0; i < N; i++) {
            double v = 0.37 + i * 0.0491, w = 1.3 - i * 0.011;
            if (dt == UG_FLOAT32) {
                ((float *)x)[i] = (float)v;
                ((float *)y)[i] = (float)w;
            } else {
                ((double *)x)[i] = v;
                ((double *)y)[i] = w;
            }
        }
        intptr_t st[3] = {(intptr_t)es, (intptr_t)es, (intptr_t)es};
        char *a0[3] = {x, y, whole};
        fn(a0, (intptr_t[]){N}, st, NULL);
        for (int i = 0; i < N; i++) {
            char *a1[3] = {x + i * es, y + i * es, one + i * es};
            fn(a1, (intptr_t[]){1}, st, NULL);
        }
        for (int i = 0; i < N;) {
            int len = 1 + (i * 7) % 37;
            if (len > N - i)
                len = N - i;
            char *a2[3] = {x + i * es, y + i * es, piece + i * es};
            fn(a2, (intptr_t[]){len}, st, NULL);
            i += len;
        }
        ck_assert_msg(!memcmp(whole, one, N * es), "builtin %d %s: one-element calls differ", bs[b], ug_dtype_name(dt));
        ck_assert_msg(!memcmp(whole, piece, N * es), "builtin %d %s: pieces differ", bs[b], ug_dtype_name(dt));
    }
}
END_TEST

/* An index error inside a helper stops the kernel and the loop: later
 * statements and later outer iterations do not run. */
START_TEST(source_boundscheck_in_helper)
{
    static const char src[] =
        "def get(a, i):\n    return a[i]\n\n"
        "def k(a, i, out):\n    out[0] = -1.0\n    out[0] = get(a, i) * 2.0\n";
    ug_dtype dts[3] = {UG_FLOAT64, UG_INT64, UG_FLOAT64};
    int nd[3] = {1, 0, 1};
    ug_loop_fn fn = build_src(src, "(n),()->()", 2, 1, dts, nd, 1);
    double a[4] = {1, 2, 3, 4}, out[3] = {7, 7, 7};
    int64_t i[3] = {1, 5, 0};
    char *args[3] = {(char *)a, (char *)i, (char *)out};
    intptr_t dims[2] = {3, 4}, steps[4] = {0, 8, 8, 8};
    fn(args, dims, steps, NULL);
    ug_error err;
    ck_assert_int_eq(rt_take_error(&err), 1);
    ck_assert_msg(strstr(err.msg, "index 5 is out of bounds for axis 0 with size 4"), "%s", err.msg);
    ck_assert(out[0] == 4.0 && out[1] == -1.0 && out[2] == 7.0);
}
END_TEST

/* ---------------------------------------------------------------- options, threads, dumps */

static void check_sigmoid(ug_loop_fn fn, int ulps)
{
    enum { N = 517 };
    double x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = (i - 258) * 0.07;
    char *args[2] = {(char *)x, (char *)y};
    intptr_t d[1] = {N}, st[2] = {8, 8};
    fn(args, d, st, NULL);
    for (int i = 0; i < N; i++)
        ck_assert_msg(close_ulps(y[i], 1.0 / (1.0 + exp(-x[i])), ulps, false), "x=%g: %.17g", x[i], y[i]);
}

START_TEST(opt_levels_and_fastmath)
{
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    for (int lvl = 0; lvl <= 3; lvl++)
        for (int fast = 0; fast <= 1; fast++) {
            char sym[64];
            snprintf(sym, sizeof sym, "opt_%d_%d", lvl, fast);
            loops_request r = {.tk = sigmoid_kernel(UG_FLOAT64), .layout = scalar_layout(1, 1), .dtypes = dts,
                               .symbol = sym, .kname = "k", .fastmath = fast, .opt_level = lvl};
            void *obj;
            size_t size;
            loops_code *code;
            ug_loop_fn fn;
            ug_error err = {0};
            ck_assert_msg(loops_compile(&r, &obj, &size, &err) == UG_OK, "%s", err.msg);
            ck_assert_msg(loops_load(obj, size, sym, &code, &fn, &err) == UG_OK, "%s", err.msg);
            free(obj);
            check_sigmoid(fn, fast ? 64 : 4);
            loops_unload(code);
        }
}
END_TEST

/* After the last unload the symbol is gone; loading it again gives new, working code. */
START_TEST(unload_and_reload)
{
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    loops_request r = {.tk = sigmoid_kernel(UG_FLOAT64), .layout = scalar_layout(1, 1), .dtypes = dts,
                       .symbol = "reload_me", .kname = "k", .opt_level = 3};
    void *obj;
    size_t size;
    ug_error err = {0};
    ck_assert_int_eq(loops_compile(&r, &obj, &size, &err), UG_OK);
    for (int round = 0; round < 3; round++) {
        loops_code *code;
        ug_loop_fn fn;
        ck_assert_msg(loops_load(obj, size, "reload_me", &code, &fn, &err) == UG_OK, "%s", err.msg);
        check_sigmoid(fn, 4);
        loops_unload(code);
    }
    free(obj);
}
END_TEST

typedef struct worker {
    int id;
    int ok;
} worker;

/* Each thread compiles its own symbol and a shared one, loads, runs, unloads. */
static void *work(void *p)
{
    worker *w = p;
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    w->ok = 1;
    for (int k = 0; k < 4; k++) {
        char sym[64];
        snprintf(sym, sizeof sym, k % 2 ? "shared_sym" : "thr_%d_%d", w->id, k);
        loops_request r = {.tk = sigmoid_kernel(UG_FLOAT64), .layout = scalar_layout(1, 1), .dtypes = dts,
                           .symbol = sym, .kname = "k", .opt_level = 3};
        void *obj;
        size_t size;
        loops_code *code;
        ug_loop_fn fn;
        ug_error err = {0};
        if (loops_compile(&r, &obj, &size, &err) || loops_load(obj, size, sym, &code, &fn, &err)) {
            w->ok = 0;
            return NULL;
        }
        free(obj);
        double x[64], y[64];
        for (int i = 0; i < 64; i++)
            x[i] = i * 0.1 - 3;
        char *args[2] = {(char *)x, (char *)y};
        intptr_t d[1] = {64}, st[2] = {8, 8};
        fn(args, d, st, NULL);
        for (int i = 0; i < 64; i++)
            if (!close_ulps(y[i], 1.0 / (1.0 + exp(-x[i])), 4, false))
                w->ok = 0;
        loops_unload(code);
    }
    return NULL;
}

START_TEST(concurrent_compile_and_load)
{
    enum { T = 4 };
    pthread_t th[T];
    worker w[T];
    for (int i = 0; i < T; i++) {
        w[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(w[i].ok, "thread %d", i);
    }
}
END_TEST

/* What building tk prints to stderr with UFUNCGEN_DUMP=what (a static buffer). */
static const char *dump_of(const char *what, kernel_typed *tk, const ug_dtype *dts)
{
    char path[] = "/tmp/test_loops_dumpXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    setenv("UFUNCGEN_DUMP", what, 1);
    build(tk, dts);
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
    unlink(path);
    return text;
}

/* UFUNCGEN_DUMP=ir,asm,time prints the IR (with the libmvec attribute), the
 * assembly and stage times to stderr. */
START_TEST(dump_ir_and_asm)
{
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    const char *text = dump_of("ir,asm,time", sigmoid_kernel(UG_FLOAT64), dts);
    ck_assert_msg(strstr(text, "vector-function-abi-variant"), "no vfabi attribute in the IR dump");
    ck_assert_msg(strstr(text, "llvm.loop.parallel_accesses"), "no parallel loop metadata");
    ck_assert_msg(strstr(text, "# ---- ufuncgen asm"), "no asm dump");
    ck_assert_msg(strstr(text, "optimise"), "no stage times");
}
END_TEST

/* The flags of the optimised module's strided descriptor (@ug.desc, read
 * from UFUNCGEN_DUMP=ir): which way strided calls of kernel e run. */
static long desc_flags_of(kernel_node *e, int nin)
{
    ug_dtype dt = UG_FLOAT64, in[4] = {dt, dt, dt, dt}, dts[5] = {dt, dt, dt, dt, dt};
    const char *text = dump_of("ir", scalar_kernel(nin, in, dt, e, 0, NULL), dts);
    const char *opt = strstr(text, "optimised");
    const char *d = opt ? strstr(opt, "@ug.desc = ") : NULL;
    ck_assert_msg(d != NULL, "no @ug.desc in the optimised IR");
    const char *fl = strstr(d, ", i64 ");
    ck_assert_msg(fl != NULL, "no flags in %.200s", d);
    return strtol(fl + 6, NULL, 10);
}

/* Strided calls of a cheap body (a*b+c) run serially; a division, a
 * libmvec call or a long polynomial take blocks. */
START_TEST(strided_decision_follows_work)
{
    ug_dtype F = UG_FLOAT64;
    kernel_node *x = param(0, sty(F)), *y = param(1, sty(F)), *z = param(2, sty(F));
    kernel_node *fma = bin(TK_PLUS, bin(TK_STAR, x, y, F), z, F);
    ck_assert_int_eq(desc_flags_of(fma, 3), RT_SERIAL_STRIDED);
    ck_assert_int_eq(desc_flags_of(bin(TK_SLASH, fma, fnum(3.0, F), F), 3), 0);
    kernel_node *sig = sigmoid_kernel(F)->kernel->body->kids[0]->a;
    ck_assert_int_eq(desc_flags_of(sig, 1), 0);
    kernel_node *p = param(0, sty(F));
    for (int k = 0; k < 8; k++) /* degree-8 Horner: 16 operations per element */
        p = bin(TK_PLUS, bin(TK_STAR, p, param(0, sty(F)), F), fnum(0.5 + k, F), F);
    ck_assert_int_eq(desc_flags_of(p, 1), 0);
}
END_TEST

/* ---------------------------------------------------------------- loop fission (fission.c) */

static const char movmean_src[] =
    "def move_mean(a, w, out):\n"
    "    asum = 0.0\n"
    "    count = 0\n"
    "    for i in range(w):\n"
    "        asum += a[i]\n"
    "        count += 1\n"
    "        out[i] = asum / count\n"
    "    for i in range(w, a.shape[0]):\n"
    "        asum += a[i] - a[i - w]\n"
    "        out[i] = asum / count\n";

static void collect_fors(const kernel_node *n, const kernel_node **out, int *nout)
{
    if (!n)
        return;
    if (n->kind == N_FOR && *nout < 8)
        out[(*nout)++] = n;
    collect_fors(n->body, out, nout);
    collect_fors(n->orelse, out, nout);
    for (int k = 0; n->kind == N_BLOCK && k < n->nkids; k++)
        collect_fors(n->kids[k], out, nout);
}

/* Which loops fission.c splits, and where: one kernel (a, out) or
 * (a, w, out) per row; per loop in source order, the expected moving axis
 * and offset, or -1 for "not split". */
START_TEST(fission_plans)
{
    static const struct {
        const char *src;
        int nd;            /* ndim of a and out */
        ug_dtype dt;       /* of a and out */
        int axis[3];
        int off[3];
    } rows[] = {
        {movmean_src, 1, UG_FLOAT64, {-1, 0}, {0, 0}}, /* range(w): count changes too */
        {"def k(a, out):\n    s = 0.0\n    for i in range(len(a)):\n        s += a[i]\n        out[i] = s / (i + 1)\n",
         1, UG_FLOAT64, {0}, {0}},
        {"def k(a, out):\n    s = 0.0\n    for i in range(1, len(a) + 1):\n        s = s * 0.5 + a[i - 1]\n"
         "        out[i - 1] = math.sqrt(s * s + 1.0)\n", 1, UG_FLOAT64, {0}, {-1}},
        {"def k(a, out):\n    s = float32(0.0)\n    for i in range(len(a)):\n        s += a[i]\n        out[i] = s / 3.0\n",
         1, UG_FLOAT32, {0}, {0}},
        {"def k(a, out):\n    m, n = a.shape\n    for i in range(m):\n        s = 0.0\n        for j in range(n):\n"
         "            s += a[i, j]\n            out[i, j] = s / (j + 1)\n", 2, UG_FLOAT64, {-1, 1}, {0, 0}},
        /* cheap work: nothing to gain */
        {"def k(a, out):\n    s = 0.0\n    for i in range(len(a)):\n        s += a[i]\n        out[i] = s * 0.5\n",
         1, UG_FLOAT64, {-1}, {0}},
        /* no recurrence: the loop vectorises whole */
        {"def k(a, out):\n    for i in range(len(a)):\n        s = a[i] * 2.0\n        out[i] = s / 3.0\n",
         1, UG_FLOAT64, {-1}, {0}},
        /* out read elsewhere in the body */
        {"def k(a, out):\n    s = 0.0\n    for i in range(len(a)):\n        s += a[i] + out[0]\n        out[i] = s / 2.0\n",
         1, UG_FLOAT64, {-1}, {0}},
        /* V reads an array */
        {"def k(a, out):\n    s = 0.0\n    for i in range(len(a)):\n        s += a[i]\n        out[i] = s / a[i]\n",
         1, UG_FLOAT64, {-1}, {0}},
        /* a break: the store may not run every iteration */
        {"def k(a, out):\n    s = 0.0\n    for i in range(len(a)):\n        s += a[i]\n        out[i] = s / 2.0\n"
         "        if s > 100.0:\n            break\n", 1, UG_FLOAT64, {-1}, {0}},
        /* the store under an if */
        {"def k(a, out):\n    s = 0.0\n    for i in range(len(a)):\n        s += a[i]\n        if s > 0.0:\n"
         "            out[i] = s / 2.0\n", 1, UG_FLOAT64, {-1}, {0}},
        /* s is int64, out float64: parking s in out would round it */
        {"def k(a, out):\n    s = 0\n    for i in range(len(a)):\n        s += 3\n        out[i] = s / 7\n",
         1, UG_FLOAT64, {-1}, {0}},
        /* two body-assigned locals in V */
        {"def k(a, out):\n    s = 0.0\n    t = 1.0\n    for i in range(len(a)):\n        s += a[i]\n        t = t * 0.5\n"
         "        out[i] = s / t\n", 1, UG_FLOAT64, {-1}, {0}},
        /* the index is not i + literal */
        {"def k(a, out):\n    s = 0.0\n    for i in range(len(a)):\n        s += a[i]\n        out[len(a) - 1 - i] = s / 2.0\n",
         1, UG_FLOAT64, {-1}, {0}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        bool three = strstr(rows[r].src, "(a, w, out)") != NULL;
        kernel_argtype at[3] = {{rows[r].dt, rows[r].nd}, {UG_INT64, 0}, {rows[r].dt, rows[r].nd}};
        if (!three)
            at[1] = at[2];
        kernel_typed *t = typed_src(rows[r].src, true, three ? 2 : 1, 1, at);
        const kernel_node *fors[8];
        int nf = 0;
        collect_fors(t->kernel->body, fors, &nf);
        for (int k = 0; k < nf; k++) {
            loops_fission p;
            bool split = loops_fission_plan(t->kernel, fors[k], &p);
            ck_assert_msg(split == (rows[r].axis[k] >= 0), "row %zu loop %d: split %d", r, k, split);
            if (split)
                ck_assert_msg(p.axis == rows[r].axis[k] && p.off == rows[r].off[k], "row %zu loop %d: axis %d off %lld", r,
                              k, p.axis, (long long)p.off);
        }
    }
}
END_TEST

static int64_t wrap_ix(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

/* move_mean as written, on doubles in mem (offsets and strides in elements). */
static void ref_movmean(double *mem, int64_t a0, int64_t sa, int64_t w, int64_t o0, int64_t so, int64_t n)
{
    double asum = 0.0;
    int64_t count = 0;
    for (int64_t i = 0; i < w; i++) {
        asum += mem[a0 + wrap_ix(i, n) * sa];
        count++;
        mem[o0 + wrap_ix(i, n) * so] = asum / (double)count;
    }
    for (int64_t i = w; i < n; i++) {
        asum += mem[a0 + wrap_ix(i, n) * sa] - mem[a0 + wrap_ix(i - w, n) * sa];
        mem[o0 + wrap_ix(i, n) * so] = asum / (double)count;
    }
}

/* A split loop and the loop as written give the same bits, whichever runs:
 * apart (split), in place and shifted by one (overlap: as written), a
 * strided output (as written), a strided input (split), a window of 0
 * (division by zero: inf/nan) and a negative window (indices wrap). */
START_TEST(source_fission_movmean)
{
    ug_dtype dts[3] = {UG_FLOAT64, UG_INT64, UG_FLOAT64};
    int nd[3] = {1, 0, 1};
    ug_loop_fn fn = build_src(movmean_src, "(n),()->(n)", 2, 1, dts, nd, 0);
    enum { S = 5, N = 300, LEN = 4 * S * N };
    static const struct { int64_t a0, sa, o0, so, w; } cs[] = {
        {0, 1, 2 * S * N, 1, 20}, {0, 1, 0, 1, 20}, {1, 1, 0, 1, 7}, {0, 1, S * N, 2, 20},
        {0, 2, 3 * S * N, 1, 20}, {0, 1, 2 * S * N, 1, 0},  {0, 1, 2 * S * N, 1, -3}, {0, 1, 2 * S * N, 1, N},
    };
    double *mem = malloc(sizeof *mem * LEN), *ref = malloc(sizeof *ref * LEN);
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        for (int i = 0; i < LEN; i++)
            mem[i] = ref[i] = (double)((i * 7919) % 1013) / 17.0 - 29.0;
        int64_t w = cs[c].w, item_a = N * cs[c].sa, item_o = N * cs[c].so;
        for (int st = 0; st < S; st++)
            ref_movmean(ref, cs[c].a0 + st * item_a, cs[c].sa, w, cs[c].o0 + st * item_o, cs[c].so, N);
        char *args[3] = {(char *)(mem + cs[c].a0), (char *)&w, (char *)(mem + cs[c].o0)};
        intptr_t dims[2] = {S, N}, steps[5] = {8 * item_a, 0, 8 * item_o, 8 * cs[c].sa, 8 * cs[c].so};
        fn(args, dims, steps, NULL);
        ck_assert_msg(!memcmp(mem, ref, sizeof *mem * LEN), "case %zu: results differ from the loop as written", c);
    }
    free(mem);
    free(ref);
}
END_TEST

/* Split loops whose V reads the loop variable, whose store is offset
 * (out[i - 1]), over a 2-d inner axis (contiguous: split; transposed
 * output: as written), and in float32. */
START_TEST(source_fission_variants)
{
    static const char cum[] = "def k(a, out):\n    s = 0.0\n    for i in range(1, len(a) + 1):\n"
                              "        s = s * 0.5 + a[i - 1]\n        out[i - 1] = math.sqrt(s * s + 1.0) / i\n";
    static const char rows[] = "def k(a, out):\n    m, n = a.shape\n    for i in range(m):\n        s = 0.0\n"
                               "        for j in range(n):\n            s += a[i, j]\n            out[i, j] = s / (j + 1)\n";
    static const char f32[] = "def k(a, out):\n    s = float32(0.0)\n    for i in range(len(a)):\n"
                              "        s += a[i]\n        out[i] = s / 3.0\n";
    enum { M = 7, N = 301 };
    double a[M * N], out[M * N], outT[N * M];
    for (int i = 0; i < M * N; i++)
        a[i] = (double)((i * 7919) % 1013) / 17.0 - 29.0;
    ug_dtype d2[2] = {UG_FLOAT64, UG_FLOAT64}, f2[2] = {UG_FLOAT32, UG_FLOAT32};
    int nd1[2] = {1, 1}, nd2[2] = {2, 2};
    ug_loop_fn fcum = build_src(cum, "(n)->(n)", 1, 1, d2, nd1, 0);
    char *args[2] = {(char *)a, (char *)out};
    intptr_t dims[2] = {M, N}, steps[4] = {8 * N, 8 * N, 8, 8};
    fcum(args, dims, steps, NULL);
    for (int r = 0; r < M; r++) {
        double s = 0.0;
        for (int i = 1; i <= N; i++) {
            s = s * 0.5 + a[r * N + i - 1];
            double want = sqrt(s * s + 1.0) / (double)i;
            ck_assert_msg(out[r * N + i - 1] == want, "cum row %d [%d]: %.17g want %.17g", r, i - 1, out[r * N + i - 1], want);
        }
    }
    ug_loop_fn frows = build_src(rows, "(m,n)->(m,n)", 1, 1, d2, nd2, 0);
    for (int tr = 0; tr < 2; tr++) {
        args[1] = (char *)(tr ? outT : out);
        intptr_t d3[3] = {1, M, N}, st3[6] = {0, 0, 8 * N, 8, tr ? 8 : 8 * N, tr ? 8 * M : 8};
        frows(args, d3, st3, NULL);
        for (int i = 0; i < M; i++) {
            double s = 0.0;
            for (int j = 0; j < N; j++) {
                s += a[i * N + j];
                double got = tr ? outT[j * M + i] : out[i * N + j];
                ck_assert_msg(got == s / (double)(j + 1), "rows %s [%d,%d]", tr ? "transposed" : "plain", i, j);
            }
        }
    }
    float af[N], of[N];
    for (int i = 0; i < N; i++)
        af[i] = (float)a[i];
    ug_loop_fn ff = build_src(f32, "(n)->(n)", 1, 1, f2, nd1, 0);
    char *fargs[2] = {(char *)af, (char *)of};
    intptr_t fd[2] = {1, N}, fs[4] = {0, 0, 4, 4};
    ff(fargs, fd, fs, NULL);
    float s = 0.0f;
    for (int i = 0; i < N; i++) {
        s += af[i];
        ck_assert_msg(of[i] == s / 3.0f, "float32 [%d]: %.9g want %.9g", i, of[i], s / 3.0f);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("loops");
    TCase *t = tcase_create("ops");
    tcase_set_timeout(t, 300);
    tcase_add_checked_fixture(t, NULL, free_tracked);
    tcase_add_loop_test(t, int_binops_every_dtype, 0, 8);
    tcase_add_loop_test(t, compare_every_dtype, 0, UG_NDTYPES - 1);
    tcase_add_loop_test(t, float_binops, 0, 2);
    tcase_add_loop_test(t, casts_every_pair, 0, UG_NDTYPES * UG_NDTYPES);
    tcase_add_test(t, casts_match_numpy);
    tcase_add_loop_test(t, math_unary_every_builtin, 0, 2 * NMCASES);
    tcase_add_loop_test(t, math_binary_builtins, 0, 2);
    tcase_add_loop_test(t, minmax_signed_zeros_every_path, 0, 2);
    tcase_add_loop_test(t, int_builtins, 0, 8);
    suite_add_tcase(s, t);
    TCase *l = tcase_create("loops");
    tcase_set_timeout(l, 300);
    tcase_add_checked_fixture(l, NULL, free_tracked);
    tcase_add_loop_test(l, stride_paths, 0, 2);
    tcase_add_test(l, in_place_and_reduce_aliasing);
    tcase_add_test(l, bool_and_narrow_types_strided);
    tcase_add_test(l, control_flow_for_negative_step_while_continue);
    tcase_add_test(l, boolops_chains_ternary);
    tcase_add_loop_test(l, sigmoid_calls_libmvec, 0, 2);
    tcase_add_loop_test(l, gufunc_dot, 0, 2);
    tcase_add_test(l, gufunc_boundscheck);
    tcase_add_test(l, jit_corrupt_object_and_sharing);
    tcase_add_test(l, host_facts_and_count);
    tcase_add_test(l, source_helpers_control_flow);
    tcase_add_test(l, opt_levels_and_fastmath);
    tcase_add_test(l, source_boundscheck_in_helper);
    tcase_add_loop_test(l, results_independent_of_call_boundaries, 0, 2);
    tcase_add_test(l, source_array_attributes_and_mixed_arithmetic);
    tcase_add_test(l, source_array_expression_statements);
    tcase_add_test(l, unload_and_reload);
    tcase_add_test(l, concurrent_compile_and_load);
    tcase_add_test(l, dump_ir_and_asm);
    tcase_add_test(l, strided_decision_follows_work);
    tcase_add_test(l, source_sigmoid_float32_weak_literals);
    tcase_add_test(l, source_gufunc_matmul_strided);
    tcase_add_test(l, source_unary_casts_constants);
    tcase_add_test(l, source_power_as_numba);
    tcase_add_test(l, source_bool_operators);
    tcase_add_test(l, source_strided_many_operands_and_mixed_sizes);
    tcase_add_test(l, source_scalar_body_strided);
    tcase_add_test(l, source_gufunc_variant_overlap);
    tcase_add_test(l, source_gufunc_negative_index_and_boundscheck);
    tcase_add_test(l, fission_plans);
    tcase_add_test(l, source_fission_movmean);
    tcase_add_test(l, source_fission_variants);
    suite_add_tcase(s, l);
    return s;
}

int main(void)
{
    setenv("UFUNCGEN_VERIFY", "1", 1);
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
