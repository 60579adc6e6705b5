/* Linear inverse problems in medical imaging with a score-based prior (issue 9): sparse-view CT
 * and undersampled MRI, solved with an unconditional EDM denoiser (score.h) whose measurements
 * enter only at sampling time.
 *
 * References:
 *  - Y. Song, L. Shen, L. Xing, S. Ermon, "Solving inverse problems in medical imaging with
 *    score-based generative models", ICLR 2022: y = P(Lambda) T x + noise; Algorithm (PC sampling
 *    with data consistency): at noise level sigma_i, y_i = y + sigma_i P(Lambda) T z,
 *    x <- T^-1[ lambda Lambda P^-1(Lambda) y_i + (1 - lambda) Lambda T x + (I - Lambda) T x ],
 *    then a reverse-diffusion predictor and a Langevin corrector (signal-to-noise ratio r:
 *    eps = 2 (r |z| / |score|)^2).
 *  - A. C. Kak, M. Slaney, "Principles of computerized tomographic imaging", ch. 3: parallel-beam
 *    filtered back-projection, the band-limited ramp h(0) = 1/4, h(n odd) = -1/(pi n)^2, h(n even) = 0.
 *  - Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from error
 *    visibility to structural similarity", IEEE TIP 2004 (SSIM: Gaussian window 11, sigma 1.5,
 *    K1 = 0.01, K2 = 0.03).
 *
 * Conventions:
 *  - Images img[y][x], D x D, float, pixel size 1; the rotation centre is pixel (D/2, D/2)
 *    (CONVENTIONS.md). A pixel at index (ix, iy) sits at u = ix - D/2, v = iy - D/2.
 *  - CT: view angle theta (radians), detector coordinate s = u cos(theta) + v sin(theta); bin j
 *    of n_det sits at s = (j - n_det/2) det_spacing_px. Sinograms sino[view][n_det], values are
 *    line integrals (pixel value x length in pixels). The projector is pixel-driven: each pixel is
 *    split into ss x ss sub-pixel points, ss = ceil(1 / det_spacing_px), so neighbouring points
 *    are at most one bin apart, and each point's value is split linearly between the two nearest
 *    bins, divided by the bin width (each view's sum x spacing = the image's sum). Its exact
 *    adjoint interpolates the sinogram linearly at the same points. Default geometry: spacing
 *    0.5 px, n_det = 2 D (the inscribed circle is covered; a finer detector than the pixels keeps
 *    edges sharper: FBP of 180 views reaches ~31 dB on the phantoms against ~25 dB at spacing 1).
 *  - MRI: the centred orthonormal 2D DFT of the (real) image, K = F x,
 *    K[ky][kx] = (1/D) sum x[v][u] exp(-2 pi i (kx u + ky v)/D) with the origin at pixel D/2 and
 *    frequency index k + D/2 (so K[D/2][D/2] is DC). k-space is stored as kspace[ky][kx][2]
 *    (re, im). Cartesian masks acquire whole rows ky (phase encodes, readout along kx). The
 *    images are real, so K(-k) = conj K(k): the data of row ky also fix row -ky. The
 *    operators use the symmetrised row set (cg_mri_mask_symmetrise) with the data completed
 *    (cg_mri_complete), so the zero-filled inverse is exact on those rows and data consistency
 *    can be exact; masks acquired in Hermitian pairs are available (pairs = 1) and carry about
 *    half the information per acquired row.
 *  - Random numbers: Philox (seed, stream, index) with the streams below.
 *  - Errors: cg_status + cg_error() message; the library never exits.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cryogen/core.h"
#include "cryogen/score.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CG_INVERSE_STREAM_PHANTOM = 0x1A7E01, /* index: phantom number */
    CG_INVERSE_STREAM_MASK = 0x1A7E02,    /* index: 0 */
    CG_INVERSE_STREAM_SAMPLE = 0x1A7E03,  /* index: sample number */
    CG_INVERSE_STREAM_NOISE = 0x1A7E04,   /* index: 0 (measurement noise in --simulate) */
};

/* ---------------------------------------------------------------- phantoms -------------- */
/* An ellipse adding `value` inside ((p - c) rotated by -phi)^2 / (a, b)^2 <= 1. Coordinates in
 * units of D/2 about the box centre, x to the right, y UP (row 0 of the image is the top). */
typedef struct {
    double value, a, b, x0, y0, phi_deg;
} cg_ellipse;

/* The modified Shepp-Logan phantom (Toft's higher-contrast values, 10 ellipses) into e[10]; returns 10. */
int cg_shepp_logan(cg_ellipse *e);
/* img[D][D] (=) = sum of the ellipses, each pixel the mean over supersample^2 sub-pixel points
 * (partial-volume edges). supersample >= 1. */
void cg_ellipses_render(const cg_ellipse *e, int n, int D, int supersample, float *img);

typedef struct {
    int min_inner, max_inner; /* inner ellipses (lesions, ventricles): 3, 8 */
    double texture;           /* relative amplitude of a smooth random texture: 0.05 */
    int supersample;          /* 4 */
} cg_phantom2d_config;
void cg_phantom2d_defaults(cg_phantom2d_config *c);
/* Random Shepp-Logan-like phantom number `index` from (seed, CG_INVERSE_STREAM_PHANTOM, index):
 * an outer shell (value 1) around an interior of 0.2, inner ellipses adding -0.15..+0.4,
 * multiplied by (1 + texture * smooth random field), clamped to [0, 1]. Inside the inscribed
 * circle of the box. img[D][D] (=). Errors: CG_ERR_ARG. */
cg_status cg_phantom2d_random(const cg_phantom2d_config *c, uint64_t seed, int64_t index, int D, float *img);

/* ---------------------------------------------------------------- CT -------------------- */
typedef enum { CG_FBP_RAMLAK = 0, CG_FBP_SHEPP_LOGAN, CG_FBP_COSINE, CG_FBP_HANN } cg_fbp_window;
/* "ram-lak", "shepp-logan", "cosine", "hann" -> window; CG_ERR_ARG otherwise. */
cg_status cg_fbp_window_parse(const char *name, cg_fbp_window *w);
const char *cg_fbp_window_name(cg_fbp_window w);

/* Equispaced full grid theta_k = k pi / n_full; a sparse set of n views takes full-grid indices
 * round(i n_full / n), i = 0..n-1 (n <= n_full), so it is a subset of the full grid.
 * idx[n] (optional) receives those indices, angles_rad[n] the angles. CG_ERR_ARG on n > n_full. */
cg_status cg_ct_view_subset(int n, int n_full, int *idx, double *angles_rad);

/* sino[n_views][n_det] = R img (=). Views in parallel (OpenMP), deterministic. */
void cg_radon_forward(float *sino, const float *img, int D, int n_det, double det_spacing_px, const double *angles_rad,
                      int n_views);
/* img[D][D] = R^T sino (=): the exact adjoint (linear-interpolation back-projection), pixels in
 * parallel, views summed in order. */
void cg_radon_adjoint(float *img, const float *sino, int D, int n_det, double det_spacing_px, const double *angles_rad,
                      int n_views);
/* Filtered back-projection: each row convolved with the band-limited ramp (Kak-Slaney) times
 * the window, zero-padded to a power of two >= 2 n_det, then back-projected by linear
 * interpolation at the pixel centres, times pi / n_views. Views assumed spread uniformly over [0, pi). img[D][D] (=). Errors: CG_ERR_NOMEM. */
cg_status cg_fbp(float *img, const float *sino, int D, int n_det, double det_spacing_px, const double *angles_rad,
                 int n_views, cg_fbp_window window);

/* ---------------------------------------------------------------- MRI ------------------- */
typedef enum { CG_MRI_MASK_RANDOM = 0, CG_MRI_MASK_EQUISPACED = 1 } cg_mri_mask_kind;
/* Row mask m[D] (centred ky index, 1 = acquired) for acceleration R >= 1: the central rows
 * |ky| < center_fraction D / 2, then rows at random (Philox (seed, CG_INVERSE_STREAM_MASK, 0))
 * until round(D / R) rows are acquired, or every round(R)-th row (|ky| multiple of R:
 * equispaced). pairs = 1 acquires rows in Hermitian pairs (ky, -ky) (row -D/2 is its own
 * pair): for a real image the second row of a pair repeats the first (conjugated), so such a
 * mask carries about half the information of an unpaired one with as many rows. R = 1
 * acquires every row. *n_sampled (optional) = acquired rows. Errors: CG_ERR_ARG. */
cg_status cg_mri_mask(uint8_t *m, int D, double accel, double center_fraction, cg_mri_mask_kind kind, int pairs,
                      uint64_t seed, int *n_sampled);
/* sym[r] = m[r] or m[mirror of r]: the rows a real image's data determine. */
void cg_mri_mask_symmetrise(uint8_t *sym, const uint8_t *m, int D);
/* Fill the rows not acquired whose mirror is, by conjugate symmetry of a real image's
 * spectrum: K(-k) = conj K(k). In place on kspace[D][D][2]. */
void cg_mri_complete(float *kspace, const uint8_t *m, int D);
/* kspace[D][D][2] = F img (centred, orthonormal, full plane). Errors: CG_ERR_NOMEM. */
cg_status cg_mri_forward(float *kspace, const float *img, int D);
/* img[D][D] = Re(F^H kspace) (the adjoint of cg_mri_forward for real images; its exact inverse
 * on the Hermitian spectra of real images). kspace is not modified. Errors: CG_ERR_NOMEM. */
cg_status cg_mri_adjoint(float *img, const float *kspace, int D);
/* Zero-filled inverse: the acquired rows, completed by conjugate symmetry (cg_mri_complete),
 * the rest zero, then Re(F^H .) (exact on the completed rows for a real image). */
cg_status cg_mri_zero_filled(float *img, const float *kspace, const uint8_t *mask, int D);

/* ---------------------------------------------------------------- metrics --------------- */
/* PSNR = 10 log10(range^2 / MSE) in dB (range = max - min of ref when data_range <= 0). */
double cg_psnr(const float *img, const float *ref, int ny, int nx, double data_range);
/* Mean SSIM (Wang et al. 2004; Gaussian window sigma 1.5 truncated at radius 5 (11 x 11),
 * K1 0.01, K2 0.03, C = (K range)^2, computed where the whole window fits (valid region, as
 * the paper and skimage's "gaussian_weights" mode do after cropping). range as for cg_psnr. */
double cg_ssim(const float *img, const float *ref, int ny, int nx, double data_range);

/* ---------------------------------------------------------------- the measurement model - */
/* A transform T (image -> rows x row_len floats, rows are views (CT) or ky lines (MRI)), its
 * (approximate for CT: FBP; exact for MRI) inverse, and which rows are measured. */
typedef enum { CG_INVERSE_CT = 0, CG_INVERSE_MRI = 1 } cg_inverse_kind;
typedef struct cg_inverse_op cg_inverse_op;
/* CT: T = Radon transform over the full grid of n_full views (cg_ct_view_subset), measured rows
 * the n_views subset, T^-1 = FBP over the full grid with `window`. n_det detector bins. */
cg_status cg_inverse_op_ct(cg_inverse_op **out, int D, int n_det, double det_spacing_px, int n_views, int n_full,
                           cg_fbp_window window);
/* MRI: T = centred orthonormal 2D DFT, rows = ky lines of 2D floats (re, im interleaved),
 * measured rows = cg_mri_mask_symmetrise(mask): measurements passed to the sampler must be
 * completed with cg_mri_complete. */
cg_status cg_inverse_op_mri(cg_inverse_op **out, int D, const uint8_t *mask);
void cg_inverse_op_destroy(cg_inverse_op *op); /* accepts NULL */
int cg_inverse_op_rows(const cg_inverse_op *op);
int cg_inverse_op_row_len(const cg_inverse_op *op); /* floats per row */
const uint8_t *cg_inverse_op_measured(const cg_inverse_op *op);
/* meas[rows][row_len] = T img. */
cg_status cg_inverse_op_forward(const cg_inverse_op *op, const float *img, float *meas);
/* img = T^-1 meas. */
cg_status cg_inverse_op_inverse(const cg_inverse_op *op, const float *meas, float *img);

/* The data-consistency merge of Song et al. on one image (normalised units):
 *   merged = T x;  merged[r] = (1 - lambda) merged[r] + lambda y_t[r] on measured rows r,
 *   x <- x + T^-1(merged - T x)
 * (equal to x <- T^-1 merged when T^-1 T = I, as for MRI; for CT the residual form keeps the
 * unmeasured part of x instead of passing it through FBP at every step). y_t[rows][row_len]
 * holds the (noised) measurements on the measured rows (other rows ignored). merged_out
 * (optional, rows x row_len) receives the merged measurement array. scratch:
 * cg_inverse_op_scratch_count(op) floats. */
size_t cg_inverse_op_scratch_count(const cg_inverse_op *op);
cg_status cg_inverse_merge(const cg_inverse_op *op, float *x, const float *y_t, double lambda, float *merged_out,
                           float *scratch);

/* ---------------------------------------------------------------- the sampler ----------- */
typedef struct {
    int steps;                        /* noise levels N: 100 */
    double sigma_min, sigma_max, rho; /* EDM schedule (cg_edm_sigma_schedule): 0.002, 80, 7 */
    double snr;                       /* Langevin corrector signal-to-noise ratio: 0.16 */
    int corrector_steps;              /* Langevin steps per level: 1 (0: predictor only) */
    double lambda;                    /* data-consistency weight: 1 = hard */
    uint64_t seed;
} cg_inverse_sampler_config;
void cg_inverse_sampler_defaults(cg_inverse_sampler_config *c);

/* Posterior samples for measurements y[rows][row_len] (raw units; only measured rows are read)
 * with the denoiser `net` (normalised units: raw = std * x + mean from its config; the
 * measurements are normalised as y_n = (y - mean T 1) / std, exact because T is linear).
 * Sample k (k = 0..K-1) draws all its noise from (seed, CG_INVERSE_STREAM_SAMPLE, k), so the
 * result does not depend on K or batching. Per level sigma_i (i = 0..N-2):
 *   x <- merge(x, y_n + sigma_i T z, lambda)                 (z ~ N(0, I) image noise)
 *   x <- x + (s_i^2 - s_{i+1}^2) score(x, s_i) + sqrt(s_i^2 - s_{i+1}^2) z   (reverse diffusion)
 *   corrector_steps x: g = score(x, s_{i+1}), eps = 2 (snr |z| / |g|)^2, x <- x + eps g + sqrt(2 eps) z
 * score(x, s) = (D(x; s) - x) / s^2. Finally x <- merge(x, y_n + s_{N-1} T z), x <- D(x; s_{N-1}),
 * x <- merge(x, y_n, lambda). samples[K][D][D] (optional) receive each sample in raw units;
 * mean[D][D] and std[D][D] (population standard deviation over the K samples, 0 for K = 1)
 * in raw units. Progress line unless quiet. Errors: CG_ERR_ARG, CG_ERR_NOMEM, CG_ERR_INTERRUPTED. */
cg_status cg_inverse_sample(cg_score_net *net, const cg_inverse_op *op, const cg_inverse_sampler_config *c,
                            const float *y, int K, float *samples, float *mean, float *std, int quiet);

#ifdef __cplusplus
}
#endif
