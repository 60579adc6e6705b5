/* Per-image cost of the simulation steps at one box size (single thread): slice, shift, CTF
 * fill, inverse FFT, noise, and the whole simulator. Usage: bench_physics [D] [n]. */
#include <stdio.h>
#include <stdlib.h>

#include "cryogen/geom.h"
#include "cryogen/image.h"
#include "cryogen/phantom.h"
#include "cryogen/project.h"
#include "cryogen/simulate.h"

int main(int argc, char **argv) {
    int D = argc > 1 ? atoi(argv[1]) : 128, n = argc > 2 ? atoi(argv[2]) : 2000;
    float *vol = malloc(sizeof(float) * D * D * D), *img = malloc(sizeof(float) * D * D);
    cg_phantom_volume(D, vol);
    double t = cg_cpu_time_s();
    cg_projector *P;
    cg_projector_create(&P, vol, D, 2);
    printf("D=%d: projector create %.3f s\n", D, cg_cpu_time_s() - t);
    cg_image_fft *w;
    cg_image_fft_create(&w, D);
    cg_complex *spec = cg_fft_alloc_complex((size_t)D * (D / 2 + 1));
    float *ctf = cg_fft_alloc_real((size_t)D * (D / 2 + 1));
    cg_rng r;
    cg_rng_init(&r, 1, 1, 0);
    double ts = 0, tsh = 0, tc = 0, tf = 0, tn = 0;
    cg_ctf_params cp = cg_ctf_params_default();
    cp.defocus_u_A = 15000, cp.defocus_v_A = 14000;
    for (int i = 0; i < n; i++) {
        double a, b, c, A[9];
        cg_random_euler(&r, &a, &b, &c);
        cg_euler_to_matrix(a, b, c, A);
        double t0 = cg_cpu_time_s();
        cg_projector_slice(P, A, spec);
        double t1 = cg_cpu_time_s();
        cg_spectrum_shift(spec, D, 1.3, -2.2);
        double t2 = cg_cpu_time_s();
        cg_ctf cc;
        cg_ctf_init(&cc, &cp);
        cg_ctf_fill_half(&cc, D, 1.0, ctf);
        cg_spectrum_mul_real(spec, D, ctf);
        double t3 = cg_cpu_time_s();
        cg_spectrum_to_image(w, spec, img);
        double t4 = cg_cpu_time_s();
        cg_image_add_noise(img, (size_t)D * D, 1.0, 1, i);
        double t5 = cg_cpu_time_s();
        ts += t1 - t0, tsh += t2 - t1, tc += t3 - t2, tf += t4 - t3, tn += t5 - t4;
    }
    printf("per image (us): slice %.1f  shift %.1f  ctf %.1f  ifft %.1f  noise %.1f  total %.1f\n", 1e6 * ts / n,
           1e6 * tsh / n, 1e6 * tc / n, 1e6 * tf / n, 1e6 * tn / n, 1e6 * (ts + tsh + tc + tf + tn) / n);
    return 0;
}
