/* Scoring a heterogeneity method against the ground truth of `cryogen simulate --model`
 * (CryoBench-style metrics, one implementation for every method in cryogen):
 *   - latents: |Spearman rho| between the first principal component of the latents (the latent
 *     itself when 1D) and each true parameter; neighbourhood similarity of latent and truth;
 *   - volumes: per-image FSC area (CryoBench: for a sample of particles, the FSC area between the
 *     method's volume for that particle and the ground-truth volume of its exact parameter),
 *     summarised per ground-truth bin (per-conformation FSC), optionally after registering the
 *     method's frame to the truth (rotation, shift, hand);
 *   - the FSC cross-conformation matrix (Multi-CryoGAN): FSC areas between the method's
 *     volumes for the particles nearest to each ground-truth grid point, next to the same
 *     matrix of the ground-truth volumes, and the correlation of their upper triangles. */
#pragma once
#include <stdint.h>

#include "cryogen/conform.h"
#include "cryogen/core.h"
#include "cryogen/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ground truth written next to a simulation (DIR/model.txt, DIR/ground_truth.txt,
 * DIR/gt_volumes/params.txt and its volumes' header for box and pixel size). */
typedef struct {
    cg_conf_spec spec;
    cg_conf_model *model;
    int D;
    double pixel_size_A;
    int64_t n;       /* particles */
    int pdim;        /* parameters per particle (1 or 2) */
    double *param;   /* [n][pdim] */
    int ngrid;       /* ground-truth grid points */
    double *grid;    /* [ngrid][pdim] */
} cg_truth;

cg_status cg_truth_load(const char *dir, cg_truth **out);
void cg_truth_free(cg_truth *t); /* accepts NULL */
/* The ground-truth volume (D^3) for any parameter, rebuilt from the model. */
cg_status cg_truth_volume(const cg_truth *t, const double *param, float *vol);
/* Index of the grid point nearest to a parameter (Euclidean in parameter units). */
int cg_truth_nearest_grid(const cg_truth *t, const double *param);

typedef struct {
    int dim;                 /* latent dimension */
    double abs_spearman[2];  /* |rho|(PC1 or z, parameter j), j < pdim */
    double pc1_variance_fraction;
    double neighbourhood;    /* neighbourhood similarity on the sample */
    int k;                   /* neighbours */
    int64_t nsample;
} cg_eval_latent;

/* latents[n][d], rows in particle order (n must equal t->n). Deterministic for a seed. */
cg_status cg_eval_latents(const cg_truth *t, const float *latents, int64_t n, int d, uint64_t seed,
                          cg_eval_latent *out);

typedef struct {
    int64_t nsample;
    int64_t *sample;         /* [nsample] particle indices scored */
    double *area;            /* [nsample] per-image FSC areas */
    double mean_area, median_area;
    double *bin_area;        /* [ngrid] mean per-image area of sampled particles nearest to each grid point (NaN if none) */
    int64_t *bin_count;      /* [ngrid] */
    double *gt_matrix;       /* [ngrid][ngrid] FSC areas between ground-truth grid volumes */
    double *method_matrix;   /* [ngrid][ngrid] the same between the method's representative volumes */
    double matrix_correlation; /* Pearson over the upper triangles (NaN when ngrid < 3) */
    int aligned;
    cg_align_result align;   /* transform applied to every method volume when aligned */
} cg_eval_volumes;

/* assign[n]: index of the method's volume for each particle (-1: none); vols[nvol] are D^3
 * (entries may be NULL when never assigned). align: register the method's frame first (the
 * volume of the median-parameter sampled particle onto its ground truth). nsample particles
 * are drawn (seeded) among those with a volume. */
cg_status cg_eval_volumes_run(const cg_truth *t, const float *const *vols, int nvol, const int *assign,
                              int64_t nsample, int align, uint64_t seed, cg_eval_volumes *out);
void cg_eval_volumes_free(cg_eval_volumes *e); /* accepts a zeroed struct */

#ifdef __cplusplus
}
#endif
