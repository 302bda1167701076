/* test_loops_lower.c — white-box suite of loops/: lower.c, cast.c and math.c:
 * every operator, comparison, cast and math builtin on every dtype against
 * independent C references (edge values, FP flags, signed zeros), and control
 * flow.
 */
#include "tests/c/loops_support.h"

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

/* The dtypes through float64 (float16 and complex have their own tests). */
#define NREAL (UG_FLOAT64 + 1)

START_TEST(casts_every_pair)
{
    static const double fv[] = {NAN, INFINITY, -INFINITY, -1.0, -1.5, 0x1p63, 0x1p64, 1e19, 3e9, -3e9, 300.7,
                                -200.5, 70000.2, 0x1p31, 0x1p32 + 5, -0.0, 0.0, 2147483647.5, -2147483648.9, 255.9};
    ug_dtype from = (ug_dtype)(_i / NREAL), to = (ug_dtype)(_i % NREAL);
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

/* Casts from or to float16 and complex: the generated ones give the bytes
 * runtime/cast.c gives (the executor's casts), on values that probe the
 * roundings (halfway cases of binary16, overflow, subnormals, NaN, -0.0). */
static const double probe[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 1.0, -1.5, 65504.0, 65519.99, 65520.0,
                               1e6, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26, 1.0 + 0x1p-11, 1.0 + 0x1p-11 + 0x1p-40,
                               1.0 + 3 * 0x1p-11, 2049.0, 2051.0, 0.1, -300.7, 3e9, 1e19, 1e300, 1e-300, 255.9};
#define NPROBE ((int)(sizeof probe / sizeof probe[0]))

static void fill_source(char *buf, ug_dtype dt)
{
    if (base_dtype_kind(dt) >= BASE_KIND_FLOAT) {
        double z[2 * NPROBE];
        for (int i = 0; i < NPROBE; i++)
            z[2 * i] = probe[i], z[2 * i + 1] = probe[(i + 5) % NPROBE];
        rt_cast_strided(buf, (int64_t)ug_dtype_size(dt), dt, z, 16, UG_COMPLEX128, NPROBE);
        if (base_dtype_kind(dt) != BASE_KIND_COMPLEX)
            return;
        for (int i = 0; i < 3; i++) /* some with a zero real or imaginary part (truthiness) */
            memset(buf + (size_t)(3 * i + i % 2) * ug_dtype_size(dt) + (size_t)(i % 2) * ug_dtype_size(dt) / 2, 0,
                   ug_dtype_size(dt) / 2);
        return;
    }
    int64_t iv[32];
    int n = dt == UG_BOOL ? 0 : int_values(dt, iv);
    for (int i = 0; i < NPROBE; i++)
        put(buf + (size_t)i * ug_dtype_size(dt), dt, dt == UG_BOOL ? i % 2 : iv[i % n]);
}

START_TEST(casts_new_dtypes_match_runtime)
{
    ug_dtype from = (ug_dtype)(_i / UG_NDTYPES), to = (ug_dtype)(_i % UG_NDTYPES);
    if (from < NREAL && to < NREAL)
        return;
    kernel_node *c = nd(N_CAST, sty(to));
    c->a = param(0, sty(from));
    ug_dtype dts[2] = {from, to};
    ug_loop_fn fn = build(scalar_kernel(1, &from, to, c, 0, NULL), dts);
    char in[16 * NPROBE], out[16 * NPROBE], want[16 * NPROBE];
    fill_source(in, from);
    size_t fs = ug_dtype_size(from), ts = ug_dtype_size(to);
    for (int strided = 0; strided < 2; strided++) { /* the vector loop and the scalar one */
        memset(out, 0x5a, sizeof out);
        char *args[2] = {in, out};
        intptr_t dims[1] = {strided ? NPROBE / 2 : NPROBE}, steps[2] = {(intptr_t)fs << strided, (intptr_t)ts};
        fn(args, dims, steps, NULL);
        rt_cast_strided(want, (int64_t)ts, to, in, (int64_t)fs << strided, from, dims[0]);
        for (int i = 0; i < dims[0]; i++) {
            double g[2], w[2];
            rt_cast_strided(g, 16, UG_COMPLEX128, out + (size_t)i * ts, 0, to, 1);
            rt_cast_strided(w, 16, UG_COMPLEX128, want + (size_t)i * ts, 0, to, 1);
            ck_assert_msg(same(g[0], w[0]) && same(g[1], w[1]), "%s->%s #%d: (%.17g, %.17g) want (%.17g, %.17g)",
                          ug_dtype_name(from), ug_dtype_name(to), i, g[0], g[1], w[0], w[1]);
        }
    }
}
END_TEST

/* runtime/cast.c's binary16 conversions against NumPy's (np.float16(x).view(np.uint16)
 * for these doubles, and back). */
START_TEST(float16_rounding_is_numpys)
{
    static const struct { double x; uint16_t h; } t[] = {
        {0.0, 0x0000}, {-0.0, 0x8000}, {1.0, 0x3c00}, {65504.0, 0x7bff}, {65519.99, 0x7bff}, {65520.0, 0x7c00},
        {1e6, 0x7c00}, {0x1p-24, 0x0001}, {0x1p-25, 0x0000}, {0x1.8p-25, 0x0001}, {0x1p-26, 0x0000},
        {1.0 + 0x1p-11, 0x3c00}, {1.0 + 0x1p-11 + 0x1p-40, 0x3c01}, {1.0 + 3 * 0x1p-11, 0x3c02}, {0.1, 0x2e66},
        {-300.7, 0xdcb3}, {0x1.ffcp-15, 0x0400}, {0x1.ff8p-15, 0x03ff}, {INFINITY, 0x7c00}, {-INFINITY, 0xfc00},
        {NAN, 0x7e00}, {6.097555160522461e-05, 0x03ff}, {2049.0, 0x6800}, {2051.0, 0x6802},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ck_assert_msg(rt_double_to_half(t[i].x) == t[i].h, "%.17g: 0x%04x want 0x%04x", t[i].x,
                      rt_double_to_half(t[i].x), t[i].h);
    }
    ck_assert(rt_half_to_double(0x0001) == 0x1p-24 && rt_half_to_double(0x7bff) == 65504.0);
    ck_assert(rt_half_to_double(0x3555) == 0x1.554p-2 && same(rt_half_to_double(0x8000), -0.0));
    ck_assert(isinf(rt_half_to_double(0xfc00)) && rt_half_to_double(0xfc00) < 0 && isnan(rt_half_to_double(0x7e01)));
    for (uint32_t h = 0; h < 0x10000; h++) /* every binary16 value survives the round trip */
        ck_assert_msg(rt_double_to_half(rt_half_to_double((uint16_t)h)) == h || isnan(rt_half_to_double((uint16_t)h)),
                      "0x%04x", h);
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

static Suite *suite(void)
{
    Suite *s = suite_create("loops_lower");
    TCase *tc = loops_tcase("ops");
    tcase_add_loop_test(tc, int_binops_every_dtype, 0, 8);
    tcase_add_loop_test(tc, compare_every_dtype, 0, UG_FLOAT64);
    tcase_add_loop_test(tc, float_binops, 0, 2);
    tcase_add_loop_test(tc, casts_every_pair, 0, NREAL * NREAL);
    tcase_add_loop_test(tc, casts_new_dtypes_match_runtime, 0, UG_NDTYPES * UG_NDTYPES);
    tcase_add_test(tc, float16_rounding_is_numpys);
    tcase_add_test(tc, casts_match_numpy);
    tcase_add_loop_test(tc, math_unary_every_builtin, 0, 2 * NMCASES);
    tcase_add_loop_test(tc, math_binary_builtins, 0, 2);
    tcase_add_loop_test(tc, minmax_signed_zeros_every_path, 0, 2);
    tcase_add_loop_test(tc, int_builtins, 0, 8);
    tcase_add_test(tc, control_flow_for_negative_step_while_continue);
    tcase_add_test(tc, boolops_chains_ternary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }
