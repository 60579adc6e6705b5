/* cryogen neural-network losses, the reparameterisation trick and the WGAN-GP gradient
 * penalty. Loss values are returned in double (accumulated in fixed blocks, so they do not
 * depend on the thread count); backward functions ACCUMULATE (+=) `scale * dLoss/dx`.
 * Layouts are row-major and given with each argument.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- mean squared error ---- */
/* loss = sum_i w_i m_i (pred_i - target_i)^2 / sum_i m_i over pred[n], target[n].
 * weight[n] (NULL: all 1) and mask[n] (NULL: all included; 0 excludes) are optional. With
 * every element masked out the loss is 0. */
double cg_nn_mse_forward(const float *pred, const float *target, const float *weight, const uint8_t *mask,
                         size_t n);
/* dpred[n] += scale * dloss/dpred. */
void cg_nn_mse_backward(float *dpred, const float *pred, const float *target, const float *weight,
                        const uint8_t *mask, size_t n, float scale);

/* ---------------------------------------------------------------- VAE ------------------- */
/* KL(N(mu, exp(logvar)) || N(0, I)) averaged over rows, as in cryoDRGN:
 * loss = mean_rows( -0.5 * sum_j (1 + logvar - mu^2 - exp(logvar)) ), mu/logvar [n][d]. */
double cg_nn_kl_normal_forward(const float *mu, const float *logvar, int64_t n, int d);
/* dmu += scale * mu / n;  dlogvar += scale * 0.5 * (exp(logvar) - 1) / n. Either may be NULL. */
void cg_nn_kl_normal_backward(float *dmu, float *dlogvar, const float *mu, const float *logvar, int64_t n, int d,
                              float scale);
/* z[n][d] = mu + eps * exp(logvar / 2), eps[n][d] ~ N(0, 1) written for backward. Row r draws
 * from the Philox stream (seed, stream, row0 + r): the noise depends on the global row index
 * only, never on threads or batch splits. */
void cg_nn_reparam_forward(float *z, float *eps, const float *mu, const float *logvar, int64_t n, int d,
                           uint64_t seed, uint64_t stream, int64_t row0);
/* dmu += dz;  dlogvar += dz * eps * 0.5 * exp(logvar / 2). */
void cg_nn_reparam_backward(float *dmu, float *dlogvar, const float *dz, const float *eps, const float *logvar,
                            int64_t n, int d);

/* ---------------------------------------------------------------- WGAN-GP --------------- */
/* Gradient penalty (Gulrajani et al. 2017): P = lambda/B * sum_i (||g_i|| - 1)^2 with
 * g_i = dD(x_i)/dx_i for B samples x[B][dim] (usually interpolates of real and fake).
 *
 * Its parameter gradient uses the Hessian-vector identity, not a double backward: with
 * v_i = c_i g_i, c_i = 2 lambda (||g_i|| - 1) / (B ||g_i||) held fixed,
 *   dP/dtheta = sum_i c_i (dg_i/dtheta)^T g_i = d/de grad_theta sum_i D(x_i + e v_i) |_{e=0}
 * (mixed second derivatives commute), evaluated by a central difference
 *   [grad_theta D(x + h v) - grad_theta D(x - h v)] / (2h).
 * For a critic built from linear/conv layers, (Leaky)ReLU, average and max pooling, D is
 * piecewise linear in x for fixed theta, so grad_theta D is piecewise linear in e and the
 * difference is exact (up to rounding) as long as x +- h v stays inside the current
 * activation pattern; h is chosen small (rel_step * rms(x) / max|v|) for that. It needs
 * three critic passes and no second-order code in any layer, so every layer works.
 * Smooth critics (SiLU, tanh, norms) get an O(h^2) error. Float rounding of the two
 * parameter gradients limits the relative accuracy to about 1e-7 / rel_step.
 * The critic must treat samples independently (no batch statistics), as WGAN-GP requires.
 */
/* The caller's critic: forward at x[B][dim], then backward of sum_i D(x_i): writes (=)
 * grad_x[B][dim] when non-NULL, accumulates (+=) parameter gradients into grad_theta when
 * non-NULL. */
typedef cg_status (*cg_nn_critic_fn)(void *ctx, const float *x, float *grad_x, float *grad_theta);

typedef struct {
    float lambda;   /* penalty weight (10 in the paper) */
    float rel_step; /* h relative to rms(x) / max_i ||v_i||; 1e-3 is a good default */
} cg_nn_gp_config;

/* Scratch floats that cg_nn_gradient_penalty needs: 3*B*dim + theta_count. */
size_t cg_nn_gradient_penalty_scratch_floats(int64_t B, int64_t dim, size_t theta_count);
/* Compute P (returned in *penalty) and ACCUMULATE dP/dtheta into grad_theta[theta_count].
 * scratch as sized above. Errors: whatever the critic returns; CG_ERR_ARG on bad sizes. */
cg_status cg_nn_gradient_penalty(double *penalty, float *grad_theta, size_t theta_count, cg_nn_critic_fn critic,
                                 void *ctx, const float *x, int64_t B, int64_t dim, const cg_nn_gp_config *cfg,
                                 float *scratch);

#ifdef __cplusplus
}
#endif
