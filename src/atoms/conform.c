/* Conformational models (see include/cryogen/conform.h). Every continuous model but morph is
 * a base set of atoms plus rigid groups, each rotating about its own axis through its own
 * point by (sign * parameter j); morph interpolates coordinates; discrete picks a state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/conform.h"
#include "cryogen/geom.h"

enum { MAX_GROUPS = 8 };
typedef struct {
    int64_t first, last; /* atom index range [first, last) of the base set */
    double axis[3], point[3];
    int param;
    double sign;
} rigid_group;

struct cg_conf_model {
    cg_conf_kind kind;
    char name[32];
    int dim;
    double lo[2], hi[2];
    double centre[3];
    int64_t natoms;
    cg_atom *base;
    double *target; /* morph: second model's coordinates, superposed, [n][3] */
    int ngroups;
    rigid_group groups[MAX_GROUPS];
    int k;               /* discrete */
    cg_atom **states;
    int64_t *state_n;
    double *cum_prob;
};

static cg_conf_model *model_new(cg_conf_kind kind, const char *name, int dim) {
    cg_conf_model *m = cg_calloc(1, sizeof *m, "conformational model");
    if (!m) return NULL;
    m->kind = kind;
    snprintf(m->name, sizeof m->name, "%s", name);
    m->dim = dim;
    return m;
}

void cg_conf_destroy(cg_conf_model *m) {
    if (!m) return;
    free(m->base);
    free(m->target);
    if (m->states)
        for (int i = 0; i < m->k; i++) free(m->states[i]);
    free(m->states);
    free(m->state_n);
    free(m->cum_prob);
    free(m);
}

static cg_status copy_atoms(cg_conf_model *m, const cg_atom *a, int64_t n) {
    m->base = cg_malloc((size_t)n, sizeof *a, "model atoms");
    if (!m->base) return CG_ERR_NOMEM;
    memcpy(m->base, a, (size_t)n * sizeof *a);
    m->natoms = n;
    return CG_OK;
}

/* ---------------------------------------------------------------- morph ----------------- */

/* Superpose b onto a over a rigid core found automatically: fit on all CA atoms (all atoms
 * if there are no CA), then repeatedly refit on those within 2 A of their partner after the
 * last fit (at least the best third). This finds the rigid core of a domain motion without a
 * residue list; for adenylate kinase it recovers the CORE of the literature. */
static cg_status morph_fit(const cg_atoms *a, const cg_atoms *b, double *target) {
    int64_t n = a->n, ncand = 0, nsel;
    int64_t *cand = cg_malloc((size_t)n, sizeof *cand, "core selection");
    int64_t *sel = cg_malloc((size_t)n, sizeof *sel, "core selection");
    double *xa = cg_malloc((size_t)n * 3, sizeof(double), "coords"), *xb = cg_malloc((size_t)n * 3, sizeof(double), "coords");
    double *dev = cg_malloc((size_t)n, sizeof(double), "deviations"), *sorted = cg_malloc((size_t)n, sizeof(double), "deviations");
    cg_status st = CG_OK;
    if (!cand || !sel || !xa || !xb || !dev || !sorted) st = CG_ERR_NOMEM;
    for (int64_t i = 0; !st && i < n; i++) {
        memcpy(xa + 3 * i, a->atoms[i].xyz_A, sizeof(double) * 3);
        memcpy(xb + 3 * i, b->atoms[i].xyz_A, sizeof(double) * 3);
        if (!strcmp(a->atoms[i].name, "CA")) cand[ncand++] = i;
    }
    if (!st && ncand < 3)
        for (ncand = 0; ncand < n; ncand++) cand[ncand] = ncand;
    double R[9], t[3];
    nsel = ncand;
    if (!st) memcpy(sel, cand, sizeof *sel * (size_t)ncand);
    for (int it = 0; !st && it < 10; it++) {
        cg_superpose(xb, xa, n, sel, nsel, R, t);
        for (int64_t k = 0; k < ncand; k++) {
            double p[3], d = 0;
            cg_mat3_vec(R, xb + 3 * cand[k], p);
            for (int c = 0; c < 3; c++) d += (p[c] + t[c] - xa[3 * cand[k] + c]) * (p[c] + t[c] - xa[3 * cand[k] + c]);
            dev[k] = sqrt(d);
            sorted[k] = dev[k];
        }
        /* threshold: 2 A, raised to the deviation of the best third when fewer fit */
        int64_t third = ncand / 3 > 3 ? ncand / 3 : (ncand < 3 ? ncand : 3), below = 0;
        for (int64_t k = 0; k < ncand; k++) below += dev[k] <= 2.0;
        double thr = 2.0;
        if (below < third) {
            for (int64_t i = 0; i < third; i++) /* partial selection sort up to the third */
                for (int64_t j = i + 1; j < ncand; j++)
                    if (sorted[j] < sorted[i]) {
                        double s = sorted[i];
                        sorted[i] = sorted[j];
                        sorted[j] = s;
                    }
            thr = sorted[third - 1];
        }
        nsel = 0;
        for (int64_t k = 0; k < ncand; k++)
            if (dev[k] <= thr) sel[nsel++] = cand[k];
    }
    if (!st) cg_superpose(xb, xa, n, sel, nsel, R, t);
    for (int64_t i = 0; !st && i < n; i++) {
        double p[3];
        cg_mat3_vec(R, xb + 3 * i, p);
        for (int c = 0; c < 3; c++) target[3 * i + c] = p[c] + t[c];
    }
    free(cand), free(sel), free(xa), free(xb), free(dev), free(sorted);
    return st;
}

cg_status cg_conf_morph_create(cg_conf_model **out, const cg_atoms *a, const cg_atoms *b) {
    *out = NULL;
    if (a->n != b->n)
        return cg_error(CG_ERR_ARG, "morph: %s has %lld atoms but %s has %lld; both models need the same atoms in the same order",
                        a->path ? a->path : "A", (long long)a->n, b->path ? b->path : "B", (long long)b->n);
    for (int64_t i = 0; i < a->n; i++)
        if (strcmp(a->atoms[i].name, b->atoms[i].name) || a->atoms[i].resseq != b->atoms[i].resseq)
            return cg_error(CG_ERR_ARG, "morph: atom %lld is %s %d in %s but %s %d in %s; both models need the same atoms "
                            "in the same order", (long long)i + 1, a->atoms[i].name, a->atoms[i].resseq,
                            a->path ? a->path : "A", b->atoms[i].name, b->atoms[i].resseq, b->path ? b->path : "B");
    cg_conf_model *m = model_new(CG_CONF_MORPH, "morph", 1);
    if (!m) return CG_ERR_NOMEM;
    m->lo[0] = 0;
    m->hi[0] = 1;
    cg_status s = copy_atoms(m, a->atoms, a->n);
    if (!s) {
        m->target = cg_malloc((size_t)a->n * 3, sizeof(double), "morph target");
        s = m->target ? morph_fit(a, b, m->target) : CG_ERR_NOMEM;
    }
    if (s) {
        cg_conf_destroy(m);
        return s;
    }
    cg_atoms_centroid(m->base, m->natoms, m->centre);
    *out = m;
    return CG_OK;
}

/* ---------------------------------------------------------------- rigid groups ---------- */

static void normalise(double v[3]) {
    double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (n > 0)
        for (int k = 0; k < 3; k++) v[k] /= n;
}

static void add_group(cg_conf_model *m, int64_t first, int64_t last, const double axis[3], const double point[3],
                      int param, double sign) {
    rigid_group *g = &m->groups[m->ngroups++];
    g->first = first;
    g->last = last;
    memcpy(g->axis, axis, sizeof g->axis);
    normalise(g->axis);
    memcpy(g->point, point, sizeof g->point);
    g->param = param;
    g->sign = sign;
}

cg_status cg_conf_hinge_create(cg_conf_model **out, const cg_atoms *a, int res_first, int res_last, double amin,
                               double amax) {
    *out = NULL;
    if (amin > amax) return cg_error(CG_ERR_ARG, "hinge: angle range %g:%g is reversed", amin, amax);
    /* the domain must be one contiguous run of atoms: reorder so it is [first, last) */
    cg_conf_model *m = model_new(CG_CONF_HINGE, "hinge", 1);
    if (!m) return CG_ERR_NOMEM;
    m->base = cg_malloc((size_t)a->n, sizeof(cg_atom), "model atoms");
    if (!m->base) {
        cg_conf_destroy(m);
        return CG_ERR_NOMEM;
    }
    int64_t w = 0, nd = 0;
    const cg_atom *ca_first = NULL, *ca_last = NULL;
    for (int64_t i = 0; i < a->n; i++)
        if (a->atoms[i].resseq < res_first || a->atoms[i].resseq > res_last) m->base[w++] = a->atoms[i];
    for (int64_t i = 0; i < a->n; i++)
        if (a->atoms[i].resseq >= res_first && a->atoms[i].resseq <= res_last) {
            m->base[w++] = a->atoms[i];
            nd++;
            if (!strcmp(a->atoms[i].name, "CA")) {
                if (!ca_first) ca_first = &a->atoms[i];
                ca_last = &a->atoms[i];
            }
        }
    m->natoms = w;
    if (nd == 0 || nd == a->n) {
        cg_conf_destroy(m);
        return cg_error(CG_ERR_ARG, "hinge: residues %d-%d select %lld of %lld atoms; the domain must be a proper part",
                        res_first, res_last, (long long)nd, (long long)a->n);
    }
    if (!ca_first || ca_first == ca_last) { /* no CA atoms: use the first and last domain atoms */
        ca_first = &m->base[a->n - nd];
        ca_last = &m->base[a->n - 1];
    }
    /* hinge axis through the domain's two ends (where the chain enters and leaves it) */
    double axis[3], point[3];
    for (int k = 0; k < 3; k++) {
        axis[k] = ca_last->xyz_A[k] - ca_first->xyz_A[k];
        point[k] = 0.5 * (ca_last->xyz_A[k] + ca_first->xyz_A[k]);
    }
    add_group(m, a->n - nd, a->n, axis, point, 0, 1.0);
    m->lo[0] = amin;
    m->hi[0] = amax;
    cg_atoms_centroid(a->atoms, a->n, m->centre);
    *out = m;
    return CG_OK;
}

/* For synthetic.c: a model of `kind` over a copy of `atoms`, to which rigid groups are added. */
cg_status cg__conf_from_groups(cg_conf_model **out, cg_conf_kind kind, const char *name, int dim, const double *lo,
                               const double *hi, const cg_atom *atoms, int64_t n) {
    *out = NULL;
    cg_conf_model *m = model_new(kind, name, dim);
    if (!m) return CG_ERR_NOMEM;
    cg_status s = copy_atoms(m, atoms, n);
    if (s) {
        cg_conf_destroy(m);
        return s;
    }
    for (int j = 0; j < dim; j++) {
        m->lo[j] = lo[j];
        m->hi[j] = hi[j];
    }
    m->centre[0] = m->centre[1] = m->centre[2] = 0;
    *out = m;
    return CG_OK;
}

cg_status cg__conf_add_group(cg_conf_model *m, int64_t first, int64_t last, const double axis[3],
                             const double point[3], int param, double sign) {
    if (m->ngroups == MAX_GROUPS) return cg_error(CG_ERR_INTERNAL, "%s: more than %d rigid groups", m->name, MAX_GROUPS);
    add_group(m, first, last, axis, point, param, sign);
    return CG_OK;
}

/* ---------------------------------------------------------------- discrete -------------- */

cg_status cg_conf_discrete_create(cg_conf_model **out, const cg_atoms *const *states, const double *prob, int k) {
    *out = NULL;
    if (k < 1) return cg_error(CG_ERR_ARG, "discrete model needs at least one state");
    double total = 0;
    for (int i = 0; i < k; i++) {
        if (!(prob[i] >= 0)) return cg_error(CG_ERR_ARG, "discrete: probability %d is %g; must be >= 0", i + 1, prob[i]);
        total += prob[i];
    }
    if (!(total > 0)) return cg_error(CG_ERR_ARG, "discrete: probabilities sum to 0");
    cg_conf_model *m = model_new(CG_CONF_DISCRETE, "discrete", 1);
    if (!m) return CG_ERR_NOMEM;
    m->k = k;
    m->states = cg_calloc((size_t)k, sizeof *m->states, "states");
    m->state_n = cg_calloc((size_t)k, sizeof *m->state_n, "states");
    m->cum_prob = cg_calloc((size_t)k, sizeof *m->cum_prob, "states");
    if (!m->states || !m->state_n || !m->cum_prob) {
        cg_conf_destroy(m);
        return CG_ERR_NOMEM;
    }
    double acc = 0;
    for (int i = 0; i < k; i++) {
        m->states[i] = cg_malloc((size_t)states[i]->n, sizeof(cg_atom), "state atoms");
        if (!m->states[i]) {
            cg_conf_destroy(m);
            return CG_ERR_NOMEM;
        }
        memcpy(m->states[i], states[i]->atoms, sizeof(cg_atom) * (size_t)states[i]->n);
        m->state_n[i] = states[i]->n;
        if (states[i]->n > m->natoms) m->natoms = states[i]->n;
        acc += prob[i] / total;
        m->cum_prob[i] = acc;
    }
    m->cum_prob[k - 1] = 1.0;
    m->lo[0] = 0;
    m->hi[0] = k - 1;
    cg_atoms_centroid(m->states[0], m->state_n[0], m->centre);
    *out = m;
    return CG_OK;
}

/* ---------------------------------------------------------------- queries --------------- */

cg_conf_kind cg_conf_kind_of(const cg_conf_model *m) { return m->kind; }
const char *cg_conf_name(const cg_conf_model *m) { return m->name; }
int cg_conf_param_dim(const cg_conf_model *m) { return m->dim; }
int cg_conf_nstates(const cg_conf_model *m) { return m->kind == CG_CONF_DISCRETE ? m->k : 0; }
void cg_conf_param_range(const cg_conf_model *m, int j, double *lo, double *hi) {
    *lo = m->lo[j];
    *hi = m->hi[j];
}
int64_t cg_conf_max_atoms(const cg_conf_model *m) { return m->natoms; }
void cg_conf_centre(const cg_conf_model *m, double c[3]) { memcpy(c, m->centre, sizeof m->centre); }

cg_status cg_conf_atoms(const cg_conf_model *m, const double *param, cg_atom *atoms, int64_t *n) {
    for (int j = 0; j < m->dim; j++)
        if (!(param[j] >= m->lo[j] - 1e-9 && param[j] <= m->hi[j] + 1e-9))
            return cg_error(CG_ERR_RANGE, "%s model: parameter %d = %g outside [%g, %g]", m->name, j + 1, param[j],
                            m->lo[j], m->hi[j]);
    if (m->kind == CG_CONF_DISCRETE) {
        int s = (int)lround(param[0]);
        memcpy(atoms, m->states[s], sizeof(cg_atom) * (size_t)m->state_n[s]);
        *n = m->state_n[s];
        return CG_OK;
    }
    memcpy(atoms, m->base, sizeof(cg_atom) * (size_t)m->natoms);
    *n = m->natoms;
    if (m->kind == CG_CONF_MORPH) {
        double t = param[0];
        for (int64_t i = 0; i < m->natoms; i++)
            for (int c = 0; c < 3; c++) atoms[i].xyz_A[c] = (1 - t) * m->base[i].xyz_A[c] + t * m->target[3 * i + c];
        return CG_OK;
    }
    for (int g = 0; g < m->ngroups; g++) {
        const rigid_group *gr = &m->groups[g];
        double ang = CG_DEG2RAD(gr->sign * param[gr->param]), v[3], R[9];
        for (int c = 0; c < 3; c++) v[c] = gr->axis[c] * ang;
        cg_axis_angle_to_matrix(v, R);
        for (int64_t i = gr->first; i < gr->last; i++) {
            double d[3], p[3];
            for (int c = 0; c < 3; c++) d[c] = m->base[i].xyz_A[c] - gr->point[c];
            cg_mat3_vec(R, d, p);
            for (int c = 0; c < 3; c++) atoms[i].xyz_A[c] = p[c] + gr->point[c];
        }
    }
    return CG_OK;
}

void cg_conf_sample(const cg_conf_model *m, cg_rng *r, double *param) {
    if (m->kind == CG_CONF_DISCRETE) {
        double u = cg_rng_uniform(r);
        int s = 0;
        while (s < m->k - 1 && u >= m->cum_prob[s]) s++;
        param[0] = s;
        return;
    }
    for (int j = 0; j < m->dim; j++) param[j] = m->lo[j] + (m->hi[j] - m->lo[j]) * cg_rng_uniform(r);
}
