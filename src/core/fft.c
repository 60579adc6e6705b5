/* FFT plans over FFTW3f; see include/cryogen/fft.h for the conventions. */
#include <fftw3.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "cryogen/fft.h"

struct cg_fft_plan {
    int ndim, dims[3];
    size_t nreal, ncomplex;
    fftwf_plan fwd, inv;       /* planned on SIMD-aligned arrays */
    fftwf_plan fwd_u, inv_u;   /* FFTW_UNALIGNED fallbacks */
};

/* FFTW's planner is not thread-safe: every plan in the program is made and destroyed under this
 * one lock (src/recon/fft3.c takes it through cg__fft_planner_lock). */
static pthread_mutex_t g_plan_lock = PTHREAD_MUTEX_INITIALIZER;
void cg__fft_planner_lock(void) { pthread_mutex_lock(&g_plan_lock); }
void cg__fft_planner_unlock(void) { pthread_mutex_unlock(&g_plan_lock); }

cg_status cg_fft_plan_create(cg_fft_plan **out, int ndim, const int *dims) {
    *out = NULL;
    if (ndim < 1 || ndim > 3) return cg_error(CG_ERR_ARG, "FFT of %d dimensions (1 to 3 supported)", ndim);
    cg_fft_plan *p = cg_calloc(1, sizeof *p, "FFT plan");
    if (!p) return CG_ERR_NOMEM;
    p->ndim = ndim;
    p->nreal = 1;
    p->ncomplex = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 1 || dims[i] > (1 << 20)) {
            free(p);
            return cg_error(CG_ERR_ARG, "FFT axis %d has length %d", i, dims[i]);
        }
        p->dims[i] = dims[i];
        p->nreal *= (size_t)dims[i];
        p->ncomplex *= (size_t)(i == ndim - 1 ? dims[i] / 2 + 1 : dims[i]);
    }
    float *r = fftwf_alloc_real(p->nreal);
    fftwf_complex *c = fftwf_alloc_complex(p->ncomplex);
    if (!r || !c) {
        size_t n = p->nreal;
        fftwf_free(r);
        fftwf_free(c);
        free(p);
        return cg_error(CG_ERR_NOMEM, "FFT plan buffers (%zu samples)", n);
    }
    pthread_mutex_lock(&g_plan_lock);
    const unsigned fl = FFTW_ESTIMATE;
    p->fwd = fftwf_plan_dft_r2c(ndim, p->dims, r, c, fl);
    p->inv = fftwf_plan_dft_c2r(ndim, p->dims, c, r, fl);
    p->fwd_u = fftwf_plan_dft_r2c(ndim, p->dims, r, c, fl | FFTW_UNALIGNED);
    p->inv_u = fftwf_plan_dft_c2r(ndim, p->dims, c, r, fl | FFTW_UNALIGNED);
    pthread_mutex_unlock(&g_plan_lock);
    fftwf_free(r);
    fftwf_free(c);
    if (!p->fwd || !p->inv || !p->fwd_u || !p->inv_u) {
        size_t n = p->nreal;
        cg_fft_plan_destroy(p);
        return cg_error(CG_ERR_INTERNAL, "FFTW could not plan a transform of %zu samples", n);
    }
    *out = p;
    return CG_OK;
}

void cg_fft_plan_destroy(cg_fft_plan *p) {
    if (!p) return;
    pthread_mutex_lock(&g_plan_lock);
    if (p->fwd) fftwf_destroy_plan(p->fwd);
    if (p->inv) fftwf_destroy_plan(p->inv);
    if (p->fwd_u) fftwf_destroy_plan(p->fwd_u);
    if (p->inv_u) fftwf_destroy_plan(p->inv_u);
    pthread_mutex_unlock(&g_plan_lock);
    free(p);
}

size_t cg_fft_real_count(const cg_fft_plan *p) { return p->nreal; }
size_t cg_fft_complex_count(const cg_fft_plan *p) { return p->ncomplex; }

static int aligned(const void *a) { return fftwf_alignment_of((float *)(uintptr_t)a) == 0; }

void cg_fft_forward(const cg_fft_plan *p, const float *in, cg_complex *out) {
    fftwf_plan pl = aligned(in) && aligned(out) ? p->fwd : p->fwd_u;
    fftwf_execute_dft_r2c(pl, (float *)(uintptr_t)in, (fftwf_complex *)out);
}

void cg_fft_inverse(const cg_fft_plan *p, cg_complex *in, float *out) {
    fftwf_plan pl = aligned(in) && aligned(out) ? p->inv : p->inv_u;
    fftwf_execute_dft_c2r(pl, (fftwf_complex *)in, out);
    const float s = 1.0f / (float)p->nreal;
    for (size_t i = 0; i < p->nreal; i++) out[i] *= s;
}

float *cg_fft_alloc_real(size_t n) {
    float *p = fftwf_alloc_real(n ? n : 1);
    if (!p) cg_error(CG_ERR_NOMEM, "FFT buffer of %zu floats", n);
    return p;
}

cg_complex *cg_fft_alloc_complex(size_t n) {
    cg_complex *p = (cg_complex *)fftwf_alloc_complex(n ? n : 1);
    if (!p) cg_error(CG_ERR_NOMEM, "FFT buffer of %zu complex values", n);
    return p;
}

void cg_fft_free(void *p) { fftwf_free(p); }

static inline int wrap(int i, int n) {
    i %= n;
    return i < 0 ? i + n : i;
}

void cg_circshift_3d(float *dst, const float *src, int nz, int ny, int nx, int sz, int sy, int sx) {
    for (int z = 0; z < nz; z++) {
        int zz = wrap(z + sz, nz);
        for (int y = 0; y < ny; y++) {
            int yy = wrap(y + sy, ny);
            const float *s = src + ((size_t)z * ny + y) * nx;
            float *d = dst + ((size_t)zz * ny + yy) * nx;
            int sh = wrap(sx, nx);
            for (int x = 0; x < nx - sh; x++) d[x + sh] = s[x];
            for (int x = nx - sh; x < nx; x++) d[x + sh - nx] = s[x];
        }
    }
}
