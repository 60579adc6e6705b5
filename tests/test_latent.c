/* Latent analysis: PCA recovers the principal axis of an anisotropic cloud; Spearman equals
 * a hand-computed value with ties and is invariant to monotone maps; neighbourhood
 * similarity is 1 for identical embeddings and at chance level for shuffled ones; k-means
 * finds well-separated clusters and is deterministic. */
#include <math.h>

#include "cryogen/latent.h"
#include "testutil.h"

static void test_pca(void) {
    int64_t n = 5000;
    int d = 3;
    float *X = malloc(sizeof(float) * n * d), *sc = malloc(sizeof(float) * n * 2);
    cg_rng r;
    cg_rng_init(&r, 9, 1, 0);
    double u[3] = {0.8, -0.48, 0.36}; /* unit principal direction */
    for (int64_t i = 0; i < n; i++) {
        double t = 5 * cg_rng_normal(&r);
        for (int j = 0; j < d; j++) X[i * d + j] = (float)(t * u[j] + 0.3 * cg_rng_normal(&r) + j);
    }
    double mean[3], comp[6], var[2];
    CHECK_OK(cg_pca(X, n, d, 2, mean, comp, var, sc));
    double dot = fabs(comp[0] * u[0] + comp[1] * u[1] + comp[2] * u[2]);
    CHECK_MSG(dot > 0.999, "first component . true axis = %f", dot);
    CHECK_CLOSE(var[0], 25 + 0.09, 0, 0.06);
    CHECK_CLOSE(var[1], 0.09, 0, 0.1);
    CHECK_CLOSE(mean[2], 2, 0.2, 0);
    CHECK(comp[0] > 0); /* sign convention: the largest-magnitude entry is positive */
    /* scores are the projections */
    double s0 = 0;
    for (int j = 0; j < d; j++) s0 += (X[j] - mean[j]) * comp[j];
    CHECK_CLOSE(sc[0], s0, 1e-4, 1e-5);
    CHECK_FAILS(cg_pca(X, n, d, 4, mean, comp, var, NULL), CG_ERR_ARG, "keeping 4");
    free(X);
    free(sc);
}

static void test_correlation(void) {
    double a[4] = {1, 2, 2, 3}, b[4] = {1, 3, 2, 4};
    /* ranks a = (1, 2.5, 2.5, 4), b = (1, 3, 2, 4): rho = 4.5 / sqrt(4.5 * 5) */
    CHECK_CLOSE(cg_spearman(a, b, 4), 4.5 / sqrt(22.5), 1e-12, 0);
    double x[100], y[100], z[100];
    for (int i = 0; i < 100; i++) {
        x[i] = i * 0.37 - 5;
        y[i] = exp(x[i] / 4); /* monotone */
        z[i] = -x[i] * x[i] * x[i];
    }
    CHECK_CLOSE(cg_spearman(x, y, 100), 1.0, 1e-12, 0);
    CHECK_CLOSE(cg_spearman(x, z, 100), -1.0, 1e-12, 0);
    CHECK(cg_pearson(x, y, 100) < 0.99);
    double c[3] = {1, 1, 1};
    CHECK(isnan(cg_spearman(c, a, 3)));
}

static void test_neighbourhoods(void) {
    int64_t n = 600;
    int k = 10;
    float *t = malloc(sizeof(float) * n), *l = malloc(sizeof(float) * n * 2), *s = malloc(sizeof(float) * n);
    cg_rng r;
    cg_rng_init(&r, 4, 1, 0);
    for (int64_t i = 0; i < n; i++) {
        t[i] = (float)cg_rng_uniform(&r);
        l[2 * i] = (float)(3 * t[i] * t[i]); /* monotone 1D embedding in 2D */
        l[2 * i + 1] = 0.001f * (float)cg_rng_normal(&r);
    }
    double sim;
    CHECK_OK(cg_neighbourhood_similarity(t, 1, t, 1, n, k, &sim));
    CHECK_CLOSE(sim, 1.0, 1e-12, 0);
    CHECK_OK(cg_neighbourhood_similarity(l, 2, t, 1, n, k, &sim));
    CHECK_MSG(sim > 0.8, "monotone embedding similarity %f", sim);
    int64_t *perm = malloc(sizeof(int64_t) * n);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    cg_rng_shuffle(&r, perm, n);
    for (int64_t i = 0; i < n; i++) s[i] = t[perm[i]];
    CHECK_OK(cg_neighbourhood_similarity(s, 1, t, 1, n, k, &sim));
    CHECK_MSG(sim < 0.05, "shuffled similarity %f (chance %f)", sim, (double)k / (n - 1));
    free(t), free(l), free(s), free(perm);
}

static void test_kmeans(void) {
    int64_t n = 900;
    float *X = malloc(sizeof(float) * n * 2), cen[6], cen2[6];
    int *lab = malloc(sizeof(int) * n), *lab2 = malloc(sizeof(int) * n);
    cg_rng r;
    cg_rng_init(&r, 5, 1, 0);
    static const double c[3][2] = {{0, 0}, {10, 0}, {0, 10}};
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < 2; j++) X[2 * i + j] = (float)(c[i % 3][j] + 0.5 * cg_rng_normal(&r));
    double in, in2;
    CHECK_OK(cg_kmeans(X, n, 2, 3, 77, 100, cen, lab, &in));
    CHECK_OK(cg_kmeans(X, n, 2, 3, 77, 100, cen2, lab2, &in2));
    CHECK(memcmp(cen, cen2, sizeof cen) == 0 && memcmp(lab, lab2, sizeof(int) * n) == 0 && in == in2);
    int bad = 0; /* every true cluster maps to one label */
    for (int64_t i = 3; i < n; i++) bad += lab[i] != lab[i % 3];
    CHECK(bad == 0 && lab[0] != lab[1] && lab[1] != lab[2] && lab[0] != lab[2]);
    CHECK_CLOSE(in / n, 2 * 0.25, 0, 0.15); /* 2 dims x variance 0.25 */
    free(X), free(lab), free(lab2);
}

int main(void) {
    test_pca();
    test_correlation();
    test_neighbourhoods();
    test_kmeans();
    return cg_test_finish();
}
