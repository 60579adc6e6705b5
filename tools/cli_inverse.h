/* Shared driver of `cryogen ct` and `cryogen mri` (tools/cmd_ct.c, cmd_mri.c): per image, the
 * classical baseline (FBP / zero-filled), the score-based posterior mean and standard deviation
 * (src/inverse/sampler.c), metrics against a ground truth, MRC stacks, a PNG montage and a JSON
 * record. */
#pragma once
#include "cryogen/inverse.h"

typedef struct {
    const char *cmd;       /* "ct" or "mri" */
    const char *prefix;    /* outputs PREFIX_recon.mrcs, _std.mrcs, _baseline.mrcs, .png, _metrics.json */
    const char *den_dir;   /* NULL: baseline only */
    const char *truth;     /* ground truth stack (NULL: no metrics) */
    const char *input;     /* the measured or simulated input file, for the JSON record */
    int K;                 /* posterior samples */
    int write_samples;     /* also PREFIX_samples.mrcs */
    double data_range;     /* <= 0: range of each truth image */
    cg_inverse_sampler_config sc;
    char settings[512];    /* the command's measurement settings, for the JSON record */
} cg_cli_inverse_run;

/* Callback giving image i's operator (caller-owned, destroyed by the driver), measurements
 * y[rows][row_len] (full array, measured rows filled) and baseline[D][D]. */
typedef cg_status (*cg_cli_inverse_image_fn)(void *ctx, int64_t i, cg_inverse_op **op, float **y, float *baseline);

/* Run over n images of D^2; truth_img[n][D][D] may be NULL. Returns an exit code. */
int cg_cli_inverse_main(const cg_cli_inverse_run *r, int64_t n, int D, const float *truth_img, cg_cli_inverse_image_fn fn,
                        void *ctx);
/* "PREFIX" + suffix, malloc'd. */
char *cg_cli_inverse_path(const char *prefix, const char *suffix);

/* The option-table rows both commands share (run settings, sampler, metrics); R is the
 * cg_cli_inverse_run, MAXN an int64_t, BASELINE the baseline's name for --den's help. */
#define CG_CLI_INVERSE_OPTS(R, MAXN, BASELINE)                                                                        \
    {"truth", 0, CG_OPT_STRING, &(R).truth, "X.mrcs", "ground truth for PSNR/SSIM"},                                  \
    {"max-images", 0, CG_OPT_INT64, &(MAXN), "N", "use only the first N images (0: all)"},                             \
    {"den", 0, CG_OPT_STRING, &(R).den_dir, "DIR", "trained denoiser (cryogen train-denoiser); without it: " BASELINE " only"}, \
    {"samples", 0, CG_OPT_INT, &(R).K, "K", "posterior samples (mean and per-pixel std)"},                            \
    {"write-samples", 0, CG_OPT_FLAG, &(R).write_samples, NULL, "also write every sample (PREFIX_samples.mrcs)"},      \
    {"steps", 0, CG_OPT_INT, &(R).sc.steps, "N", "noise levels"},                                                     \
    {"sigma-min", 0, CG_OPT_DOUBLE, &(R).sc.sigma_min, "S", "smallest noise level (normalised units)"},              \
    {"sigma-max", 0, CG_OPT_DOUBLE, &(R).sc.sigma_max, "S", "largest noise level"},                                   \
    {"rho", 0, CG_OPT_DOUBLE, &(R).sc.rho, "RHO", "schedule exponent (EDM)"},                                         \
    {"snr", 0, CG_OPT_DOUBLE, &(R).sc.snr, "R", "Langevin corrector signal-to-noise ratio"},                          \
    {"corrector-steps", 0, CG_OPT_INT, &(R).sc.corrector_steps, "N", "Langevin steps per level"},                    \
    {"lambda", 0, CG_OPT_DOUBLE, &(R).sc.lambda, "L", "data-consistency weight (1: hard)"},                           \
    {"seed", 0, CG_OPT_U64, &(R).sc.seed, "SEED", "sampler seed"},                                                    \
    {"data-range", 0, CG_OPT_DOUBLE, &(R).data_range, "R", "PSNR/SSIM data range (0: max - min of each truth image)"}
