/* EDM sampling (Karras et al. 2022): the rho-schedule of noise levels (Eq. 5) and the
 * second-order Heun sampler with optional stochastic churn (Algorithm 2):
 *   x_0 ~ N(0, t_0^2 I)
 *   for i = 0 .. N-1:
 *     gamma = min(S_churn / N, sqrt(2) - 1) if S_tmin <= t_i <= S_tmax else 0
 *     t^ = t_i + gamma t_i;   x^ = x_i + sqrt(t^2 - t_i^2) S_noise eps
 *     d = (x^ - D(x^; t^)) / t^;   x_{i+1} = x^ + (t_{i+1} - t^) d
 *     if t_{i+1} > 0: d' = (x_{i+1} - D(x_{i+1}; t_{i+1})) / t_{i+1};
 *                     x_{i+1} = x^ + (t_{i+1} - t^) (d + d') / 2
 * Images are in normalised units (score.h). Noise of sample k comes from the Philox stream
 * (seed, CG_SCORE_STREAM_SAMPLE, k), drawn in order (initial noise, then churn noise per
 * step), so the output does not depend on batching or threads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/score.h"

void cg_edm_sigma_schedule(double *t, int N, double smin, double smax, double rho) {
    double a = pow(smax, 1 / rho), b = pow(smin, 1 / rho);
    for (int i = 0; i < N; i++) t[i] = pow(a + (N > 1 ? (double)i / (N - 1) : 0.0) * (b - a), rho);
    t[N] = 0;
}

void cg_edm_sampler_defaults(cg_edm_sampler_config *c) {
    c->steps = 18;
    c->sigma_min = 0.002, c->sigma_max = 80, c->rho = 7;
    c->S_churn = 0, c->S_tmin = 0, c->S_tmax = INFINITY, c->S_noise = 1;
    c->seed = 0;
}

cg_status cg_score_sample(cg_score_net *net, const cg_edm_sampler_config *c, int64_t first, int64_t n, float *out,
                          int64_t *nfe) {
    const cg_score_config *cfg = cg_score_net_config(net);
    size_t S = (size_t)cfg->D * cfg->D;
    int N = c->steps;
    if (N < 1 || !(c->sigma_min > 0) || !(c->sigma_max > c->sigma_min) || !(c->rho > 0) || c->S_churn < 0 || n < 0)
        return cg_error(CG_ERR_ARG, "sampler: need steps >= 1, 0 < sigma_min < sigma_max, rho > 0, S_churn >= 0 "
                                    "(got %d, %g, %g, %g, %g)", N, c->sigma_min, c->sigma_max, c->rho, c->S_churn);
    double *t = malloc(sizeof(double) * (size_t)(N + 1));
    cg_rng *rng = malloc(sizeof(cg_rng) * (size_t)(n ? n : 1));
    float *xh = malloc(sizeof(float) * S * (size_t)(n ? n : 1));
    float *den = malloc(sizeof(float) * S * (size_t)(n ? n : 1));
    float *d = malloc(sizeof(float) * S * (size_t)(n ? n : 1));
    float *sig = malloc(sizeof(float) * (size_t)(n ? n : 1));
    cg_status s = (t && rng && xh && den && d && sig) ? CG_OK : cg_error(CG_ERR_NOMEM, "sampler: %lld images", (long long)n);
    if (!s) {
        cg_edm_sigma_schedule(t, N, c->sigma_min, c->sigma_max, c->rho);
        for (int64_t k = 0; k < n; k++) {
            cg_rng_init(&rng[k], c->seed, CG_SCORE_STREAM_SAMPLE, (uint64_t)(first + k));
            for (size_t i = 0; i < S; i++) out[k * S + i] = (float)(t[0] * cg_rng_normal(&rng[k]));
        }
    }
    int64_t evals = 0;
    for (int i = 0; !s && i < N; i++) {
        if (cg_interrupted()) {
            s = cg_error(CG_ERR_INTERRUPTED, "sampler interrupted at step %d", i);
            break;
        }
        double gamma = (t[i] >= c->S_tmin && t[i] <= c->S_tmax) ? fmin(c->S_churn / N, sqrt(2.0) - 1) : 0;
        double th = t[i] + gamma * t[i], add = sqrt(th * th - t[i] * t[i]) * c->S_noise;
        for (int64_t k = 0; k < n; k++) {
            for (size_t j = 0; j < S; j++)
                xh[k * S + j] = out[k * S + j] + (gamma > 0 ? (float)(add * cg_rng_normal(&rng[k])) : 0.0f);
            sig[k] = (float)th;
        }
        s = cg_score_denoise(net, den, xh, sig, n);
        evals++;
        if (s) break;
        for (size_t j = 0; j < S * (size_t)n; j++) {
            d[j] = (float)((xh[j] - (double)den[j]) / th);
            out[j] = (float)(xh[j] + (t[i + 1] - th) * d[j]);
        }
        if (t[i + 1] > 0) {
            for (int64_t k = 0; k < n; k++) sig[k] = (float)t[i + 1];
            s = cg_score_denoise(net, den, out, sig, n);
            evals++;
            if (s) break;
            for (size_t j = 0; j < S * (size_t)n; j++) {
                double d2 = (out[j] - (double)den[j]) / t[i + 1];
                out[j] = (float)(xh[j] + (t[i + 1] - th) * 0.5 * (d[j] + d2));
            }
        }
    }
    if (nfe) *nfe = evals;
    free(t), free(rng), free(xh), free(den), free(d), free(sig);
    return s;
}
