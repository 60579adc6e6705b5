/* Latent-space analysis: PCA, correlations, neighbourhood similarity, k-means.
 * References: CryoBench (Jeon et al. 2024) for the neighbourhood similarity used to score
 * latent embeddings against ground truth; Arthur & Vassilvitskii (2007) for k-means++. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/latent.h"
#include "cryogen/linalg.h"

cg_status cg_pca(const float *X, int64_t n, int d, int k, double *mean, double *components, double *variance,
                 float *scores) {
    if (n < 2 || d < 1 || k < 1 || k > d)
        return cg_error(CG_ERR_ARG, "PCA of %lld points in %d dimensions keeping %d components", (long long)n, d, k);
    double *C = cg_calloc((size_t)d * d, sizeof(double), "covariance"), *V = cg_malloc((size_t)d * d, sizeof(double), "eigenvectors");
    double *w = cg_malloc((size_t)d, sizeof(double), "eigenvalues");
    if (!C || !V || !w) {
        free(C), free(V), free(w);
        return CG_ERR_NOMEM;
    }
    for (int j = 0; j < d; j++) mean[j] = 0;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += X[i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < d; a++) {
            double xa = X[i * d + a] - mean[a];
            for (int b = a; b < d; b++) C[a * d + b] += xa * (X[i * d + b] - mean[b]);
        }
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++) C[b * d + a] = C[a * d + b] /= (double)(n - 1);
    cg_status s = cg_sym_eigen(C, d, w, V);
    for (int c = 0; !s && c < k; c++) {
        int big = 0;
        for (int j = 1; j < d; j++)
            if (fabs(V[j * d + c]) > fabs(V[big * d + c])) big = j;
        double sg = V[big * d + c] < 0 ? -1 : 1;
        for (int j = 0; j < d; j++) components[c * d + j] = sg * V[j * d + c];
        variance[c] = w[c] > 0 ? w[c] : 0;
    }
    if (!s && scores)
        for (int64_t i = 0; i < n; i++)
            for (int c = 0; c < k; c++) {
                double v = 0;
                for (int j = 0; j < d; j++) v += (X[i * d + j] - mean[j]) * components[c * d + j];
                scores[i * k + c] = (float)v;
            }
    free(C), free(V), free(w);
    return s;
}

double cg_pearson(const double *a, const double *b, int64_t n) {
    if (n < 2) return NAN;
    double ma = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) ma += a[i], mb += b[i];
    ma /= (double)n;
    mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (int64_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    if (saa <= 0 || sbb <= 0) return NAN;
    return sab / sqrt(saa * sbb);
}

static const double *g_sort_keys; /* qsort has no context argument; used single-threaded */
static int cmp_by_key(const void *x, const void *y) {
    double a = g_sort_keys[*(const int64_t *)x], b = g_sort_keys[*(const int64_t *)y];
    if (a < b) return -1;
    if (a > b) return 1;
    return *(const int64_t *)x < *(const int64_t *)y ? -1 : 1;
}

/* ranks (1-based, ties averaged) of v[n] into r[n] */
static cg_status ranks(const double *v, int64_t n, double *r) {
    int64_t *idx = cg_malloc((size_t)n, sizeof *idx, "ranks");
    if (!idx) return CG_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    g_sort_keys = v;
    qsort(idx, (size_t)n, sizeof *idx, cmp_by_key);
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]]) j++;
        double avg = 0.5 * (double)(i + j) + 1;
        for (int64_t t = i; t <= j; t++) r[idx[t]] = avg;
        i = j + 1;
    }
    free(idx);
    return CG_OK;
}

double cg_spearman(const double *a, const double *b, int64_t n) {
    if (n < 2) return NAN;
    double *ra = malloc(sizeof(double) * (size_t)n), *rb = malloc(sizeof(double) * (size_t)n);
    double rho = NAN;
    if (ra && rb && !ranks(a, n, ra) && !ranks(b, n, rb)) rho = cg_pearson(ra, rb, n);
    free(ra);
    free(rb);
    return rho;
}

/* indices of the k nearest neighbours of point i (excluding i) in X[n][d], into nb[k] */
static void knn(const float *X, int d, int64_t n, int64_t i, int k, int64_t *nb, double *dist) {
    int have = 0;
    for (int64_t j = 0; j < n; j++) {
        if (j == i) continue;
        double s = 0;
        for (int c = 0; c < d; c++) {
            double e = (double)X[i * d + c] - X[j * d + c];
            s += e * e;
        }
        if (have == k && s >= dist[k - 1]) continue;
        int p = have < k ? have++ : k - 1; /* insertion into the sorted top-k */
        while (p > 0 && dist[p - 1] > s) {
            dist[p] = dist[p - 1];
            nb[p] = nb[p - 1];
            p--;
        }
        dist[p] = s;
        nb[p] = j;
    }
}

cg_status cg_neighbourhood_similarity(const float *latent, int dl, const float *truth, int dt, int64_t n, int k,
                                      double *out) {
    if (k < 1 || n < k + 1)
        return cg_error(CG_ERR_ARG, "neighbourhood similarity with k = %d needs more than k points (got %lld)", k,
                        (long long)n);
    int64_t total = 0; /* integer counts: the reduction order cannot change the result */
    int err = 0;
#pragma omp parallel for reduction(+ : total) reduction(| : err) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t *a = malloc(sizeof(int64_t) * 2 * (size_t)k);
        double *dist = malloc(sizeof(double) * (size_t)k);
        if (!a || !dist) {
            err = 1;
            free(a);
            free(dist);
            continue;
        }
        knn(latent, dl, n, i, k, a, dist);
        knn(truth, dt, n, i, k, a + k, dist);
        int common = 0;
        for (int p = 0; p < k; p++)
            for (int q = 0; q < k; q++) common += a[p] == a[k + q];
        total += common;
        free(a);
        free(dist);
    }
    if (err) return cg_error(CG_ERR_NOMEM, "neighbourhood similarity scratch");
    *out = (double)total / ((double)n * k);
    return CG_OK;
}

static double sqdist(const float *x, const float *c, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) s += ((double)x[j] - c[j]) * ((double)x[j] - c[j]);
    return s;
}

cg_status cg_kmeans(const float *X, int64_t n, int d, int k, uint64_t seed, int max_iter, float *centres, int *labels,
                    double *inertia) {
    if (k < 1 || n < k) return cg_error(CG_ERR_ARG, "k-means with k = %d on %lld points", k, (long long)n);
    double *dmin = cg_malloc((size_t)n, sizeof(double), "k-means"), *sum = cg_calloc((size_t)k * d, sizeof(double), "k-means");
    int64_t *cnt = cg_calloc((size_t)k, sizeof(int64_t), "k-means");
    if (!dmin || !sum || !cnt) {
        free(dmin), free(sum), free(cnt);
        return CG_ERR_NOMEM;
    }
    cg_rng r;
    cg_rng_init(&r, seed, CG_RNG_STREAM_USER + 1, 0);
    int64_t first = (int64_t)cg_rng_below(&r, (uint64_t)n);
    memcpy(centres, X + first * d, sizeof(float) * (size_t)d);
    for (int64_t i = 0; i < n; i++) dmin[i] = sqdist(X + i * d, centres, d);
    for (int c = 1; c < k; c++) { /* k-means++: next centre with probability ~ squared distance */
        double tot = 0;
        for (int64_t i = 0; i < n; i++) tot += dmin[i];
        double u = cg_rng_uniform(&r) * tot, acc = 0;
        int64_t pick = n - 1;
        for (int64_t i = 0; i < n; i++) {
            acc += dmin[i];
            if (acc > u) {
                pick = i;
                break;
            }
        }
        memcpy(centres + (size_t)c * d, X + pick * d, sizeof(float) * (size_t)d);
        for (int64_t i = 0; i < n; i++) dmin[i] = fmin(dmin[i], sqdist(X + i * d, centres + (size_t)c * d, d));
    }
    for (int64_t i = 0; i < n; i++) labels[i] = -1;
    double in = 0;
    for (int it = 0; it < max_iter; it++) {
        int64_t changed = 0;
#pragma omp parallel for reduction(+ : changed) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            int best = 0;
            double bd = sqdist(X + i * d, centres, d);
            for (int c = 1; c < k; c++) {
                double dd = sqdist(X + i * d, centres + (size_t)c * d, d);
                if (dd < bd) bd = dd, best = c;
            }
            changed += labels[i] != best;
            labels[i] = best;
        }
        if (!changed) break;
        memset(sum, 0, sizeof(double) * (size_t)k * d);
        memset(cnt, 0, sizeof(int64_t) * (size_t)k);
        for (int64_t i = 0; i < n; i++) { /* serial: fixed summation order */
            cnt[labels[i]]++;
            for (int j = 0; j < d; j++) sum[(size_t)labels[i] * d + j] += X[i * d + j];
        }
        for (int c = 0; c < k; c++)
            if (cnt[c])
                for (int j = 0; j < d; j++) centres[(size_t)c * d + j] = (float)(sum[(size_t)c * d + j] / (double)cnt[c]);
    }
    in = 0; /* serial, fixed order: same bytes for any thread count */
    for (int64_t i = 0; i < n; i++) in += sqdist(X + i * d, centres + (size_t)labels[i] * d, d);
    if (inertia) *inertia = in;
    free(dmin), free(sum), free(cnt);
    return CG_OK;
}
