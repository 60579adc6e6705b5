/* Volume resampling: rigid transforms (rotation or improper rotation about the centre, then a
 * translation) with trilinear or Catmull-Rom interpolation, and Fourier resizing.
 *
 * Conventions: volumes N^3, v[z][y][x]; vectors (x, y, z); centre c = (N/2, N/2, N/2)
 * (CONVENTIONS.md "Grid centre"). out(r) = in(Q^T (r - c - t) + c): the content turns by Q and
 * moves by +t. Samples that fall outside the input box read as 0.
 * Catmull-Rom: the cubic convolution kernel of Keys (1981) with a = -0.5, interpolating
 * (passes through the samples), third-order accurate, 4 taps per axis.
 * Fourier resize: crop or zero-pad the centred spectrum, so the pixel size scales by N / M.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/metrics.h"

static inline float voxel(const float *v, int N, int x, int y, int z) {
    if ((unsigned)x >= (unsigned)N || (unsigned)y >= (unsigned)N || (unsigned)z >= (unsigned)N) return 0.0f;
    return v[((size_t)z * N + y) * N + x];
}

static float sample_linear(const float *v, int N, double px, double py, double pz) {
    int x0 = (int)floor(px), y0 = (int)floor(py), z0 = (int)floor(pz);
    if (x0 < -1 || y0 < -1 || z0 < -1 || x0 >= N || y0 >= N || z0 >= N) return 0.0f;
    double fx = px - x0, fy = py - y0, fz = pz - z0;
    double c00 = voxel(v, N, x0, y0, z0) * (1 - fx) + voxel(v, N, x0 + 1, y0, z0) * fx;
    double c10 = voxel(v, N, x0, y0 + 1, z0) * (1 - fx) + voxel(v, N, x0 + 1, y0 + 1, z0) * fx;
    double c01 = voxel(v, N, x0, y0, z0 + 1) * (1 - fx) + voxel(v, N, x0 + 1, y0, z0 + 1) * fx;
    double c11 = voxel(v, N, x0, y0 + 1, z0 + 1) * (1 - fx) + voxel(v, N, x0 + 1, y0 + 1, z0 + 1) * fx;
    double c0 = c00 * (1 - fy) + c10 * fy, c1 = c01 * (1 - fy) + c11 * fy;
    return (float)(c0 * (1 - fz) + c1 * fz);
}

/* Catmull-Rom weights for taps at offsets -1, 0, 1, 2 from floor(p), fraction t. */
static inline void cr_weights(double t, double w[4]) {
    double t2 = t * t, t3 = t2 * t;
    w[0] = -0.5 * t3 + t2 - 0.5 * t;
    w[1] = 1.5 * t3 - 2.5 * t2 + 1.0;
    w[2] = -1.5 * t3 + 2.0 * t2 + 0.5 * t;
    w[3] = 0.5 * t3 - 0.5 * t2;
}

static float sample_cubic(const float *v, int N, double px, double py, double pz) {
    int x0 = (int)floor(px), y0 = (int)floor(py), z0 = (int)floor(pz);
    if (x0 < -2 || y0 < -2 || z0 < -2 || x0 > N || y0 > N || z0 > N) return 0.0f;
    double wx[4], wy[4], wz[4];
    cr_weights(px - x0, wx);
    cr_weights(py - y0, wy);
    cr_weights(pz - z0, wz);
    int inside = x0 >= 1 && y0 >= 1 && z0 >= 1 && x0 + 2 < N && y0 + 2 < N && z0 + 2 < N;
    double acc = 0;
    for (int k = 0; k < 4; k++) {
        double ay = 0;
        for (int j = 0; j < 4; j++) {
            double ax = 0;
            if (inside) {
                const float *row = v + ((size_t)(z0 - 1 + k) * N + (y0 - 1 + j)) * N + (x0 - 1);
                ax = wx[0] * row[0] + wx[1] * row[1] + wx[2] * row[2] + wx[3] * row[3];
            } else {
                for (int i = 0; i < 4; i++) ax += wx[i] * voxel(v, N, x0 - 1 + i, y0 - 1 + j, z0 - 1 + k);
            }
            ay += wy[j] * ax;
        }
        acc += wz[k] * ay;
    }
    return (float)acc;
}

cg_status cg_volume_transform(const float *in, int N, const double Q[9], const double shift_px[3], cg_interp interp,
                              float *out) {
    if (N < 1) return cg_error(CG_ERR_ARG, "volume transform of box %d", N);
    if (interp != CG_INTERP_LINEAR && interp != CG_INTERP_CUBIC)
        return cg_error(CG_ERR_ARG, "volume transform: unknown interpolation %d", (int)interp);
    if (in == out) return cg_error(CG_ERR_ARG, "volume transform cannot work in place");
    double c = N / 2, t[3] = {0, 0, 0};
    if (shift_px) memcpy(t, shift_px, sizeof t);
#pragma omp parallel for schedule(static)
    for (int z = 0; z < N; z++) {
        for (int y = 0; y < N; y++) {
            double r[3] = {-c - t[0], y - c - t[1], z - c - t[2]};
            /* p = Q^T r + c, advancing by the first column of Q^T (row 0 of Q) per x step */
            double p[3], d[3] = {Q[0], Q[1], Q[2]};
            for (int i = 0; i < 3; i++) p[i] = Q[0 + i] * r[0] + Q[3 + i] * r[1] + Q[6 + i] * r[2] + c;
            float *o = out + ((size_t)z * N + y) * N;
            for (int x = 0; x < N; x++) {
                double px = p[0] + x * d[0], py = p[1] + x * d[1], pz = p[2] + x * d[2];
                o[x] = interp == CG_INTERP_LINEAR ? sample_linear(in, N, px, py, pz) : sample_cubic(in, N, px, py, pz);
            }
        }
    }
    return CG_OK;
}

/* Copy the overlapping frequencies of an N-grid spectrum into an M-grid spectrum: signed
 * frequencies in [-floor(L/2), ceil(L/2) - 1] on the full axes, [0, L/2] on the half axis,
 * L = min(N, M). */

