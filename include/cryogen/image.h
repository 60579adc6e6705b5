/* Image-level physics helpers: signal variance and white Gaussian noise at a target SNR, and
 * Fourier cropping / padding (down- and up-sampling) of images and volumes.
 *
 * SNR definition (used by `cryogen simulate`): SNR = (variance of the clean signal inside the
 * particle circle |r - c| <= D/2, c = D/2) / (noise variance). Noise is white Gaussian, drawn
 * from the Philox stream (seed, CG_RNG_STREAM_NOISE, particle index), so a particle's noise is
 * the same for any thread count.
 *
 * Resampling scale: values are MEAN-PRESERVING (intensive): a constant image stays the same
 * constant, so pixel values keep their meaning as density / intensity and the pixel size
 * scales by D_in / D_out. (A projection's line integral in voxel units therefore changes by
 * D_out / D_in when a volume is resampled before projecting; images are resampled directly.)
 * The origin (pixel D/2) stays at the centre pixel D_out/2. Cropping keeps |k| < D_out/2
 * per axis plus the -D_out/2 (row/plane) and +D_out/2 (column) Nyquist terms as found; padding
 * splits an even input's Nyquist terms equally between +D_in/2 and -D_in/2 so the result stays
 * real-symmetric.
 */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Population variance (double accumulation) of img (D*D) over pixels with
 * (x - D/2)^2 + (y - D/2)^2 <= (D/2)^2. */
double cg_image_signal_variance(const float *img, int D);

/* Noise standard deviation giving `snr` for a clean signal of variance `signal_variance`:
 * sqrt(signal_variance / snr); 0 when snr is +infinity. */
double cg_noise_sigma_for_snr(double signal_variance, double snr);

/* img[i] += sigma * N(0, 1) for i in [0, n), from the generator keyed by
 * (seed, CG_RNG_STREAM_NOISE, index). Deterministic and thread-safe. */
void cg_image_add_noise(float *img, size_t n, double sigma, uint64_t seed, uint64_t index);

/* Fourier resampling workspace for ndim = 2 (D_in^2 -> D_out^2 images) or 3 (volumes).
 * D_out < D_in crops (downsamples), D_out > D_in pads (upsamples), equal copies.
 * Each workspace owns buffers: one per thread. */
typedef struct cg_resampler cg_resampler;
cg_status cg_resampler_create(cg_resampler **out, int ndim, int D_in, int D_out);
void cg_resampler_destroy(cg_resampler *r); /* accepts NULL */
/* out (D_out^ndim) = resampled in (D_in^ndim); mean-preserving (see above). */
void cg_resample(cg_resampler *r, const float *in, float *out);
/* One-shot convenience for a volume (D_in^3 -> D_out^3). */
cg_status cg_volume_resample(const float *in, int D_in, float *out, int D_out);

#ifdef __cplusplus
}
#endif
