/* Evaluation against simulated ground truth; see include/cryogen/evaluate.h.
 * References: CryoBench (Jeon et al., 2024) for per-image FSC area and neighbourhood
 * similarity; Multi-CryoGAN (Gupta et al., 2020) for the FSC cross-conformation matrix. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/evaluate.h"
#include "cryogen/latent.h"
#include "cryogen/mrc.h"

void cg_truth_free(cg_truth *t) {
    if (!t) return;
    cg_conf_destroy(t->model);
    free(t->param);
    free(t->grid);
    free(t);
}

/* Read "KEY p1 [p2]" lines (comments '#') into vals[row][pdim]; keys are returned as strings
 * in keys (may be NULL). Grows the arrays. */
static cg_status read_table(const char *path, int pdim, double **vals, char ***keys, int64_t *nrows) {
    FILE *f = fopen(path, "r");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open: %s (is this the output folder of 'cryogen simulate --model'?)",
                            path, strerror(errno));
    char line[4096], key[1024];
    int64_t n = 0, cap = 0, lineno = 0;
    cg_status s = CG_OK;
    *vals = NULL;
    if (keys) *keys = NULL;
    while (!s && fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        double p[2] = {0, 0};
        int got = sscanf(line, "%1023s %lf %lf", key, &p[0], &p[1]);
        if (got < 1 + pdim) {
            s = cg_error(CG_ERR_FORMAT, "%s:%lld: expected a name and %d parameter%s", path, (long long)lineno, pdim,
                         pdim > 1 ? "s" : "");
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            double *nv = realloc(*vals, sizeof(double) * (size_t)cap * pdim);
            char **nk = keys ? realloc(*keys, sizeof(char *) * (size_t)cap) : NULL;
            if (!nv || (keys && !nk)) {
                free(nv ? nv : *vals);
                *vals = NULL;
                if (keys) free(nk ? nk : *keys), *keys = NULL;
                s = cg_error(CG_ERR_NOMEM, "%s: table of %lld rows", path, (long long)cap);
                break;
            }
            *vals = nv;
            if (keys) *keys = nk;
        }
        for (int j = 0; j < pdim; j++) (*vals)[n * pdim + j] = p[j];
        if (keys) (*keys)[n] = strdup(key);
        n++;
    }
    fclose(f);
    *nrows = n;
    return s;
}

cg_status cg_truth_load(const char *dir, cg_truth **out) {
    *out = NULL;
    cg_truth *t = cg_calloc(1, sizeof *t, "ground truth");
    if (!t) return CG_ERR_NOMEM;
    char *ms = cg_path_join(dir, "model.txt"), *gt = cg_path_join(dir, "ground_truth.txt");
    char *gp = cg_path_join(dir, "gt_volumes/params.txt"), *v0 = NULL;
    char **keys = NULL;
    int64_t ng = 0;
    cg_status s = (ms && gt && gp) ? cg_conf_spec_read(ms, &t->spec) : CG_ERR_NOMEM;
    if (!s) s = cg_conf_from_spec(&t->model, &t->spec);
    if (!s) t->pdim = cg_conf_param_dim(t->model);
    if (!s) s = read_table(gt, t->pdim, &t->param, NULL, &t->n);
    if (!s) s = read_table(gp, t->pdim, &t->grid, &keys, &ng);
    if (!s && ng < 1) s = cg_error(CG_ERR_FORMAT, "%s: no ground-truth volumes listed", gp);
    if (!s) {
        t->ngrid = (int)ng;
        char rel[1100];
        snprintf(rel, sizeof rel, "gt_volumes/%s", keys[0]);
        v0 = cg_path_join(dir, rel);
        cg_mrc_header h;
        s = v0 ? cg_mrc_read_header(v0, &h) : CG_ERR_NOMEM;
        if (!s) {
            t->D = h.nx;
            t->pixel_size_A = h.pixel_size_A[0];
        }
    }
    for (int64_t i = 0; keys && i < ng; i++) free(keys[i]);
    free(keys), free(ms), free(gt), free(gp), free(v0);
    if (s) {
        cg_truth_free(t);
        return cg_error_prefix(s, "ground truth in %s", dir);
    }
    *out = t;
    return CG_OK;
}

cg_status cg_truth_volume(const cg_truth *t, const double *param, float *vol) {
    cg_atom *a = cg_malloc((size_t)cg_conf_max_atoms(t->model), sizeof *a, "atoms");
    if (!a) return CG_ERR_NOMEM;
    double c[3], p[2] = {param[0], t->pdim > 1 ? param[1] : 0};
    int64_t n;
    cg_conf_centre(t->model, c);
    cg_status s = cg_conf_atoms(t->model, p, a, &n);
    if (!s) s = cg_atoms_to_volume(a, n, &t->spec.gauss, t->D, t->pixel_size_A, c, vol);
    free(a);
    return s;
}

int cg_truth_nearest_grid(const cg_truth *t, const double *param) {
    int best = 0;
    double bd = INFINITY;
    for (int g = 0; g < t->ngrid; g++) {
        double d = 0;
        for (int j = 0; j < t->pdim; j++) d += (param[j] - t->grid[g * t->pdim + j]) * (param[j] - t->grid[g * t->pdim + j]);
        if (d < bd) bd = d, best = g;
    }
    return best;
}

/* ---------------------------------------------------------------- latents --------------- */

/* the first nsample indices of a seeded permutation of 0..n-1, sorted */
static int64_t *sample_indices(int64_t n, int64_t nsample, uint64_t seed) {
    int64_t *idx = cg_malloc((size_t)n, sizeof *idx, "sample");
    if (!idx) return NULL;
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    cg_rng r;
    cg_rng_init(&r, seed, CG_RNG_STREAM_USER + 2, 0);
    cg_rng_shuffle(&r, idx, n);
    for (int64_t i = 1; i < nsample; i++) /* insertion sort of the kept part */
        for (int64_t j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
            int64_t tmp = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = tmp;
        }
    return idx;
}

cg_status cg_eval_latents(const cg_truth *t, const float *z, int64_t n, int d, uint64_t seed, cg_eval_latent *out) {
    memset(out, 0, sizeof *out);
    if (n != t->n)
        return cg_error(CG_ERR_ARG, "%lld latents for %lld particles; give one latent per particle, in STAR order",
                        (long long)n, (long long)t->n);
    if (d < 1 || n < 3) return cg_error(CG_ERR_ARG, "latents of dimension %d for %lld particles", d, (long long)n);
    out->dim = d;
    double *score = cg_malloc((size_t)n, sizeof(double), "latent scores"), *par = cg_malloc((size_t)n, sizeof(double), "parameters");
    float *pc = cg_malloc((size_t)n * d, sizeof(float), "PCA scores");
    double *mean = cg_malloc((size_t)d, sizeof(double), "PCA"), *comp = cg_malloc((size_t)d * d, sizeof(double), "PCA");
    double *var = cg_malloc((size_t)d, sizeof(double), "PCA");
    cg_status s = (score && par && pc && mean && comp && var) ? CG_OK : CG_ERR_NOMEM;
    if (!s && d > 1) s = cg_pca(z, n, d, d, mean, comp, var, pc);
    if (!s) {
        double tot = 0;
        for (int j = 0; d > 1 && j < d; j++) tot += var[j];
        out->pc1_variance_fraction = d > 1 && tot > 0 ? var[0] / tot : 1.0;
        for (int64_t i = 0; i < n; i++) score[i] = d > 1 ? pc[i * d] : z[i];
        for (int j = 0; j < t->pdim; j++) {
            for (int64_t i = 0; i < n; i++) par[i] = t->param[i * t->pdim + j];
            out->abs_spearman[j] = fabs(cg_spearman(score, par, n));
        }
    }
    /* neighbourhood similarity on a sample, truth scaled to unit range per parameter */
    int64_t ns = n < 2000 ? n : 2000;
    int64_t *idx = s ? NULL : sample_indices(n, ns, seed);
    float *zl = s ? NULL : cg_malloc((size_t)ns * d, sizeof(float), "sample"), *tl = s ? NULL : cg_malloc((size_t)ns * t->pdim, sizeof(float), "sample");
    if (!s && (!idx || !zl || !tl)) s = CG_ERR_NOMEM;
    if (!s) {
        for (int j = 0; j < t->pdim; j++) {
            double lo, hi;
            cg_conf_param_range(t->model, j, &lo, &hi);
            double w = hi > lo ? hi - lo : 1;
            for (int64_t k = 0; k < ns; k++) tl[k * t->pdim + j] = (float)((t->param[idx[k] * t->pdim + j] - lo) / w);
        }
        for (int64_t k = 0; k < ns; k++) memcpy(zl + k * d, z + idx[k] * d, sizeof(float) * (size_t)d);
        out->k = ns / 100 > 5 ? (int)(ns / 100) : 5;
        out->nsample = ns;
        s = cg_neighbourhood_similarity(zl, d, tl, t->pdim, ns, out->k, &out->neighbourhood);
    }
    free(score), free(par), free(pc), free(mean), free(comp), free(var), free(idx), free(zl), free(tl);
    return s;
}
