/* CryoGAN: reconstruction by matching image distributions with a Wasserstein GAN, without
 * pose estimation (Gupta et al., "CryoGAN: a new reconstruction paradigm for single-particle
 * cryo-EM via deep adversarial learning", IEEE TCI 2021). The "generator" is a voxel volume
 * passed through the physics simulator (uniform random pose, a shift and CTF drawn from the
 * data's particles, white noise at the data's level); a small CNN critic tells simulated from
 * real images; the loss is Wasserstein with gradient penalty (Gulrajani et al., "Improved
 * training of Wasserstein GANs", NeurIPS 2017).
 *
 * Conventions (CONVENTIONS.md): volume v[z][y][x] of D^3 voxels, images img[y][x] of D^2,
 * centre D/2; projection = real-space line sums (cg_project_real); a simulated clean image is
 *     img = F^-1[ M(k) F[P_A V] ],   M(k) = CTF(k) exp(+2 pi i k.o / D) [|k| < r_lp]
 * (o = the particle's origin in pixels: the image is the centred projection translated by -o),
 * r_lp = the low-pass radius in pixels (D/2: everything below Nyquist; Nyquist terms are
 * dropped so the operator and its adjoint are both exact on real images). Its adjoint is
 * P_A^T F^-1[ conj(M) F[g] ].
 *
 * Determinism: every random draw is keyed by (seed, stream, draw index) with draw index =
 * ((gen_step * (n_critic + 1) + k) * batch + b), k = 0..n_critic-1 for the critic steps and
 * k = n_critic for the generator step; images are processed in CG_GAN_CHUNKS fixed chunks
 * whose partial volume gradients are added in chunk order. Same seed and thread count give
 * the same bytes (BLAS inside the critic may depend on its own thread count).
 * Errors: cg_status with a cg_error() message; nothing here exits.
 */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"
#include "cryogen/ctf.h"
#include "cryogen/nn.h"
#include "cryogen/simulate.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CG_GAN_CHUNKS 8 /* fixed work split of a batch (thread-count independent sums) */

/* ---------------------------------------------------------------- simulator ------------- */
/* The differentiable image formation model of one method step: per-chunk FFT workspaces.
 * create: D >= 8 even, pixel_size_A > 0. Errors: CG_ERR_ARG, CG_ERR_NOMEM. */
typedef struct cg_gan_sim cg_gan_sim;
cg_status cg_gan_sim_create(cg_gan_sim **out, int D, double pixel_size_A);
void cg_gan_sim_destroy(cg_gan_sim *s); /* accepts NULL */
/* Clean image (=) img[D*D] = F^-1[M F[P_A vol]] for particle p (euler_rad, origin_A, ctf used;
 * apply_ctf 0: CTF = 1), low-pass radius r_lp_px (cycles per box; D/2 = Nyquist).
 * ws in [0, CG_GAN_CHUNKS): the workspace; one thread per ws at a time.
 * Errors: CG_ERR_RANGE for invalid CTF parameters. */
cg_status cg_gan_sim_forward(cg_gan_sim *s, int ws, const float *vol, const cg_sim_particle *p, int apply_ctf,
                             double r_lp_px, float *img);
/* Adjoint: vol[D^3] += P_A^T F^-1[conj(M) F[g]] for an image-space gradient g[D*D]. */
cg_status cg_gan_sim_adjoint(cg_gan_sim *s, int ws, const float *g, const cg_sim_particle *p, int apply_ctf,
                             double r_lp_px, float *vol);
/* img (in place) = F^-1[ [|k| < r_lp_px] F[img] ] (no-op when r_lp_px >= D/2). */
void cg_gan_sim_lowpass(cg_gan_sim *s, int ws, float *img, double r_lp_px);

/* Noise standard deviation of particle images from their background: pixels with
 * |r - c| > D/2 (the corners outside the particle circle), variance about each image's own
 * background mean, averaged over up to 2000 images spread evenly over the set. Slightly
 * overestimates when the CTF spreads signal beyond the circle. Errors: CG_ERR_ARG. */
cg_status cg_gan_estimate_noise_sd(const float *images, int64_t n, int D, double *sd);

/* ---------------------------------------------------------------- critic ---------------- */
/* CryoGAN-style CNN on [B][1][D][D]: n_blocks x (conv3x3 pad 1 -> LeakyReLU -> maxpool 2),
 * channels doubling from `channels`, then linear -> 1. n_blocks = 0 picks as many blocks as
 * keep the map >= 4 px (at most 4). Parameters: He-uniform weights, zero biases, from
 * (seed, CG_RNG_STREAM_INIT, tensor index). */
typedef struct {
    int D;
    int channels;   /* first block's channels (default 16) */
    int n_blocks;   /* 0: automatic */
    float slope;    /* LeakyReLU slope (0.2) */
} cg_gan_critic_config;
typedef struct cg_gan_critic cg_gan_critic;
cg_status cg_gan_critic_create(cg_gan_critic **out, const cg_gan_critic_config *cfg, int max_batch, uint64_t seed);
void cg_gan_critic_destroy(cg_gan_critic *c); /* accepts NULL */
cg_nn_params *cg_gan_critic_params(cg_gan_critic *c);
/* Forward of B <= max_batch images x[B][D*D] -> out[B] (=). The activations are kept for
 * backward; x must stay unchanged until then. */
cg_status cg_gan_critic_forward(cg_gan_critic *c, const float *x, int B, float *out);
/* Backward of sum_b dout[b] D(x_b) for the last forward: grad_x[B][D*D] WRITTEN (=) when
 * non-NULL, parameter gradients ACCUMULATED (+=) into grad_theta (layout of the params) when
 * non-NULL. */
cg_status cg_gan_critic_backward(cg_gan_critic *c, const float *dout, float *grad_x, float *grad_theta);
/* cg_nn_critic_fn for cg_nn_gradient_penalty: ctx = the critic, batch set by
 * cg_gan_critic_set_batch; forward then backward with dout = 1. */
void cg_gan_critic_set_batch(cg_gan_critic *c, int B);
cg_status cg_gan_critic_fn(void *ctx, const float *x, float *grad_x, float *grad_theta);

/* ---------------------------------------------------------------- manifold generator ---- */
/* Multi-CryoGAN's generator (Gupta et al. 2020): a 3D CNN from a latent z[zdim] to a positive
 * volume [D][D][D] (src/gan/manifold.c):
 *   z -> linear -> [C][D/8]^3 -> LeakyReLU -> 3 x (upsample x2 -> conv3d 3^3 pad 1 -> LeakyReLU)
 *   with channels C -> C/2 -> C/4 -> 1, the last activation scale * softplus instead of LeakyReLU
 *   (scale: the expected voxel magnitude of the data, as the voxel generator's learning rate).
 * D >= 16 divisible by 8, C >= 4. Parameters He-uniform from (seed, CG_RNG_STREAM_INIT,
 * tensor index), biases 0 except the last (-3). */
typedef struct {
    int D;
    int zdim;
    int channels;  /* C (default 32) */
    float slope;   /* LeakyReLU slope (0.2) */
    float scale;   /* output scale (0: 1) */
} cg_gan_mgen_config;
typedef struct cg_gan_mgen cg_gan_mgen;
cg_status cg_gan_mgen_create(cg_gan_mgen **out, const cg_gan_mgen_config *cfg, int max_batch, uint64_t seed);
void cg_gan_mgen_destroy(cg_gan_mgen *m); /* accepts NULL */
cg_nn_params *cg_gan_mgen_params(cg_gan_mgen *m);
const cg_gan_mgen_config *cg_gan_mgen_get_config(const cg_gan_mgen *m);
/* vol[B][D^3] (=) from z[B][zdim], B <= max_batch; activations kept for backward (z must stay
 * unchanged until then). */
cg_status cg_gan_mgen_forward(cg_gan_mgen *m, const float *z, int B, float *vol);
/* Parameter gradients of sum dvol . vol for the last forward ACCUMULATED (+=) into grad_theta
 * (layout of the params). */
cg_status cg_gan_mgen_backward(cg_gan_mgen *m, const float *dvol, float *grad_theta);

/* Cluster a path of n volumes (path point i at latent a = i/(n-1)) into K contiguous blocks
 * from their similarity matrix S[n][n] (the FSC cross-conformation matrix, FSC area): the cuts
 * 0 < cut[0] < .. < cut[K-2] < n maximise (mean within-block off-diagonal S) - (mean
 * between-block S), by exhaustive search. proportion[K] = the fraction of the latent interval
 * [0, 1] of each block (a block ends half-way between its last point and the next block's
 * first); as a ~ U[0, 1] this is the fraction of simulated particles per cluster. Our reading
 * of Multi-CryoGAN's rule (the blocks of the path's FSC matrix and their share of the latent
 * interval); see docs/gan.md. K in 2..min(n, 8). *score (optional) = the maximised contrast. */
cg_status cg_gan_path_clusters(const double *S, int n, int K, int *cut, double *proportion, double *score);

/* ---------------------------------------------------------------- training -------------- */
typedef struct {
    int64_t n;
    int D;
    double pixel_size_A;
    const float *images;        /* [n][D*D], borrowed for the trainer's lifetime */
    const cg_ctf_params *ctf;   /* [n], or NULL: no CTF */
    const double *origin_A;     /* [n][2] rlnOriginX/YAngst, or NULL: no shifts */
} cg_gan_data;

typedef struct {
    int batch;            /* images per critic/generator step (default 32) */
    int n_critic;         /* critic steps per generator step (5) */
    float gp_weight;      /* lambda (10) */
    float lr_gen, lr_critic;   /* Adam learning rates (voxel units / step; 1e-4 critic) */
    float beta1, beta2;   /* Adam (0.5, 0.9) for both */
    uint64_t seed;
    double noise_sd;      /* noise added to simulated images; < 0: estimate from the data */
    double lowpass_start_A;    /* 0: off; else low-pass both real and simulated images to this
                                  resolution at step 0, relaxed linearly to Nyquist at ramp_steps */
    int64_t ramp_steps;   /* generator steps of the low-pass ramp */
    cg_gan_critic_config critic;
    /* Multi-CryoGAN (manifold = 1): the generator is a cg_gan_mgen instead of a voxel volume.
     * Each generator step draws n_vol latents (a ~ U[0, 1] each, z = (1 - a) z0 + a z1 with z0,
     * z1 fixed N(0, I) draws; or z ~ N(0, I) with latent = CG_GAN_LATENT_GAUSSIAN), generates the
     * n_vol volumes once (the generator is fixed during the critic steps), and simulated image b
     * of every critic and generator batch of that step comes from volume b mod n_vol. */
    int manifold;
    int latent;            /* CG_GAN_LATENT_PATH or CG_GAN_LATENT_GAUSSIAN */
    int n_vol;             /* volumes per generator step (default 8; <= batch) */
    cg_gan_mgen_config gen;
    /* Manifold mode: weight of the mode-seeking term added to the generator loss (0: off; not
     * in the checkpoint, so it may change on resume); see cg_gan_diversity. */
    float diversity_weight;
    /* Exponential moving average of the generator's weights (voxel volume or network), updated
     * after every generator step: ema = d ema + (1 - d) w (Yazici et al., "The unusual
     * effectiveness of averaging in GAN training", ICLR 2019). 0: off. It averages out the
     * generator's oscillation about the equilibrium; training itself is unchanged, the EMA is
     * only read out (cg_gan_swap_ema). Kept in the generator checkpoint when on; resuming with
     * it on from a checkpoint without one starts it at the loaded weights. */
    float ema_decay;
} cg_gan_config;
enum { CG_GAN_LATENT_PATH = 0, CG_GAN_LATENT_GAUSSIAN = 1 };
#define CG_GAN_STREAM_LATENT (CG_RNG_STREAM_USER + 70)  /* per-step latents: index step * n_vol + v */
#define CG_GAN_STREAM_Z01 (CG_RNG_STREAM_USER + 71)     /* z0 (index 0) and z1 (index 1) */
/* batch 32, n_critic 5, gp 10, lr_gen 1e-3 x (data scale: set by the caller), lr_critic 1e-4,
 * betas (0.5, 0.9), seed 0, noise estimated, no low-pass ramp, critic 16 channels, auto blocks. */
cg_gan_config cg_gan_config_default(void);

typedef struct {
    int64_t gen_step;     /* generator steps completed */
    double w_estimate;    /* mean over this step's critic iterations of mean D(real) - mean D(fake) */
    double gp;            /* mean gradient penalty over the critic iterations */
    double gen_loss;      /* -mean D(fake) at the generator step (+ the mode-seeking term, manifold) */
    double lowpass_A;     /* resolution of the low-pass used (0: Nyquist) */
    double diversity;     /* manifold mode: mean rho of cg_gan_diversity over the step's pairs */
} cg_gan_stats;

/* Mode-seeking regularisation (Mao et al., "Mode seeking generative adversarial networks for
 * diverse image synthesis", CVPR 2019) for the manifold generator, on the step's volumes paired
 * (0, 1), (2, 3), ...:
 *     rho_p = mean_voxels |V_2p - V_2p+1| / (scale * mean_k |z_2p - z_2p+1|)
 *     L_div = weight * mean_p 1 / (rho_p + 1e-5)
 * (small when the generator's output changes with the latent). Returns L_div; *mean_rho
 * (optional) = mean_p rho_p; grad_vols[nvol][D3] += dL_div/dV when non-NULL. nvol < 2: 0. */
double cg_gan_diversity(const float *vols, const float *z, int nvol, size_t D3, int zdim, double scale,
                        double weight, double *mean_rho, float *grad_vols);

typedef struct cg_gan cg_gan;
/* Build: volume at zero (Adam state for it), critic, simulator, noise level (estimated from
 * data when cfg->noise_sd < 0). `data` must outlive the trainer. Errors: CG_ERR_ARG, NOMEM. */
cg_status cg_gan_create(cg_gan **out, const cg_gan_config *cfg, const cg_gan_data *data);
void cg_gan_destroy(cg_gan *g); /* accepts NULL */
/* n_critic critic steps then one generator step (positivity projection after it). */
cg_status cg_gan_step(cg_gan *g, cg_gan_stats *st);
/* Only critic steps (volume fixed): n steps, *w = mean W estimate over the last half. Used to
 * measure how far the current volume's images are from the data with a critic trained for a
 * fixed budget. Advances the critic's step counter (and so its random draws). */
cg_status cg_gan_critic_only(cg_gan *g, int n, double *w);
/* Generator loss L = -mean_b D(sim_b(vol)) and its gradient grad_vol[D^3] (=) for the
 * generator draws of step `gen_step` (no update). For tests and diagnostics. Voxel mode only. */
cg_status cg_gan_generator_grad(cg_gan *g, const float *vol, int64_t gen_step, double *loss, float *grad_vol);
/* Manifold mode: L = -mean_b D(sim_b(G_theta(z_b))) (+ L_div of cg_gan_diversity when
 * cfg.diversity_weight > 0) for the draws of step `gen_step` and its gradient with respect to
 * the generator's parameters, grad[count] (=) (no update). */
cg_status cg_gan_generator_param_grad(cg_gan *g, int64_t gen_step, double *loss, float *grad);
/* The generator's parameters (voxel mode: the volume; manifold: the network). */
cg_nn_params *cg_gan_generator_params(cg_gan *g);
/* Latent of path point a: z = (1 - a) z0 + a z1, z[zdim] (manifold mode). */
void cg_gan_path_latent(const cg_gan *g, double a, float *z);
/* Volumes vol[n][D^3] (=) generated at latents z[n][zdim] (manifold mode; n <= batch). */
cg_status cg_gan_generate(cg_gan *g, const float *z, int n, float *vol);
/* Exchange the generator's live weights with their EMA (cfg.ema_decay > 0), so that
 * cg_gan_volume / cg_gan_generate read the average; call again to exchange them back before
 * the next cg_gan_step. CG_ERR_ARG without an EMA. */
cg_status cg_gan_swap_ema(cg_gan *g);
float *cg_gan_volume(cg_gan *g);            /* D^3, owned by g; writable (e.g. to set a start); voxel mode */
int64_t cg_gan_gen_step(const cg_gan *g);
double cg_gan_noise_sd(const cg_gan *g);
const cg_gan_config *cg_gan_get_config(const cg_gan *g);
/* Checkpoints: DIR/generator.ckpt (volume + Adam state [+ EMA]) and DIR/critic.ckpt, with a
 * config blob of what fixes the shapes and the random draws: box, batch, n_critic, the critic's
 * shape, the seed and (manifold mode) the latent kind, volumes per step and the generator's
 * shape; these must match on load (learning rates, gp weight, low-pass and EMA decay may
 * change). Atomic writes. */
cg_status cg_gan_save(const cg_gan *g, const char *dir);
cg_status cg_gan_load(cg_gan *g, const char *dir);
/* Warm start (not a resume): the generator's weights (and its EMA when both the file and g
 * have one) from DIR/generator.ckpt; the critic stays as created, Adam's moments are zeroed
 * and the step counter is 0, so the batch, n_critic, critic and volumes per step may differ
 * from the run that wrote DIR. The mode, box and (manifold) the generator's shape, latent kind
 * and seed (which fixes the path's z0, z1) must match. Errors: CG_ERR_FORMAT / CG_ERR_IO with
 * a message naming the file and the first mismatch. */
cg_status cg_gan_init_generator(cg_gan *g, const char *dir);

#ifdef __cplusplus
}
#endif
