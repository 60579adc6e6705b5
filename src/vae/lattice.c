/* VAE data side: the disc lattice, Hartley values of image spectra, per-particle preparation
 * (window, spectrum, +origin shift, Hartley, normalisation, CTF) and the normalisation
 * estimate. Conventions in include/cryogen/vae.h; cryoDRGN facts from Zhong et al. 2021 and
 * its lattice.py / dataset.py (window_mask 0.85 .. 0.99 of D/2, linear ramp; norm = (0, std)).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/ctf.h"
#include "cryogen/project.h"
#include "cryogen/vae.h"

cg_status cg_vae_lattice_init(cg_vae_lattice *L, int D) {
    memset(L, 0, sizeof *L);
    if (D < 4 || D % 2 || D > 4096) return cg_error(CG_ERR_ARG, "VAE: box size %d must be even and in [4, 4096]", D);
    L->D = D;
    int64_t cap = (int64_t)D * D;
    L->kx = cg_malloc((size_t)cap, sizeof(int), "VAE lattice");
    L->ky = cg_malloc((size_t)cap, sizeof(int), "VAE lattice");
    L->half = cg_malloc((size_t)cap / 2 + 1, sizeof(int), "VAE lattice");
    L->mirror = cg_malloc((size_t)cap / 2 + 1, sizeof(int), "VAE lattice");
    int *where = cg_malloc((size_t)cap, sizeof(int), "VAE lattice");
    if (!L->kx || !L->ky || !L->half || !L->mirror || !where) {
        free(where);
        cg_vae_lattice_free(L);
        return CG_ERR_NOMEM;
    }
    const int h = D / 2;
    /* |k| < D/2 strictly: 4 k^2 < D^2 in integers */
    for (int iy = 0; iy < D; iy++)
        for (int ix = 0; ix < D; ix++) {
            int kx = ix - h, ky = iy - h;
            where[iy * D + ix] = -1;
            if (kx * kx + ky * ky < h * h) {
                where[iy * D + ix] = L->n;
                L->kx[L->n] = kx, L->ky[L->n] = ky, L->n++;
            }
        }
    /* half: origin first, then every point with ky < 0 or (ky == 0 and kx < 0) */
    L->half[0] = where[h * D + h];
    L->mirror[0] = -1;
    L->nh = 1;
    for (int i = 0; i < L->n; i++) {
        int kx = L->kx[i], ky = L->ky[i];
        if (ky < 0 || (ky == 0 && kx < 0)) {
            L->half[L->nh] = i;
            L->mirror[L->nh] = where[(h - ky) * D + (h - kx)];
            L->nh++;
        }
    }
    free(where);
    if (2 * (L->nh - 1) + 1 != L->n) {
        cg_vae_lattice_free(L);
        return cg_error(CG_ERR_INTERNAL, "VAE lattice: %d half points for %d disc points", L->nh, L->n);
    }
    return CG_OK;
}

void cg_vae_lattice_free(cg_vae_lattice *L) {
    if (!L) return;
    free(L->kx), free(L->ky), free(L->half), free(L->mirror);
    memset(L, 0, sizeof *L);
}

void cg_vae_hartley_from_spectrum(const cg_vae_lattice *L, const cg_complex *spec, float *out) {
    const int D = L->D, W = D / 2 + 1;
    for (int i = 0; i < L->n; i++) {
        int kx = L->kx[i], ky = L->ky[i];
        float re, im;
        if (kx >= 0) {
            cg_complex f = spec[cg_fft_index(ky, D) * W + kx];
            re = crealf(f), im = cimagf(f);
        } else { /* F(k) = conj F(-k) for a real image */
            cg_complex f = spec[cg_fft_index(-ky, D) * W - kx];
            re = crealf(f), im = -cimagf(f);
        }
        out[i] = re - im;
    }
}

struct cg_vae_prep {
    int D;
    cg_image_fft *fft;
    float *img, *window;
    cg_complex *spec;
};

cg_status cg_vae_prep_create(cg_vae_prep **out, int D) {
    *out = NULL;
    cg_vae_prep *w = cg_calloc(1, sizeof *w, "VAE workspace");
    if (!w) return CG_ERR_NOMEM;
    w->D = D;
    cg_status s = cg_image_fft_create(&w->fft, D);
    w->img = cg_fft_alloc_real((size_t)D * D);
    w->window = cg_malloc((size_t)D * D, sizeof(float), "VAE window");
    w->spec = cg_fft_alloc_complex((size_t)D * (D / 2 + 1));
    if (!s && (!w->img || !w->window || !w->spec)) s = CG_ERR_NOMEM;
    if (s) {
        cg_vae_prep_destroy(w);
        return s;
    }
    /* cryoDRGN window_mask(D, 0.85, 0.99): r = |x - D/2| / (D/2), 1 - (r - 0.85) / 0.14 clipped */
    for (int y = 0; y < D; y++)
        for (int x = 0; x < D; x++) {
            double r = hypot(x - D / 2, y - D / 2) / (D / 2);
            double m = 1.0 - (r - 0.85) / (0.99 - 0.85);
            w->window[y * D + x] = (float)(m > 1 ? 1 : m < 0 ? 0 : m);
        }
    *out = w;
    return CG_OK;
}

void cg_vae_prep_destroy(cg_vae_prep *w) {
    if (!w) return;
    cg_image_fft_destroy(w->fft);
    cg_fft_free(w->img), cg_fft_free(w->spec);
    free(w->window);
    free(w);
}

cg_status cg_vae_prepare(const cg_vae_lattice *L, const cg_particles *p, int64_t i, double norm_std, cg_vae_prep *w,
                         float *y, float *ctf) {
    const int D = L->D;
    if (p->image_size != D || w->D != D)
        return cg_error(CG_ERR_ARG, "VAE: particles have box %d, the model %d", p->image_size, D);
    cg_status s = cg_particles_read_image(p, i, w->img);
    if (s) return s;
    for (int j = 0; j < D * D; j++) w->img[j] *= w->window[j];
    cg_image_to_spectrum(w->fft, w->img, w->spec);
    if (p->has_shifts) /* re-centre: translate by +origin (CONVENTIONS.md, "Shifts") */
        cg_spectrum_shift(w->spec, D, p->shift_A[2 * i] / p->pixel_size_A, p->shift_A[2 * i + 1] / p->pixel_size_A);
    cg_vae_hartley_from_spectrum(L, w->spec, y);
    const float inv = (float)(1.0 / norm_std);
    for (int j = 0; j < L->n; j++) y[j] *= inv;
    if (ctf) {
        if (!p->has_ctf) {
            for (int j = 0; j < L->n; j++) ctf[j] = 1.0f;
        } else {
            cg_ctf c;
            s = cg_ctf_init(&c, &p->ctf[i]);
            if (s) return cg_error_prefix(s, "particle %lld", (long long)i + 1);
            const double f = 1.0 / (D * p->pixel_size_A);
            for (int j = 0; j < L->n; j++) ctf[j] = (float)cg_ctf_eval(&c, L->kx[j] * f, L->ky[j] * f);
        }
    }
    return CG_OK;
}

cg_status cg_vae_estimate_norm(const cg_vae_lattice *L, const cg_particles *p, int64_t nsample, double *norm_std) {
    if (nsample < 1) nsample = 1;
    if (nsample > p->n) nsample = p->n;
    const int nthr = cg_get_threads();
    (void)nthr; /* only read by the OpenMP pragma */
    double *part = cg_calloc((size_t)nsample, sizeof(double), "VAE norm");
    if (!part) return CG_ERR_NOMEM;
    cg_status s = CG_OK;
    char msg[1024] = "";
#pragma omp parallel num_threads(nthr)
    {
        cg_vae_prep *w = NULL;
        float *y = cg_malloc((size_t)L->n, sizeof(float), "VAE norm");
        cg_status ts = y ? cg_vae_prep_create(&w, L->D) : CG_ERR_NOMEM;
#pragma omp for schedule(dynamic, 4)
        for (int64_t k = 0; k < nsample; k++) {
            if (ts) continue;
            int64_t i = nsample > 1 ? k * (p->n - 1) / (nsample - 1) : 0;
            ts = cg_vae_prepare(L, p, i, 1.0, w, y, NULL);
            double acc = 0;
            for (int j = 0; !ts && j < L->n; j++) acc += (double)y[j] * y[j];
            part[k] = acc;
        }
#pragma omp critical
        if (ts && !s) { /* the message is thread-local: carry it to the calling thread */
            s = ts;
            snprintf(msg, sizeof msg, "%s", cg_last_error());
        }
        cg_vae_prep_destroy(w);
        free(y);
    }
    if (s) cg_error(s, "%s", msg);
    if (!s) {
        double acc = 0; /* fixed order: independent of the thread count */
        for (int64_t k = 0; k < nsample; k++) acc += part[k];
        *norm_std = sqrt(acc / ((double)nsample * L->n));
        if (!(*norm_std > 0) || !isfinite(*norm_std))
            s = cg_error(CG_ERR_FORMAT, "%s: the sampled images are all zero (or not finite); cannot normalise",
                         p->source_path ? p->source_path : "particles");
    }
    free(part);
    return s;
}

/* ---------------------------------------------------------------- encoder-input controls */
cg_status cg_vae_twins(uint64_t seed, int64_t n, int64_t *twin) {
    if (n < 1) return cg_error(CG_ERR_ARG, "VAE twins: %lld particles", (long long)n);
    int64_t *order = cg_malloc((size_t)n, sizeof *order, "VAE twins");
    if (!order) return CG_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) order[i] = i;
    cg_rng r;
    cg_rng_init(&r, seed, CG_VAE_STREAM_TWINS, 0);
    cg_rng_shuffle(&r, order, n);
    /* one cycle through the shuffled order: nobody is its own twin */
    for (int64_t k = 0; k < n; k++) twin[order[k]] = order[(k + 1) % n];
    free(order);
    return CG_OK;
}

void cg_vae_noise_input(uint64_t seed, int64_t key, int n, float *y, float *ctf) {
    cg_rng r;
    cg_rng_init(&r, seed, CG_VAE_STREAM_ENC_NOISE, (uint64_t)key);
    for (int k = 0; k < n; k++) y[k] = (float)cg_rng_normal(&r), ctf[k] = 1.0f;
}
