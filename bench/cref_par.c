/* cref_par.c — the hardware reference for the parallel figures of bench_api:
 * sigmoid and the degree-8 polynomial as plain C loops split over OpenMP
 * threads, compiled with gcc -O3 -march=native -ffast-math -fopenmp and
 * libmvec (see bench/meson.build). Their 2-thread speed-up over 1 thread is
 * what this machine allows these kernels, whoever generates the code. */
#include <math.h>
#include <stdint.h>

void cref_sigmoid_par(int64_t n, const double *x, double *y, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++)
        y[i] = 1.0 / (1.0 + exp(-x[i]));
}

void cref_poly8_par(int64_t n, const double *x, double *y, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        y[i] = ((((((((0.5 * v + 1.5) * v - 2.0) * v + 0.25) * v + 3.0) * v - 1.0) * v + 0.125) * v + 2.0) * v - 0.75);
    }
}
