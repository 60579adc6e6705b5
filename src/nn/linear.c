/* Fully connected layers on row-major batches (llm.c matmul_forward/backward, with OpenBLAS
 * sgemm doing the products): out[n][dout] = in[n][din] . W[dout][din]^T + b, W in PyTorch's
 * [out][in] layout. The residual block of cryoDRGN (ResidLinear) adds the input.
 * Gradients: dW += dout^T . in (sgemm with beta 1), din += dout . W, db += column sums in a
 * fixed order (cg_nn_colsum_acc). */
#include <cblas.h>

#include "cryogen/nn_layers.h"
#include "nn/nn_internal.h"

/* out[n][d] (+)= bias / residual in one pass after the GEMM. */
static void epilogue(float *out, const float *b, const float *resid, int64_t n, int d) {
    if (!b && !resid) return;
    CG_NN_PARALLEL_FOR_IF(n * (int64_t)d >= CG_NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float *o = out + i * d;
        const float *r = resid ? resid + i * d : NULL;
        if (b && r)
            for (int j = 0; j < d; j++) o[j] += b[j] + r[j];
        else if (b)
            for (int j = 0; j < d; j++) o[j] += b[j];
        else
            for (int j = 0; j < d; j++) o[j] += r[j];
    }
}

void cg_nn_linear_forward(float *out, const float *in, const float *W, const float *b, int64_t n, int din,
                          int dout) {
    if (n <= 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, dout, din, 1.0f, in, din, W, din, 0.0f, out, dout);
    epilogue(out, b, NULL, n, dout);
}

void cg_nn_linear_backward(float *din_g, float *dW, float *db, const float *dout_g, const float *in,
                           const float *W, int64_t n, int din, int dout) {
    if (n <= 0) return;
    if (din_g)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, din, dout, 1.0f, dout_g, dout, W, din, 1.0f,
                    din_g, din);
    if (dW)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dout, din, (int)n, 1.0f, dout_g, dout, in, din, 1.0f,
                    dW, din);
    if (db) cg_nn_colsum_acc(db, dout_g, n, dout);
}

void cg_nn_resid_linear_forward(float *out, const float *in, const float *W, const float *b, int64_t n, int d) {
    if (n <= 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, d, d, 1.0f, in, d, W, d, 0.0f, out, d);
    epilogue(out, b, in, n, d);
}

void cg_nn_resid_linear_backward(float *din_g, float *dW, float *db, const float *dout_g, const float *in,
                                 const float *W, int64_t n, int d) {
    if (din_g) cg_nn_acc(din_g, dout_g, (size_t)n * (size_t)d);
    cg_nn_linear_backward(din_g, dW, db, dout_g, in, W, n, d, d);
}
