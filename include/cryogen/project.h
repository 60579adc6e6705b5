/* Image formation: image spectra, shifts, CTF application, Fourier-slice and real-space
 * projection of voxel volumes and their exact adjoints (back-projection).
 *
 * Conventions (CONVENTIONS.md):
 * - A volume is v[z][y][x], D^3, origin (rotation centre) at voxel (D/2, D/2, D/2); an image is
 *   img[y][x], D^2, centre at (D/2, D/2).
 * - P(x, y) = sum_z V(A^T (x, y, z)), A from cg_euler_to_matrix; F[P](k) = F[V](A^T (kx, ky, 0)).
 * - An image SPECTRUM is the DFT (unnormalised, fft.h) of the image after its centre pixel has
 *   been moved to index 0, stored half-complex D x (D/2+1) in FFT layout. Shifts and CTFs act
 *   on spectra; cg_spectrum_to_image undoes the centring.
 * - Translating an image by (+sx, +sy) pixels multiplies its spectrum by
 *   exp(-2 pi i (kx sx + ky sy) / D). RELION's origin o: image = centred projection translated
 *   by -o; reconstruction translates by +o.
 *
 * Thread safety: projectors are read-only after creation (slice/project from many threads);
 * each thread owns its cg_image_fft workspace.
 */
#pragma once
#include "cryogen/core.h"
#include "cryogen/fft.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- per-thread 2D FFT workspace for D x D images ---- */
typedef struct cg_image_fft cg_image_fft;
cg_status cg_image_fft_create(cg_image_fft **out, int D);
void cg_image_fft_destroy(cg_image_fft *w); /* accepts NULL */
/* img (D*D) -> spec (D*(D/2+1)); img unchanged. */
void cg_image_to_spectrum(cg_image_fft *w, const float *img, cg_complex *spec);
/* spec -> img; spec unchanged (copied internally). */
void cg_spectrum_to_image(cg_image_fft *w, const cg_complex *spec, float *img);

/* Multiply by exp(-2 pi i (kx sx + ky sy) / D): translate the image by (+sx, +sy) pixels. */
void cg_spectrum_shift(cg_complex *spec, int D, double sx_px, double sy_px);
/* spec *= ctf (a D*(D/2+1) real grid from cg_ctf_fill_half). */
void cg_spectrum_mul_real(cg_complex *spec, int D, const float *ctf_half);

/* ---- Fourier-slice projector ----
 * Created once per volume: gridding pre-correction (divide by prod_axes sinc^2((i - D/2) / M),
 * the transform of the trilinear kernel on the padded grid, M = oversample * D), zero padding
 * by `oversample` (2 recommended; 1..4 accepted), 3D FFT. A slice is read by trilinear
 * interpolation on the padded grid at oversample * A^T (kx, ky, 0), using the Hermitian half
 * grid (conj of the mirror point where the x component is negative), for |k| < D/2 strictly
 * (zero at and beyond radius D/2, so even-D Nyquist terms are zero).
 * create: vol is D^3 floats v[z][y][x], not kept; memory about 8 (M/2+2)(M+3)^2 bytes.
 * Errors: CG_ERR_ARG (D outside [2, 2048], oversample outside [1, 4]), CG_ERR_NOMEM. */
typedef struct cg_projector cg_projector;
cg_status cg_projector_create(cg_projector **out, const float *vol, int D, int oversample);
void cg_projector_destroy(cg_projector *p); /* accepts NULL */
int cg_projector_size(const cg_projector *p);
/* Spectrum of the projection at rotation A (row-major double[9]), written (=) to spec
 * (D*(D/2+1), every element). Thread-safe, no allocation: the inner loop of every method. */
void cg_projector_slice(const cg_projector *p, const double A[9], cg_complex *spec);
/* Convenience: the real-space projection image (D*D) through w. */
void cg_projector_project(const cg_projector *p, const double A[9], cg_image_fft *w, cg_complex *spec_scratch,
                          float *img);

/* ---- exact adjoint of the Fourier-slice projector ----
 * Accumulates spectra with the transpose of the slice interpolation into the padded grid,
 * then applies the transposes of the FFT, padding and gridding correction. Exact statement:
 * for a real image y with Y = cg_image_to_spectrum(y), inserting Y at A and finishing gives
 *     vol = P_A^T y,  i.e.  <cg_projector_project(v, A), y> == <v, vol>  (real inner products)
 * to float precision. Equivalently, for spectra, sum over the FULL Hermitian grid of
 * Re(slice(v) conj Y) == D^2 <v, vol>. Memory as for the projector.
 *
 * The same splat kernel serves RELION-style reconstruction (see _create_weighted). */
typedef struct cg_backprojector cg_backprojector;
cg_status cg_backprojector_create(cg_backprojector **out, int D, int oversample);
/* As _create, plus a real weight grid in the same layout, filled by _insert_weighted. */
cg_status cg_backprojector_create_weighted(cg_backprojector **out, int D, int oversample);
void cg_backprojector_destroy(cg_backprojector *b); /* accepts NULL */
void cg_backprojector_reset(cg_backprojector *b);   /* zero data (and weights) */
/* Accumulate the adjoint of cg_projector_slice for one spectrum. Not thread-safe on one b:
 * give each thread its own and cg_backprojector_add them in a fixed order. */
void cg_backprojector_insert(cg_backprojector *b, const double A[9], const cg_complex *spec);
/* RELION-style splat (backprojector.cpp backproject2Dto3D): for every spectrum point with
 * |k| < D/2, at q = oversample * A^T (kx, ky, 0) (mirrored with conj where q_x < 0), the 8
 * trilinear corners get  data += w_j * spec[k]  and, if b has weights,
 * weight += w_j * (spec_weight ? spec_weight[k] : 1). No 1/D^2 or Hermitian factor: each
 * half-grid point is splatted once, as RELION does. For reconstruction pass spec = X * ctf
 * (after shifting by +origin) and spec_weight = ctf^2 (both D*(D/2+1)). Same threading rule. */
void cg_backprojector_insert_weighted(cg_backprojector *b, const double A[9], const cg_complex *spec,
                                      const float *spec_weight);
/* dst += src (same D and oversample; weights added where both have them). */
void cg_backprojector_add(cg_backprojector *dst, const cg_backprojector *src);
/* vol (D^3) = adjoint applied to everything inserted with cg_backprojector_insert (=, not +=).
 * Allocates temporary FFT buffers (CG_ERR_NOMEM). */
cg_status cg_backprojector_finish(cg_backprojector *b, float *vol);
/* M = oversample * D, the padded box of the grid. */
int cg_backprojector_padded_size(const cg_backprojector *b);
/* The accumulated grids folded (=) into FFT layout of the padded box: data_half and
 * weight_half are M*M*(M/2+1) arrays, index (z*M + y)*(M/2+1) + x, signed frequency
 * cg_fft_freq(i, M) in cycles per padded box (image frequency k maps to oversample * k).
 * Either may be NULL; weight_half needs a weighted b (else CG_ERR_ARG). Points splatted
 * outside the half grid are folded in with their Hermitian mirror (conj for data). */
cg_status cg_backprojector_get_grid(const cg_backprojector *b, cg_complex *data_half, float *weight_half);

/* ---- real-space projector: line sums along z with trilinear interpolation ---- */
/* img (D*D) = P_A vol. */
void cg_project_real(const float *vol, int D, const double A[9], float *img);
/* vol (D^3) += P_A^T img: the exact adjoint of cg_project_real. */
void cg_project_real_adjoint(const float *img, int D, const double A[9], float *vol);

#ifdef __cplusplus
}
#endif
