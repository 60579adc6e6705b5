/* Back-projection accumulators: per-image FFT, shift by +origin, CTF weighting and the
 * RELION-style trilinear splat of data X*c and weight c^2 into a 2x-padded Fourier grid.
 *
 * Conventions (CONVENTIONS.md "Shifts", "CTF"; include/cryogen/recon.h): an image spectrum is
 * the unnormalised DFT of the image with its centre pixel at index 0 (project.h); the image is
 * translated by +origin (rlnOriginX/Y) before insertion; the CTF is RELION's getCTF. The
 * splat itself is in splat.c (the sums of physics' cg_backprojector_insert_weighted, in an
 * interleaved layout that is faster for this memory-bound loop).
 * RELION detail kept: the half-line kx = 0, ky < 0 of each image is not inserted
 * (backprojector.cpp backproject: "x==0 plane is stored twice in the FFTW format"), so every
 * independent Fourier sample counts once; its Hermitian partner ky > 0 is inserted.
 * The CTF is evaluated here without atan2 (cos 2(phi - az) expanded in kx, ky), the same
 * formula as cg_ctf_eval (tested against it to 1e-6), because it runs once per pixel per
 * image: the phase is reduced to [-pi, pi] in double and its sine and cosine taken in float,
 * and pixels beyond the splat radius D/2 are skipped (set to 0).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/project.h"
#include "cryogen/recon.h"
#include "recon/recon_internal.h"

cg_status cg_recon_accum_create(cg_recon_accum **out, int D, int nhalves) {
    *out = NULL;
    if (D < 4 || D > 1024 || D % 2)
        return cg_error(CG_ERR_ARG, "reconstruction: box size %d px must be even and in [4, 1024]", D);
    if (nhalves != 1 && nhalves != 2) return cg_error(CG_ERR_ARG, "reconstruction: %d halves (1 or 2)", nhalves);
    cg_recon_accum *a = cg_calloc(1, sizeof *a, "reconstruction accumulator");
    if (!a) return CG_ERR_NOMEM;
    a->D = D;
    a->nhalves = nhalves;
    for (int h = 0; h < nhalves; h++) {
        cg_status st = cg__grid_create(&a->grid[h], D);
        if (st) {
            cg_recon_accum_destroy(a);
            return cg_error_prefix(st, "reconstruction accumulator");
        }
    }
    *out = a;
    return CG_OK;
}

void cg_recon_accum_destroy(cg_recon_accum *a) {
    if (!a) return;
    for (int h = 0; h < 2; h++) cg__grid_free(&a->grid[h]);
    free(a);
}

int cg_recon_accum_size(const cg_recon_accum *a) { return a->D; }
int cg_recon_accum_nhalves(const cg_recon_accum *a) { return a->nhalves; }

void cg_recon_accum_add(cg_recon_accum *dst, const cg_recon_accum *src) {
    for (int h = 0; h < dst->nhalves && h < src->nhalves; h++) cg__grid_add(&dst->grid[h], &src->grid[h]);
}

struct cg_recon_worker {
    int D;
    cg_image_fft *fft;
    cg_complex *spec; /* D x (D/2+1) */
    float *weight;    /* D x (D/2+1) */
};

cg_status cg_recon_worker_create(cg_recon_worker **out, int D) {
    *out = NULL;
    cg_recon_worker *w = cg_calloc(1, sizeof *w, "reconstruction worker");
    if (!w) return CG_ERR_NOMEM;
    w->D = D;
    size_t nc = (size_t)D * (D / 2 + 1);
    cg_status st = cg_image_fft_create(&w->fft, D);
    w->spec = cg_fft_alloc_complex(nc);
    w->weight = cg_fft_alloc_real(nc);
    if (!st && (!w->spec || !w->weight)) st = CG_ERR_NOMEM;
    if (st) {
        cg_recon_worker_destroy(w);
        return st;
    }
    *out = w;
    return CG_OK;
}

void cg_recon_worker_destroy(cg_recon_worker *w) {
    if (!w) return;
    cg_image_fft_destroy(w->fft);
    cg_fft_free(w->spec);
    cg_fft_free(w->weight);
    free(w);
}

void cg__recon_ctf_half(const cg_ctf *c, int D, double pixel_size_A, float *out) {
    const int nh = D / 2 + 1;
    const double inv = 1.0 / (D * pixel_size_A), c2a = cos(2 * c->az), s2a = sin(2 * c->az);
    const double two_pi = 2 * M_PI, inv_two_pi = 1 / two_pi;
    for (int iy = 0; iy < D; iy++) {
        const int fy = cg_fft_freq(iy, D);
        const double ky = fy * inv;
        float *row = out + (size_t)iy * nh;
        for (int ix = 0; ix < nh; ix++) {
            if (ix * ix + fy * fy > (D / 2) * (D / 2)) { /* beyond the splat radius: not used */
                row[ix] = 0.0f;
                continue;
            }
            const double kx = ix * inv, k2 = kx * kx + ky * ky;
            double df = c->sum_df;
            if (k2 > 0) df += c->diff_df * ((kx * kx - ky * ky) * c2a + 2 * kx * ky * s2a) / k2;
            double chi = c->k1 * df * k2 - c->k2 * k2 * k2 + c->phase_shift_rad;
            chi -= two_pi * floor(chi * inv_two_pi + 0.5); /* reduce in double, then float sin/cos */
            const float cr = (float)chi;
            double v = c->sqrt1mw2 * sinf(cr) + c->w * cosf(cr);
            if (c->bfac_quarter != 0) v *= exp(-c->bfac_quarter * k2);
            row[ix] = (float)(c->scale * v);
        }
    }
}

cg_status cg_recon_insert_image(cg_recon_accum *a, cg_recon_worker *w, int half, const float *img, const double A[9],
                                const double origin_px[2], const cg_ctf *ctf, double pixel_size_A) {
    const int D = a->D, nh = D / 2 + 1;
    if (w->D != D) return cg_error(CG_ERR_ARG, "reconstruction: worker for %d px used with a %d px grid", w->D, D);
    if (half < 0 || half >= a->nhalves)
        return cg_error(CG_ERR_ARG, "reconstruction: half %d of an accumulator with %d", half, a->nhalves);
    if (!isfinite(origin_px[0]) || !isfinite(origin_px[1]))
        return cg_error(CG_ERR_RANGE, "reconstruction: non-finite origin (%g, %g) px", origin_px[0], origin_px[1]);
    cg_image_to_spectrum(w->fft, img, w->spec);
    cg_spectrum_shift(w->spec, D, origin_px[0], origin_px[1]);
    if (ctf) {
        cg__recon_ctf_half(ctf, D, pixel_size_A, w->weight);
        for (size_t i = 0; i < (size_t)D * nh; i++) {
            w->spec[i] *= w->weight[i];
            w->weight[i] *= w->weight[i];
        }
    } else {
        for (size_t i = 0; i < (size_t)D * nh; i++) w->weight[i] = 1.0f; /* the splat applies the radius */
    }
    for (int iy = D / 2 + 1; iy < D; iy++) { /* kx = 0, ky < 0: the mirror of ky > 0 */
        w->spec[(size_t)iy * nh] = 0;
        w->weight[(size_t)iy * nh] = 0;
    }
    cg__grid_splat(&a->grid[half], A, w->spec, w->weight);
    return CG_OK;
}
