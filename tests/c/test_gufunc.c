/* test_gufunc.c — generalized ufuncs end to end through the public C API:
 * inner product, matrix multiply, cross product, cumulative sum, moving mean
 * with a scalar window input, and a two-output kernel, each on stacked,
 * broadcast, transposed and strided operands; plus the bad-input cases
 * (core-dimension mismatch, frozen sizes, layout errors, boundscheck).
 * Expected values come from plain C loops written here. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ufuncgen/ufuncgen.h"

static ug_context *ctx;
static void setup(void) { ctx = ug_context_new(NULL); }
static void teardown(void) { ug_context_free(ctx); }

static ug_ufunc *gu(const char *src, const char *layout, const char *sig, int boundscheck)
{
    ug_options o;
    ug_options_init(&o);
    o.boundscheck = boundscheck;
    ug_ufunc *f = NULL;
    const char *sigs[] = {sig};
    ug_status st = ug_guvectorize(ctx, src, layout, sigs, 1, &o, &f);
    ck_assert_msg(st == UG_OK, "ug_guvectorize: %s", ug_errmsg(ctx));
    return f;
}

static void call_ok(ug_ufunc *f, ug_operand *ops, int n)
{
    ug_error err;
    ug_status st = ug_call(f, ops, n, &err);
    ck_assert_msg(st == UG_OK, "ug_call: %s", err.msg);
}

static const char *dot_src = "def dot(a, b, out):\n"
                             "    acc = 0.0\n"
                             "    for i in range(len(a)):\n"
                             "        acc += a[i] * b[i]\n"
                             "    out[0] = acc\n";

START_TEST(dot_stacked_broadcast_strided)
{
    ug_ufunc *f = gu(dot_src, "(n),(n)->()", "void(float64[:], float64[:], float64[:])", 0);
    ck_assert_str_eq(ug_ufunc_layout(f), "(n),(n)->()");
    enum { R = 7, N = 5 };
    double a[R][2 * N], b[N], out[R];
    for (int r = 0; r < R; r++)
        for (int i = 0; i < 2 * N; i++)
            a[r][i] = r * 0.5 + i;
    for (int i = 0; i < N; i++)
        b[i] = 1.0 / (i + 1);
    /* a: (R, N) with element stride 16 (every other element); b: (N,) broadcast over R */
    ug_operand ops[3];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){R, N}, (int64_t[]){2 * N * 8, 16});
    ug_operand_init(&ops[1], b, UG_FLOAT64, 1, (int64_t[]){N}, NULL);
    ug_operand_init(&ops[2], out, UG_FLOAT64, 1, (int64_t[]){R}, NULL);
    call_ok(f, ops, 3);
    for (int r = 0; r < R; r++) {
        double ref = 0;
        for (int i = 0; i < N; i++)
            ref += a[r][2 * i] * b[i];
        ck_assert_double_eq_tol(out[r], ref, 1e-12);
    }
    ug_ufunc_free(f);
}
END_TEST

/* Numba's convention: a "()" input the signature types as an array is a
 * 1-element array in the kernel (k[0]); typed as a scalar, a scalar. */
START_TEST(scalar_input_typed_as_array)
{
    ug_ufunc *boxed = gu("def f(a, k, out):\n    for i in range(a.shape[0]):\n        out[i] = a[i] * k[0]\n",
                         "(n),()->(n)", "void(float64[:], float64[:], float64[:])", 0);
    ug_ufunc *plain = gu("def f(a, k, out):\n    for i in range(a.shape[0]):\n        out[i] = a[i] * k\n",
                         "(n),()->(n)", "void(float64[:], float64, float64[:])", 0);
    double a[2][3] = {{1, 2, 3}, {4, 5, 6}}, k[2] = {10, 100}, o1[2][3], o2[2][3];
    ug_operand ops[3];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){2, 3}, NULL);
    ug_operand_init(&ops[1], k, UG_FLOAT64, 1, (int64_t[]){2}, NULL);
    ug_operand_init(&ops[2], o1, UG_FLOAT64, 2, (int64_t[]){2, 3}, NULL);
    call_ok(boxed, ops, 3);
    ug_operand_init(&ops[2], o2, UG_FLOAT64, 2, (int64_t[]){2, 3}, NULL);
    call_ok(plain, ops, 3);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 3; i++) {
            ck_assert_double_eq(o1[r][i], a[r][i] * k[r]);
            ck_assert_double_eq(o2[r][i], a[r][i] * k[r]);
        }
    ug_ufunc_free(boxed);
    ug_ufunc_free(plain);
}
END_TEST

static const char *matmul_src = "def matmul(A, B, C):\n"
                                "    m, n = A.shape\n"
                                "    p = B.shape[1]\n"
                                "    for i in range(m):\n"
                                "        for j in range(p):\n"
                                "            s = 0.0\n"
                                "            for k in range(n):\n"
                                "                s += A[i, k] * B[k, j]\n"
                                "            C[i, j] = s\n";

START_TEST(matmul_stack_transposed)
{
    ug_ufunc *f = gu(matmul_src, "(m,n),(n,p)->(m,p)", "void(float64[:,:], float64[:,:], float64[:,:])", 0);
    enum { S = 3, M = 2, N = 4, P = 3 };
    double A[S][M][N], Bt[P][N], C[S][M][P];
    for (int s = 0; s < S; s++)
        for (int i = 0; i < M; i++)
            for (int k = 0; k < N; k++)
                A[s][i][k] = s + i * 0.25 - k;
    for (int j = 0; j < P; j++)
        for (int k = 0; k < N; k++)
            Bt[j][k] = j * 2 + k * 0.5;
    ug_operand ops[3];
    ug_operand_init(&ops[0], A, UG_FLOAT64, 3, (int64_t[]){S, M, N}, NULL);
    /* B = Bt transposed: shape (N, P), strides (8, N*8), shared by every stack entry */
    ug_operand_init(&ops[1], Bt, UG_FLOAT64, 2, (int64_t[]){N, P}, (int64_t[]){8, N * 8});
    ug_operand_alloc(&ops[2], UG_DTYPE_NONE);
    call_ok(f, ops, 3);
    ck_assert_int_eq(ops[2].ndim, 3);
    ck_assert_int_eq(ops[2].shape[0], S);
    ck_assert_int_eq(ops[2].shape[1], M);
    ck_assert_int_eq(ops[2].shape[2], P);
    memcpy(C, ops[2].data, sizeof C);
    ug_free(ops[2].data);
    for (int s = 0; s < S; s++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < P; j++) {
                double ref = 0;
                for (int k = 0; k < N; k++)
                    ref += A[s][i][k] * Bt[j][k];
                ck_assert_double_eq_tol(C[s][i][j], ref, 1e-12);
            }
    ug_ufunc_free(f);
}
END_TEST

/* Large calls (>= 65536 stacks) run a variant of the loop compiled for
 * their core shape (see ufunc.c) from the second such call on. Whatever
 * ran, results must be bit for bit those of small calls (the generic loop)
 * and right against C: for six core
 * shapes (more than the four variants a loop keeps), B plain and
 * transposed (other core steps), serial and parallel, and through a
 * ufunc built with variants turned off. */
static void matmul_ref(const double *A, const double *B, double *C, int m, int n, int p, int64_t bsr, int64_t bsc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < p; j++) {
            double acc = 0;
            for (int k = 0; k < n; k++)
                acc += A[i * n + k] * B[k * bsr + j * bsc];
            C[i * p + j] = acc;
        }
}

START_TEST(matmul_core_shape_variants)
{
    static const int shapes[][3] = {{4, 4, 4}, {3, 3, 3}, {2, 5, 3}, {1, 7, 1}, {4, 4, 4}, {6, 2, 6}, {3, 1, 2}};
    ug_options o;
    ug_options_init(&o);
    o.target = _i ? UG_TARGET_PARALLEL : UG_TARGET_CPU;
    const char *sigs[] = {"void(float64[:,:], float64[:,:], float64[:,:])"};
    ug_ufunc *f = NULL;
    ck_assert_int_eq(ug_guvectorize(ctx, matmul_src, "(m,n),(n,p)->(m,p)", sigs, 1, &o, &f), UG_OK);
    enum { S = 140000, SMALL = 300 }; /* parallel: each thread's piece still >= 65536 stacks */
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++)
        for (int tr = 0; tr < 2; tr++) {
            int m = shapes[c][0], n = shapes[c][1], p = shapes[c][2];
            double *A = malloc(sizeof *A * S * m * n), *B = malloc(sizeof *B * n * p);
            double *C = malloc(sizeof *C * S * m * p), *Cs = malloc(sizeof *Cs * SMALL * m * p), ref[64];
            double *C1 = malloc(sizeof *C1 * SMALL * m * p);
            for (long i = 0; i < (long)S * m * n; i++)
                A[i] = (double)((i * 7919) % 1000) / 37.0 - 13.0;
            for (int i = 0; i < n * p; i++)
                B[i] = 0.1 * i - 1.7 + 1.0 / (i + 3);
            /* B as (n, p): row-major, or the transpose of a (p, n) array */
            int64_t bst[2] = {tr ? 8 : 8 * p, tr ? 8 * n : 8};
            ug_operand ops[3];
            ug_operand_init(&ops[0], A, UG_FLOAT64, 3, (int64_t[]){S, m, n}, NULL);
            ug_operand_init(&ops[1], B, UG_FLOAT64, 2, (int64_t[]){n, p}, bst);
            ug_operand_init(&ops[2], C, UG_FLOAT64, 3, (int64_t[]){S, m, p}, NULL);
            call_ok(f, ops, 3); /* a core shape's first large call: the generic loop (or a cached variant) */
            memcpy(C1, C, sizeof *C1 * SMALL * m * p);
            call_ok(f, ops, 3); /* its second: the variant */
            ck_assert_msg(!memcmp(C, C1, sizeof *C1 * SMALL * m * p), "shape %dx%dx%d: first and second large calls differ",
                          m, n, p);
            ug_operand_init(&ops[0], A, UG_FLOAT64, 3, (int64_t[]){SMALL, m, n}, NULL);
            ug_operand_init(&ops[2], Cs, UG_FLOAT64, 3, (int64_t[]){SMALL, m, p}, NULL);
            call_ok(f, ops, 3);
            ck_assert_msg(!memcmp(C, Cs, sizeof *Cs * SMALL * m * p), "shape %dx%dx%d B %s: large and small calls differ",
                          m, n, p, tr ? "transposed" : "plain");
            for (long s = 0; s < S; s += 997) {
                matmul_ref(A + s * m * n, B, ref, m, n, p, bst[0] / 8, bst[1] / 8);
                ck_assert_msg(!memcmp(ref, C + s * m * p, sizeof *ref * m * p), "shape %dx%dx%d stack %ld", m, n, p, s);
            }
            free(A);
            free(B);
            free(C);
            free(C1);
            free(Cs);
        }
    ug_ufunc_free(f);
}
END_TEST

/* In place through the executor, a large call (a core-shape variant, made
 * at the second large call of the shape) gives what NumPy gives for a
 * gufunc whose output is its input: the input is
 * read as it was before the call (the executor copies an overlapping
 * input), so out[i] = a[0] + a[i] sees the old a[0] throughout. The loop's
 * own overlap check is tested directly in test_loops_source. */
START_TEST(variant_in_place)
{
    ug_ufunc *f = gu("def k(a, out):\n    for i in range(len(a)):\n        out[i] = a[0] + a[i]\n", "(n)->(n)",
                     "void(float64[:], float64[:])", 0);
    enum { S = 70000, N = 4 };
    double *a = malloc(sizeof *a * S * N), *out = malloc(sizeof *out * S * N);
    for (int pass = 0; pass < 3; pass++) { /* out apart from a (generic loop, then the variant), then in place */
        for (long i = 0; i < (long)S * N; i++)
            a[i] = (double)(i % 1009) - 500.0;
        double *o = pass == 2 ? a : out;
        ug_operand ops[2];
        ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){S, N}, NULL);
        ug_operand_init(&ops[1], o, UG_FLOAT64, 2, (int64_t[]){S, N}, NULL);
        call_ok(f, ops, 2);
        for (long s = 0; s < S; s++)
            for (int i = 0; i < N; i++) {
                long at = s * N + i;
                double a0 = (double)((s * N) % 1009) - 500.0, ai = (double)(at % 1009) - 500.0;
                double want = a0 + ai;
                ck_assert_msg(o[at] == want, "pass %d: stack %ld element %d: %g, want %g", pass, s, i, o[at], want);
            }
    }
    free(a);
    free(out);
    ug_ufunc_free(f);
}
END_TEST

/* A boundscheck failure is reported from a variant as from the generic loop. */
START_TEST(variant_boundscheck)
{
    ug_ufunc *f = gu("def g(a, out):\n    out[0] = a[len(a)]\n", "(n)->()", "void(float64[:], float64[:])", 1);
    enum { S = 70000, N = 3 };
    double *a = calloc(S * N, sizeof *a), *out = calloc(S, sizeof *out);
    ug_operand ops[2];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){S, N}, NULL);
    ug_operand_init(&ops[1], out, UG_FLOAT64, 1, (int64_t[]){S}, NULL);
    for (int call = 0; call < 2; call++) { /* the generic loop, then the variant */
        ug_error err;
        ck_assert_int_eq(ug_call(f, ops, 2, &err), UG_EINDEX);
        ck_assert_msg(strstr(err.msg, "index 3 is out of bounds for axis 0 with size 3"), "%s", err.msg);
    }
    free(a);
    free(out);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(cross_frozen)
{
    const char *src = "def cross(a, b, c):\n"
                      "    c[0] = a[1] * b[2] - a[2] * b[1]\n"
                      "    c[1] = a[2] * b[0] - a[0] * b[2]\n"
                      "    c[2] = a[0] * b[1] - a[1] * b[0]\n";
    ug_ufunc *f = gu(src, "(3),(3)->(3)", "f4,f4->f4", 0);
    float a[2][3] = {{1, 0, 0}, {1, 2, 3}}, b[3] = {0, 1, 0}, c[2][3];
    ug_operand ops[3];
    ug_operand_init(&ops[0], a, UG_FLOAT32, 2, (int64_t[]){2, 3}, NULL);
    ug_operand_init(&ops[1], b, UG_FLOAT32, 1, (int64_t[]){3}, NULL);
    ug_operand_init(&ops[2], c, UG_FLOAT32, 2, (int64_t[]){2, 3}, NULL);
    call_ok(f, ops, 3);
    float want[2][3] = {{0, 0, 1}, {-3, 0, 1}};
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 3; i++)
            ck_assert_float_eq(c[r][i], want[r][i]);
    /* a frozen dimension of the wrong size is refused */
    float bad[4] = {0};
    ug_operand_init(&ops[1], bad, UG_FLOAT32, 1, (int64_t[]){4}, NULL);
    ug_error err;
    ck_assert_int_eq(ug_call(f, ops, 3, &err), UG_ESHAPE);
    ck_assert_msg(strstr(err.msg, "3") && strstr(err.msg, "4"), "%s", err.msg);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(cumsum_reversed)
{
    const char *src = "def cumsum(x, out):\n"
                      "    s = 0\n"
                      "    for i in range(x.shape[0]):\n"
                      "        s += x[i]\n"
                      "        out[i] = s\n";
    ug_ufunc *f = gu(src, "(n)->(n)", "void(int64[:], int64[:])", 0);
    int64_t x[2][6], out[2][6];
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 6; i++)
            x[r][i] = (r + 1) * (i + 1);
    /* read each row backwards */
    ug_operand ops[2];
    ug_operand_init(&ops[0], &x[0][5], UG_INT64, 2, (int64_t[]){2, 6}, (int64_t[]){48, -8});
    ug_operand_init(&ops[1], out, UG_INT64, 2, (int64_t[]){2, 6}, NULL);
    call_ok(f, ops, 2);
    for (int r = 0; r < 2; r++) {
        int64_t s = 0;
        for (int i = 0; i < 6; i++) {
            s += x[r][5 - i];
            ck_assert_int_eq(out[r][i], s);
        }
    }
    ug_ufunc_free(f);
}
END_TEST

START_TEST(moving_mean_scalar_window)
{
    const char *src = "def move_mean(a, window_arr, out):\n"
                      "    window_width = window_arr\n"
                      "    asum = 0.0\n"
                      "    count = 0\n"
                      "    for i in range(window_width):\n"
                      "        asum += a[i]\n"
                      "        count += 1\n"
                      "        out[i] = asum / count\n"
                      "    for i in range(window_width, len(a)):\n"
                      "        asum += a[i] - a[i - window_width]\n"
                      "        out[i] = asum / count\n";
    ug_ufunc *f = gu(src, "(n),()->(n)", "void(float64[:], int64, float64[:])", 0);
    enum { R = 3, N = 10 };
    double a[R][N], out[R][N];
    int64_t w[R] = {1, 3, 10};
    for (int r = 0; r < R; r++)
        for (int i = 0; i < N; i++)
            a[r][i] = (i * 7 + r * 3) % 11;
    ug_operand ops[3];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){R, N}, NULL);
    ug_operand_init(&ops[1], w, UG_INT64, 1, (int64_t[]){R}, NULL);
    ug_operand_init(&ops[2], out, UG_FLOAT64, 2, (int64_t[]){R, N}, NULL);
    call_ok(f, ops, 3);
    for (int r = 0; r < R; r++)
        for (int i = 0; i < N; i++) {
            int lo = i - (int)w[r] + 1 < 0 ? 0 : i - (int)w[r] + 1;
            double s = 0;
            for (int k = lo; k <= i; k++)
                s += a[r][k];
            ck_assert_double_eq_tol(out[r][i], s / (i - lo + 1), 1e-12);
        }
    ug_ufunc_free(f);
}
END_TEST

/* Operand layouts for the matrix below: the logical (S, N) input v[s][i]
 * stored contiguously, transposed (stored as (N, S)), strided (every other
 * element of a (S, 2N) buffer), or broadcast (one row, loop stride 0). */
enum { LAY_STACKED, LAY_TRANSPOSED, LAY_STRIDED, LAY_BROADCAST, NLAY };
static const char *lay_name[NLAY] = {"stacked", "transposed", "strided", "broadcast"};

static double lay_value(int s, int i) { return (double)((s * 7 + i * 3) % 13) - 6.0 + 0.25 * i; }

/* Fill buf for layout lay and describe it as a (S, N) float64 operand; the
 * logical value at (s, i) is lay_value(s, i) (row 0 for every s if broadcast). */
static void lay_operand(ug_operand *op, double *buf, int lay, int S, int N)
{
    for (int s = 0; s < S; s++)
        for (int i = 0; i < N; i++) {
            double v = lay_value(lay == LAY_BROADCAST ? 0 : s, i);
            switch (lay) {
            case LAY_STACKED: buf[s * N + i] = v; break;
            case LAY_TRANSPOSED: buf[i * S + s] = v; break;
            case LAY_STRIDED: buf[(s * N + i) * 2] = v; break;
            default: buf[i] = v; break;
            }
        }
    int64_t st[4][2] = {{8 * N, 8}, {8, 8 * S}, {16 * N, 16}, {0, 8}};
    ug_operand_init(op, buf, UG_FLOAT64, 2, (int64_t[]){S, N}, st[lay]);
}

static double lay_at(int lay, int s, int i) { return lay_value(lay == LAY_BROADCAST ? 0 : s, i); }

/* Cross product, cumulative sum and moving mean, each with its array input
 * stacked, transposed, strided and broadcast, against plain C loops over
 * the logical values (same operation order: bit-exact). */
START_TEST(gufuncs_every_layout)
{
    enum { S = 5, N = 9, W = 4 };
    ug_ufunc *cross = gu("def cross(a, b, c):\n"
                         "    c[0] = a[1] * b[2] - a[2] * b[1]\n"
                         "    c[1] = a[2] * b[0] - a[0] * b[2]\n"
                         "    c[2] = a[0] * b[1] - a[1] * b[0]\n",
                         "(3),(3)->(3)", "f8,f8->f8", 0);
    ug_ufunc *cumsum = gu("def cumsum(x, out):\n    s = 0.0\n    for i in range(len(x)):\n"
                          "        s += x[i]\n        out[i] = s\n",
                          "(n)->(n)", "void(float64[:], float64[:])", 0);
    ug_ufunc *mov = gu("def mov(x, w, out):\n    acc = 0.0\n    for i in range(len(x)):\n        acc += x[i]\n"
                       "        if i >= w:\n            acc -= x[i - w]\n        out[i] = acc / min(i + 1, w)\n",
                       "(n),()->(n)", "void(float64[:], int64, float64[:])", 0);
    double buf[2 * S * N], out[S * N], b3[3] = {0.5, -2.0, 3.0};
    int64_t w = W;
    for (int lay = 0; lay < NLAY; lay++) {
        ug_operand ops[3];
        /* cross: a (S, 3) in this layout, b (3,) broadcast */
        lay_operand(&ops[0], buf, lay, S, 3);
        ug_operand_init(&ops[1], b3, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
        ug_operand_init(&ops[2], out, UG_FLOAT64, 2, (int64_t[]){S, 3}, NULL);
        call_ok(cross, ops, 3);
        for (int s = 0; s < S; s++) {
            double a[3] = {lay_at(lay, s, 0), lay_at(lay, s, 1), lay_at(lay, s, 2)};
            double want[3] = {a[1] * b3[2] - a[2] * b3[1], a[2] * b3[0] - a[0] * b3[2], a[0] * b3[1] - a[1] * b3[0]};
            for (int i = 0; i < 3; i++)
                ck_assert_msg(out[s * 3 + i] == want[i], "cross %s [%d][%d]", lay_name[lay], s, i);
        }
        /* cumsum and moving mean: x (S, N) in this layout */
        lay_operand(&ops[0], buf, lay, S, N);
        ug_operand_init(&ops[1], out, UG_FLOAT64, 2, (int64_t[]){S, N}, NULL);
        call_ok(cumsum, ops, 2);
        for (int s = 0; s < S; s++) {
            double acc = 0;
            for (int i = 0; i < N; i++) {
                acc += lay_at(lay, s, i);
                ck_assert_msg(out[s * N + i] == acc, "cumsum %s [%d][%d]", lay_name[lay], s, i);
            }
        }
        ug_operand_init(&ops[1], &w, UG_INT64, 0, NULL, NULL);
        ug_operand_init(&ops[2], out, UG_FLOAT64, 2, (int64_t[]){S, N}, NULL);
        call_ok(mov, ops, 3);
        for (int s = 0; s < S; s++) {
            double acc = 0;
            for (int i = 0; i < N; i++) {
                acc += lay_at(lay, s, i);
                if (i >= W)
                    acc -= lay_at(lay, s, i - W);
                ck_assert_msg(out[s * N + i] == acc / (i + 1 < W ? i + 1 : W), "movmean %s [%d][%d]", lay_name[lay], s, i);
            }
        }
    }
    ug_ufunc_free(cross);
    ug_ufunc_free(cumsum);
    ug_ufunc_free(mov);
}
END_TEST

/* Flexible dimensions through ug_guvectorize: NumPy's matmul layout
 * (m?,n),(n,p?)->(m?,p?) with a vector on either side (the missing
 * dimension has size 1 in the kernel and is absent from the output). */
START_TEST(flexible_dims_matmul)
{
    ug_ufunc *f = gu(matmul_src, "(m?,n),(n,p?)->(m?,p?)", "void(float64[:,:], float64[:,:], float64[:,:])", 0);
    double A[2][3] = {{1, 2, 3}, {4, 5, 6}}, B[3][2] = {{1, -1}, {0.5, 2}, {-3, 0.25}}, v[3] = {2, -1, 0.5};
    double C[2][2], y[2], z[2];
    ug_operand ops[3];
    ug_operand_init(&ops[0], A, UG_FLOAT64, 2, (int64_t[]){2, 3}, NULL);
    ug_operand_init(&ops[1], B, UG_FLOAT64, 2, (int64_t[]){3, 2}, NULL);
    ug_operand_init(&ops[2], C, UG_FLOAT64, 2, (int64_t[]){2, 2}, NULL);
    call_ok(f, ops, 3); /* matrix @ matrix */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            ck_assert_double_eq(C[i][j], A[i][0] * B[0][j] + A[i][1] * B[1][j] + A[i][2] * B[2][j]);
    ug_operand_init(&ops[1], v, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    ug_operand_init(&ops[2], y, UG_FLOAT64, 1, (int64_t[]){2}, NULL);
    call_ok(f, ops, 3); /* matrix @ vector: p is missing */
    for (int i = 0; i < 2; i++)
        ck_assert_double_eq(y[i], A[i][0] * v[0] + A[i][1] * v[1] + A[i][2] * v[2]);
    ug_operand_init(&ops[0], v, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    ug_operand_init(&ops[1], B, UG_FLOAT64, 2, (int64_t[]){3, 2}, NULL);
    ug_operand_init(&ops[2], z, UG_FLOAT64, 1, (int64_t[]){2}, NULL);
    call_ok(f, ops, 3); /* vector @ matrix: m is missing */
    for (int j = 0; j < 2; j++)
        ck_assert_double_eq(z[j], v[0] * B[0][j] + v[1] * B[1][j] + v[2] * B[2][j]);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(two_outputs_mean_std)
{
    const char *src = "def mean_std(x, mean, std):\n"
                      "    n = x.shape[0]\n"
                      "    s = 0.0\n"
                      "    for i in range(n):\n"
                      "        s += x[i]\n"
                      "    m = s / n\n"
                      "    v = 0.0\n"
                      "    for i in range(n):\n"
                      "        v += (x[i] - m) ** 2\n"
                      "    mean[0] = m\n"
                      "    std[0] = sqrt(v / n)\n";
    ug_ufunc *f = gu(src, "(n)->(),()", "void(float32[:], float32[:], float64[:])", 0);
    ck_assert_int_eq(ug_ufunc_nout(f), 2);
    enum { R = 4, N = 9 };
    float x[N][R]; /* rows are columns of this array: core dim strided by R*4 */
    for (int i = 0; i < N; i++)
        for (int r = 0; r < R; r++)
            x[i][r] = (float)((i * 3 + r * 5) % 7) - 2.5f;
    float mean[R];
    double std[R];
    ug_operand ops[3];
    ug_operand_init(&ops[0], x, UG_FLOAT32, 2, (int64_t[]){R, N}, (int64_t[]){4, R * 4});
    ug_operand_init(&ops[1], mean, UG_FLOAT32, 1, (int64_t[]){R}, NULL);
    ug_operand_init(&ops[2], std, UG_FLOAT64, 1, (int64_t[]){R}, NULL);
    call_ok(f, ops, 3);
    for (int r = 0; r < R; r++) {
        float s = 0;
        for (int i = 0; i < N; i++)
            s += x[i][r];
        float m = s / N, v = 0;
        for (int i = 0; i < N; i++)
            v += (x[i][r] - m) * (x[i][r] - m);
        ck_assert_float_eq_tol(mean[r], m, 1e-6f);
        ck_assert_double_eq_tol(std[r], sqrt(v / N), 1e-5);
    }
    ug_ufunc_free(f);
}
END_TEST

START_TEST(core_dim_mismatch_and_zero_size)
{
    ug_ufunc *f = gu(dot_src, "(n),(n)->()", "dd->d", 0);
    double a[4] = {1, 2, 3, 4}, b[3] = {1, 1, 1}, out[1];
    ug_operand ops[3];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 1, (int64_t[]){4}, NULL);
    ug_operand_init(&ops[1], b, UG_FLOAT64, 1, (int64_t[]){3}, NULL);
    ug_operand_init(&ops[2], out, UG_FLOAT64, 0, NULL, NULL);
    ug_error err;
    ck_assert_int_eq(ug_call(f, ops, 3, &err), UG_ESHAPE);
    ck_assert_msg(strstr(err.msg, "'n'") && strstr(err.msg, "4") && strstr(err.msg, "3"), "%s", err.msg);
    /* too few dimensions for the core */
    ug_operand_init(&ops[0], a, UG_FLOAT64, 0, NULL, NULL);
    ck_assert_int_eq(ug_call(f, ops, 3, &err), UG_ESHAPE);
    /* zero-size core dimension: the sum of nothing is 0 */
    ug_operand_init(&ops[0], a, UG_FLOAT64, 1, (int64_t[]){0}, NULL);
    ug_operand_init(&ops[1], b, UG_FLOAT64, 1, (int64_t[]){0}, NULL);
    out[0] = 42;
    call_ok(f, ops, 3);
    ck_assert_double_eq(out[0], 0.0);
    /* zero-size loop dimension: nothing is written */
    ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){0, 2}, NULL);
    ug_operand_init(&ops[1], b, UG_FLOAT64, 1, (int64_t[]){2}, NULL);
    ug_operand_init(&ops[2], out, UG_FLOAT64, 1, (int64_t[]){0}, NULL);
    out[0] = 42;
    call_ok(f, ops, 3);
    ck_assert_double_eq(out[0], 42.0);
    ug_ufunc_free(f);
}
END_TEST

START_TEST(layout_and_kernel_errors)
{
    const char *sigs[] = {"dd->d"};
    ug_ufunc *f = (ug_ufunc *)1;
    ck_assert_int_eq(ug_guvectorize(ctx, dot_src, "(n),(n->()", sigs, 1, NULL, &f), UG_ELAYOUT);
    ck_assert_ptr_null(f);
    ck_assert_msg(ug_errcolumn(ctx) > 0 && strchr(ug_errmsg(ctx), '^'), "%s", ug_errmsg(ctx));
    /* kernel has 3 parameters, layout 2 operands */
    ck_assert_int_eq(ug_guvectorize(ctx, dot_src, "(n)->()", sigs, 1, NULL, &f), UG_ETYPE);
    ck_assert_int_eq(ug_errline(ctx), 1);
    /* a signature with the wrong count for the layout */
    const char *sig2[] = {"void(float64[:], float64[:])"};
    ck_assert_int_eq(ug_guvectorize(ctx, dot_src, "(n),(n)->()", sig2, 1, NULL, &f), UG_ESIGNATURE);
    /* array dims that contradict the layout */
    const char *sig3[] = {"void(float64[:,:], float64[:], float64[:])"};
    ck_assert_int_eq(ug_guvectorize(ctx, dot_src, "(n),(n)->()", sig3, 1, NULL, &f), UG_ESIGNATURE);
    /* a type error inside the kernel has a line and column */
    const char *bad = "def k(a, out):\n    out[0] = a + 1.0\n";
    ck_assert_int_eq(ug_guvectorize(ctx, bad, "(n)->()", NULL, 0, NULL, &f), UG_OK); /* lazy: nothing compiled yet */
    ug_ufunc_free(f);
    f = NULL;
    const char *sig4[] = {"d->d"};
    ck_assert_int_eq(ug_guvectorize(ctx, bad, "(n)->()", sig4, 1, NULL, &f), UG_ETYPE);
    ck_assert_int_eq(ug_errline(ctx), 2);
    ck_assert_msg(strstr(ug_errmsg(ctx), "array(float64, 1d)"), "%s", ug_errmsg(ctx));
}
END_TEST

START_TEST(boundscheck_names_kernel_argument_index)
{
    const char *src = "def shift(a, out):\n"
                      "    for i in range(len(a)):\n"
                      "        out[i] = a[i + 1]\n";
    ug_ufunc *f = gu(src, "(n)->(n)", "d->d", 1);
    double a[4] = {1, 2, 3, 4}, out[4];
    ug_operand ops[2];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 1, (int64_t[]){4}, NULL);
    ug_operand_init(&ops[1], out, UG_FLOAT64, 1, (int64_t[]){4}, NULL);
    ug_error err;
    ck_assert_int_eq(ug_call(f, ops, 2, &err), UG_EINDEX);
    ck_assert_msg(strstr(err.msg, "shift") && strstr(err.msg, "'a'") && strstr(err.msg, "4"), "%s", err.msg);
    /* the record is consumed: a good call afterwards succeeds */
    ug_operand_init(&ops[0], a, UG_FLOAT64, 1, (int64_t[]){0}, NULL);
    ug_operand_init(&ops[1], out, UG_FLOAT64, 1, (int64_t[]){0}, NULL);
    call_ok(f, ops, 2);
    ug_ufunc_free(f);
    /* negative indices wrap once, as in Python */
    const char *src2 = "def last(a, out):\n    out[0] = a[-1] + a[-len(a)]\n";
    f = gu(src2, "(n)->()", "d->d", 1);
    double r;
    ug_operand_init(&ops[0], a, UG_FLOAT64, 1, (int64_t[]){4}, NULL);
    ug_operand_init(&ops[1], &r, UG_FLOAT64, 0, NULL, NULL);
    call_ok(f, ops, 2);
    ck_assert_double_eq(r, 5.0);
    ug_ufunc_free(f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gufunc");
    TCase *tc = tcase_create("gufunc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, dot_stacked_broadcast_strided);
    tcase_add_test(tc, matmul_stack_transposed);
    tcase_add_loop_test(tc, matmul_core_shape_variants, 0, 2);
    tcase_add_test(tc, variant_boundscheck);
    tcase_add_test(tc, variant_in_place);
    tcase_add_test(tc, cross_frozen);
    tcase_add_test(tc, cumsum_reversed);
    tcase_add_test(tc, moving_mean_scalar_window);
    tcase_add_test(tc, gufuncs_every_layout);
    tcase_add_test(tc, flexible_dims_matmul);
    tcase_add_test(tc, two_outputs_mean_std);
    tcase_add_test(tc, core_dim_mismatch_and_zero_size);
    tcase_add_test(tc, layout_and_kernel_errors);
    tcase_add_test(tc, boundscheck_names_kernel_argument_index);
    tcase_add_test(tc, scalar_input_typed_as_array);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
