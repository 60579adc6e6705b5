/* Group normalisation (Wu & He, ECCV 2018) over [B][C][S]; instance normalisation is the
 * case G = C. Each (image, group) block of (C/G)*S contiguous values is normalised with its
 * mean and biased variance computed in double; the affine gamma/beta are per channel.
 * Backward (per group, N = (C/G)*S, xhat = (x - mean) rstd, gh = dout*gamma):
 *     dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))
 *     dgamma[c] += sum_{b,s} dout * xhat,  dbeta[c] += sum_{b,s} dout
 * dx is parallel over (image, group); dgamma/dbeta are parallel over channels with images
 * summed in order (deterministic, no atomics). */
#include <math.h>

#include "cryogen/nn_layers.h"
#include "nn/nn_internal.h"

void cg_nn_groupnorm_forward(float *out, float *mean, float *rstd, const float *in, const float *gamma,
                             const float *beta, int64_t batch, int C, int64_t S, int G, float eps) {
    const int cpg = C / G;
    const size_t N = (size_t)cpg * (size_t)S;
    CG_NN_PARALLEL_FOR_IF(batch * C * S >= CG_NN_PAR_MIN)
    for (int64_t bg = 0; bg < batch * G; bg++) {
        const float *x = in + (size_t)bg * N;
        float *y = out + (size_t)bg * N;
        double s = 0, ss = 0;
        for (size_t i = 0; i < N; i++) s += x[i];
        double mu = s / (double)N;
        for (size_t i = 0; i < N; i++) ss += ((double)x[i] - mu) * ((double)x[i] - mu);
        double r = 1.0 / sqrt(ss / (double)N + eps);
        mean[bg] = (float)mu, rstd[bg] = (float)r;
        int g = (int)(bg % G);
        for (int cc = 0; cc < cpg; cc++) {
            int c = g * cpg + cc;
            float ga = gamma ? gamma[c] : 1.0f, be = beta ? beta[c] : 0.0f;
            float a = (float)r * ga, bb = be - (float)mu * (float)r * ga;
            for (int64_t p = 0; p < S; p++) y[cc * S + p] = x[cc * S + p] * a + bb;
        }
    }
}

void cg_nn_groupnorm_backward(float *din_g, float *dgamma, float *dbeta, const float *dout_g, const float *in,
                              const float *mean, const float *rstd, const float *gamma, int64_t batch, int C,
                              int64_t S, int G) {
    const int cpg = C / G;
    const size_t N = (size_t)cpg * (size_t)S;
    if (din_g) {
        CG_NN_PARALLEL_FOR_IF(batch * C * S >= CG_NN_PAR_MIN)
        for (int64_t bg = 0; bg < batch * G; bg++) {
            const float *x = in + (size_t)bg * N, *g = dout_g + (size_t)bg * N;
            float *dx = din_g + (size_t)bg * N;
            const double mu = mean[bg], r = rstd[bg];
            const int grp = (int)(bg % G);
            double sg = 0, sgx = 0;
            for (int cc = 0; cc < cpg; cc++) {
                double ga = gamma ? gamma[grp * cpg + cc] : 1.0;
                for (int64_t p = 0; p < S; p++) {
                    double gh = g[cc * S + p] * ga, xh = ((double)x[cc * S + p] - mu) * r;
                    sg += gh, sgx += gh * xh;
                }
            }
            sg /= (double)N, sgx /= (double)N;
            for (int cc = 0; cc < cpg; cc++) {
                double ga = gamma ? gamma[grp * cpg + cc] : 1.0;
                for (int64_t p = 0; p < S; p++) {
                    double gh = g[cc * S + p] * ga, xh = ((double)x[cc * S + p] - mu) * r;
                    dx[cc * S + p] += (float)(r * (gh - sg - xh * sgx));
                }
            }
        }
    }
    if (!dgamma && !dbeta) return;
    CG_NN_PARALLEL_FOR_IF(batch * C * S >= CG_NN_PAR_MIN)
    for (int c = 0; c < C; c++) {
        double sg = 0, sgx = 0;
        for (int64_t b = 0; b < batch; b++) {
            const size_t off = ((size_t)b * C + c) * (size_t)S;
            const double mu = mean[b * G + c / cpg], r = rstd[b * G + c / cpg];
            for (int64_t p = 0; p < S; p++) {
                double g = dout_g[off + p];
                sg += g, sgx += g * ((double)in[off + p] - mu) * r;
            }
        }
        if (dgamma) dgamma[c] += (float)sgx;
        if (dbeta) dbeta[c] += (float)sg;
    }
}
