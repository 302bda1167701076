/* test_loops_source.c — white-box suite of loops/: the kernel/ front end and
 * loops/ together: kernels from source text (helpers, control flow, Numba's
 * `**`, casts, constants, array expressions, gufuncs with strides and
 * variants, boundscheck) compiled and compared with C references.
 */
#include <complex.h>
#include "tests/c/loops_support.h"

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

/* bool operands by value: bitwise and comparisons stay bool, + and * too
 * (np.add is logical or, np.multiply logical and); - counts as integers. */
START_TEST(source_bool_operators)
{
    static const struct { const char *expr; ug_dtype out; int64_t want[4]; } cs[] = {
        {"a & b | a ^ b", UG_BOOL, {0, 1, 1, 1}}, {"a < b", UG_BOOL, {0, 1, 0, 0}}, {"a == b", UG_BOOL, {1, 0, 0, 1}},
        {"a >= b", UG_BOOL, {1, 0, 1, 1}}, {"~a", UG_BOOL, {1, 1, 0, 0}}, {"not a", UG_BOOL, {1, 1, 0, 0}},
        {"a and not b", UG_BOOL, {0, 0, 1, 0}}, {"a + b", UG_BOOL, {0, 1, 1, 1}}, {"a * b - b", UG_INT64, {0, -1, 0, 0}},
        {"a * b", UG_BOOL, {0, 0, 0, 1}}, {"a + b + True", UG_BOOL, {1, 1, 1, 1}}, {"a + 1", UG_INT64, {1, 1, 2, 2}},
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

/* Build src at opt_level 2 (the product's default); returns the optimised
 * IR that UFUNCGEN_DUMP=ir printed, the loop in *fn. */
static const char *optimised_ir_nin(const char *src, const char *layout, int nin, const ug_dtype *dts,
                                    const int *nd, ug_loop_fn *fn)
{
    dump_begin("ir");
    build_opt_level = 2; /* opt_level 3 keeps default<O3> whole */
    *fn = build_src(src, layout, nin, 1, dts, nd, 0);
    build_opt_level = 3;
    const char *opt = strstr(dump_end(), "optimised");
    ck_assert_msg(opt, "no optimised IR in the dump");
    return opt;
}

static const char *optimised_ir_of(const char *src, const char *layout, const ug_dtype *dts, const int *nd,
                                   ug_loop_fn *fn)
{
    return optimised_ir_nin(src, layout, 1, dts, nd, fn);
}

/* Gufunc loops at O2 are not runtime-unrolled (compile.c): a serial float
 * sum of squares (strict order: not vectorised) keeps one loop, no unrolled
 * copy with its remainder, and gives the sequential sum for every length
 * across the old unroll factors. */
START_TEST(source_gufunc_no_runtime_unroll)
{
    static const char src[] = "def k(a, out):\n    s = 0.0\n    for i in range(a.shape[0]):\n"
                              "        s += a[i] * a[i]\n    out[0] = s\n";
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    int nd[2] = {1, 0};
    ug_loop_fn fn;
    const char *opt = optimised_ir_of(src, "(n)->()", dts, nd, &fn);
    ck_assert_msg(strstr(opt, "llvm.loop.unroll.runtime.disable"), "gufunc loops not marked");
    ck_assert_msg(!strstr(opt, ".epil") && !strstr(opt, ".prol") && !strstr(opt, "unroll_iter"),
                  "a gufunc loop was runtime-unrolled");
    enum { N = 40 };
    double a[N], out;
    for (int i = 0; i < N; i++)
        a[i] = 1.0 / (i + 3) - (i % 3) * 1e-17 * i;
    for (int n = 0; n < N; n++) {
        double want = 0;
        for (int i = 0; i < n; i++)
            want += a[i] * a[i];
        char *args[2] = {(char *)a, (char *)&out};
        intptr_t dims[2] = {1, n}, steps[3] = {0, 0, 8};
        fn(args, dims, steps, NULL);
        ck_assert_msg(out == want, "n=%d: %.17g want %.17g", n, out, want);
    }
}
END_TEST

/* A small scalar gufunc loop without floating-point arithmetic (numbagg's
 * nancount: compare, widen, add) is runtime-unrolled twice after all (compile.c:
 * unmark_small_scalar_loops): three scalar NaN tests in the optimised IR;
 * counts right for every length across the unroll factor, on a unit and a
 * doubled stride. */
START_TEST(source_gufunc_small_loop_unrolled)
{
    static const char src[] = "def k(a, out):\n    c = 0\n    for x in a:\n        if not np.isnan(x):\n"
                              "            c += 1\n    out[0] = c\n";
    ug_dtype dts[2] = {UG_FLOAT32, UG_INT64};
    int nd[2] = {1, 0};
    ug_loop_fn fn;
    const char *opt = optimised_ir_of(src, "(n)->()", dts, nd, &fn);
    int tests = 0;
    for (const char *p = opt; (p = strstr(p, "fcmp ord float ")); p++)
        tests++;
    /* twice (compile.c SMALL_LOOP_UNROLL): two in the body, one in the remainder */
    ck_assert_msg(tests >= 3 && tests < 5, "the scalar counting loop was not unrolled twice (%d scalar NaN tests)", tests);
    enum { N = 40 };
    float a[2 * N];
    for (int i = 0; i < 2 * N; i++)
        a[i] = i % 5 == 2 || i % 7 == 3 ? NAN : (float)i;
    for (int step = 4; step <= 8; step += 4)
        for (int n = 0; n <= N; n++) {
            int64_t out = -1, want = 0;
            for (int i = 0; i < n; i++)
                want += !isnan(a[i * step / 4]);
            char *args[2] = {(char *)a, (char *)&out};
            intptr_t dims[2] = {1, n}, steps[3] = {0, 0, step};
            fn(args, dims, steps, NULL);
            ck_assert_msg(out == want, "n=%d step %d: %lld want %lld", n, step, (long long)out, (long long)want);
        }
}
END_TEST

/* The same for a backward fill over a reversed range (numbagg's bfill):
 * its loop carries an llvm.assume of the index range, which does not count
 * as a call; several scalar NaN tests after unrolling, and the fill right
 * for every length. */
START_TEST(source_gufunc_backward_fill_unrolled)
{
    static const char src[] = "def k(a, out):\n    cur = np.nan\n    for i in range(a.shape[0] - 1, -1, -1):\n"
                              "        v = a[i]\n        if not np.isnan(v):\n            cur = v\n        out[i] = cur\n";
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    int nd[2] = {1, 1};
    ug_loop_fn fn;
    const char *opt = optimised_ir_of(src, "(n)->(n)", dts, nd, &fn);
    int tests = 0;
    for (const char *p = opt; (p = strstr(p, " double %")); p++)
        tests += !strncmp(p - 8, "fcmp uno", 8) || !strncmp(p - 8, "fcmp ord", 8);
    ck_assert_msg(tests >= 3 && tests < 5, "the backward fill was not unrolled twice (%d scalar NaN tests)", tests);
    enum { N = 37 };
    double a[N], out[N];
    for (int i = 0; i < N; i++)
        a[i] = i % 3 == 1 || i % 8 == 5 ? NAN : i * 0.5;
    for (int n = 0; n <= N; n++) {
        char *args[2] = {(char *)a, (char *)out};
        intptr_t dims[2] = {1, n}, steps[4] = {0, 0, 8, 8};
        fn(args, dims, steps, NULL);
        double cur = NAN;
        for (int i = n - 1; i >= 0; i--) {
            if (!isnan(a[i]))
                cur = a[i];
            ck_assert_msg(out[i] == cur || (isnan(out[i]) && isnan(cur)), "n=%d out[%d] = %g want %g", n, i, out[i], cur);
        }
    }
}
END_TEST

/* Local arrays come from rt_alloc, declared malloc-like (noalias return):
 * a loop over two local arrays and an argument vectorises with no run-time
 * overlap check (fewer loop versions to compile), and computes as written. */
START_TEST(source_local_arrays_need_no_overlap_checks)
{
    static const char src[] = "def k(a, out):\n    n = a.shape[0]\n    x = np.zeros(n)\n    y = np.ones(n)\n"
                              "    for i in range(n):\n        x[i] += a[i]\n        y[i] = y[i] * a[i] - x[i]\n"
                              "    for i in range(n):\n        out[i] = x[i] + 3.0 * y[i]\n";
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    int nd[2] = {1, 1};
    ug_loop_fn fn;
    const char *opt = optimised_ir_of(src, "(n)->(n)", dts, nd, &fn);
    ck_assert_msg(strstr(opt, "x double>"), "the loops over local arrays did not vectorise");
    ck_assert_msg(!strstr(opt, "vector.memcheck"), "run-time overlap checks between local arrays and arguments");
    enum { N = 67 };
    double a[N], out[N];
    for (int i = 0; i < N; i++)
        a[i] = i * 0.75 - 20;
    char *args[2] = {(char *)a, (char *)out};
    intptr_t dims[2] = {1, N}, steps[4] = {0, 0, 8, 8};
    fn(args, dims, steps, NULL);
    for (int i = 0; i < N; i++) {
        double x = a[i], y = 1.0 * a[i] - x;
        ck_assert_msg(out[i] == x + 3.0 * y, "out[%d] = %g want %g", i, out[i], x + 3.0 * y);
    }
}
END_TEST

/* Plain fills and copies in a loop over run-time core strides are runtime
 * calls (arrays.c by_runtime): no loop over byte strides, which LLVM had
 * vectorised with scatters for a one-byte stride; results for a contiguous
 * and a strided output, the copy overlapping its source. */
START_TEST(source_fills_and_copies_by_runtime)
{
    static const char src[] = "def k(a, out):\n    n = len(a)\n    t = np.full(n, 1.5)\n    out[:] = 2.5\n"
                              "    t[1:] = a[:-1]\n    out[::2] = t[::2]\n    out[1:] = out[:-1]\n";
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    int nd[2] = {1, 1};
    ug_loop_fn fn;
    const char *opt = optimised_ir_of(src, "(n)->(n)", dts, nd, &fn);
    ck_assert_msg(strstr(opt, "@rt_fill(") && strstr(opt, "@rt_copy("), "fills and copies are not runtime calls");
    ck_assert_msg(!strstr(opt, "masked.scatter"), "a loop vectorised for a one-byte stride");
    enum { N = 21 };
    double a[N], out[2 * N], want[N];
    for (int i = 0; i < N; i++)
        a[i] = i * 0.5 - 3;
    for (int i = 0; i < N; i++) { /* the kernel by hand */
        double t = i == 0 ? 1.5 : a[i - 1], o = i % 2 == 0 ? t : 2.5;
        want[i] = o;
    }
    for (int i = N - 1; i > 0; i--)
        want[i] = want[i - 1];
    for (int stride = 8; stride <= 16; stride += 8) {
        for (int i = 0; i < 2 * N; i++)
            out[i] = -7.0;
        char *args[2] = {(char *)a, (char *)out};
        intptr_t dims[2] = {1, N}, steps[4] = {0, 0, 8, stride};
        fn(args, dims, steps, NULL);
        for (int i = 0; i < N; i++)
            ck_assert_msg(out[i * stride / 8] == want[i], "stride %d: out[%d] = %g want %g", stride, i,
                          out[i * stride / 8], want[i]);
        if (stride == 16)
            for (int i = 0; i < N; i++)
                ck_assert_msg(out[2 * i + 1] == -7.0, "an element between the strided ones was written");
    }
}
END_TEST

/* A step variant (core steps constant, core sizes read at run time;
 * variant.c makes one for large calls): a NaN count over a contiguous core
 * loads vectors where the generic loop gathers, and counts right for every
 * core size, empty cores included. A running kernel in the same kind of
 * variant checks its outputs against its inputs with the run-time sizes
 * (overlapping calls take the plain loop): right in place, shifted both
 * ways and apart, for two core sizes. */
START_TEST(source_gufunc_step_variant)
{
    ug_dtype dts[2] = {UG_FLOAT64, UG_INT64};
    int nd[2] = {1, 0};
    static const int64_t csteps[1] = {8};
    static const char count_src[] = "def k(a, out):\n    c = 0\n    for x in a:\n        if not np.isnan(x):\n"
                                    "            c += 1\n    out[0] = c\n";
    ug_loop_fn fn;
    const char *opt = optimised_ir_of(count_src, "(n)->()", dts, nd, &fn);
    ck_assert_msg(strstr(opt, "masked.gather"), "the generic loop no longer gathers: this test's premise changed");
    variant_steps = csteps;
    opt = optimised_ir_of(count_src, "(n)->()", dts, nd, &fn);
    variant_steps = NULL;
    ck_assert_msg(!strstr(opt, "masked.gather") && strstr(opt, "load <"), "the step variant does not load vectors");
    enum { S = 3, N = 45 };
    double a[S * N];
    for (int i = 0; i < S * N; i++)
        a[i] = i % 5 == 2 || i % 11 == 0 ? NAN : i * 0.5;
    for (int n = 0; n <= N; n++) {
        int64_t out[S] = {-1, -1, -1};
        char *args[2] = {(char *)a, (char *)out};
        intptr_t dims[2] = {S, n}, steps[3] = {n * 8, 8, 8};
        fn(args, dims, steps, NULL);
        for (int r = 0; r < S; r++) {
            int64_t want = 0;
            for (int i = 0; i < n; i++)
                want += !isnan(a[r * n + i]);
            ck_assert_msg(out[r] == want, "n %d row %d: %lld want %lld", n, r, (long long)out[r], (long long)want);
        }
    }
    ug_dtype dd[2] = {UG_FLOAT64, UG_FLOAT64};
    int nd2[2] = {1, 1};
    static const int64_t rsteps[2] = {8, 8};
    variant_steps = rsteps;
    fn = build_src("def k(a, out):\n    for i in range(len(a)):\n        out[i] = a[0] + a[i]\n", "(n)->(n)", 1, 1, dd,
                   nd2, 0);
    variant_steps = NULL;
    enum { R = 200, LEN = R * 8 + 16 };
    double *mem = malloc(sizeof *mem * (LEN + R * 8)), *ref = malloc(sizeof *ref * (LEN + R * 8));
    for (int m = 4; m <= 7; m += 3) {
        const int offs[][2] = {{0, 0}, {0, m}, {m, 0}, {0, 2}, {0, R * m + m}};
        for (size_t c = 0; c < sizeof offs / sizeof offs[0]; c++) {
            for (int i = 0; i < LEN + R * 8; i++)
                mem[i] = ref[i] = (double)(i % 97) - 40.0;
            int ia = offs[c][0], io = offs[c][1];
            for (int st = 0; st < R; st++) /* the serial order */
                for (int i = 0; i < m; i++)
                    ref[io + st * m + i] = ref[ia + st * m] + ref[ia + st * m + i];
            char *args[2] = {(char *)(mem + ia), (char *)(mem + io)};
            intptr_t dims[2] = {R, m}, steps[4] = {m * 8, m * 8, 8, 8};
            fn(args, dims, steps, NULL);
            for (int i = 0; i < LEN + R * 8; i++)
                ck_assert_msg(mem[i] == ref[i], "n %d offsets %d,%d: element %d is %g, want %g", m, ia, io, i, mem[i],
                              ref[i]);
        }
    }
    free(mem);
    free(ref);
}
END_TEST

/* An expression stored into an argument's line (run-time stride, 8-byte
 * elements) is a plain loop: no vector body for a one-byte stride
 * (arrays.c store_loop_id); the values for unit and wider strides. */
START_TEST(source_expression_store_not_vectorised_for_byte_stride)
{
    static const char src[] = "def k(a, out):\n    out[:] = a * 2.0 + 1.0\n    out[1:] += a[:-1]\n";
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    int nd[2] = {1, 1};
    ug_loop_fn fn;
    const char *opt = optimised_ir_of(src, "(n)->(n)", dts, nd, &fn);
    ck_assert_msg(!strstr(opt, "masked.scatter") && !strstr(opt, "masked.gather"), "a loop vectorised for a one-byte stride");
    enum { N = 19 };
    double a[N], out[3 * N];
    for (int i = 0; i < N; i++)
        a[i] = i * 0.25 - 2;
    for (int stride = 8; stride <= 24; stride += 16) {
        char *args[2] = {(char *)a, (char *)out};
        intptr_t dims[2] = {1, N}, steps[4] = {0, 0, 8, stride};
        fn(args, dims, steps, NULL);
        for (int i = 0; i < N; i++) {
            double want = a[i] * 2.0 + 1.0 + (i ? a[i - 1] : 0.0);
            ck_assert_msg(out[i * stride / 8] == want, "stride %d: out[%d] = %g want %g", stride, i, out[i * stride / 8], want);
        }
    }
}
END_TEST

/* An `if not isnan(x):` that updates what the loop body changed before it
 * (`s *= 0.5`) carries weights saying a NaN is rare (lower.c), so the
 * guarded update stays a branch, except on AMD's Zen cores (no weights:
 * LLVM chooses); results as the kernel says for NaN at every position. */
START_TEST(source_nan_test_weighted)
{
    static const char src[] = "def k(a, out):\n    s = 0.0\n    for i in range(a.shape[0]):\n"
                              "        x = a[i]\n        s *= 0.5\n        if not np.isnan(x):\n"
                              "            s += x\n        out[i] = s\n";
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    int nd[2] = {1, 1};
    ug_loop_fn fn;
    const char *opt = optimised_ir_of(src, "(n)->(n)", dts, nd, &fn);
    bool zen = !strncmp(loops_host_cpu(), "znver", 5);
    ck_assert_msg(!strstr(opt, "branch_weights") == zen, "host %s: the NaN test %s branch weights", loops_host_cpu(),
                  zen ? "carries" : "carries no");
    enum { N = 23 };
    double a[N], out[N];
    for (int i = 0; i < N; i++)
        a[i] = i % 4 == 1 ? NAN : i - 7.5;
    char *args[2] = {(char *)a, (char *)out};
    intptr_t dims[2] = {1, N}, steps[4] = {0, 0, 8, 8};
    fn(args, dims, steps, NULL);
    double s = 0.0;
    for (int i = 0; i < N; i++) {
        s *= 0.5;
        if (!isnan(a[i]))
            s += a[i];
        ck_assert_msg(out[i] == s, "out[%d] = %g want %g", i, out[i], s);
    }
}
END_TEST

/* A NaN test that extends no chain (nothing before it in the loop body
 * assigns what it updates: numbagg's nansum) gets no branch weights, so LLVM
 * folds the guarded add into a select as in Numba's code; sums right with
 * NaN at every fourth place. */
START_TEST(source_nan_test_unweighted)
{
    static const char src[] = "def k(a, out):\n    s = 0.0\n    for x in a:\n        if not np.isnan(x):\n"
                              "            s += x\n    out[0] = s\n";
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    int nd[2] = {1, 0};
    ug_loop_fn fn;
    const char *opt = optimised_ir_of(src, "(n)->()", dts, nd, &fn);
    ck_assert_msg(!strstr(opt, "branch_weights"), "a NaN test guarding a plain sum carries branch weights");
    ck_assert_msg(strstr(opt, "select"), "the guarded add is not a select");
    enum { N = 23 };
    double a[N], out = -1, s = 0.0;
    for (int i = 0; i < N; i++) {
        a[i] = i % 4 == 1 ? NAN : i - 7.5;
        s += isnan(a[i]) ? 0.0 : a[i];
    }
    char *args[2] = {(char *)a, (char *)&out};
    intptr_t dims[2] = {1, N}, steps[3] = {0, 0, 8};
    fn(args, dims, steps, NULL);
    ck_assert_msg(out == s, "sum %g want %g", out, s);
}
END_TEST

/* np.linalg.norm's singular-value norms from C: [[3, 0], [4, 5]] has the
 * singular values 3 sqrt(5) and sqrt(5) (A^T A = [[25, 20], [20, 25]]);
 * its transpose, a row-major 2 x 3 padding with zeros, the same. */
START_TEST(source_singular_value_norms)
{
    static const char src[] = "def k(a, out):\n    out[0] = np.linalg.norm(a, 2)\n    out[1] = np.linalg.norm(a, -2)\n"
                              "    out[2] = np.linalg.norm(a, 'nuc')\n";
    ug_dtype dts[2] = {UG_FLOAT64, UG_FLOAT64};
    int nd[2] = {2, 1};
    ug_loop_fn fn = build_src(src, "(n,m)->(k)", 1, 1, dts, nd, 0);
    static const double mats[][6] = {{3, 0, 4, 5}, {3, 4, 0, 5}, {3, 4, 0, 0, 5, 0}};
    static const intptr_t shapes[][2] = {{2, 2}, {2, 2}, {2, 3}};
    double want[3] = {3 * sqrt(5.0), sqrt(5.0), 4 * sqrt(5.0)};
    for (int t = 0; t < 3; t++) {
        double out[3] = {0};
        char *args[2] = {(char *)mats[t], (char *)out};
        intptr_t dims[4] = {1, shapes[t][0], shapes[t][1], 3};
        intptr_t steps[5] = {0, 0, shapes[t][1] * 8, 8, 8};
        fn(args, dims, steps, NULL);
        for (int k = 0; k < 3; k++)
            ck_assert_msg(fabs(out[k] - want[k]) <= 4e-16 * want[k], "matrix %d norm %d: %.17g want %.17g", t, k,
                          out[k], want[k]);
    }
}
END_TEST

/* The guard of `w = w * (1 - b[i]) + b[i]` computed only where a[i] is not
 * NaN (if-converted) goes on the loaded b[i], not on the running product:
 * a blend on the recurrence would lengthen the loop's critical path
 * (numbagg's move_exp_nansum). Both operands' addresses come from the
 * induction variable; that does not make a loaded value carried. */
START_TEST(source_guard_off_recurrence)
{
    static const char src[] = "def k(a, b, out):\n    w = v = 0.0\n    z = True\n    for i in range(len(a)):\n"
                              "        ai = a[i]\n        bi = b[i]\n        w *= 1.0 - bi\n        v *= 1.0 - bi\n"
                              "        if not np.isnan(ai):\n            z = False\n            w += bi\n"
                              "            v += ai\n        if w >= 0.5 and not z:\n            out[i] = v\n"
                              "        else:\n            out[i] = np.nan\n";
    ug_dtype dts[3] = {UG_FLOAT32, UG_FLOAT32, UG_FLOAT32};
    int nd[3] = {1, 1, 1};
    ug_loop_fn fn;
    const char *opt = optimised_ir_nin(src, "(n),(n)->(n)", 2, dts, nd, &fn);
    static const char sel[] = "%ug.guard = select i1 %ug.guard.c, double %";
    const char *g = strstr(opt, sel);
    ck_assert_msg(g, "no guard on the if-converted add");
    char name[64] = "%", def[80];
    sscanf(g + strlen(sel), "%62[A-Za-z0-9_.]", name + 1);
    snprintf(def, sizeof def, "%s = fpext float %%ld", name); /* the widened b[i] */
    ck_assert_msg(strstr(opt, def), "the guard is on %s, not on the loaded b[i]", name);
    enum { N = 29 };
    float a[N], b[N], out[N];
    for (int i = 0; i < N; i++) {
        a[i] = i % 3 == 1 ? NAN : (float)i;
        b[i] = 0.25f + (float)i * 0.0078125f;
    }
    char *args[3] = {(char *)a, (char *)b, (char *)out};
    intptr_t dims[2] = {1, N}, steps[6] = {0, 0, 0, 4, 4, 4};
    fn(args, dims, steps, NULL);
    double w = 0.0, v = 0.0;
    bool z = true;
    for (int i = 0; i < N; i++) {
        float d = 1.0f - b[i]; /* float32: the literal is weak */
        w *= d;
        v *= d;
        if (!isnan(a[i])) {
            z = false;
            w += b[i];
            v += a[i];
        }
        float want = w >= 0.5 && !z ? (float)v : NAN;
        ck_assert_msg(memcmp(&out[i], &want, 4) == 0, "out[%d] = %.9g want %.9g", i, out[i], want);
    }
}
END_TEST

/* Whether this process keeps FP status flags (valgrind does not: then a
 * test skips its flag check); leaves them all clear. */
static bool fp_flags_kept(void)
{
    feclearexcept(FE_ALL_EXCEPT);
    volatile double big = 1e300, r = big * big;
    (void)r;
    bool kept = fetestexcept(FE_OVERFLOW) != 0;
    feclearexcept(FE_ALL_EXCEPT);
    return kept;
}

/* A division speculated under an integer compare, `s / c if c >= m else
 * np.nan` (numbagg's move_mean), is guarded with an integer compare of its
 * own: the select's compare keeps one use, so code generation may branch
 * around the division (LLVM does for an expensive arm; Numba's loop
 * branches there) rather than divide on every element and blend twice. No
 * division by zero is raised where c == 0, and values are the plain loop's. */
START_TEST(source_guard_int_compare_of_its_own)
{
    static const char src[] = "def k(a, m, out):\n    s = 0.0\n    c = 0\n    for i in range(len(a)):\n"
                              "        if not np.isnan(a[i]):\n            s += a[i]\n            c += 1\n"
                              "        out[i] = s / c if c >= m else np.nan\n";
    ug_dtype dts[3] = {UG_FLOAT64, UG_INT64, UG_FLOAT64};
    int nd[3] = {1, 0, 1};
    ug_loop_fn fn;
    const char *opt = optimised_ir_nin(src, "(n),()->(n)", 2, dts, nd, &fn);
    const char *g = strstr(opt, "%ug.guard.c = icmp ");
    ck_assert_msg(g, "the division's guard has no integer compare of its own:\n%s", opt);
    ck_assert_msg(!strstr(opt, "ug.guard.not"), "the guard negates the select's own compare");
    enum { N = 41 };
    double a[N], out[N];
    for (int i = 0; i < N; i++)
        a[i] = i % 4 == 0 ? NAN : (double)(i - 11) * 0.625; /* a[0] NaN: c == 0 there, 0 / 0 unless guarded */
    for (int64_t m = 1; m <= 4; m += 3) { /* m = 4: c < m on the first elements */
        char *args[3] = {(char *)a, (char *)&m, (char *)out};
        intptr_t dims[2] = {1, N}, steps[5] = {0, 0, 0, 8, 8};
        bool flags = fp_flags_kept();
        fn(args, dims, steps, NULL);
        ck_assert_msg(!flags || !fetestexcept(FE_DIVBYZERO | FE_INVALID), "a flag raised where c < m");
        double s = 0.0;
        int64_t c = 0;
        for (int i = 0; i < N; i++) {
            if (!isnan(a[i])) {
                s += a[i];
                c++;
            }
            double want = c >= m ? s / (double)c : NAN;
            ck_assert_msg(memcmp(&out[i], &want, 8) == 0, "m %ld out[%d] = %.17g want %.17g", (long)m, i, out[i], want);
        }
    }
}
END_TEST

/* A float64 running sum stored into float32 as `s if c >= m else np.nan`:
 * guard.c narrows after the select (select in float64, one narrowing),
 * so the narrowing needs no guard; a sum beyond float32's range in the
 * NaN lanes still raises no overflow, and every value is the plain loop's. */
START_TEST(source_narrow_after_select)
{
    static const char src[] = "def k(a, m, out):\n    s = 0.0\n    c = 0\n    for i in range(len(a)):\n"
                              "        if not np.isnan(a[i]):\n            s += a[i]\n            c += 1\n"
                              "        out[i] = s if c >= m else np.nan\n";
    ug_dtype dts[3] = {UG_FLOAT32, UG_INT64, UG_FLOAT32};
    int nd[3] = {1, 0, 1};
    ug_loop_fn fn;
    const char *opt = optimised_ir_nin(src, "(n),()->(n)", 2, dts, nd, &fn);
    ck_assert_msg(strstr(opt, "ug.narrow"), "the narrowing was not moved after the select");
    ck_assert_msg(!strstr(opt, "ug.guard"), "the narrowing is still guarded");
    enum { N = 37 };
    float a[N], out[N];
    for (int i = 0; i < N; i++)
        a[i] = i % 5 == 2 ? NAN : i < 4 ? 3e38f : i < 7 ? -3e38f : (float)(i - 17) * 0.375f;
    int64_t m = 9; /* the sums up to 9e38 (past FLT_MAX) land in NaN lanes, then fall back to 0 */
    char *args[3] = {(char *)a, (char *)&m, (char *)out};
    intptr_t dims[2] = {1, N}, steps[5] = {0, 0, 0, 4, 4};
    bool flags = fp_flags_kept();
    fn(args, dims, steps, NULL);
    ck_assert_msg(!flags || !fetestexcept(FE_OVERFLOW), "overflow raised in lanes the source does not narrow");
    double s = 0.0;
    int64_t c = 0;
    for (int i = 0; i < N; i++) {
        if (!isnan(a[i])) {
            s += a[i];
            c++;
        }
        float want = c >= m ? (float)s : NAN;
        ck_assert_msg(memcmp(&out[i], &want, 4) == 0, "out[%d] = %.9g want %.9g", i, out[i], want);
    }
}
END_TEST

/* Complex reductions from C: np.sum / np.mean / np.var of a complex128 core
 * inside a kernel. Under 8 values NumPy's pairwise sum is the plain loop, so
 * the results are exact against it; longer rows (pairwise blocks of 4 complex
 * values) agree within a few ulp of the sequential sum. */
START_TEST(source_complex_reductions)
{
    static const char src[] = "def k(a, out):\n    out[0] = np.sum(a) + 2.0 * np.mean(a) + np.var(a)\n";
    ug_dtype dts[2] = {UG_COMPLEX128, UG_COMPLEX128};
    int nd[2] = {1, 0};
    ug_loop_fn fn = build_src(src, "(n)->()", 1, 1, dts, nd, 0);
    static const int lens[] = {1, 2, 5, 7, 64, 1000};
    for (size_t t = 0; t < sizeof lens / sizeof *lens; t++) {
        int n = lens[t];
        double _Complex a[1000], out = 0, sum = 0;
        for (int i = 0; i < n; i++) {
            a[i] = (i % 7 - 3.25) + (i % 5 - 1.5) * 1.0i;
            sum += a[i];
        }
        double _Complex mean = sum / n;
        double ss = 0;
        for (int i = 0; i < n; i++) {
            double _Complex d = a[i] - mean;
            ss += creal(d) * creal(d) + cimag(d) * cimag(d);
        }
        double _Complex want = sum + 2.0 * mean + ss / n;
        char *args[2] = {(char *)a, (char *)&out};
        intptr_t dims[2] = {1, n}, steps[3] = {0, 0, 16};
        fn(args, dims, steps, NULL);
        double tol = n < 8 ? 0 : 1e-12 * (1 + cabs(want));
        ck_assert_msg(fabs(creal(out) - creal(want)) <= tol && fabs(cimag(out) - cimag(want)) <= tol,
                      "n=%d: %.17g%+.17gj want %.17g%+.17gj", n, creal(out), cimag(out), creal(want), cimag(want));
    }
}
END_TEST

/* argmax / argmin / nanargmax of complex128 inside a kernel, NumPy's rules by
 * hand (arraytypes.c.src's CDOUBLE_argmax / argmin, _replace_nan):
 * lexicographic order, the first of equal values, the first value with a
 * NaN part ends the search, nanargmax counts a NaN as -inf+0j. */
START_TEST(source_complex_argmax_nan)
{
    static const char *const srcs[] = {"def k(a, out):\n    out[0] = np.argmax(a)\n",
                                       "def k(a, out):\n    out[0] = np.argmin(a)\n",
                                       "def k(a, out):\n    out[0] = np.nanargmax(a)\n"};
    ug_dtype dts[2] = {UG_COMPLEX128, UG_INT64};
    int nd[2] = {1, 0};
    ug_loop_fn fn[3];
    for (int f = 0; f < 3; f++)
        fn[f] = build_src(srcs[f], "(n)->()", 1, 1, dts, nd, 0);
    const struct {
        int f, n;
        double re[6], im[6];
        int64_t want;
    } cases[] = {
        {0, 4, {1, 3, 3, 3}, {2, -1, 0, 0}, 2}, /* 3+0j twice: the first */
        {0, 6, {1, 3, 3, 3, 2, 0}, {2, -1, 0, 0, NAN, 0}, 4}, /* NaN imaginary part: its index */
        {0, 6, {1, 3, 3, 3, 2, NAN}, {2, -1, 0, 0, 1, 0}, 5}, /* NaN real part, last */
        {1, 4, {1, 1, 1, 5}, {2, 1, 1, 0}, 1}, /* 1+1j twice: the first */
        {1, 3, {1, NAN, NAN}, {0, 0, 1}, 1}, /* argmin: the first NaN too */
        {2, 3, {NAN, -INFINITY, -INFINITY}, {1, -1, -2}, 0}, /* nanargmax: NaN as -inf+0j */
    };
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        double _Complex a[6];
        for (int i = 0; i < cases[t].n; i++)
            a[i] = CMPLX(cases[t].re[i], cases[t].im[i]);
        int64_t want = cases[t].want, out = -1;
        char *args[2] = {(char *)a, (char *)&out};
        intptr_t dims[2] = {1, cases[t].n}, steps[3] = {0, 0, 16};
        fn[cases[t].f](args, dims, steps, NULL);
        ck_assert_msg(out == want, "case %zu: %lld want %lld", t, (long long)out, (long long)want);
    }
}
END_TEST

/* np.dot of float16 vectors as NumPy's HALF_dot: float32 products and sum,
 * one rounding. 300*300 and 300*-300 overflow float16 but not float32, so
 * the answer is 0.5*3 = 1.5; 4097 ones sum to 4097 in float32, rounded to
 * 4096 (a float16 running sum would stop at 2048). Bits by hand: 300
 * 0x5CB0, 0.5 0x3800, 3 0x4200, 1 0x3C00; 1.5 0x3E00, 4096 0x6C00. */
static uint16_t half_dot(ug_loop_fn fn, const uint16_t *a, const uint16_t *b, intptr_t n)
{
    uint16_t out = 0;
    char *args[3] = {(char *)a, (char *)b, (char *)&out};
    intptr_t dims[2] = {1, n}, steps[5] = {0, 0, 0, 2, 2};
    fn(args, dims, steps, NULL);
    return out;
}

START_TEST(source_half_dot)
{
    ug_dtype dts[3] = {UG_FLOAT16, UG_FLOAT16, UG_FLOAT16};
    int nd[3] = {1, 1, 0};
    ug_loop_fn fn = build_src("def k(a, b, out):\n    out[0] = np.dot(a, b)\n", "(n),(n)->()", 2, 1, dts, nd, 0);
    static uint16_t ones[4097];
    const uint16_t a[3] = {0x5CB0, 0x5CB0, 0x3800}, b[3] = {0x5CB0, 0xDCB0, 0x4200};
    uint16_t got = half_dot(fn, a, b, 3);
    ck_assert_msg(got == 0x3E00, "%#x want 0x3e00", got);
    for (int i = 0; i < 4097; i++)
        ones[i] = 0x3C00;
    got = half_dot(fn, ones, ones, 4097);
    ck_assert_msg(got == 0x6C00, "%#x want 0x6c00", got);
}
END_TEST

/* np.sort of complex128 in NumPy's order: lexicographic on the numbers, then
 * those with a NaN imaginary part (by real part), then a NaN real part (by
 * imaginary part), then NaN in both; a strided input and output. */
START_TEST(source_complex_sort_order)
{
    ug_loop_fn fn = build_src("def k(a, out):\n    out[:] = np.sort(a)\n", "(n)->(n)", 1, 1,
                              (ug_dtype[]){UG_COMPLEX128, UG_COMPLEX128}, (int[]){1, 1}, 0);
    double nan = NAN;
    double in[9][2] = {{3, 1}, {nan, 0}, {1, 2}, {0, nan}, {1, 1}, {nan, nan}, {2, -1}, {nan, -3}, {5, nan}};
    double want[9][2] = {{1, 1}, {1, 2}, {2, -1}, {3, 1}, {0, nan}, {5, nan}, {nan, -3}, {nan, 0}, {nan, nan}};
    double a[18][2], out[18][2];
    for (int i = 0; i < 9; i++) { /* every other element: byte stride 32 */
        a[2 * i][0] = in[i][0];
        a[2 * i][1] = in[i][1];
    }
    char *args[2] = {(char *)a, (char *)out};
    intptr_t dims[2] = {1, 9}, steps[4] = {0, 0, 32, 32};
    fn(args, dims, steps, NULL);
    for (int i = 0; i < 9; i++)
        for (int p = 0; p < 2; p++) {
            double g = out[2 * i][p], w = want[i][p];
            ck_assert_msg(isnan(w) ? isnan(g) : g == w, "element %d part %d: %g, want %g", i, p, g, w);
        }
}
END_TEST

/* np.median of float16 as NumPy's np.mean of the middle values: summed in
 * float32 from zero, divided, rounded once (float16 steps would overflow
 * 60000 + 65504 to inf; 0 + -0.0 + -0.0 is 0.0); a NaN gives NaN. */
START_TEST(source_half_median)
{
    ug_loop_fn fn = build_src("def k(a, out):\n    out[0] = np.median(a)\n", "(n)->()", 1, 1,
                              (ug_dtype[]){UG_FLOAT16, UG_FLOAT16}, (int[]){1, 0}, 0);
    static const struct {
        int n;
        uint16_t a[5], want;
    } cases[] = {
        {4, {0x3e00, 0x7b53, 0x7bff, 0x7bff}, 0x7ba9}, /* 1.5 60000 65504 65504 -> 62752 */
        {5, {0x4200, 0x8000, 0x4000, 0x3c00, 0x7bff}, 0x4000}, /* 3 -0.0 2 1 65504 -> 2 */
        {2, {0x8000, 0x8000}, 0x0000},                  /* -0.0 -0.0 -> 0.0 */
        {3, {0x3c00, 0x7e00, 0x4000}, 0x7e00},          /* 1 nan 2 -> nan */
        {4, {0x3c00, 0x3c01, 0xbc00, 0x4000}, 0x3c00},  /* -1 1 1+2^-10 2: 1+2^-11 rounds to even */
    };
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        uint16_t out = 0;
        char *args[2] = {(char *)cases[t].a, (char *)&out};
        intptr_t dims[2] = {1, cases[t].n}, steps[3] = {0, 0, 2};
        fn(args, dims, steps, NULL);
        ck_assert_msg(out == cases[t].want, "case %zu: 0x%04x, want 0x%04x", t, out, cases[t].want);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("loops_source");
    TCase *tc = loops_tcase("source");
    tcase_add_test(tc, source_helpers_control_flow);
    tcase_add_test(tc, source_boundscheck_in_helper);
    tcase_add_loop_test(tc, results_independent_of_call_boundaries, 0, 2);
    tcase_add_test(tc, source_array_attributes_and_mixed_arithmetic);
    tcase_add_test(tc, source_array_expression_statements);
    tcase_add_test(tc, source_sigmoid_float32_weak_literals);
    tcase_add_test(tc, source_gufunc_matmul_strided);
    tcase_add_test(tc, source_gufunc_no_runtime_unroll);
    tcase_add_test(tc, source_gufunc_small_loop_unrolled);
    tcase_add_test(tc, source_gufunc_backward_fill_unrolled);
    tcase_add_test(tc, source_local_arrays_need_no_overlap_checks);
    tcase_add_test(tc, source_nan_test_weighted);
    tcase_add_test(tc, source_nan_test_unweighted);
    tcase_add_test(tc, source_narrow_after_select);
    tcase_add_test(tc, source_fills_and_copies_by_runtime);
    tcase_add_test(tc, source_expression_store_not_vectorised_for_byte_stride);
    tcase_add_test(tc, source_guard_off_recurrence);
    tcase_add_test(tc, source_guard_int_compare_of_its_own);
    tcase_add_test(tc, source_singular_value_norms);
    tcase_add_test(tc, source_complex_reductions);
    tcase_add_test(tc, source_complex_argmax_nan);
    tcase_add_test(tc, source_half_dot);
    tcase_add_test(tc, source_complex_sort_order);
    tcase_add_test(tc, source_half_median);
    tcase_add_test(tc, source_unary_casts_constants);
    tcase_add_test(tc, source_power_as_numba);
    tcase_add_test(tc, source_bool_operators);
    tcase_add_test(tc, source_strided_many_operands_and_mixed_sizes);
    tcase_add_test(tc, source_scalar_body_strided);
    tcase_add_test(tc, source_gufunc_variant_overlap);
    tcase_add_test(tc, source_gufunc_step_variant);
    tcase_add_test(tc, source_gufunc_negative_index_and_boundscheck);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }
