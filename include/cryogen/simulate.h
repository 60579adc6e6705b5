/* Particle-image simulation (the library behind `cryogen simulate` and `cryogen demo`, reusable
 * by methods that need synthetic data): per particle, a pose, a shift and a CTF drawn from
 * counter-based random streams keyed by the particle index, a Fourier-slice projection, the
 * shift by -origin, the CTF, and white Gaussian noise at a target SNR.
 *
 * Image model (CONVENTIONS.md): img = F^-1[ CTF(k) * exp(+2 pi i k.o / D) * F[V](A^T k) ] + n,
 * o = origin in pixels (the image is the centred projection translated by -o), n ~ N(0, s^2)
 * white. SNR = (clean-signal variance inside the circle r <= D/2, averaged over a pilot set of
 * particles) / s^2: one noise level for the whole dataset (see cg_simulator_noise_sigma).
 *
 * Determinism: particle i's pose uses (seed, CG_RNG_STREAM_POSE, i), its shift
 * (seed, CG_RNG_STREAM_SHIFT, i), its defocus (seed, CG_RNG_STREAM_CTF, i) and its noise
 * (seed, CG_RNG_STREAM_NOISE, i), so outputs are identical for any thread count.
 * This module knows nothing of files: the CLI reads volumes and writes stacks and STAR files.
 */
#pragma once
#include <stdint.h>

#include "cryogen/conform.h"
#include "cryogen/core.h"
#include "cryogen/ctf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int D;                 /* box, px (the volume is D^3) */
    double pixel_size_A;
    int oversample;        /* Fourier padding of the projector, 2 by default */
    uint64_t seed;
    double snr;            /* > 0; INFINITY: no noise */
    int apply_ctf;         /* 0: CTF = 1 */
    cg_ctf_params ctf;     /* voltage, Cs, w, B-factor, scale for drawn particles */
    double defocus_min_A, defocus_max_A; /* defocus drawn uniformly in [min, max] */
    double astig_A;        /* dU - dV; dU = d + astig/2, dV = d - astig/2; angle uniform [0, 180) deg */
    double shift_sd_A;     /* particle translation ~ N(0, shift_sd_A^2) per axis; origin = -translation */
} cg_sim_config;

/* Defaults: oversample 2, seed 0, SNR 1, CTF on (300 kV, 2.7 mm, w 0.1), defocus
 * 10000:25000 A, no astigmatism, no shift. D and pixel_size_A must be set by the caller. */
cg_sim_config cg_sim_config_default(void);
/* Checks ranges; CG_ERR_ARG with a message naming the option. */
cg_status cg_sim_config_check(const cg_sim_config *c);

typedef struct {
    double euler_rad[3];   /* rot, tilt, psi (RELION ZYZ) */
    double origin_A[2];    /* rlnOriginXAngst, rlnOriginYAngst */
    cg_ctf_params ctf;
    double conf[2];        /* conformational parameter(s); used by model simulators only */
} cg_sim_particle;

/* Draw particle i's pose (uniform), shift and defocus from the config's seed. */
void cg_sim_draw_particle(const cg_sim_config *c, int64_t i, cg_sim_particle *out);

typedef struct cg_simulator cg_simulator;
/* Builds the projector from vol (D^3, v[z][y][x], not kept) and one workspace per thread
 * (cg_get_threads() at creation). */
cg_status cg_simulator_create(cg_simulator **out, const float *vol, const cg_sim_config *c);
void cg_simulator_destroy(cg_simulator *s); /* accepts NULL */

/* A simulator whose images come from a conformational model instead of a volume: particle i's
 * atoms for its conf[] parameter, projected analytically (cg_atoms_project: exact line
 * integrals of the Gaussian potential, the same scale as the voxel projector on
 * cg_atoms_to_volume's map), then shifted, CTF-multiplied and noised as for a volume. `m` and
 * `g` must outlive the simulator. Projections are centred on cg_conf_centre(m). */
cg_status cg_simulator_create_model(cg_simulator **out, const cg_conf_model *m, const cg_gauss_opts *g,
                                    const cg_sim_config *c);
/* Particle i's conformational parameter(s), drawn from (seed, CG_RNG_STREAM_MODEL, i). */
void cg_sim_draw_conformation(const cg_conf_model *m, uint64_t seed, int64_t i, double conf[2]);

/* Noise standard deviation for the configured SNR, from the mean clean-signal variance of up to
 * 256 particles spread evenly over parts[0..n) (deterministic). 0 when snr is infinite. */
cg_status cg_simulator_noise_sigma(cg_simulator *s, const cg_sim_particle *parts, int64_t n, double *sigma);

/* Images of particles parts[0..count) whose global indices are first_index + j (the index keys
 * the noise stream): clean[j] (D*D, may be NULL) without noise, noisy[j] (D*D, may be NULL) with
 * noise of standard deviation sigma. OpenMP over images; results do not depend on the thread
 * count. Errors: CG_ERR_ARG for invalid CTF parameters of a particle (names its index). */
cg_status cg_simulator_run(cg_simulator *s, const cg_sim_particle *parts, int64_t count, int64_t first_index,
                           double sigma, float *clean, float *noisy);

#ifdef __cplusplus
}
#endif
