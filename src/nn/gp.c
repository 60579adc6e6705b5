/* WGAN-GP gradient penalty (Gulrajani et al., NeurIPS 2017) and its parameter gradient by the
 * Hessian-vector identity with a central difference; the derivation, the exactness condition
 * (piecewise-linear critics) and the choice of step are in nn_loss.h. Three critic passes:
 *   1. g = grad_x sum_i D(x_i)                     (input gradient, parameters untouched)
 *   2. P = lambda/B sum_i (|g_i| - 1)^2, v_i = c_i g_i with c_i = 2 lambda (|g_i|-1)/(B |g_i|)
 *   3. grad_theta += [grad_theta D(x + h v) - grad_theta D(x - h v)] / (2h)
 * Norms and P are accumulated in double. */
#include <math.h>
#include <string.h>

#include "cryogen/nn_layers.h"
#include "cryogen/nn_loss.h"
#include "cryogen/nn_optim.h"
#include "nn/nn_internal.h"

size_t cg_nn_gradient_penalty_scratch_floats(int64_t B, int64_t dim, size_t theta_count) {
    return 3 * (size_t)B * (size_t)dim + theta_count;
}

/* Penalty and the direction v (written over g); returns the largest |v_i|. */
static double penalty_direction(double *penalty, float *g, int64_t B, int64_t dim, double lambda) {
    double P = 0, vmax = 0;
    for (int64_t i = 0; i < B; i++) {
        float *gi = g + i * dim;
        double nn = 0;
        for (int64_t j = 0; j < dim; j++) nn += (double)gi[j] * gi[j];
        double norm = sqrt(nn);
        P += (norm - 1.0) * (norm - 1.0);
        double c = norm > 0 ? 2.0 * lambda * (norm - 1.0) / ((double)B * norm) : 0.0;
        for (int64_t j = 0; j < dim; j++) gi[j] = (float)(c * gi[j]);
        if (fabs(c) * norm > vmax) vmax = fabs(c) * norm;
    }
    *penalty = lambda * P / (double)B;
    return vmax;
}

cg_status cg_nn_gradient_penalty(double *penalty, float *grad_theta, size_t theta_count, cg_nn_critic_fn critic,
                                 void *ctx, const float *x, int64_t B, int64_t dim, const cg_nn_gp_config *cfg,
                                 float *scratch) {
    if (B <= 0 || dim <= 0 || !cfg || cfg->rel_step <= 0)
        return cg_error(CG_ERR_ARG, "gradient penalty: bad sizes (B %lld, dim %lld) or step",
                        (long long)B, (long long)dim);
    size_t nx = (size_t)B * (size_t)dim;
    float *v = scratch, *xp = scratch + nx, *xm = xp + nx, *tmp = xm + nx;
    cg_status s = critic(ctx, x, v, NULL);
    if (s != CG_OK) return s;
    double vmax = penalty_direction(penalty, v, B, dim, cfg->lambda);
    if (vmax == 0.0 || !grad_theta) return CG_OK;
    double rms = cg_nn_l2_norm(x, nx) / sqrt((double)nx);
    double h = cfg->rel_step * (rms > 0 ? rms : 1.0) / vmax;
    for (size_t i = 0; i < nx; i++) {
        xp[i] = (float)(x[i] + h * v[i]);
        xm[i] = (float)(x[i] - h * v[i]);
    }
    memset(tmp, 0, theta_count * sizeof(float));
    if ((s = critic(ctx, xp, NULL, tmp)) != CG_OK) return s;
    float k = (float)(1.0 / (2.0 * h));
    for (size_t i = 0; i < theta_count; i++) tmp[i] *= k;
    cg_nn_acc(grad_theta, tmp, theta_count);
    memset(tmp, 0, theta_count * sizeof(float));
    if ((s = critic(ctx, xm, NULL, tmp)) != CG_OK) return s;
    for (size_t i = 0; i < theta_count; i++) grad_theta[i] -= k * tmp[i];
    return CG_OK;
}
