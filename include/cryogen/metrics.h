/* Metrics every method is judged by: Fourier shell correlation (FSC) with resolution at the
 * 0.5 and 0.143 thresholds and the FSC area, masks, real-space correlation, volume statistics,
 * the FSC cross-conformation matrix, and rigid registration of one volume onto another
 * (rotation, translation, handedness) with the volume resampler it needs.
 *
 * Conventions (CONVENTIONS.md, fft.h):
 * - Volumes are cubic, N^3 floats, v[z][y][x] (x fastest), centre (rotation origin) at voxel
 *   (N/2, N/2, N/2). Vectors in this module are (x, y, z).
 * - Shell s holds the Fourier voxels whose signed frequency (cycles/box, cg_fft_freq) has
 *   radius |k| rounded to the nearest integer equal to s; shells run 0..N/2 (Nyquist), corner
 *   voxels beyond N/2 + 0.5 are ignored. Shell s has spatial frequency s / (N * pixel_size_A)
 *   in 1/A and resolution N * pixel_size_A / s in A. Sums run over the full sphere (the
 *   half-complex grid weighted 2 except its kx = 0 and kx = N/2 planes), so they equal the sums
 *   over the full DFT exactly.
 * - FSC(s) = sum Re(A B*) / sqrt(sum |A|^2 sum |B|^2) over the shell (0 where either is 0);
 *   FSC(0) is set to 1 by convention, as RELION does (one real DC coefficient says nothing).
 * - Resolution at a threshold t: the first shell s >= 1 with FSC(s) < t; the crossing is
 *   interpolated linearly in frequency between shells s-1 and s. If the curve never drops
 *   below t the resolution is Nyquist (2 * pixel_size_A) and `crossed` is 0.
 * - FSC area (CryoBench, Jeon et al. 2024, "AUC of FSC"): trapezoidal area under FSC(s) against
 *   s / N in cycles/pixel for s = 0..N/2, so at most 0.5 (even N).
 * - FSC matrix (Multi-CryoGAN, Gupta et al. 2020): entry (i, j) = FSC area between volumes i
 *   and j; the diagonal is the area of a volume with itself (0.5).
 *
 * Thread safety: every function is re-entrant; the heavy ones use OpenMP inside with
 * reductions in a fixed order, so results do not depend on the thread count.
 *
 * References: van Heel & Schatz 2005 (FSC); Rosenthal & Henderson 2003 (0.143); CryoBench
 * (Jeon et al. 2024); Multi-CryoGAN (Gupta et al. 2020).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- FSC ------------------- */
typedef struct {
    int box;              /* N */
    double pixel_size_A;
    int nshells;          /* N/2 + 1: shells 0..N/2 */
    double *fsc;          /* [nshells] */
    double *power_a;      /* [nshells] sum |A|^2 over the shell */
    double *power_b;      /* [nshells] sum |B|^2 */
    int64_t *nvox;        /* [nshells] Fourier voxels in the shell (full sphere) */
    double res_fsc05_A, res_fsc0143_A;
    int crossed_05, crossed_0143; /* 1 when the curve really drops below the threshold */
    double area;          /* FSC area in cycles/pixel, <= 0.5 */
} cg_fsc_result;

/* FSC between volumes a and b (N^3 each). mask (N^3, may be NULL) multiplies both volumes
 * first. Fills *out (free with cg_fsc_result_free). Errors: N < 2, allocation. */
cg_status cg_fsc_compute(const float *a, const float *b, int N, double pixel_size_A, const float *mask,
                         cg_fsc_result *out);
void cg_fsc_result_free(cg_fsc_result *r); /* frees the arrays; accepts a zeroed struct */

/* Fractional shell where fsc[] first drops below threshold (searching s >= 1), interpolated
 * linearly between s-1 and s; nshells - 1 and *crossed = 0 when it never does. */
double cg_fsc_threshold_shell(const double *fsc, int nshells, double threshold, int *crossed);
/* Resolution in A for a fractional shell: N * pixel_size_A / shell (infinity for shell 0). */
double cg_fsc_shell_resolution_A(double shell, int N, double pixel_size_A);
/* Trapezoidal area under fsc[0..nshells) against s / N (cycles/pixel). */
double cg_fsc_area(const double *fsc, int nshells, int N);
/* Fill res_*, crossed_*, area from fsc[] (used by cg_fsc_compute; public for tests). */
void cg_fsc_summarise(cg_fsc_result *r);

/* FSC area for every pair of nvol volumes (each N^3): area[i * nvol + j], symmetric. Each
 * volume is transformed once; memory ~ nvol * N^3 * 4 bytes. mask may be NULL. */
cg_status cg_fsc_matrix(const float *const *vols, int nvol, int N, const float *mask, double *area);

/* ---------------------------------------------------------------- FSC output ------------ */
/* The FSC as a JSON object (no trailing newline): box, pixel size, thresholds, area and the
 * per-shell table (shell, frequency 1/A, resolution A, FSC); `indent` spaces before each line
 * after the first. Infinite resolutions (shell 0) are written as null. */
void cg_fsc_json_write(FILE *f, const cg_fsc_result *r, int indent);
/* SVG plot of one or more FSC curves against spatial frequency (1/A, resolution in A on the top
 * axis) with the 0.5 and 0.143 lines; labels[i] may be NULL. Written atomically. */
cg_status cg_fsc_plot_save(const char *path, const cg_fsc_result *const *curves, const char *const *labels,
                           int ncurves, const char *title);
/* Per-shell table on a stream: "# shell  freq_invA  resolution_A  fsc" then one row per shell. */
void cg_fsc_table_write(FILE *f, const cg_fsc_result *r);

/* ---------------------------------------------------------------- masks ----------------- */
/* Soft sphere about the centre: 1 for r <= radius_px, a raised cosine
 * 0.5 (1 + cos(pi (r - radius) / edge)) for radius < r < radius + edge, 0 beyond. */
cg_status cg_mask_soft_sphere(float *mask, int N, double radius_px, double edge_px);

/* ---------------------------------------------------------------- statistics ------------ */
typedef struct {
    double min, max, mean, std, rms, sum; /* weighted by the mask when one is given */
    double weight;                        /* sum of mask weights (voxel count without mask) */
} cg_volume_stats;
/* Statistics of v[0..n); mask (may be NULL) gives weights in [0, 1] (min/max over mask > 0). */
void cg_volume_stats_compute(const float *v, size_t n, const float *mask, cg_volume_stats *out);
/* Pearson correlation of a and b, weighted by mask (may be NULL); 0 when either is constant. */
double cg_real_space_correlation(const float *a, const float *b, size_t n, const float *mask);

/* ---------------------------------------------------------------- resampling ------------ */
typedef enum { CG_INTERP_LINEAR = 1, CG_INTERP_CUBIC = 3 } cg_interp;
/* out(r) = in(Q^T (r - c - t) + c), c = (N/2, N/2, N/2), for every voxel r of the N^3 output:
 * the input turned by Q (orthogonal: a rotation, or a rotation times a reflection) about the
 * centre, then translated by t = shift_px (x, y, z). Samples outside the input are 0.
 * CG_INTERP_LINEAR is trilinear; CG_INTERP_CUBIC is Catmull-Rom (interpolating, sharper).
 * out != in. */
cg_status cg_volume_transform(const float *in, int N, const double Q[9], const double shift_px[3], cg_interp interp,
                              float *out);
/* ---------------------------------------------------------------- alignment ------------- */
typedef struct {
    int n_rotations;      /* global grid size (super-Fibonacci quasi-uniform), default 8000 */
    int coarse_box;       /* box of the downsampled copy for the global search, default 24 */
    double coarse_shells; /* low-pass radius of the global search in coarse shells, default 7 */
    int refine_box;       /* box of the local refinement, default 64 (capped at N) */
    int n_candidates;     /* best orientations per hand refined locally, default 3 */
    int try_mirror;       /* also search the mirrored hand, default 1 */
} cg_align_params;
void cg_align_params_default(cg_align_params *p);

/* The transform found maps `mov` onto `ref`: aligned(r) = mov(M^T (r - c - t) + c) with
 * M = Q = R F, F = diag(-1, 1, 1) when mirrored (else the identity), i.e.
 * aligned = cg_volume_transform(mov, Q, t). R is also given as RELION Euler angles
 * (cg_euler_to_matrix(rot, tilt, psi) == R). */
typedef struct {
    double R[9];
    double Q[9];
    double rot_rad, tilt_rad, psi_rad;
    double shift_px[3];
    double shift_A[3];
    int mirrored;
    double score;          /* normalised cross-correlation at the optimum (refinement level) */
    double score_other_hand; /* best refined score of the other hand (NaN when not searched) */
} cg_align_result;

/* Register mov onto ref (both N^3, N >= 8). */
cg_status cg_align_volumes(const float *ref, const float *mov, int N, double pixel_size_A, const cg_align_params *p,
                           cg_align_result *res);
/* aligned = mov transformed by res (Catmull-Rom). */
cg_status cg_align_apply(const float *mov, int N, const cg_align_result *res, float *aligned);

/* Quasi-uniform rotations (super-Fibonacci spiral, Alexa 2022): n unit quaternions (w, x, y, z)
 * into q[4 n], w >= 0. Deterministic. */
void cg_rotation_grid(int n, double *q);

#ifdef __cplusplus
}
#endif
