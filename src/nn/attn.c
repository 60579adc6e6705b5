/* Single-head scaled dot-product self-attention over the positions of a feature map
 * (Vaswani et al. 2017; the spatial attention of the DDPM / EDM U-Nets).
 * Per image, with q, k, v the three C-channel thirds of qkv[3C][S]:
 *   L[i][j] = q[:, i] . k[:, j] / sqrt(C),  A = softmax over j,  out[c][i] = sum_j A[i][j] v[c][j].
 * Each product is one sgemm; images run in order (deterministic for a given BLAS thread count). */
#include <cblas.h>
#include <math.h>

#include "cryogen/nn_layers.h"
#include "nn/nn_internal.h"

void cg_nn_attention_forward(float *out, float *att, const float *qkv, int64_t batch, int C, int64_t S) {
    const int n = (int)S;
    const float scale = 1.0f / sqrtf((float)C);
    for (int64_t b = 0; b < batch; b++) {
        const float *q = qkv + (size_t)b * 3 * C * S, *k = q + (size_t)C * S, *v = k + (size_t)C * S;
        float *A = att + (size_t)b * S * S, *o = out + (size_t)b * C * S;
        /* L = scale q^T k  [S][S] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, C, scale, q, n, k, n, 0.0f, A, n);
        CG_NN_PARALLEL_FOR_IF((size_t)S * S >= CG_NN_PAR_MIN)
        for (int64_t i = 0; i < S; i++) {
            float *row = A + i * S, m = row[0];
            for (int64_t j = 1; j < S; j++) m = row[j] > m ? row[j] : m;
            double sum = 0;
            for (int64_t j = 0; j < S; j++) row[j] = expf(row[j] - m), sum += row[j];
            const float inv = (float)(1.0 / sum);
            for (int64_t j = 0; j < S; j++) row[j] *= inv;
        }
        /* out = v A^T  [C][S] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, n, n, 1.0f, v, n, A, n, 0.0f, o, n);
    }
}

void cg_nn_attention_backward(float *dqkv, float *scratch, const float *dout_g, const float *qkv, const float *att,
                              int64_t batch, int C, int64_t S) {
    const int n = (int)S;
    const float scale = 1.0f / sqrtf((float)C);
    for (int64_t b = 0; b < batch; b++) {
        const float *q = qkv + (size_t)b * 3 * C * S, *k = q + (size_t)C * S, *v = k + (size_t)C * S;
        const float *A = att + (size_t)b * S * S, *g = dout_g + (size_t)b * C * S;
        float *dq = dqkv + (size_t)b * 3 * C * S, *dk = dq + (size_t)C * S, *dv = dk + (size_t)C * S;
        /* dv += g A;  dA = g^T v  [S][S] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, n, n, 1.0f, g, n, A, n, 1.0f, dv, n);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, C, 1.0f, g, n, v, n, 0.0f, scratch, n);
        /* softmax backward, with the 1/sqrt(C) of the logits: dL = scale A (dA - rowsum(A dA)) */
        CG_NN_PARALLEL_FOR_IF((size_t)S * S >= CG_NN_PAR_MIN)
        for (int64_t i = 0; i < S; i++) {
            const float *a = A + i * S;
            float *d = scratch + i * S;
            double dot = 0;
            for (int64_t j = 0; j < S; j++) dot += (double)a[j] * d[j];
            for (int64_t j = 0; j < S; j++) d[j] = scale * a[j] * (d[j] - (float)dot);
        }
        /* dq[c][i] += sum_j dL[i][j] k[c][j];  dk[c][j] += sum_i dL[i][j] q[c][i] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, n, n, 1.0f, k, n, scratch, n, 1.0f, dq, n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, n, n, 1.0f, q, n, scratch, n, 1.0f, dk, n);
    }
}
