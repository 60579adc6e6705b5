/* The measurement model (a transform T with measured rows and an inverse) and the
 * predictor-corrector sampler with data consistency of Song, Shen, Xing & Ermon (ICLR 2022),
 * on the EDM denoiser of src/score (a VE model: score(x, s) = (D(x; s) - x) / s^2). Formulas
 * in inverse.h; normalisation: the sampler works in the denoiser's normalised units and maps
 * the measurements there, y_n = (y - mean T 1) / std (T is linear). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/inverse.h"

struct cg_inverse_op {
    cg_inverse_kind kind;
    int D, rows, row_len;
    uint8_t *measured; /* [rows] */
    int n_det, n_full; /* CT */
    double det_spacing;
    double *angles;    /* CT: [n_full] */
    int n_meas;        /* CT: measured views */
    int *meas_idx;     /* CT: [n_meas] full-grid indices */
    double *meas_angles; /* CT: [n_meas] */
    cg_fbp_window window;
};

static cg_status op_alloc(cg_inverse_op **out, cg_inverse_kind kind, int D, int rows, int row_len) {
    cg_inverse_op *op = calloc(1, sizeof *op);
    if (!op || !(op->measured = calloc((size_t)rows, 1))) {
        free(op);
        return cg_error(CG_ERR_NOMEM, "measurement operator");
    }
    op->kind = kind, op->D = D, op->rows = rows, op->row_len = row_len;
    *out = op;
    return CG_OK;
}

cg_status cg_inverse_op_ct(cg_inverse_op **out, int D, int n_det, double det_spacing_px, int n_views, int n_full,
                           cg_fbp_window window) {
    *out = NULL;
    if (D < 8 || n_det < 2 || !(det_spacing_px >= 0.1 && det_spacing_px <= 4))
        return cg_error(CG_ERR_ARG, "CT: box %d (>= 8), detector bins %d (>= 2), spacing %g px (0.1..4)", D, n_det,
                        det_spacing_px);
    int *idx = malloc(sizeof(int) * (size_t)(n_views > 0 ? n_views : 1));
    if (!idx) return cg_error(CG_ERR_NOMEM, "CT views");
    cg_status s = cg_ct_view_subset(n_views, n_full, idx, NULL);
    cg_inverse_op *op = NULL;
    if (!s) s = op_alloc(&op, CG_INVERSE_CT, D, n_full, n_det);
    if (!s && (!(op->angles = malloc(sizeof(double) * (size_t)n_full)) ||
               !(op->meas_angles = malloc(sizeof(double) * (size_t)n_views))))
        s = cg_error(CG_ERR_NOMEM, "CT angles");
    if (!s) {
        op->meas_idx = idx, idx = NULL, op->n_meas = n_views;
        op->n_det = n_det, op->det_spacing = det_spacing_px, op->n_full = n_full, op->window = window;
        for (int k = 0; k < n_full; k++) op->angles[k] = k * M_PI / n_full;
        for (int i = 0; i < n_views; i++) op->measured[op->meas_idx[i]] = 1, op->meas_angles[i] = op->angles[op->meas_idx[i]];
        *out = op;
    } else
        cg_inverse_op_destroy(op);
    free(idx);
    return s;
}

cg_status cg_inverse_op_mri(cg_inverse_op **out, int D, const uint8_t *mask) {
    *out = NULL;
    if (D < 8 || D % 2) return cg_error(CG_ERR_ARG, "MRI: box %d must be even and >= 8", D);
    cg_status s = op_alloc(out, CG_INVERSE_MRI, D, D, 2 * D);
    if (!s) cg_mri_mask_symmetrise((*out)->measured, mask, D);
    return s;
}

void cg_inverse_op_destroy(cg_inverse_op *op) {
    if (!op) return;
    free(op->measured), free(op->angles), free(op->meas_idx), free(op->meas_angles), free(op);
}
int cg_inverse_op_rows(const cg_inverse_op *op) { return op->rows; }
int cg_inverse_op_row_len(const cg_inverse_op *op) { return op->row_len; }
const uint8_t *cg_inverse_op_measured(const cg_inverse_op *op) { return op->measured; }

cg_status cg_inverse_op_forward(const cg_inverse_op *op, const float *img, float *meas) {
    if (op->kind == CG_INVERSE_MRI) return cg_mri_forward(meas, img, op->D);
    cg_radon_forward(meas, img, op->D, op->n_det, op->det_spacing, op->angles, op->n_full);
    return CG_OK;
}

cg_status cg_inverse_op_inverse(const cg_inverse_op *op, const float *meas, float *img) {
    if (op->kind == CG_INVERSE_MRI) return cg_mri_adjoint(img, meas, op->D);
    return cg_fbp(img, meas, op->D, op->n_det, op->det_spacing, op->angles, op->n_full, op->window);
}

size_t cg_inverse_op_scratch_count(const cg_inverse_op *op) {
    return 2 * (size_t)op->rows * op->row_len + (size_t)op->D * op->D;
}

/* CT merge on the measured views only: T x is needed there alone, and the full-grid FBP of a
 * residual that is zero off the measured views is the FBP over the measured views scaled by
 * n_meas / n_full (its angular weight is pi / n_full per view instead of pi / n_meas). */
static cg_status merge_ct(const cg_inverse_op *op, float *x, const float *y_t, double lambda, float *merged_out,
                          float *scratch) {
    size_t L = (size_t)op->n_det, P = (size_t)op->D * op->D;
    float *Tm = scratch, *dx = scratch + (size_t)op->rows * L * 2;
    cg_radon_forward(Tm, x, op->D, op->n_det, op->det_spacing, op->meas_angles, op->n_meas);
    if (merged_out) {
        cg_radon_forward(merged_out, x, op->D, op->n_det, op->det_spacing, op->angles, op->n_full);
        for (int v = 0; v < op->n_meas; v++)
            for (size_t j = 0; j < L; j++) {
                size_t q = (size_t)op->meas_idx[v] * L + j;
                merged_out[q] = (float)((1 - lambda) * merged_out[q] + lambda * y_t[q]);
            }
    }
    for (int v = 0; v < op->n_meas; v++)
        for (size_t j = 0; j < L; j++) {
            size_t m = (size_t)v * L + j;
            Tm[m] = (float)(lambda * ((double)y_t[(size_t)op->meas_idx[v] * L + j] - Tm[m]));
        }
    cg_status s = cg_fbp(dx, Tm, op->D, op->n_det, op->det_spacing, op->meas_angles, op->n_meas, op->window);
    if (s) return s;
    double w = (double)op->n_meas / op->n_full;
    for (size_t i = 0; i < P; i++) x[i] += (float)(w * dx[i]);
    return CG_OK;
}

cg_status cg_inverse_merge(const cg_inverse_op *op, float *x, const float *y_t, double lambda, float *merged_out,
                           float *scratch) {
    if (op->kind == CG_INVERSE_CT) return merge_ct(op, x, y_t, lambda, merged_out, scratch);
    size_t M = (size_t)op->rows * op->row_len, L = (size_t)op->row_len;
    float *Tx = scratch, *res = scratch + M, *dx = scratch + 2 * M;
    cg_status s = cg_inverse_op_forward(op, x, Tx);
    if (s) return s;
    memset(res, 0, sizeof(float) * M);
    for (int r = 0; r < op->rows; r++)
        if (op->measured[r])
            for (size_t j = r * L; j < (r + 1) * L; j++) res[j] = (float)(lambda * ((double)y_t[j] - Tx[j]));
    if (merged_out)
        for (size_t j = 0; j < M; j++)
            merged_out[j] = op->measured[j / L] ? (float)((1 - lambda) * Tx[j] + lambda * y_t[j]) : Tx[j];
    s = cg_inverse_op_inverse(op, res, dx);
    if (s) return s;
    for (size_t i = 0; i < (size_t)op->D * op->D; i++) x[i] += dx[i];
    return CG_OK;
}

void cg_inverse_sampler_defaults(cg_inverse_sampler_config *c) {
    c->steps = 100, c->sigma_min = 0.002, c->sigma_max = 80, c->rho = 7;
    c->snr = 0.16, c->corrector_steps = 1, c->lambda = 1, c->seed = 1;
}

/* meas = T img on the measured rows (CT: only those views are projected; other rows 0). */
static cg_status forward_measured(const cg_inverse_op *op, const float *img, float *meas) {
    if (op->kind != CG_INVERSE_CT) return cg_inverse_op_forward(op, img, meas);
    size_t L = (size_t)op->n_det;
    float *rows = malloc(sizeof(float) * L * op->n_meas);
    if (!rows) return cg_error(CG_ERR_NOMEM, "CT views");
    cg_radon_forward(rows, img, op->D, op->n_det, op->det_spacing, op->meas_angles, op->n_meas);
    memset(meas, 0, sizeof(float) * L * op->rows);
    for (int v = 0; v < op->n_meas; v++) memcpy(meas + (size_t)op->meas_idx[v] * L, rows + (size_t)v * L, sizeof(float) * L);
    free(rows);
    return CG_OK;
}

/* x[k] <- merge(x[k], y_n + sigma T z_k) for every sample (no noise drawn when sigma == 0). */
static cg_status merge_all(const cg_inverse_op *op, float *x, const float *yn, double sigma, double lambda, int K,
                           cg_rng *rng, float *z, float *yt, float *scratch) {
    size_t P = (size_t)op->D * op->D, M = (size_t)op->rows * op->row_len;
    for (int k = 0; k < K; k++) {
        cg_status s = CG_OK;
        if (sigma > 0) {
            for (size_t i = 0; i < P; i++) z[i] = (float)cg_rng_normal(&rng[k]);
            s = forward_measured(op, z, yt);
            for (size_t j = 0; j < M && !s; j++) yt[j] = (float)(yn[j] + sigma * yt[j]);
        } else
            memcpy(yt, yn, sizeof(float) * M);
        if (!s) s = cg_inverse_merge(op, x + (size_t)k * P, yt, lambda, NULL, scratch);
        if (s) return s;
    }
    return CG_OK;
}

/* den[K][P] = D(x; sigma) in normalised units. */
static cg_status denoise_all(cg_score_net *net, float *den, const float *x, double sigma, int K, float *sig) {
    for (int k = 0; k < K; k++) sig[k] = (float)sigma;
    return cg_score_denoise(net, den, x, sig, K);
}

cg_status cg_inverse_sample(cg_score_net *net, const cg_inverse_op *op, const cg_inverse_sampler_config *c,
                            const float *y, int K, float *samples, float *mean, float *std, int quiet) {
    const cg_score_config *cfg = cg_score_net_config(net);
    int D = op->D, N = c->steps;
    if (cfg->D != D) return cg_error(CG_ERR_ARG, "the denoiser works on %d^2 images, the measurements on %d^2", cfg->D, D);
    if (K < 1 || N < 2 || !(c->sigma_min > 0) || !(c->sigma_max > c->sigma_min) || !(c->snr >= 0) ||
        c->corrector_steps < 0 || !(c->lambda >= 0 && c->lambda <= 1))
        return cg_error(CG_ERR_ARG, "sampler: need samples >= 1, steps >= 2, 0 < sigma_min < sigma_max, snr >= 0, "
                                    "corrector steps >= 0, 0 <= lambda <= 1");
    size_t P = (size_t)D * D, M = (size_t)op->rows * op->row_len;
    float *x = malloc(sizeof(float) * P * K), *den = malloc(sizeof(float) * P * K), *z = malloc(sizeof(float) * P);
    float *yn = malloc(sizeof(float) * M), *yt = malloc(sizeof(float) * M), *sig = malloc(sizeof(float) * K);
    float *scratch = malloc(sizeof(float) * cg_inverse_op_scratch_count(op)), *ones = malloc(sizeof(float) * P);
    double *t = malloc(sizeof(double) * (N + 1));
    cg_rng *rng = malloc(sizeof(cg_rng) * K);
    cg_status s = CG_OK;
    if (!x || !den || !z || !yn || !yt || !sig || !scratch || !ones || !t || !rng) {
        s = cg_error(CG_ERR_NOMEM, "sampler buffers (%d samples of %d^2)", K, D);
        goto done;
    }
    s = cg_score_net_reserve(net, K < 16 ? K : 16);
    if (s) goto done;
    /* normalised measurements y_n = (y - mean T 1) / std */
    for (size_t i = 0; i < P; i++) ones[i] = 1;
    s = forward_measured(op, ones, yn);
    if (s) goto done;
    for (size_t j = 0; j < M; j++) yn[j] = (float)(((double)y[j] - cfg->img_mean * yn[j]) / cfg->img_std);
    cg_edm_sigma_schedule(t, N, c->sigma_min, c->sigma_max, c->rho);
    for (int k = 0; k < K; k++) {
        cg_rng_init(&rng[k], c->seed, CG_INVERSE_STREAM_SAMPLE, (uint64_t)k);
        for (size_t i = 0; i < P; i++) x[(size_t)k * P + i] = (float)(t[0] * cg_rng_normal(&rng[k]));
    }
    cg_progress prog;
    if (!quiet) cg_progress_begin(&prog, "sampling", "levels", N);
    for (int i = 0; i + 1 < N && !s; i++) {
        if (cg_interrupted()) {
            s = cg_error(CG_ERR_INTERRUPTED, "sampling interrupted at level %d of %d", i, N);
            break;
        }
        double si = t[i], sn = t[i + 1], dvar = si * si - sn * sn;
        s = merge_all(op, x, yn, si, c->lambda, K, rng, z, yt, scratch);
        if (!s) s = denoise_all(net, den, x, si, K, sig);
        for (int k = 0; k < K && !s; k++) /* reverse-diffusion predictor */
            for (size_t p = 0; p < P; p++) {
                size_t q = (size_t)k * P + p;
                x[q] += (float)(dvar * (den[q] - x[q]) / (si * si) + sqrt(dvar) * cg_rng_normal(&rng[k]));
            }
        for (int cs = 0; cs < c->corrector_steps && !s; cs++) { /* Langevin corrector at sigma_{i+1} */
            s = denoise_all(net, den, x, sn, K, sig);
            for (int k = 0; k < K && !s; k++) {
                double gn = 0, zn = 0;
                for (size_t p = 0; p < P; p++) {
                    size_t q = (size_t)k * P + p;
                    double g = (den[q] - x[q]) / (sn * sn);
                    z[p] = (float)cg_rng_normal(&rng[k]);
                    gn += g * g, zn += (double)z[p] * z[p];
                }
                double eps = gn > 0 ? 2 * (c->snr * c->snr) * zn / gn : 0;
                for (size_t p = 0; p < P; p++) {
                    size_t q = (size_t)k * P + p;
                    x[q] += (float)(eps * (den[q] - x[q]) / (sn * sn) + sqrt(2 * eps) * z[p]);
                }
            }
        }
        if (!quiet) cg_progress_update(&prog, i + 1);
    }
    if (!s) s = merge_all(op, x, yn, t[N - 1], c->lambda, K, rng, z, yt, scratch);
    if (!s) s = denoise_all(net, x, x, t[N - 1], K, sig); /* final denoise */
    if (!s) s = merge_all(op, x, yn, 0, c->lambda, K, rng, z, yt, scratch);
    if (!quiet) cg_progress_end(&prog);
    if (s) goto done;
    for (size_t q = 0; q < P * K; q++) x[q] = (float)(x[q] * cfg->img_std + cfg->img_mean);
    if (samples) memcpy(samples, x, sizeof(float) * P * K);
    for (size_t p = 0; p < P; p++) {
        double m = 0, v = 0;
        for (int k = 0; k < K; k++) m += x[(size_t)k * P + p];
        m /= K;
        for (int k = 0; k < K; k++) v += (x[(size_t)k * P + p] - m) * (x[(size_t)k * P + p] - m);
        if (mean) mean[p] = (float)m;
        if (std) std[p] = (float)sqrt(v / K);
    }
done:
    free(x), free(den), free(z), free(yn), free(yt), free(sig), free(scratch), free(ones), free(t), free(rng);
    return s;
}
