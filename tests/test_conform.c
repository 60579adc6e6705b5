/* Conformational models: morph between identical models is constant; the adenylate kinase
 * morph keeps the rigid core in place and moves the LID and NMP domains; hinge rotations are
 * rigid and about the stated axis; discrete states follow their probabilities; synthetic
 * objects respond to their parameters; bad input gives clear errors. */
#include <math.h>

#include "cryogen/conform.h"
#include "cryogen/geom.h"
#include "testutil.h"

static double dist(const double *a, const double *b) {
    return sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}

static void test_morph(void) {
    const char *po = cg_test_data("pdb/adk_open.pdb"), *pc = cg_test_data("pdb/adk_closed.pdb");
    if (!po || !pc) {
        printf("note: ../shared/data absent; adenylate kinase checks skipped\n");
        return;
    }
    cg_atoms *a, *b;
    CHECK_OK(cg_atoms_read(po, 0, &a));
    CHECK_OK(cg_atoms_read(pc, 0, &b));
    if (!a || !b) return;
    cg_conf_model *m;
    /* identical models: constant in t */
    CHECK_OK(cg_conf_morph_create(&m, a, a));
    cg_atom *x = malloc(sizeof(cg_atom) * a->n);
    int64_t n;
    double maxdev = 0;
    for (double t = 0; t <= 1.0001; t += 0.25) {
        double p = t;
        CHECK_OK(cg_conf_atoms(m, &p, x, &n));
        for (int64_t i = 0; i < n; i++) maxdev = fmax(maxdev, dist(x[i].xyz_A, a->atoms[i].xyz_A));
    }
    CHECK_MSG(maxdev < 1e-9, "identical morph moves atoms by %g A", maxdev);
    cg_conf_destroy(m);
    /* open -> closed: t = 0 is the open model; core residues (1-29, 60-121, 160-214, data README)
       stay within ~1.5 A while LID (122-159) atoms move several A */
    CHECK_OK(cg_conf_morph_create(&m, a, b));
    double p0 = 0, p1 = 1;
    CHECK_OK(cg_conf_atoms(m, &p0, x, &n));
    maxdev = 0;
    for (int64_t i = 0; i < n; i++) maxdev = fmax(maxdev, dist(x[i].xyz_A, a->atoms[i].xyz_A));
    CHECK(maxdev < 1e-9);
    CHECK_OK(cg_conf_atoms(m, &p1, x, &n));
    double core = 0, lid = 0;
    int nc = 0, nl = 0;
    for (int64_t i = 0; i < n; i++) {
        if (strcmp(a->atoms[i].name, "CA")) continue;
        int r = a->atoms[i].resseq;
        double d = dist(x[i].xyz_A, a->atoms[i].xyz_A);
        if (r <= 29 || (r >= 60 && r <= 121) || r >= 160) core += d * d, nc++;
        if (r >= 122 && r <= 159) lid += d * d, nl++;
    }
    core = sqrt(core / nc);
    lid = sqrt(lid / nl);
    /* the best any rigid fit can do on that core: superpose on exactly those CA atoms */
    double *ca = malloc(sizeof(double) * 3 * 214), *cb = malloc(sizeof(double) * 3 * 214), Rb[9], tb[3];
    int k = 0;
    for (int64_t i = 0; i < n; i++) {
        int r = a->atoms[i].resseq;
        if (strcmp(a->atoms[i].name, "CA") || !(r <= 29 || (r >= 60 && r <= 121) || r >= 160)) continue;
        memcpy(ca + 3 * k, a->atoms[i].xyz_A, sizeof(double) * 3);
        memcpy(cb + 3 * k, b->atoms[i].xyz_A, sizeof(double) * 3);
        k++;
    }
    double best = cg_superpose(cb, ca, k, NULL, 0, Rb, tb);
    free(ca);
    free(cb);
    printf("adk morph: core CA RMS displacement %.2f A (optimum on the literature core %.2f A), LID %.2f A\n", core,
           best, lid);
    CHECK(core <= 1.1 * best && lid > 8.0);
    /* t = 1 is the closed model up to a rigid motion */
    double *xa = malloc(sizeof(double) * 3 * n), *xb = malloc(sizeof(double) * 3 * n), R[9], tr[3];
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) xa[3 * i + c] = x[i].xyz_A[c], xb[3 * i + c] = b->atoms[i].xyz_A[c];
    CHECK(cg_superpose(xa, xb, n, NULL, 0, R, tr) < 1e-6);
    free(xa);
    free(xb);
    cg_conf_destroy(m);
    /* mismatched atom sets */
    cg_atoms *c;
    CHECK_OK(cg_atoms_read(cg_test_data("pdb/1uao.pdb"), 0, &c));
    if (c) {
        CHECK_FAILS(cg_conf_morph_create(&m, a, c), CG_ERR_ARG, "same atoms");
        cg_atoms_free(c);
    }
    /* hinge on the LID: rigid, non-domain atoms fixed */
    CHECK_OK(cg_conf_hinge_create(&m, a, 122, 159, -20, 40));
    double ang = 30;
    CHECK_OK(cg_conf_atoms(m, &ang, x, &n));
    cg_atom *base = malloc(sizeof(cg_atom) * a->n);
    double zero = 0;
    CHECK_OK(cg_conf_atoms(m, &zero, base, &n));
    int moved_out = 0;
    double dd = 0;
    int64_t first_dom = -1;
    for (int64_t i = 0; i < n; i++) {
        int in = base[i].resseq >= 122 && base[i].resseq <= 159;
        if (!in) moved_out += dist(x[i].xyz_A, base[i].xyz_A) > 1e-9;
        if (in && first_dom < 0) first_dom = i;
    }
    CHECK(moved_out == 0 && first_dom > 0);
    for (int64_t i = first_dom; i < n; i += 7) /* pairwise distances inside the domain preserved */
        dd = fmax(dd, fabs(dist(x[i].xyz_A, x[first_dom].xyz_A) - dist(base[i].xyz_A, base[first_dom].xyz_A)));
    CHECK(dd < 1e-9);
    double bad = 50;
    CHECK_FAILS(cg_conf_atoms(m, &bad, x, &n), CG_ERR_RANGE, "outside");
    cg_conf_destroy(m);
    CHECK_FAILS(cg_conf_hinge_create(&m, a, 900, 950, 0, 10), CG_ERR_ARG, "select 0 of");
    free(base);
    free(x);
    cg_atoms_free(a);
    cg_atoms_free(b);
}

static void test_discrete(void) {
    cg_atom s1 = {.xyz_A = {0, 0, 0}, .element = 6, .occupancy = 1}, s2[2] = {s1, s1};
    s2[1].xyz_A[0] = 5;
    cg_atoms A = {1, &s1, 1, NULL}, B = {2, s2, 1, NULL};
    const cg_atoms *st[2] = {&A, &B};
    double prob[2] = {1, 3};
    cg_conf_model *m;
    CHECK_OK(cg_conf_discrete_create(&m, st, prob, 2));
    CHECK(cg_conf_nstates(m) == 2 && cg_conf_max_atoms(m) == 2);
    cg_rng r;
    cg_rng_init(&r, 1, CG_RNG_STREAM_MODEL, 0);
    int count = 0, N = 40000;
    for (int i = 0; i < N; i++) {
        double p;
        cg_conf_sample(m, &r, &p);
        count += p == 1;
    }
    /* 75% +- 4 standard errors */
    CHECK_MSG(fabs(count / (double)N - 0.75) < 4 * sqrt(0.75 * 0.25 / N), "state 2 drawn %d of %d", count, N);
    cg_atom out[2];
    int64_t n;
    double p1 = 1;
    CHECK_OK(cg_conf_atoms(m, &p1, out, &n));
    CHECK(n == 2 && out[1].xyz_A[0] == 5);
    cg_conf_destroy(m);
    prob[0] = -1;
    CHECK_FAILS(cg_conf_discrete_create(&m, st, prob, 2), CG_ERR_ARG, "probability 1");
}

static void test_synthetic(void) {
    const char *names[] = {"lids", "capsid", "synthetic"};
    for (int k = 0; k < 3; k++) {
        cg_conf_model *m;
        CHECK_OK(cg_conf_builtin_create(&m, names[k], 96.0));
        if (!m) continue;
        int64_t nmax = cg_conf_max_atoms(m), n;
        CHECK(nmax > 100);
        cg_atom *x0 = malloc(sizeof(cg_atom) * nmax), *x1 = malloc(sizeof(cg_atom) * nmax);
        double lo[2] = {0, 0}, hi[2];
        double t;
        for (int j = 0; j < cg_conf_param_dim(m); j++) cg_conf_param_range(m, j, &t, &hi[j]);
        CHECK_OK(cg_conf_atoms(m, lo, x0, &n));
        CHECK_OK(cg_conf_atoms(m, hi, x1, &n));
        double maxmove = 0, rmax = 0;
        int moved = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = dist(x0[i].xyz_A, x1[i].xyz_A);
            maxmove = fmax(maxmove, d);
            moved += d > 1e-6;
            double o[3] = {0, 0, 0};
            rmax = fmax(rmax, dist(x1[i].xyz_A, o));
        }
        printf("%s: %lld atoms, %d move, largest move %.1f A, radius %.1f A\n", names[k], (long long)n, moved, maxmove, rmax);
        CHECK(moved > 0 && moved < n && maxmove > 5);
        CHECK(rmax < 48); /* fits in the 96 A box */
        free(x0);
        free(x1);
        cg_conf_destroy(m);
    }
    cg_conf_model *m;
    CHECK_FAILS(cg_conf_builtin_create(&m, "teapot", 96), CG_ERR_ARG, "unknown built-in model");
    /* lids: the +x lid opens outwards (its top moves to larger x) */
    CHECK_OK(cg_conf_lids_create(&m, 50, 60));
    int64_t n, nm = cg_conf_max_atoms(m);
    cg_atom *x0 = malloc(sizeof(cg_atom) * nm), *x1 = malloc(sizeof(cg_atom) * nm);
    double a0[2] = {0, 0}, a1[2] = {45, 0};
    CHECK_OK(cg_conf_atoms(m, a0, x0, &n));
    CHECK_OK(cg_conf_atoms(m, a1, x1, &n));
    int outward = 0, inward = 0;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(x0[i].xyz_A[0] - 25) < 1e-9 && x0[i].xyz_A[2] > 0) {
            outward += x1[i].xyz_A[0] > 25 + 1;
            inward += x1[i].xyz_A[0] < 25;
        }
    }
    CHECK(outward > 0 && inward == 0);
    free(x0);
    free(x1);
    cg_conf_destroy(m);
}

int main(void) {
    test_morph();
    test_discrete();
    test_synthetic();
    return cg_test_finish();
}
