/* Undersampled Cartesian MRI of real images: centred orthonormal 2D DFT (through the real FFT of
 * core fft.h, the full plane rebuilt by Hermitian symmetry), its adjoint Re(F^H .), Hermitian-
 * symmetric row masks, and the zero-filled inverse. Layout and conventions: inverse.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/inverse.h"

/* Mirror row of centred row index r (ky = r - D/2 -> -ky); row 0 (ky = -D/2) is its own. */
static int mirror_index(int r, int D) { return (D - r) % D; }

static int add_row(uint8_t *m, int r, int D, int pairs) {
    int added = !m[r];
    m[r] = 1;
    if (pairs && !m[mirror_index(r, D)]) m[mirror_index(r, D)] = 1, added++;
    return added;
}

cg_status cg_mri_mask(uint8_t *m, int D, double accel, double center_fraction, cg_mri_mask_kind kind, int pairs,
                      uint64_t seed, int *n_sampled) {
    if (D < 2 || D % 2 || D > 4096) return cg_error(CG_ERR_ARG, "MRI mask: box %d must be even, 2..4096", D);
    if (!(accel >= 1) || !(center_fraction >= 0 && center_fraction <= 1))
        return cg_error(CG_ERR_ARG, "MRI mask: acceleration %g (need >= 1), centre fraction %g (need 0..1)", accel,
                        center_fraction);
    int h = D / 2, target = (int)lround(D / accel), count = 0, nc = (int)lround(center_fraction * D);
    memset(m, 0, (size_t)D);
    for (int ky = -h; ky < h; ky++)
        if (2 * abs(ky) < nc || accel == 1) count += add_row(m, ky + h, D, pairs);
    if (kind == CG_MRI_MASK_RANDOM) {
        int cand[4096], n = 0;
        for (int r = 0; r < D; r++)
            if (!m[r] && (!pairs || r <= mirror_index(r, D) || r == 0)) cand[n++] = r;
        cg_rng g;
        cg_rng_init(&g, seed, CG_INVERSE_STREAM_MASK, 0);
        for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
            int j = (int)cg_rng_below(&g, (uint64_t)i + 1), t = cand[i];
            cand[i] = cand[j], cand[j] = t;
        }
        for (int i = 0; i < n && count < target; i++) count += add_row(m, cand[i], D, pairs);
    } else {
        int step = (int)lround(accel);
        for (int ky = -h; ky < h; ky++)
            if (abs(ky) % step == 0) count += add_row(m, ky + h, D, pairs);
    }
    if (n_sampled) *n_sampled = count;
    return CG_OK;
}

void cg_mri_mask_symmetrise(uint8_t *sym, const uint8_t *m, int D) {
    for (int r = 0; r < D; r++) sym[r] = m[r] || m[mirror_index(r, D)];
}

void cg_mri_complete(float *kspace, const uint8_t *m, int D) {
    for (int r = 0; r < D; r++) {
        int mr = mirror_index(r, D);
        if (m[r] || !m[mr]) continue;
        for (int c = 0; c < D; c++) {
            const float *src = kspace + 2 * ((size_t)mr * D + mirror_index(c, D));
            float *dst = kspace + 2 * ((size_t)r * D + c);
            dst[0] = src[0], dst[1] = -src[1];
        }
    }
}

/* The 2D real FFT plan and its two buffers that the forward and adjoint transforms use. */
typedef struct {
    cg_fft_plan *p;
    float *xs;
    cg_complex *F;
} mri_fft;

static cg_status mri_fft_open(mri_fft *m, int D, const char *what) {
    *m = (mri_fft){0};
    if (D < 2 || D % 2) return cg_error(CG_ERR_ARG, "MRI: box %d must be even", D);
    int dims[2] = {D, D};
    cg_status s = cg_fft_plan_create(&m->p, 2, dims);
    if (s) return s;
    m->xs = cg_fft_alloc_real((size_t)D * D);
    m->F = cg_fft_alloc_complex((size_t)D * (D / 2 + 1));
    return m->xs && m->F ? CG_OK : cg_error(CG_ERR_NOMEM, "MRI %s buffers (%d^2)", what, D);
}

static void mri_fft_close(mri_fft *m) {
    cg_fft_free(m->xs), cg_fft_free(m->F);
    cg_fft_plan_destroy(m->p);
}

cg_status cg_mri_forward(float *kspace, const float *img, int D) {
    mri_fft m;
    cg_status s = mri_fft_open(&m, D, "forward");
    if (s == CG_OK) {
        const int H = D / 2 + 1, h = D / 2;
        float *xs = m.xs;
        cg_complex *F = m.F;
        cg_fft_plan *p = m.p;
        cg_circshift_3d(xs, img, 1, D, D, 0, -h, -h); /* physical origin D/2 -> index 0 */
        cg_fft_forward(p, xs, F);
        for (int ky = -h; ky < h; ky++)
            for (int kx = -h; kx < h; kx++) {
                cg_complex v;
                if (kx >= 0) v = F[(size_t)cg_fft_index(ky, D) * H + kx];
                else v = conjf(F[(size_t)cg_fft_index(ky == -h ? -h : -ky, D) * H + (-kx)]);
                float *o = kspace + 2 * ((size_t)(ky + h) * D + (kx + h));
                o[0] = crealf(v) / D, o[1] = cimagf(v) / D;
            }
    }
    mri_fft_close(&m);
    return s;
}

cg_status cg_mri_adjoint(float *img, const float *kspace, int D) {
    mri_fft m;
    cg_status s = mri_fft_open(&m, D, "adjoint");
    if (s == CG_OK) {
        const int H = D / 2 + 1, h = D / 2;
        float *xs = m.xs;
        cg_complex *F = m.F;
        /* Re(F^H K) = F^H of the Hermitian part (K(k) + conj K(-k)) / 2, which c2r takes exactly */
        for (int iy = 0; iy < D; iy++)
            for (int kx = 0; kx < H; kx++) {
                int ky = cg_fft_freq(iy, D), cx = kx == h ? -h : kx;
                int my = ky == -h ? -h : -ky, mx = cx == -h ? -h : -cx;
                const float *a = kspace + 2 * ((size_t)(ky + h) * D + (cx + h));
                const float *b = kspace + 2 * ((size_t)(my + h) * D + (mx + h));
                F[(size_t)iy * H + kx] = (0.5f * (a[0] + b[0]) + I * 0.5f * (a[1] - b[1])) * (float)D;
            }
        cg_fft_inverse(m.p, F, xs);
        cg_circshift_3d(img, xs, 1, D, D, 0, h, h);
    }
    mri_fft_close(&m);
    return s;
}

cg_status cg_mri_zero_filled(float *img, const float *kspace, const uint8_t *mask, int D) {
    float *k = malloc(sizeof(float) * 2 * (size_t)D * D);
    if (!k) return cg_error(CG_ERR_NOMEM, "zero-filled k-space (%d^2)", D);
    for (int r = 0; r < D; r++)
        for (int c = 0; c < 2 * D; c++) k[(size_t)r * 2 * D + c] = mask[r] ? kspace[(size_t)r * 2 * D + c] : 0.0f;
    cg_mri_complete(k, mask, D);
    cg_status s = cg_mri_adjoint(img, k, D);
    free(k);
    return s;
}
