/* Noise and resampling: signal variance inside the particle circle against a direct
 * computation, noise variance and determinism per (seed, index), and Fourier crop / pad of
 * band-limited images and volumes against the analytic function sampled on the new grid
 * (mean-preserving scale, centre pixel D/2 kept at the centre).
 */
#include <math.h>

#include "cryogen/image.h"
#include "testutil.h"

/* band-limited test function with frequencies below 6 cycles per box, in box-fraction units
 * u = (x - D/2) / D, so it is the same physical function on any grid */
static double f2(double u, double v) {
    return 1.5 + 0.7 * cos(2 * M_PI * (3 * u + 0.1)) + 0.4 * sin(2 * M_PI * (2 * u - 5 * v)) + 0.3 * cos(2 * M_PI * 4 * v);
}
static double f3(double u, double v, double w) { return f2(u, v) + 0.5 * sin(2 * M_PI * (u + 3 * w + 0.2)); }

static void sample2(int D, float *img) {
    for (int y = 0; y < D; y++)
        for (int x = 0; x < D; x++) img[y * D + x] = (float)f2((x - D / 2) / (double)D, (y - D / 2) / (double)D);
}

static double max_err2(const float *img, int D) {
    double e = 0;
    for (int y = 0; y < D; y++)
        for (int x = 0; x < D; x++) e = fmax(e, fabs(img[y * D + x] - f2((x - D / 2) / (double)D, (y - D / 2) / (double)D)));
    return e;
}

static void test_resample2(int Din, int Dout) {
    float *in = malloc(sizeof(float) * Din * Din), *out = malloc(sizeof(float) * Dout * Dout);
    sample2(Din, in);
    cg_resampler *r;
    CHECK_OK(cg_resampler_create(&r, 2, Din, Dout));
    cg_resample(r, in, out);
    double e = max_err2(out, Dout);
    printf("resample 2D %d -> %d: max error %.2e\n", Din, Dout, e);
    /* exact for a band-limited periodic function; float FFT rounding ~1e-6 of values ~3 */
    CHECK_MSG(e < 2e-5, "%d -> %d: max error %g", Din, Dout, e);
    cg_resampler_destroy(r);
    free(in), free(out);
}

static void test_resample3(int Din, int Dout) {
    size_t ni = (size_t)Din * Din * Din, no = (size_t)Dout * Dout * Dout;
    float *in = malloc(sizeof(float) * ni), *out = malloc(sizeof(float) * no);
    for (int z = 0; z < Din; z++)
        for (int y = 0; y < Din; y++)
            for (int x = 0; x < Din; x++)
                in[((size_t)z * Din + y) * Din + x] =
                    (float)f3((x - Din / 2) / (double)Din, (y - Din / 2) / (double)Din, (z - Din / 2) / (double)Din);
    CHECK_OK(cg_volume_resample(in, Din, out, Dout));
    double e = 0;
    for (int z = 0; z < Dout; z++)
        for (int y = 0; y < Dout; y++)
            for (int x = 0; x < Dout; x++)
                e = fmax(e, fabs(out[((size_t)z * Dout + y) * Dout + x] -
                                 f3((x - Dout / 2) / (double)Dout, (y - Dout / 2) / (double)Dout, (z - Dout / 2) / (double)Dout)));
    printf("resample 3D %d -> %d: max error %.2e\n", Din, Dout, e);
    CHECK_MSG(e < 3e-5, "3D %d -> %d: max error %g", Din, Dout, e);
    free(in), free(out);
}

int main(void) {
    /* signal variance inside the circle r <= D/2 around (D/2, D/2) */
    const int D = 40;
    float *img = malloc(sizeof(float) * D * D);
    for (int i = 0; i < D * D; i++) img[i] = (float)((i * 7919) % 101) * 0.01f;
    double s = 0, s2 = 0;
    int n = 0;
    for (int y = 0; y < D; y++)
        for (int x = 0; x < D; x++)
            if ((x - 20) * (x - 20) + (y - 20) * (y - 20) <= 400) {
                s += img[y * D + x], s2 += img[y * D + x] * (double)img[y * D + x], n++;
            }
    CHECK_CLOSE(cg_image_signal_variance(img, D), s2 / n - (s / n) * (s / n), 1e-12, 1e-9);
    CHECK_CLOSE(cg_noise_sigma_for_snr(4.0, 0.25), 4.0, 0, 1e-12);
    CHECK(cg_noise_sigma_for_snr(4.0, INFINITY) == 0);

    /* noise: variance sigma^2 within sampling error (65536 samples: relative sd of the
     * variance sqrt(2/65536) = 0.55%, so 3% is > 5 sd), reproducible per (seed, index) */
    const int N = 256;
    float *a = calloc((size_t)N * N, 4), *b = calloc((size_t)N * N, 4), *c = calloc((size_t)N * N, 4);
    cg_image_add_noise(a, (size_t)N * N, 2.0, 42, 17);
    cg_image_add_noise(b, (size_t)N * N, 2.0, 42, 17);
    cg_image_add_noise(c, (size_t)N * N, 2.0, 42, 18);
    double m = 0, v = 0;
    for (int i = 0; i < N * N; i++) m += a[i], v += (double)a[i] * a[i];
    m /= N * N;
    v = v / (N * N) - m * m;
    CHECK_CLOSE(v, 4.0, 0, 0.03);
    CHECK_CLOSE(m, 0.0, 0.05, 0);
    CHECK(memcmp(a, b, sizeof(float) * N * N) == 0);
    /* shape: 4th moment 3 sigma^4 (sd of the estimate sqrt(96/65536) = 0.038 in units of
     * sigma^4: bound 0.2), tail fractions P(|z| > 2) = 0.0455 (sd 0.0008) and
     * P(|z| > 3) = 0.0027 (sd 0.0002), exercising the ziggurat's wedges and tail */
    double m4 = 0, t2 = 0, t3 = 0;
    for (int i = 0; i < N * N; i++) {
        double z = a[i] / 2.0;
        m4 += z * z * z * z, t2 += fabs(z) > 2, t3 += fabs(z) > 3;
    }
    CHECK_CLOSE(m4 / (N * N), 3.0, 0.2, 0);
    CHECK_CLOSE(t2 / (N * N), 0.0455, 0.004, 0);
    CHECK_CLOSE(t3 / (N * N), 0.0027, 0.001, 0);
    CHECK(memcmp(a, c, sizeof(float) * N * N) != 0);

    test_resample2(64, 32);
    test_resample2(64, 33);
    test_resample2(63, 24);
    test_resample2(32, 64);
    test_resample2(31, 50);
    test_resample2(32, 32);
    test_resample3(32, 16);
    test_resample3(20, 27);

    cg_resampler *r;
    CHECK_FAILS(cg_resampler_create(&r, 4, 32, 16), CG_ERR_ARG, "dimensions");
    CHECK_FAILS(cg_resampler_create(&r, 2, 32, 1), CG_ERR_ARG, "box sizes");
    free(img), free(a), free(b), free(c);
    return cg_test_finish();
}
