/* linalg.c — singular values for the matrix norms np.linalg.norm(a, 2),
 * np.linalg.norm(a, -2) and np.linalg.norm(a, 'nuc') in kernels. Called
 * from JIT code, bound as an absolute symbol (jit.c); no LLVM here.
 *
 * NumPy takes these norms from LAPACK's gesdd; a kernel's cores are small,
 * so one-sided Jacobi (Hestenes) does here: pairs of columns are rotated
 * until every pair is orthogonal to working precision, and the singular
 * values are then the columns' lengths. It is at least as accurate as
 * gesdd (relative accuracy for each singular value of a well-scaled
 * matrix), so results agree with NumPy's to a few ulps of the largest
 * singular value, not bit for bit. Complex columns are first turned by a
 * unit phase so that their inner product is real (which leaves the
 * singular values alone), then rotated as real ones. The matrix is scaled
 * by its largest magnitude first, so squares neither overflow nor vanish.
 *
 * NumPy's cases at the edges: a NaN anywhere is LAPACK's "SVD did not
 * converge" (the caller raises it), an infinity without a NaN gives NaN
 * norms, an empty matrix has the norms 0 (2 and 'nuc'; -2 is the caller's
 * ValueError).
 */
#include <complex.h>
#include <float.h>
#include <math.h>

#include "runtime/runtime.h"

#define MAX_SWEEPS 80

/* Columns k of w (len values each, complex: interleaved pairs) made
 * pairwise orthogonal by plane rotations. */
static void jacobi(double *w, int64_t len, int64_t cols, bool cplx)
{
    int64_t step = cplx ? 2 * len : len;
    for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
        bool rotated = false;
        for (int64_t p = 0; p + 1 < cols; p++)
            for (int64_t q = p + 1; q < cols; q++) {
                double *a = w + p * step, *b = w + q * step;
                double alpha = 0, beta = 0, gr = 0, gi = 0;
                if (cplx)
                    for (int64_t i = 0; i < len; i++) {
                        double ar = a[2 * i], ai = a[2 * i + 1], br = b[2 * i], bi = b[2 * i + 1];
                        alpha += ar * ar + ai * ai;
                        beta += br * br + bi * bi;
                        gr += ar * br + ai * bi; /* conj(a) * b */
                        gi += ar * bi - ai * br;
                    }
                else
                    for (int64_t i = 0; i < len; i++) {
                        alpha += a[i] * a[i];
                        beta += b[i] * b[i];
                        gr += a[i] * b[i];
                    }
                double g = cplx ? hypot(gr, gi) : fabs(gr);
                /* orthogonal to working precision, or a turn too small to be a number:
                 * t < 1e-300 (zeta would overflow, a spurious FP flag) */
                if (!(g > DBL_EPSILON * sqrt(alpha) * sqrt(beta)) || fabs(beta - alpha) > 1e300 * g)
                    continue;
                rotated = true;
                /* b turned by the phase of conj(g): a's inner product with it is |g|. The
                 * phase is made of unit length whatever g's size: from a subnormal g,
                 * gr / g and gi / g carry few bits, and a turn of any other length
                 * would scale b and change the singular values. */
                double er = gr < 0 ? -1.0 : 1.0, ei = 0.0;
                if (cplx) {
                    double m = fmax(fabs(gr), fabs(gi));
                    er = gr / m;
                    ei = -gi / m;
                    double h = hypot(er, ei);
                    er /= h;
                    ei /= h;
                }
                /* t = tan of the rotation angle; for a huge zeta (a tiny g) t = 1/(2 zeta)
                 * without squaring zeta, which would overflow */
                double zeta = (beta - alpha) / (2 * g), az = fabs(zeta);
                double t = (zeta >= 0 ? 1.0 : -1.0) / (az + (az > 1e150 ? az : sqrt(1 + az * az)));
                double c = 1 / sqrt(1 + t * t), s = c * t;
                if (cplx)
                    for (int64_t i = 0; i < len; i++) {
                        double br = b[2 * i] * er - b[2 * i + 1] * ei, bi = b[2 * i] * ei + b[2 * i + 1] * er;
                        double ar = a[2 * i], ai = a[2 * i + 1];
                        a[2 * i] = c * ar - s * br;
                        a[2 * i + 1] = c * ai - s * bi;
                        b[2 * i] = s * ar + c * br;
                        b[2 * i + 1] = s * ai + c * bi;
                    }
                else
                    for (int64_t i = 0; i < len; i++) {
                        double ai = a[i], bi = b[i] * er;
                        a[i] = c * ai - s * bi;
                        b[i] = s * ai + c * bi;
                    }
            }
        if (!rotated)
            return;
    }
}

int32_t rt_svd_norm(double *w, int64_t len, int64_t cols, int32_t cplx, int32_t which, double *out)
{
    int64_t n = len * cols * (cplx ? 2 : 1);
    double big = 0;
    bool inf = false;
    for (int64_t i = 0; i < n; i++) {
        double x = fabs(w[i]);
        if (isnan(x))
            return 1;
        inf |= isinf(x);
        big = x > big ? x : big;
    }
    if (inf) {
        *out = NAN;
        return 0;
    }
    if (len == 0 || cols == 0 || big == 0) {
        *out = 0.0;
        return 0;
    }
    int e; /* scaled by a power of two: exact */
    frexp(big, &e);
    for (int64_t i = 0; i < n; i++)
        w[i] = ldexp(w[i], -e);
    jacobi(w, len, cols, cplx);
    double r = which == RT_SVD_MIN ? INFINITY : 0.0;
    int64_t step = cplx ? 2 * len : len;
    for (int64_t k = 0; k < cols; k++) {
        double s2 = 0;
        for (int64_t i = 0; i < step; i++)
            s2 += w[k * step + i] * w[k * step + i];
        double sv = sqrt(s2);
        r = which == RT_SVD_MAX ? fmax(r, sv) : which == RT_SVD_MIN ? fmin(r, sv) : r + sv;
    }
    *out = ldexp(r, e);
    return 0;
}
