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
