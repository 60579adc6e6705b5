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
    c->bfac_quarter = 0.25 * p->bfactor_A2;
    c->scale = p->scale;
    return CG_OK;
}

void cg_ctf_fill_half(const cg_ctf *c, int D, double pixel_size_A, float *out) {
    const int nh = D / 2 + 1;
    const double inv = 1.0 / (D * pixel_size_A);
    for (int iy = 0; iy < D; iy++) {
        double ky = cg_fft_freq(iy, D) * inv;
        float *row = out + (size_t)iy * nh;
        for (int ix = 0; ix < nh; ix++) row[ix] = (float)cg_ctf_eval(c, ix * inv, ky);
    }
}
