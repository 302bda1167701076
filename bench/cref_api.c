/* cref_api.c — plain C reference loops for bench_api, compiled with
 * gcc -O3 -march=native (see bench/meson.build): the "straightforward C loop"
 * the gufunc and parallel targets are measured against. */
#include <math.h>
#include <stdint.h>

void cref_dot16(int64_t rows, const double *a, const double *b, double *out)
{
    for (int64_t r = 0; r < rows; r++) {
        double acc = 0;
        for (int i = 0; i < 16; i++)
            acc += a[r * 16 + i] * b[r * 16 + i];
        out[r] = acc;
    }
}

void cref_matmul4(int64_t stacks, const double *A, const double *B, double *C)
{
    for (int64_t s = 0; s < stacks; s++) {
        const double *a = A + 16 * s, *b = B + 16 * s;
        double *c = C + 16 * s;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                double acc = 0;
                for (int k = 0; k < 4; k++)
                    acc += a[i * 4 + k] * b[k * 4 + j];
                c[i * 4 + j] = acc;
            }
    }
}

void cref_poly8(int64_t n, const double *x, double *y)
{
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        y[i] = ((((((((0.5 * v + 1.5) * v - 2.0) * v + 0.25) * v + 3.0) * v - 1.0) * v + 0.125) * v + 2.0) * v - 0.75);
    }
}
