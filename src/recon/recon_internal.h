/* Shared between the files of src/recon (not part of the public API). */
#pragma once
#include "cryogen/ctf.h"
#include "cryogen/project.h"

/* Interleaved (re, im, weight) splat grid, see splat.c. */
typedef struct {
    int D, M, L, nx, ny;
    size_t count; /* elements (3 floats each) */
    float *v;
} cg__grid;
cg_status cg__grid_create(cg__grid *g, int D);
void cg__grid_free(cg__grid *g);
void cg__grid_add(cg__grid *dst, const cg__grid *src);
/* Splat spec (D x (D/2+1)) with weights at rotation A; points with kx^2 + ky^2 <= (D/2)^2. */
void cg__grid_splat(cg__grid *g, const double A[9], const cg_complex *spec, const float *weight);
/* Fold into the FFT layout of the padded box (=, not +=): H, W are M x M x (M/2+1). */
void cg__grid_fold(const cg__grid *g, cg_complex *H, float *W);

struct cg_recon_accum {
    int D, nhalves;
    cg__grid grid[2];
};

/* RELION CTF on the D x (D/2+1) half grid without atan2 (same values as cg_ctf_fill_half). */
void cg__recon_ctf_half(const cg_ctf *c, int D, double pixel_size_A, float *out);

/* Cache-blocked 3D real FFT of an M^3 grid (src/recon/fft3.c): same conventions and, on this
 * machine, the same bits as cg_fft, about 5x faster for M = 256. Arrays must come from
 * cg_fft_alloc_real / cg_fft_alloc_complex (SIMD alignment); inverse destroys its input and
 * divides by M^3. Create/destroy must not overlap cg_fft planning in another thread (see
 * fft3.c); one plan may run from one thread at a time (it uses OpenMP inside). */
typedef struct cg__fft3 cg__fft3;
cg_status cg__fft3_create(cg__fft3 **out, int M);
void cg__fft3_destroy(cg__fft3 *f);
cg_status cg__fft3_forward(const cg__fft3 *f, float *in, cg_complex *out);
cg_status cg__fft3_inverse(const cg__fft3 *f, cg_complex *in, float *out);
