/* Helpers shared by the files of src/metrics (not part of the public API). */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"
#include "cryogen/fft.h"

/* Shell of half-complex voxel (z, y, x) of an N^3 grid (-1 beyond Nyquist) and its weight in
 * the full-sphere sum (1 on the kx = 0 and kx = N/2 planes, else 2). */
int cg__shell_index(int N, int z, int y, int x, int *weight);
/* Half-complex spectrum (unnormalised) of v * mask (mask may be NULL); *out freed with cg_fft_free. */
cg_status cg__spectrum(const float *v, int N, const float *mask, cg_complex **out);
/* Per-shell sums over two spectra; deterministic (per-plane partials added in order). */
cg_status cg__shell_sums(const cg_complex *A, const cg_complex *B, int N, double *num, double *pa, double *pb,
                         int64_t *nvox);
double cg__fsc_value(double num, double pa, double pb);
