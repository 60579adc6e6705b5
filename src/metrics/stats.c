/* Masks, volume statistics and real-space correlation.
 *
 * Conventions: volumes N^3, v[z][y][x], centre voxel (N/2, N/2, N/2) (CONVENTIONS.md "Grid
 * centre"). A mask is a weight volume in [0, 1]; statistics and correlations are weighted by
 * it. Sums are in double, in index order (serial: these are memory-bound and cheap), so
 * results are reproducible bit for bit.
 * Reference for the soft edge: the raised-cosine edge of RELION's mask_creation / relion_mask.
 */
#include <math.h>

#include "cryogen/geom.h"
#include "cryogen/metrics.h"

cg_status cg_mask_soft_sphere(float *mask, int N, double radius_px, double edge_px) {
    if (N < 1) return cg_error(CG_ERR_ARG, "soft sphere mask of box %d", N);
    if (!(radius_px > 0) || !(edge_px >= 0))
        return cg_error(CG_ERR_ARG, "soft sphere mask: radius %g px and edge %g px must be positive", radius_px,
                        edge_px);
    double c = N / 2;
    for (int z = 0; z < N; z++)
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) {
                double r = sqrt((x - c) * (x - c) + (y - c) * (y - c) + (z - c) * (z - c));
                double m;
                if (r <= radius_px) m = 1.0;
                else if (r >= radius_px + edge_px) m = 0.0;
                else m = 0.5 * (1.0 + cos(CG_PI * (r - radius_px) / edge_px));
                mask[((size_t)z * N + y) * N + x] = (float)m;
            }
    return CG_OK;
}

void cg_volume_stats_compute(const float *v, size_t n, const float *mask, cg_volume_stats *out) {
    double sw = 0, s1 = 0, s2 = 0, mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double w = mask ? mask[i] : 1.0;
        if (w <= 0) continue;
        double x = v[i];
        sw += w;
        s1 += w * x;
        s2 += w * x * x;
        if (x < mn) mn = x;
        if (x > mx) mx = x;
    }
    out->weight = sw;
    out->sum = s1;
    out->mean = sw > 0 ? s1 / sw : 0;
    out->rms = sw > 0 ? sqrt(s2 / sw) : 0;
    double var = sw > 0 ? s2 / sw - out->mean * out->mean : 0;
    /* second pass for an accurate variance (the one-pass formula cancels for large means) */
    if (sw > 0) {
        double d2 = 0;
        for (size_t i = 0; i < n; i++) {
            double w = mask ? mask[i] : 1.0;
            if (w <= 0) continue;
            double d = v[i] - out->mean;
            d2 += w * d * d;
        }
        var = d2 / sw;
    }
    out->std = sqrt(var > 0 ? var : 0);
    out->min = sw > 0 ? mn : 0;
    out->max = sw > 0 ? mx : 0;
}

double cg_real_space_correlation(const float *a, const float *b, size_t n, const float *mask) {
    double sw = 0, sa = 0, sb = 0;
    for (size_t i = 0; i < n; i++) {
        double w = mask ? mask[i] : 1.0;
        sw += w;
        sa += w * a[i];
        sb += w * b[i];
    }
    if (!(sw > 0)) return 0;
    double ma = sa / sw, mb = sb / sw, sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        double w = mask ? mask[i] : 1.0;
        double da = a[i] - ma, db = b[i] - mb;
        sab += w * da * db;
        saa += w * da * da;
        sbb += w * db * db;
    }
    return (saa > 0 && sbb > 0) ? sab / sqrt(saa * sbb) : 0;
}
