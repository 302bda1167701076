/* test_loops_fission.c — white-box suite of loops/: fission.c: which loops
 * split in two, and that split loops (also core-shape variants) give the
 * unsplit results.
 */
#include "tests/c/loops_support.h"

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
    Suite *s = suite_create("loops_fission");
    TCase *tc = loops_tcase("fission");
    tcase_add_test(tc, fission_plans);
    tcase_add_test(tc, source_fission_movmean);
    tcase_add_test(tc, source_fission_variants);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }
