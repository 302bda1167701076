/* gufunc_parallel.c — a generalized ufunc over a large stack, on all cores.
 *
 * The kernel sees one row pair at a time: core dimensions "(n),(n)->()".
 * ufuncgen loops over the stack (1,000,000 rows here), and with
 * target = UG_TARGET_PARALLEL splits that loop across OpenMP threads. The
 * result is bit-for-bit the serial one; the program checks that, and
 * compares against a plain C loop.
 *
 *   build/examples/gufunc_parallel           (UFUNCGEN_NUM_THREADS=N to choose threads)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ufuncgen/ufuncgen.h>

static const char *src =
    "def rownorm_dot(a, b, out):\n"
    "    \"\"\"Dot product of two rows, scaled by the norm of the first.\"\"\"\n"
    "    acc = 0.0\n"
    "    nrm = 0.0\n"
    "    for i in range(a.shape[0]):\n"
    "        acc += a[i] * b[i]\n"
    "        nrm += a[i] * a[i]\n"
    "    out[0] = acc / sqrt(nrm) if nrm > 0 else 0.0\n";

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static ug_ufunc *build(ug_context *ctx, ug_target target)
{
    ug_options o;
    ug_options_init(&o);
    o.target = target;
    const char *sigs[] = {"void(float64[:], float64[:], float64[:])"};
    ug_ufunc *f = NULL;
    if (ug_guvectorize(ctx, src, "(n),(n)->()", sigs, 1, &o, &f) != UG_OK)
        fprintf(stderr, "%s\n", ug_errmsg(ctx));
    return f;
}

static double run(ug_ufunc *f, double *a, double *b, double *out, int64_t rows, int64_t n)
{
    ug_operand ops[3];
    ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){rows, n}, NULL);
    ug_operand_init(&ops[1], b, UG_FLOAT64, 2, (int64_t[]){rows, n}, NULL);
    ug_operand_init(&ops[2], out, UG_FLOAT64, 1, (int64_t[]){rows}, NULL);
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t = now_ms();
        if (ug_call(f, ops, 3, NULL) != UG_OK)
            return -1;
        t = now_ms() - t;
        best = t < best ? t : best;
    }
    return best;
}

int main(void)
{
    const int64_t rows = 1000000, n = 16;
    double *a = malloc(sizeof(double) * rows * n), *b = malloc(sizeof(double) * rows * n);
    double *serial = malloc(sizeof(double) * rows), *par = malloc(sizeof(double) * rows);
    if (!a || !b || !serial || !par)
        return 1;
    for (int64_t i = 0; i < rows * n; i++) {
        a[i] = sin((double)i) * 3;
        b[i] = cos((double)i * 0.5);
    }
    ug_context *ctx = ug_context_new(NULL);
    ug_ufunc *fs = build(ctx, UG_TARGET_CPU), *fp = build(ctx, UG_TARGET_PARALLEL);
    if (!fs || !fp)
        return 1;
    double ts = run(fs, a, b, serial, rows, n), tp = run(fp, a, b, par, rows, n);
    if (ts < 0 || tp < 0) {
        fprintf(stderr, "%s\n", ug_errmsg(ctx));
        return 1;
    }
    /* Check against plain C and between targets. */
    double maxerr = 0;
    for (int64_t r = 0; r < rows; r++) {
        double acc = 0, nrm = 0;
        for (int64_t i = 0; i < n; i++) {
            acc += a[r * n + i] * b[r * n + i];
            nrm += a[r * n + i] * a[r * n + i];
        }
        double ref = nrm > 0 ? acc / sqrt(nrm) : 0;
        double e = fabs(serial[r] - ref);
        maxerr = e > maxerr ? e : maxerr;
    }
    int same = memcmp(serial, par, sizeof(double) * rows) == 0;
    printf("rownorm_dot over %lld rows of %lld: serial %.2f ms, parallel %.2f ms (%.2fx)\n", (long long)rows,
           (long long)n, ts, tp, ts / tp);
    printf("max |error| against plain C: %.3g; parallel == serial bit for bit: %s\n", maxerr, same ? "yes" : "NO");
    ug_ufunc_free(fs);
    ug_ufunc_free(fp);
    ug_context_free(ctx);
    free(a);
    free(b);
    free(serial);
    free(par);
    return same && maxerr < 1e-9 ? 0 : 1;
}
