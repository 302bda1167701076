/* test_loops_inner.c — white-box suite of loops/: inner.c and
 * runtime/strided.c: the NumPy-ABI inner loop on every stride path, aliasing
 * (in place, reduce), narrow types, libmvec calls, gufunc loops with their
 * core dimensions, and the strided-path decision.
 */
#include "tests/c/loops_support.h"

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


/* ---------------------------------------------------------------- libmvec */


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

static Suite *suite(void)
{
    Suite *s = suite_create("loops_inner");
    TCase *tc = loops_tcase("inner");
    tcase_add_loop_test(tc, stride_paths, 0, 2);
    tcase_add_test(tc, in_place_and_reduce_aliasing);
    tcase_add_test(tc, bool_and_narrow_types_strided);
    tcase_add_loop_test(tc, sigmoid_calls_libmvec, 0, 2);
    tcase_add_loop_test(tc, gufunc_dot, 0, 2);
    tcase_add_test(tc, gufunc_boundscheck);
    tcase_add_test(tc, strided_decision_follows_work);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }
