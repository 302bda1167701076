/* cref_dtypes.c — the C reference loops of bench_dtypes.py: the same
 * kernels as plain C99 complex and _Float16 loops, compiled by run.sh with
 * gcc -O3 -march=native (libcref_dtypes.so) and with -ffast-math added
 * (libcref_dtypes_fast.so, where complex products skip C99 Annex G's NaN
 * recovery calls). */
#include <complex.h>
#include <math.h>

void cd_muladd(const double complex *a, const double complex *b, const double complex *c, double complex *o, long n)
{
    for (long i = 0; i < n; i++)
        o[i] = a[i] * b[i] + c[i];
}

void cf_muladd(const float complex *a, const float complex *b, const float complex *c, float complex *o, long n)
{
    for (long i = 0; i < n; i++)
        o[i] = a[i] * b[i] + c[i];
}

void cd_abs2(const double complex *z, double *o, long n)
{
    for (long i = 0; i < n; i++) {
        double r = cabs(z[i]);
        o[i] = r * r;
    }
}

void cf_abs2(const float complex *z, float *o, long n)
{
    for (long i = 0; i < n; i++) {
        float r = cabsf(z[i]);
        o[i] = r * r;
    }
}

void cd_rotate(const double *theta, const double complex *z, double complex *o, long n)
{
    for (long i = 0; i < n; i++)
        o[i] = cexp(I * theta[i]) * z[i];
}

void cf_rotate(const float *theta, const float complex *z, float complex *o, long n)
{
    for (long i = 0; i < n; i++)
        o[i] = cexpf(I * theta[i]) * z[i];
}

void h_muladd(const _Float16 *a, const _Float16 *b, const _Float16 *c, _Float16 *o, long n)
{
    for (long i = 0; i < n; i++) /* NumPy's rounding: after the product and after the sum */
        o[i] = (_Float16)((float)(_Float16)((float)a[i] * (float)b[i]) + (float)c[i]);
}
