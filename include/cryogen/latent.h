/* Latent-space analysis shared by every heterogeneity method and by `cryogen evaluate`:
 * principal components, Pearson and Spearman correlation, neighbourhood similarity between
 * an embedding and the ground truth, and k-means.
 *
 * Arrays: X[n][d] row-major floats (one latent per particle). Accumulation in double.
 * All functions are deterministic; k-means draws its k-means++ seeds from the counter-based
 * RNG keyed by `seed`. */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PCA of X[n][d] keeping k <= d components: mean[d], components[k][d] (unit vectors, each
 * with its largest-magnitude entry positive), variance[k] (descending, divided by n - 1),
 * scores[n][k] = (X - mean) . components (scores may be NULL). */
cg_status cg_pca(const float *X, int64_t n, int d, int k, double *mean, double *components, double *variance,
                 float *scores);

/* Correlation coefficients; NAN when n < 2 or either input is constant. Spearman ranks ties
 * by their average rank. */
double cg_pearson(const double *a, const double *b, int64_t n);
double cg_spearman(const double *a, const double *b, int64_t n);

/* Neighbourhood similarity: for each point, the fraction of its k nearest neighbours in the
 * latent space (Euclidean, d_latent dims) that are also among its k nearest neighbours in the
 * ground-truth space (d_truth dims); averaged over points. 1 = same neighbourhoods; about
 * k / (n - 1) for unrelated embeddings. O(n^2 (d_latent + d_truth)): pass a sample of a few
 * thousand points. */
cg_status cg_neighbourhood_similarity(const float *latent, int d_latent, const float *truth, int d_truth, int64_t n,
                                      int k, double *out);

/* k-means with k-means++ initialisation and Lloyd iterations until no label changes or
 * max_iter: centres[k][d], labels[n], *inertia = sum of squared distances. */
cg_status cg_kmeans(const float *X, int64_t n, int d, int k, uint64_t seed, int max_iter, float *centres, int *labels,
                    double *inertia);

#ifdef __cplusplus
}
#endif
