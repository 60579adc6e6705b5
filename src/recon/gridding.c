/* RELION's gridding reconstruction from the accumulated data and weight grids.
 *
 * Steps (RELION 3.1 BackProjector::reconstruct with do_map = false unless a Wiener SSNR is
 * given; see include/cryogen/recon.h):
 *   1. fold the splat grids into the FFT layout of the padded box M = 2D (splat.c) and
 *      sum Hermitian pairs on the kx = 0 plane
 *      (enforceHermitianSymmetry: data(y,z) + conj data(-y,-z), weights added);
 *   2. optional Wiener term: W += mean_shell(W) / SSNR(shell), shell = round(|q| / 2);
 *   3. gridding weights w (double), 1 inside |q| < D and 0 outside, then `iter` times
 *      w <- w / max(1e-6, |FFT(blob_ft(r) * IFFT(w W))|) inside the sphere;
 *   4. F = data * w, inverse FFT, window the central D^3, soft mask outside radius D/2 (cosine
 *      edge 3 voxels, background = weighted mean outside), divide by sinc^2(pi r / M).
 * Units: q in padded-grid voxels (image frequency k maps to q = 2k); r in voxels.
 * FFT scaling (fft.h): inverse divides by M^3, forward unnormalised; the blob convolution is
 * therefore a pure convolution with a kernel summing to 1, and the final inverse reproduces
 * the volume whose (unnormalised) slices were inserted.
 * Determinism: element-wise loops only, plus serial double sums (shell means, background).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/recon.h"
#include "recon/recon_internal.h"

#define BLOB_TABLE 10000

void cg_recon_finish_params_default(cg_recon_finish_params *p) {
    p->gridding_iter = 10;
    p->ssnr = NULL;
}

/* I_{3/2}(x) / x^{3/2} (modified spherical Bessel form), with its series near 0. */
static double i32_over(double x) {
    if (x < 1e-3) return sqrt(2.0 / M_PI) * (1.0 / 3.0 + x * x / 30.0);
    return sqrt(2.0 / M_PI) * (cosh(x) - sinh(x) / x) / (x * x);
}
/* J_{3/2}(x) / x^{3/2} */
static double j32_over(double x) {
    if (x < 1e-3) return sqrt(2.0 / M_PI) * (1.0 / 3.0 - x * x / 30.0);
    return sqrt(2.0 / M_PI) * (sin(x) / x - cos(x)) / (x * x);
}

/* Kaiser-Bessel blob transform (order 0, 3D) up to a constant factor (kaiser_Fourier_value). */
static double blob_ft_raw(double w) {
    const double a = 3.8, alpha = 15.0, C = 2 * M_PI * a * w;
    double sigma = sqrt(fabs(alpha * alpha - C * C));
    return C > alpha ? j32_over(sigma) : i32_over(sigma);
}

double cg_recon_blob_ft(double rval) {
    const double sampling = 0.5 / BLOB_TABLE;
    int idx = (int)(fabs(rval) / sampling);
    if (idx >= BLOB_TABLE) return 0.0;
    return blob_ft_raw(idx * sampling) / blob_ft_raw(0.0);
}

void cg_recon_ssnr_from_fsc(const double *fsc, int nshells, int for_full_map, double *ssnr) {
    for (int s = 0; s < nshells; s++) {
        double f = fsc[s];
        f = f < 0.001 ? 0.001 : f > 0.999 ? 0.999 : f;
        ssnr[s] = (for_full_map ? 2.0 : 1.0) * f / (1.0 - f);
    }
}

typedef struct {
    int D, M, nh;
    size_t nc;
    cg_complex *H; /* data, M x M x (M/2+1) */
    float *W;      /* weights */
} grids;

static inline int q2_at(int M, int z, int y, int x) {
    int qz = cg_fft_freq(z, M), qy = cg_fft_freq(y, M);
    return x * x + qy * qy + qz * qz;
}

/* Number of x >= 0 in row (z, y) with x^2 + qy^2 + qz^2 < D^2 (the reconstruction sphere). */
static inline int row_len(int M, int D, int z, int y) {
    int qz = cg_fft_freq(z, M), qy = cg_fft_freq(y, M), r2 = D * D - qy * qy - qz * qz;
    if (r2 <= 0) return 0;
    int x = (int)sqrt((double)r2);
    while (x * x >= r2) x--;
    while ((x + 1) * (x + 1) < r2) x++;
    return x + 1;
}

static void hermitian_x0(grids *g) {
    const int M = g->M, nh = g->nh;
    for (int z = 0; z < M; z++)
        for (int y = 0; y < M; y++) {
            size_t i = ((size_t)z * M + y) * nh, j = ((size_t)((M - z) % M) * M + (size_t)((M - y) % M)) * nh;
            if (j <= i) continue;
            cg_complex s = g->H[i] + conjf(g->H[j]);
            g->H[i] = s;
            g->H[j] = conjf(s);
            float w = g->W[i] + g->W[j];
            g->W[i] = g->W[j] = w;
        }
}

static cg_status add_wiener(grids *g, const double *ssnr) {
    const int M = g->M, D = g->D, ns = D / 2 + 1;
    double *sum = cg_calloc((size_t)ns * 2, sizeof(double), "Wiener shell sums");
    if (!sum) return CG_ERR_NOMEM;
    for (int z = 0; z < M; z++)
        for (int y = 0; y < M; y++)
            for (int x = 0; x < g->nh; x++) {
                int q2 = q2_at(M, z, y, x);
                if (q2 >= D * D) continue;
                int s = (int)lround(sqrt((double)q2) / 2.0);
                sum[2 * s] += g->W[((size_t)z * M + y) * g->nh + x];
                sum[2 * s + 1] += 1;
            }
    for (int z = 0; z < M; z++)
        for (int y = 0; y < M; y++)
            for (int x = 0; x < g->nh; x++) {
                int q2 = q2_at(M, z, y, x);
                if (q2 >= D * D) continue;
                int s = (int)lround(sqrt((double)q2) / 2.0);
                double mean = sum[2 * s + 1] > 0 ? sum[2 * s] / sum[2 * s + 1] : 0;
                if (ssnr[s] > 0) g->W[((size_t)z * M + y) * g->nh + x] += (float)(mean / ssnr[s]);
            }
    free(sum);
    return CG_OK;
}

/* RELION's table of the normalised blob transform at integer squared radii: the real-space
 * multiplier at distance r = sqrt(r2) voxels of the padded box M is tab_ftblob(r / M), RELION's
 * 10000-step table on [0, 0.5) read by truncation, 0 beyond. Indexing by the integer r2 avoids
 * a square root per voxel and per iteration. tab has 3 (M/2)^2 + 1 entries. */
static void blob_table_r2(float *tab, int M) {
    const double sampling = 0.5 / BLOB_TABLE, f0 = blob_ft_raw(0.0);
    const int n = 3 * (M / 2) * (M / 2) + 1;
    for (int r2 = 0; r2 < n; r2++) {
        int idx = (int)(sqrt((double)r2) / M / sampling);
        tab[r2] = idx < BLOB_TABLE ? (float)(blob_ft_raw(idx * sampling) / f0) : 0.0f;
    }
}

/* Multiply a real M^3 array (origin at index 0) by the blob transform of the radius. */
static void blob_multiply(float *real, int M, const float *tab) {
#pragma omp parallel for schedule(static)
    for (int z = 0; z < M; z++) {
        int qz = cg_fft_freq(z, M);
        for (int y = 0; y < M; y++) {
            int qy = cg_fft_freq(y, M), r2zy = qz * qz + qy * qy;
            float *row = real + ((size_t)z * M + y) * M;
            for (int x = 0; x < M; x++) {
                int qx = cg_fft_freq(x, M);
                row[x] *= tab[r2zy + qx * qx];
            }
        }
    }
}

/* Step 3: w (double, nc) from the weights, `iter` Pipe-Menon iterations. */
static cg_status gridding_weights(const grids *g, int iter, const cg__fft3 *plan, cg_complex *F, float *real,
                                  double *w, const float *tab) {
    const int M = g->M, nh = g->nh, D = g->D;
#pragma omp parallel for schedule(static)
    for (int z = 0; z < M; z++)
        for (int y = 0; y < M; y++)
            for (int x = 0, n = row_len(M, D, z, y); x < nh; x++) w[((size_t)z * M + y) * nh + x] = x < n ? 1.0 : 0.0;
    for (int it = 0; it < iter; it++) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < g->nc; i++) F[i] = (float)(w[i] * g->W[i]);
        cg_status st = cg__fft3_inverse(plan, F, real);
        if (!st) blob_multiply(real, M, tab);
        if (!st) st = cg__fft3_forward(plan, real, F);
        if (st) return st;
#pragma omp parallel for schedule(static)
        for (int z = 0; z < M; z++)
            for (int y = 0; y < M; y++)
                for (int x = 0, n = row_len(M, D, z, y); x < n; x++) {
                    size_t i = ((size_t)z * M + y) * nh + x;
                    double re = crealf(F[i]), im = cimagf(F[i]), a = sqrt(re * re + im * im);
                    w[i] /= a > 1e-6 ? a : 1e-6;
                }
    }
    return CG_OK;
}

/* RELION softMaskOutsideMap(vol, radius D/2, cosine width 3), centre D/2. */
static void soft_mask_outside(float *vol, int D) {
    const double radius = D / 2.0, width = 3.0, rp = radius + width, c = D / 2;
    double sum = 0, sum_bg = 0;
    for (int z = 0; z < D; z++)
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++) {
                double r = sqrt((x - c) * (x - c) + (y - c) * (y - c) + (z - c) * (z - c));
                if (r < radius) continue;
                double wgt = r > rp ? 1.0 : 0.5 + 0.5 * cos(M_PI * (rp - r) / width);
                sum += wgt;
                sum_bg += wgt * vol[((size_t)z * D + y) * D + x];
            }
    double bg = sum > 0 ? sum_bg / sum : 0;
    for (int z = 0; z < D; z++)
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++) {
                double r = sqrt((x - c) * (x - c) + (y - c) * (y - c) + (z - c) * (z - c));
                float *v = &vol[((size_t)z * D + y) * D + x];
                if (r < radius) continue;
                if (r > rp) *v = (float)bg;
                else {
                    double rc = 0.5 + 0.5 * cos(M_PI * (rp - r) / width);
                    *v = (float)((1 - rc) * *v + rc * bg);
                }
            }
}

/* Step 4 after the weights: data * w -> inverse FFT -> window -> mask -> sinc^2 correction. */
static cg_status to_volume(const grids *g, const double *w, const cg__fft3 *plan, cg_complex *F, float *real,
                           float *vol) {
    const int M = g->M, D = g->D, nh = g->nh;
#pragma omp parallel for schedule(static)
    for (int z = 0; z < M; z++)
        for (int y = 0; y < M; y++)
            for (int x = 0, n = row_len(M, D, z, y); x < nh; x++) {
                size_t i = ((size_t)z * M + y) * nh + x;
                /* RELION (single precision) caps the weights at 1e20: where nothing was
                 * inserted w grows without bound and inf * 0 would give NaN */
                double wi = w[i] < 1e20 ? w[i] : 1e20;
                F[i] = x < n ? (float)wi * g->H[i] : 0;
            }
    cg_status st = cg__fft3_inverse(plan, F, real);
    if (st) return st;
#pragma omp parallel for schedule(static)
    for (int z = 0; z < D; z++)
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++) {
                size_t s = ((size_t)((z - D / 2 + M) % M) * M + (size_t)((y - D / 2 + M) % M)) * M + (x - D / 2 + M) % M;
                vol[((size_t)z * D + y) * D + x] = real[s];
            }
    soft_mask_outside(vol, D);
#pragma omp parallel for schedule(static)
    for (int z = 0; z < D; z++)
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++) {
                double dx = x - D / 2, dy = y - D / 2, dz = z - D / 2, r = sqrt(dx * dx + dy * dy + dz * dz);
                if (r <= 0) continue;
                double a = M_PI * r / M, s = sin(a) / a;
                vol[((size_t)z * D + y) * D + x] /= (float)(s * s);
            }
    return CG_OK;
}

static cg_status fold_grids(const cg_recon_accum *a, int half, grids *g) {
    cg__grid_fold(&a->grid[half < 0 ? 0 : half], g->H, g->W);
    if (half >= 0 || a->nhalves == 1) return CG_OK;
    cg_complex *H2 = cg_fft_alloc_complex(g->nc);
    float *W2 = cg_fft_alloc_real(g->nc);
    cg_status st = (!H2 || !W2) ? CG_ERR_NOMEM : CG_OK;
    if (!st) {
        cg__grid_fold(&a->grid[1], H2, W2);
        for (size_t i = 0; i < g->nc; i++) g->H[i] += H2[i], g->W[i] += W2[i];
    }
    cg_fft_free(H2);
    cg_fft_free(W2);
    return st;
}

cg_status cg_recon_finish(const cg_recon_accum *a, int half, const cg_recon_finish_params *p_in, float *vol) {
    cg_recon_finish_params p;
    if (p_in) p = *p_in;
    else cg_recon_finish_params_default(&p);
    if (half < -1 || half >= a->nhalves)
        return cg_error(CG_ERR_ARG, "reconstruction: half %d of an accumulator with %d", half, a->nhalves);
    if (p.gridding_iter < 0 || p.gridding_iter > 1000)
        return cg_error(CG_ERR_ARG, "reconstruction: %d gridding iterations (0 to 1000)", p.gridding_iter);
    grids g = {.D = a->D, .M = 2 * a->D, .nh = a->D + 1};
    g.nc = (size_t)g.M * g.M * g.nh;
    cg__fft3 *plan = NULL;
    g.H = cg_fft_alloc_complex(g.nc);
    g.W = cg_fft_alloc_real(g.nc);
    cg_complex *F = cg_fft_alloc_complex(g.nc);
    float *real = cg_fft_alloc_real((size_t)g.M * g.M * g.M);
    double *w = cg_malloc(g.nc, sizeof(double), "gridding weights");
    float *tab = cg_malloc((size_t)3 * a->D * a->D + 1, sizeof(float), "blob table");
    cg_status st = (!g.H || !g.W || !F || !real || !w || !tab) ? CG_ERR_NOMEM : cg__fft3_create(&plan, g.M);
    if (!st) st = fold_grids(a, half, &g);
    if (!st) {
        hermitian_x0(&g);
        if (p.ssnr) st = add_wiener(&g, p.ssnr);
    }
    if (!st) {
        blob_table_r2(tab, g.M);
        st = gridding_weights(&g, p.gridding_iter, plan, F, real, w, tab);
        if (!st) st = to_volume(&g, w, plan, F, real, vol);
        if (!st && cg_interrupted()) st = cg_error(CG_ERR_INTERRUPTED, "reconstruction interrupted");
    }
    cg__fft3_destroy(plan);
    cg_fft_free(g.H);
    cg_fft_free(g.W);
    cg_fft_free(F);
    cg_fft_free(real);
    free(w);
    free(tab);
    if (st == CG_ERR_NOMEM)
        return cg_error(CG_ERR_NOMEM, "reconstruction of %d px needs about %.1f GB of memory", a->D,
                        40.0 * a->D * a->D * a->D / 1e9);
    return st;
}
