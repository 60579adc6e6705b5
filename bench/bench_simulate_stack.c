/* Benchmark/test data generator: a simulated particle stack with its RELION 3.1 STAR file and
 * the ground-truth volume, written with the project's own simulator (physics), MRC writer and
 * STAR writer (io). Stand-in for `cryogen simulate` until that command exists.
 *
 * usage: bench_simulate_stack OUTDIR D N SNR [SEED] [VOLUME.mrc]
 *   writes OUTDIR/truth.mrc (D^3; the built-in phantom, or VOLUME.mrc Fourier-resized to D),
 *   OUTDIR/particles.mrcs and OUTDIR/particles.star (image names relative to OUTDIR, halves in
 *   rlnRandomSubset alternating 1, 2), pixel size 2.0 A * 64 / D... fixed at 2.0 A for D = 64 and
 *   1.0 A for D = 128 (the same physical box). CTF on (defocus 1-2.5 um, 300 kV), shifts with
 *   sd 2 px, SNR as given (use inf for clean images). Images are generated in chunks of 1000,
 *   so memory stays small.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/image.h"
#include "cryogen/metrics.h"
#include "cryogen/mrc.h"
#include "cryogen/particles.h"
#include "cryogen/phantom.h"
#include "cryogen/simulate.h"

static int fail(const char *what, cg_status s) {
    fprintf(stderr, "bench_simulate_stack: %s: %s\n", what, cg_last_error()[0] ? cg_last_error() : cg_status_str(s));
    return 1;
}

static cg_status truth_volume(const char *path, int D, float **vol) {
    *vol = malloc(sizeof(float) * (size_t)D * D * D);
    if (!*vol) return CG_ERR_NOMEM;
    if (!path) {
        cg_phantom_volume(D, *vol);
        return CG_OK;
    }
    cg_mrc_header h;
    float *v = NULL;
    cg_status st = cg_mrc_read(path, &h, &v);
    if (!st && (h.nx != h.ny || h.nx != h.nz)) st = cg_error(CG_ERR_FORMAT, "%s is not cubic", path);
    if (!st) st = cg_volume_resample(v, h.nx, *vol, D);
    free(v);
    return st;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s OUTDIR D N SNR [SEED] [VOLUME.mrc]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int D = atoi(argv[2]);
    int64_t n = atoll(argv[3]);
    double snr = strcmp(argv[4], "inf") ? atof(argv[4]) : INFINITY;
    uint64_t seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 1;
    double px = 128.0 / D;
    cg_status st = cg_mkdir_p(dir);
    if (st) return fail("output directory", st);
    float *vol;
    st = truth_volume(argc > 6 ? argv[6] : NULL, D, &vol);
    if (st) return fail("ground-truth volume", st);
    char path[4096];
    snprintf(path, sizeof path, "%s/truth.mrc", dir);
    if ((st = cg_mrc_write(path, vol, D, D, D, (float)px, 0, "ground truth"))) return fail(path, st);
    cg_sim_config cfg = cg_sim_config_default();
    cfg.D = D;
    cfg.pixel_size_A = px;
    cfg.seed = seed;
    cfg.snr = snr;
    cfg.defocus_min_A = 10000;
    cfg.defocus_max_A = 25000;
    cfg.shift_sd_A = 2 * px;
    cg_simulator *sim;
    if ((st = cg_simulator_create(&sim, vol, &cfg))) return fail("simulator", st);
    cg_sim_particle *parts = malloc(sizeof *parts * (size_t)n);
    cg_particles *p;
    if (!parts || (st = cg_particles_alloc(&p, n, D, px))) return fail("particles", st ? st : CG_ERR_NOMEM);
    for (int64_t i = 0; i < n; i++) {
        cg_sim_draw_particle(&cfg, i, &parts[i]);
        memcpy(p->euler_rad + 3 * i, parts[i].euler_rad, sizeof parts[i].euler_rad);
        memcpy(p->shift_A + 2 * i, parts[i].origin_A, sizeof parts[i].origin_A);
        p->ctf[i] = parts[i].ctf;
        p->random_subset[i] = 1 + (int)(i % 2);
    }
    p->has_poses = p->has_shifts = p->has_ctf = 1;
    double sigma;
    if ((st = cg_simulator_noise_sigma(sim, parts, n, &sigma))) return fail("noise level", st);
    snprintf(path, sizeof path, "%s/particles.mrcs", dir);
    cg_mrc_writer *w;
    if ((st = cg_mrc_writer_open(&w, path, D, D, (float)px, "bench_simulate_stack"))) return fail(path, st);
    const int64_t chunk = 1000;
    float *img = malloc(sizeof(float) * (size_t)chunk * D * D);
    for (int64_t i0 = 0; i0 < n && !st; i0 += chunk) {
        int64_t c = n - i0 < chunk ? n - i0 : chunk;
        st = cg_simulator_run(sim, parts + i0, c, i0, sigma, NULL, img);
        if (!st) st = cg_mrc_writer_append(w, img, c);
    }
    if (st) {
        cg_mrc_writer_abort(w);
        return fail("simulation", st);
    }
    if ((st = cg_mrc_writer_commit(w))) return fail(path, st);
    snprintf(path, sizeof path, "%s/particles.star", dir);
    char comment[256];
    snprintf(comment, sizeof comment, "bench_simulate_stack D=%d N=%lld SNR=%g seed=%llu", D, (long long)n, snr,
             (unsigned long long)seed);
    if ((st = cg_particles_write_star(p, path, "particles.mrcs", comment))) return fail(path, st);
    printf("wrote %s/{truth.mrc,particles.mrcs,particles.star}: D=%d N=%lld px=%.3f A SNR=%g noise sigma %.4g\n", dir,
           D, (long long)n, px, snr, sigma);
    cg_particles_free(p);
    cg_simulator_destroy(sim);
    free(parts);
    free(img);
    free(vol);
    return 0;
}
