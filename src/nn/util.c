/* Elementwise helpers and deterministic reductions shared by the layers.
 * Reductions split the input into CG_NN_RED_CHUNKS fixed chunks (a function of n only),
 * sum each in double in index order, then add the chunk sums in chunk order: the result is
 * bitwise the same for any thread count. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "cryogen/nn_layers.h"
#include "nn/nn_internal.h"

void cg_nn_zero(float *x, size_t n) { memset(x, 0, n * sizeof *x); }

void cg_nn_acc(float *dst, const float *src, size_t n) {
    CG_NN_PARALLEL_FOR_IF(n >= CG_NN_PAR_MIN)
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

void cg_nn_scale(float *x, float s, size_t n) {
    CG_NN_PARALLEL_FOR_IF(n >= CG_NN_PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

/* Deterministic chunked reduction: sum of x[i] (or of x[i]^2), in double, with a fixed
 * chunking so the result does not depend on the thread count. */
static double chunked_sum(const float *x, size_t n, int square) {
    double part[CG_NN_RED_CHUNKS];
    size_t chunk = (n + CG_NN_RED_CHUNKS - 1) / CG_NN_RED_CHUNKS;
    CG_NN_PARALLEL_FOR_IF(n >= CG_NN_PAR_MIN)
    for (int c = 0; c < CG_NN_RED_CHUNKS; c++) {
        size_t lo = (size_t)c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double s = 0;
        if (square)
            for (size_t i = lo; i < hi; i++) s += (double)x[i] * x[i];
        else
            for (size_t i = lo; i < hi; i++) s += x[i];
        part[c] = s;
    }
    double s = 0;
    for (int c = 0; c < CG_NN_RED_CHUNKS; c++) s += part[c];
    return s;
}

double cg_nn_sum(const float *x, size_t n) { return chunked_sum(x, n, 0); }

double cg_nn_l2_norm(const float *g, size_t n) { return sqrt(chunked_sum(g, n, 1)); }

void cg_nn_colsum_acc(float *db, const float *g, int64_t n, int d) {
    enum { CB = 16 };
    int nblk = (d + CB - 1) / CB;
    CG_NN_PARALLEL_FOR_IF(n * (int64_t)d >= CG_NN_PAR_MIN)
    for (int blk = 0; blk < nblk; blk++) {
        int c0 = blk * CB, nc = d - c0 < CB ? d - c0 : CB;
        double acc[CB] = {0};
        for (int64_t i = 0; i < n; i++) {
            const float *row = g + i * d + c0;
            for (int j = 0; j < nc; j++) acc[j] += row[j];
        }
        for (int j = 0; j < nc; j++) db[c0 + j] += (float)acc[j];
    }
}

int cg_nn_blas_single_begin(void) {
#ifdef CG_HAVE_OPENMP
    int n = openblas_get_num_threads();
    if (n != 1) openblas_set_num_threads(1);
    return n;
#else
    return 1;
#endif
}

void cg_nn_blas_single_end(int saved) {
    if (saved != 1) openblas_set_num_threads(saved);
}
