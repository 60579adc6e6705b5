/* Reconstruction with known poses: CTF-weighted Fourier-space back-projection and RELION's
 * gridding reconstruction (relion_reconstruct, BackProjector::reconstruct in RELION 3.1).
 *
 * Per image (cg_recon_insert_image): FFT of the centred image, shift by +origin, multiply by
 * the CTF c; splat data X*c and weight c^2 into a 2x-padded Fourier grid by trilinear
 * interpolation up to |k| <= D/2 (src/recon/splat.c; the same sums as physics'
 * cg_backprojector_insert_weighted, in a layout with data and weight interleaved). As RELION does,
 * the half-line kx = 0, ky < 0 of every image is left out (it is the Hermitian mirror of
 * ky > 0, so each independent Fourier sample is inserted once).
 * Finish (cg_recon_finish): Hermitian sum on the kx = 0 plane, optional Wiener term, RELION's
 * iterative gridding weights (Pipe & Menon 1999 eq. 14; Matej 2001 eq. 4: w <- w / |(w W) * K|
 * with K the 3D Kaiser-Bessel blob a = 3.8 padded voxels, alpha = 15, order 0, applied by
 * multiplying in real space with its normalised transform), data times w, inverse FFT, window
 * to D^3, RELION's soft mask outside the map (radius D/2, cosine edge 3 voxels, background
 * = the weighted mean outside), gridding correction (divide by sinc^2(pi r / (2 D)), radial r).
 * Scale: the output reproduces the volume whose line-sum projections were inserted (the
 * same scale as relion_reconstruct).
 *
 * Wiener-style regulariser (off by default, as in relion_reconstruct): before the gridding
 * iterations, weight(k) += mean_shell(weight) / SSNR(shell), which is RELION's MAP term with
 * tau^2 = SSNR * sigma^2 (BackProjector::reconstruct with update_tau2_with_fsc). SSNR is a
 * constant (--wiener-snr S) or from the half-map FSC: SSNR_half = FSC / (1 - FSC),
 * SSNR_full = 2 FSC / (1 - FSC) (twice the particles), FSC clamped to [0.001, 0.999].
 *
 * Threads and determinism: one accumulator per thread, summed in thread order by
 * cg_recon_accum_add; the finish is deterministic for any thread count. Results depend on the
 * thread count only through the floating-point order of the per-thread sums (documented,
 * tested equal to within float rounding). Memory: an accumulator holds about 12 D^3 bytes per
 * half (per thread); the finish needs about 40 D^3 bytes.
 *
 * References: RELION 3.1 src/backprojector.cpp (backproject, enforceHermitianSymmetry,
 * reconstruct, convoluteBlobRealSpace, windowToOridimRealSpace, griddingCorrect),
 * src/mask.cpp (softMaskOutsideMap), src/funcs.cpp (kaiser_Fourier_value).
 */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"
#include "cryogen/ctf.h"
#include "cryogen/fft.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- accumulation ---- */
typedef struct cg_recon_accum cg_recon_accum;
/* nhalves = 1 (one map) or 2 (half maps, summed for the full map). D even, 4..1024. */
cg_status cg_recon_accum_create(cg_recon_accum **out, int D, int nhalves);
void cg_recon_accum_destroy(cg_recon_accum *a); /* accepts NULL */
int cg_recon_accum_size(const cg_recon_accum *a);
int cg_recon_accum_nhalves(const cg_recon_accum *a);
/* dst += src (same D and nhalves). */
void cg_recon_accum_add(cg_recon_accum *dst, const cg_recon_accum *src);

/* Per-thread scratch for inserting images (FFT plan and buffers). */
typedef struct cg_recon_worker cg_recon_worker;
cg_status cg_recon_worker_create(cg_recon_worker **out, int D);
void cg_recon_worker_destroy(cg_recon_worker *w); /* accepts NULL */

/* Insert one image (D*D, img[y][x]) into half `half` (0 or 1; 0 when nhalves = 1).
 * A: RELION rotation (cg_euler_to_matrix); origin_px: rlnOriginX/Y in pixels (the image is
 * translated by +origin before insertion); ctf: NULL for no CTF (weight 1). Not thread-safe
 * on one accumulator or one worker; use one of each per thread. */
cg_status cg_recon_insert_image(cg_recon_accum *a, cg_recon_worker *w, int half, const float *img, const double A[9],
                                const double origin_px[2], const cg_ctf *ctf, double pixel_size_A);

/* ---- streaming driver over a particle set ----
 * Reads images on the fly through read_image (thread-safe; called from several threads with
 * distinct buffers), so memory stays at one image per thread plus the accumulators. Images are
 * split into contiguous blocks, one per thread (OpenMP static schedule); each thread fills its
 * own accumulator and they are summed in thread order. */
typedef struct {
    int64_t n;                  /* particles */
    int D;
    double pixel_size_A;
    const double *euler_rad;    /* [n][3] rot, tilt, psi */
    const double *origin_A;     /* [n][2] rlnOriginXAngst/YAngst, or NULL (no shifts) */
    const cg_ctf_params *ctf;   /* [n], or NULL (no CTF weighting) */
    const int *subset;          /* [n] rlnRandomSubset 1 or 2 (0 = unknown), or NULL */
    const int64_t *select;      /* indices to use (nselect of them), or NULL for all n */
    int64_t nselect;
    cg_status (*read_image)(void *user, int64_t i, float *out);
    void *user;
} cg_recon_input;

typedef struct {
    int64_t used, half_count[2];
    int subsets_from_file; /* 1: rlnRandomSubset; 0: alternating over the selection */
    double seconds;
} cg_recon_stats;

/* Insert the selected particles into acc (created with D and 1 or 2 halves). Halves: the
 * particle's rlnRandomSubset when every selected particle has one, else alternating over the
 * selection order (even positions -> half 1). `progress` (may be NULL) is updated from the
 * master thread. Errors: a failed read or bad CTF stops the run with the particle named. */
cg_status cg_recon_backproject(const cg_recon_input *in, cg_recon_accum *acc, cg_progress *progress,
                               cg_recon_stats *stats);

/* ---- finish ---- */
typedef struct {
    int gridding_iter;    /* RELION --iter, default 10 */
    const double *ssnr;   /* [D/2 + 1] per-shell SSNR for the Wiener term, NULL = none */
} cg_recon_finish_params;
void cg_recon_finish_params_default(cg_recon_finish_params *p);

/* vol (D^3) = reconstruction of half `half` (0 or 1), or of all halves summed (half = -1). */
cg_status cg_recon_finish(const cg_recon_accum *a, int half, const cg_recon_finish_params *p, float *vol);

/* SSNR per shell from a half-map FSC (see above): for_full_map = 1 gives the full-map SSNR. */
void cg_recon_ssnr_from_fsc(const double *fsc, int nshells, int for_full_map, double *ssnr);

/* Normalised Fourier transform of RELION's gridding blob (a = 3.8, alpha = 15, m = 0) at
 * rval in cycles per padded voxel, tabulated as RELION does (10000 steps on [0, 0.5), 0
 * beyond). Exposed for tests. */
double cg_recon_blob_ft(double rval);

#ifdef __cplusplus
}
#endif
