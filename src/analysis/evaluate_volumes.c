/* Volume metrics of the evaluation: per-image FSC area, per-bin summaries, and the FSC
 * cross-conformation matrix; see include/cryogen/evaluate.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/evaluate.h"
#include "cryogen/latent.h"

void cg_eval_volumes_free(cg_eval_volumes *e) {
    if (!e) return;
    free(e->sample), free(e->area), free(e->bin_area), free(e->bin_count), free(e->gt_matrix), free(e->method_matrix);
    memset(e, 0, sizeof *e);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct { /* the method's volumes, transformed into the truth's frame on first use */
    const float *const *vols;
    float **moved;
    int nvol, D, aligned;
    cg_align_result al;
} method_vols;

static cg_status method_volume(method_vols *m, int i, const float **out) {
    if (!m->aligned) {
        *out = m->vols[i];
        return CG_OK;
    }
    if (!m->moved[i]) {
        m->moved[i] = cg_malloc((size_t)m->D * m->D * m->D, sizeof(float), "aligned volume");
        if (!m->moved[i]) return CG_ERR_NOMEM;
        cg_status s = cg_align_apply(m->vols[i], m->D, &m->al, m->moved[i]);
        if (s) return s;
    }
    *out = m->moved[i];
    return CG_OK;
}

static double fsc_area(const float *a, const float *b, int D, double px, cg_status *s) {
    cg_fsc_result r;
    memset(&r, 0, sizeof r);
    *s = cg_fsc_compute(a, b, D, px, NULL, &r);
    double area = r.area;
    cg_fsc_result_free(&r);
    return area;
}

/* Register the method's frame on the truth: the volume of the sampled particle with the median
 * first parameter, onto the ground truth of that particle's parameter. */
static cg_status align_frame(const cg_truth *t, method_vols *m, const int *assign, const int64_t *sample, int64_t ns,
                             float *gt) {
    double *p = cg_malloc((size_t)ns, sizeof(double), "parameters");
    if (!p) return CG_ERR_NOMEM;
    for (int64_t k = 0; k < ns; k++) p[k] = t->param[sample[k] * t->pdim];
    qsort(p, (size_t)ns, sizeof *p, cmp_double);
    double med = p[ns / 2];
    free(p);
    int64_t pick = sample[0];
    for (int64_t k = 0; k < ns; k++)
        if (fabs(t->param[sample[k] * t->pdim] - med) < fabs(t->param[pick * t->pdim] - med)) pick = sample[k];
    cg_status s = cg_truth_volume(t, t->param + pick * t->pdim, gt);
    cg_align_params ap;
    cg_align_params_default(&ap);
    if (!s) s = cg_align_volumes(gt, m->vols[assign[pick]], t->D, t->pixel_size_A, &ap, &m->al);
    if (!s) m->aligned = 1;
    return s;
}

static cg_status per_image(const cg_truth *t, method_vols *m, const int *assign, cg_eval_volumes *e, float *gt) {
    cg_status s = CG_OK;
    cg_progress pr;
    cg_progress_begin(&pr, "evaluate: per-image FSC", "particles", e->nsample);
    for (int64_t k = 0; !s && k < e->nsample; k++) {
        int64_t i = e->sample[k];
        const float *mv;
        s = cg_truth_volume(t, t->param + i * t->pdim, gt);
        if (!s) s = method_volume(m, assign[i], &mv);
        if (!s) e->area[k] = fsc_area(mv, gt, t->D, t->pixel_size_A, &s);
        int g = cg_truth_nearest_grid(t, t->param + i * t->pdim);
        if (!s) {
            e->bin_area[g] = e->bin_count[g] ? e->bin_area[g] + e->area[k] : e->area[k];
            e->bin_count[g]++;
        }
        cg_progress_update(&pr, k + 1);
        if (!s && cg_interrupted()) s = cg_error(CG_ERR_INTERRUPTED, "evaluation interrupted");
    }
    cg_progress_end(&pr);
    for (int g = 0; g < t->ngrid; g++) e->bin_area[g] = e->bin_count[g] ? e->bin_area[g] / (double)e->bin_count[g] : NAN;
    if (s) return s;
    double *sorted = cg_malloc((size_t)e->nsample, sizeof(double), "areas");
    if (!sorted) return CG_ERR_NOMEM;
    memcpy(sorted, e->area, sizeof(double) * (size_t)e->nsample);
    qsort(sorted, (size_t)e->nsample, sizeof(double), cmp_double);
    double sum = 0;
    for (int64_t k = 0; k < e->nsample; k++) sum += sorted[k]; /* ascending: fixed order */
    e->mean_area = sum / (double)e->nsample;
    e->median_area = e->nsample % 2 ? sorted[e->nsample / 2] : 0.5 * (sorted[e->nsample / 2 - 1] + sorted[e->nsample / 2]);
    free(sorted);
    return CG_OK;
}

/* FSC matrices: ground-truth grid volumes, and the method's volumes of the particles (among
 * all with a volume) nearest to each grid point. */
static cg_status matrices(const cg_truth *t, method_vols *m, const int *assign, cg_eval_volumes *e) {
    const int K = t->ngrid;
    const size_t n3 = (size_t)t->D * t->D * t->D;
    float **gt = cg_calloc((size_t)K, sizeof(float *), "grid volumes");
    const float **mv = cg_calloc((size_t)K, sizeof(float *), "method volumes");
    e->gt_matrix = cg_malloc((size_t)K * K, sizeof(double), "FSC matrix");
    e->method_matrix = cg_malloc((size_t)K * K, sizeof(double), "FSC matrix");
    cg_status s = (gt && mv && e->gt_matrix && e->method_matrix) ? CG_OK : CG_ERR_NOMEM;
    for (int g = 0; !s && g < K; g++) {
        gt[g] = cg_malloc(n3, sizeof(float), "grid volume");
        s = gt[g] ? cg_truth_volume(t, t->grid + g * t->pdim, gt[g]) : CG_ERR_NOMEM;
        int64_t best = -1;
        double bd = INFINITY;
        for (int64_t i = 0; !s && i < t->n; i++) {
            if (assign[i] < 0 || !m->vols[assign[i]]) continue;
            double d = 0;
            for (int j = 0; j < t->pdim; j++) {
                double e1 = t->param[i * t->pdim + j] - t->grid[g * t->pdim + j];
                d += e1 * e1;
            }
            if (d < bd) bd = d, best = i;
        }
        if (!s) s = method_volume(m, assign[best], &mv[g]);
    }
    if (!s) s = cg_fsc_matrix((const float *const *)gt, K, t->D, NULL, e->gt_matrix);
    if (!s) s = cg_fsc_matrix(mv, K, t->D, NULL, e->method_matrix);
    e->matrix_correlation = NAN;
    if (!s && K >= 3) {
        int64_t np = (int64_t)K * (K - 1) / 2, w = 0;
        double *a = malloc(sizeof(double) * (size_t)np), *b = malloc(sizeof(double) * (size_t)np);
        for (int i = 0; a && b && i < K; i++)
            for (int j = i + 1; j < K; j++, w++) a[w] = e->gt_matrix[i * K + j], b[w] = e->method_matrix[i * K + j];
        if (a && b) e->matrix_correlation = cg_pearson(a, b, np);
        free(a), free(b);
    }
    for (int g = 0; gt && g < K; g++) free(gt[g]);
    free(gt);
    free((void *)mv);
    return s;
}

cg_status cg_eval_volumes_run(const cg_truth *t, const float *const *vols, int nvol, const int *assign,
                              int64_t nsample, int align, uint64_t seed, cg_eval_volumes *e) {
    memset(e, 0, sizeof *e);
    int64_t nc = 0;
    for (int64_t i = 0; i < t->n; i++) {
        if (assign[i] >= nvol)
            return cg_error(CG_ERR_ARG, "particle %lld is assigned volume %d but only %d volumes were given",
                            (long long)i + 1, assign[i], nvol);
        if (assign[i] >= 0 && !vols[assign[i]])
            return cg_error(CG_ERR_ARG, "particle %lld is assigned volume %d, which was not loaded", (long long)i + 1, assign[i]);
        nc += assign[i] >= 0;
    }
    if (nc == 0) return cg_error(CG_ERR_ARG, "no particle is assigned a volume");
    int64_t *cand = cg_malloc((size_t)nc, sizeof *cand, "candidates");
    if (!cand) return CG_ERR_NOMEM;
    for (int64_t i = 0, w = 0; i < t->n; i++)
        if (assign[i] >= 0) cand[w++] = i;
    cg_rng r;
    cg_rng_init(&r, seed, CG_RNG_STREAM_USER + 3, 0);
    cg_rng_shuffle(&r, cand, nc);
    e->nsample = nsample < nc ? nsample : nc;
    for (int64_t i = 1; i < e->nsample; i++) /* sort the kept part: scoring order is particle order */
        for (int64_t j = i; j > 0 && cand[j - 1] > cand[j]; j--) {
            int64_t tmp = cand[j];
            cand[j] = cand[j - 1];
            cand[j - 1] = tmp;
        }
    e->sample = cand;
    e->area = cg_calloc((size_t)e->nsample, sizeof(double), "areas");
    e->bin_area = cg_calloc((size_t)t->ngrid, sizeof(double), "bins");
    e->bin_count = cg_calloc((size_t)t->ngrid, sizeof(int64_t), "bins");
    float *gt = cg_malloc((size_t)t->D * t->D * t->D, sizeof(float), "ground-truth volume");
    method_vols m;
    memset(&m, 0, sizeof m);
    m.vols = vols;
    m.moved = cg_calloc((size_t)nvol, sizeof(float *), "aligned volumes");
    m.nvol = nvol;
    m.D = t->D;
    cg_status s = (e->area && e->bin_area && e->bin_count && gt && m.moved) ? CG_OK : CG_ERR_NOMEM;
    if (!s && align) s = align_frame(t, &m, assign, e->sample, e->nsample, gt);
    if (!s) {
        e->aligned = m.aligned;
        e->align = m.al;
        s = per_image(t, &m, assign, e, gt);
    }
    if (!s) s = matrices(t, &m, assign, e);
    for (int i = 0; m.moved && i < nvol; i++) free(m.moved[i]);
    free(m.moved);
    free(gt);
    if (s) cg_eval_volumes_free(e);
    return s;
}
