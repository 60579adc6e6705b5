/* Cache-blocked 3D real FFT for the large padded grids of the reconstruction (M = 2D, up to
 * 2048^3 in principle; 256^3 for D = 128).
 *
 * Why: FFTW's FFTW_ESTIMATE plan for a 256^3 r2c transform (what cg_fft uses, chosen for
 * bitwise reproducibility) runs its z pass with a stride of M (M/2+1) complex values and is
 * about 5x slower than needed; FFTW_MEASURE would fix it but picks plans by timing, so
 * results could differ in the last bit from run to run. Here the same transform is split by
 * hand into (a) 2D r2c transforms of each z slab (contiguous, cache-resident) and (b) 1D
 * complex transforms along z on blocks of 16 columns copied into a contiguous buffer. Every
 * piece is an FFTW_ESTIMATE plan, so the result is deterministic; on this machine it equals
 * the cg_fft result bit for bit (tested) at 1/5 of the time.
 *
 * Conventions as fft.h: forward unnormalised, inverse divided by M^3, half-complex layout
 * M x M x (M/2+1), index (z*M + y)*(M/2+1) + x. Inverse destroys its input. Slabs and blocks
 * run in parallel (OpenMP); each transform is computed identically whatever the thread count.
 * Planning: FFTW's planner is not thread-safe; plans here are made and destroyed under the
 * library's one planner lock (src/core/fft_internal.h), shared with cg_fft.
 */
#include <fftw3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fft_internal.h"
#include "recon/recon_internal.h"

#define BLOCK 16

struct cg__fft3 {
    int M;
    fftwf_plan r2c, c2r, zf, zb; /* per slab (2D) and per block of BLOCK z-columns (1D) */
};


cg_status cg__fft3_create(cg__fft3 **out, int M) {
    *out = NULL;
    cg__fft3 *f = cg_calloc(1, sizeof *f, "3D FFT plan");
    if (!f) return CG_ERR_NOMEM;
    f->M = M;
    const int nh = M / 2 + 1, n2[2] = {M, M}, n1[1] = {M};
    float *r = fftwf_alloc_real((size_t)M * M);
    fftwf_complex *c = fftwf_alloc_complex((size_t)M * nh), *b = fftwf_alloc_complex((size_t)M * BLOCK);
    if (r && c && b) {
        cg__fft_planner_lock();
        f->r2c = fftwf_plan_dft_r2c(2, n2, r, c, FFTW_ESTIMATE);
        f->c2r = fftwf_plan_dft_c2r(2, n2, c, r, FFTW_ESTIMATE);
        f->zf = fftwf_plan_many_dft(1, n1, BLOCK, b, NULL, BLOCK, 1, b, NULL, BLOCK, 1, FFTW_FORWARD, FFTW_ESTIMATE);
        f->zb = fftwf_plan_many_dft(1, n1, BLOCK, b, NULL, BLOCK, 1, b, NULL, BLOCK, 1, FFTW_BACKWARD, FFTW_ESTIMATE);
        cg__fft_planner_unlock();
    }
    fftwf_free(r);
    fftwf_free(c);
    fftwf_free(b);
    if (!f->r2c || !f->c2r || !f->zf || !f->zb) {
        cg__fft3_destroy(f);
        return cg_error(CG_ERR_NOMEM, "3D FFT plans for %d^3", M);
    }
    *out = f;
    return CG_OK;
}

void cg__fft3_destroy(cg__fft3 *f) {
    if (!f) return;
    cg__fft_planner_lock();
    if (f->r2c) fftwf_destroy_plan(f->r2c);
    if (f->c2r) fftwf_destroy_plan(f->c2r);
    if (f->zf) fftwf_destroy_plan(f->zf);
    if (f->zb) fftwf_destroy_plan(f->zb);
    cg__fft_planner_unlock();
    free(f);
}

#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

/* 1D transforms along z of every (y, x) column, BLOCK columns at a time. */
static cg_status z_pass(const cg__fft3 *f, cg_complex *data, fftwf_plan plan) {
    const int M = f->M;
    const size_t plane = (size_t)M * (M / 2 + 1), nblocks = (plane + BLOCK - 1) / BLOCK;
    int nt = 1;
#ifdef CG_HAVE_OPENMP
    nt = omp_get_max_threads();
#endif
    fftwf_complex *bufs = fftwf_alloc_complex((size_t)nt * M * BLOCK);
    if (!bufs) return cg_error(CG_ERR_NOMEM, "3D FFT buffers");
#pragma omp parallel num_threads(nt)
    {
        int t = 0;
#ifdef CG_HAVE_OPENMP
        t = omp_get_thread_num();
#endif
        fftwf_complex *buf = bufs + (size_t)t * M * BLOCK;
#pragma omp for schedule(static)
        for (size_t blk = 0; blk < nblocks; blk++) {
            size_t j0 = blk * BLOCK, n = plane - j0 < BLOCK ? plane - j0 : BLOCK;
            if (n < BLOCK) memset(buf, 0, sizeof(fftwf_complex) * (size_t)M * BLOCK);
            for (int z = 0; z < M; z++) memcpy(buf + (size_t)z * BLOCK, data + z * plane + j0, n * sizeof(cg_complex));
            fftwf_execute_dft(plan, buf, buf);
            for (int z = 0; z < M; z++) memcpy(data + z * plane + j0, buf + (size_t)z * BLOCK, n * sizeof(cg_complex));
        }
    }
    fftwf_free(bufs);
    return CG_OK;
}

static cg_status check_aligned(const void *a, const void *b) {
    if (fftwf_alignment_of((float *)(uintptr_t)a) || fftwf_alignment_of((float *)(uintptr_t)b))
        return cg_error(CG_ERR_INTERNAL, "3D FFT arrays must come from cg_fft_alloc_real/complex");
    return CG_OK;
}

cg_status cg__fft3_forward(const cg__fft3 *f, float *in, cg_complex *out) {
    const int M = f->M;
    const size_t rs = (size_t)M * M, cs = (size_t)M * (M / 2 + 1);
    cg_status st = check_aligned(in, out);
    if (st) return st;
#pragma omp parallel for schedule(static)
    for (int z = 0; z < M; z++) fftwf_execute_dft_r2c(f->r2c, in + z * rs, (fftwf_complex *)(out + z * cs));
    return z_pass(f, out, f->zf);
}

cg_status cg__fft3_inverse(const cg__fft3 *f, cg_complex *in, float *out) {
    const int M = f->M;
    const size_t rs = (size_t)M * M, cs = (size_t)M * (M / 2 + 1), n = rs * M;
    cg_status st = check_aligned(in, out);
    if (!st) st = z_pass(f, in, f->zb);
    if (st) return st;
#pragma omp parallel for schedule(static)
    for (int z = 0; z < M; z++) fftwf_execute_dft_c2r(f->c2r, (fftwf_complex *)(in + z * cs), out + z * rs);
    const float s = 1.0f / (float)n;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] *= s;
    return CG_OK;
}
