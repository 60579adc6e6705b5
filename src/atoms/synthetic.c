/* Synthetic conformational objects built from Gaussian primitives ("blobs": carbon-like
 * atoms with a large B-factor so that neighbours merge into smooth density):
 *   lids      (score-based random tomography's box with four lids, two angles)
 *   capsid    (a shell with six flexible arms of different lengths, one bend angle)
 *   synthetic (an asymmetric four-lobed "protein" of a few hundred atoms with a hinged
 *              fifth lobe; a built-in molecule for the demo and tests)
 * Every object carries an asymmetric marker so that no rotation or mirror maps it onto
 * itself (alignment tests need that). Coordinates are centred on the origin. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/conform.h"
#include "cryogen/geom.h"

/* conform.c internals needed here */
cg_status cg__conf_from_groups(cg_conf_model **out, cg_conf_kind kind, const char *name, int dim, const double *lo,
                               const double *hi, const cg_atom *atoms, int64_t n);
cg_status cg__conf_add_group(cg_conf_model *m, int64_t first, int64_t last, const double axis[3],
                             const double point[3], int param, double sign);

typedef struct {
    cg_atom *v;
    int64_t n, cap;
} blob_list;

static int blob(blob_list *l, double x, double y, double z, double sigma_A, int element) {
    if (l->n == l->cap) {
        int64_t nc = l->cap ? 2 * l->cap : 256;
        cg_atom *nv = realloc(l->v, sizeof(cg_atom) * (size_t)nc);
        if (!nv) return -1;
        l->v = nv;
        l->cap = nc;
    }
    cg_atom *a = &l->v[l->n++];
    memset(a, 0, sizeof *a);
    a->xyz_A[0] = x;
    a->xyz_A[1] = y;
    a->xyz_A[2] = z;
    a->element = element;
    a->occupancy = 1;
    /* B such that the Gaussian's std dev is about sigma: beta = 8 pi^2 sigma^2 */
    a->b_factor_A2 = (float)(8 * CG_PI * CG_PI * sigma_A * sigma_A);
    snprintf(a->name, sizeof a->name, "%s", "BLB");
    return 0;
}

static cg_status finish(blob_list *l, cg_status s) {
    if (s) free(l->v);
    return s;
}

cg_status cg_conf_lids_create(cg_conf_model **out, double size_A, double angle_max_deg) {
    *out = NULL;
    if (!(size_A > 0) || !(angle_max_deg >= 0)) return cg_error(CG_ERR_ARG, "lids: size %g A, angle %g deg", size_A, angle_max_deg);
    blob_list l = {0};
    const double L = size_A / 2, d = L / 4, sg = 0.5 * d;
    int bad = 0;
    for (int i = -4; i <= 4; i++) /* bottom face */
        for (int j = -4; j <= 4; j++) bad |= blob(&l, i * d, j * d, -L, sg, 6);
    for (int c = 0; c < 4; c++) /* vertical edges */
        for (int k = -3; k <= 4; k++) bad |= blob(&l, (c & 1 ? L : -L), (c & 2 ? L : -L), k * d, sg, 6);
    for (int k = 0; k < 6; k++) /* marker inside, off-centre and chiral */
        bad |= blob(&l, 0.4 * L + 0.15 * L * (k % 2), -0.3 * L + 0.12 * L * k, -0.5 * L + 0.1 * L * (k % 3), sg, 16);
    int64_t start[5];
    /* four lids: faces x = +L, x = -L (parameter 0) and y = +L, y = -L (parameter 1) */
    for (int f = 0; f < 4; f++) {
        start[f] = l.n;
        for (int i = -3; i <= 3; i++)
            for (int k = -3; k <= 4; k++) {
                double u = i * d, z = k * d;
                if (f == 0) bad |= blob(&l, L, u, z, sg, 6);
                if (f == 1) bad |= blob(&l, -L, u, z, sg, 6);
                if (f == 2) bad |= blob(&l, u, L, z, sg, 6);
                if (f == 3) bad |= blob(&l, u, -L, z, sg, 6);
            }
    }
    start[4] = l.n;
    if (bad) return finish(&l, cg_error(CG_ERR_NOMEM, "lids model"));
    double lo[2] = {0, 0}, hi[2] = {angle_max_deg, angle_max_deg};
    cg_conf_model *m;
    cg_status s = cg__conf_from_groups(&m, CG_CONF_LIDS, "lids", 2, lo, hi, l.v, l.n);
    if (s) return finish(&l, s);
    /* each lid hinges on its bottom edge and opens outwards as its parameter grows */
    const double ay[3] = {0, 1, 0}, ax[3] = {1, 0, 0};
    const double p0[3] = {L, 0, -L}, p1[3] = {-L, 0, -L}, p2[3] = {0, L, -L}, p3[3] = {0, -L, -L};
    cg__conf_add_group(m, start[0], start[1], ay, p0, 0, +1);
    cg__conf_add_group(m, start[1], start[2], ay, p1, 0, -1);
    cg__conf_add_group(m, start[2], start[3], ax, p2, 1, -1);
    cg__conf_add_group(m, start[3], start[4], ax, p3, 1, +1);
    free(l.v);
    *out = m;
    return CG_OK;
}

cg_status cg_conf_capsid_create(cg_conf_model **out, double size_A, double bend_max_deg) {
    *out = NULL;
    if (!(size_A > 0) || !(bend_max_deg >= 0)) return cg_error(CG_ERR_ARG, "capsid: size %g A, bend %g deg", size_A, bend_max_deg);
    blob_list l = {0};
    const double R = 0.3 * size_A;
    const int N = 240;
    const double spacing = sqrt(4 * CG_PI * R * R / N);
    int bad = 0;
    for (int i = 0; i < N; i++) { /* Fibonacci sphere */
        double z = 1 - (2 * i + 1.0) / N, r = sqrt(1 - z * z), ph = i * CG_PI * (3 - sqrt(5.0));
        bad |= blob(&l, R * r * cos(ph), R * r * sin(ph), R * z, 0.5 * spacing, 6);
    }
    static const double dirs[6][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
    static const double bend_axes[6][3] = {{0, 0, 1}, {0, 1, 0}, {1, 0, 0}, {0, 0, 1}, {0, 1, 0}, {1, 0, 0}};
    int64_t first[7];
    const double da = 0.05 * size_A;
    for (int a = 0; a < 6; a++) {
        first[a] = l.n;
        for (int k = 1; k <= 3 + a; k++) /* arms of 4..9 blobs: no symmetry maps one onto another */
            bad |= blob(&l, dirs[a][0] * (R + k * da), dirs[a][1] * (R + k * da), dirs[a][2] * (R + k * da), 0.45 * da, 7);
    }
    first[6] = l.n;
    if (bad) return finish(&l, cg_error(CG_ERR_NOMEM, "capsid model"));
    double lo = 0, hi = bend_max_deg;
    cg_conf_model *m;
    cg_status s = cg__conf_from_groups(&m, CG_CONF_CAPSID, "capsid", 1, &lo, &hi, l.v, l.n);
    if (s) return finish(&l, s);
    for (int a = 0; a < 6; a++) {
        double p[3] = {dirs[a][0] * R, dirs[a][1] * R, dirs[a][2] * R};
        cg__conf_add_group(m, first[a], first[a + 1], bend_axes[a], p, 0, a % 2 ? -1 : 1);
    }
    free(l.v);
    *out = m;
    return CG_OK;
}

/* Fill an ellipsoid lobe with atoms at protein-like density (one per ~14 A^3). */
static int lobe(blob_list *l, cg_rng *r, const double c[3], const double semi[3], double scale) {
    double vol = 4.0 / 3.0 * CG_PI * semi[0] * semi[1] * semi[2];
    int n = (int)(vol / 14.0);
    static const int el[] = {6, 6, 6, 6, 6, 6, 7, 7, 8, 8, 6, 6, 7, 8, 6, 16};
    for (int i = 0; i < n; i++) {
        double p[3], rr;
        do {
            rr = 0;
            for (int k = 0; k < 3; k++) {
                p[k] = 2 * cg_rng_uniform(r) - 1;
                rr += p[k] * p[k];
            }
        } while (rr > 1);
        if (blob(l, scale * (c[0] + semi[0] * p[0]), scale * (c[1] + semi[1] * p[1]), scale * (c[2] + semi[2] * p[2]),
                 0, el[cg_rng_below(r, 16)]))
            return -1;
        l->v[l->n - 1].b_factor_A2 = 40;
    }
    return 0;
}

static cg_status synthetic_build(cg_conf_model **out, double angle_max_deg, double scale) {
    *out = NULL;
    if (!(angle_max_deg >= 0) || !(scale > 0))
        return cg_error(CG_ERR_ARG, "synthetic: angle %g deg, scale %g", angle_max_deg, scale);
    blob_list l = {0};
    cg_rng r;
    cg_rng_init(&r, 20261121, CG_RNG_STREAM_USER, 0); /* fixed: the molecule is part of the program */
    static const double core[4][2][3] = {{{0, 0, 0}, {11, 9, 8}},
                                         {{13, 5, 1}, {7, 6, 5}},
                                         {{-7, 10, 6}, {6, 5, 6}},
                                         {{-5, -9, -7}, {5, 6, 4}}};
    int bad = 0;
    for (int i = 0; i < 4; i++) bad |= lobe(&l, &r, core[i][0], core[i][1], scale);
    int64_t first = l.n;
    const double dom_c[3] = {23, -8, 3}, dom_s[3] = {7, 6, 5};
    bad |= lobe(&l, &r, dom_c, dom_s, scale);
    if (bad) return finish(&l, cg_error(CG_ERR_NOMEM, "synthetic model"));
    double lo = 0, hi = angle_max_deg;
    cg_conf_model *m;
    cg_status s = cg__conf_from_groups(&m, CG_CONF_SYNTHETIC, "synthetic", 1, &lo, &hi, l.v, l.n);
    if (s) return finish(&l, s);
    /* hinge between the second core lobe and the domain, axis oblique to every lobe axis */
    const double axis[3] = {0.3, 0.5, 0.8}, point[3] = {17 * scale, -3 * scale, 2 * scale};
    cg__conf_add_group(m, first, l.n, axis, point, 0, 1);
    free(l.v);
    *out = m;
    return CG_OK;
}

cg_status cg_conf_synthetic_create(cg_conf_model **out, double angle_max_deg) {
    return synthetic_build(out, angle_max_deg, 1.0);
}

cg_status cg_conf_builtin_create(cg_conf_model **out, const char *name, double box_A) {
    *out = NULL;
    if (!(box_A > 0)) return cg_error(CG_ERR_ARG, "built-in model: box of %g A", box_A);
    if (!strcmp(name, "lids")) return cg_conf_lids_create(out, 0.35 * box_A, 45.0);
    if (!strcmp(name, "capsid")) return cg_conf_capsid_create(out, 0.55 * box_A, 60.0);
    /* the synthetic molecule spans about 56 A; it is scaled to fill 60% of smaller boxes */
    if (!strcmp(name, "synthetic")) return synthetic_build(out, 90.0, box_A < 96 ? box_A / 96 : 1.0);
    return cg_error(CG_ERR_ARG, "unknown built-in model '%s' (lids, capsid, synthetic)", name);
}
