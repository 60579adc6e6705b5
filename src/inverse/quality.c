/* Image quality against a reference: PSNR and SSIM (Wang, Bovik, Sheikh, Simoncelli 2004) with
 * a Gaussian window (sigma 1.5, radius 5: 11 x 11), K1 = 0.01, K2 = 0.03, population
 * (co)variances, averaged over the window centres where the whole window fits (the pixels
 * skimage keeps after cropping (11 - 1) / 2 from each border). Sums in double. */
#include <math.h>
#include <stdlib.h>

#include "cryogen/inverse.h"

static double data_range_of(const float *ref, size_t n, double data_range) {
    if (data_range > 0) return data_range;
    float lo = ref[0], hi = ref[0];
    for (size_t i = 1; i < n; i++) lo = ref[i] < lo ? ref[i] : lo, hi = ref[i] > hi ? ref[i] : hi;
    return hi > lo ? hi - lo : 1;
}

double cg_psnr(const float *img, const float *ref, int ny, int nx, double data_range) {
    size_t n = (size_t)ny * nx;
    double L = data_range_of(ref, n, data_range), mse = 0;
    for (size_t i = 0; i < n; i++) mse += ((double)img[i] - ref[i]) * ((double)img[i] - ref[i]);
    mse /= (double)n;
    return mse > 0 ? 10 * log10(L * L / mse) : INFINITY;
}

double cg_ssim(const float *img, const float *ref, int ny, int nx, double data_range) {
    enum { R = 5 };
    double L = data_range_of(ref, (size_t)ny * nx, data_range);
    double C1 = (0.01 * L) * (0.01 * L), C2 = (0.03 * L) * (0.03 * L), w[2 * R + 1], ws = 0;
    for (int i = -R; i <= R; i++) ws += w[i + R] = exp(-(double)i * i / (2 * 1.5 * 1.5));
    for (int i = 0; i <= 2 * R; i++) w[i] /= ws;
    if (ny < 2 * R + 1 || nx < 2 * R + 1) return NAN;
    double total = 0;
    long count = 0;
    for (int cy = R; cy < ny - R; cy++)
        for (int cx = R; cx < nx - R; cx++) {
            double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
            for (int dy = -R; dy <= R; dy++)
                for (int dx = -R; dx <= R; dx++) {
                    double g = w[dy + R] * w[dx + R];
                    double a = img[(size_t)(cy + dy) * nx + cx + dx], b = ref[(size_t)(cy + dy) * nx + cx + dx];
                    mx += g * a, my += g * b, xx += g * a * a, yy += g * b * b, xy += g * a * b;
                }
            double vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
            total += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
            count++;
        }
    return total / (double)count;
}
