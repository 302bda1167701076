/* test_ufuncgen.c — the public C API end to end: kernels from source text,
 * signatures in both spellings, calls on plain buffers with broadcasting,
 * strides, reversed and transposed views, overlap, casting, allocation,
 * lazy loops, and every class of bad input with its documented error.
 * Expected values are computed here in C, independently of the library. */
#include <check.h>
#include <complex.h>
#include <float.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ufuncgen/ufuncgen.h"

static ug_context *ctx;

static void setup(void) { ctx = ug_context_new(NULL); }
static void teardown(void) { ug_context_free(ctx); }

static ug_ufunc *make(const char *src, const char **sigs, int n)
{
    ug_ufunc *f = NULL;
    ug_status st = ug_vectorize(ctx, src, sigs, n, NULL, &f);
    ck_assert_msg(st == UG_OK, "ug_vectorize: %s", ug_errmsg(ctx));
    return f;
}

static void call_ok(ug_ufunc *f, ug_operand *ops, int n)
{
    ug_error err;
    ug_status st = ug_call(f, ops, n, &err);
    ck_assert_msg(st == UG_OK, "ug_call: %s", err.msg);
}

static void op1d(ug_operand *op, void *data, ug_dtype t, int64_t n, int64_t stride_bytes)
{
    ug_operand_init(op, data, t, 1, &n, &stride_bytes);
}

START_TEST(sigmoid_contiguous_and_strided)
{
    const char *sigs[] = {"float64(float64)", "f->f"};
    ug_ufunc *f = make("def sigmoid(x):\n    return 1.0 / (1.0 + exp(-x))\n", sigs, 2);
    ck_assert_int_eq(ug_ufunc_nloops(f), 2);
    ck_assert_str_eq(ug_ufunc_name(f), "sigmoid");
    enum { N = 1003 };
    static double x[2 * N], y[2 * N];
    for (int i = 0; i < 2 * N; i++)
        x[i] = (i - N) * 0.037;
    ug_operand ops[2];
    op1d(&ops[0], x, UG_FLOAT64, N, 8);
    op1d(&ops[1], y, UG_FLOAT64, N, 8);
    call_ok(f, ops, 2);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq_tol(y[i], 1.0 / (1.0 + exp(-x[i])), 4 * DBL_EPSILON);
    /* stride 2 in, reversed out */
    memset(y, 0, sizeof y);
    op1d(&ops[0], x, UG_FLOAT64, N, 16);
    op1d(&ops[1], y + N - 1, UG_FLOAT64, N, -8);
    call_ok(f, ops, 2);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq_tol(y[N - 1 - i], 1.0 / (1.0 + exp(-x[2 * i])), 4 * DBL_EPSILON);
    /* float32 loop */
    static float xf[N], yf[N];
    for (int i = 0; i < N; i++)
        xf[i] = (float)x[i];
    op1d(&ops[0], xf, UG_FLOAT32, N, 4);
    op1d(&ops[1], yf, UG_FLOAT32, N, 4);
    call_ok(f, ops, 2);
    for (int i = 0; i < N; i++)
        ck_assert_float_eq_tol(yf[i], 1.0f / (1.0f + expf(-xf[i])), 4 * FLT_EPSILON);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(broadcast_2d_transposed)
{
    const char *sigs[] = {"dd->d"};
    ug_ufunc *f = make("lambda a, b: a * 10.0 + b\n", sigs, 1);
    double a[3][4], b[4], out[4][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            a[i][j] = i * 4 + j;
    for (int j = 0; j < 4; j++)
        b[j] = j * 0.5;
    /* a transposed: shape (4,3), strides (8, 32); b as a column (4,1) */
    ug_operand ops[3];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){4, 3}, (int64_t[]){8, 32});
    ug_operand_init(&ops[1], b, UG_FLOAT64, 2, (int64_t[]){4, 1}, NULL);
    ug_operand_init(&ops[2], out, UG_FLOAT64, 2, (int64_t[]){4, 3}, NULL);
    call_ok(f, ops, 3);
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 3; i++)
            ck_assert_double_eq(out[j][i], a[i][j] * 10.0 + b[j]);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(allocated_output_and_scalar)
{
    const char *sigs[] = {"int64(int64, int64)"};
    ug_ufunc *f = make("def g(a, b):\n    return (a * 31 + b) % 1009\n", sigs, 1);
    int64_t a[6] = {-5, 0, 7, INT64_MAX, INT64_MIN, 1000}, b = 3;
    ug_operand ops[3];
    ug_operand_init(&ops[0], a, UG_INT64, 2, (int64_t[]){2, 3}, NULL);
    ug_operand_init(&ops[1], &b, UG_INT64, 0, NULL, NULL);
    ug_operand_alloc(&ops[2], UG_DTYPE_NONE);
    call_ok(f, ops, 3);
    ck_assert_int_eq(ops[2].ndim, 2);
    ck_assert_int_eq(ops[2].shape[0], 2);
    ck_assert_int_eq(ops[2].shape[1], 3);
    ck_assert_int_eq(ops[2].dtype, UG_INT64);
    const int64_t *o = ops[2].data;
    for (int i = 0; i < 6; i++) {
        int64_t t = (int64_t)((uint64_t)a[i] * 31u + (uint64_t)b); /* wraps */
        int64_t r = t % 1009;
        if (r < 0)
            r += 1009; /* floor modulo, as np.remainder */
        ck_assert_int_eq(o[i], r);
    }
    ug_free(ops[2].data);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(overlap_is_copied)
{
    const char *sigs[] = {"d->d"};
    ug_ufunc *f = make("lambda x: x * 2.0 + 1.0\n", sigs, 1);
    double buf[101], ref[101];
    for (int i = 0; i < 101; i++)
        buf[i] = i;
    for (int i = 0; i < 100; i++)
        ref[i + 1] = buf[i] * 2 + 1;
    ug_operand ops[2];
    op1d(&ops[0], buf, UG_FLOAT64, 100, 8);
    op1d(&ops[1], buf + 1, UG_FLOAT64, 100, 8); /* out is in shifted by one element */
    call_ok(f, ops, 2);
    for (int i = 1; i < 101; i++)
        ck_assert_double_eq(buf[i], ref[i]);
    /* exact overlap (in place) is allowed and correct */
    op1d(&ops[0], buf, UG_FLOAT64, 101, 8);
    op1d(&ops[1], buf, UG_FLOAT64, 101, 8);
    call_ok(f, ops, 2);
    ck_assert_double_eq(buf[0], 1.0);
    ck_assert_double_eq(buf[100], ref[100] * 2 + 1);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(safe_cast_of_inputs)
{
    const char *sigs[] = {"float64(float64, float64)"};
    ug_ufunc *f = make("def h(a, b):\n    return a / b\n", sigs, 1);
    int32_t a[4] = {1, -7, 9, 0};
    float b[4] = {2, 2, 0.5f, 0};
    double out[4];
    ug_operand ops[3];
    op1d(&ops[0], a, UG_INT32, 4, 4);
    op1d(&ops[1], b, UG_FLOAT32, 4, 4);
    op1d(&ops[2], out, UG_FLOAT64, 4, 8);
    call_ok(f, ops, 3);
    ck_assert_double_eq(out[0], 0.5);
    ck_assert_double_eq(out[1], -3.5);
    ck_assert_double_eq(out[2], 18.0);
    ck_assert(isnan(out[3]));
    /* uint64 cannot be cast safely to float64... it can (NumPy says safe), but int8 → no loop for a
     * ufunc with only an int8 loop given float64: */
    const char *sigs8[] = {"b->b"};
    ug_ufunc *g = make("lambda x: x + 1\n", sigs8, 1);
    double d[2] = {1, 2};
    int8_t r[2];
    op1d(&ops[0], d, UG_FLOAT64, 2, 8);
    op1d(&ops[1], r, UG_INT8, 2, 1);
    ug_error err;
    ck_assert_int_eq(ug_call(g, ops, 2, &err), UG_EDTYPE);
    ck_assert_msg(strstr(err.msg, "float64") && strstr(err.msg, "b->b"), "%s", err.msg);
    ug_ufunc_free(g);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(lazy_loops)
{
    ug_ufunc *f = NULL;
    ck_assert_int_eq(ug_vectorize(ctx, "def f(a, b):\n    return a * b + 1\n", NULL, 0, NULL, &f), UG_OK);
    ck_assert_int_eq(ug_ufunc_nloops(f), 0);
    int16_t a[3] = {100, -3, 300}, b[3] = {400, 5, -2};
    ug_operand ops[3];
    op1d(&ops[0], a, UG_INT16, 3, 2);
    op1d(&ops[1], b, UG_INT16, 3, 2);
    ug_operand_alloc(&ops[2], UG_DTYPE_NONE);
    call_ok(f, ops, 3);
    ck_assert_int_eq(ops[2].dtype, UG_INT16); /* int16 * int16 + weak 1 stays int16 (NEP 50) */
    const int16_t *o = ops[2].data;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(o[i], (int16_t)(uint16_t)((uint16_t)a[i] * (uint16_t)b[i] + 1));
    ug_free(ops[2].data);
    ck_assert_int_eq(ug_ufunc_nloops(f), 1);
    float fa[2] = {1.5f, 2}, fb[2] = {2, 0.25f};
    op1d(&ops[0], fa, UG_FLOAT32, 2, 4);
    op1d(&ops[1], fb, UG_FLOAT32, 2, 4);
    ug_operand_alloc(&ops[2], UG_DTYPE_NONE);
    call_ok(f, ops, 3);
    ck_assert_int_eq(ops[2].dtype, UG_FLOAT32);
    ck_assert_float_eq(((float *)ops[2].data)[0], 4.0f);
    ck_assert_float_eq(((float *)ops[2].data)[1], 1.5f);
    ug_free(ops[2].data);
    ck_assert_int_eq(ug_ufunc_nloops(f), 2);
    ug_ufunc_free(f);
}
END_TEST

/* Every class of bad input gives its status, and source errors their position. */
START_TEST(source_errors_have_positions)
{
    static const struct {
        const char *src;
        ug_status st;
        int line, col;
        const char *substr;
    } cases[] = {
        {"def f(x):\n    return x +\n", UG_ESYNTAX, 2, 15, ""},
        {"def f(x):\n    return (x + 1\n", UG_ESYNTAX, -1, -1, "to close '(' at line 2"},
        {"def f(x):\n    return x + y\n", UG_ENAME, 2, 16, "y"},
        {"def f(x):\n    return foo(x)\n", UG_ENAME, 2, 12, "foo"},
        {"def f(x):\n  y = 1\n    return y\n", UG_ESYNTAX, 3, -1, ""},
    };
    const char *sigs[] = {"d->d"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ug_ufunc *f = (ug_ufunc *)1;
        ug_status st = ug_vectorize(ctx, cases[i].src, sigs, 1, NULL, &f);
        ck_assert_msg(st == cases[i].st, "case %zu: %s, expected %s: %s", i, ug_status_name(st),
                      ug_status_name(cases[i].st), ug_errmsg(ctx));
        ck_assert_ptr_null(f);
        if (cases[i].line > 0)
            ck_assert_msg(ug_errline(ctx) == cases[i].line, "case %zu: line %d: %s", i, ug_errline(ctx),
                          ug_errmsg(ctx));
        if (cases[i].col > 0)
            ck_assert_msg(ug_errcolumn(ctx) == cases[i].col, "case %zu: column %d: %s", i, ug_errcolumn(ctx),
                          ug_errmsg(ctx));
        ck_assert_msg(strstr(ug_errmsg(ctx), cases[i].substr), "case %zu: %s", i, ug_errmsg(ctx));
        ck_assert_msg(strchr(ug_errmsg(ctx), '^'), "case %zu has no caret: %s", i, ug_errmsg(ctx));
    }
}
END_TEST

START_TEST(call_errors)
{
    const char *sigs[] = {"dd->d"};
    ug_ufunc *f = make("lambda a, b: a + b\n", sigs, 1);
    double a[3] = {1, 2, 3}, b[4] = {0}, out[4];
    ug_operand ops[3];
    ug_error err;
    /* wrong operand count */
    op1d(&ops[0], a, UG_FLOAT64, 3, 8);
    ck_assert_int_eq(ug_call(f, ops, 1, &err), UG_EOPERANDS);
    ck_assert_msg(strstr(err.msg, "2 inputs"), "%s", err.msg);
    /* shapes that do not broadcast */
    op1d(&ops[1], b, UG_FLOAT64, 4, 8);
    op1d(&ops[2], out, UG_FLOAT64, 4, 8);
    ck_assert_int_eq(ug_call(f, ops, 3, &err), UG_ESHAPE);
    ck_assert_msg(strstr(err.msg, "(3,)") && strstr(err.msg, "(4,)"), "%s", err.msg);
    /* unsupported dtype */
    op1d(&ops[1], b, (ug_dtype)42, 3, 8);
    ck_assert_int_eq(ug_call(f, ops, 3, &err), UG_EDTYPE);
    /* errors land on the context when no ug_error is given */
    ck_assert_int_eq(ug_call(f, ops, 2, NULL), UG_EOPERANDS);
    ck_assert_int_eq(ug_errcode(ctx), UG_EOPERANDS);
    ug_ufunc_free(f);
    /* bad signature strings through the API */
    ug_ufunc *g = (ug_ufunc *)1;
    const char *bad[] = {"dd->x"};
    ck_assert_int_eq(ug_vectorize(ctx, "lambda a, b: a + b\n", bad, 1, NULL, &g), UG_ESIGNATURE);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(ug_errcolumn(ctx), 5);
    const char *wrongn[] = {"d->d"};
    ck_assert_int_eq(ug_vectorize(ctx, "lambda a, b: a + b\n", wrongn, 1, NULL, &g), UG_ESIGNATURE);
    ck_assert_int_eq(ug_vectorize(NULL, "lambda a: a\n", wrongn, 1, NULL, &g), UG_EINVAL);
    ck_assert_int_eq(ug_vectorize(ctx, NULL, wrongn, 1, NULL, &g), UG_EINVAL);
    ug_ufunc_free(NULL);
    ug_context_free(NULL);
}
END_TEST

/* Leave a distinctive error on ctx, so a later failing call that sets no
 * message of its own is caught showing it. */
static void stale_error(void)
{
    const char *bad[] = {"dd->x"};
    ug_ufunc *g;
    ck_assert_int_eq(ug_vectorize(ctx, "lambda a, b: a + b\n", bad, 1, NULL, &g), UG_ESIGNATURE);
}

#define ASSERT_OWN_MESSAGE(call, code, text)                                                                   \
    do {                                                                                                       \
        stale_error();                                                                                         \
        ck_assert_int_eq((call), (code));                                                                      \
        ck_assert_int_eq(ug_errcode(ctx), (code));                                                             \
        ck_assert_msg(strstr(ug_errmsg(ctx), (text)) && !strstr(ug_errmsg(ctx), "dd->x"), "%s: '%s'", #call,   \
                      ug_errmsg(ctx));                                                                         \
    } while (0)

/* Every failing call with a context to speak on sets its own message (a
 * NULL out used to leave the previous call's); thread counts out of range
 * are errors naming the value. */
START_TEST(every_failure_sets_its_message)
{
    const char *sigs[] = {"d->d"};
    ug_ufunc *f = make("lambda a: a\n", sigs, 1);
    ug_dtype types[2];
    ug_loop_fn fn;
    void *data;
    int loop;
    ASSERT_OWN_MESSAGE(ug_vectorize(ctx, "lambda a: a\n", sigs, 1, NULL, NULL), UG_EINVAL, "out is NULL");
    ASSERT_OWN_MESSAGE(ug_guvectorize(ctx, "lambda a: a\n", "()->()", sigs, 1, NULL, NULL), UG_EINVAL, "out is NULL");
    types[0] = types[1] = UG_FLOAT64;
    ASSERT_OWN_MESSAGE(ug_ufunc_loop_types(f, 5, types), UG_EINVAL, "loop 5 is out of range");
    ck_assert_int_eq(types[0], UG_DTYPE_NONE); /* the OUT array is set on failure too */
    ck_assert_int_eq(types[1], UG_DTYPE_NONE);
    ASSERT_OWN_MESSAGE(ug_ufunc_add(f, "f->f", NULL, NULL), UG_EINVAL, "loop is NULL");
    ASSERT_OWN_MESSAGE(ug_ufunc_loop_types(f, 0, NULL), UG_EINVAL, "NULL");
    ASSERT_OWN_MESSAGE(ug_ufunc_loop(f, -1, &fn, &data), UG_EINVAL, "loop -1 is out of range");
    ASSERT_OWN_MESSAGE(ug_ufunc_loop(f, 0, NULL, &data), UG_EINVAL, "NULL");
    ASSERT_OWN_MESSAGE(ug_ufunc_resolve(f, types, NULL, NULL), UG_EINVAL, "loop is NULL");
    types[0] = (ug_dtype)42;
    ASSERT_OWN_MESSAGE(ug_ufunc_resolve(f, types, &loop, NULL), UG_EDTYPE, "unsupported dtype");
    ASSERT_OWN_MESSAGE(ug_context_set_num_threads(ctx, 2147483647), UG_EINVAL, "2147483647");
    ASSERT_OWN_MESSAGE(ug_context_set_num_threads(ctx, -3), UG_EINVAL, "-3");
    ug_options o;
    ug_options_init(&o);
    o.num_threads = 1000000;
    ug_ufunc *g = NULL;
    ASSERT_OWN_MESSAGE(ug_vectorize(ctx, "lambda a: a\n", sigs, 1, &o, &g), UG_EINVAL, "1000000");
    ug_operand ops[2];
    ASSERT_OWN_MESSAGE(ug_call(f, ops, 1, NULL), UG_EOPERANDS, "input");
    /* a success clears the message */
    stale_error();
    ck_assert_int_eq(ug_context_set_num_threads(ctx, 2), UG_OK);
    ck_assert_str_eq(ug_errmsg(ctx), "");
    ck_assert_int_eq(ug_context_set_num_threads(ctx, 0), UG_OK);
    ug_ufunc_free(f);
    /* a bad ug_config field is never clamped in silence: every creation says it */
    static const struct { int threads, opt; const char *text; } bad[] = {
        {100000, 2, "ug_config.num_threads 100000"}, {-1, 2, "ug_config.num_threads -1"}, {0, 9, "ug_config.opt_level 9"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ug_config cfg;
        ug_config_init(&cfg);
        cfg.num_threads = bad[k].threads;
        cfg.opt_level = bad[k].opt;
        ug_context *c = ug_context_new(&cfg);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(ug_vectorize(c, "lambda a: a\n", sigs, 1, NULL, &g), UG_EINVAL);
        ck_assert_msg(strstr(ug_errmsg(c), bad[k].text), "%s", ug_errmsg(c));
        ck_assert_ptr_null(g);
        ug_context_free(c);
    }
}
END_TEST

START_TEST(integer_semantics)
{
    const char *sigs[] = {"i4,i4->i4", "u1,u1->u1"};
    ug_ufunc *fd = make("lambda a, b: a // b\n", sigs, 2);
    int32_t a[6] = {7, -7, 7, -7, INT32_MIN, 5}, b[6] = {2, 2, -2, -2, -1, 0}, o[6];
    ug_operand ops[3];
    op1d(&ops[0], a, UG_INT32, 6, 4);
    op1d(&ops[1], b, UG_INT32, 6, 4);
    op1d(&ops[2], o, UG_INT32, 6, 4);
    call_ok(fd, ops, 3);
    int32_t want[6] = {3, -4, -4, 3, INT32_MIN, 0}; /* floor division; INT_MIN // -1 wraps; x // 0 is 0 */
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(o[i], want[i]);
    uint8_t ua[3] = {250, 3, 0}, ub[3] = {10, 5, 1}, uo[3];
    op1d(&ops[0], ua, UG_UINT8, 3, 1);
    op1d(&ops[1], ub, UG_UINT8, 3, 1);
    op1d(&ops[2], uo, UG_UINT8, 3, 1);
    call_ok(fd, ops, 3);
    ck_assert_int_eq(uo[0], 25);
    ck_assert_int_eq(uo[1], 0);
    ck_assert_int_eq(uo[2], 0);
    ug_ufunc_free(fd);
}
END_TEST

START_TEST(all_dtypes_roundtrip)
{
    /* x * 2 + 1 in every dtype, with wrap-around for the integers. */
    const char *sigs[] = {"?->?", "b->b", "B->B", "h->h", "H->H", "i->i", "I->I", "q->q", "Q->Q", "f->f", "d->d"};
    ug_ufunc *f = make("lambda x: x * 2 + 1\n", sigs, 11);
    ck_assert_int_eq(ug_ufunc_nloops(f), 11);
    for (int t = UG_INT8; t <= UG_FLOAT64; t++) {
        unsigned char in[8 * 5], out[8 * 5];
        size_t sz = ug_dtype_size(t);
        for (int i = 0; i < 5; i++) {
            int64_t v = (int64_t)i * 37 - 70;
            switch (t) {
            case UG_FLOAT32: *(float *)(in + i * sz) = (float)v; break;
            case UG_FLOAT64: *(double *)(in + i * sz) = (double)v; break;
            default: memcpy(in + i * sz, &v, sz); /* little-endian truncation */
            }
        }
        ug_operand ops[2];
        op1d(&ops[0], in, t, 5, (int64_t)sz);
        op1d(&ops[1], out, t, 5, (int64_t)sz);
        call_ok(f, ops, 2);
        for (int i = 0; i < 5; i++) {
            if (t == UG_FLOAT32) {
                ck_assert_float_eq(((float *)out)[i], ((float *)in)[i] * 2 + 1);
            } else if (t == UG_FLOAT64) {
                ck_assert_double_eq(((double *)out)[i], ((double *)in)[i] * 2 + 1);
            } else {
                uint64_t x = 0, y = 0;
                memcpy(&x, in + i * sz, sz);
                memcpy(&y, out + i * sz, sz);
                uint64_t mask = sz == 8 ? ~0ull : ((1ull << (8 * sz)) - 1);
                ck_assert_msg(y == ((x * 2 + 1) & mask), "dtype %s element %d", ug_dtype_name(t), i);
            }
        }
    }
    ug_ufunc_free(f);
}
END_TEST

/* Cycles of create/call/free: run under valgrind by scripts/valgrind.sh. */
/* float16 is IEEE binary16 in memory, computed in float32 and rounded after
 * every operation as NumPy's half loops do: the reference is C's _Float16
 * (one rounding per conversion), with the literal rounded first as NumPy
 * converts a Python float next to a float16 array. */
START_TEST(float16_kernels_round_like_numpy)
{
    const char *sigs[] = {"float16(float16, float16)", "e->e"};
    ug_ufunc *f = make("def h(a, b):\n    return a * b + 0.1\n", sigs, 1);
    enum { N = 4096 };
    _Float16 *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *out = malloc(2 * N * sizeof *out);
    for (int i = 0; i < N; i++) {
        a[i] = (_Float16)((float)(i - N / 2) * 0.37f);
        b[i] = (_Float16)(1.0f / (float)(i % 97 + 1));
    }
    ug_operand ops[3];
    for (int strided = 0; strided < 2; strided++) {
        int64_t n = N >> strided;
        op1d(&ops[0], a, UG_FLOAT16, n, 2 << strided);
        op1d(&ops[1], b, UG_FLOAT16, n, 2);
        op1d(&ops[2], out, UG_FLOAT16, n, 2 << strided);
        call_ok(f, ops, 3);
        for (int64_t i = 0; i < n; i++) {
            _Float16 p = (_Float16)((float)a[i << strided] * (float)b[i]);
            _Float16 want = (_Float16)((float)p + (float)(_Float16)0.1);
            uint16_t gb, wb;
            memcpy(&gb, &out[i << strided], 2);
            memcpy(&wb, &want, 2);
            ck_assert_msg(gb == wb, "#%ld (strided %d): 0x%04x want 0x%04x", (long)i, strided, gb, wb);
        }
    }
    ug_ufunc_free(f);
    /* float64 → float16 in a kernel rounds once (2049 + 2**-40 is above the tie) */
    const char *sd[] = {"e->e"};
    ug_ufunc *g = make("import numpy as np\ndef k(x):\n    return np.float64(x) + 2**-40\n", sd, 1);
    a[0] = (_Float16)2048.0f;
    op1d(&ops[0], a, UG_FLOAT16, 1, 2);
    ug_operand_alloc(&ops[1], UG_DTYPE_NONE);
    call_ok(g, ops, 2);
    ck_assert_int_eq(ops[1].dtype, UG_FLOAT16);
    ck_assert_float_eq((float)*(_Float16 *)ops[1].data, 2048.0f);
    ug_free(ops[1].data);
    ug_ufunc_free(g);
    /* the executor's casts: float16 in to a float32 loop (safe), a float16 loop's result out to float64 */
    const char *sf[] = {"f->f"}, *se[] = {"e->e"};
    ug_ufunc *ff = make("lambda x: x / 3\n", sf, 1), *fe = make("lambda x: x / 3\n", se, 1);
    float f32[3];
    double f64[3];
    a[0] = (_Float16)1.0f, a[1] = (_Float16)-65504.0f, a[2] = (_Float16)0.0999755859375f;
    op1d(&ops[0], a, UG_FLOAT16, 3, 2);
    op1d(&ops[1], f32, UG_FLOAT32, 3, 4);
    call_ok(ff, ops, 2);
    op1d(&ops[1], f64, UG_FLOAT64, 3, 8);
    call_ok(fe, ops, 2);
    for (int i = 0; i < 3; i++) {
        ck_assert_float_eq(f32[i], (float)a[i] / 3.0f);
        ck_assert_double_eq(f64[i], (double)(_Float16)((float)a[i] / 3.0f));
    }
    ug_ufunc_free(ff);
    ug_ufunc_free(fe);
    free(a);
    free(b);
    free(out);
}
END_TEST

/* Complex operands are C's float/double _Complex; float inputs cast to a
 * complex loop safely, complex to a float loop not at all. */
START_TEST(complex_operands_and_casts)
{
    const char *sigs[] = {"complex128(complex128)", "F->F"};
    ug_ufunc *f = make("lambda z: z\n", sigs, 2);
    double _Complex z[3] = {CMPLX(1.5, 2.0), CMPLX(-0.0, -1.0), CMPLX(INFINITY, NAN)}, zo[3];
    ug_operand ops[2];
    op1d(&ops[0], z, UG_COMPLEX128, 3, 16);
    op1d(&ops[1], zo, UG_COMPLEX128, 3, 16);
    call_ok(f, ops, 2);
    ck_assert(creal(zo[0]) == 1.5 && cimag(zo[0]) == 2.0 && signbit(creal(zo[1])) && cimag(zo[1]) == -1.0);
    ck_assert(isinf(creal(zo[2])) && isnan(cimag(zo[2])));
    float x[3] = {1.25f, -2.0f, 3.0f};
    float _Complex zf[3];
    op1d(&ops[0], x, UG_FLOAT32, 3, 4); /* float32 → complex64 is safe: the F->F loop */
    op1d(&ops[1], zf, UG_COMPLEX64, 3, 8);
    call_ok(f, ops, 2);
    for (int i = 0; i < 3; i++)
        ck_assert(crealf(zf[i]) == x[i] && cimagf(zf[i]) == 0.0f);
    ug_ufunc_free(f);
    const char *sd[] = {"d->d"};
    ug_ufunc *g = make("lambda x: x\n", sd, 1);
    double d[3];
    op1d(&ops[0], z, UG_COMPLEX128, 3, 16);
    op1d(&ops[1], d, UG_FLOAT64, 3, 8);
    ug_error err;
    ck_assert_int_eq(ug_call(g, ops, 2, &err), UG_EDTYPE);
    ck_assert_msg(strstr(err.msg, "complex128"), "%s", err.msg);
    ug_ufunc_free(g);
    /* a declared float output takes the real part, as astype(casting='unsafe') */
    const char *sr[] = {"complex128->float64"};
    ug_ufunc *r = make("lambda z: z\n", sr, 1);
    op1d(&ops[0], z, UG_COMPLEX128, 3, 16);
    op1d(&ops[1], d, UG_FLOAT64, 3, 8);
    call_ok(r, ops, 2);
    ck_assert(d[0] == 1.5 && d[1] == 0.0 && signbit(d[1]) && isinf(d[2]));
    ug_ufunc_free(r);
}
END_TEST

/* Complex arithmetic from C, against NumPy 2's results for these operands
 * (large components that the naive quotient overflows, infinities, NaNs,
 * a zero divisor; np.divide, np.multiply, np.abs printed with float.hex). */
static int same_double(double got, double want) { return (isnan(got) && isnan(want)) || (got == want && signbit(got) == signbit(want)); }

START_TEST(complex_arithmetic_is_numpys)
{
    const double _Complex a[6] = {CMPLX(1e308, 1e308), CMPLX(3, -4), CMPLX(INFINITY, 0), CMPLX(0, -0.0), CMPLX(1, 2),
                                  CMPLX(NAN, 1)};
    const double _Complex b[6] = {CMPLX(1e308, -1e307), CMPLX(0.5, 0.25), CMPLX(1, 1), CMPLX(0, 0),
                                  CMPLX(INFINITY, INFINITY), CMPLX(2, 0)};
    const double quo[6][2] = {{0x1.c83cd4e93028cp-1, 0x1.16cfd7720f355p+0}, {0x1.999999999999ap+0, -0x1.199999999999ap+3},
                              {INFINITY, -INFINITY}, {NAN, NAN}, {NAN, NAN}, {NAN, NAN}};
    const double prod[6][2] = {{INFINITY, INFINITY}, {0x1.4p+1, -0x1.4p+0}, {INFINITY, INFINITY}, {0, 0}, {NAN, INFINITY},
                               {NAN, NAN}};
    const double mag[6] = {0x1.92c80954c51f5p+1023, 5, INFINITY, 0, 0x1.1e3779b97f4a8p+1, NAN};
    const char *s2[] = {"D,D->D"}, *s1[] = {"D->d"};
    ug_ufunc *div = make("lambda a, b: a / b\n", s2, 1), *mul = make("lambda a, b: a * b\n", s2, 1);
    ug_ufunc *mod = make("lambda a: abs(a)\n", s1, 1);
    double _Complex q[6], p[6];
    double m[6];
    ug_operand ops[3];
    op1d(&ops[0], (void *)a, UG_COMPLEX128, 6, 16);
    op1d(&ops[1], (void *)b, UG_COMPLEX128, 6, 16);
    op1d(&ops[2], q, UG_COMPLEX128, 6, 16);
    call_ok(div, ops, 3);
    op1d(&ops[2], p, UG_COMPLEX128, 6, 16);
    call_ok(mul, ops, 3);
    op1d(&ops[1], m, UG_FLOAT64, 6, 8);
    call_ok(mod, ops, 2);
    for (int i = 0; i < 6; i++) {
        ck_assert_msg(same_double(creal(q[i]), quo[i][0]) && same_double(cimag(q[i]), quo[i][1]), "a/b #%d: %a %a", i,
                      creal(q[i]), cimag(q[i]));
        ck_assert_msg(same_double(creal(p[i]), prod[i][0]) && same_double(cimag(p[i]), prod[i][1]), "a*b #%d: %a %a", i,
                      creal(p[i]), cimag(p[i]));
        ck_assert_msg(same_double(m[i], mag[i]), "abs #%d: %a", i, m[i]);
    }
    ug_ufunc_free(div);
    ug_ufunc_free(mul);
    ug_ufunc_free(mod);
}
END_TEST

START_TEST(add_and_disable_compile)
{
    ug_ufunc *f = make("def f(x, y):\n    return x + y\n", NULL, 0);
    ck_assert_int_eq(ug_ufunc_is_lazy(f), 1);
    ug_error err;
    int loop = -2;
    ck_assert_int_eq(ug_ufunc_add(f, "f8(f8, f8)", &loop, &err), UG_OK);
    ck_assert_int_eq(loop, 0);
    ck_assert_int_eq(ug_ufunc_add(f, "dd->d", &loop, &err), UG_OK); /* the same dtypes: the loop that exists */
    ck_assert_int_eq(loop, 0);
    ck_assert_int_eq(ug_ufunc_add(f, "i4(i4, i4)", &loop, &err), UG_OK);
    ck_assert_int_eq(loop, 1);
    ck_assert_int_eq(ug_ufunc_add(f, "f8(f8)", &loop, &err), UG_ESIGNATURE);
    ck_assert_int_eq(loop, -1);
    ug_ufunc_disable_compile(f);
    ck_assert_int_eq(ug_ufunc_is_lazy(f), 0);
    ug_dtype in[2] = {UG_INT64, UG_INT64};
    ck_assert_int_eq(ug_ufunc_resolve(f, in, &loop, &err), UG_OK); /* int64 casts safely to f8 */
    ck_assert_int_eq(loop, 0);
    ck_assert_int_eq(ug_ufunc_nloops(f), 2);                       /* nothing compiled */
    ug_dtype u[2] = {UG_UINT8, UG_UINT8};
    ck_assert_int_eq(ug_ufunc_resolve(f, u, &loop, &err), UG_OK);  /* uint8 -> int32: the first that fits */
    ck_assert_int_eq(loop, 0);
    int32_t a[3] = {1, 2, 3}, b[3] = {10, 20, 30}, c[3];
    ug_operand ops[3];
    op1d(&ops[0], a, UG_INT32, 3, 4);
    op1d(&ops[1], b, UG_INT32, 3, 4);
    op1d(&ops[2], c, UG_INT32, 3, 4);
    call_ok(f, ops, 3); /* the added loop runs */
    ck_assert_int_eq(c[2], 33);
    ug_ufunc_free(f);
    ck_assert_int_eq(ug_ufunc_is_lazy(NULL), 0);
    ug_ufunc_disable_compile(NULL);
}
END_TEST

/* Two kernels differing only in a module constant are two loops (the key,
 * hence the JIT symbol and the cache entry, covers constants). */
START_TEST(module_constants_are_keyed)
{
    const char *sigs[] = {"f8(f8)"};
    ug_ufunc *a = make("K = 1.0\ndef f(x):\n    return x + K\n", sigs, 1);
    ug_ufunc *b = make("K = 2.0\ndef f(x):\n    return x + K\n", sigs, 1);
    double x = 10, ya, yb;
    ug_operand ops[2];
    op1d(&ops[0], &x, UG_FLOAT64, 1, 8);
    op1d(&ops[1], &ya, UG_FLOAT64, 1, 8);
    call_ok(a, ops, 2);
    op1d(&ops[1], &yb, UG_FLOAT64, 1, 8);
    call_ok(b, ops, 2);
    ck_assert_double_eq(ya, 11.0);
    ck_assert_double_eq(yb, 12.0);
    ug_ufunc_free(a);
    ug_ufunc_free(b);
}
END_TEST

/* ug_options.math: UG_MATH_LIBM computes with glibc's scalar functions,
 * bit for bit what this file's own sin/expf calls give (the default's libmvec
 * differs by an ulp or two on some of these inputs); an unknown value is
 * UG_EINVAL naming the field. Both ufuncgen loops share one cache directory:
 * the key tells them apart. */
START_TEST(math_libm_is_glibc_bit_for_bit)
{
    const char *sigs[] = {"f8(f8)", "f4(f4)"};
    ug_options o;
    ug_options_init(&o);
    ck_assert_int_eq(o.math, UG_MATH_FAST);
    o.math = UG_MATH_LIBM;
    o.cache = 1;
    ug_ufunc *f = NULL;
    ck_assert_msg(ug_vectorize(ctx, "def f(x):\n    return sin(x) + exp(x * 0.001)\n", sigs, 2, &o, &f) == UG_OK,
                  "%s", ug_errmsg(ctx));
    enum { N = 4099 };
    static double x[N], y[N];
    static float xf[N], yf[N];
    for (int i = 0; i < N; i++)
        xf[i] = (float)(x[i] = (i - N / 2) * 0.731);
    ug_operand ops[2];
    op1d(&ops[0], x, UG_FLOAT64, N, 8);
    op1d(&ops[1], y, UG_FLOAT64, N, 8);
    call_ok(f, ops, 2);
    op1d(&ops[0], xf, UG_FLOAT32, N, 4);
    op1d(&ops[1], yf, UG_FLOAT32, N, 4);
    call_ok(f, ops, 2);
    for (int i = 0; i < N; i++) {
        volatile double xi = x[i]; /* no constant folding of the reference */
        volatile float xfi = xf[i];
        ck_assert_msg(y[i] == sin(xi) + exp(xi * 0.001), "x = %.17g: %.17g", x[i], y[i]);
        ck_assert_msg(yf[i] == sinf(xfi) + expf(xfi * 0.001f), "x = %.9g: %.9g", (double)xf[i], (double)yf[i]);
    }
    ug_ufunc_free(f);
    o.math = (ug_math)7;
    ck_assert_int_eq(ug_vectorize(ctx, "def g(x):\n    return x\n", sigs, 1, &o, &f), UG_EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_ptr_nonnull(strstr(ug_errmsg(ctx), "math"));
}
END_TEST

START_TEST(thread_counts)
{
    int def = ug_default_num_threads();
    ck_assert_int_ge(def, 1);
    ck_assert_int_eq(ug_context_num_threads(ctx), def);
    ck_assert_int_eq(ug_context_set_num_threads(ctx, 3), UG_OK);
    ck_assert_int_eq(ug_context_num_threads(ctx), 3);
    ck_assert_int_eq(ug_context_set_num_threads(ctx, 0), UG_OK);
    ck_assert_int_eq(ug_context_num_threads(ctx), def);
}
END_TEST

START_TEST(create_call_free_cycles)
{
    const char *sigs[] = {"d->d"};
    for (int r = 0; r < 20; r++) {
        ug_ufunc *f = make("lambda x: sqrt(x) + 1.0\n", sigs, 1);
        double x[4] = {0, 1, 4, 9}, y[4];
        ug_operand ops[2];
        op1d(&ops[0], x, UG_FLOAT64, 4, 8);
        op1d(&ops[1], y, UG_FLOAT64, 4, 8);
        call_ok(f, ops, 2);
        ck_assert_double_eq(y[3], 4.0);
        ug_ufunc_free(f);
    }
}
END_TEST

/* What a ufunc keeps while it exists: its record and one record per loop
 * (and its parsed kernel while a loop is being typed: not here). A loop
 * record is made per signature, so a library of a hundred signatures has a
 * hundred; each was 6.4 kB (an inline error message and six core-shape
 * variant slots, used by few loops), and with the kernel's tree a
 * two-signature ufunc kept 20 kB, all fresh memory a warm start touches.
 * Deferred loops (no compile), so only the records count. Measured with
 * glibc's allocator statistics (builds whose allocator keeps none see no
 * change). */
START_TEST(loop_records_are_small)
{
    const char *sigs[] = {"d->d", "f->f"};
    ug_options o;
    ug_options_init(&o);
    o.defer = 1;
    ug_ufunc *f[20];
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(ug_vectorize(ctx, "def k(x):\n    return x * 2.0 + 1.0\n", sigs, 2, &o, &f[i]), UG_OK);
    size_t each = (mallinfo2().uordblks - before) / 20;
    ck_assert_msg(each < 7000, "a two-signature ufunc keeps %zu bytes", each);
    for (int i = 0; i < 20; i++)
        ug_ufunc_free(f[i]);
}
END_TEST

/* A ufunc none of whose loops is being typed drops its syntax tree at
 * creation (a deferred one here, as a warm start's cached ones) and parses
 * the kernel again for the next loop it types: the deferred loop at its
 * first call, a signature added later, a lazy loop. The source names its
 * kernel among several defs, with a helper and a module constant, so the
 * second parse must find the same one. */
START_TEST(dropped_tree_is_parsed_again)
{
    const char *src = "K = 3.0\n"
                      "def first(x):\n    return x - 100.0\n"
                      "def helper(x):\n    return x * K\n"
                      "def second(x):\n    return helper(x) + 1.0\n";
    const char *sigs[] = {"d->d"};
    ug_options o;
    ug_options_init(&o);
    o.defer = 1;
    o.kernel = "second";
    ug_ufunc *f;
    ck_assert_int_eq(ug_vectorize(ctx, src, sigs, 1, &o, &f), UG_OK);
    double x[3] = {0, 1, 2.5}, y[3];
    ug_operand ops[2];
    op1d(&ops[0], x, UG_FLOAT64, 3, 8);
    op1d(&ops[1], y, UG_FLOAT64, 3, 8);
    call_ok(f, ops, 2); /* the deferred loop: typed now */
    ck_assert(y[0] == 1.0 && y[1] == 4.0 && y[2] == 8.5);
    int loop;
    ck_assert_int_eq(ug_ufunc_add(f, "f->f", &loop, NULL), UG_OK);
    float xf[2] = {2, -1}, yf[2];
    op1d(&ops[0], xf, UG_FLOAT32, 2, 4);
    op1d(&ops[1], yf, UG_FLOAT32, 2, 4);
    call_ok(f, ops, 2);
    ck_assert(yf[0] == 7.0f && yf[1] == -2.0f);
    ug_ufunc_free(f);

    ug_ufunc *lazy; /* no signatures: its first loop is typed at its first call */
    ug_options_init(&o);
    o.kernel = "second";
    ck_assert_int_eq(ug_vectorize(ctx, src, NULL, 0, &o, &lazy), UG_OK);
    int64_t xi[2] = {1, 2};
    double yi[2];
    op1d(&ops[0], xi, UG_INT64, 2, 8);
    op1d(&ops[1], yi, UG_FLOAT64, 2, 8);
    call_ok(lazy, ops, 2);
    ck_assert(yi[0] == 4.0 && yi[1] == 7.0);
    ug_ufunc_free(lazy);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ufuncgen");
    TCase *tc = tcase_create("api");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sigmoid_contiguous_and_strided);
    tcase_add_test(tc, broadcast_2d_transposed);
    tcase_add_test(tc, allocated_output_and_scalar);
    tcase_add_test(tc, overlap_is_copied);
    tcase_add_test(tc, safe_cast_of_inputs);
    tcase_add_test(tc, lazy_loops);
    tcase_add_test(tc, source_errors_have_positions);
    tcase_add_test(tc, call_errors);
    tcase_add_test(tc, every_failure_sets_its_message);
    tcase_add_test(tc, integer_semantics);
    tcase_add_test(tc, all_dtypes_roundtrip);
    tcase_add_test(tc, float16_kernels_round_like_numpy);
    tcase_add_test(tc, complex_operands_and_casts);
    tcase_add_test(tc, complex_arithmetic_is_numpys);
    tcase_add_test(tc, add_and_disable_compile);
    tcase_add_test(tc, thread_counts);
    tcase_add_test(tc, math_libm_is_glibc_bit_for_bit);
    tcase_add_test(tc, module_constants_are_keyed);
    tcase_add_test(tc, create_call_free_cycles);
    tcase_add_test(tc, loop_records_are_small);
    tcase_add_test(tc, dropped_tree_is_parsed_again);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
