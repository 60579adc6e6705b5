/* Simulation driver for the CLI: ordered batches, streaming stack writers, STAR output,
 * progress and summary. See cli_simulate.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_simulate.h"
#include "cryogen/geom.h"
#include "cryogen/mrc.h"
#include "cryogen/particles.h"

char *cg_tool_provenance(char *buf, size_t size, const char *command, uint64_t seed) {
    char p[200];
    snprintf(buf, size, "%s %s", cg_provenance(p, sizeof p, CG_NO_SEED), command);
    size_t n = strlen(buf);
    if (seed != CG_NO_SEED && n < size) snprintf(buf + n, size - n, " seed=%llu", (unsigned long long)seed);
    return buf;
}

static cg_status write_star(const cg_sim_config *cfg, const cg_sim_particle *parts, int64_t n, const char *path,
                            const char *prov) {
    cg_particles *p = NULL;
    cg_status s = cg_particles_alloc(&p, n, cfg->D, cfg->pixel_size_A);
    if (s != CG_OK) return s;
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) p->euler_rad[3 * i + k] = parts[i].euler_rad[k];
        p->shift_A[2 * i] = parts[i].origin_A[0];
        p->shift_A[2 * i + 1] = parts[i].origin_A[1];
        p->ctf[i] = parts[i].ctf;
        if (!cfg->apply_ctf) p->ctf[i].defocus_u_A = p->ctf[i].defocus_v_A = p->ctf[i].defocus_angle_rad = 0;
        p->random_subset[i] = (int)(i % 2) + 1;
        p->optics_group[i] = 1;
    }
    p->has_poses = p->has_shifts = 1;
    p->has_ctf = cfg->apply_ctf;
    s = cg_particles_write_star(p, path, "particles.mrcs", prov);
    cg_particles_free(p);
    return s;
}

static void summary(const cg_sim_config *cfg, const cg_sim_particle *parts, int64_t n, double sigma, double wall_s,
                    double cpu_s, const char *dir, int no_clean) {
    double dmin = INFINITY, dmax = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double d = 0.5 * (parts[i].ctf.defocus_u_A + parts[i].ctf.defocus_v_A);
        dmin = fmin(dmin, d), dmax = fmax(dmax, d);
    }
    printf("simulated %lld images of %d x %d px at %.4g A/px into %s/\n", (long long)n, cfg->D, cfg->D,
           cfg->pixel_size_A, dir);
    if (isinf(cfg->snr)) printf("  noise: none (SNR inf)\n");
    else printf("  SNR %.4g (noise sd %.4g, signal variance in the r <= D/2 circle / noise variance)\n", cfg->snr, sigma);
    if (cfg->apply_ctf)
        printf("  CTF: %.0f kV, Cs %.3g mm, w %.3g, mean defocus %.0f to %.0f A, astigmatism %.0f A\n",
               cfg->ctf.voltage_kV, cfg->ctf.cs_mm, cfg->ctf.amp_contrast, dmin, dmax, cfg->astig_A);
    else printf("  CTF: off\n");
    printf("  time %.2f s wall, %.2f s CPU, %.0f images/s (%d threads)\n", wall_s, cpu_s, n / fmax(wall_s, 1e-9),
           cg_get_threads());
    if (no_clean) printf("  wrote %s/particles.mrcs, %s/particles.star (RELION 3.1)\n", dir, dir);
    else printf("  wrote %s/particles.mrcs, %s/clean.mrcs (noise-free), %s/particles.star (RELION 3.1)\n", dir, dir, dir);
}

cg_status cg_tool_simulate(const float *vol, const cg_sim_config *cfg, const cg_sim_particle *parts, int64_t n,
                           const cg_sim_output *o) {
    const double t0 = cg_time_s(), c0 = cg_cpu_time_s();
    const int D = cfg->D;
    char prov[256];
    cg_tool_provenance(prov, sizeof prov, o->command, cfg->seed);
    cg_simulator *sim = NULL;
    cg_mrc_writer *wn = NULL, *wc = NULL;
    float *clean = NULL, *noisy = NULL;
    char *pn = cg_path_join(o->out_dir, "particles.mrcs"), *pc = cg_path_join(o->out_dir, "clean.mrcs");
    char *ps = cg_path_join(o->out_dir, "particles.star");
    double sigma = 0;
    const int64_t batch = 256;
    cg_status s = (pn && pc && ps) ? cg_mkdir_p(o->out_dir) : CG_ERR_NOMEM;
    if (s == CG_OK)
        s = o->model ? cg_simulator_create_model(&sim, o->model, o->gauss, cfg) : cg_simulator_create(&sim, vol, cfg);
    if (s == CG_OK) s = cg_simulator_noise_sigma(sim, parts, n, &sigma);
    if (s == CG_OK) {
        clean = cg_malloc((size_t)batch * D * D, sizeof(float), "clean image batch");
        noisy = cg_malloc((size_t)batch * D * D, sizeof(float), "image batch");
        if (!clean || !noisy) s = CG_ERR_NOMEM;
    }
    if (s == CG_OK) s = cg_mrc_writer_open(&wn, pn, D, D, (float)cfg->pixel_size_A, prov);
    if (s == CG_OK && !o->no_clean) s = cg_mrc_writer_open(&wc, pc, D, D, (float)cfg->pixel_size_A, prov);
    cg_progress pr;
    cg_progress_begin(&pr, o->command, "images", n);
    for (int64_t i0 = 0; s == CG_OK && i0 < n; i0 += batch) {
        int64_t m = n - i0 < batch ? n - i0 : batch;
        s = cg_simulator_run(sim, parts + i0, m, i0, sigma, wc ? clean : NULL, noisy);
        if (s == CG_OK) s = cg_mrc_writer_append(wn, noisy, m);
        if (s == CG_OK && wc) s = cg_mrc_writer_append(wc, clean, m);
        if (s == CG_OK && cg_interrupted())
            s = cg_error(CG_ERR_INTERRUPTED, "interrupted after %lld of %lld images; no output written",
                         (long long)(i0 + m), (long long)n);
        cg_progress_update(&pr, i0 + m);
    }
    if (s == CG_OK) {
        cg_progress_end(&pr);
        /* commit frees the writer whether or not it succeeds */
        s = cg_mrc_writer_commit(wn);
        wn = NULL;
        if (s == CG_OK && wc) s = cg_mrc_writer_commit(wc);
        wc = NULL;
        if (s == CG_OK) s = write_star(cfg, parts, n, ps, prov);
    }
    cg_mrc_writer_abort(wn);
    cg_mrc_writer_abort(wc);
    if (s == CG_OK && !o->quiet_summary)
        summary(cfg, parts, n, sigma, cg_time_s() - t0, cg_cpu_time_s() - c0, o->out_dir, o->no_clean);
    cg_simulator_destroy(sim);
    free(clean), free(noisy), free(pn), free(pc), free(ps);
    return s;
}
