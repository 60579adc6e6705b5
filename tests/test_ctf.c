/* CTF: cg_ctf_eval and cg_ctf_fill_half against an independent double-precision evaluation of
 * RELION's formula written out as in CONVENTIONS.md (atan2 for the polar angle, cos^2/sin^2 for
 * the astigmatism: a different computation path from the library's expansion of cos 2(phi - az)).
 * Each wrong variant named in CONVENTIONS.md (CTF sign flipped, defocus angle negated, dU and dV
 * swapped) is applied to the reference and must FAIL the same comparison, so the check has the
 * power to catch it. (The same variants are also checked against RELION's own images in
 * test_relion_ctf.c when relion_project is installed.)
 */
#include <math.h>

#include "cryogen/ctf.h"
#include "cryogen/fft.h"
#include "cryogen/geom.h"
#include "testutil.h"

typedef enum { VAR_NONE, VAR_SIGN, VAR_ANGLE_NEG, VAR_SWAP_UV } variant;

/* RELION formula, CONVENTIONS.md "CTF", in double */
static double ref_ctf(const cg_ctf_params *p, double kx, double ky, variant v) {
    double V = p->voltage_kV * 1000.0;
    double lambda = 12.2643247 / sqrt(V * (1 + 0.978466e-6 * V));
    double dU = p->defocus_u_A, dV = p->defocus_v_A, az = p->defocus_angle_rad;
    if (v == VAR_SWAP_UV) {
        double t = dU;
        dU = dV;
        dV = t;
    }
    if (v == VAR_ANGLE_NEG) az = -az;
    double phi = atan2(ky, kx);
    double c = cos(phi - az), s = sin(phi - az);
    double dF = dU * c * c + dV * s * s;
    double k2 = kx * kx + ky * ky;
    double Cs_A = p->cs_mm * 1e7;
    double chi = M_PI * lambda * dF * k2 - M_PI / 2 * Cs_A * lambda * lambda * lambda * k2 * k2 + p->phase_shift_rad;
    double w = p->amp_contrast;
    double ctf = sqrt(1 - w * w) * sin(chi) + w * cos(chi);
    ctf *= exp(-p->bfactor_A2 * k2 / 4) * p->scale;
    return v == VAR_SIGN ? -ctf : ctf;
}

/* Max |library - reference| over a D x (D/2+1) half grid. */
static double max_err_grid(const cg_ctf_params *p, int D, double apix, variant v) {
    cg_ctf c;
    if (cg_ctf_init(&c, p) != CG_OK) return 1e9;
    float *g = malloc(sizeof(float) * D * (D / 2 + 1));
    cg_ctf_fill_half(&c, D, apix, g);
    double e = 0;
    for (int iy = 0; iy < D; iy++)
        for (int ix = 0; ix <= D / 2; ix++) {
            double kx = ix / (D * apix), ky = cg_fft_freq(iy, D) / (D * apix);
            double d = fabs(g[iy * (D / 2 + 1) + ix] - ref_ctf(p, kx, ky, v));
            if (d > e) e = d;
        }
    free(g);
    return e;
}

int main(void) {
    /* wavelength at 300 kV: 0.019687 A (standard tables: 1.9687 pm); 200 kV: 0.025079 A */
    CHECK_CLOSE(cg_electron_wavelength_A(300), 0.0196875, 2e-6, 0);
    CHECK_CLOSE(cg_electron_wavelength_A(200), 0.0250793, 2e-6, 0);

    cg_ctf_params p = cg_ctf_params_default();
    CHECK(p.voltage_kV == 300 && p.cs_mm == 2.7 && p.amp_contrast == 0.1 && p.scale == 1);
    p.defocus_u_A = 21000;
    p.defocus_v_A = 15500; /* strong astigmatism so the angle and dU/dV variants show */
    p.defocus_angle_rad = CG_DEG2RAD(37.0);
    p.phase_shift_rad = CG_DEG2RAD(12.0);
    p.bfactor_A2 = 40.0;
    p.scale = 0.9;
    cg_ctf c;
    CHECK_OK(cg_ctf_init(&c, &p));

    /* CTF(0) = +w * scale: white particles on a dark background */
    cg_ctf_params p0 = p;
    p0.phase_shift_rad = 0;
    cg_ctf c0;
    CHECK_OK(cg_ctf_init(&c0, &p0));
    CHECK_CLOSE(cg_ctf_eval(&c0, 0, 0), 0.1 * 0.9, 1e-12, 0);

    /* chosen frequencies, cycles/A: axes, diagonals, all quadrants, near Nyquist at 1 A/px */
    const double ks[][2] = {{0.01, 0}, {0, 0.01}, {0.03, 0.02}, {-0.03, 0.02}, {0.05, -0.07}, {-0.11, -0.04},
                            {0.2, 0.15}, {0.31, -0.22}, {0.0071, 0.0033}, {-0.45, 0.1}};
    const int nk = (int)(sizeof ks / sizeof ks[0]);
    /* double in, double out: only rounding differences (~1e-15 relative in chi ~ 1e3 rad) */
    for (int i = 0; i < nk; i++) CHECK_CLOSE(cg_ctf_eval(&c, ks[i][0], ks[i][1]), ref_ctf(&p, ks[i][0], ks[i][1], VAR_NONE), 1e-9, 0);

    /* half-grid fill in float: |CTF| <= 1 so 1e-6 absolute covers float rounding of the output
     * (6e-8) and of chi (~1e3 rad at the corners of a 1.0 A/px grid * 6e-8 relative) */
    const double tol = 2e-5;
    double e = max_err_grid(&p, 64, 1.0, VAR_NONE);
    CHECK_MSG(e < tol, "fill_half max error %g", e);
    e = max_err_grid(&p, 65, 1.3, VAR_NONE);
    CHECK_MSG(e < tol, "fill_half (odd D) max error %g", e);

    /* every wrong variant must fail the same check by a wide margin */
    const variant vs[] = {VAR_SIGN, VAR_ANGLE_NEG, VAR_SWAP_UV};
    const char *names[] = {"sign flipped", "defocus angle negated", "dU and dV swapped"};
    for (int i = 0; i < 3; i++) {
        double ev = max_err_grid(&p, 64, 1.0, vs[i]);
        printf("variant %-22s: max |CTF - reference| = %.3f (correct: %.2g)\n", names[i], ev, e);
        CHECK_MSG(ev > 0.5, "variant '%s' passes the check (max error %g)", names[i], ev);
    }

    /* validation */
    cg_ctf_params bad = p;
    bad.voltage_kV = 0;
    CHECK_FAILS(cg_ctf_init(&c, &bad), CG_ERR_RANGE, "voltage");
    bad = p;
    bad.amp_contrast = 1.2;
    CHECK_FAILS(cg_ctf_init(&c, &bad), CG_ERR_RANGE, "amplitude contrast");
    bad = p;
    bad.defocus_u_A = NAN;
    CHECK_FAILS(cg_ctf_init(&c, &bad), CG_ERR_RANGE, "defocus_u_A");
    return cg_test_finish();
}
