/* Contrast transfer function, RELION convention (ctf.h getCTF; CONVENTIONS.md "CTF").
 *
 *   lambda_A = 12.2643247 / sqrt(V (1 + 0.978466e-6 V)),  V = voltage_kV * 1000
 *   dF(phi)  = dU cos^2(phi - az) + dV sin^2(phi - az)   phi = atan2(ky, kx)
 *   chi(k)   = pi lambda dF k^2 - (pi/2) Cs_A lambda^3 k^4 + phase_shift_rad
 *   CTF(k)   = scale * (sqrt(1 - w^2) sin(chi) + w cos(chi)) * exp(-B k^2 / 4)
 *
 * k in cycles/A, Cs_A = cs_mm * 1e7, positive defocus = underfocus, CTF(0) = +w * scale.
 * The CTF multiplies the DFT of the (centred) projection. cryoDRGN's CTF is the negative of
 * this one (see CONVENTIONS.md); convert at its file boundary, never here.
 */
#pragma once
#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double voltage_kV;
    double cs_mm;
    double amp_contrast;      /* w, rlnAmplitudeContrast */
    double defocus_u_A;       /* rlnDefocusU */
    double defocus_v_A;       /* rlnDefocusV */
    double defocus_angle_rad; /* rlnDefocusAngle (degrees in files) */
    double phase_shift_rad;   /* rlnPhaseShift (degrees in files) */
    double bfactor_A2;        /* rlnCtfBfactor */
    double scale;             /* rlnCtfScalefactor, 1 by default */
} cg_ctf_params;

/* Default-initialised parameters: 300 kV, Cs 2.7 mm, w 0.1, zero defocus, scale 1. */
cg_ctf_params cg_ctf_params_default(void);

/* Constants computed once per particle/optics group; evaluation is then cheap and inline. */
typedef struct {
    double lambda_A;
    double k1;      /* pi * lambda */
    double k2;      /* (pi/2) * Cs_A * lambda^3 */
    double sum_df;  /* (dU + dV) / 2 */
    double diff_df; /* (dU - dV) / 2 */
    double az;      /* defocus angle, rad */
    double cos2az, sin2az; /* cos(2 az), sin(2 az): dF without atan2 (see cg_ctf_eval) */
    double phase_shift_rad;
    double sqrt1mw2, w;
    double amp_phase_rad; /* asin(w): sqrt(1-w^2) sin(chi) + w cos(chi) = sin(chi + asin w) */
    double bfac_quarter; /* B / 4 */
    double scale;
} cg_ctf;

/* Validates (voltage > 0, 0 <= w < 1, finite values); returns CG_ERR_RANGE with a message. */
cg_status cg_ctf_init(cg_ctf *c, const cg_ctf_params *p);

double cg_electron_wavelength_A(double voltage_kV);

/* CTF at spatial frequency (kx, ky) in cycles/A. Thread-safe (c is read only). */
static inline double cg_ctf_eval(const cg_ctf *c, double kx, double ky);

/* Fill a D x (D/2+1) half-complex grid in FFT layout (row index iy -> ky = freq(iy, D),
 * column ix -> kx = ix), frequencies divided by D * pixel_size_A. out[iy*(D/2+1) + ix] = CTF
 * (every point, no radius limit). Thread-safe; no allocation. */
void cg_ctf_fill_half(const cg_ctf *c, int D, double pixel_size_A, float *out);

/* As cg_ctf_fill_half for |k| < r_max_px (cycles per box, e.g. D/2 to match the projector's
 * radius); 0 elsewhere. */
void cg_ctf_fill_half_masked(const cg_ctf *c, int D, double pixel_size_A, double r_max_px, float *out);

/* ---- inline implementation ---- */
#include <math.h>
static inline double cg_ctf_eval(const cg_ctf *c, double kx, double ky) {
    double k2 = kx * kx + ky * ky;
    double df = c->sum_df;
    if (k2 > 0) {
        /* dU cos^2(phi - az) + dV sin^2(phi - az) = sum_df + diff_df cos(2 (phi - az)), and
         * cos(2 (phi - az)) = ((kx^2 - ky^2) cos 2az + 2 kx ky sin 2az) / k^2: no atan2. */
        df += c->diff_df * ((kx * kx - ky * ky) * c->cos2az + 2.0 * kx * ky * c->sin2az) / k2;
    }
    double chi = c->k1 * df * k2 - c->k2 * k2 * k2 + c->phase_shift_rad;
    double v = c->sqrt1mw2 * sin(chi) + c->w * cos(chi);
    if (c->bfac_quarter != 0) v *= exp(-c->bfac_quarter * k2);
    return c->scale * v;
}

#ifdef __cplusplus
}
#endif
