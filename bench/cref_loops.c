/* cref_loops.c — reference loops for bench_loops, built by gcc with
 * -O3 -march=native -ffast-math so exp() vectorises through glibc's libmvec
 * (what a careful C programmer would get), and a STREAM-triad-style a*b+c.
 */
#include <math.h>

void cref_sigmoid(long n, const double *restrict x, double *restrict y)
{
    for (long i = 0; i < n; i++)
        y[i] = 1.0 / (1.0 + exp(-x[i]));
}

void cref_fma3(long n, const double *restrict a, const double *restrict b, const double *restrict c,
               double *restrict o)
{
    for (long i = 0; i < n; i++)
        o[i] = a[i] * b[i] + c[i];
}

void cref_sigmoid_strided(long n, const double *restrict x, long sx, double *restrict y, long sy)
{
    for (long i = 0; i < n; i++)
        y[i * sy] = 1.0 / (1.0 + exp(-x[i * sx]));
}
