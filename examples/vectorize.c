/* vectorize.c — the first ufuncgen program to read.
 *
 * A C program registers a scalar kernel written in (typed) Python, once, for
 * two dtypes, then applies it to its own arrays: a contiguous one, a
 * broadcast pair, and a strided view. No Python anywhere.
 *
 *   build/examples/vectorize
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <ufuncgen/ufuncgen.h>

static const char *src =
    "def logistic(x, k):\n"
    "    \"\"\"Logistic curve with steepness k.\"\"\"\n"
    "    return 1.0 / (1.0 + exp(-k * x))\n";

int main(void)
{
    ug_context *ctx = ug_context_new(NULL);
    if (!ctx)
        return 1;

    /* One loop per signature; both spellings work. Compiled here, once. */
    const char *sigs[] = {"float32(float32, float32)", "dd->d"};
    ug_ufunc *logistic;
    if (ug_vectorize(ctx, src, sigs, 2, NULL, &logistic) != UG_OK) {
        fprintf(stderr, "%s\n", ug_errmsg(ctx));
        return 1;
    }
    printf("ufunc '%s' with %d loops: %s\n", ug_ufunc_name(logistic), ug_ufunc_nloops(logistic),
           ug_ufunc_doc(logistic));

    /* 1. x (5 values) against a scalar k, broadcast like NumPy: shape (5,) with shape (). */
    double x[5] = {-2, -1, 0, 1, 2}, k = 3.0, y[5];
    ug_operand ops[3];
    ug_operand_init(&ops[0], x, UG_FLOAT64, 1, (int64_t[]){5}, NULL);
    ug_operand_init(&ops[1], &k, UG_FLOAT64, 0, NULL, NULL);
    ug_operand_init(&ops[2], y, UG_FLOAT64, 1, (int64_t[]){5}, NULL);
    if (ug_call(logistic, ops, 3, NULL) != UG_OK) {
        fprintf(stderr, "%s\n", ug_errmsg(ctx));
        return 1;
    }
    for (int i = 0; i < 5; i++)
        printf("logistic(%+.0f, 3) = %.6f  (libm: %.6f)\n", x[i], y[i], 1 / (1 + exp(-3 * x[i])));

    /* 2. An outer product by broadcasting: x as a column (5,1), steepness as a row (3,),
     *    output allocated by the library with the broadcast shape (5,3). */
    float xs[5] = {-2, -1, 0, 1, 2}, ks[3] = {0.5f, 1, 4};
    ug_operand_init(&ops[0], xs, UG_FLOAT32, 2, (int64_t[]){5, 1}, NULL);
    ug_operand_init(&ops[1], ks, UG_FLOAT32, 1, (int64_t[]){3}, NULL);
    ug_operand_alloc(&ops[2], UG_DTYPE_NONE);
    if (ug_call(logistic, ops, 3, NULL) != UG_OK) {
        fprintf(stderr, "%s\n", ug_errmsg(ctx));
        return 1;
    }
    printf("outer: shape (%lld, %lld), dtype %s\n", (long long)ops[2].shape[0], (long long)ops[2].shape[1],
           ug_dtype_name(ops[2].dtype));
    const float *out = ops[2].data;
    for (int i = 0; i < 5; i++)
        printf("  %9.6f %9.6f %9.6f\n", out[3 * i], out[3 * i + 1], out[3 * i + 2]);
    ug_free(ops[2].data);

    /* 3. Errors carry the line, the column and a caret. */
    ug_ufunc *bad;
    const char *sig1[] = {"d->d"};
    if (ug_vectorize(ctx, "def f(x):\n    return x + undefined_name\n", sig1, 1, NULL, &bad) != UG_OK)
        printf("as expected, an error:\n%s\n", ug_errmsg(ctx));

    ug_ufunc_free(logistic);
    ug_context_free(ctx);
    return 0;
}
