/* Metrics: FSC against first-principles expectations, resolution interpolation, FSC area,
 * FSC matrix, masks, statistics, resampling and the SVG writer.
 *
 * The SNR test builds A = S + N1, B = S + N2 in Fourier space with per-shell powers fixed
 * exactly (|S|^2 = P_s(s), |N1|^2 = |N2|^2 = P_n(s)) and S, N1, N2 mutually orthogonal within
 * every shell (Gram-Schmidt under the full-sphere inner product), so that
 * FSC(s) = P_s / (P_s + P_n) = SNR / (1 + SNR) holds exactly, not only in expectation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/geom.h"
#include "cryogen/image.h"
#include "cryogen/metrics.h"
#include "cryogen/plot.h"
#include "metrics/metrics_internal.h"
#include "testutil.h"

static float *noise_volume(int N, uint64_t seed) {
    float *v = malloc(sizeof(float) * N * N * N);
    cg_rng r;
    cg_rng_init(&r, seed, CG_RNG_STREAM_USER, 0);
    for (int i = 0; i < N * N * N; i++) v[i] = (float)cg_rng_normal(&r);
    return v;
}

/* Per-shell real inner product <A, B> = sum w Re(A B*) (full sphere). */
static void shell_dot(const cg_complex *A, const cg_complex *B, int N, double *out) {
    double *pa = calloc(N / 2 + 1, sizeof(double)), *pb = calloc(N / 2 + 1, sizeof(double));
    cg__shell_sums(A, B, N, out, pa, pb, NULL);
    free(pa);
    free(pb);
}

/* X[k] -= coef[shell(k)] * Y[k] or X[k] *= coef[shell(k)] (Y NULL) */
static void shell_axpy(cg_complex *X, const cg_complex *Y, int N, const double *coef) {
    for (int z = 0; z < N; z++)
        for (int y = 0; y < N; y++)
            for (int x = 0; x <= N / 2; x++) {
                size_t i = ((size_t)z * N + y) * (N / 2 + 1) + x;
                int w, s = cg__shell_index(N, z, y, x, &w);
                if (s < 0) {
                    X[i] = 0;
                    continue;
                }
                if (Y) X[i] -= (float)coef[s] * Y[i];
                else X[i] *= (float)coef[s];
            }
}

static void test_snr_exact(void) {
    const int N = 32, ns = N / 2 + 1;
    int dims[3] = {N, N, N};
    cg_fft_plan *plan;
    CHECK_OK(cg_fft_plan_create(&plan, 3, dims));
    cg_complex *F[3];
    double *d = malloc(sizeof(double) * ns), *e = malloc(sizeof(double) * ns);
    for (int k = 0; k < 3; k++) {
        float *v = noise_volume(N, 11 + k);
        F[k] = cg_fft_alloc_complex((size_t)N * N * (N / 2 + 1));
        cg_fft_forward(plan, v, F[k]);
        free(v);
        for (int j = 0; j < k; j++) { /* Gram-Schmidt against the previous (normalised) ones */
            shell_dot(F[k], F[j], N, d);
            shell_axpy(F[k], F[j], N, d);
        }
        shell_dot(F[k], F[k], N, d);
        for (int s = 0; s < ns; s++) e[s] = d[s] > 0 ? 1.0 / sqrt(d[s]) : 0;
        shell_axpy(F[k], NULL, N, e);
    }
    /* powers: P_s = snr(s), P_n = 1 (per shell, total); A = sqrt(Ps) S + N1, B = sqrt(Ps) S + N2 */
    double snr[ns];
    for (int s = 0; s < ns; s++) snr[s] = 20.0 * exp(-s / 3.0);
    float *a = cg_fft_alloc_real((size_t)N * N * N), *b = cg_fft_alloc_real((size_t)N * N * N);
    cg_complex *tmp = cg_fft_alloc_complex((size_t)N * N * (N / 2 + 1));
    for (int pass = 0; pass < 2; pass++) {
        size_t nc = (size_t)N * N * (N / 2 + 1);
        memcpy(tmp, F[0], nc * sizeof(cg_complex));
        for (int s = 0; s < ns; s++) e[s] = sqrt(snr[s]);
        shell_axpy(tmp, NULL, N, e);
        for (int s = 0; s < ns; s++) e[s] = -1.0;
        shell_axpy(tmp, F[1 + pass], N, e); /* tmp += noise */
        cg_fft_inverse(plan, tmp, pass ? b : a);
    }
    cg_fsc_result r;
    CHECK_OK(cg_fsc_compute(a, b, N, 1.0, NULL, &r));
    double worst = 0;
    for (int s = 1; s < ns; s++) worst = fmax(worst, fabs(r.fsc[s] - snr[s] / (1 + snr[s])));
    printf("exact-SNR construction: max |FSC - SNR/(1+SNR)| = %.2e over shells 1..%d\n", worst, ns - 1);
    CHECK_MSG(worst < 2e-4, "max deviation %g", worst);
    /* the 0.5 crossing is where SNR = 1: s = 3 ln 20 = 8.99; the linear interpolation between
     * shells 8 and 9 of the exact curve gives the value below */
    double f8 = snr[8] / (1 + snr[8]), f9 = snr[9] / (1 + snr[9]);
    double s05 = 8 + (f8 - 0.5) / (f8 - f9);
    CHECK_CLOSE(r.res_fsc05_A, N / s05, 1e-3, 1e-3);
    cg_fsc_result_free(&r);
    for (int k = 0; k < 3; k++) cg_fft_free(F[k]);
    cg_fft_free(a);
    cg_fft_free(b);
    cg_fft_free(tmp);
    free(d);
    free(e);
    cg_fft_plan_destroy(plan);
}

/* Statistical version: white signal (power 1) plus independent white noise of variance
 * sigma^2 gives FSC ~ 1 / (1 + sigma^2) in every shell, within a few 1/sqrt(n_shell). */
static void test_snr_statistical(void) {
    const int N = 40;
    float *s = noise_volume(N, 1), *n1 = noise_volume(N, 2), *n2 = noise_volume(N, 3);
    const double sigma = 1.5, want = 1.0 / (1.0 + sigma * sigma);
    for (int i = 0; i < N * N * N; i++) {
        n1[i] = s[i] + (float)sigma * n1[i];
        n2[i] = s[i] + (float)sigma * n2[i];
    }
    cg_fsc_result r;
    CHECK_OK(cg_fsc_compute(n1, n2, N, 1.0, NULL, &r));
    int bad = 0;
    for (int sh = 3; sh < r.nshells; sh++) {
        double tol = 5.0 * (1 - want * want) / sqrt(r.nvox[sh] / 2.0);
        if (fabs(r.fsc[sh] - want) > tol) bad++;
    }
    CHECK_MSG(bad == 0, "%d shells outside 5 sigma of FSC = %g", bad, want);
    cg_fsc_result_free(&r);
    free(s);
    free(n1);
    free(n2);
}

static void test_self_and_thresholds(void) {
    const int N = 36;
    float *v = noise_volume(N, 7);
    cg_fsc_result r;
    CHECK_OK(cg_fsc_compute(v, v, N, 2.0, NULL, &r));
    for (int s = 0; s < r.nshells; s++) CHECK_CLOSE(r.fsc[s], 1.0, 1e-6, 0);
    CHECK(r.nshells == N / 2 + 1);
    CHECK_CLOSE(r.area, 0.5, 1e-6, 0);
    CHECK(!r.crossed_05 && !r.crossed_0143);
    CHECK_CLOSE(r.res_fsc05_A, 4.0, 1e-9, 0); /* Nyquist = 2 px */
    int64_t tot = 0;
    for (int s = 0; s < r.nshells; s++) tot += r.nvox[s];
    CHECK(r.nvox[0] == 1 && r.nvox[1] == 6 + 12 + 8 - 8); /* |k| rounds to 1 for 6 + 12 (sqrt 2 = 1.41) */
    CHECK(tot <= (int64_t)N * N * N);
    cg_fsc_result_free(&r);
    free(v);

    /* hand-built curve: shells 0..8 of a box of 16 at 1.5 A */
    double c[9] = {1.0, 0.98, 0.9, 0.7, 0.55, 0.45, 0.2, 0.1, 0.05};
    int crossed;
    double s05 = cg_fsc_threshold_shell(c, 9, 0.5, &crossed);
    CHECK(crossed);
    CHECK_CLOSE(s05, 4.5, 1e-12, 0); /* 0.55 -> 0.45 halfway */
    double s0143 = cg_fsc_threshold_shell(c, 9, 0.143, &crossed);
    CHECK_CLOSE(s0143, 6 + (0.2 - 0.143) / (0.2 - 0.1), 1e-12, 0);
    CHECK_CLOSE(cg_fsc_shell_resolution_A(s05, 16, 1.5), 16 * 1.5 / 4.5, 1e-12, 0);
    double lin[9];
    for (int s = 0; s < 9; s++) lin[s] = 1.0 - s / 8.0;
    CHECK_CLOSE(cg_fsc_area(lin, 9, 16), 0.25, 1e-12, 0);
    double c2[5] = {1.0, 0.9, 0.8, 0.7, 0.6};
    cg_fsc_threshold_shell(c2, 5, 0.5, &crossed);
    CHECK(!crossed);
}

static void test_mask_stats_matrix(void) {
    const int N = 24;
    size_t n = (size_t)N * N * N;
    float *m = malloc(sizeof(float) * n);
    CHECK_OK(cg_mask_soft_sphere(m, N, 6.0, 4.0));
    CHECK(m[((size_t)12 * N + 12) * N + 12] == 1.0f);
    CHECK_CLOSE(m[((size_t)12 * N + 12) * N + 20], 0.5, 1e-6, 0); /* r = 8: middle of the edge */
    CHECK(m[0] == 0.0f);
    CHECK_FAILS(cg_mask_soft_sphere(m, N, -1, 2), CG_ERR_ARG, "radius");
    float *a = noise_volume(N, 21), *b = noise_volume(N, 22);
    /* masked FSC equals the FSC of premultiplied volumes */
    float *am = malloc(sizeof(float) * n), *bm = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) am[i] = a[i] * m[i], bm[i] = (a[i] + b[i]) * m[i];
    for (size_t i = 0; i < n; i++) b[i] += a[i];
    cg_fsc_result r1, r2;
    CHECK_OK(cg_fsc_compute(a, b, N, 1.0, m, &r1));
    CHECK_OK(cg_fsc_compute(am, bm, N, 1.0, NULL, &r2));
    for (int s = 0; s < r1.nshells; s++) CHECK_CLOSE(r1.fsc[s], r2.fsc[s], 1e-9, 0);
    /* statistics against a direct double computation */
    cg_volume_stats st;
    cg_volume_stats_compute(a, n, NULL, &st);
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s1 += a[i];
    for (size_t i = 0; i < n; i++) s2 += (a[i] - s1 / n) * (a[i] - s1 / n);
    CHECK_CLOSE(st.mean, s1 / n, 1e-12, 0);
    CHECK_CLOSE(st.std, sqrt(s2 / n), 1e-9, 1e-9);
    CHECK(st.weight == (double)n);
    double rho = cg_real_space_correlation(a, b, n, NULL); /* b = a + b': corr = 1/sqrt(2) */
    CHECK_CLOSE(rho, 1 / sqrt(2.0), 0.02, 0);
    CHECK_CLOSE(cg_real_space_correlation(a, a, n, m), 1.0, 1e-12, 0);
    /* FSC matrix: symmetric, diagonal 0.5, off-diagonal = area of the pairwise FSC */
    const float *vols[3] = {a, b, am};
    double area[9];
    CHECK_OK(cg_fsc_matrix(vols, 3, N, NULL, area));
    CHECK_CLOSE(area[0], 0.5, 1e-9, 0);
    CHECK_CLOSE(area[4], 0.5, 1e-9, 0);
    CHECK_CLOSE(area[1], area[3], 0, 0);
    cg_fsc_result r3;
    CHECK_OK(cg_fsc_compute(a, b, N, 1.0, NULL, &r3));
    CHECK_CLOSE(area[1], r3.area, 1e-9, 0);
    CHECK_FAILS(cg_fsc_matrix(vols, 0, N, NULL, area), CG_ERR_ARG, NULL);
    cg_fsc_result_free(&r1);
    cg_fsc_result_free(&r2);
    cg_fsc_result_free(&r3);
    free(m);
    free(a);
    free(b);
    free(am);
    free(bm);
}

static void test_transform(void) {
    const int N = 20;
    size_t n = (size_t)N * N * N;
    float *v = noise_volume(N, 5), *o = malloc(sizeof(float) * n), *o2 = malloc(sizeof(float) * n);
    double Id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, Rz[9] = {0, -1, 0, 1, 0, 0, 0, 0, 1}; /* +90 deg about z */
    double F[9] = {-1, 0, 0, 0, 1, 0, 0, 0, 1}, t[3] = {2, -3, 1};
    int c = N / 2;
    for (int interp = 1; interp <= 3; interp += 2) {
        CHECK_OK(cg_volume_transform(v, N, Id, NULL, interp, o));
        CHECK(memcmp(v, o, n * sizeof(float)) == 0);
        CHECK_OK(cg_volume_transform(v, N, Rz, NULL, interp, o));
        /* out(x, y) = in(Rz^T (r - c) + c): Rz^T (dx, dy) = (dy, -dx) */
        CHECK(o[((size_t)c * N + (c + 2)) * N + (c + 3)] == v[((size_t)c * N + (c - 3)) * N + (c + 2)]);
        CHECK_OK(cg_volume_transform(v, N, F, t, interp, o));
        /* out(r) = in(F (r - c - t) + c): x -> 2c + t_x - x */
        CHECK(o[((size_t)(c + 1) * N + (c + 0)) * N + (c + 5)] == v[((size_t)(c + 0) * N + (c + 3)) * N + (c - 3)]);
    }
    /* a half-voxel shift: cubic reproduces a linear ramp exactly (interior), as does trilinear */
    for (int z = 0; z < N; z++)
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) v[((size_t)z * N + y) * N + x] = (float)(0.3 * x - 0.2 * y + 0.1 * z);
    double h[3] = {0.5, 0.25, -0.5};
    CHECK_OK(cg_volume_transform(v, N, Id, h, CG_INTERP_CUBIC, o));
    CHECK_OK(cg_volume_transform(v, N, Id, h, CG_INTERP_LINEAR, o2));
    size_t k = ((size_t)9 * N + 9) * N + 9;
    CHECK_CLOSE(o[k], 0.3 * 8.5 - 0.2 * 8.75 + 0.1 * 9.5, 1e-5, 0);
    CHECK_CLOSE(o2[k], o[k], 1e-5, 0);
    CHECK_FAILS(cg_volume_transform(v, N, Id, NULL, 2, o), CG_ERR_ARG, "interpolation");
    /* Fourier resize keeps a constant and the centre of a centred blob */
    for (size_t i = 0; i < n; i++) v[i] = 2.5f;
    float *small = malloc(sizeof(float) * 12 * 12 * 12);
    CHECK_OK(cg_volume_resample(v, N, small, 12));
    CHECK_CLOSE(small[777], 2.5, 1e-5, 0);
    for (int z = 0; z < N; z++)
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++)
                v[((size_t)z * N + y) * N + x] = (float)exp(-((x - c) * (x - c) + (y - c) * (y - c) + (z - c) * (z - c)) / 8.0);
    CHECK_OK(cg_volume_resample(v, N, small, 12));
    size_t imax = 0;
    for (size_t i = 0; i < 12 * 12 * 12; i++)
        if (small[i] > small[imax]) imax = i;
    CHECK(imax == ((size_t)6 * 12 + 6) * 12 + 6);
    free(small);
    free(v);
    free(o);
    free(o2);
}

static void test_svg(void) {
    double t[32];
    int n = cg_plot_nice_ticks(0, 0.5, 8, t, 32);
    CHECK(n == 6 && t[0] == 0 && fabs(t[5] - 0.5) < 1e-12);
    char col[8];
    cg_plot_viridis(0, col);
    CHECK(!strcmp(col, "#440154"));
    cg_plot_viridis(1, col);
    CHECK(!strcmp(col, "#fde725"));
    double x[5] = {0, 0.1, 0.2, 0.3, 0.4}, y[5] = {1, 0.9, NAN, 0.3, 0.1};
    cg_plot_series s = {.label = "FSC <&>", .x = x, .y = y, .n = 5};
    cg_plot_hline hl = {0.143, "0.143", NULL};
    cg_line_plot p = {.title = "t", .xlabel = "1/A", .ylabel = "FSC", .series = &s, .nseries = 1, .hlines = &hl,
                      .nhlines = 1, .x2_kind = CG_PLOT_X2_RECIPROCAL, .x2label = "A", .ymin = 0, .ymax = 1};
    const char *dir = cg_test_tmpdir("metrics_svg");
    char path[1200];
    snprintf(path, sizeof path, "%s/plot.svg", dir);
    CHECK_OK(cg_plot_line_save(path, &p));
    FILE *f = fopen(path, "r");
    char buf[20000];
    size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[len] = 0;
    if (f) fclose(f);
    CHECK(strstr(buf, "<svg") && strstr(buf, "</svg>"));
    CHECK(strstr(buf, "FSC &lt;&amp;&gt;") != NULL);
    int npoly = 0;
    for (char *q = buf; (q = strstr(q, "<polyline")); q++) npoly++;
    CHECK(npoly == 2); /* the NaN splits the series */
    double vals[4] = {0.5, 0.2, 0.2, NAN};
    cg_heatmap h = {.title = "m", .values = vals, .nrows = 2, .ncols = 2, .annotate = 1, .colorbar_label = "area"};
    snprintf(path, sizeof path, "%s/heat.svg", dir);
    CHECK_OK(cg_plot_heatmap_save(path, &h));
    CHECK(cg_file_exists(path));
}

int main(void) {
    test_self_and_thresholds();
    test_snr_exact();
    test_snr_statistical();
    test_mask_stats_matrix();
    test_transform();
    test_svg();
    return cg_test_finish();
}
