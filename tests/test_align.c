/* Volume alignment: recover a known rotation, translation and hand.
 *
 * The test map is an asymmetric sum of Gaussians; the target is the SAME analytic function
 * with every centre moved by r -> Q (r - c) + c + t (Q a rotation, or a rotation times the
 * x-mirror), so no interpolation enters the ground truth. Aligning the original (moving) onto
 * the target (reference) must return Q and t: within 1 degree and 0.5 pixel, right hand.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/geom.h"
#include "cryogen/metrics.h"
#include "testutil.h"

#define NG 14
typedef struct {
    double c[NG][3], sigma[NG], amp[NG];
} blobs;

static void make_blobs(blobs *b, uint64_t seed) {
    cg_rng r;
    cg_rng_init(&r, seed, CG_RNG_STREAM_USER, 1);
    for (int i = 0; i < NG; i++) {
        for (int k = 0; k < 3; k++) b->c[i][k] = (cg_rng_uniform(&r) - 0.5) * 24.0;
        b->sigma[i] = 1.5 + 2.0 * cg_rng_uniform(&r);
        b->amp[i] = 0.5 + cg_rng_uniform(&r);
    }
}

/* Render with centres moved by Q (about the origin) and t (pixels); c = N/2 is the centre. */
static void render(const blobs *b, int N, const double Q[9], const double t[3], float *v) {
    double cen[NG][3];
    for (int i = 0; i < NG; i++) {
        cg_mat3_vec(Q, b->c[i], cen[i]);
        for (int k = 0; k < 3; k++) cen[i][k] += t[k] + N / 2;
    }
    for (int z = 0; z < N; z++)
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) {
                double s = 0;
                for (int i = 0; i < NG; i++) {
                    double dx = x - cen[i][0], dy = y - cen[i][1], dz = z - cen[i][2];
                    s += b->amp[i] * exp(-(dx * dx + dy * dy + dz * dz) / (2 * b->sigma[i] * b->sigma[i]));
                }
                v[((size_t)z * N + y) * N + x] = (float)s;
            }
}

static void one_case(int N, double rot_deg, double tilt_deg, double psi_deg, int mirror, const double t[3]) {
    size_t n = (size_t)N * N * N;
    float *mov = malloc(n * sizeof(float)), *ref = malloc(n * sizeof(float)), *al = malloc(n * sizeof(float));
    blobs b;
    make_blobs(&b, 3);
    double Id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, zero[3] = {0, 0, 0}, R[9], Q[9];
    cg_euler_to_matrix(CG_DEG2RAD(rot_deg), CG_DEG2RAD(tilt_deg), CG_DEG2RAD(psi_deg), R);
    memcpy(Q, R, sizeof Q);
    if (mirror)
        for (int i = 0; i < 3; i++) Q[3 * i] = -Q[3 * i];
    render(&b, N, Id, zero, mov);
    render(&b, N, Q, t, ref);
    cg_align_params p;
    cg_align_params_default(&p);
    cg_align_result res;
    double t0 = cg_time_s();
    CHECK_OK(cg_align_volumes(ref, mov, N, 1.7, &p, &res));
    double dt = cg_time_s() - t0;
    double err_deg = CG_RAD2DEG(cg_rotation_angle_between(res.R, R));
    double err_px = sqrt(pow(res.shift_px[0] - t[0], 2) + pow(res.shift_px[1] - t[1], 2) + pow(res.shift_px[2] - t[2], 2));
    CHECK_OK(cg_align_apply(mov, N, &res, al));
    cg_fsc_result f;
    CHECK_OK(cg_fsc_compute(ref, al, N, 1.7, NULL, &f));
    printf("N=%d mirror=%d: rotation error %.3f deg, shift error %.3f px, hand %s (score %.4f vs %.4f), "
           "shift (%.2f %.2f %.2f) A, FSC area after %.4f, %.1f s\n",
           N, mirror, err_deg, err_px, res.mirrored == mirror ? "right" : "WRONG", res.score, res.score_other_hand,
           res.shift_A[0], res.shift_A[1], res.shift_A[2], f.area, dt);
    CHECK_MSG(res.mirrored == mirror, "hand: got %d want %d", res.mirrored, mirror);
    CHECK_MSG(err_deg < 1.0, "rotation error %.3f deg", err_deg);
    CHECK_MSG(err_px < 0.5, "shift error %.3f px", err_px);
    double rho = cg_real_space_correlation(ref, al, n, NULL);
    printf("  real-space correlation after alignment %.5f\n", rho);
    CHECK(rho > 0.995);
    double Rchk[9];
    cg_euler_to_matrix(res.rot_rad, res.tilt_rad, res.psi_rad, Rchk);
    CHECK(cg_rotation_angle_between(Rchk, res.R) < 1e-6);
    cg_fsc_result_free(&f);
    free(mov);
    free(ref);
    free(al);
}

static void test_grid_coverage(void) {
    int n = 8000;
    double *q = malloc(sizeof(double) * 4 * n);
    cg_rotation_grid(n, q);
    cg_rng r;
    cg_rng_init(&r, 9, CG_RNG_STREAM_USER, 2);
    double worst = 0;
    for (int trial = 0; trial < 300; trial++) {
        double a, b, g, A[9];
        cg_random_euler(&r, &a, &b, &g);
        cg_euler_to_matrix(a, b, g, A);
        double qa[4], best = 10;
        cg_matrix_to_quat(A, qa);
        for (int i = 0; i < n; i++) {
            double d = fabs(qa[0] * q[4 * i] + qa[1] * q[4 * i + 1] + qa[2] * q[4 * i + 2] + qa[3] * q[4 * i + 3]);
            double ang = 2 * acos(d > 1 ? 1 : d);
            if (ang < best) best = ang;
        }
        if (best > worst) worst = best;
    }
    printf("rotation grid of %d: largest distance from 300 random rotations %.1f deg\n", n, CG_RAD2DEG(worst));
    CHECK(CG_RAD2DEG(worst) < 15.0);
    free(q);
}

int main(void) {
    if (getenv("CG_TEST_VERBOSE")) cg_log_set_level(CG_LOG_DEBUG);
    test_grid_coverage();
    double t1[3] = {3.3, -2.1, 1.7}, t2[3] = {-4.6, 0.8, 2.9};
    one_case(64, 37.0, 71.0, -122.0, 0, t1);
    one_case(64, -150.0, 118.0, 15.0, 1, t2);
    return cg_test_finish();
}
