/* Losses: mean squared error (optionally weighted and masked), KL divergence of a diagonal
 * Gaussian to N(0, I) (Kingma & Welling 2014, appendix B, as in cryoDRGN's loss_function),
 * and the reparameterisation trick with noise from the counter-based generator.
 * Loss values are summed in double over CG_NN_RED_CHUNKS fixed chunks, added in order, so
 * they do not depend on the thread count. */
#include <math.h>

#include "cryogen/nn_loss.h"
#include "nn/nn_internal.h"

/* Sum of mask (or n) in fixed chunks; the MSE denominator. */
static double mask_count(const uint8_t *mask, size_t n) {
    if (!mask) return (double)n;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += mask[i] != 0;
    return (double)c;
}

double cg_nn_mse_forward(const float *pred, const float *target, const float *weight, const uint8_t *mask,
                         size_t n) {
    double part[CG_NN_RED_CHUNKS];
    size_t chunk = (n + CG_NN_RED_CHUNKS - 1) / CG_NN_RED_CHUNKS;
    CG_NN_PARALLEL_FOR_IF(n >= CG_NN_PAR_MIN)
    for (int c = 0; c < CG_NN_RED_CHUNKS; c++) {
        size_t lo = (size_t)c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double s = 0;
        for (size_t i = lo; i < hi; i++) {
            if (mask && !mask[i]) continue;
            double d = (double)pred[i] - (double)target[i];
            s += (weight ? (double)weight[i] : 1.0) * d * d;
        }
        part[c] = s;
    }
    double s = 0;
    for (int c = 0; c < CG_NN_RED_CHUNKS; c++) s += part[c];
    double cnt = mask_count(mask, n);
    return cnt > 0 ? s / cnt : 0.0;
}

void cg_nn_mse_backward(float *dpred, const float *pred, const float *target, const float *weight,
                        const uint8_t *mask, size_t n, float scale) {
    double cnt = mask_count(mask, n);
    if (cnt <= 0) return;
    float k = (float)(2.0 * scale / cnt);
    CG_NN_PARALLEL_FOR_IF(n >= CG_NN_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        if (mask && !mask[i]) continue;
        float g = k * (pred[i] - target[i]);
        dpred[i] += weight ? g * weight[i] : g;
    }
}

double cg_nn_kl_normal_forward(const float *mu, const float *logvar, int64_t n, int d) {
    if (n <= 0) return 0.0;
    double s = 0;
    for (int64_t r = 0; r < n; r++) {
        double row = 0;
        for (int j = 0; j < d; j++) {
            double m = mu[r * d + j], lv = logvar[r * d + j];
            row += 1.0 + lv - m * m - exp(lv);
        }
        s += -0.5 * row;
    }
    return s / (double)n;
}

void cg_nn_kl_normal_backward(float *dmu, float *dlogvar, const float *mu, const float *logvar, int64_t n, int d,
                              float scale) {
    if (n <= 0) return;
    float k = scale / (float)n;
    for (int64_t i = 0; i < n * d; i++) {
        if (dmu) dmu[i] += k * mu[i];
        if (dlogvar) dlogvar[i] += k * 0.5f * expm1f(logvar[i]);
    }
}

void cg_nn_reparam_forward(float *z, float *eps, const float *mu, const float *logvar, int64_t n, int d,
                           uint64_t seed, uint64_t stream, int64_t row0) {
    CG_NN_PARALLEL_FOR_IF(n * d >= 4096)
    for (int64_t r = 0; r < n; r++) {
        cg_rng g;
        cg_rng_init(&g, seed, stream, (uint64_t)(row0 + r));
        for (int j = 0; j < d; j++) {
            int64_t i = r * d + j;
            eps[i] = (float)cg_rng_normal(&g);
            z[i] = mu[i] + eps[i] * expf(0.5f * logvar[i]);
        }
    }
}

void cg_nn_reparam_backward(float *dmu, float *dlogvar, const float *dz, const float *eps, const float *logvar,
                            int64_t n, int d) {
    for (int64_t i = 0; i < n * d; i++) {
        if (dmu) dmu[i] += dz[i];
        if (dlogvar) dlogvar[i] += dz[i] * eps[i] * 0.5f * expf(0.5f * logvar[i]);
    }
}
