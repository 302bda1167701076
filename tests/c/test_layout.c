/* test_layout.c — Check suite for layout/: the layout-string parser (against
 * NumPy's own parser, through tests/c/layout_oracle.py) and the native
 * executor (against results computed here independently, with plain loops).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"
#include "base/base.h"

/* ====================================================================== parser vs NumPy */

#define NP_SIZE_INFERRED 2
#define NP_CAN_IGNORE 4

/* Read "n v1 .. vn" from *p into v (cap entries); returns n or -1. */
static int read_ints(char **p, long long *v, int cap)
{
    char *end;
    long n = strtol(*p, &end, 10);
    if (end == *p || n < 0 || n > cap)
        return -1;
    *p = end;
    for (long j = 0; j < n; j++) {
        v[j] = strtoll(*p, &end, 10);
        if (end == *p)
            return -1;
        *p = end;
    }
    return (int)n;
}

static char *unhex(const char *h)
{
    size_t n = strcmp(h, "-") == 0 ? 0 : strlen(h) / 2;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        s[i] = (char)v;
    }
    s[n] = 0;
    return s;
}

/* Compare layout_parse's structure with NumPy's (the rest of an OK line). */
static int same_structure(const layout_sig *sig, char *rest, char *why, size_t whylen)
{
    long long nd[256], ixs[4096], flags[1024], sizes[1024];
    int nops = read_ints(&rest, nd, 256);
    int nix = read_ints(&rest, ixs, 4096);
    int ndim = read_ints(&rest, flags, 1024);
    for (int j = 0; j < ndim; j++)
        sizes[j] = strtoll(rest, &rest, 10);
    if (nops != sig->nin + sig->nout || nix != sig->ncore_total || ndim != sig->ndims) {
        snprintf(why, whylen, "counts: numpy ops %d ixs %d dims %d; ours %d %d %d", nops, nix, ndim,
                 sig->nin + sig->nout, sig->ncore_total, sig->ndims);
        return 0;
    }
    int c = 0;
    for (int k = 0; k < nops; k++) {
        if (nd[k] != sig->op_ncore[k])
            return snprintf(why, whylen, "operand %d core ndim", k), 0;
        for (int j = 0; j < sig->op_ncore[k]; j++)
            if (ixs[c++] != sig->op_dims[k][j])
                return snprintf(why, whylen, "operand %d dim %d index", k, j), 0;
    }
    for (int j = 0; j < ndim; j++) {
        long long want = (sig->dim_frozen[j] < 0 ? NP_SIZE_INFERRED : 0) | (sig->dim_flexible[j] ? NP_CAN_IGNORE : 0);
        if (flags[j] != want || sizes[j] != sig->dim_frozen[j])
            return snprintf(why, whylen, "dim %d flags/size", j), 0;
    }
    return 1;
}

static FILE *open_oracle(void)
{
    const char *root = getenv("UFUNCGEN_SOURCE_ROOT");
    if (!root)
        root = ".";
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/c/layout_oracle.py' '%s/tests/c/layout_cases.txt'", root, root);
    return popen(cmd, "r");
}

START_TEST(parse_matches_numpy)
{
    FILE *f = open_oracle();
    ck_assert_ptr_nonnull(f);
    static char line[1 << 16];
    int ncases = 0, nok = 0, posdiff = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        char hex[8192], verdict[8];
        int nin, nout, used;
        ck_assert_int_eq(sscanf(line, "%8191s %7s %d %d%n", hex, verdict, &nin, &nout, &used), 4);
        char *s = unhex(hex);
        layout_sig *sig = NULL;
        ug_error err;
        ug_status st = layout_parse(s, &sig, &err);
        char why[256] = "";
        ncases++;
        if (strcmp(verdict, "OK") == 0) {
            nok++;
            if (st != UG_OK)
                snprintf(why, sizeof why, "numpy accepts, we reject: %.200s", err.msg);
            else if (sig->nin != nin || sig->nout != nout)
                snprintf(why, sizeof why, "nin/nout %d/%d, numpy %d/%d", sig->nin, sig->nout, nin, nout);
            else
                same_structure(sig, line + used, why, sizeof why);
            if (st == UG_OK && sig->scalar != (sig->ncore_total == 0))
                snprintf(why, sizeof why, "scalar flag");
        } else {
            int pos = atoi(line + used);
            if (st != UG_ELAYOUT)
                snprintf(why, sizeof why, "numpy rejects (position %d), we return %d", pos, st);
            else if (err.column != pos + 1) {
                /* Only where NumPy, told the counts, objects to a ',' that
                 * ends a list; we point at the missing operand after it. */
                if (pos < 0 || s[pos] != ',' || err.column <= pos + 1)
                    snprintf(why, sizeof why, "error column %d, NumPy position %d (0-based): %.150s", err.column,
                             pos, err.msg);
                posdiff++;
            }
        }
        if (why[0]) {
            fprintf(stderr, "layout case '%s': %s\n", s, why);
            bad++;
        }
        layout_free(sig);
        free(s);
    }
    ck_assert_int_eq(pclose(f), 0);
    fprintf(stderr, "layout oracle: %d cases (%d valid), %d error columns differ from NumPy's position\n", ncases,
            nok, posdiff);
    ck_assert_int_ge(ncases, 150);
    ck_assert_int_ge(nok, 50);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* Parse s, expecting an error at column col whose message contains want. */
static void expect_layout_error(const char *s, int col, const char *want)
{
    layout_sig *sig = (layout_sig *)1;
    ug_error err;
    ck_assert_int_eq(layout_parse(s, &sig, &err), UG_ELAYOUT);
    ck_assert_ptr_null(sig);
    ck_assert_int_eq(err.code, UG_ELAYOUT);
    ck_assert_msg(err.column == col, "'%s': column %d, expected %d (%s)", s, err.column, col, err.msg);
    ck_assert_msg(strstr(err.msg, want), "'%s': message '%s' lacks '%s'", s, err.msg, want);
}

START_TEST(parse_error_messages)
{
    expect_layout_error("(n),(n->()", 7, "expected ',' or ')', found '-'");
    expect_layout_error("(n),(n)x", 8, "expected ',' or '->', found 'x'");
    expect_layout_error("(n)->()x", 8, "expected ',' or the end of the layout, found 'x'");
    expect_layout_error("(0)->()", 2, "non-zero frozen size");
    expect_layout_error("(n,)->()", 4, "expected a dimension after ','");
    expect_layout_error("(n)->(n?)", 7, "'?' cannot be used");
    expect_layout_error("(n?)->(n)", 8, "'?' must be used");
    expect_layout_error("(n", 3, "expected ')' to close '(' at column 1, found end");
    expect_layout_error("n->()", 1, "expected '(' to start an input");
    expect_layout_error("(n)->", 6, "expected '(' to start an output");
    expect_layout_error("(\tn\x01)->()", 4, "found \\x01");
    /* The message shows the string and a caret under the column. */
    layout_sig *sig;
    ug_error err;
    layout_parse("(n),(n->()", &sig, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "layout '(n),(n->()', column 7"));
    ck_assert_ptr_nonnull(strstr(err.msg, "\n    (n),(n->()\n          ^"));
}
END_TEST

START_TEST(parse_structure_and_text)
{
    layout_sig *sig;
    ug_error err;
    ck_assert_int_eq(layout_parse(" ( m? , n ) ,(n,p?)\t->(m?,p?) ", &sig, &err), UG_OK);
    ck_assert_int_eq(sig->nin, 2);
    ck_assert_int_eq(sig->nout, 1);
    ck_assert_int_eq(sig->ndims, 3);
    ck_assert_str_eq(sig->dim_name[0], "m");
    ck_assert_str_eq(sig->dim_name[2], "p");
    ck_assert(sig->dim_flexible[0] && !sig->dim_flexible[1] && sig->dim_flexible[2]);
    ck_assert_int_eq(sig->ncore_total, 6);
    ck_assert_int_eq(sig->op_dims[2][1], 2);
    ck_assert_str_eq(sig->text, "(m?,n),(n,p?)->(m?,p?)");
    ck_assert(!sig->scalar);
    layout_free(sig);

    ck_assert_int_eq(layout_parse("(03,n),(3)->(0003)", &sig, &err), UG_OK);
    ck_assert_int_eq(sig->ndims, 2);
    ck_assert_int_eq(sig->dim_frozen[0], 3);
    ck_assert_int_eq(sig->dim_frozen[1], -1);
    ck_assert_str_eq(sig->text, "(3,n),(3)->(3)");
    layout_free(sig);

    ck_assert_int_eq(layout_parse("(),()->()", &sig, &err), UG_OK);
    ck_assert(sig->scalar);
    ck_assert_int_eq(sig->ndims, 0);
    layout_free(sig);

    sig = layout_scalar(3, 2);
    ck_assert_ptr_nonnull(sig);
    ck_assert_str_eq(sig->text, "(),(),()->(),()");
    ck_assert(sig->scalar && sig->nin == 3 && sig->nout == 2 && sig->op_ncore[4] == 0);
    layout_free(sig);
    sig = layout_scalar(0, 1);
    ck_assert_str_eq(sig->text, "->()");
    layout_free(sig);
    layout_free(NULL);
}
END_TEST

/* Build "(d0,d1,...)->()" with n distinct names, or n frozen sizes. */
static char *many_dims(int n, int frozen)
{
    char *s = malloc((size_t)n * 12 + 16), *w = s;
    *w++ = '(';
    for (int j = 0; j < n; j++)
        w += sprintf(w, frozen ? "%s%d" : "%sd%d", j ? "," : "", j + 1);
    strcpy(w, ")->()");
    return s;
}

START_TEST(parse_limits)
{
    layout_sig *sig;
    ug_error err;
    char *s = many_dims(UG_MAXDIMS, 0);
    ck_assert_int_eq(layout_parse(s, &sig, &err), UG_OK);
    ck_assert_int_eq(sig->op_ncore[0], UG_MAXDIMS);
    layout_free(sig);
    free(s);
    s = many_dims(UG_MAXDIMS + 1, 1);
    ck_assert_int_eq(layout_parse(s, &sig, &err), UG_ELAYOUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "at most 64 core dimensions"));
    ck_assert_int_eq(err.column, (int)(strstr(s, ",65)") - s) + 2);
    free(s);
    s = many_dims(1000, 0);
    ck_assert_int_eq(layout_parse(s, &sig, &err), UG_ELAYOUT);
    free(s);

    /* 1000 distinct dims spread over operands of 10 each: fine. */
    char *big = malloc(20000), *w = big;
    for (int k = 0; k < 50; k++) {
        w += sprintf(w, k == 0 ? "" : k == 25 ? "->" : ",");
        *w++ = '(';
        for (int j = 0; j < 20; j++)
            w += sprintf(w, "%sx%d", j ? "," : "", k * 20 + j);
        *w++ = ')';
    }
    *w = 0;
    ck_assert_int_eq(layout_parse(big, &sig, &err), UG_OK);
    ck_assert_int_eq(sig->ndims, 1000);
    ck_assert_int_eq(sig->nin, 25);
    ck_assert_int_eq(sig->nout, 25);
    ck_assert_str_eq(sig->text, big);
    layout_free(sig);

    /* Too many operands. */
    w = big;
    for (int k = 0; k < UG_MAXARGS + 1; k++)
        w += sprintf(w, "%s()", k == 0 ? "" : k == UG_MAXARGS ? "->" : ",");
    ck_assert_int_eq(layout_parse(big, &sig, &err), UG_ELAYOUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "at most 64 operands"));
    free(big);
    ck_assert_int_eq(layout_parse(NULL, &sig, &err), UG_EINVAL);
}
END_TEST

/* ====================================================================== executor */

#include "loops/loops.h"

/* --- hand-written inner loops, NumPy's ABI --- */

#define AT(p, off) (*(double *)((p) + (off)))

static void add_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++)
        AT(args[2], i * steps[2]) = AT(args[0], i * steps[0]) + AT(args[1], i * steps[1]);
    if (data)
        (*(int64_t *)data)++;
}

/* (n),(n)->() */
static void dot_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++) {
        double acc = 0;
        for (intptr_t j = 0; j < dims[1]; j++)
            acc += AT(args[0], i * steps[0] + j * steps[3]) * AT(args[1], i * steps[1] + j * steps[4]);
        AT(args[2], i * steps[2]) = acc;
    }
}

/* (m,n),(n,p)->(m,p): steps = s0 s1 s2, a_m a_n, b_n b_p, c_m c_p */
static void matmul_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    intptr_t m = dims[1], n = dims[2], p = dims[3];
    for (intptr_t i = 0; i < dims[0]; i++)
        for (intptr_t r = 0; r < m; r++)
            for (intptr_t c = 0; c < p; c++) {
                double acc = 0;
                for (intptr_t k = 0; k < n; k++)
                    acc += AT(args[0], i * steps[0] + r * steps[3] + k * steps[4]) *
                           AT(args[1], i * steps[1] + k * steps[5] + c * steps[6]);
                AT(args[2], i * steps[2] + r * steps[7] + c * steps[8]) = acc;
            }
}

/* (n)->(n): writes out[j] before reading a[j+1], so overlap matters. */
static void cumsum_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++) {
        double acc = 0;
        for (intptr_t j = 0; j < dims[1]; j++) {
            acc += AT(args[0], i * steps[0] + j * steps[2]);
            AT(args[1], i * steps[1] + j * steps[3]) = acc;
        }
    }
}

/* (3),(3)->(3) */
static void cross_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    ck_assert_int_eq(dims[1], 3);
    for (intptr_t i = 0; i < dims[0]; i++) {
        double a[3], b[3];
        for (int j = 0; j < 3; j++) {
            a[j] = AT(args[0], i * steps[0] + j * steps[3]);
            b[j] = AT(args[1], i * steps[1] + j * steps[4]);
        }
        double c[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
        for (int j = 0; j < 3; j++)
            AT(args[2], i * steps[2] + j * steps[5]) = c[j];
    }
}

/* (n)->(),(): min and max */
static void minmax_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++) {
        double lo = INFINITY, hi = -INFINITY;
        for (intptr_t j = 0; j < dims[1]; j++) {
            double v = AT(args[0], i * steps[0] + j * steps[3]);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        AT(args[1], i * steps[1]) = lo;
        AT(args[2], i * steps[2]) = hi;
    }
}

/* Counts elements (dimensions[0] summed) without touching memory. */
static void count_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    __atomic_fetch_add((int64_t *)data, (int64_t)dims[0], __ATOMIC_RELAXED);
}

/* Reports an out-of-range index at element 5 of the outer loop. */
static void oob_loop(char **args, const intptr_t *dims, const intptr_t *steps, void *data)
{
    for (intptr_t i = 0; i < dims[0]; i++)
        AT(args[1], i * steps[1]) = AT(args[0], i * steps[0]);
    if (dims[0] > 5)
        rt_index_error("oob", "a", 0, 7, 3);
}

/* --- helpers --- */

static void mk(ug_operand *op, void *data, ug_dtype dt, int ndim, const int64_t *shape, const int64_t *strides)
{
    memset(op, 0, sizeof *op);
    op->data = data;
    op->dtype = dt;
    op->ndim = ndim;
    int64_t s = (int64_t)ug_dtype_size(dt);
    for (int d = ndim - 1; d >= 0; d--) {
        op->shape[d] = shape[d];
        op->strides[d] = strides ? strides[d] : s;
        s *= shape[d];
    }
}

static void mk_alloc(ug_operand *op, ug_dtype dt)
{
    memset(op, 0, sizeof *op);
    op->dtype = dt;
    op->flags = UG_OPERAND_ALLOCATE;
}

/* Element (i, j, ...) of a float64 operand. */
static double el(const ug_operand *op, const int64_t *idx)
{
    const char *p = op->data;
    for (int d = 0; d < op->ndim; d++)
        p += idx[d] * op->strides[d];
    return *(const double *)p;
}
#define EL(op, ...) el((op), (int64_t[]){__VA_ARGS__, 0})

static layout_sig *sig_of(const char *s)
{
    layout_sig *sig;
    ug_error err;
    ck_assert_msg(layout_parse(s, &sig, &err) == UG_OK, "%s", err.msg);
    return sig;
}

static ug_status run_sig(const char *layout, ug_loop_fn fn, void *data, int nthreads, ug_operand *ops,
                         const ug_dtype *types, ug_error *err)
{
    layout_sig *sig = strcmp(layout, "add") == 0 ? layout_scalar(2, 1) : sig_of(layout);
    layout_loop loop = {.fn = fn, .data = data, .nthreads = nthreads, .kname = "k"};
    ug_dtype dflt[UG_MAXARGS];
    for (int k = 0; k < UG_MAXARGS; k++)
        dflt[k] = UG_FLOAT64;
    ug_status st = layout_execute(sig, ops, sig->nin + sig->nout, types ? types : dflt, &loop, err);
    layout_free(sig);
    return st;
}

static void expect_exec_error(ug_status want, const char *msg, const char *layout, ug_loop_fn fn, ug_operand *ops,
                              const ug_dtype *types)
{
    ug_error err;
    ug_status st = run_sig(layout, fn, NULL, 1, ops, types, &err);
    ck_assert_msg(st == want, "status %s, want %s (%s)", ug_status_name(st), ug_status_name(want), err.msg);
    ck_assert_msg(strstr(err.msg, msg), "message '%s' lacks '%s'", err.msg, msg);
}

static void iota(double *a, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++)
        a[i] = (double)(i + 1) * scale + (double)(i % 7);
}

/* --- scalar ufunc: broadcasting and strides --- */

START_TEST(exec_add_broadcast_alloc)
{
    double a[3] = {1, 2, 3}, b[4] = {10, 20, 30, 40};
    ug_operand ops[3];
    mk(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){3, 1}, NULL);
    mk(&ops[1], b, UG_FLOAT64, 1, (int64_t[]){4}, NULL);
    mk_alloc(&ops[2], UG_DTYPE_NONE);
    ug_error err;
    ck_assert_int_eq(run_sig("add", add_loop, NULL, 1, ops, NULL, &err), UG_OK);
    ck_assert_int_eq(ops[2].ndim, 2);
    ck_assert_int_eq(ops[2].dtype, UG_FLOAT64);
    ck_assert(ops[2].shape[0] == 3 && ops[2].shape[1] == 4 && ops[2].strides[0] == 32 && ops[2].strides[1] == 8);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            ck_assert_double_eq(EL(&ops[2], i, j), a[i] + b[j]);
    ug_free(ops[2].data);
}
END_TEST

START_TEST(exec_add_strides)
{
    enum { R = 5, C = 7 };
    double m[R * C], v[2 * C], out[C * R], ref[C * R];
    iota(m, R * C, 1.5);
    iota(v, 2 * C, -0.25);
    /* out (C,R) = m.T + v[::-2][:, None]  (transposed, reversed, strided) */
    ug_operand ops[3];
    mk(&ops[0], m, UG_FLOAT64, 2, (int64_t[]){C, R}, (int64_t[]){8, 8 * C});
    mk(&ops[1], v + 2 * C - 1, UG_FLOAT64, 2, (int64_t[]){C, 1}, (int64_t[]){-16, 0});
    mk(&ops[2], out, UG_FLOAT64, 2, (int64_t[]){C, R}, NULL);
    for (int i = 0; i < C; i++)
        for (int j = 0; j < R; j++)
            ref[i * R + j] = m[j * C + i] + v[2 * C - 1 - 2 * i];
    int64_t calls = 0;
    ck_assert_int_eq(run_sig("add", add_loop, &calls, 1, ops, NULL, NULL), UG_OK);
    for (int i = 0; i < C * R; i++)
        ck_assert_double_eq(out[i], ref[i]);
    /* Zero-stride input (a broadcast scalar), and a 0-d call. */
    double k = 100, z[R];
    mk(&ops[0], m, UG_FLOAT64, 1, (int64_t[]){R}, (int64_t[]){8 * C});
    mk(&ops[1], &k, UG_FLOAT64, 1, (int64_t[]){R}, (int64_t[]){0});
    mk(&ops[2], z, UG_FLOAT64, 1, (int64_t[]){R}, NULL);
    ck_assert_int_eq(run_sig("add", add_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    for (int j = 0; j < R; j++)
        ck_assert_double_eq(z[j], m[j * C] + 100);
    double x = 2, y = 3, r = 0;
    mk(&ops[0], &x, UG_FLOAT64, 0, NULL, NULL);
    mk(&ops[1], &y, UG_FLOAT64, 0, NULL, NULL);
    mk(&ops[2], &r, UG_FLOAT64, 0, NULL, NULL);
    calls = 0;
    ck_assert_int_eq(run_sig("add", add_loop, &calls, 1, ops, NULL, NULL), UG_OK);
    ck_assert_double_eq(r, 5);
    ck_assert_int_eq(calls, 1);
}
END_TEST

/* Contiguous operands coalesce into one loop call. */
START_TEST(exec_coalesce)
{
    enum { A = 4, B = 5, C = 6 };
    double a[A * B * C], b[A * B * C], out[A * B * C];
    iota(a, A * B * C, 1);
    iota(b, A * B * C, 3);
    ug_operand ops[3];
    int64_t shape[3] = {A, B, C};
    mk(&ops[0], a, UG_FLOAT64, 3, shape, NULL);
    mk(&ops[1], b, UG_FLOAT64, 3, shape, NULL);
    mk(&ops[2], out, UG_FLOAT64, 3, shape, NULL);
    int64_t calls = 0;
    ck_assert_int_eq(run_sig("add", add_loop, &calls, 1, ops, NULL, NULL), UG_OK);
    ck_assert_int_eq(calls, 1);
    for (int i = 0; i < A * B * C; i++)
        ck_assert_double_eq(out[i], a[i] + b[i]);
    /* Fortran-ordered output: dims reordered so the output is walked in memory order. */
    double f[A * B * C];
    mk(&ops[2], f, UG_FLOAT64, 3, shape, (int64_t[]){8, 8 * A, 8 * A * B});
    mk(&ops[0], a, UG_FLOAT64, 3, shape, (int64_t[]){8, 8 * A, 8 * A * B});
    mk(&ops[1], b, UG_FLOAT64, 3, shape, (int64_t[]){8, 8 * A, 8 * A * B});
    calls = 0;
    ck_assert_int_eq(run_sig("add", add_loop, &calls, 1, ops, NULL, NULL), UG_OK);
    ck_assert_int_eq(calls, 1);
    for (int i = 0; i < A * B * C; i++)
        ck_assert_double_eq(f[i], a[i] + b[i]);
}
END_TEST

START_TEST(exec_zero_size)
{
    double a[1] = {1}, out[1] = {-7};
    ug_operand ops[3];
    mk(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){0, 3}, NULL);
    mk(&ops[1], a, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    mk_alloc(&ops[2], UG_FLOAT32);
    int64_t calls = 0;
    ck_assert_int_eq(run_sig("add", add_loop, &calls, 1, ops, NULL, NULL), UG_OK);
    ck_assert_int_eq(calls, 0);
    ck_assert(ops[2].ndim == 2 && ops[2].shape[0] == 0 && ops[2].shape[1] == 3 && ops[2].dtype == UG_FLOAT32);
    ck_assert_ptr_nonnull(ops[2].data);
    ug_free(ops[2].data);
    /* Zero-size core dim: the loop still runs, with n = 0 (dot of empty = 0). */
    mk(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){1, 0}, NULL);
    mk(&ops[1], a, UG_FLOAT64, 1, (int64_t[]){0}, NULL);
    mk(&ops[2], out, UG_FLOAT64, 1, (int64_t[]){1}, NULL);
    ck_assert_int_eq(run_sig("(n),(n)->()", dot_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    ck_assert_double_eq(out[0], 0);
}
END_TEST

/* --- overlap --- */

START_TEST(exec_overlap)
{
    enum { N = 50 };
    double buf[N + 1], ref[N], b[N];
    iota(buf, N + 1, 2);
    iota(b, N, -1);
    for (int i = 0; i < N; i++)
        ref[i] = buf[i] + b[i];
    ug_operand ops[3];
    /* out = buf[1:], a = buf[:-1]: would read already-written elements. */
    mk(&ops[0], buf, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    mk(&ops[1], b, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    mk(&ops[2], buf + 1, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    ck_assert_int_eq(run_sig("add", add_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq(buf[i + 1], ref[i]);
    /* Reversed view of the same memory as output. */
    iota(buf, N, 2);
    for (int i = 0; i < N; i++)
        ref[i] = buf[N - 1 - i] + b[i];
    mk(&ops[0], buf + N - 1, UG_FLOAT64, 1, (int64_t[]){N}, (int64_t[]){-8});
    mk(&ops[2], buf, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    ck_assert_int_eq(run_sig("add", add_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq(buf[i], ref[i]);
    /* Exactly in place is fine (and not copied). */
    for (int i = 0; i < N; i++)
        ref[i] = buf[i] + b[i];
    mk(&ops[0], buf, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    ck_assert_int_eq(run_sig("add", add_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq(buf[i], ref[i]);
    /* gufunc in place: cumsum writes out[j] then reads a[j+1]; shifted by one. */
    double c[N + 1], cref[N];
    iota(c, N + 1, 1);
    for (int i = 0, acc = 0; i < N; i++)
        cref[i] = (acc += (int)c[i + 1]);
    ug_operand g[2];
    mk(&g[0], c + 1, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    mk(&g[1], c, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    ck_assert_int_eq(run_sig("(n)->(n)", cumsum_loop, NULL, 1, g, NULL, NULL), UG_OK);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq(c[i], cref[i]);
    /* Two outputs sharing memory. */
    double o[N];
    mk(&g[0], b, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    ug_operand m[3];
    mk(&m[0], b, UG_FLOAT64, 2, (int64_t[]){2, N / 2}, NULL);
    mk(&m[1], o, UG_FLOAT64, 1, (int64_t[]){2}, NULL);
    mk(&m[2], o + 1, UG_FLOAT64, 1, (int64_t[]){2}, NULL);
    expect_exec_error(UG_EOVERLAP, "outputs 0 and 1 overlap", "(n)->(),()", minmax_loop, m, NULL);
    /* An output with a zero stride would write one element twice. */
    mk(&ops[0], b, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    mk(&ops[2], o, UG_FLOAT64, 1, (int64_t[]){N}, (int64_t[]){0});
    expect_exec_error(UG_EOVERLAP, "output 0 has stride 0 in dimension 0 of size 50", "add", add_loop, ops, NULL);
}
END_TEST

/* --- gufuncs --- */

START_TEST(exec_dot_broadcast)
{
    double a[2 * 3], b[4 * 3];
    iota(a, 6, 1);
    iota(b, 12, 0.5);
    ug_operand ops[3];
    mk(&ops[0], a, UG_FLOAT64, 3, (int64_t[]){2, 1, 3}, NULL);
    mk(&ops[1], b, UG_FLOAT64, 2, (int64_t[]){4, 3}, NULL);
    mk_alloc(&ops[2], UG_DTYPE_NONE);
    ck_assert_int_eq(run_sig("(n),(n)->()", dot_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    ck_assert(ops[2].ndim == 2 && ops[2].shape[0] == 2 && ops[2].shape[1] == 4);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
            double r = 0;
            for (int k = 0; k < 3; k++)
                r += a[i * 3 + k] * b[j * 3 + k];
            ck_assert_double_eq(EL(&ops[2], i, j), r);
        }
    ug_free(ops[2].data);
}
END_TEST

static void check_matmul(const ug_operand *A, const ug_operand *B, const ug_operand *C, int batch, int m, int n,
                         int p)
{
    for (int s = 0; s < batch; s++)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < p; j++) {
                double r = 0;
                for (int k = 0; k < n; k++)
                    r += EL(A, s, i, k) * EL(B, k, j);
                ck_assert_double_eq(EL(C, s, i, j), r);
            }
}

START_TEST(exec_matmul)
{
    enum { S = 3, M = 4, N = 5, P = 2 };
    double a[S * N * M], b[N * P], c[S * M * P];
    iota(a, S * M * N, 0.5);
    iota(b, N * P, 2);
    ug_operand ops[3];
    /* a is stored (S, N, M) and viewed transposed in its core: (S, M, N). */
    mk(&ops[0], a, UG_FLOAT64, 3, (int64_t[]){S, M, N}, (int64_t[]){8 * M * N, 8, 8 * M});
    mk(&ops[1], b, UG_FLOAT64, 2, (int64_t[]){N, P}, NULL);
    mk(&ops[2], c, UG_FLOAT64, 3, (int64_t[]){S, M, P}, NULL);
    ck_assert_int_eq(run_sig("(m,n),(n,p)->(m,p)", matmul_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    check_matmul(&ops[0], &ops[1], &ops[2], S, M, N, P);
    /* Same with threads (outer dims split). */
    memset(c, 0, sizeof c);
    ck_assert_int_eq(run_sig("(m,n),(n,p)->(m,p)", matmul_loop, NULL, 4, ops, NULL, NULL), UG_OK);
    check_matmul(&ops[0], &ops[1], &ops[2], S, M, N, P);
    /* Core mismatch names the dimension, both operands and sizes. */
    mk(&ops[1], b, UG_FLOAT64, 2, (int64_t[]){P, N}, NULL);
    expect_exec_error(UG_ESHAPE, "core dimension 'n' is 5 in input 0 but 2 in input 1", "(m,n),(n,p)->(m,p)",
                      matmul_loop, ops, NULL);
}
END_TEST

/* NumPy's matmul signature: a 1-d operand drops the flexible dim. */
START_TEST(exec_matmul_flexible)
{
    enum { N = 3, P = 4 };
    double v[N] = {1, 2, 3}, b[N * P];
    iota(b, N * P, 1);
    ug_operand ops[3];
    mk(&ops[0], v, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    mk(&ops[1], b, UG_FLOAT64, 2, (int64_t[]){N, P}, NULL);
    mk_alloc(&ops[2], UG_DTYPE_NONE);
    ck_assert_int_eq(run_sig("(m?,n),(n,p?)->(m?,p?)", matmul_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    ck_assert_int_eq(ops[2].ndim, 1);
    ck_assert_int_eq(ops[2].shape[0], P);
    for (int j = 0; j < P; j++) {
        double r = 0;
        for (int k = 0; k < N; k++)
            r += v[k] * b[k * P + j];
        ck_assert_double_eq(EL(&ops[2], j), r);
    }
    ug_free(ops[2].data);
    /* Both 1-d: a scalar result. */
    mk(&ops[1], v, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    mk_alloc(&ops[2], UG_DTYPE_NONE);
    ck_assert_int_eq(run_sig("(m?,n),(n,p?)->(m?,p?)", matmul_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    ck_assert_int_eq(ops[2].ndim, 0);
    ck_assert_double_eq(*(double *)ops[2].data, 14);
    ug_free(ops[2].data);
    /* A non-flexible dim cannot be dropped. */
    mk(&ops[0], v, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    mk(&ops[1], b, UG_FLOAT64, 2, (int64_t[]){N, P}, NULL);
    mk_alloc(&ops[2], UG_DTYPE_NONE);
    expect_exec_error(UG_ESHAPE, "k: input 0 does not have enough dimensions (has 1, layout (m,n),(n,p)->(m,p) requires 2)",
                      "(m,n),(n,p)->(m,p)", matmul_loop, ops, NULL);
}
END_TEST

START_TEST(exec_cumsum_cross_minmax)
{
    enum { R = 3, N = 6 };
    double a[R * N], out[R * N];
    iota(a, R * N, 1);
    ug_operand ops[3];
    /* cumsum over reversed rows */
    mk(&ops[0], a + R * N - 1, UG_FLOAT64, 2, (int64_t[]){R, N}, (int64_t[]){-8 * N, -8});
    mk(&ops[1], out, UG_FLOAT64, 2, (int64_t[]){R, N}, NULL);
    ck_assert_int_eq(run_sig("(n)->(n)", cumsum_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    for (int r = 0; r < R; r++) {
        double acc = 0;
        for (int j = 0; j < N; j++)
            ck_assert_double_eq(out[r * N + j], acc += a[R * N - 1 - r * N - j]);
    }
    /* cross, frozen (3) */
    double x[4 * 3], y[3] = {0, 0, 1}, z[4 * 3];
    iota(x, 12, 1);
    mk(&ops[0], x, UG_FLOAT64, 2, (int64_t[]){4, 3}, NULL);
    mk(&ops[1], y, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    mk(&ops[2], z, UG_FLOAT64, 2, (int64_t[]){4, 3}, NULL);
    ck_assert_int_eq(run_sig("(3),(3)->(3)", cross_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    for (int i = 0; i < 4; i++) {
        ck_assert_double_eq(z[i * 3 + 0], x[i * 3 + 1]);
        ck_assert_double_eq(z[i * 3 + 1], -x[i * 3 + 0]);
        ck_assert_double_eq(z[i * 3 + 2], 0);
    }
    mk(&ops[0], x, UG_FLOAT64, 2, (int64_t[]){3, 4}, NULL);
    expect_exec_error(UG_ESHAPE, "core dimension '3' is fixed to 3 by layout (3),(3)->(3) but is 4 in input 0",
                      "(3),(3)->(3)", cross_loop, ops, NULL);
    /* two outputs */
    mk(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){R, N}, (int64_t[]){8, 8 * R});
    mk_alloc(&ops[1], UG_DTYPE_NONE);
    mk_alloc(&ops[2], UG_FLOAT32);
    ck_assert_int_eq(run_sig("(n)->(),()", minmax_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    ck_assert(ops[1].ndim == 1 && ops[1].shape[0] == R && ops[2].dtype == UG_FLOAT32);
    for (int r = 0; r < R; r++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int j = 0; j < N; j++) {
            lo = fmin(lo, a[r + j * R]);
            hi = fmax(hi, a[r + j * R]);
        }
        ck_assert_double_eq(((double *)ops[1].data)[r], lo);
        ck_assert_float_eq(((float *)ops[2].data)[r], (float)hi);
    }
    ug_free(ops[1].data);
    ug_free(ops[2].data);
}
END_TEST

/* --- errors --- */

START_TEST(exec_shape_errors)
{
    double a[12] = {0}, o[12];
    ug_operand ops[3];
    mk(&ops[0], a, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    mk(&ops[1], a, UG_FLOAT64, 1, (int64_t[]){4}, NULL);
    mk_alloc(&ops[2], UG_DTYPE_NONE);
    expect_exec_error(UG_ESHAPE, "k: operands could not be broadcast together with shapes (3,) (4,)", "add", add_loop,
                      ops, NULL);
    mk(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){2, 3}, NULL);
    mk(&ops[1], a, UG_FLOAT64, 2, (int64_t[]){4, 3}, NULL);
    expect_exec_error(UG_ESHAPE, "shapes (2,) (4,) (loop dimensions; core dimensions removed)", "(n),(n)->()",
                      dot_loop, ops, NULL);
    mk(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){3, 1}, NULL);
    mk(&ops[1], a, UG_FLOAT64, 1, (int64_t[]){4}, NULL);
    mk(&ops[2], o, UG_FLOAT64, 2, (int64_t[]){1, 4}, NULL);
    expect_exec_error(UG_ESHAPE, "output 0 has loop shape (1,4) but the broadcast shape is (3,4)", "add", add_loop, ops,
                      NULL);
    ug_operand g[2];
    mk(&g[0], a, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    mk_alloc(&g[1], UG_DTYPE_NONE);
    expect_exec_error(UG_ESHAPE, "core dimension 'm' of layout (n)->(m) is not set by any operand", "(n)->(m)",
                      cumsum_loop, g, NULL);
    mk(&g[1], o, UG_FLOAT64, 0, NULL, NULL);
    expect_exec_error(UG_ESHAPE, "output 0 does not have enough dimensions (has 0, layout (n)->(n) requires 1)",
                      "(n)->(n)", cumsum_loop, g, NULL);
    /* Failure after allocation frees the output. */
    mk(&ops[0], a, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    mk(&ops[1], a, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    mk_alloc(&ops[2], UG_INT32);
    expect_exec_error(UG_EDTYPE, "cannot write the loop's float64 result to output 0 of dtype int32", "add", add_loop,
                      ops, NULL);
    ck_assert_ptr_null(ops[2].data);
}
END_TEST

START_TEST(exec_index_error)
{
    double a[10] = {0}, o[10];
    ug_operand ops[2];
    mk(&ops[0], a, UG_FLOAT64, 1, (int64_t[]){10}, NULL);
    mk(&ops[1], o, UG_FLOAT64, 1, (int64_t[]){10}, NULL);
    layout_sig *sig = layout_scalar(1, 1);
    layout_loop loop = {.fn = oob_loop, .nthreads = 1, .kname = "oob"};
    ug_error err;
    ck_assert_int_eq(layout_execute(sig, ops, 2, (ug_dtype[]){UG_FLOAT64, UG_FLOAT64}, &loop, &err), UG_EINDEX);
    ck_assert_ptr_nonnull(strstr(err.msg, "kernel 'oob': index 7 is out of bounds for axis 0 with size 3"));
    ck_assert_int_eq(rt_take_error(NULL), 0); /* taken */
    /* Recorded on a worker thread, reported by the caller. */
    enum { N = 1 << 16 };
    double *big = calloc(N, sizeof(double)), *bo = calloc(N, sizeof(double));
    mk(&ops[0], big, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    mk(&ops[1], bo, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    loop.nthreads = 2;
    for (int rep = 0; rep < 3; rep++)
        ck_assert_int_eq(layout_execute(sig, ops, 2, (ug_dtype[]){UG_FLOAT64, UG_FLOAT64}, &loop, &err), UG_EINDEX);
    ck_assert_int_eq(rt_take_error(NULL), 0);
    free(big);
    free(bo);
    layout_free(sig);
}
END_TEST

/* --- casts --- */

START_TEST(exec_cast_operands)
{
    int32_t ai[4] = {1, -2, 3, 2000000000};
    float bf[4] = {0.5f, 0.25f, -1.5f, 2};
    float out[4];
    ug_operand ops[3];
    mk(&ops[0], ai, UG_INT32, 1, (int64_t[]){4}, NULL);
    mk(&ops[1], bf, UG_FLOAT32, 1, (int64_t[]){4}, NULL);
    mk(&ops[2], out, UG_FLOAT32, 1, (int64_t[]){4}, NULL);
    ck_assert_int_eq(run_sig("add", add_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(out[i], (float)((double)ai[i] + (double)bf[i]));
    /* A zero-stride float32 input is cast too. */
    float k = 0.5f;
    double od[4];
    mk(&ops[1], &k, UG_FLOAT32, 1, (int64_t[]){4}, (int64_t[]){0});
    mk(&ops[2], od, UG_FLOAT64, 1, (int64_t[]){4}, NULL);
    ck_assert_int_eq(run_sig("add", add_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq(od[i], (double)ai[i] + 0.5);
    /* The float64 output is written over the bytes of the float32 input it
     * is computed from: the input is cast first, so nothing is read late. */
    union { double d[4]; float f[8]; } u;
    double ref[4], bb[4] = {1, 2, 3, 4};
    for (int i = 0; i < 4; i++) {
        u.f[i] = (float)i * 1.25f + 0.5f;
        ref[i] = (double)u.f[i] + bb[i];
    }
    mk(&ops[0], u.f, UG_FLOAT32, 1, (int64_t[]){4}, NULL);
    mk(&ops[1], bb, UG_FLOAT64, 1, (int64_t[]){4}, NULL);
    mk(&ops[2], u.d, UG_FLOAT64, 1, (int64_t[]){4}, NULL);
    ck_assert_int_eq(run_sig("add", add_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq(u.d[i], ref[i]);
    /* float64 results into an int64 output: not same_kind. */
    int64_t o64[4];
    mk(&ops[2], o64, UG_INT64, 1, (int64_t[]){4}, NULL);
    expect_exec_error(UG_EDTYPE, "k: cannot write the loop's float64 result to output 0 of dtype int64 (not a same_kind cast)",
                      "add", add_loop, ops, NULL);
}
END_TEST

typedef struct cast_case {
    double x;
    int64_t i8, u8, i16, u16, i32, u32, i64;
    uint64_t u64;
} cast_case;

/* Values from numpy 2.4 on x86-64: np.array([x]).astype(t) (the scalar path). */
static const cast_case cast_cases[] = {
    {NAN, 0, 0, 0, 0, INT32_MIN, 0, INT64_MIN, UINT64_C(9223372036854775808)},
    {INFINITY, 0, 0, 0, 0, INT32_MIN, 0, INT64_MIN, 0},
    {-INFINITY, 0, 0, 0, 0, INT32_MIN, 0, INT64_MIN, UINT64_C(9223372036854775808)},
    {3.7, 3, 3, 3, 3, 3, 3, 3, 3},
    {-3.7, -3, 253, -3, 65533, -3, 4294967293, -3, UINT64_C(18446744073709551613)},
    {1e10, 0, 0, 0, 0, INT32_MIN, 1410065408, 10000000000, 10000000000},
    {-1e10, 0, 0, 0, 0, INT32_MIN, 2884901888, -10000000000, UINT64_C(18446744063709551616)},
    {4.3e9, 0, 0, 0, 0, INT32_MIN, 5032704, 4300000000, 4300000000},
    {2.5e9, 0, 0, 0, 0, INT32_MIN, 2500000000, 2500000000, 2500000000},
    {1e19, 0, 0, 0, 0, INT32_MIN, 0, INT64_MIN, UINT64_C(10000000000000000000)},
    {2e19, 0, 0, 0, 0, INT32_MIN, 0, INT64_MIN, 0},
    {-1e19, 0, 0, 0, 0, INT32_MIN, 0, INT64_MIN, UINT64_C(9223372036854775808)},
    {-1.0, -1, 255, -1, 65535, -1, 4294967295, -1, UINT64_C(18446744073709551615)},
    {255.9, -1, 255, 255, 255, 255, 255, 255, 255},
    {65536.5, 0, 0, 0, 0, 65536, 65536, 65536, 65536},
    {-129.0, 127, 127, -129, 65407, -129, 4294967167, -129, UINT64_C(18446744073709551487)},
    {300.0, 44, 44, 300, 300, 300, 300, 300, 300},
    {-0.5, 0, 0, 0, 0, 0, 0, 0, 0},
};

static int64_t cast_one(double x, ug_dtype t)
{
    uint64_t buf = 0;
    rt_cast_strided(&buf, 0, t, &x, 0, UG_FLOAT64, 1);
    switch (t) {
    case UG_INT8: return (int8_t)buf;
    case UG_UINT8: return (uint8_t)buf;
    case UG_INT16: return (int16_t)buf;
    case UG_UINT16: return (uint16_t)buf;
    case UG_INT32: return (int32_t)buf;
    case UG_UINT32: return (uint32_t)buf;
    default: return (int64_t)buf;
    }
}

START_TEST(cast_float_to_int_matches_numpy)
{
    for (size_t i = 0; i < sizeof cast_cases / sizeof *cast_cases; i++) {
        const cast_case *c = &cast_cases[i];
        ck_assert_int_eq(cast_one(c->x, UG_INT8), c->i8);
        ck_assert_int_eq(cast_one(c->x, UG_UINT8), c->u8);
        ck_assert_int_eq(cast_one(c->x, UG_INT16), c->i16);
        ck_assert_int_eq(cast_one(c->x, UG_UINT16), c->u16);
        ck_assert_int_eq(cast_one(c->x, UG_INT32), c->i32);
        ck_assert_int_eq(cast_one(c->x, UG_UINT32), c->u32);
        ck_assert_int_eq(cast_one(c->x, UG_INT64), c->i64);
        ck_assert_uint_eq((uint64_t)cast_one(c->x, UG_UINT64), c->u64);
        /* from float32 where exact */
        float f = (float)c->x;
        if ((double)f == c->x || isnan(c->x)) {
            uint64_t b = 0;
            rt_cast_strided(&b, 0, UG_INT32, &f, 0, UG_FLOAT32, 1);
            ck_assert_int_eq((int32_t)b, c->i32);
        }
    }
    /* bool and int conversions */
    double d[3] = {NAN, 0.0, -0.0};
    uint8_t bo[3];
    rt_cast_strided(bo, 1, UG_BOOL, d, 8, UG_FLOAT64, 3);
    ck_assert(bo[0] == 1 && bo[1] == 0 && bo[2] == 0);
    int64_t wide[4] = {-1, 300, 70000, -5};
    uint8_t narrow[4];
    rt_cast_strided(narrow, 1, UG_UINT8, wide, 8, UG_INT64, 4);
    ck_assert(narrow[0] == 255 && narrow[1] == 44 && narrow[2] == 112 && narrow[3] == 251);
    uint64_t big = UINT64_MAX;
    float fb;
    rt_cast_strided(&fb, 4, UG_FLOAT32, &big, 8, UG_UINT64, 1);
    ck_assert_float_eq(fb, 18446744073709551616.0f);
    int64_t i64 = INT64_C(9007199254740993); /* 2^53 + 1: straight to float32, not via float64 */
    rt_cast_strided(&fb, 4, UG_FLOAT32, &i64, 8, UG_INT64, 1);
    ck_assert_float_eq(fb, (float)i64);
    int8_t neg = -3;
    uint64_t u;
    rt_cast_strided(&u, 8, UG_UINT64, &neg, 1, UG_INT8, 1);
    ck_assert_uint_eq(u, UINT64_MAX - 2);
}
END_TEST

/* --- big iteration spaces, many dims, threads --- */

START_TEST(exec_big_and_many_dims)
{
    /* 2^32 + 2^16 elements through zero strides: dimensions[0] exceeds 2^31. */
    double zero = 0;
    int64_t total = 0;
    ug_operand op;
    mk(&op, &zero, UG_FLOAT64, 2, (int64_t[]){65536, 65537}, (int64_t[]){0, 0});
    layout_sig *sig = layout_scalar(1, 0);
    layout_loop loop = {.fn = count_loop, .data = &total, .nthreads = 1, .kname = "count"};
    ck_assert_int_eq(layout_execute(sig, &op, 1, (ug_dtype[]){UG_FLOAT64}, &loop, NULL), UG_OK);
    ck_assert_int_eq(total, INT64_C(65536) * 65537);
    layout_free(sig);

    /* 64 dims, 12 of size 2, the input in reversed axis order. */
    enum { ND = UG_MAXDIMS, NEL = 1 << 12 };
    double *a = malloc(NEL * sizeof(double)), b = 0.5;
    iota(a, NEL, 1);
    int64_t shape[ND], strides[ND], s = 8;
    for (int d = 0; d < ND; d++)
        shape[d] = d % 5 == 0 && d < 60 ? 2 : 1;
    for (int d = 0; d < ND; d++) {  /* Fortran order */
        strides[d] = s;
        s *= shape[d];
    }
    ug_operand ops[3];
    mk(&ops[0], a, UG_FLOAT64, ND, shape, strides);
    mk(&ops[1], &b, UG_FLOAT64, 0, NULL, NULL);
    mk_alloc(&ops[2], UG_DTYPE_NONE);
    ck_assert_int_eq(run_sig("add", add_loop, NULL, 1, ops, NULL, NULL), UG_OK);
    ck_assert_int_eq(ops[2].ndim, ND);
    /* Walk the output in C order and the input by its own strides. */
    int64_t idx[ND] = {0}, bad = 0;
    for (int64_t e = 0; e < NEL; e++) {
        int64_t off = 0;
        for (int d = 0; d < ND; d++)
            off += idx[d] * strides[d];
        bad += ((double *)ops[2].data)[e] != a[off / 8] + 0.5;
        for (int d = ND - 1; d >= 0 && ++idx[d] == shape[d]; d--)
            idx[d] = 0;
    }
    ck_assert_int_eq(bad, 0);
    ug_free(ops[2].data);
    free(a);
}
END_TEST

START_TEST(exec_threads)
{
    enum { N = 1 << 20 };
    double *a = malloc(N * sizeof(double)), *b = malloc(N * sizeof(double)), *o = malloc(N * sizeof(double));
    iota(a, N, 1);
    iota(b, N, 0.25);
    ug_operand ops[3];
    /* 1-d: the single dim is split in chunks. */
    mk(&ops[0], a, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    mk(&ops[1], b, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    mk(&ops[2], o, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    for (int rep = 0; rep < 3; rep++) {
        memset(o, 0, N * sizeof(double));
        ck_assert_int_eq(run_sig("add", add_loop, NULL, 4, ops, NULL, NULL), UG_OK);
        int64_t bad = 0; /* one assertion, not a million: Check logs each one */
        for (int i = 0; i < N; i++)
            bad += o[i] != a[i] + b[i];
        ck_assert_int_eq(bad, 0);
    }
    /* 2-d, inner dim strided so nothing merges: outer dims are split. */
    mk(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){1024, 512}, (int64_t[]){8 * 1024, 16});
    mk(&ops[1], b, UG_FLOAT64, 1, (int64_t[]){512}, NULL);
    mk(&ops[2], o, UG_FLOAT64, 2, (int64_t[]){1024, 512}, NULL);
    ck_assert_int_eq(run_sig("add", add_loop, NULL, 4, ops, NULL, NULL), UG_OK);
    int64_t bad = 0;
    for (int i = 0; i < 1024; i++)
        for (int j = 0; j < 512; j++)
            bad += o[i * 512 + j] != a[i * 1024 + 2 * j] + b[j];
    ck_assert_int_eq(bad, 0);
    free(a);
    free(b);
    free(o);
}
END_TEST

static TCase *exec_tcase(void)
{
    TCase *t = tcase_create("exec");
    tcase_add_test(t, exec_add_broadcast_alloc);
    tcase_add_test(t, exec_add_strides);
    tcase_add_test(t, exec_coalesce);
    tcase_add_test(t, exec_zero_size);
    tcase_add_test(t, exec_overlap);
    tcase_add_test(t, exec_dot_broadcast);
    tcase_add_test(t, exec_matmul);
    tcase_add_test(t, exec_matmul_flexible);
    tcase_add_test(t, exec_cumsum_cross_minmax);
    tcase_add_test(t, exec_shape_errors);
    tcase_add_test(t, exec_index_error);
    tcase_add_test(t, exec_cast_operands);
    tcase_add_test(t, cast_float_to_int_matches_numpy);
    tcase_add_test(t, exec_big_and_many_dims);
    tcase_add_test(t, exec_threads);
    return t;
}

/* ====================================================================== main */

static Suite *layout_suite(void)
{
    Suite *s = suite_create("layout");
    TCase *tp = tcase_create("parse");
    tcase_add_test(tp, parse_matches_numpy);
    tcase_add_test(tp, parse_error_messages);
    tcase_add_test(tp, parse_structure_and_text);
    tcase_add_test(tp, parse_limits);
    suite_add_tcase(s, tp);
    suite_add_tcase(s, exec_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(layout_suite());
    srunner_run_all(sr, CK_NORMAL);
    int nfail = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nfail ? EXIT_FAILURE : EXIT_SUCCESS;
}
