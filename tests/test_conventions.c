/* Conventions pinned on third-party data (CONVENTIONS.md; data README in ../shared/data):
 *
 * 1. RELION: relion/rln_proj_64_{centered,shifted}.mrcs were projected by RELION from
 *    maps/clean70SRibosome_vol_65p.mrc (Fourier-cropped to 64^3, see test_relion) with the angles and origins (pixels,
 *    rlnOriginX/Y) of the matching STAR. Our projection (A from the Euler angles, image =
 *    centred projection translated by -origin) must correlate >= 0.99 with each image; the
 *    wrong variants (A^T instead of A; +origin instead of -origin) must not.
 * 2. cryoDRGN: cryodrgn/hand.mrcs (100 EMAN projections, 64 px) with hand_rot.txt (R = A). No
 *    volume is given: reconstruct one from the first 90 images by least squares with our exact
 *    adjoint (conjugate gradients on P^T P v = P^T y), predict the other 10 and require
 *    correlation >= 0.99 (the data README reports 0.995). Reconstructing and predicting with
 *    A^T instead must fail.
 */
#include <math.h>

#include "cryogen/geom.h"
#include "cryogen/image.h"
#include "cryogen/mrc.h"
#include "cryogen/project.h"
#include "cryogen/star.h"
#include "cryogen/metrics.h"
#include "testutil.h"

/* Pearson correlation (cg_real_space_correlation, tested in test_metrics) */
static double corr(const float *a, const float *b, size_t n) { return cg_real_space_correlation(a, b, n, NULL); }

typedef enum { OK_CONV, USE_AT, PLUS_ORIGIN } variant;

/* Per-image correlations (min over the stack) of our projections with RELION's images. */
static double relion_stack_min_corr(const cg_projector *P, const char *star_rel, const char *mrcs_rel, variant var) {
    const int D = 64;
    cg_star *st = NULL;
    cg_mrc_header h;
    float *imgs = NULL;
    if (cg_star_read(cg_test_data_or_skip(star_rel), &st) != CG_OK || cg_mrc_read(cg_test_data_or_skip(mrcs_rel), &h, &imgs) != CG_OK) {
        fprintf(stderr, "reading %s / %s: %s\n", star_rel, mrcs_rel, cg_last_error());
        cg_star_free(st);
        return -2;
    }
    cg_star_block *b = cg_star_find_block(st, "particles");
    int crot = cg_star_find_col(b, "rlnAngleRot"), ctilt = cg_star_find_col(b, "rlnAngleTilt");
    int cpsi = cg_star_find_col(b, "rlnAnglePsi"), cox = cg_star_find_col(b, "rlnOriginX"), coy = cg_star_find_col(b, "rlnOriginY");
    CHECK(b && crot >= 0 && ctilt >= 0 && cpsi >= 0 && h.nx == D && h.nz == cg_star_nrows(b));
    cg_image_fft *w;
    cg_image_fft_create(&w, D);
    cg_complex *spec = cg_fft_alloc_complex((size_t)D * (D / 2 + 1));
    float *img = malloc(sizeof(float) * D * D);
    double worst = 2;
    for (int64_t i = 0; i < cg_star_nrows(b); i++) {
        double rot, tilt, psi, ox = 0, oy = 0, A[9];
        cg_star_get_double(b, i, crot, &rot);
        cg_star_get_double(b, i, ctilt, &tilt);
        cg_star_get_double(b, i, cpsi, &psi);
        if (cox >= 0) cg_star_get_double(b, i, cox, &ox); /* pixels in this file (pre-3.1 label) */
        if (coy >= 0) cg_star_get_double(b, i, coy, &oy);
        cg_euler_to_matrix(CG_DEG2RAD(rot), CG_DEG2RAD(tilt), CG_DEG2RAD(psi), A);
        if (var == USE_AT) cg_mat3_transpose(A, A);
        double sgn = var == PLUS_ORIGIN ? 1 : -1;
        cg_projector_slice(P, A, spec);
        cg_spectrum_shift(spec, D, sgn * ox, sgn * oy);
        cg_spectrum_to_image(w, spec, img);
        double c = corr(img, imgs + (size_t)i * D * D, (size_t)D * D);
        if (c < worst) worst = c;
    }
    cg_image_fft_destroy(w);
    cg_fft_free(spec);
    free(img);
    free(imgs);
    cg_star_free(st);
    return worst;
}

static void test_relion(void) {
    cg_mrc_header h;
    float *v65 = NULL;
    CHECK_OK(cg_mrc_read(cg_test_data_or_skip("maps/clean70SRibosome_vol_65p.mrc"), &h, &v65));
    if (!v65) return;
    CHECK(h.nx == 65 && h.ny == 65 && h.nz == 65);
    /* 65^3 -> 64^3: the images match a FOURIER crop of the volume (cg_volume_resample) at
     * correlation 1.0000; a real-space crop (voxels 0..63, centre 32 kept) gives 0.9936, and
     * the other real-space crop (1..64) fails. Both pass >= 0.99 with the Fourier crop. */
    const int D = 64;
    float *v = malloc(sizeof(float) * D * D * D);
    CHECK_OK(cg_volume_resample(v65, 65, v, D));
    cg_projector *P;
    CHECK_OK(cg_projector_create(&P, v, D, 2));
    const char *names[][2] = {{"relion/rln_proj_64_centered.star", "relion/rln_proj_64_centered.mrcs"},
                              {"relion/rln_proj_64_shifted.star", "relion/rln_proj_64_shifted.mrcs"}};
    for (int k = 0; k < 2; k++) {
        double good = relion_stack_min_corr(P, names[k][0], names[k][1], OK_CONV);
        double at = relion_stack_min_corr(P, names[k][0], names[k][1], USE_AT);
        printf("%s: min corr %.6f; with A^T %.3f", names[k][1], good, at);
        CHECK(good >= 0.99);
        CHECK(at < 0.9);
        if (k == 1) {
            double plus = relion_stack_min_corr(P, names[k][0], names[k][1], PLUS_ORIGIN);
            printf("; with +origin %.3f", plus);
            CHECK(plus < 0.9);
        }
        printf("\n");
    }
    cg_projector_destroy(P);
    free(v), free(v65);
}

/* ---------------------------------------------------------------- cryoDRGN hand ---------- */
static int read_rotations(const char *path, double *R, int max) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[1024];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        double *r = R + 9 * n;
        if (sscanf(line, "%lf %lf %lf %lf %lf %lf %lf %lf %lf", r, r + 1, r + 2, r + 3, r + 4, r + 5, r + 6, r + 7, r + 8) == 9) n++;
    }
    fclose(f);
    return n;
}

/* out = sum_i P_i^T P_i x + lambda x, through the Fourier projector and its exact adjoint */
static void normal_op(const float *x, float *out, int D, const double *R, int n, double lambda, cg_complex *spec,
                      cg_backprojector *B) {
    cg_projector *P;
    cg_projector_create(&P, x, D, 2);
    cg_backprojector_reset(B);
    for (int i = 0; i < n; i++) {
        cg_projector_slice(P, R + 9 * i, spec);
        cg_backprojector_insert(B, R + 9 * i, spec);
    }
    cg_backprojector_finish(B, out);
    for (size_t k = 0; k < (size_t)D * D * D; k++) out[k] += (float)(lambda * x[k]);
    cg_projector_destroy(P);
}

static double ddot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Least-squares reconstruction from images [0, ntrain) by CG; returns min prediction corr on
 * images [ntrain, n). transpose: use A^T (wrong variant). */
static double hand_predict(const float *imgs, const double *R_in, int n, int ntrain, int D, int transpose) {
    size_t n3 = (size_t)D * D * D, n2 = (size_t)D * D;
    double *R = malloc(sizeof(double) * 9 * n);
    for (int i = 0; i < n; i++) {
        if (transpose) cg_mat3_transpose(R_in + 9 * i, R + 9 * i);
        else memcpy(R + 9 * i, R_in + 9 * i, sizeof(double) * 9);
    }
    float *x = calloc(n3, 4), *r = malloc(n3 * 4), *p = malloc(n3 * 4), *Ap = malloc(n3 * 4), *img = malloc(n2 * 4);
    cg_complex *spec = cg_fft_alloc_complex((size_t)D * (D / 2 + 1));
    cg_backprojector *B;
    cg_image_fft *w;
    cg_backprojector_create(&B, D, 2);
    cg_image_fft_create(&w, D);
    /* r = P^T y (x = 0) */
    for (int i = 0; i < ntrain; i++) {
        cg_image_to_spectrum(w, imgs + i * n2, spec);
        cg_backprojector_insert(B, R + 9 * i, spec);
    }
    cg_backprojector_finish(B, r);
    memcpy(p, r, n3 * 4);
    double rr = ddot(r, r, n3), rr0 = rr;
    /* a small Tikhonov term keeps the unmeasured (beyond radius D/2) components at zero */
    const double lambda = 1e-3 * ntrain;
    int it;
    for (it = 0; it < 40 && rr > 1e-8 * rr0; it++) {
        normal_op(p, Ap, D, R, ntrain, lambda, spec, B);
        double alpha = rr / ddot(p, Ap, n3);
        for (size_t k = 0; k < n3; k++) x[k] += (float)(alpha * p[k]), r[k] -= (float)(alpha * Ap[k]);
        double rr_new = ddot(r, r, n3);
        for (size_t k = 0; k < n3; k++) p[k] = (float)(r[k] + rr_new / rr * p[k]);
        rr = rr_new;
    }
    cg_projector *P;
    cg_projector_create(&P, x, D, 2);
    double worst = 2;
    for (int i = ntrain; i < n; i++) {
        cg_projector_project(P, R + 9 * i, w, spec, img);
        double c = corr(img, imgs + i * n2, n2);
        if (c < worst) worst = c;
    }
    printf("hand: CG %d iterations (residual %.1e), %s: min prediction corr on held-out images %.4f\n", it, sqrt(rr / rr0),
           transpose ? "A^T (wrong)" : "A", worst);
    cg_projector_destroy(P);
    cg_backprojector_destroy(B);
    cg_image_fft_destroy(w);
    cg_fft_free(spec);
    free(R), free(x), free(r), free(p), free(Ap), free(img);
    return worst;
}

static void test_hand(void) {
    cg_mrc_header h;
    float *imgs = NULL;
    CHECK_OK(cg_mrc_read(cg_test_data_or_skip("cryodrgn/hand.mrcs"), &h, &imgs));
    if (!imgs) return;
    double R[9 * 100];
    int n = read_rotations(cg_test_data_or_skip("cryodrgn/hand_rot.txt"), R, 100);
    CHECK(n == 100 && h.nz == 100 && h.nx == 64);
    double good = hand_predict(imgs, R, n, 90, h.nx, 0);
    double bad = hand_predict(imgs, R, n, 90, h.nx, 1);
    CHECK(good >= 0.99);
    CHECK(bad < 0.9);
    free(imgs);
}

int main(void) {
    cg_test_data_or_skip("maps/clean70SRibosome_vol_65p.mrc");
    test_relion();
    test_hand();
    return cg_test_finish();
}
