/* Parallel-beam Radon transform (pixel-driven, linear interpolation on the detector), its exact
 * adjoint, and filtered back-projection (Kak & Slaney ch. 3: band-limited ramp, optional window).
 * Geometry in inverse.h: pixel (ix, iy) at (u, v) = (ix - D/2, iy - D/2), detector coordinate
 * s = u cos(theta) + v sin(theta), bin j at s = (j - n_det/2) det_spacing_px. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/inverse.h"

static const char *const window_names[] = {"ram-lak", "shepp-logan", "cosine", "hann"};

cg_status cg_fbp_window_parse(const char *name, cg_fbp_window *w) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, window_names[i])) {
            *w = (cg_fbp_window)i;
            return CG_OK;
        }
    return cg_error(CG_ERR_ARG, "FBP window '%s': expected ram-lak, shepp-logan, cosine or hann", name);
}

const char *cg_fbp_window_name(cg_fbp_window w) { return (unsigned)w < 4 ? window_names[w] : "unknown"; }

cg_status cg_ct_view_subset(int n, int n_full, int *idx, double *angles_rad) {
    if (n < 1 || n_full < 1 || n > n_full)
        return cg_error(CG_ERR_ARG, "%d views out of a full grid of %d: need 1 <= views <= full views", n, n_full);
    for (int i = 0; i < n; i++) {
        int k = (int)lround((double)i * n_full / n);
        if (idx) idx[i] = k;
        if (angles_rad) angles_rad[i] = k * M_PI / n_full;
    }
    return CG_OK;
}

/* Sub-pixel points per axis so that points are at most one detector bin apart (no empty bins). */
static int radon_supersample(double det_spacing_px) {
    int ss = (int)ceil(1.0 / det_spacing_px - 1e-9);
    return ss < 1 ? 1 : ss;
}

void cg_radon_forward(float *sino, const float *img, int D, int n_det, double det_spacing_px, const double *angles_rad,
                      int n_views) {
    int ss = radon_supersample(det_spacing_px);
    double c0 = D / 2, d0 = n_det / 2, scale = 1.0 / ((double)ss * ss * det_spacing_px);
    #pragma omp parallel for schedule(static)
    for (int a = 0; a < n_views; a++) {
        double ct = cos(angles_rad[a]) / det_spacing_px, st = sin(angles_rad[a]) / det_spacing_px;
        float *acc = sino + (size_t)a * n_det; /* about D ss terms per bin: float is enough */
        memset(acc, 0, sizeof(float) * (size_t)n_det);
        for (int iy = 0; iy < D; iy++)
            for (int sy = 0; sy < ss; sy++) {
                double sv = (iy - c0 + (sy + 0.5) / ss - 0.5) * st + d0;
                for (int ix = 0; ix < D; ix++) {
                    float val = img[(size_t)iy * D + ix];
                    if (val == 0) continue;
                    for (int sx = 0; sx < ss; sx++) {
                        double t = (ix - c0 + (sx + 0.5) / ss - 0.5) * ct + sv, f = floor(t), w = t - f;
                        int j = (int)f;
                        if (j >= 0 && j < n_det) acc[j] += (float)((1 - w) * val * scale);
                        if (j + 1 >= 0 && j + 1 < n_det) acc[j + 1] += (float)(w * val * scale);
                    }
                }
            }
    }
}

void cg_radon_adjoint(float *img, const float *sino, int D, int n_det, double det_spacing_px, const double *angles_rad,
                      int n_views) {
    int ss = radon_supersample(det_spacing_px);
    double c0 = D / 2, d0 = n_det / 2, scale = 1.0 / ((double)ss * ss * det_spacing_px);
    #pragma omp parallel for schedule(static)
    for (int iy = 0; iy < D; iy++)
        for (int ix = 0; ix < D; ix++) {
            double acc = 0;
            for (int a = 0; a < n_views; a++) {
                double ct = cos(angles_rad[a]) / det_spacing_px, st = sin(angles_rad[a]) / det_spacing_px;
                const float *row = sino + (size_t)a * n_det;
                for (int sy = 0; sy < ss; sy++)
                    for (int sx = 0; sx < ss; sx++) {
                        double t = (ix - c0 + (sx + 0.5) / ss - 0.5) * ct + (iy - c0 + (sy + 0.5) / ss - 0.5) * st + d0;
                        double f = floor(t), w = t - f;
                        int j = (int)f;
                        if (j >= 0 && j < n_det) acc += (1 - w) * row[j];
                        if (j + 1 >= 0 && j + 1 < n_det) acc += w * row[j + 1];
                    }
            }
            img[(size_t)iy * D + ix] = (float)(acc * scale);
        }
}

/* FBP's back-projector: the filtered rows interpolated linearly at each pixel centre, summed
 * over views. (R^T averages over the ss x ss sub-pixel points instead, a slight extra blur.) */
static void backproject_centres(float *img, const float *q, int D, int n_det, double det_spacing_px,
                                const double *angles_rad, int n_views) {
    double c0 = D / 2, d0 = n_det / 2;
    #pragma omp parallel for schedule(static)
    for (int iy = 0; iy < D; iy++)
        for (int ix = 0; ix < D; ix++) {
            double acc = 0;
            for (int a = 0; a < n_views; a++) {
                double t = ((ix - c0) * cos(angles_rad[a]) + (iy - c0) * sin(angles_rad[a])) / det_spacing_px + d0;
                double f = floor(t), w = t - f;
                int j = (int)f;
                const float *row = q + (size_t)a * n_det;
                if (j >= 0 && j < n_det) acc += (1 - w) * row[j];
                if (j + 1 >= 0 && j + 1 < n_det) acc += w * row[j + 1];
            }
            img[(size_t)iy * D + ix] = (float)acc;
        }
}

cg_status cg_fbp(float *img, const float *sino, int D, int n_det, double det_spacing_px, const double *angles_rad,
                 int n_views, cg_fbp_window window) {
    int P = 1;
    while (P < 2 * n_det) P *= 2;
    int dims[1] = {P};
    cg_fft_plan *plan = NULL;
    cg_status s = cg_fft_plan_create(&plan, 1, dims);
    if (s) return s;
    int H = P / 2 + 1;
    float *h = cg_fft_alloc_real((size_t)P), *q = malloc(sizeof(float) * (size_t)n_views * n_det);
    cg_complex *Hk = cg_fft_alloc_complex((size_t)H);
    if (!h || !q || !Hk) {
        s = cg_error(CG_ERR_NOMEM, "FBP buffers for %d views x %d bins", n_views, n_det);
        goto done;
    }
    /* band-limited ramp on the padded circle for bin spacing tau: h(0) = 1/(4 tau^2),
     * h(n odd) = -1/(pi n tau)^2; the convolution carries a factor tau; then x window */
    double tau = det_spacing_px;
    for (int n = 0; n < P; n++) {
        int m = n <= P / 2 ? n : n - P;
        h[n] = m == 0 ? (float)(0.25 / tau) : (m % 2) ? (float)(-1.0 / (M_PI * M_PI * (double)m * m * tau)) : 0.0f;
    }
    cg_fft_forward(plan, h, Hk);
    float *filt = malloc(sizeof(float) * (size_t)H);
    if (!filt) {
        s = cg_error(CG_ERR_NOMEM, "FBP filter");
        goto done;
    }
    for (int k = 0; k < H; k++) {
        double f = (double)k / P, w = 1; /* f in cycles per bin, 0 .. 0.5 */
        switch (window) {
        case CG_FBP_RAMLAK: w = 1; break;
        case CG_FBP_SHEPP_LOGAN: w = f > 0 ? sin(M_PI * f) / (M_PI * f) : 1; break;
        case CG_FBP_COSINE: w = cos(M_PI * f); break;
        case CG_FBP_HANN: w = 0.5 * (1 + cos(2 * M_PI * f)); break;
        }
        filt[k] = (float)(crealf(Hk[k]) * w); /* h is real and even: its spectrum is real */
    }
    #pragma omp parallel
    {
        float *row = cg_fft_alloc_real((size_t)P);
        cg_complex *spec = cg_fft_alloc_complex((size_t)H);
        #pragma omp for schedule(static)
        for (int a = 0; a < n_views; a++) {
            if (!row || !spec) continue;
            memset(row, 0, sizeof(float) * (size_t)P);
            memcpy(row, sino + (size_t)a * n_det, sizeof(float) * (size_t)n_det);
            cg_fft_forward(plan, row, spec);
            for (int k = 0; k < H; k++) spec[k] *= filt[k];
            cg_fft_inverse(plan, spec, row);
            memcpy(q + (size_t)a * n_det, row, sizeof(float) * (size_t)n_det);
        }
        if (!row || !spec) {
            #pragma omp critical(cg_fbp_fail)
            s = CG_ERR_NOMEM;
        }
        cg_fft_free(row), cg_fft_free(spec);
    }
    free(filt);
    if (s) {
        s = cg_error(CG_ERR_NOMEM, "FBP row buffers");
        goto done;
    }
    backproject_centres(img, q, D, n_det, det_spacing_px, angles_rad, n_views);
    for (size_t i = 0; i < (size_t)D * D; i++) img[i] *= (float)(M_PI / n_views);
done:
    cg_fft_free(h), cg_fft_free(Hk), free(q);
    cg_fft_plan_destroy(plan);
    return s;
}
