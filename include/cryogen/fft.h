/* FFTs on real 2D/3D arrays (FFTW3 single precision underneath).
 *
 * Conventions (shared by every module, see docs/ARCHITECTURE.md):
 * - Arrays are row-major, slowest axis first: dims = {ny, nx} or {nz, ny, nx}.
 * - cg_fft_forward is UNNORMALISED: F[k] = sum_x f[x] exp(-2 pi i k.x / N).
 *   cg_fft_inverse divides by the number of real samples, so inverse(forward(f)) == f.
 * - The half-complex output has dims {..., nx/2 + 1}; index i on an axis of length n maps to
 *   the signed frequency cg_fft_freq(i, n) in [-n/2, n/2), in cycles per box (divide by
 *   n * pixel_size_A for cycles/A).
 * - Real-space index 0 is the DFT origin. Our physical origin is voxel n/2 (CONVENTIONS.md);
 *   shift with cg_circshift_* (or multiply by the matching phase) when that matters.
 * - Plans use FFTW_ESTIMATE so that results are bitwise reproducible from run to run.
 * - Creating a plan is serialised by a mutex (safe from any thread); executing a plan is
 *   thread-safe and takes any arrays, aligned or not (aligned ones are faster: use
 *   cg_fft_alloc_real / cg_fft_alloc_complex).
 */
#pragma once
#include <complex.h>
#include <stddef.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef float _Complex cg_complex; /* layout-compatible with fftwf_complex */

typedef struct cg_fft_plan cg_fft_plan;

/* ndim is 1, 2 or 3; dims slowest first, each >= 1. */
cg_status cg_fft_plan_create(cg_fft_plan **out, int ndim, const int *dims);
void cg_fft_plan_destroy(cg_fft_plan *p); /* accepts NULL */
size_t cg_fft_real_count(const cg_fft_plan *p);    /* product of dims */
size_t cg_fft_complex_count(const cg_fft_plan *p); /* product of dims with last -> last/2+1 */

/* Real -> half-complex, unnormalised. `in` is not modified. */
void cg_fft_forward(const cg_fft_plan *p, const float *in, cg_complex *out);
/* Half-complex -> real, divided by cg_fft_real_count. `in` IS DESTROYED (FFTW c2r). */
void cg_fft_inverse(const cg_fft_plan *p, cg_complex *in, float *out);

float *cg_fft_alloc_real(size_t n);           /* free with cg_fft_free; NULL + cg_error */
cg_complex *cg_fft_alloc_complex(size_t n);
void cg_fft_free(void *p);

static inline int cg_fft_freq(int i, int n) { return i < (n + 1) / 2 ? i : i - n; }
/* Inverse of cg_fft_freq: signed frequency f in [-n/2, n/2) -> index. */
static inline int cg_fft_index(int f, int n) { return f >= 0 ? f : f + n; }

/* dst[(z+sz) mod nz][(y+sy) mod ny][(x+sx) mod nx] = src[z][y][x]; dst != src.
 * For 2D pass nz = 1, sz = 0. To move the physical origin n/2 to index 0 use s = -(n/2). */
void cg_circshift_3d(float *dst, const float *src, int nz, int ny, int nx, int sz, int sy, int sx);

#ifdef __cplusplus
}
#endif
