/* main.c — a C program calling ufuncs compiled ahead of time: the loops of
 * kernels.ugk, compiled at build time by ufuncgen-aot (examples/meson.build),
 * linked with libufuncgen_runtime.a only: no LLVM, no compiling at run time.
 *
 * Expected output (the CPU level's name varies):
 *     CPU level: host (...)
 *     sigmoid: 0.119203 0.268941 0.5 0.731059 0.880797
 *     clamp:   -1 -1 0 1 1
 *     movmean over 4 rows of 6 (window 3), row 3: 18 18.5 19 20 21 22
 *     LLVM in this process: no
 */
#include <stdio.h>
#include <string.h>

#include <ufuncgen/ufuncgen.h>

#include "ugaot.h"

static int fail(ug_context *ctx)
{
    fprintf(stderr, "error: %s\n", ug_errmsg(ctx));
    return 1;
}

int main(void)
{
    const char *why = NULL;
    const char *level = ugaot_level(&why);
    if (!level) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    printf("CPU level: %s\n", level);
    ug_context *ctx = ug_context_new(NULL);
    ug_ufunc *sigmoid = ugaot_sigmoid(ctx), *clamp = ugaot_clamp(ctx), *movmean = ugaot_movmean(ctx);
    if (!sigmoid || !clamp || !movmean)
        return fail(ctx);

    double x[5] = {-2, -1, 0, 1, 2}, y[5], lo = -1, hi = 1;
    ug_operand ops[4];
    ug_operand_init(&ops[0], x, UG_FLOAT64, 1, (int64_t[]){5}, NULL);
    ug_operand_init(&ops[1], y, UG_FLOAT64, 1, (int64_t[]){5}, NULL);
    if (ug_call(sigmoid, ops, 2, NULL) != UG_OK)
        return fail(ctx);
    printf("sigmoid: %g %g %g %g %g\n", y[0], y[1], y[2], y[3], y[4]);

    ug_operand_init(&ops[1], &lo, UG_FLOAT64, 0, NULL, NULL); /* scalars broadcast */
    ug_operand_init(&ops[2], &hi, UG_FLOAT64, 0, NULL, NULL);
    ug_operand_init(&ops[3], y, UG_FLOAT64, 1, (int64_t[]){5}, NULL);
    if (ug_call(clamp, ops, 4, NULL) != UG_OK)
        return fail(ctx);
    printf("clamp:   %g %g %g %g %g\n", y[0], y[1], y[2], y[3], y[4]);

    double a[4][6], m[4][6];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++)
            a[i][j] = 6 * i + j;
    int64_t window = 3;
    ug_operand_init(&ops[0], a, UG_FLOAT64, 2, (int64_t[]){4, 6}, NULL);
    ug_operand_init(&ops[1], &window, UG_INT64, 0, NULL, NULL);
    ug_operand_init(&ops[2], m, UG_FLOAT64, 2, (int64_t[]){4, 6}, NULL);
    if (ug_call(movmean, ops, 3, NULL) != UG_OK)
        return fail(ctx);
    printf("movmean over 4 rows of 6 (window 3), row 3: %g %g %g %g %g %g\n", m[3][0], m[3][1], m[3][2], m[3][3],
           m[3][4], m[3][5]);

    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int llvm = 0;
    while (maps && fgets(line, sizeof line, maps))
        llvm |= strstr(line, "LLVM") != NULL || strstr(line, "libufuncgen.so") != NULL;
    if (maps)
        fclose(maps);
    printf("LLVM in this process: %s\n", llvm ? "yes" : "no");
    ug_ufunc_free(sigmoid);
    ug_ufunc_free(clamp);
    ug_ufunc_free(movmean);
    ug_context_free(ctx);
    return llvm;
}
