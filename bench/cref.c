/* cref.c — hand-written C loops: the hardware reference of the benchmark suite.
 *
 * bench/run.sh compiles this file twice with gcc -O3 -march=native -fopenmp:
 *   libcref.so       -ffp-contract=off -fno-math-errno : computes what NumPy
 *                     computes (no FMA contraction, no reassociation), so the
 *                     results compare exactly like ufuncgen's;
 *   libcref_fast.so  -ffast-math : what a C programmer reaching for speed gets
 *                     (FMA, reassociation, libmvec vector exp).
 * bench_suite.py loads them with ctypes. Strides are in elements. Every
 * function takes a thread count nt; with nt == 1 no OpenMP team is started.
 * Nothing here is called by the library or its tests.
 */
#include <math.h>
#include <stdint.h>

#define OMP_FOR _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")

/* ---------------------------------------------------------- elementwise */

#define ELEMENTWISE(T, S)                                                                               \
    void abc_##S(const T *a, long sa, const T *b, long sb, const T *c, long sc, T *o, long so, long n, int nt) \
    {                                                                                                   \
        if (sa == 1 && sb == 1 && sc == 1 && so == 1) {                                                 \
            OMP_FOR                                                                                     \
            for (long i = 0; i < n; i++)                                                                \
                o[i] = a[i] * b[i] + c[i];                                                              \
        } else {                                                                                        \
            OMP_FOR                                                                                     \
            for (long i = 0; i < n; i++)                                                                \
                o[i * so] = a[i * sa] * b[i * sb] + c[i * sc];                                          \
        }                                                                                               \
    }                                                                                                   \
    void sigmoid_##S(const T *x, long sx, T *o, long so, long n, int nt)                                \
    {                                                                                                   \
        if (sx == 1 && so == 1) {                                                                       \
            OMP_FOR                                                                                     \
            for (long i = 0; i < n; i++)                                                                \
                o[i] = (T)1 / ((T)1 + EXP_##S(-x[i]));                                                  \
        } else {                                                                                        \
            OMP_FOR                                                                                     \
            for (long i = 0; i < n; i++)                                                                \
                o[i * so] = (T)1 / ((T)1 + EXP_##S(-x[i * sx]));                                        \
        }                                                                                               \
    }                                                                                                   \
    void leaky_##S(const T *x, long sx, T *o, long so, long n, int nt)                                  \
    {                                                                                                   \
        if (sx == 1 && so == 1) {                                                                       \
            OMP_FOR                                                                                     \
            for (long i = 0; i < n; i++)                                                                \
                o[i] = x[i] > 0 ? x[i] : (T)0.01 * x[i];                                                \
        } else {                                                                                        \
            OMP_FOR                                                                                     \
            for (long i = 0; i < n; i++)                                                                \
                o[i * so] = x[i * sx] > 0 ? x[i * sx] : (T)0.01 * x[i * sx];                            \
        }                                                                                               \
    }                                                                                                   \
    static inline T horner_##S(T x)                                                                     \
    {                                                                                                   \
        T p = (T)C8;                                                                                    \
        p = p * x + (T)C7;                                                                              \
        p = p * x + (T)C6;                                                                              \
        p = p * x + (T)C5;                                                                              \
        p = p * x + (T)C4;                                                                              \
        p = p * x + (T)C3;                                                                              \
        p = p * x + (T)C2;                                                                              \
        p = p * x + (T)C1;                                                                              \
        p = p * x + (T)C0;                                                                              \
        return p;                                                                                       \
    }                                                                                                   \
    void poly8_##S(const T *x, long sx, T *o, long so, long n, int nt)                                  \
    {                                                                                                   \
        if (sx == 1 && so == 1) {                                                                       \
            OMP_FOR                                                                                     \
            for (long i = 0; i < n; i++)                                                                \
                o[i] = horner_##S(x[i]);                                                                \
        } else {                                                                                        \
            OMP_FOR                                                                                     \
            for (long i = 0; i < n; i++)                                                                \
                o[i * so] = horner_##S(x[i * sx]);                                                      \
        }                                                                                               \
    }

/* Coefficients of the degree-8 polynomial (1/k!), the same as bench_suite.py's POLY. */
#define C0 1.0
#define C1 1.0
#define C2 0.5
#define C3 0.16666666666666666
#define C4 0.041666666666666664
#define C5 0.008333333333333333
#define C6 0.001388888888888889
#define C7 0.0001984126984126984
#define C8 2.48015873015873e-05

#define EXP_f64 exp
#define EXP_f32 expf
ELEMENTWISE(double, f64)
ELEMENTWISE(float, f32)

/* (a*31 + b) % 1009 with Python/NumPy floor semantics; int64 arithmetic wraps
 * as NumPy's does (computed in uint64 to keep C free of overflow UB). */
static inline int64_t intmod1(int64_t a, int64_t b)
{
    int64_t t = (int64_t)((uint64_t)a * 31u + (uint64_t)b);
    int64_t r = t % 1009;
    return r < 0 ? r + 1009 : r;
}

void intmod_i64(const int64_t *a, long sa, const int64_t *b, long sb, int64_t *o, long so, long n, int nt)
{
    if (sa == 1 && sb == 1 && so == 1) {
        OMP_FOR
        for (long i = 0; i < n; i++)
            o[i] = intmod1(a[i], b[i]);
    } else {
        OMP_FOR
        for (long i = 0; i < n; i++)
            o[i * so] = intmod1(a[i * sa], b[i * sb]);
    }
}

/* ------------------------------------------------------------- gufuncs */
/* All operands C-contiguous. */

/* (n),(n)->() over rows */
void dot_f64(const double *a, const double *b, double *o, long rows, long n, int nt)
{
    OMP_FOR
    for (long r = 0; r < rows; r++) {
        const double *x = a + r * n, *y = b + r * n;
        double acc = 0.0;
        for (long i = 0; i < n; i++)
            acc += x[i] * y[i];
        o[r] = acc;
    }
}

/* (4,4),(4,4)->(4,4) over stacks */
void matmul4_f64(const double *A, const double *B, double *C, long stacks, int nt)
{
    OMP_FOR
    for (long s = 0; s < stacks; s++) {
        const double *a = A + 16 * s, *b = B + 16 * s;
        double *c = C + 16 * s;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                double acc = 0.0;
                for (int k = 0; k < 4; k++)
                    acc += a[4 * i + k] * b[4 * k + j];
                c[4 * i + j] = acc;
            }
    }
}

/* (m,n),(n,p)->(m,p) with the sizes known only at run time, as in the kernel */
void matmul_f64(const double *A, const double *B, double *C, long stacks, long m, long n, long p, int nt)
{
    OMP_FOR
    for (long s = 0; s < stacks; s++) {
        const double *a = A + m * n * s, *b = B + n * p * s;
        double *c = C + m * p * s;
        for (long i = 0; i < m; i++)
            for (long j = 0; j < p; j++) {
                double acc = 0.0;
                for (long k = 0; k < n; k++)
                    acc += a[n * i + k] * b[p * k + j];
                c[p * i + j] = acc;
            }
    }
}

/* (n),()->(n): moving mean with window w (Numba's documented move_mean) */
void movmean_f64(const double *a, double *o, long series, long n, long w, int nt)
{
    OMP_FOR
    for (long s = 0; s < series; s++) {
        const double *x = a + s * n;
        double *y = o + s * n;
        double sum = 0.0;
        long count = 0;
        for (long i = 0; i < w && i < n; i++) {
            sum += x[i];
            count++;
            y[i] = sum / (double)count;
        }
        for (long i = w; i < n; i++) {
            sum += x[i] - x[i - w];
            y[i] = sum / (double)count;
        }
    }
}

/* (m,d),(n,d)->(m,n): Euclidean distances between rows, over a stack */
void pdist_f64(const double *X, const double *Y, double *D, long stack, long m, long n, long d, int nt)
{
    OMP_FOR
    for (long t = 0; t < stack * m; t++) {
        long s = t / m, i = t % m;
        const double *x = X + (s * m + i) * d;
        const double *ys = Y + s * n * d;
        double *out = D + (s * m + i) * n;
        for (long j = 0; j < n; j++) {
            const double *y = ys + j * d;
            double acc = 0.0;
            for (long k = 0; k < d; k++) {
                double t2 = x[k] - y[k];
                acc += t2 * t2;
            }
            out[j] = sqrt(acc);
        }
    }
}
