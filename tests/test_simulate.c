/* Simulator (library): identical images for 1 and 2 threads, measured SNR close to the request,
 * the clean image equals an independent composition of the documented steps (slice, shift by
 * -origin, CTF, inverse FFT), and particle draws follow their distributions.
 */
#include <math.h>

#include "cryogen/geom.h"
#include "cryogen/image.h"
#include "cryogen/phantom.h"
#include "cryogen/project.h"
#include "cryogen/simulate.h"
#include "testutil.h"

int main(void) {
    const int D = 48;
    const int64_t n = 400;
    float *vol = malloc(sizeof(float) * D * D * D);
    cg_phantom_volume(D, vol);
    cg_sim_config c = cg_sim_config_default();
    c.D = D;
    c.pixel_size_A = 2.5;
    c.seed = 99;
    c.snr = 0.5;
    c.astig_A = 400;
    c.shift_sd_A = 5;
    CHECK_OK(cg_sim_config_check(&c));
    cg_sim_particle *p = malloc(sizeof *p * n);
    for (int64_t i = 0; i < n; i++) cg_sim_draw_particle(&c, i, &p[i]);

    size_t n2 = (size_t)D * D;
    float *clean1 = malloc(4 * n2 * n), *noisy1 = malloc(4 * n2 * n), *clean2 = malloc(4 * n2 * n), *noisy2 = malloc(4 * n2 * n);
    double sigma1 = 0, sigma2 = 0;
    cg_simulator *s;
    cg_set_threads(1);
    CHECK_OK(cg_simulator_create(&s, vol, &c));
    CHECK_OK(cg_simulator_noise_sigma(s, p, n, &sigma1));
    CHECK_OK(cg_simulator_run(s, p, n, 0, sigma1, clean1, noisy1));
    cg_simulator_destroy(s);
    cg_set_threads(2);
    CHECK_OK(cg_simulator_create(&s, vol, &c));
    CHECK_OK(cg_simulator_noise_sigma(s, p, n, &sigma2));
    /* in two uneven chunks, as the CLI's batches do: the noise is keyed by the global index */
    CHECK_OK(cg_simulator_run(s, p, 150, 0, sigma2, clean2, noisy2));
    CHECK_OK(cg_simulator_run(s, p + 150, n - 150, 150, sigma2, clean2 + 150 * n2, noisy2 + 150 * n2));
    CHECK(sigma1 == sigma2);
    CHECK(memcmp(clean1, clean2, 4 * n2 * n) == 0);
    CHECK(memcmp(noisy1, noisy2, 4 * n2 * n) == 0);

    /* measured SNR: mean signal variance inside the circle over ALL particles / variance of
     * noisy - clean. The noise level comes from a 256-particle pilot, so the ratio varies by the
     * spread of the per-particle signal variance / sqrt(256) (a few %), plus 0.2% sampling error
     * of the noise variance (400 * 2304 samples): 10% is a safe bound. */
    double sv = 0, nv = 0;
    for (int64_t i = 0; i < n; i++) {
        sv += cg_image_signal_variance(clean1 + i * n2, D);
        for (size_t k = 0; k < n2; k++) {
            double d = noisy1[i * n2 + k] - clean1[i * n2 + k];
            nv += d * d;
        }
    }
    double snr = (sv / n) / (nv / (n * n2));
    printf("requested SNR %.3f, measured %.4f (noise sd %.4g)\n", c.snr, snr, sigma1);
    CHECK_CLOSE(snr, c.snr, 0, 0.10);

    /* clean image 7 = composition of the documented steps, done here by hand */
    cg_projector *P;
    cg_image_fft *w;
    CHECK_OK(cg_projector_create(&P, vol, D, 2));
    CHECK_OK(cg_image_fft_create(&w, D));
    cg_complex *spec = cg_fft_alloc_complex((size_t)D * (D / 2 + 1));
    float *ctf = malloc(sizeof(float) * D * (D / 2 + 1)), *img = malloc(4 * n2);
    double A[9];
    cg_euler_to_matrix(p[7].euler_rad[0], p[7].euler_rad[1], p[7].euler_rad[2], A);
    cg_projector_slice(P, A, spec);
    cg_spectrum_shift(spec, D, -p[7].origin_A[0] / c.pixel_size_A, -p[7].origin_A[1] / c.pixel_size_A);
    cg_ctf cc;
    CHECK_OK(cg_ctf_init(&cc, &p[7].ctf));
    cg_ctf_fill_half(&cc, D, c.pixel_size_A, ctf);
    cg_spectrum_mul_real(spec, D, ctf);
    cg_spectrum_to_image(w, spec, img);
    CHECK(memcmp(img, clean1 + 7 * n2, 4 * n2) == 0);

    /* draws: tilt = acos(u) => mean cos(tilt) ~ 0; defocus within range; astigmatism exact;
     * origin sd ~ shift_sd_A (400 draws: 3.5% sd of the sd estimate, 15% bound) */
    double mc = 0, so = 0;
    int inrange = 1;
    for (int64_t i = 0; i < n; i++) {
        mc += cos(p[i].euler_rad[1]);
        so += p[i].origin_A[0] * p[i].origin_A[0] + p[i].origin_A[1] * p[i].origin_A[1];
        double d = 0.5 * (p[i].ctf.defocus_u_A + p[i].ctf.defocus_v_A);
        inrange &= d >= c.defocus_min_A && d <= c.defocus_max_A && fabs(p[i].ctf.defocus_u_A - p[i].ctf.defocus_v_A - 400) < 1e-6;
        inrange &= p[i].ctf.defocus_angle_rad >= 0 && p[i].ctf.defocus_angle_rad < CG_PI;
    }
    CHECK_CLOSE(mc / n, 0, 0.1, 0); /* sd of the mean 1/sqrt(3 * 400) = 0.03 */
    CHECK_CLOSE(sqrt(so / (2 * n)), 5.0, 0, 0.15);
    CHECK(inrange);

    cg_sim_config bad = c;
    bad.snr = 0;
    CHECK_FAILS(cg_sim_config_check(&bad), CG_ERR_ARG, "SNR");
    bad = c;
    bad.defocus_min_A = 3e4;
    CHECK_FAILS(cg_sim_config_check(&bad), CG_ERR_ARG, "defocus");

    cg_projector_destroy(P);
    cg_image_fft_destroy(w);
    cg_fft_free(spec);
    free(ctf), free(img), free(vol), free(p), free(clean1), free(noisy1), free(clean2), free(noisy2);
    return cg_test_finish();
}
