/* Radially averaged power spectra of image sets, to compare the denoiser's samples with its
 * training images (issue 8: "radial power spectrum check"). Spectra come from the image FFT of
 * project.h (unnormalised DFT of the centred image, half-complex D x (D/2+1) in FFT layout:
 * row ky holds signed frequency ky < D/2 ? ky : ky - D, column kx = 0..D/2). Columns
 * 0 < kx < D/2 stand for two coefficients (k and -k, Hermitian pair) and are counted twice, so
 * every shell averages over the full D x D grid. Power is |F|^2 / D^2 per coefficient
 * (Parseval: the mean over all coefficients equals the mean squared pixel value). */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/project.h"
#include "cryogen/score.h"

cg_status cg_score_radial_power(const float *img, int64_t n, int D, float mask_radius_px, double *power) {
    if (D < 2 || D % 2 || n < 1) return cg_error(CG_ERR_ARG, "radial power: box %d (even) and %lld images", D, (long long)n);
    int H = D / 2 + 1, R = D / 2;
    cg_image_fft *w = NULL;
    cg_status s = cg_image_fft_create(&w, D);
    if (s) return s;
    cg_complex *spec = malloc(sizeof(cg_complex) * (size_t)D * H);
    float *m = malloc(sizeof(float) * (size_t)D * D);
    double *cnt = calloc((size_t)R + 1, sizeof(double));
    if (!spec || !m || !cnt) {
        free(spec), free(m), free(cnt), cg_image_fft_destroy(w);
        return cg_error(CG_ERR_NOMEM, "radial power of %d^2 images", D);
    }
    memset(power, 0, sizeof(double) * ((size_t)R + 1));
    double r2 = (double)mask_radius_px * mask_radius_px;
    for (int64_t k = 0; k < n; k++) {
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++) {
                double dx = x - D / 2, dy = y - D / 2;
                float v = img[(size_t)k * D * D + (size_t)y * D + x];
                m[(size_t)y * D + x] = (mask_radius_px > 0 && dx * dx + dy * dy > r2) ? 0.0f : v;
            }
        cg_image_to_spectrum(w, m, spec);
        for (int ky = 0; ky < D; ky++) {
            int fy = ky < D / 2 ? ky : ky - D;
            for (int kx = 0; kx < H; kx++) {
                int shell = (int)lround(sqrt((double)kx * kx + (double)fy * fy));
                if (shell > R) continue;
                double mult = (kx == 0 || kx == D / 2) ? 1 : 2;
                cg_complex c = spec[(size_t)ky * H + kx];
                power[shell] += mult * ((double)crealf(c) * crealf(c) + (double)cimagf(c) * cimagf(c));
                if (k == 0) cnt[shell] += mult;
            }
        }
    }
    for (int r = 0; r <= R; r++) power[r] = cnt[r] > 0 ? power[r] / (cnt[r] * (double)n * D * D) : NAN;
    free(spec), free(m), free(cnt);
    cg_image_fft_destroy(w);
    return CG_OK;
}
