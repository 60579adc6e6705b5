/* Image spectra: the per-thread 2D FFT workspace, centring (pixel D/2 <-> index 0), sub-pixel
 * shifts by a phase ramp and multiplication by a real half grid (the CTF).
 *
 * Conventions (project.h, fft.h, CONVENTIONS.md "Shifts"): a spectrum is the unnormalised DFT
 * of the image after its centre pixel (D/2, D/2) has been moved to index 0, half-complex
 * D x (D/2+1), row iy <-> ky = cg_fft_freq(iy, D), column ix <-> kx = ix. Translating the image
 * by (+sx, +sy) pixels multiplies the spectrum by exp(-2 pi i (kx sx + ky sy) / D).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/project.h"

struct cg_image_fft {
    int D;
    cg_fft_plan *plan;
    float *real;       /* D*D, centred at index 0 */
    cg_complex *cplx;  /* D*(D/2+1) copy for the destructive c2r */
};

cg_status cg_image_fft_create(cg_image_fft **out, int D) {
    *out = NULL;
    if (D < 2 || D > 16384) return cg_error(CG_ERR_ARG, "image FFT: box size %d px is outside [2, 16384]", D);
    cg_image_fft *w = cg_calloc(1, sizeof *w, "image FFT workspace");
    if (!w) return CG_ERR_NOMEM;
    w->D = D;
    int dims[2] = {D, D};
    cg_status s = cg_fft_plan_create(&w->plan, 2, dims);
    if (s != CG_OK) {
        free(w);
        return s;
    }
    w->real = cg_fft_alloc_real((size_t)D * D);
    w->cplx = cg_fft_alloc_complex((size_t)D * (D / 2 + 1));
    if (!w->real || !w->cplx) {
        cg_image_fft_destroy(w);
        return cg_error(CG_ERR_NOMEM, "image FFT workspace for %d px", D);
    }
    *out = w;
    return CG_OK;
}

void cg_image_fft_destroy(cg_image_fft *w) {
    if (!w) return;
    cg_fft_plan_destroy(w->plan);
    cg_fft_free(w->real);
    cg_fft_free(w->cplx);
    free(w);
}

void cg_image_to_spectrum(cg_image_fft *w, const float *img, cg_complex *spec) {
    const int D = w->D;
    cg_circshift_3d(w->real, img, 1, D, D, 0, -(D / 2), -(D / 2));
    cg_fft_forward(w->plan, w->real, spec);
}

void cg_spectrum_to_image(cg_image_fft *w, const cg_complex *spec, float *img) {
    const int D = w->D;
    memcpy(w->cplx, spec, sizeof(cg_complex) * (size_t)D * (D / 2 + 1));
    cg_fft_inverse(w->plan, w->cplx, w->real);
    cg_circshift_3d(img, w->real, 1, D, D, 0, D / 2, D / 2);
}

void cg_spectrum_shift(cg_complex *spec, int D, double sx_px, double sy_px) {
    if (sx_px == 0 && sy_px == 0) return;
    const int nh = D / 2 + 1;
    const double ax = -2.0 * M_PI * sx_px / D, ay = -2.0 * M_PI * sy_px / D;
    /* factor(kx, ky) = exp(i ay ky) exp(i ax kx): column factors for a chunk of columns, row
     * factors per row, then a branch-free complex multiply that vectorises */
    enum { CHUNK = 256 };
    float cre[CHUNK], cim[CHUNK];
    for (int x0 = 0; x0 < nh; x0 += CHUNK) {
        const int len = nh - x0 < CHUNK ? nh - x0 : CHUNK;
        for (int j = 0; j < len; j++) {
            cre[j] = (float)cos(ax * (x0 + j));
            cim[j] = (float)sin(ax * (x0 + j));
        }
        for (int iy = 0; iy < D; iy++) {
            const double ph = ay * cg_fft_freq(iy, D);
            const float rre = (float)cos(ph), rim = (float)sin(ph);
            float *row = (float *)(spec + (size_t)iy * nh + x0);
            for (int j = 0; j < len; j++) {
                const float fre = rre * cre[j] - rim * cim[j], fim = rre * cim[j] + rim * cre[j];
                const float re = row[2 * j], im = row[2 * j + 1];
                row[2 * j] = re * fre - im * fim;
                row[2 * j + 1] = re * fim + im * fre;
            }
        }
    }
}

void cg_spectrum_mul_real(cg_complex *spec, int D, const float *ctf_half) {
    const size_t n = (size_t)D * (D / 2 + 1);
    float *s = (float *)spec;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] *= ctf_half[i];
        s[2 * i + 1] *= ctf_half[i];
    }
}
