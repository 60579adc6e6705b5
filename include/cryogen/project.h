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
 * Created once per volume: gridding pre-correction (divide by sinc^2 of the trilinear kernel),
 * zero padding by `oversample` (2 recommended), 3D FFT. A slice is read by trilinear
 * interpolation on the padded grid, up to radius D/2 (zero beyond). */
typedef struct cg_projector cg_projector;
cg_status cg_projector_create(cg_projector **out, const float *vol, int D, int oversample);
void cg_projector_destroy(cg_projector *p); /* accepts NULL */
int cg_projector_size(const cg_projector *p);
/* Spectrum of the projection at rotation A (row-major double[9]). */
void cg_projector_slice(const cg_projector *p, const double A[9], cg_complex *spec);
/* Convenience: the real-space projection image (D*D) through w. */
void cg_projector_project(const cg_projector *p, const double A[9], cg_image_fft *w, cg_complex *spec_scratch,
                          float *img);

/* ---- exact adjoint of the Fourier-slice projector ----
 * Accumulates spectra with the transpose of the slice interpolation into the padded grid,
 * then applies the transposes of the FFT, padding and gridding correction, so that
 * <project(v, A), y> == <v, backproject(y, A)> to float precision. */
typedef struct cg_backprojector cg_backprojector;
cg_status cg_backprojector_create(cg_backprojector **out, int D, int oversample);
void cg_backprojector_destroy(cg_backprojector *b); /* accepts NULL */
void cg_backprojector_reset(cg_backprojector *b);
/* Accumulate the adjoint of cg_projector_slice for one spectrum. Not thread-safe on one b:
 * give each thread its own and cg_backprojector_add them in a fixed order. */
void cg_backprojector_insert(cg_backprojector *b, const double A[9], const cg_complex *spec);
/* dst += src (same D and oversample). */
void cg_backprojector_add(cg_backprojector *dst, const cg_backprojector *src);
/* vol (D^3) = adjoint applied to everything inserted. */
cg_status cg_backprojector_finish(cg_backprojector *b, float *vol);

/* ---- real-space projector: line sums along z with trilinear interpolation ---- */
/* img (D*D) = P_A vol. */
void cg_project_real(const float *vol, int D, const double A[9], float *img);
/* vol (D^3) += P_A^T img: the exact adjoint of cg_project_real. */
void cg_project_real_adjoint(const float *img, int D, const double A[9], float *vol);

#ifdef __cplusplus
}
#endif
