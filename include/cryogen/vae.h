/* cryoDRGN-style variational auto-encoder for continuous heterogeneity (Zhong et al. 2021,
 * "CryoDRGN: reconstruction of heterogeneous cryo-EM structures using neural networks",
 * Nat Methods 18:176). The method module: it joins the nn core (MLPs, encodings, losses,
 * Adam, checkpoints) with the physics (image spectra, shifts, CTF) and the particle I/O.
 *
 * Conventions (CONVENTIONS.md; docs/vae.md gives the derivations):
 *  - Lattice: the D x D grid of signed integer frequencies (kx, ky) in [-D/2, D/2), restricted
 *    to the open disc |k| < D/2 (so -k of every point is also on the grid; even-D Nyquist
 *    terms are excluded, as in the Fourier-slice projector). Decoder coordinates are k / D in
 *    cycles per pixel, in (-0.5, 0.5): cryoDRGN's [-0.5, 0.5] lattice without its (D+1)-th
 *    symmetrising row and column.
 *  - Hartley transform of an image: F = DFT (unnormalised, fft.h) of the image after its
 *    centre pixel D/2 moved to index 0 (project.h "spectrum"), then H(k) = Re F(k) - Im F(k).
 *    For a real image F(-k) = conj F(k), so H(-k) = Re F(k) + Im F(k); conversely
 *    Re F(k) = (H(k) + H(-k)) / 2, Im F(k) = (H(-k) - H(k)) / 2.
 *  - Image model in Hartley space: a CTF is real and even, so HT(CTF * F) = CTF * HT(F), and
 *    H_img(k) = CTF(k) * H_vol(A^T (kx, ky, 0)) with A the RELION matrix (cryoDRGN's R).
 *    The CTF is RELION's (ctf.h, positive at k = 0). cryoDRGN's CTF is the negative of it and
 *    cryoDRGN therefore inverts its images by default; we need neither sign flip, since our
 *    images and CTF share RELION's convention (particles are white; learned maps positive).
 *  - The decoder network outputs (Re, Im) of the volume's 3D DFT at a point c (cycles/px).
 *    Hermitian symmetry is imposed exactly: points in the "upper" half-space (c_z > 0, or
 *    c_z = 0 and c_y > 0, or c_z = c_y = 0 and c_x > 0) are evaluated at -c with Im negated.
 *    cryoDRGN reflects on c_z > 0 only, which leaves the plane c_z = 0 unconstrained; the
 *    tie-break makes half-lattice evaluation equal full-lattice evaluation everywhere.
 *  - Half-lattice evaluation: for an image the network runs on the origin plus one point of
 *    each pair (k, -k): H(k) = Re - Im there, H(-k) = Re + Im at its mirror.
 *  - Images: multiplied by a soft circular window (1 inside radius 0.85 D/2, linear fall-off
 *    to 0 at 0.99 D/2, centred on pixel D/2: cryoDRGN's window_mask defaults), transformed, translated by +origin
 *    (rlnOriginX/YAngst), Hartley-transformed and divided by `norm_std`, the standard deviation
 *    of the Hartley values inside the disc over a sample of particles (mean taken as 0, as
 *    cryoDRGN does).
 *  - Encoder input: the normalised Hartley values inside the disc, phase-flipped by sign(CTF)
 *    (cryoDRGN's default encoder with enc_mask = D/2).
 *  - Loss per batch: mean over images and disc points of (CTF * H_dec - H_img)^2
 *    + beta * KL / n_disc, KL = mean over images of KL(N(mu, exp(logvar)) || N(0, I))
 *    (cryoDRGN train_vae.py loss_function: gen_loss + beta * kld / mask.sum()).
 *  - Random numbers: initial weights from (seed', CG_RNG_STREAM_INIT, tensor); minibatch order
 *    of epoch e from (seed, CG_RNG_STREAM_BATCH, e); reparameterisation noise from
 *    (seed, CG_RNG_STREAM_TRAIN, e * n_particles + position in the epoch). A resumed run
 *    therefore reproduces an uninterrupted one bit for bit.
 *  - Threads: OpenMP; results do not depend on the thread count (see nn.h).
 */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"
#include "cryogen/fft.h"
#include "cryogen/particles.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CG_VAE_PE_GAUSSIAN = 0, CG_VAE_PE_GEOM_LOWF = 1 } cg_vae_pe;

/* What the encoder sees during training and in the latent pass (`--encoder-input`). The decoder
 * always reconstructs particle i's own image with its own pose and CTF. The two controls follow
 * the amortisation case study of Edelberg & Lederman (2023, arXiv:2303.07487; docs/vae.md):
 *  - PERMUTED: the encoder gets the prepared image (and CTF sign) of particle twin[i], a fixed
 *    random pairing (cg_vae_twins), the same in every epoch;
 *  - NOISE: the encoder gets white N(0, 1) values for particle i (cg_vae_noise_input with key
 *    i), also fixed per particle, and CTF 1;
 *  - FRESH_NOISE: new white noise at every visit (key (e + 1) N + i in epoch e, 0-based; the
 *    latent pass after epoch E uses the key of epoch E): the input identifies nothing.
 * The latents of PERMUTED and NOISE runs can carry information about particle i only by
 * memorising the fixed input -> latent pairs, never by reading particle i's image; those of
 * FRESH_NOISE cannot carry any (the null control). */
typedef enum {
    CG_VAE_ENC_IMAGES = 0,
    CG_VAE_ENC_PERMUTED = 1,
    CG_VAE_ENC_NOISE = 2,
    CG_VAE_ENC_FRESH_NOISE = 3
} cg_vae_enc_input;
#define CG_VAE_STREAM_TWINS (CG_RNG_STREAM_USER + 10) /* the permutation of the PERMUTED control */
#define CG_VAE_STREAM_ENC_NOISE (CG_RNG_STREAM_USER + 11) /* the inputs of the NOISE control */

/* Model and training configuration; stored in every checkpoint. Plain fixed-size fields. */
typedef struct {
    int32_t D;                        /* box size in pixels (even, >= 8) */
    int32_t zdim;                     /* latent dimension (>= 1) */
    int32_t enc_dim, enc_layers;      /* encoder hidden width, hidden->hidden layers (256, 3) */
    int32_t dec_dim, dec_layers;      /* decoder (256, 3) */
    int32_t pe;                       /* cg_vae_pe */
    int32_t pe_dim;                   /* frequencies per axis (0: D/2) */
    int32_t batch;                    /* images per step (16) */
    int32_t act;                      /* cg_nn_act of the hidden layers (CG_NN_ACT_RELU, as cryoDRGN) */
    int32_t deterministic;            /* 1: z = mu directly (no logvar, noise or KL): an auto-encoder */
    int32_t table;                    /* 1: no encoder; per-particle table of mu (and logvar) trained by Adam */
    int32_t encoder_input;            /* cg_vae_enc_input (IMAGES; the controls need an encoder, not a table) */
    double feat_sigma;                /* Gaussian feature scale (0.5) */
    double beta;                      /* KL weight (< 0 at create: 1/zdim, cryoDRGN's default) */
    double lr;                        /* Adam learning rate (1e-4) */
    uint64_t seed;
    int64_t n_table;                  /* particles in the table (table mode) */
    double pixel_size_A;              /* of the images (for CTF and output maps) */
    double norm_std;                  /* Hartley normalisation (set by the trainer) */
} cg_vae_config;

/* cryoDRGN defaults for box D and latent dimension zdim. */
cg_vae_config cg_vae_config_default(int D, int zdim);

/* Disc lattice of a D x D image (see the header comment). */
typedef struct {
    int D;
    int n;           /* points with |k| < D/2 */
    int *kx, *ky;    /* [n] signed frequencies, row-major order (ky slowest) */
    int nh;          /* half lattice: origin + one point of each (k, -k) pair */
    int *half;       /* [nh] index into kx/ky of each half point (half[0] is the origin) */
    int *mirror;     /* [nh] index of -k (-1 for the origin) */
} cg_vae_lattice;
cg_status cg_vae_lattice_init(cg_vae_lattice *L, int D);
void cg_vae_lattice_free(cg_vae_lattice *L);

/* Hartley values H(k) = Re F(k) - Im F(k) at the lattice points, from a half-complex
 * spectrum spec (D*(D/2+1), project.h layout). out[L->n] (=). */
void cg_vae_hartley_from_spectrum(const cg_vae_lattice *L, const cg_complex *spec, float *out);

/* Per-thread workspace for preparing images. */
typedef struct cg_vae_prep cg_vae_prep;
cg_status cg_vae_prep_create(cg_vae_prep **out, int D);
void cg_vae_prep_destroy(cg_vae_prep *w); /* accepts NULL */
/* Particle i of p: y[L->n] = normalised, re-centred Hartley values (divided by norm_std; pass
 * 1 for raw values), ctf[L->n] = RELION CTF at the lattice points (1 without CTF). */
cg_status cg_vae_prepare(const cg_vae_lattice *L, const cg_particles *p, int64_t i, double norm_std,
                         cg_vae_prep *w, float *y, float *ctf);
/* twin[n]: the particle whose image the encoder sees for particle i under CG_VAE_ENC_PERMUTED:
 * one random n-cycle from (seed, CG_VAE_STREAM_TWINS, 0), so twin[i] != i for n >= 2 (n = 1:
 * twin[0] = 0). Deterministic for (seed, n). */
cg_status cg_vae_twins(uint64_t seed, int64_t n, int64_t *twin);
/* Encoder input under CG_VAE_ENC_NOISE / FRESH_NOISE: y[n] = N(0, 1) draws from
 * (seed, CG_VAE_STREAM_ENC_NOISE, key), ctf[n] = 1 (key: see cg_vae_enc_input). */
void cg_vae_noise_input(uint64_t seed, int64_t key, int n, float *y, float *ctf);
/* Standard deviation of the Hartley values over up to nsample particles spread evenly over
 * the set (deterministic). Errors as cg_particles_read_image. */
cg_status cg_vae_estimate_norm(const cg_vae_lattice *L, const cg_particles *p, int64_t nsample, double *norm_std);

/* ---------------------------------------------------------------- the model ------------- */
typedef struct cg_vae cg_vae;
/* Build encoder, decoder and encoding from cfg (validated: CG_ERR_ARG with the field named).
 * Weights are initialised from cfg->seed. The model is owned by the caller. */
cg_status cg_vae_create(cg_vae **out, const cg_vae_config *cfg);
void cg_vae_destroy(cg_vae *v); /* accepts NULL */
const cg_vae_config *cg_vae_get_config(const cg_vae *v);
const cg_vae_lattice *cg_vae_get_lattice(const cg_vae *v);

typedef struct {
    double loss, mse, kl; /* loss = mse + beta * kl / n_disc */
} cg_vae_losses;

/* Forward and backward of one minibatch: y, ctf [B][n_disc] from cg_vae_prepare (the decoder's
 * targets), enc_y, enc_ctf [B][n_disc] what the encoder sees (NULL: y, ctf; the controls of
 * cg_vae_enc_input pass other images or noise), A [B][9] RELION matrices, idx[B] the particles' indices (used in table mode only; may be NULL else); noise rows draw from (seed, CG_RNG_STREAM_TRAIN, noise_row0 + b).
 * Gradients are WRITTEN (zeroed first) into both networks' stores; nothing is updated.
 * Errors: CG_ERR_ARG (B > batch). */
cg_status cg_vae_loss_grad(cg_vae *v, const float *y, const float *ctf, const float *enc_y, const float *enc_ctf,
                           const double *A, const int64_t *idx, int B, int64_t noise_row0, cg_vae_losses *out);
/* One Adam step of both networks at cfg->lr. */
void cg_vae_update(cg_vae *v);
/* mu, logvar [B][zdim] of prepared images (B <= batch). Either output may be NULL; with a
 * deterministic encoder logvar is not defined and is left untouched. */
cg_status cg_vae_encode(cg_vae *v, const float *y, const float *ctf, const int64_t *idx, int B, float *mu, float *logvar);
/* Decoder at n arbitrary 3D points c[n][3] (cycles/px) for one latent z[zdim], with the
 * Hermitian rule: re[n], im[n] (=). Any n (processed in reserved chunks). */
cg_status cg_vae_decode_points(cg_vae *v, const float *c, int64_t n, const float *z, float *re, float *im);
/* Hartley slice H[n_disc] (=) at rotation A for latent z, by half-lattice evaluation and
 * mirroring (the path training uses). */
cg_status cg_vae_decode_slice(cg_vae *v, const double A[9], const float *z, float *H);
/* Volume for latent z: decoder on the D^3 lattice inside the sphere |k| < D/2, times
 * norm_std, inverse 3D DFT, centre to voxel D/2. vol[D^3] v[z][y][x] (=), in the images'
 * units (the training images' real-space scale). */
cg_status cg_vae_volume(cg_vae *v, const float *z, float *vol);

/* The encoder (in table mode: the latent table, tensors "mu" [N][zdim] and "logvar") and
 * decoder parameter stores (for gradient checks and introspection). */
struct cg_nn_params *cg_vae_encoder_params(cg_vae *v);
struct cg_nn_params *cg_vae_decoder_params(cg_vae *v);

/* ---------------------------------------------------------------- checkpoints ----------- */
#define CG_VAE_MAX_EPOCHS 4096
/* Training state saved with the weights (the checkpoint's config blob). */
typedef struct {
    char magic[8];                 /* "CGVAE2\0\0" (CGVAE1: before encoder_input; not readable) */
    char provenance[248];          /* cg_provenance of the run that wrote the file (NUL-padded) */
    cg_vae_config cfg;
    int64_t epochs_done;
    int64_t n_particles;
    double history[CG_VAE_MAX_EPOCHS][3]; /* per epoch: mean loss, mse, kl */
} cg_vae_state;
/* Save weights, Adam state and *st into one checkpoint file (atomic). */
cg_status cg_vae_save(const cg_vae *v, const cg_vae_state *st, const char *path);
/* Read the state blob of a checkpoint (to build the matching model). */
cg_status cg_vae_read_state(const char *path, cg_vae_state *st);
/* Load weights and Adam state into a model built from the file's own config. */
cg_status cg_vae_load(cg_vae *v, const char *path);

/* ---------------------------------------------------------------- training driver ------- */
typedef struct {
    const char *particles;  /* STAR or .cs */
    const char *out_dir;
    const char *load_dir;   /* resume from the latest weights.E.ckpt there, or NULL */
    int epochs;             /* total epochs (a resumed run continues up to this) */
    int64_t norm_sample;    /* particles used for norm_std (1000) */
    cg_vae_config cfg;      /* model config (ignored when load_dir is given) */
} cg_vae_train_opts;
/* Train; after every epoch E (1-based) writes OUT/weights.E.ckpt, OUT/z.E.txt (mu, one row per
 * particle in file order), OUT/logvar.E.txt (not with a deterministic encoder) and OUT/loss.txt,
 * each with a provenance line.
 * With cfg.encoder_input PERMUTED, OUT/twins.txt gives twin[i] (0-based) per particle.
 * Progress on stderr (loss, KL, images/s, ETA). Errors: CG_ERR_ARG (bad options, no poses),
 * the readers' errors, CG_ERR_INTERRUPTED (outputs of finished epochs are kept). */
cg_status cg_vae_train(const cg_vae_train_opts *o);
/* The latest weights.E.ckpt in dir (E largest): *epoch = E, path malloc'd into *path. */
cg_status cg_vae_find_latest(const char *dir, int *epoch, char **path);

#ifdef __cplusplus
}
#endif
