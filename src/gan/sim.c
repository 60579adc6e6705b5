/* CryoGAN's physics simulator, differentiable with respect to the volume (include/cryogen/gan.h).
 *
 *   clean image  = F^-1[ M F[P_A V] ],  M(k) = CTF(k) exp(+2 pi i k.o/D) [|k| < r_lp]
 *   adjoint      = P_A^T F^-1[ conj(M) F[g] ]
 *
 * P_A is the real-space line-sum projector (cg_project_real) and P_A^T its exact adjoint
 * (cg_project_real_adjoint). M is Hermitian-symmetric (real CTF, a translation phase) and zero
 * at and beyond |k| = D/2, so the even-D Nyquist terms, whose imaginary parts a half-complex
 * c2r transform drops, never appear: the real operator F^-1 M F and its transpose
 * F^-1 conj(M) F are then exact adjoints (FFT normalisation: forward unnormalised, inverse
 * divided by D^2, so F^H = D^2 F^-1). The shift by -origin follows CONVENTIONS.md "Shifts".
 * References: Gupta et al., "CryoGAN", IEEE TCI 2021 (the simulator in the generator);
 * CONVENTIONS.md (projection, CTF, shifts).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/gan.h"
#include "cryogen/geom.h"
#include "cryogen/project.h"

typedef struct {
    cg_image_fft *fft;
    cg_complex *spec;
    float *ctf;   /* D*(D/2+1) */
    float *img;   /* D*D */
} gan_ws;

struct cg_gan_sim {
    int D;
    double pixel_size_A;
    gan_ws ws[CG_GAN_CHUNKS];
};

void cg_gan_sim_destroy(cg_gan_sim *s) {
    if (!s) return;
    for (int i = 0; i < CG_GAN_CHUNKS; i++) {
        cg_image_fft_destroy(s->ws[i].fft);
        cg_fft_free(s->ws[i].spec);
        free(s->ws[i].ctf);
        free(s->ws[i].img);
    }
    free(s);
}

cg_status cg_gan_sim_create(cg_gan_sim **out, int D, double pixel_size_A) {
    *out = NULL;
    if (D < 8 || D % 2 || D > 1024)
        return cg_error(CG_ERR_ARG, "CryoGAN simulator: box size %d px must be even and in [8, 1024]", D);
    if (!(pixel_size_A > 0)) return cg_error(CG_ERR_ARG, "CryoGAN simulator: pixel size %g A must be > 0", pixel_size_A);
    cg_gan_sim *s = cg_calloc(1, sizeof *s, "CryoGAN simulator");
    if (!s) return CG_ERR_NOMEM;
    s->D = D, s->pixel_size_A = pixel_size_A;
    const size_t nh = (size_t)D * (D / 2 + 1);
    for (int i = 0; i < CG_GAN_CHUNKS; i++) {
        gan_ws *w = &s->ws[i];
        cg_status st = cg_image_fft_create(&w->fft, D);
        if (st) return cg_gan_sim_destroy(s), st;
        w->spec = cg_fft_alloc_complex(nh);
        w->ctf = cg_malloc(nh, sizeof(float), "CTF grid");
        w->img = cg_malloc((size_t)D * D, sizeof(float), "simulator image");
        if (!w->spec || !w->ctf || !w->img) return cg_gan_sim_destroy(s), CG_ERR_NOMEM;
    }
    *out = s;
    return CG_OK;
}

/* w->ctf = CTF (or 1) inside |k| < r, 0 outside. */
static cg_status fill_mask(const cg_gan_sim *s, gan_ws *w, const cg_sim_particle *p, int apply_ctf, double r) {
    const int D = s->D, nh = D / 2 + 1;
    if (r > D / 2.0) r = D / 2.0;
    if (apply_ctf) {
        cg_ctf c;
        cg_status st = cg_ctf_init(&c, &p->ctf);
        if (st) return st;
        cg_ctf_fill_half_masked(&c, D, s->pixel_size_A, r, w->ctf);
        return CG_OK;
    }
    for (int iy = 0; iy < D; iy++) {
        const int fy = cg_fft_freq(iy, D);
        for (int ix = 0; ix < nh; ix++)
            w->ctf[(size_t)iy * nh + ix] = (double)ix * ix + (double)fy * fy < r * r ? 1.0f : 0.0f;
    }
    return CG_OK;
}

/* in-place img = F^-1[ ctf * phase F[img] ], phase translating by (sx, sy) px */
static void apply_filter(const cg_gan_sim *s, gan_ws *w, float *img, double sx, double sy) {
    cg_image_to_spectrum(w->fft, img, w->spec);
    cg_spectrum_shift(w->spec, s->D, sx, sy);
    cg_spectrum_mul_real(w->spec, s->D, w->ctf);
    cg_spectrum_to_image(w->fft, w->spec, img);
}

cg_status cg_gan_sim_forward(cg_gan_sim *s, int ws, const float *vol, const cg_sim_particle *p, int apply_ctf,
                             double r_lp_px, float *img) {
    gan_ws *w = &s->ws[ws];
    cg_status st = fill_mask(s, w, p, apply_ctf, r_lp_px);
    if (st) return st;
    double A[9];
    cg_euler_to_matrix(p->euler_rad[0], p->euler_rad[1], p->euler_rad[2], A);
    cg_project_real(vol, s->D, A, img);
    /* image = centred projection translated by -origin */
    apply_filter(s, w, img, -p->origin_A[0] / s->pixel_size_A, -p->origin_A[1] / s->pixel_size_A);
    return CG_OK;
}

cg_status cg_gan_sim_adjoint(cg_gan_sim *s, int ws, const float *g, const cg_sim_particle *p, int apply_ctf,
                             double r_lp_px, float *vol) {
    gan_ws *w = &s->ws[ws];
    cg_status st = fill_mask(s, w, p, apply_ctf, r_lp_px);
    if (st) return st;
    memcpy(w->img, g, sizeof(float) * (size_t)s->D * s->D);
    /* conj(phase): translate by +origin; the CTF and the mask are real */
    apply_filter(s, w, w->img, p->origin_A[0] / s->pixel_size_A, p->origin_A[1] / s->pixel_size_A);
    double A[9];
    cg_euler_to_matrix(p->euler_rad[0], p->euler_rad[1], p->euler_rad[2], A);
    cg_project_real_adjoint(w->img, s->D, A, vol);
    return CG_OK;
}

void cg_gan_sim_lowpass(cg_gan_sim *s, int ws, float *img, double r_lp_px) {
    if (r_lp_px >= s->D / 2.0) return;
    gan_ws *w = &s->ws[ws];
    cg_sim_particle p;
    memset(&p, 0, sizeof p);
    fill_mask(s, w, &p, 0, r_lp_px); /* cannot fail without a CTF */
    apply_filter(s, w, img, 0, 0);
}

cg_status cg_gan_estimate_noise_sd(const float *images, int64_t n, int D, double *sd) {
    if (n <= 0 || D < 4) return cg_error(CG_ERR_ARG, "noise estimate: need images (got %lld of %d px)", (long long)n, D);
    const int64_t m = n < 2000 ? n : 2000;
    const double c = D / 2, r2 = (D / 2.0) * (D / 2.0);
    double acc = 0;
    int64_t used = 0;
    for (int64_t j = 0; j < m; j++) {
        const float *img = images + (size_t)(j * n / m) * D * D;
        double s1 = 0, s2 = 0;
        int64_t k = 0;
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++)
                if ((x - c) * (x - c) + (y - c) * (y - c) > r2) {
                    double v = img[(size_t)y * D + x];
                    s1 += v, s2 += v * v, k++;
                }
        if (k < 2) continue;
        double mean = s1 / k;
        acc += (s2 - k * mean * mean) / (k - 1);
        used++;
    }
    if (!used) return cg_error(CG_ERR_ARG, "noise estimate: no background pixels outside the particle circle");
    *sd = sqrt(fmax(acc / used, 0.0));
    return CG_OK;
}
