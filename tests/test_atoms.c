/* Atomic models: PDB/mmCIF reading on third-party files and malformed input, the Gaussian
 * potential (total integral = sum of scattering factors at s = 0, analytic projection equals
 * the line sum of the voxelised potential, rotation convention), and superposition
 * (recovers a known rigid motion; adenylate kinase open vs closed CA RMSD 6.9 A as stated in
 * ../shared/data/README.md). */
#include <math.h>

#include "cryogen/atoms.h"
#include "cryogen/geom.h"
#include "cryogen/metrics.h"
#include "cryogen/project.h"
#include "testutil.h"

static int count_element(const cg_atoms *a, int z) {
    int c = 0;
    for (int64_t i = 0; i < a->n; i++) c += a->atoms[i].element == z;
    return c;
}

static void test_read_pdb(void) {
    const char *p = cg_test_data("pdb/adk_open.pdb");
    if (!p) {
        printf("note: ../shared/data absent, third-party reading checks skipped\n");
        return;
    }
    cg_atoms *a;
    CHECK_OK(cg_atoms_read(p, CG_ATOMS_FIRST_MODEL, &a));
    if (!a) return;
    CHECK(a->n == 3341); /* data README: 3,341 atoms */
    /* no element column: names like CD, CA, HG must be carbon / hydrogen, never Cd, Ca, Hg */
    int other = 0;
    for (int64_t i = 0; i < a->n; i++) {
        int z = a->atoms[i].element;
        other += !(z == 1 || z == 6 || z == 7 || z == 8 || z == 16);
        if (a->atoms[i].name[0] == 'C') CHECK(z == 6);
        if (a->atoms[i].name[0] == 'H') CHECK(z == 1);
    }
    CHECK(other == 0);
    /* 7 MET/CYS residues (counted from residue names with awk) carry one S each */
    CHECK(count_element(a, 16) == 7);
    CHECK(strcmp(a->atoms[0].name, "N") == 0 && strcmp(a->atoms[0].resname, "MET") == 0);
    CHECK_CLOSE(a->atoms[0].xyz_A[0], -11.921, 1e-9, 0);
    CHECK_CLOSE(a->atoms[0].b_factor_A2, 38.38, 1e-4, 0);
    cg_atoms_free(a);

    /* 16-model CA ensemble */
    p = cg_test_data("pdb/ake-xray-ensemble-ca.pdb");
    CHECK_OK(cg_atoms_read(p, CG_ATOMS_ALL_MODELS, &a));
    if (a) {
        CHECK(a->nmodels == 16 && a->n == 16 * 211);
        int64_t f, l;
        CHECK_OK(cg_atoms_model_range(a, 14, &f, &l));
        CHECK(f == 13 * 211 && l == 14 * 211);
        CHECK_FAILS(cg_atoms_model_range(a, 17, &f, &l), CG_ERR_RANGE, "holds 16 models");
        cg_atoms_free(a);
    }
    CHECK_OK(cg_atoms_read(p, CG_ATOMS_FIRST_MODEL, &a));
    if (a) {
        CHECK(a->n == 211 && count_element(a, 6) == 211);
        cg_atoms_free(a);
    }
}

static void test_read_cif(void) {
    const char *p = cg_test_data("pdb/8zpm.cif");
    if (!p) return;
    cg_atoms *a;
    CHECK_OK(cg_atoms_read(p, CG_ATOMS_FIRST_MODEL, &a));
    if (!a) return;
    /* counts as read by gemmi 0.5.7 from the type_symbol column */
    CHECK(a->n == 3222);
    CHECK(count_element(a, 7) == 524 && count_element(a, 6) == 2136);
    CHECK(count_element(a, 8) == 547 && count_element(a, 16) == 15);
    CHECK_CLOSE(a->atoms[0].xyz_A[0], 117.691, 1e-9, 0);
    CHECK_CLOSE(a->atoms[0].xyz_A[2], 115.148, 1e-9, 0);
    CHECK(strcmp(a->atoms[1].name, "CA") == 0 && a->atoms[1].element == 6);
    cg_atoms_free(a);
}

static void test_malformed(void) {
    cg_atoms *a;
    const char *bad_coord = "ATOM      1  N   GLY A   1      -6.778  -1.4x4   4.200  1.00  0.00           N\n";
    CHECK_FAILS(cg_atoms_parse(bad_coord, strlen(bad_coord), "bad.pdb", 0, &a), CG_ERR_FORMAT, "bad.pdb:1: y coordinate");
    const char *short_line = "REMARK\nATOM      1  N   GLY A   1      -6.778\n";
    CHECK_FAILS(cg_atoms_parse(short_line, strlen(short_line), "short.pdb", 0, &a), CG_ERR_FORMAT, "short.pdb:2:");
    const char *none = "REMARK nothing here\nEND\n";
    CHECK_FAILS(cg_atoms_parse(none, strlen(none), "empty.pdb", 0, &a), CG_ERR_FORMAT, "no ATOM");
    const char *unknown = "HETATM    1 XX   UNK A   1       0.000   0.000   0.000  1.00  0.00          Qq\n";
    CHECK_FAILS(cg_atoms_parse(unknown, strlen(unknown), "q.pdb", 0, &a), CG_ERR_FORMAT, "element");
    const char *cif_short = "data_x\nloop_\n_atom_site.group_PDB\n_atom_site.type_symbol\n_atom_site.Cartn_x\n"
                            "_atom_site.Cartn_y\n_atom_site.Cartn_z\nATOM C 1.0 2.0 3.0\nATOM C 1.0 2.0\n";
    CHECK_FAILS(cg_atoms_parse(cif_short, strlen(cif_short), "s.cif", 0, &a), CG_ERR_FORMAT, "row has");
    const char *cif_nox = "data_x\nloop_\n_atom_site.group_PDB\n_atom_site.Cartn_y\n_atom_site.Cartn_z\nATOM 2.0 3.0\n";
    CHECK_FAILS(cg_atoms_parse(cif_nox, strlen(cif_nox), "n.cif", 0, &a), CG_ERR_FORMAT, "lacks Cartn_x");
    const char *cif_nan = "data_x\nloop_\n_atom_site.type_symbol\n_atom_site.Cartn_x\n_atom_site.Cartn_y\n"
                          "_atom_site.Cartn_z\nC 1.0 abc 3.0\n";
    CHECK_FAILS(cg_atoms_parse(cif_nan, strlen(cif_nan), "nan.cif", 0, &a), CG_ERR_FORMAT, "Cartn_y 'abc'");
    /* alternate locations: only the first is kept; hetero ions from two-letter names */
    const char *alt = "ATOM      1  CA AARG A   1       1.000   0.000   0.000  0.50  0.00\n"
                      "ATOM      2  CA BARG A   1       2.000   0.000   0.000  0.50  0.00\n"
                      "HETATM    3 ZN    ZN A   2       5.000   0.000   0.000  1.00  0.00\n";
    CHECK_OK(cg_atoms_parse(alt, strlen(alt), "alt.pdb", 0, &a));
    if (a) {
        CHECK(a->n == 2 && a->atoms[0].xyz_A[0] == 1.0 && a->atoms[0].element == 6 && a->atoms[1].element == 30);
        cg_atoms_free(a);
    }
}

/* a small asymmetric test molecule */
static cg_atom *toy_atoms(int *n) {
    static const double xyz[][3] = {{0, 0, 0}, {4.1, 1.2, -0.5}, {-3.3, 2.8, 1.9}, {1.1, -5.2, 3.0},
                                    {6.5, 4.4, 2.2}, {-2.0, -3.1, -4.4}, {0.7, 6.1, -2.5}};
    static const int el[] = {6, 7, 8, 16, 6, 1, 15};
    *n = 7;
    cg_atom *a = calloc(7, sizeof *a);
    for (int i = 0; i < 7; i++) {
        for (int k = 0; k < 3; k++) a[i].xyz_A[k] = xyz[i][k] + 0.37 * k;
        a[i].element = el[i];
        a[i].occupancy = 1;
        a[i].b_factor_A2 = (float)(10 + 5 * i);
    }
    return a;
}

static void test_gaussian(void) {
    int n, D = 40;
    double h = 0.9, c[3] = {0.2, -0.1, 0.3};
    cg_atom *at = toy_atoms(&n);
    cg_gauss_opts o = cg_gauss_opts_default();
    float *vol = malloc(sizeof(float) * D * D * D), *img = malloc(sizeof(float) * D * D);
    CHECK_OK(cg_atoms_to_volume(at, n, &o, D, h, c, vol));
    /* total potential = sum over atoms of f(s = 0) = sum of a_i */
    double total = 0, want = 0;
    for (int i = 0; i < D * D * D; i++) total += vol[i];
    total *= h * h * h;
    for (int i = 0; i < n; i++) {
        double a[5], b[5];
        cg_scattering_params(at[i].element, a, b);
        for (int k = 0; k < 5; k++) want += a[k];
    }
    CHECK_CLOSE(total, want, 0, 1e-5);
    /* analytic projection at the identity equals the line sum of the voxel means */
    double Id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    CHECK_OK(cg_atoms_project(at, n, &o, D, h, c, Id, img));
    double err = 0, norm = 0;
    for (int y = 0; y < D; y++)
        for (int x = 0; x < D; x++) {
            double s = 0;
            for (int z = 0; z < D; z++) s += vol[((size_t)z * D + y) * D + x];
            err = fmax(err, fabs(s - img[y * D + x]));
            norm = fmax(norm, fabs(s));
        }
    CHECK_MSG(err < 1e-5 * norm, "identity projection error %g of %g", err, norm);
    /* rotation convention: projecting at A equals voxelising atoms moved to A (r - c) + c */
    double A[9];
    cg_euler_to_matrix(0.7, 1.2, -2.1, A);
    cg_atom *rot = malloc(sizeof(cg_atom) * n);
    for (int i = 0; i < n; i++) {
        rot[i] = at[i];
        double r[3] = {at[i].xyz_A[0] - c[0], at[i].xyz_A[1] - c[1], at[i].xyz_A[2] - c[2]}, p[3];
        cg_mat3_vec(A, r, p);
        for (int k = 0; k < 3; k++) rot[i].xyz_A[k] = p[k] + c[k];
    }
    CHECK_OK(cg_atoms_to_volume(rot, n, &o, D, h, c, vol));
    CHECK_OK(cg_atoms_project(at, n, &o, D, h, c, A, img));
    err = 0;
    for (int y = 0; y < D; y++)
        for (int x = 0; x < D; x++) {
            double s = 0;
            for (int z = 0; z < D; z++) s += vol[((size_t)z * D + y) * D + x];
            err = fmax(err, fabs(s - img[y * D + x]));
        }
    CHECK_MSG(err < 1e-5 * norm, "rotated projection error %g of %g", err, norm);
    /* hydrogens skipped: total drops by hydrogen's f(0) */
    o.skip_hydrogens = 1;
    CHECK_OK(cg_atoms_to_volume(at, n, &o, D, h, c, vol));
    double t2 = 0;
    for (int i = 0; i < D * D * D; i++) t2 += vol[i];
    double ah[5], bh[5], fh = 0;
    cg_scattering_params(1, ah, bh);
    for (int k = 0; k < 5; k++) fh += ah[k];
    CHECK_CLOSE(t2 * h * h * h, want - fh, 0, 1e-5);
    free(rot);
    free(vol);
    free(img);
    free(at);
}

/* The analytic projection against the voxel projectors (Fourier slice, and real-space line sums
 * with trilinear interpolation) applied to the voxelised map, at random rotations. They differ by
 * discretisation only: the sampled map cannot hold the sharpest Gaussian terms exactly and the
 * projectors interpolate it. So the difference must shrink as the grid is refined over the same
 * physical box (a 72 A cube at 2.0, 1.5 and 1.0 A/px), and be small on the finest grid.
 * Returns the worst relative L2 error over 4 rotations and both projectors. */
static double projector_error(double h, double *worst_corr) {
    int n, D = (int)lround(72 / h);
    double c[3] = {0, 0, 0};
    cg_atom *at = toy_atoms(&n);
    for (int i = 0; i < n; i++) at[i].b_factor_A2 = 40;
    cg_gauss_opts o = cg_gauss_opts_default();
    float *vol = malloc(sizeof(float) * D * D * D), *ana = malloc(sizeof(float) * D * D);
    float *fs = malloc(sizeof(float) * D * D), *rs = malloc(sizeof(float) * D * D);
    CHECK_OK(cg_atoms_to_volume(at, n, &o, D, h, c, vol));
    cg_projector *p;
    cg_image_fft *w;
    CHECK_OK(cg_projector_create(&p, vol, D, 2));
    CHECK_OK(cg_image_fft_create(&w, D));
    cg_complex *spec = cg_fft_alloc_complex((size_t)D * (D / 2 + 1));
    cg_rng r;
    cg_rng_init(&r, 11, 1, 0);
    double worst_e = 0;
    *worst_corr = 1;
    for (int t = 0; t < 4; t++) {
        double rot, tilt, psi, A[9];
        cg_random_euler(&r, &rot, &tilt, &psi);
        cg_euler_to_matrix(rot, tilt, psi, A);
        CHECK_OK(cg_atoms_project(at, n, &o, D, h, c, A, ana));
        cg_projector_project(p, A, w, spec, fs);
        memset(rs, 0, sizeof(float) * D * D);
        cg_project_real(vol, D, A, rs);
        const float *imgs[2] = {fs, rs};
        for (int k = 0; k < 2; k++) {
            double e = 0, nn = 0;
            for (int i = 0; i < D * D; i++) e += (imgs[k][i] - ana[i]) * (imgs[k][i] - ana[i]), nn += ana[i] * ana[i];
            worst_e = fmax(worst_e, sqrt(e / nn));
            *worst_corr = fmin(*worst_corr, cg_real_space_correlation(imgs[k], ana, (size_t)D * D, NULL));
        }
    }
    cg_fft_free(spec);
    cg_image_fft_destroy(w);
    cg_projector_destroy(p);
    free(vol), free(ana), free(fs), free(rs), free(at);
    return worst_e;
}

static void test_against_projectors(void) {
    const double hs[3] = {2.0, 1.5, 1.0};
    double e[3], cr[3];
    for (int k = 0; k < 3; k++) {
        e[k] = projector_error(hs[k], &cr[k]);
        printf("analytic vs voxel projectors at %.1f A/px: worst relative L2 error %.4f, worst correlation %.5f\n", hs[k],
               e[k], cr[k]);
    }
    CHECK(e[1] < e[0] && e[2] < e[1]); /* converges with the grid */
    CHECK(e[2] < 0.5 * e[0]);
    CHECK(cr[2] >= 0.99);
}

static void test_superpose(void) {
    cg_rng r;
    cg_rng_init(&r, 3, 3, 3);
    int n = 50;
    double *x = malloc(sizeof(double) * 3 * n), *y = malloc(sizeof(double) * 3 * n);
    double R0[9], t0[3] = {3.5, -7.25, 11.0}, R[9], t[3], rot, tilt, psi;
    cg_random_euler(&r, &rot, &tilt, &psi);
    cg_euler_to_matrix(rot, tilt, psi, R0);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) x[3 * i + k] = 20 * cg_rng_normal(&r);
        cg_mat3_vec(R0, x + 3 * i, y + 3 * i);
        for (int k = 0; k < 3; k++) y[3 * i + k] += t0[k];
    }
    double rmsd = cg_superpose(x, y, n, NULL, 0, R, t);
    CHECK(rmsd < 1e-9);
    CHECK(cg_rotation_angle_between(R, R0) < 1e-9);
    for (int k = 0; k < 3; k++) CHECK_CLOSE(t[k], t0[k], 1e-9, 0);
    free(x);
    free(y);

    const char *po = cg_test_data("pdb/adk_open.pdb"), *pc = cg_test_data("pdb/adk_closed.pdb");
    if (!po || !pc) return;
    cg_atoms *a, *b;
    CHECK_OK(cg_atoms_read(po, 0, &a));
    CHECK_OK(cg_atoms_read(pc, 0, &b));
    if (!a || !b) return;
    int64_t nca = 0;
    double *xa = malloc(sizeof(double) * 3 * a->n), *xb = malloc(sizeof(double) * 3 * a->n);
    for (int64_t i = 0; i < a->n; i++)
        if (!strcmp(a->atoms[i].name, "CA")) {
            CHECK(!strcmp(b->atoms[i].name, "CA")); /* same atoms in the same order */
            memcpy(xa + 3 * nca, a->atoms[i].xyz_A, sizeof(double) * 3);
            memcpy(xb + 3 * nca, b->atoms[i].xyz_A, sizeof(double) * 3);
            nca++;
        }
    CHECK(nca == 214);
    rmsd = cg_superpose(xa, xb, nca, NULL, 0, R, t);
    CHECK_MSG(fabs(rmsd - 6.9) < 0.1, "open/closed CA RMSD %.3f A, data README says 6.9 A", rmsd);
    free(xa);
    free(xb);
    cg_atoms_free(a);
    cg_atoms_free(b);
}

int main(void) {
    test_read_pdb();
    test_read_cif();
    test_malformed();
    test_gaussian();
    test_against_projectors();
    test_superpose();
    return cg_test_finish();
}
