/* Contrast transfer function, RELION convention (RELION src/ctf.h, CTF::getCTF; CONVENTIONS.md
 * "CTF"). Constants that depend only on the microscope and the particle are computed once in
 * cg_ctf_init; cg_ctf_eval (inline in ctf.h) and cg_ctf_fill_half evaluate per pixel without
 * atan2: cos 2(phi - az) is expanded in kx, ky.
 *
 * Units: voltage kV, Cs mm (converted to A), defocus A, angles rad, frequencies cycles/A.
 * Sign: CTF(0) = +w * scale (positive density stays positive at low frequency).
 */
#include <math.h>

#include "cryogen/ctf.h"
#include "cryogen/fft.h"

cg_ctf_params cg_ctf_params_default(void) {
    cg_ctf_params p = {0};
    p.voltage_kV = 300.0;
    p.cs_mm = 2.7;
    p.amp_contrast = 0.1;
    p.scale = 1.0;
    return p;
}

double cg_electron_wavelength_A(double voltage_kV) {
    /* relativistic de Broglie wavelength, RELION's constants */
    double V = voltage_kV * 1000.0;
    return 12.2643247 / sqrt(V * (1.0 + 0.978466e-6 * V));
}

cg_status cg_ctf_init(cg_ctf *c, const cg_ctf_params *p) {
    const double vals[] = {p->voltage_kV, p->cs_mm, p->amp_contrast, p->defocus_u_A, p->defocus_v_A,
                           p->defocus_angle_rad, p->phase_shift_rad, p->bfactor_A2, p->scale};
    const char *names[] = {"voltage_kV", "cs_mm", "amp_contrast", "defocus_u_A", "defocus_v_A",
                           "defocus_angle_rad", "phase_shift_rad", "bfactor_A2", "scale"};
    for (int i = 0; i < (int)(sizeof vals / sizeof vals[0]); i++)
        if (!isfinite(vals[i]))
            return cg_error(CG_ERR_RANGE, "CTF parameter %s is not a finite number", names[i]);
    if (!(p->voltage_kV > 0))
        return cg_error(CG_ERR_RANGE, "CTF voltage %g kV must be positive (typically 200 or 300)", p->voltage_kV);
    if (!(p->amp_contrast >= 0 && p->amp_contrast < 1))
        return cg_error(CG_ERR_RANGE, "CTF amplitude contrast %g must be in [0, 1) (typically 0.07 to 0.1)",
                        p->amp_contrast);
    double lambda = cg_electron_wavelength_A(p->voltage_kV);
    double cs_A = p->cs_mm * 1e7;
    c->lambda_A = lambda;
    c->k1 = M_PI * lambda;
    c->k2 = 0.5 * M_PI * cs_A * lambda * lambda * lambda;
    c->sum_df = 0.5 * (p->defocus_u_A + p->defocus_v_A);
    c->diff_df = 0.5 * (p->defocus_u_A - p->defocus_v_A);
    c->az = p->defocus_angle_rad;
    c->cos2az = cos(2.0 * c->az);
    c->sin2az = sin(2.0 * c->az);
    c->phase_shift_rad = p->phase_shift_rad;
    c->w = p->amp_contrast;
    c->sqrt1mw2 = sqrt(1.0 - c->w * c->w);
    c->amp_phase_rad = asin(c->w);
    c->bfac_quarter = 0.25 * p->bfactor_A2;
    c->scale = p->scale;
    return CG_OK;
}

/* Per-pixel evaluation as cg_ctf_eval, rearranged for speed (the inner loop of simulation):
 * - dF k^2 = sum_df k^2 + diff_df ((kx^2 - ky^2) cos 2az + 2 kx ky sin 2az): no division;
 * - sqrt(1 - w^2) sin(chi) + w cos(chi) = sin(chi + asin w): one sine instead of two;
 * - chi (double, up to hundreds of rad) is reduced to [-pi, pi], then folded to [0, pi/2]
 *   for a Taylor polynomial (no libm call, so the loop vectorises).
 * Agrees with the double formula to ~1e-7 (test_ctf). */
/* sin(x) for |x| <= pi: sin x = sign(x) sin(a), a = pi/2 - |pi/2 - |x|| in [0, pi/2], by the
 * Taylor series to a^11 (remainder <= (pi/2)^13 / 13! = 5.7e-8). */
static inline double sin_reduced(double x) {
    const double half_pi = 1.5707963267948966;
    double a = half_pi - fabs(half_pi - fabs(x)), a2 = a * a;
    double p = a * (1 + a2 * (-1.0 / 6 + a2 * (1.0 / 120 + a2 * (-1.0 / 5040 + a2 * (1.0 / 362880 + a2 * (-1.0 / 39916800))))));
    return copysign(p, x);
}

static inline float ctf_fast(const cg_ctf *c, double kx, double ky) {
    const double k2 = kx * kx + ky * ky;
    const double dfk2 = c->sum_df * k2 + c->diff_df * ((kx * kx - ky * ky) * c->cos2az + 2.0 * kx * ky * c->sin2az);
    const double chi = c->k1 * dfk2 - c->k2 * k2 * k2 + c->phase_shift_rad + c->amp_phase_rad;
    return (float)(c->scale * sin_reduced(chi - 6.283185307179586 * nearbyint(chi * 0.15915494309189535)));
}

void cg_ctf_fill_half(const cg_ctf *c, int D, double pixel_size_A, float *out) {
    cg_ctf_fill_half_masked(c, D, pixel_size_A, INFINITY, out);
}

void cg_ctf_fill_half_masked(const cg_ctf *c, int D, double pixel_size_A, double r_max_px, float *out) {
    const int nh = D / 2 + 1;
    const double inv = 1.0 / (D * pixel_size_A), r2max = r_max_px * r_max_px;
    for (int iy = 0; iy < D; iy++) {
        const int fy = cg_fft_freq(iy, D);
        const double ky = fy * inv;
        float *row = out + (size_t)iy * nh;
        /* columns ix < n are inside the radius (ix^2 + fy^2 < r_max^2) */
        int n = 0;
        while (n < nh && (double)n * n + (double)fy * fy < r2max) n++;
        for (int ix = 0; ix < n; ix++) row[ix] = ctf_fast(c, ix * inv, ky); /* branch-free: vectorises */
        for (int ix = n; ix < nh; ix++) row[ix] = 0.0f;
        if (c->bfac_quarter != 0)
            for (int ix = 0; ix < n; ix++) row[ix] *= (float)exp(-c->bfac_quarter * ((double)ix * ix * inv * inv + ky * ky));
    }
}
