/* Core: status messages, RNG determinism and distribution, arena, atomic outfile, FFT
 * round trip and conventions, circular shift, rotation conventions. */
#include <math.h>
#include <unistd.h>

#include "cryogen/core.h"
#include "cryogen/fft.h"
#include "cryogen/geom.h"
#include "testutil.h"

static void test_status(void) {
    CHECK(cg_error(CG_ERR_FORMAT, "x.mrc: mode %d", 3) == CG_ERR_FORMAT);
    CHECK(strcmp(cg_last_error(), "x.mrc: mode 3") == 0);
    cg_error_prefix(CG_ERR_FORMAT, "reading %s", "a.star");
    CHECK(strcmp(cg_last_error(), "reading a.star: x.mrc: mode 3") == 0);
    cg_clear_error();
    CHECK(cg_last_error()[0] == 0);
}

static void test_rng(void) {
    cg_rng a, b;
    cg_rng_init(&a, 42, 1, 7);
    cg_rng_init(&b, 42, 1, 7);
    for (int i = 0; i < 100; i++) CHECK(cg_rng_u32(&a) == cg_rng_u32(&b));
    /* different index / stream / seed give different sequences */
    cg_rng_init(&a, 42, 1, 7);
    cg_rng_init(&b, 42, 1, 8);
    CHECK(cg_rng_u64(&a) != cg_rng_u64(&b));
    cg_rng_init(&b, 42, 2, 7);
    cg_rng_init(&a, 42, 1, 7);
    CHECK(cg_rng_u64(&a) != cg_rng_u64(&b));
    /* moments of uniform and normal */
    cg_rng_init(&a, 1, 2, 3);
    double s = 0, s2 = 0, u = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = cg_rng_normal(&a);
        s += x;
        s2 += x * x;
        u += cg_rng_uniform(&a);
    }
    CHECK_CLOSE(s / n, 0.0, 0.01, 0);
    CHECK_CLOSE(s2 / n, 1.0, 0.015, 0);
    CHECK_CLOSE(u / n, 0.5, 0.005, 0);
    int64_t idx[10];
    for (int i = 0; i < 10; i++) idx[i] = i;
    cg_rng_shuffle(&a, idx, 10);
    int seen[10] = {0};
    for (int i = 0; i < 10; i++) seen[idx[i]]++;
    for (int i = 0; i < 10; i++) CHECK(seen[i] == 1);
}

static void test_arena(void) {
    cg_arena ar;
    CHECK_OK(cg_arena_init(&ar, 1000));
    void *p = cg_arena_alloc(&ar, 10), *q = cg_arena_alloc(&ar, 10);
    CHECK(p && q && ((uintptr_t)q % 64) == 0 && (char *)q - (char *)p == 64);
    CHECK(cg_arena_alloc(&ar, 5000) == NULL);
    CHECK(strstr(cg_last_error(), "arena exhausted") != NULL);
    cg_arena_reset(&ar);
    CHECK(cg_arena_alloc(&ar, 900) == p);
    cg_arena_free(&ar);
}

static void test_outfile(void) {
    const char *dir = cg_test_tmpdir("core_outfile");
    char *path = cg_path_join(dir, "a.txt");
    cg_outfile o;
    CHECK_OK(cg_outfile_open(&o, path));
    fprintf(o.fp, "first");
    CHECK_OK(cg_outfile_commit(&o));
    CHECK_OK(cg_outfile_open(&o, path));
    fprintf(o.fp, "second, aborted");
    cg_outfile_abort(&o);
    FILE *f = fopen(path, "r");
    char buf[64] = {0};
    CHECK(f && fread(buf, 1, sizeof buf - 1, f) == 5 && strcmp(buf, "first") == 0);
    if (f) fclose(f);
    char *d = cg_path_dirname(path);
    CHECK(strcmp(d, dir) == 0);
    free(d);
    free(path);
}

static void test_fft(void) {
    int dims[3] = {6, 5, 8};
    cg_fft_plan *p;
    CHECK_OK(cg_fft_plan_create(&p, 3, dims));
    size_t nr = cg_fft_real_count(p), nc = cg_fft_complex_count(p);
    CHECK(nr == 240 && nc == 6 * 5 * 5);
    float *x = malloc(nr * 4), *y = malloc(nr * 4); /* deliberately not FFTW-aligned-guaranteed */
    cg_complex *X = malloc(nc * sizeof(cg_complex));
    cg_rng r;
    cg_rng_init(&r, 1, 1, 1);
    for (size_t i = 0; i < nr; i++) x[i] = (float)cg_rng_normal(&r);
    cg_fft_forward(p, x, X);
    /* DC equals the plain sum (unnormalised forward) */
    double sum = 0;
    for (size_t i = 0; i < nr; i++) sum += x[i];
    CHECK_CLOSE(crealf(X[0]), sum, 1e-3, 1e-5);
    /* one explicit coefficient against the DFT definition: k = (1, 2, 3) */
    double re = 0, im = 0;
    for (int z = 0; z < 6; z++)
        for (int yy = 0; yy < 5; yy++)
            for (int xx = 0; xx < 8; xx++) {
                double ph = -2 * CG_PI * (1.0 * z / 6 + 2.0 * yy / 5 + 3.0 * xx / 8);
                re += x[(z * 5 + yy) * 8 + xx] * cos(ph);
                im += x[(z * 5 + yy) * 8 + xx] * sin(ph);
            }
    cg_complex c = X[(1 * 5 + 2) * 5 + 3];
    CHECK_CLOSE(crealf(c), re, 1e-3, 1e-4);
    CHECK_CLOSE(cimagf(c), im, 1e-3, 1e-4);
    cg_fft_inverse(p, X, y);
    double err = 0;
    for (size_t i = 0; i < nr; i++) err = fmax(err, fabs(y[i] - x[i]));
    CHECK_MSG(err < 1e-5, "round trip error %g", err);
    CHECK(cg_fft_freq(4, 8) == -4 && cg_fft_freq(3, 8) == 3 && cg_fft_freq(3, 5) == -2 && cg_fft_freq(2, 5) == 2);
    CHECK(cg_fft_index(-4, 8) == 4 && cg_fft_index(-2, 5) == 3);
    free(x);
    free(y);
    free(X);
    cg_fft_plan_destroy(p);
    /* circular shift moving the centre N/2 to index 0 */
    float a[2 * 3 * 4], b[2 * 3 * 4];
    for (int i = 0; i < 24; i++) a[i] = (float)i;
    cg_circshift_3d(b, a, 2, 3, 4, -1, -1, -2);
    CHECK(b[0] == a[(1 * 3 + 1) * 4 + 2]);
}

static void test_geom(void) {
    /* the matrix of CONVENTIONS.md at one set of angles, written out explicitly */
    double a = 0.3, bb = 1.1, g = -0.7, A[9];
    cg_euler_to_matrix(a, bb, g, A);
    double ca = cos(a), sa = sin(a), cb = cos(bb), sb = sin(bb), cg = cos(g), sg = sin(g);
    double want[9] = {cg * cb * ca - sg * sa, cg * cb * sa + sg * ca, -cg * sb, -sg * cb * ca - cg * sa,
                      -sg * cb * sa + cg * ca, sg * sb, sb * ca, sb * sa, cb};
    for (int i = 0; i < 9; i++) CHECK_CLOSE(A[i], want[i], 1e-15, 0);
    /* A equals (Rz(rot) Ry(tilt) Rz(psi))^T in the active sense, i.e. scipy's ZYZ transposed:
       check A^T e_z = (sb ca, sb sa, cb)^T, the viewing direction in map coordinates */
    double ez[3] = {0, 0, 1}, At[9], d[3];
    cg_mat3_transpose(A, At);
    cg_mat3_vec(At, ez, d);
    CHECK_CLOSE(d[0], sb * ca, 1e-15, 0);
    CHECK_CLOSE(d[1], sb * sa, 1e-15, 0);
    CHECK_CLOSE(d[2], cb, 1e-15, 0);
    /* Euler round trip, quaternion and axis-angle round trips */
    cg_rng r;
    cg_rng_init(&r, 5, 5, 5);
    for (int t = 0; t < 200; t++) {
        double rot, tilt, psi, B[9], rot2, tilt2, psi2, C[9], q[4], v[3];
        cg_random_euler(&r, &rot, &tilt, &psi);
        cg_euler_to_matrix(rot, tilt, psi, B);
        cg_matrix_to_euler(B, &rot2, &tilt2, &psi2);
        cg_euler_to_matrix(rot2, tilt2, psi2, C);
        CHECK(cg_rotation_angle_between(B, C) < 1e-6);
        cg_matrix_to_quat(B, q);
        cg_quat_to_matrix(q, C);
        CHECK(cg_rotation_angle_between(B, C) < 1e-6);
        cg_matrix_to_axis_angle(B, v);
        cg_axis_angle_to_matrix(v, C);
        CHECK(cg_rotation_angle_between(B, C) < 1e-6);
        /* orthonormal with determinant +1 */
        double det = B[0] * (B[4] * B[8] - B[5] * B[7]) - B[1] * (B[3] * B[8] - B[5] * B[6]) +
                     B[2] * (B[3] * B[7] - B[4] * B[6]);
        CHECK_CLOSE(det, 1.0, 1e-12, 0);
    }
    /* gimbal lock: tilt 0 and pi */
    double B[9], C[9], r1, t1, p1;
    cg_euler_to_matrix(0.4, 0, 0.3, B);
    cg_matrix_to_euler(B, &r1, &t1, &p1);
    cg_euler_to_matrix(r1, t1, p1, C);
    CHECK(cg_rotation_angle_between(B, C) < 1e-9);
    cg_euler_to_matrix(0.4, CG_PI, 0.3, B);
    cg_matrix_to_euler(B, &r1, &t1, &p1);
    cg_euler_to_matrix(r1, t1, p1, C);
    CHECK(cg_rotation_angle_between(B, C) < 1e-9);
    /* uniform rotations: mean of the viewing direction's z is 0, of z^2 is 1/3 */
    double mz = 0, mz2 = 0;
    int n = 100000;
    for (int t = 0; t < n; t++) {
        double rot, tilt, psi;
        cg_random_euler(&r, &rot, &tilt, &psi);
        mz += cos(tilt);
        mz2 += cos(tilt) * cos(tilt);
    }
    CHECK_CLOSE(mz / n, 0.0, 0.01, 0);
    CHECK_CLOSE(mz2 / n, 1.0 / 3, 0.01, 0);
}

int main(void) {
    test_status();
    test_rng();
    test_arena();
    test_outfile();
    test_fft();
    test_geom();
    return cg_test_finish();
}
