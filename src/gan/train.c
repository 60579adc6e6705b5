/* CryoGAN training loop (include/cryogen/gan.h): Wasserstein GAN with gradient penalty whose
 * generator is a voxel volume seen through the physics simulator.
 *
 * One generator step (Gupta et al., "CryoGAN", IEEE TCI 2021, Algorithm 1; Gulrajani et al.
 * 2017, Algorithm 1):
 *   repeat n_critic times:
 *     real x_r: random particle images; fake x_f = sim(V) + noise (pose uniform, CTF and
 *     origin of a random data particle); interpolates x_i = e x_r + (1 - e) x_f, e ~ U(0, 1)
 *     L_D = mean D(x_f) - mean D(x_r) + lambda/B sum_i (|grad_x D(x_i)| - 1)^2; Adam on theta
 *   L_G = -mean D(sim(V) + noise); dL_G/dV = sum_b P_A^T M_b^T (-1/B grad_x D(x_f,b)); Adam on
 *   V; then V = max(V, 0) (positivity by projection).
 * The penalty's parameter gradient comes from cg_nn_gradient_penalty (Hessian-vector identity,
 * docs/nn.md). Adam betas (0.5, 0.9) as in CryoGAN. Optional coarse-to-fine: real and fake
 * images low-passed at a radius that grows linearly from lowpass_start_A to Nyquist.
 * Determinism: see gan.h (draw index keys every random number; chunked volume sums).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/gan.h"
#include "cryogen/geom.h"
#include "cryogen/image.h"

#define CRITIC_ONLY_BASE ((int64_t)1 << 50) /* draw indices of cg_gan_critic_only */

struct cg_gan {
    cg_gan_config cfg;
    cg_gan_data data;
    int D;
    double noise_sd;
    cg_nn_params G;            /* voxel mode: one tensor "volume" [D][D][D] with its Adam state */
    cg_nn_params *Gp;          /* the generator's parameters: &G, or the manifold network's */
    cg_gan_mgen *mgen;         /* manifold mode */
    int nvol;                  /* volumes per step (1 in voxel mode) */
    const float *vols;         /* the current step's volumes [nvol][D^3] */
    float *mvols, *zs, *gvols, *z01; /* manifold: volumes, latents [nvol][zdim], dL/dvol, z0 and z1 */
    cg_gan_critic *critic;
    cg_gan_sim *sim;
    float *real, *fake, *interp, *gx, *dout, *out_r, *out_f, *gp_scratch;
    float *part[CG_GAN_CHUNKS]; /* partial volume gradients */
    cg_sim_particle *parts;
    int64_t critic_only_steps;
};

typedef struct { /* checkpoint config blob: what fixes the shapes and the random draws */
    int32_t D, batch, n_critic, channels, n_blocks;
    float slope;
    uint64_t seed;
    /* manifold mode only (the voxel mode's blob stops before these, as before them) */
    int32_t latent, n_vol, zdim, gen_channels;
    float gen_slope, gen_scale;
} gan_blob;
#define VOXEL_BLOB_BYTES offsetof(gan_blob, latent)

cg_gan_config cg_gan_config_default(void) {
    cg_gan_config c;
    memset(&c, 0, sizeof c);
    c.batch = 32, c.n_critic = 5, c.gp_weight = 10.0f;
    c.lr_gen = 1e-3f, c.lr_critic = 1e-4f, c.beta1 = 0.5f, c.beta2 = 0.9f;
    c.noise_sd = -1, c.critic.channels = 16, c.critic.slope = 0.2f;
    c.n_vol = 8, c.gen.zdim = 8, c.gen.channels = 32, c.gen.slope = 0.2f, c.gen.scale = 1.0f;
    return c;
}

void cg_gan_destroy(cg_gan *g) {
    if (!g) return;
    cg_nn_params_free(&g->G);
    cg_gan_mgen_destroy(g->mgen);
    free(g->mvols), free(g->zs), free(g->gvols), free(g->z01);
    cg_gan_critic_destroy(g->critic);
    cg_gan_sim_destroy(g->sim);
    free(g->real), free(g->fake), free(g->interp), free(g->gx), free(g->dout), free(g->out_r), free(g->out_f);
    free(g->gp_scratch), free(g->parts);
    for (int i = 0; i < CG_GAN_CHUNKS; i++) free(g->part[i]);
    free(g);
}

cg_status cg_gan_create(cg_gan **out, const cg_gan_config *cfg, const cg_gan_data *data) {
    *out = NULL;
    if (cfg->batch < 1 || cfg->n_critic < 1 || !(cfg->gp_weight >= 0) || !(cfg->lr_gen >= 0) || !(cfg->lr_critic >= 0))
        return cg_error(CG_ERR_ARG, "CryoGAN: batch (%d) and n_critic (%d) must be >= 1, gp weight and learning "
                        "rates >= 0", cfg->batch, cfg->n_critic);
    if (data->n < 1 || !data->images) return cg_error(CG_ERR_ARG, "CryoGAN: no particle images");
    if (cfg->lowpass_start_A < 0 || (cfg->lowpass_start_A > 0 && cfg->ramp_steps < 1))
        return cg_error(CG_ERR_ARG, "CryoGAN: low-pass start %g A needs a ramp of >= 1 step", cfg->lowpass_start_A);
    cg_gan *g = cg_calloc(1, sizeof *g, "CryoGAN trainer");
    if (!g) return CG_ERR_NOMEM;
    g->cfg = *cfg, g->data = *data, g->D = data->D;
    g->cfg.critic.D = data->D;
    const int D = data->D, B = cfg->batch;
    const size_t DD = (size_t)D * D, D3 = DD * D;
    cg_nn_params_init(&g->G);
    cg_status st = CG_OK;
    g->nvol = 1;
    if (cfg->manifold) {
        if (cfg->n_vol < 1 || cfg->n_vol > B)
            st = cg_error(CG_ERR_ARG, "Multi-CryoGAN: volumes per step %d must be in 1..batch (%d)", cfg->n_vol, B);
        if (!st && cfg->latent != CG_GAN_LATENT_PATH && cfg->latent != CG_GAN_LATENT_GAUSSIAN)
            st = cg_error(CG_ERR_ARG, "Multi-CryoGAN: unknown latent kind %d", cfg->latent);
        g->cfg.gen.D = D;
        if (!st) st = cg_gan_mgen_create(&g->mgen, &g->cfg.gen, cfg->n_vol, cfg->seed);
        if (st) return cg_gan_destroy(g), st;
        g->nvol = cfg->n_vol;
        g->Gp = cg_gan_mgen_params(g->mgen);
        const int zd = g->cfg.gen.zdim;
        g->mvols = cg_malloc((size_t)g->nvol * D3, sizeof(float), "generated volumes");
        g->gvols = cg_malloc((size_t)g->nvol * D3, sizeof(float), "volume gradients");
        g->zs = cg_malloc((size_t)g->nvol * zd, sizeof(float), "latents");
        g->z01 = cg_malloc((size_t)2 * zd, sizeof(float), "latents");
        if (!g->mvols || !g->gvols || !g->zs || !g->z01) return cg_gan_destroy(g), CG_ERR_NOMEM;
        for (int e = 0; e < 2; e++) {
            cg_rng r;
            cg_rng_init(&r, cfg->seed, CG_GAN_STREAM_Z01, (uint64_t)e);
            for (int k = 0; k < zd; k++) g->z01[e * zd + k] = (float)cg_rng_normal(&r);
        }
        g->vols = g->mvols;
    } else {
        st = cg_nn_params_add(&g->G, "volume", 3, (int64_t[]){D, D, D}, NULL);
        if (!st) st = cg_nn_params_alloc(&g->G); /* zero volume */
        g->Gp = &g->G, g->vols = g->G.param;
    }
    if (!st && !(cfg->ema_decay >= 0 && cfg->ema_decay < 1))
        st = cg_error(CG_ERR_ARG, "CryoGAN: EMA decay %g must be in [0, 1) (0: off)", cfg->ema_decay);
    if (!st && cfg->ema_decay > 0) st = cg_nn_params_enable_ema(g->Gp);
    if (!st) st = cg_gan_sim_create(&g->sim, D, data->pixel_size_A);
    if (!st) st = cg_gan_critic_create(&g->critic, &g->cfg.critic, B, cfg->seed);
    if (st) return cg_gan_destroy(g), st;
    g->real = cg_malloc(B * DD, sizeof(float), "real batch");
    g->fake = cg_malloc(B * DD, sizeof(float), "fake batch");
    g->interp = cg_malloc(B * DD, sizeof(float), "interpolates");
    g->gx = cg_malloc(B * DD, sizeof(float), "critic input gradient");
    g->dout = cg_malloc(B, sizeof(float), "critic output gradient");
    g->out_r = cg_malloc(B, sizeof(float), "critic output");
    g->out_f = cg_malloc(B, sizeof(float), "critic output");
    g->parts = cg_malloc(B, sizeof(cg_sim_particle), "particles");
    g->gp_scratch = cg_malloc(cg_nn_gradient_penalty_scratch_floats(B, DD, cg_gan_critic_params(g->critic)->count),
                              sizeof(float), "gradient-penalty scratch");
    int ok = g->real && g->fake && g->interp && g->gx && g->dout && g->out_r && g->out_f && g->parts && g->gp_scratch;
    for (int i = 0; i < CG_GAN_CHUNKS; i++)
        ok = ok && (g->part[i] = cg_malloc((size_t)g->nvol * D3, sizeof(float), "volume gradient"));
    if (!ok) return cg_gan_destroy(g), CG_ERR_NOMEM;
    g->noise_sd = cfg->noise_sd;
    if (g->noise_sd < 0) st = cg_gan_estimate_noise_sd(data->images, data->n, D, &g->noise_sd);
    if (st) return cg_gan_destroy(g), st;
    *out = g;
    return CG_OK;
}

float *cg_gan_volume(cg_gan *g) { return g->G.param; }

cg_status cg_gan_swap_ema(cg_gan *g) {
    cg_nn_params *P = g->Gp;
    if (!P->ema) return cg_error(CG_ERR_ARG, "CryoGAN: no EMA of the generator (ema_decay 0)");
    float *t = P->param;
    P->param = P->ema, P->ema = t;
    if (!g->mgen) g->vols = P->param;
    return CG_OK;
}
int64_t cg_gan_gen_step(const cg_gan *g) { return g->Gp->step; }
cg_nn_params *cg_gan_generator_params(cg_gan *g) { return g->Gp; }

void cg_gan_path_latent(const cg_gan *g, double a, float *z) {
    const int zd = g->cfg.gen.zdim;
    for (int k = 0; k < zd; k++) z[k] = (float)((1 - a) * g->z01[k] + a * g->z01[zd + k]);
}

cg_status cg_gan_generate(cg_gan *g, const float *z, int n, float *vol) {
    if (!g->mgen) return cg_error(CG_ERR_ARG, "CryoGAN: cg_gan_generate needs the manifold generator");
    return cg_gan_mgen_forward(g->mgen, z, n, vol);
}

/* Manifold mode: the nvol volumes of draw key `key` (latents keyed (seed, STREAM_LATENT,
 * key * nvol + v)); the activations stay for a backward. */
static cg_status gen_volumes(cg_gan *g, int64_t key) {
    if (!g->mgen) return CG_OK;
    const int zd = g->cfg.gen.zdim;
    for (int v = 0; v < g->nvol; v++) {
        cg_rng r;
        cg_rng_init(&r, g->cfg.seed, CG_GAN_STREAM_LATENT, (uint64_t)(key * g->nvol + v));
        if (g->cfg.latent == CG_GAN_LATENT_GAUSSIAN)
            for (int k = 0; k < zd; k++) g->zs[v * zd + k] = (float)cg_rng_normal(&r);
        else
            cg_gan_path_latent(g, cg_rng_uniform(&r), g->zs + (size_t)v * zd);
    }
    return cg_gan_mgen_forward(g->mgen, g->zs, g->nvol, g->mvols);
}
double cg_gan_noise_sd(const cg_gan *g) { return g->noise_sd; }
const cg_gan_config *cg_gan_get_config(const cg_gan *g) { return &g->cfg; }

/* Low-pass radius (cycles per box) at a generator step. */
static double lowpass_radius(const cg_gan *g, int64_t step) {
    const double ny = g->D / 2.0;
    if (g->cfg.lowpass_start_A <= 0) return ny;
    double r0 = g->D * g->data.pixel_size_A / g->cfg.lowpass_start_A;
    if (r0 >= ny) return ny;
    double t = (double)step / (double)g->cfg.ramp_steps;
    return t >= 1 ? ny : r0 + t * (ny - r0);
}

static void draw_particle(const cg_gan *g, int64_t idx, cg_sim_particle *p) {
    cg_rng r;
    memset(p, 0, sizeof *p);
    cg_rng_init(&r, g->cfg.seed, CG_RNG_STREAM_POSE, (uint64_t)idx);
    cg_random_euler(&r, &p->euler_rad[0], &p->euler_rad[1], &p->euler_rad[2]);
    cg_rng_init(&r, g->cfg.seed, CG_RNG_STREAM_CTF, (uint64_t)idx);
    int64_t j = (int64_t)cg_rng_below(&r, (uint64_t)g->data.n);
    p->ctf = g->data.ctf ? g->data.ctf[j] : cg_ctf_params_default();
    if (g->data.origin_A) p->origin_A[0] = g->data.origin_A[2 * j], p->origin_A[1] = g->data.origin_A[2 * j + 1];
}

/* Chunk c of a batch of B: [lo, hi). */
static void chunk_range(int B, int c, int *lo, int *hi) {
    *lo = (int)((int64_t)B * c / CG_GAN_CHUNKS), *hi = (int)((int64_t)B * (c + 1) / CG_GAN_CHUNKS);
}

/* fake[b] = LP(sim(vol_(b mod nvol), p_b) + noise), draw indices idx0 + b. */
static cg_status make_fake(cg_gan *g, const float *vols, int64_t idx0, double r) {
    const int B = g->cfg.batch, D = g->D;
    const size_t DD = (size_t)D * D;
    cg_status sts[CG_GAN_CHUNKS] = {CG_OK};
#pragma omp parallel for schedule(static)
    for (int c = 0; c < CG_GAN_CHUNKS; c++) {
        int lo, hi;
        chunk_range(B, c, &lo, &hi);
        for (int b = lo; b < hi && !sts[c]; b++) {
            float *img = g->fake + b * DD;
            draw_particle(g, idx0 + b, &g->parts[b]);
            const float *vol = vols + (size_t)(b % g->nvol) * D * DD;
            sts[c] = cg_gan_sim_forward(g->sim, c, vol, &g->parts[b], g->data.ctf != NULL, r, img);
            if (g->noise_sd > 0) cg_image_add_noise(img, DD, g->noise_sd, g->cfg.seed, (uint64_t)(idx0 + b));
            cg_gan_sim_lowpass(g->sim, c, img, r);
        }
    }
    for (int c = 0; c < CG_GAN_CHUNKS; c++)
        if (sts[c]) return sts[c];
    return CG_OK;
}

static void make_real(cg_gan *g, int64_t idx0, double r) {
    const int B = g->cfg.batch, D = g->D;
    const size_t DD = (size_t)D * D;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < CG_GAN_CHUNKS; c++) {
        int lo, hi;
        chunk_range(B, c, &lo, &hi);
        for (int b = lo; b < hi; b++) {
            cg_rng rr;
            cg_rng_init(&rr, g->cfg.seed, CG_RNG_STREAM_BATCH, (uint64_t)(idx0 + b));
            int64_t j = (int64_t)cg_rng_below(&rr, (uint64_t)g->data.n);
            memcpy(g->real + b * DD, g->data.images + (size_t)j * DD, DD * sizeof(float));
            cg_gan_sim_lowpass(g->sim, c, g->real + b * DD, r);
        }
    }
}

static double mean_f(const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return s / n;
}

/* One critic update on draws idx0..idx0+B-1. */
static cg_status critic_step(cg_gan *g, int64_t idx0, double r, double *w, double *gp) {
    const int B = g->cfg.batch;
    const size_t DD = (size_t)g->D * g->D;
    cg_nn_params *P = cg_gan_critic_params(g->critic);
    cg_status st = make_fake(g, g->vols, idx0, r);
    if (st) return st;
    make_real(g, idx0, r);
    cg_nn_params_zero_grad(P);
    for (int b = 0; b < B; b++) g->dout[b] = -1.0f / B;
    st = cg_gan_critic_forward(g->critic, g->real, B, g->out_r);
    if (!st) st = cg_gan_critic_backward(g->critic, g->dout, NULL, P->grad);
    for (int b = 0; b < B; b++) g->dout[b] = 1.0f / B;
    if (!st) st = cg_gan_critic_forward(g->critic, g->fake, B, g->out_f);
    if (!st) st = cg_gan_critic_backward(g->critic, g->dout, NULL, P->grad);
    if (st) return st;
    for (int b = 0; b < B; b++) {
        cg_rng rr;
        cg_rng_init(&rr, g->cfg.seed, CG_RNG_STREAM_TRAIN, (uint64_t)(idx0 + b));
        const float e = (float)cg_rng_uniform(&rr);
        for (size_t i = 0; i < DD; i++) g->interp[b * DD + i] = e * g->real[b * DD + i] + (1 - e) * g->fake[b * DD + i];
    }
    cg_gan_critic_set_batch(g->critic, B);
    cg_nn_gp_config gc = {.lambda = g->cfg.gp_weight, .rel_step = 1e-3f};
    double pen = 0;
    if (g->cfg.gp_weight > 0)
        st = cg_nn_gradient_penalty(&pen, P->grad, P->count, cg_gan_critic_fn, g->critic, g->interp, B, (int64_t)DD,
                                    &gc, g->gp_scratch);
    if (st) return st;
    cg_nn_adam_config ac = cg_nn_adam_defaults();
    ac.beta1 = g->cfg.beta1, ac.beta2 = g->cfg.beta2;
    cg_nn_adam_step(P, &ac, g->cfg.lr_critic);
    *w = mean_f(g->out_r, B) - mean_f(g->out_f, B);
    *gp = pen;
    return CG_OK;
}

/* grad_vol[nvol][D^3] (=) of L_G with respect to each of the nvol volumes vols[nvol][D^3]. */
static cg_status gen_grad_at(cg_gan *g, const float *vols, int64_t idx0, double r, double *loss, float *grad_vol) {
    const int B = g->cfg.batch, D = g->D;
    const size_t DD = (size_t)D * D, D3 = DD * D * (size_t)g->nvol;
    cg_status st = make_fake(g, vols, idx0, r);
    if (st) return st;
    for (int b = 0; b < B; b++) g->dout[b] = -1.0f / B;
    st = cg_gan_critic_forward(g->critic, g->fake, B, g->out_f);
    if (!st) st = cg_gan_critic_backward(g->critic, g->dout, g->gx, NULL);
    if (st) return st;
    *loss = -mean_f(g->out_f, B);
    cg_status sts[CG_GAN_CHUNKS] = {CG_OK};
#pragma omp parallel for schedule(static)
    for (int c = 0; c < CG_GAN_CHUNKS; c++) {
        int lo, hi;
        chunk_range(B, c, &lo, &hi);
        memset(g->part[c], 0, D3 * sizeof(float));
        for (int b = lo; b < hi && !sts[c]; b++)
            sts[c] = cg_gan_sim_adjoint(g->sim, c, g->gx + b * DD, &g->parts[b], g->data.ctf != NULL, r,
                                        g->part[c] + (size_t)(b % g->nvol) * DD * D);
    }
    for (int c = 0; c < CG_GAN_CHUNKS; c++)
        if (sts[c]) return sts[c];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < D3; i++) {
        float s = 0;
        for (int c = 0; c < CG_GAN_CHUNKS; c++) s += g->part[c][i];
        grad_vol[i] = s;
    }
    return CG_OK;
}

static int64_t draw_index(const cg_gan *g, int64_t gen_step, int k) {
    return (gen_step * (g->cfg.n_critic + 1) + k) * g->cfg.batch;
}

cg_status cg_gan_generator_grad(cg_gan *g, const float *vol, int64_t gen_step, double *loss, float *grad_vol) {
    if (g->mgen) return cg_error(CG_ERR_ARG, "CryoGAN: cg_gan_generator_grad is for the voxel generator");
    return gen_grad_at(g, vol, draw_index(g, gen_step, g->cfg.n_critic), lowpass_radius(g, gen_step), loss, grad_vol);
}

double cg_gan_diversity(const float *vols, const float *z, int nvol, size_t D3, int zdim, double scale,
                        double weight, double *mean_rho, float *grad_vols) {
    const int P = nvol / 2;
    double loss = 0, rsum = 0;
    for (int p = 0; p < P; p++) {
        const float *a = vols + (size_t)(2 * p) * D3, *b = a + D3;
        const float *za = z + (size_t)(2 * p) * zdim, *zb = za + zdim;
        double dv = 0, dz = 0;
        for (size_t i = 0; i < D3; i++) dv += fabs((double)a[i] - b[i]);
        for (int k = 0; k < zdim; k++) dz += fabs((double)za[k] - zb[k]);
        const double den = scale * (dz / zdim) * (double)D3;
        if (!(den > 0)) continue; /* identical latents: no direction to seek */
        const double rho = dv / den, q = 1.0 / (rho + 1e-5);
        loss += weight * q / P, rsum += rho / P;
        if (grad_vols) { /* dL/dV_a = -(weight / P) q^2 sign(a - b) / den; dL/dV_b the opposite */
            const float c = (float)(-weight / P * q * q / den);
            float *ga = grad_vols + (size_t)(2 * p) * D3, *gb = ga + D3;
            for (size_t i = 0; i < D3; i++) {
                const float s = a[i] > b[i] ? c : a[i] < b[i] ? -c : 0.0f;
                ga[i] += s, gb[i] -= s;
            }
        }
    }
    if (mean_rho) *mean_rho = rsum;
    return loss;
}

/* Manifold: volumes of step `step` must be generated (gen_volumes); grad (=) w.r.t. theta;
 * *loss includes the mode-seeking term, *rho (optional) its mean rho. */
static cg_status mgen_grad(cg_gan *g, int64_t step, double *loss, float *grad, double *rho) {
    cg_status st = gen_grad_at(g, g->mvols, draw_index(g, step, g->cfg.n_critic), lowpass_radius(g, step), loss,
                               g->gvols);
    if (st) return st;
    const size_t D3 = (size_t)g->D * g->D * g->D;
    const double scale = g->cfg.gen.scale > 0 ? g->cfg.gen.scale : 1.0;
    *loss += cg_gan_diversity(g->mvols, g->zs, g->nvol, D3, g->cfg.gen.zdim, scale, g->cfg.diversity_weight, rho,
                              g->cfg.diversity_weight > 0 ? g->gvols : NULL);
    cg_nn_zero(grad, g->Gp->count);
    return cg_gan_mgen_backward(g->mgen, g->gvols, grad);
}

cg_status cg_gan_generator_param_grad(cg_gan *g, int64_t gen_step, double *loss, float *grad) {
    if (!g->mgen) return cg_error(CG_ERR_ARG, "CryoGAN: cg_gan_generator_param_grad is for the manifold generator");
    cg_status st = gen_volumes(g, gen_step);
    return st ? st : mgen_grad(g, gen_step, loss, grad, NULL);
}

cg_status cg_gan_step(cg_gan *g, cg_gan_stats *s) {
    const int64_t step = g->Gp->step;
    const double r = lowpass_radius(g, step);
    double wsum = 0, gpsum = 0;
    cg_status st0 = gen_volumes(g, step); /* the generator is fixed during the critic steps */
    if (st0) return st0;
    for (int k = 0; k < g->cfg.n_critic; k++) {
        double w, gp;
        cg_status st = critic_step(g, draw_index(g, step, k), r, &w, &gp);
        if (st) return st;
        wsum += w, gpsum += gp;
        if (cg_interrupted()) return cg_error(CG_ERR_INTERRUPTED, "CryoGAN: interrupted");
    }
    double loss = 0, rho = 0;
    cg_status st = g->mgen ? mgen_grad(g, step, &loss, g->Gp->grad, &rho)
                           : gen_grad_at(g, g->G.param, draw_index(g, step, g->cfg.n_critic), r, &loss, g->G.grad);
    if (st) return st;
    cg_nn_adam_config ac = cg_nn_adam_defaults();
    ac.beta1 = g->cfg.beta1, ac.beta2 = g->cfg.beta2;
    cg_nn_adam_step(g->Gp, &ac, g->cfg.lr_gen);
    const size_t D3 = (size_t)g->D * g->D * g->D;
    if (!g->mgen) /* (the manifold generator's softplus output is positive by construction) */
        for (size_t i = 0; i < D3; i++)
            if (!(g->G.param[i] > 0)) g->G.param[i] = 0; /* positivity by projection (NaN -> 0 too) */
    cg_nn_ema_update(g->Gp, g->cfg.ema_decay); /* (no-op without an EMA) */
    if (s) {
        s->gen_step = g->Gp->step;
        s->w_estimate = wsum / g->cfg.n_critic, s->gp = gpsum / g->cfg.n_critic, s->gen_loss = loss;
        s->lowpass_A = r >= g->D / 2.0 ? 0 : g->D * g->data.pixel_size_A / r;
        s->diversity = rho;
    }
    return CG_OK;
}

cg_status cg_gan_critic_only(cg_gan *g, int n, double *w) {
    double acc = 0;
    int cnt = 0;
    const double r = lowpass_radius(g, g->Gp->step);
    for (int k = 0; k < n; k++) {
        double wk, gp;
        cg_status st = gen_volumes(g, CRITIC_ONLY_BASE + g->critic_only_steps);
        if (st) return st;
        st = critic_step(g, CRITIC_ONLY_BASE + g->critic_only_steps++ * g->cfg.batch, r, &wk, &gp);
        if (st) return st;
        if (k >= n / 2) acc += wk, cnt++;
    }
    *w = cnt ? acc / cnt : 0;
    return CG_OK;
}

/* ---------------------------------------------------------------- checkpoints ----------- */
static gan_blob make_blob(const cg_gan *g) {
    gan_blob b;
    memset(&b, 0, sizeof b);
    b.D = g->D, b.batch = g->cfg.batch, b.n_critic = g->cfg.n_critic;
    b.channels = g->cfg.critic.channels, b.n_blocks = g->cfg.critic.n_blocks, b.slope = g->cfg.critic.slope;
    b.seed = g->cfg.seed;
    if (g->mgen)
        b.latent = g->cfg.latent, b.n_vol = g->nvol, b.zdim = g->cfg.gen.zdim, b.gen_channels = g->cfg.gen.channels,
        b.gen_slope = g->cfg.gen.slope, b.gen_scale = g->cfg.gen.scale;
    return b;
}

static uint32_t blob_bytes(const cg_gan *g) { return g->mgen ? (uint32_t)sizeof(gan_blob) : (uint32_t)VOXEL_BLOB_BYTES; }

cg_status cg_gan_save(const cg_gan *g, const char *dir) {
    gan_blob b = make_blob(g);
    char *pg = cg_path_join(dir, "generator.ckpt"), *pc = cg_path_join(dir, "critic.ckpt");
    cg_status st = pg && pc ? CG_OK : cg_error(CG_ERR_NOMEM, "checkpoint path");
    const int gflags = CG_NN_CKPT_WITH_OPTIM | (g->Gp->ema ? CG_NN_CKPT_WITH_EMA : 0);
    if (!st) st = cg_nn_checkpoint_save(pg, g->Gp, gflags, &b, blob_bytes(g));
    if (!st) st = cg_nn_checkpoint_save(pc, cg_gan_critic_params(g->critic), CG_NN_CKPT_WITH_OPTIM, &b, blob_bytes(g));
    free(pg), free(pc);
    return st;
}

cg_status cg_gan_load(cg_gan *g, const char *dir) {
    gan_blob b = make_blob(g);
    char *pg = cg_path_join(dir, "generator.ckpt"), *pc = cg_path_join(dir, "critic.ckpt");
    cg_status st = pg && pc ? CG_OK : cg_error(CG_ERR_NOMEM, "checkpoint path");
    /* (an EMA switched on at this resume starts at the loaded weights: cg_nn_checkpoint_load) */
    if (!st) st = cg_nn_checkpoint_load(pg, g->Gp, &b, blob_bytes(g));
    if (!st) st = cg_nn_checkpoint_load(pc, cg_gan_critic_params(g->critic), &b, blob_bytes(g));
    if (st)
        cg_error_prefix(st, "resuming CryoGAN (mode (voxel or --manifold), box, batch, n-critic, critic shape, seed and "
                            "the manifold generator's shape, latent and volumes per step must match; to train a new critic on this "
                            "generator use --init-generator)");
    free(pg), free(pc);
    return st;
}

cg_status cg_gan_init_generator(cg_gan *g, const char *dir) {
    char *pg = cg_path_join(dir, "generator.ckpt");
    if (!pg) return cg_error(CG_ERR_NOMEM, "checkpoint path");
    const gan_blob want = make_blob(g);
    gan_blob have;
    memset(&have, 0, sizeof have);
    uint32_t nb = 0;
    cg_status st = cg_nn_checkpoint_read_config(pg, &have, sizeof have, &nb);
    const char *what = NULL;
    if (!st) {
        if (nb != blob_bytes(g))
            what = nb == VOXEL_BLOB_BYTES ? "it holds a voxel volume, this run is --manifold"
                                          : "it holds a --manifold generator, this run is voxel (CryoGAN)";
        else if (have.D != want.D) what = "box size";
        else if (g->mgen && have.latent != want.latent) what = "latent kind (--latent)";
        else if (g->mgen && (have.zdim != want.zdim || have.gen_channels != want.gen_channels ||
                             have.gen_slope != want.gen_slope || have.gen_scale != want.gen_scale))
            what = "generator shape (--zdim, --gen-channels, --gen-scale)";
        else if (g->mgen && want.latent == CG_GAN_LATENT_PATH && have.seed != want.seed)
            what = "seed (it fixes the latent path's end points z0, z1)";
        if (what) st = cg_error(CG_ERR_FORMAT, "%s: the generator does not fit this run: %s differs", pg, what);
    }
    if (!st) st = cg_nn_checkpoint_load(pg, g->Gp, NULL, 0);
    if (!st) {
        memset(g->Gp->m, 0, g->Gp->count * sizeof(float));
        memset(g->Gp->v, 0, g->Gp->count * sizeof(float));
        g->Gp->step = 0;
    }
    if (st) cg_error_prefix(st, "initialising the CryoGAN generator from %s", dir);
    free(pg);
    return st;
}
