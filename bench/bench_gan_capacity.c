/* Capacity of the Multi-CryoGAN generator (cg_gan_mgen): how well can the network represent
 * given volumes at all, with no adversary, no simulator and no noise? It is fitted directly
 * (supervised) to K target maps, G(z_k) ~ V_k for K fixed latents z_k ~ N(0, I), by Adam on the
 * mean squared voxel error, and the FSC of each G(z_k) against V_k (same frame, no alignment)
 * is reported as training goes. The resolution it reaches bounds what the GAN can reach with
 * this architecture (bench/gan.md).
 *
 * usage: bench_gan_capacity MAP.mrc [MAP.mrc ...] [--channels C] [--scale S] [--steps N]
 *                           [--lr LR] [--seed SEED]     (defaults 32, 0.1, 2000, 1e-3, 1)
 * Prints one line per 250 steps: step, loss, and per map FSC area and FSC 0.5 resolution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/gan.h"
#include "cryogen/metrics.h"
#include "cryogen/mrc.h"

int main(int argc, char **argv) {
    enum { MAXK = 8 };
    const char *maps[MAXK];
    int K = 0, C = 32, steps = 2000;
    double scale = 0.1, lr = 1e-3;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--channels") && i + 1 < argc) C = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc) scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--lr") && i + 1 < argc) lr = atof(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && K < MAXK) maps[K++] = argv[i];
        else {
            fprintf(stderr, "usage: bench_gan_capacity MAP.mrc [MAP.mrc ...] [--channels C] [--scale S] [--steps N] "
                            "[--lr LR] [--seed SEED]\n");
            return 2;
        }
    }
    if (K < 1) return fprintf(stderr, "bench_gan_capacity: give 1 to %d maps\n", MAXK), 2;
    float *V[MAXK];
    cg_mrc_header h0;
    int D = 0;
    for (int k = 0; k < K; k++) {
        cg_mrc_header h;
        if (cg_mrc_read(maps[k], &h, &V[k])) return fprintf(stderr, "%s\n", cg_last_error()), 1;
        if (k == 0) h0 = h, D = h.nx;
        if (h.nx != D || h.ny != D || h.nz != D)
            return fprintf(stderr, "bench_gan_capacity: %s is not a %d^3 map\n", maps[k], D), 1;
    }
    const double px = h0.pixel_size_A[0] > 0 ? h0.pixel_size_A[0] : 1;
    const size_t D3 = (size_t)D * D * D;
    cg_gan_mgen_config mc = {.D = D, .zdim = 8, .channels = C, .slope = 0.2f, .scale = (float)scale};
    cg_gan_mgen *m;
    if (cg_gan_mgen_create(&m, &mc, K, seed)) return fprintf(stderr, "%s\n", cg_last_error()), 1;
    cg_nn_params *P = cg_gan_mgen_params(m);
    float *z = malloc(sizeof(float) * K * mc.zdim), *out = malloc(sizeof(float) * K * D3),
          *dv = malloc(sizeof(float) * K * D3);
    cg_rng r;
    cg_rng_init(&r, seed, CG_RNG_STREAM_USER + 99, 0);
    for (int i = 0; i < K * mc.zdim; i++) z[i] = (float)cg_rng_normal(&r);
    cg_nn_adam_config ac = cg_nn_adam_defaults();
    printf("# generator channels %d (%lld parameters), scale %g, %d maps of %d^3 at %.3f A/px, Adam lr %g\n", C,
           (long long)P->count, scale, K, D, px, lr);
    printf("# step\tmse\tper map: FSC area, FSC 0.5 (A)\n");
    double t0 = cg_time_s();
    for (int s = 0; s <= steps; s++) {
        if (cg_gan_mgen_forward(m, z, K, out)) return fprintf(stderr, "%s\n", cg_last_error()), 1;
        double mse = 0;
        for (int k = 0; k < K; k++)
            for (size_t i = 0; i < D3; i++) {
                double e = out[k * D3 + i] - V[k][i];
                mse += e * e, dv[k * D3 + i] = (float)(2 * e / ((double)K * D3));
            }
        mse /= (double)K * D3;
        if (s % 250 == 0 || s == steps) {
            printf("%d\t%.4g", s, mse);
            for (int k = 0; k < K; k++) {
                cg_fsc_result f;
                memset(&f, 0, sizeof f);
                if (cg_fsc_compute(V[k], out + k * D3, D, px, NULL, &f)) return fprintf(stderr, "%s\n", cg_last_error()), 1;
                printf("\t%.4f, %.1f A", f.area, f.res_fsc05_A);
                cg_fsc_result_free(&f);
            }
            printf("\t(%.0f s)\n", cg_time_s() - t0);
            fflush(stdout);
        }
        if (s == steps) break;
        cg_nn_params_zero_grad(P);
        if (cg_gan_mgen_backward(m, dv, P->grad)) return fprintf(stderr, "%s\n", cg_last_error()), 1;
        cg_nn_adam_step(P, &ac, (float)lr);
    }
    for (int k = 0; k < K; k++) free(V[k]);
    free(z), free(out), free(dv);
    cg_gan_mgen_destroy(m);
    return 0;
}
