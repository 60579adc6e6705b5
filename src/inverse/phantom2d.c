/* 2D ellipse phantoms for the CT/MRI inverse problems (issue 9): the modified Shepp-Logan
 * phantom and random Shepp-Logan-like phantoms (a skull-like shell, inner ellipses, a smooth
 * multiplicative texture), rendered with sub-pixel supersampling so edges carry partial-volume
 * values. Coordinates in units of D/2 about pixel (D/2, D/2), x right, y up (inverse.h). */
#include <math.h>
#include <string.h>

#include "cryogen/inverse.h"

int cg_shepp_logan(cg_ellipse *e) {
    /* Toft's modified Shepp-Logan (higher contrast): value, a, b, x0, y0, phi (degrees). */
    static const cg_ellipse sl[10] = {
        {1.0, 0.69, 0.92, 0, 0, 0},          {-0.8, 0.6624, 0.8740, 0, -0.0184, 0},
        {-0.2, 0.1100, 0.3100, 0.22, 0, -18}, {-0.2, 0.1600, 0.4100, -0.22, 0, 18},
        {0.1, 0.2100, 0.2500, 0, 0.35, 0},   {0.1, 0.0460, 0.0460, 0, 0.1, 0},
        {0.1, 0.0460, 0.0460, 0, -0.1, 0},   {0.1, 0.0460, 0.0230, -0.08, -0.605, 0},
        {0.1, 0.0230, 0.0230, 0, -0.606, 0}, {0.1, 0.0230, 0.0460, 0.06, -0.605, 0},
    };
    memcpy(e, sl, sizeof sl);
    return 10;
}

void cg_ellipses_render(const cg_ellipse *e, int n, int D, int supersample, float *img) {
    int S = supersample < 1 ? 1 : supersample;
    double half = D / 2.0;
    #pragma omp parallel for schedule(static)
    for (int iy = 0; iy < D; iy++)
        for (int ix = 0; ix < D; ix++) {
            double acc = 0;
            for (int sy = 0; sy < S; sy++)
                for (int sx = 0; sx < S; sx++) {
                    double px = (ix - half + (sx + 0.5) / S - 0.5) / half;
                    double py = -(iy - half + (sy + 0.5) / S - 0.5) / half; /* y up */
                    for (int k = 0; k < n; k++) {
                        double c = cos(e[k].phi_deg * M_PI / 180), s = sin(e[k].phi_deg * M_PI / 180);
                        double dx = px - e[k].x0, dy = py - e[k].y0;
                        double u = (c * dx + s * dy) / e[k].a, v = (-s * dx + c * dy) / e[k].b;
                        if (u * u + v * v <= 1) acc += e[k].value;
                    }
                }
            img[(size_t)iy * D + ix] = (float)(acc / (S * S));
        }
}

void cg_phantom2d_defaults(cg_phantom2d_config *c) {
    c->min_inner = 3, c->max_inner = 8, c->texture = 0.05, c->supersample = 4;
}

static double unif(cg_rng *r, double lo, double hi) { return lo + (hi - lo) * cg_rng_uniform(r); }

cg_status cg_phantom2d_random(const cg_phantom2d_config *c, uint64_t seed, int64_t index, int D, float *img) {
    if (D < 8) return cg_error(CG_ERR_ARG, "phantom box %d: need D >= 8", D);
    if (c->min_inner < 0 || c->max_inner < c->min_inner || c->max_inner > 60 || c->supersample < 1 ||
        !(c->texture >= 0 && c->texture < 1))
        return cg_error(CG_ERR_ARG, "phantom: inner ellipses %d..%d (0..60), supersample %d (>= 1), texture %g ([0, 1))",
                        c->min_inner, c->max_inner, c->supersample, c->texture);
    cg_rng r;
    cg_rng_init(&r, seed, CG_INVERSE_STREAM_PHANTOM, (uint64_t)index);
    cg_ellipse e[64];
    int n = 0;
    /* shell: outer (+1) and interior (-0.8), so the interior sits at 0.2 */
    double a = unif(&r, 0.62, 0.86), b = unif(&r, 0.70, 0.92), phi = unif(&r, -25, 25);
    double x0 = unif(&r, -0.03, 0.03), y0 = unif(&r, -0.03, 0.03), t = unif(&r, 0.05, 0.11);
    e[n++] = (cg_ellipse){1.0, a, b, x0, y0, phi};
    e[n++] = (cg_ellipse){-0.8, a - t, b - t, x0, y0, phi};
    double ai = a - t, bi = b - t, cphi = cos(phi * M_PI / 180), sphi = sin(phi * M_PI / 180);
    int ninner = c->min_inner + (int)cg_rng_below(&r, (uint64_t)(c->max_inner - c->min_inner + 1));
    for (int k = 0; k < ninner; k++) {
        double m = fmin(ai, bi);
        double ea = m * unif(&r, 0.05, 0.35), eb = m * unif(&r, 0.05, 0.35), ephi = unif(&r, 0, 180);
        double val = unif(&r, -0.15, 0.4);
        /* centre inside the interior, far enough from its edge for the ellipse to fit */
        double rho = (1 - fmax(ea, eb) / m - 0.03) * sqrt(cg_rng_uniform(&r)), ang = unif(&r, 0, 2 * M_PI);
        if (rho < 0) rho = 0;
        double lx = ai * rho * cos(ang), ly = bi * rho * sin(ang);
        e[n++] = (cg_ellipse){val, ea, eb, x0 + cphi * lx - sphi * ly, y0 + sphi * lx + cphi * ly, ephi};
    }
    cg_ellipses_render(e, n, D, c->supersample, img);
    /* smooth texture: (1 + texture * f), f a sum of 6 random plane waves of 0.5..3 cycles per box */
    double fx[6], fy[6], ph[6];
    for (int k = 0; k < 6; k++) {
        double f = unif(&r, 0.5, 3.0), th = unif(&r, 0, 2 * M_PI);
        fx[k] = f * cos(th), fy[k] = f * sin(th), ph[k] = unif(&r, 0, 2 * M_PI);
    }
    for (int iy = 0; iy < D; iy++)
        for (int ix = 0; ix < D; ix++) {
            double px = (double)(ix - D / 2) / D, py = (double)(iy - D / 2) / D, f = 0;
            for (int k = 0; k < 6; k++) f += cos(2 * M_PI * (fx[k] * px + fy[k] * py) + ph[k]);
            float *p = &img[(size_t)iy * D + ix];
            double v = *p * (1 + c->texture * f / sqrt(3.0));
            *p = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
        }
    return CG_OK;
}
