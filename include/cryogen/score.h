/* Score-based models for cryo-EM images (issue 8): an EDM denoiser of 2D projections (a small
 * conditional U-Net with Karras et al.'s preconditioning), its training loop, the EDM
 * Heun sampler, and score-distillation (SDS) reconstruction of a volume from one image.
 *
 * References:
 *  - T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based
 *    generative models" (EDM), NeurIPS 2022: Table 1 (preconditioning, loss weight, training
 *    noise distribution), Algorithm 2 (Heun sampler with churn), Eq. 5 (sigma schedule).
 *  - Score-distillation reconstruction: Algorithm 1 of the score-based random-tomography paper
 *    cited in issue 8 (volume from zero; per step the identity view against the image and M-1
 *    uniform random views against their denoised selves, back-projected with the exact adjoint,
 *    plain SGD). Only the algorithm as stated in the issue is implemented; see docs/score.md.
 *
 * Conventions:
 *  - Images are img[y][x], D x D, float; batches [B][D][D] (one channel).
 *  - "Normalised units": (pixel - img_mean) / img_std with the dataset's global mean and
 *    standard deviation (stored in the model config), so the data have zero mean and unit
 *    variance; sigma_data = 0.5 as in EDM. Sigmas are in normalised units.
 *  - Volumes v[z][y][x], D^3; projections are cg_project_real (line sums along z, CONVENTIONS.md),
 *    back-projections its exact adjoint cg_project_real_adjoint.
 *  - Random numbers: Philox keyed by (seed, stream, index) with the streams below, indices given
 *    per function, so results do not depend on thread counts or batch splits (BLAS aside).
 *  - Errors: cg_status with a cg_error() message; nothing exits.
 *  - Threads: a cg_score_net is used from one thread at a time; kernels parallelise inside.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cryogen/core.h"
#include "cryogen/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Philox streams of this module. */
enum {
    CG_SCORE_STREAM_TRAIN = 0x5C0E01, /* index: step * batch + item */
    CG_SCORE_STREAM_SAMPLE = 0x5C0E02, /* index: sample number */
    CG_SCORE_STREAM_SDS = 0x5C0E03,    /* index: image number */
};

#define CG_SCORE_MAX_LEVELS 4
#define CG_SCORE_MAX_RES_BLOCKS 3
#define CG_SCORE_CONFIG_VERSION 1

/* The model configuration, stored verbatim as the checkpoint's config blob (fixed-size POD). */
typedef struct {
    int32_t version;                       /* CG_SCORE_CONFIG_VERSION */
    int32_t D;                             /* image box, divisible by 2^(levels-1) */
    int32_t levels;                        /* resolution levels, 2..CG_SCORE_MAX_LEVELS */
    int32_t base_channels;                 /* channels at full resolution */
    int32_t ch_mult[CG_SCORE_MAX_LEVELS];  /* channels at level l = base * ch_mult[l] */
    int32_t emb_dim;                       /* sinusoidal noise embedding width (even) */
    int32_t groups;                        /* group-norm groups (divides every channel count) */
    float sigma_data;                      /* 0.5 */
    float img_mean, img_std;               /* dataset normalisation (raw pixel units) */
    float mask_radius_px;                  /* circular mask radius used in training (0: none) */
    int32_t res_blocks;                    /* residual blocks after each stage's block, 0..3 (a
                                              former reserved field: older checkpoints read as 0) */
    int32_t attn_levels;                   /* self-attention after the stages of the attn_levels
                                              lowest-resolution levels, 0..levels (a former
                                              reserved field: older checkpoints read as 0) */
    int32_t reserved[2];                   /* zero */
} cg_score_config;

/* D = 32, 3 levels, 16 channels x (1, 2, 2), emb 32, 4 groups, sigma_data 0.5, mean 0, std 1,
 * mask radius D/2, no residual blocks, no attention. */
void cg_score_config_default(cg_score_config *c, int D);
/* CG_ERR_ARG with the reason when the configuration cannot be built. */
cg_status cg_score_config_check(const cg_score_config *c);

/* ---------------------------------------------------------------- EDM preconditioning ---- */
typedef struct {
    double c_skip, c_out, c_in, c_noise; /* D(x) = c_skip x + c_out F(c_in x; c_noise) */
    double weight;                       /* loss weight lambda(sigma) = (s^2 + sd^2) / (s sd)^2 */
} cg_edm_precond;
cg_edm_precond cg_edm_precond_at(double sigma, double sigma_data);

/* ---------------------------------------------------------------- the network ----------- */
/* U-Net F(x; c_noise) on [B][D][D]:
 *   emb = SiLU(Linear(emb_dim -> 4C)(timestep_embedding(250 c_noise, emb_dim, 10^4)))
 *   down level l: h_l = block(pool(h_{l-1}) or x), block = SiLU(GroupNorm(conv3x3 + Linear(emb)))
 *   bottom: a second block at the lowest level
 *   up level l: g_l = block(concat(upsample2(g_{l+1}), h_l))
 *   out = conv3x3(g_0 -> 1)
 * With res_blocks R > 0 every stage (each down level, the bottom, each up level) is followed by
 * R residual blocks r(h) = h + block(h) at the same width, their norm scale initialised to 0
 * (each starts as the identity). With attn_levels A > 0 the stages of the A lowest-resolution
 * levels end in a residual single-head self-attention block
 *   a(h) = h + proj(attention(qkv(GroupNorm(h))))   (1x1 convolutions; proj starts at zero),
 * the spatial attention of the DDPM / EDM U-Nets.
 * Parameters are named "<block>.conv.weight" etc.; see score_net.c. */
typedef struct cg_score_net cg_score_net;
/* Build with initial weights from (seed, CG_RNG_STREAM_INIT, tensor index). The config is
 * copied. Errors: CG_ERR_ARG (config), CG_ERR_NOMEM. */
cg_status cg_score_net_create(cg_score_net **out, const cg_score_config *cfg, uint64_t seed);
void cg_score_net_destroy(cg_score_net *n); /* accepts NULL */
/* Size the activation memory for batches of up to max_batch images. */
cg_status cg_score_net_reserve(cg_score_net *n, int max_batch);
cg_nn_params *cg_score_net_params(cg_score_net *n);
const cg_score_config *cg_score_net_config(const cg_score_net *n);
/* Raw network: in[B][D][D] (already scaled by c_in), c_noise[B] -> *out[B][D][D] (points into
 * the net, valid until the next forward). `in` must stay unchanged until backward. */
cg_status cg_score_net_forward(cg_score_net *n, const float *in, const float *c_noise, int B, const float **out);
/* Backward of the last forward: parameter gradients +=; din[B][D][D] += dLoss/din when non-NULL. */
cg_status cg_score_net_backward(cg_score_net *n, const float *dout, float *din);
/* Copy the EMA weights into the live weights (inference with the averaged model). */
cg_status cg_score_net_use_ema(cg_score_net *n);

/* Preconditioned denoiser in normalised units: out[B][D][D] = D(x; sigma), sigma[B] > 0.
 * Processes the batch in chunks of the reserved size. out may alias x. */
cg_status cg_score_denoise(cg_score_net *n, float *out, const float *x, const float *sigma, int64_t B);

/* EDM training loss for clean images y[B][D][D] with noise n = sigma * eps (noise[B][D][D]):
 *   loss = 1/(B D^2) sum_b lambda(sigma_b) |D(y_b + n_b; sigma_b) - y_b|^2,
 * returned in *loss (double). With `backward`, parameter gradients += dloss/dtheta and, when
 * dy is non-NULL, dy[B][D][D] += dloss/d(y + n) through the network input (for gradient checks). */
cg_status cg_score_loss(cg_score_net *n, double *loss, const float *y, const float *noise, const float *sigma, int B,
                        int backward, float *dy);

/* ---------------------------------------------------------------- training -------------- */
typedef struct {
    int64_t steps;        /* total optimiser steps (a resumed run continues to this count) */
    int batch;            /* images per step */
    float lr;             /* Adam learning rate (after a linear warm-up) */
    int64_t warmup;       /* warm-up steps */
    int lr_decay;         /* cg_nn_lr_decay: CG_NN_LR_CONSTANT (default), _LINEAR or _COSINE */
    float lr_min;         /* learning rate reached at the last step when decaying */
    int64_t decay_start;  /* the decay runs from max(warmup, decay_start) to steps; constant before */
    float ema_decay;      /* EMA of the weights, e.g. 0.999 */
    float p_mean, p_std;  /* ln sigma ~ N(p_mean, p_std^2): -1.2, 1.2 */
    int shift_px;         /* integer translations in [-shift_px, shift_px] per axis (zero fill) */
    int dihedral;         /* 1: random 90-degree rotations and flips (exact) */
    uint64_t seed;
    int64_t ckpt_every;   /* checkpoint every N steps (and at the end); 0: only at the end */
    const char *out_dir;  /* DIR/denoiser.ckpt, DIR/train_loss.tsv */
    int resume;           /* continue from DIR/denoiser.ckpt when it exists */
} cg_score_train_config;
void cg_score_train_defaults(cg_score_train_config *t);
/* Learning rate of optimiser step `step` (0-based): linear warm-up over `warmup` steps, then
 * constant until max(warmup, decay_start), then lr_decay from lr to lr_min at step `steps`
 * (cg_nn_lr_at with those fields). A function of the step alone, so a resumed run follows
 * the same schedule. */
float cg_score_lr_at(const cg_score_train_config *tc, int64_t step);

typedef struct {
    int64_t start_step, end_step;
    double last_loss;       /* mean loss of the last 50 steps (or fewer) */
    double images_per_s;    /* training throughput of this run */
    double wall_s;
} cg_score_train_result;

/* Train on images[n][D][D] (raw pixel units; mean/std are computed here and stored in the
 * model config unless resuming, which keeps the checkpoint's). model_cfg gives the
 * architecture (its D must match). Writes DIR/denoiser.ckpt (params, Adam, EMA; atomic) and
 * DIR/train_loss.tsv. Progress line on stderr unless quiet. Interruptible (cg_interrupted):
 * returns CG_ERR_INTERRUPTED after writing a checkpoint. Item b of step s draws image,
 * augmentation, sigma and noise from (seed, CG_SCORE_STREAM_TRAIN, s * batch + b), so a
 * resumed run sees the same batches as an uninterrupted one. */
cg_status cg_score_train(const cg_score_config *model_cfg, const cg_score_train_config *tc, const float *images,
                         int64_t n, cg_score_train_result *res);

/* Load DIR/denoiser.ckpt (or a checkpoint path) into a new net, using its EMA weights when
 * present. Errors: CG_ERR_IO, CG_ERR_FORMAT. */
cg_status cg_score_load(cg_score_net **out, const char *path_or_dir, int use_ema);

/* ---------------------------------------------------------------- sampling -------------- */
/* EDM schedule (Eq. 5): t_i = (smax^(1/rho) + i/(N-1) (smin^(1/rho) - smax^(1/rho)))^rho for
 * i < N, t_N = 0; t[N + 1]. N >= 1 (N = 1 gives t_0 = smax). */
void cg_edm_sigma_schedule(double *t, int N, double sigma_min, double sigma_max, double rho);

typedef struct {
    int steps;                       /* N, 18 */
    double sigma_min, sigma_max, rho; /* 0.002, 80, 7 */
    double S_churn, S_tmin, S_tmax, S_noise; /* 0, 0, inf, 1: deterministic */
    uint64_t seed;
} cg_edm_sampler_config;
void cg_edm_sampler_defaults(cg_edm_sampler_config *c);

/* Heun sampler (EDM Algorithm 2): out[n][D][D] in normalised units for samples
 * first .. first + n - 1; sample k draws all its noise from (seed, CG_SCORE_STREAM_SAMPLE, k)
 * in order, so the result does not depend on how samples are batched. Deterministic
 * (S_churn = 0) uses only the initial noise. nfe (optional) receives the number of denoiser
 * evaluations per sample. */
cg_status cg_score_sample(cg_score_net *net, const cg_edm_sampler_config *c, int64_t first, int64_t n, float *out,
                          int64_t *nfe);

/* ---------------------------------------------------------------- sample statistics ----- */
/* Radially averaged power spectrum of n images img[n][D][D] (D even): power[D/2 + 1], shell r
 * = frequency radius rounded to the nearest integer (cycles per box), the mean over the shell's
 * Fourier coefficients and over the images of |F(k)|^2 / D^2 (unnormalised DFT, so white noise
 * of variance s^2 gives s^2 in every shell). Each image is multiplied by a circular mask of
 * radius mask_radius_px about (D/2, D/2) first (0: no mask), as the denoiser saw its data.
 * Accumulated in double, images in order. Errors: CG_ERR_ARG, CG_ERR_NOMEM. */
cg_status cg_score_radial_power(const float *img, int64_t n, int D, float mask_radius_px, double *power);

/* ---------------------------------------------------------------- SDS reconstruction ---- */
typedef struct {
    int steps;          /* SGD steps */
    int n_random;       /* M - 1 random views per step */
    double t;           /* fixed noise level for the random views, normalised units */
    double lr;          /* SGD step (raw units: v -= lr * gradient); <= 0: 1 / (D (M)) */
    double prior_weight; /* weight of the random-view (score) terms, 1 in Algorithm 1 */
    uint64_t seed;
    const float *ctf_half; /* the image's CTF on the D x (D/2+1) half grid (cg_ctf_fill_half
                            * layout), applied to the identity view only; NULL: no CTF */
} cg_sds_config;
void cg_sds_defaults(cg_sds_config *c); /* ctf_half NULL */

/* The identity view of SDS with the image's CTF H (H = F^-1 diag(ctf) F on the centred image,
 * a real symmetric filter, so H is its own adjoint): img = H P_I vol, and its exact adjoint
 * vol += P_I^T H img. ctf_half NULL: no filter. Allocate an FFT workspace per call (the SDS
 * loop reuses one). Errors: CG_ERR_NOMEM. */
cg_status cg_sds_identity_project(const float *vol, int D, const float *ctf_half, float *img);
cg_status cg_sds_identity_backproject(const float *img, int D, const float *ctf_half, float *vol);

/* Reconstruct vol[D^3] (=) from one image img[D][D] (raw units, the view at the identity).
 * Per step: r_0 = H P_I v - img (H: the CTF filter when c->ctf_half, else the identity); for j = 1..M-1, A_j uniform random, p_j = P_{A_j} v and
 * r_j = p_j - std * D((p_j - mean)/std + t eps_j; t) - mean (the denoiser residual in raw
 * units); v -= lr (P_I^T H r_0 + prior_weight sum_j P_{A_j}^T r_j). Rotations and eps come from
 * (seed, CG_SCORE_STREAM_SDS, image_index) in order. trace[steps] (optional) receives
 * |r_0|^2 / D^2 per step. */
cg_status cg_sds_reconstruct(cg_score_net *net, const cg_sds_config *c, const float *img, int64_t image_index,
                             float *vol, double *trace);

#ifdef __cplusplus
}
#endif
