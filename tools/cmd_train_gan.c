/* `cryogen train-gan PARTICLES.star --out DIR`: CryoGAN reconstruction (include/cryogen/gan.h;
 * Gupta et al., "CryoGAN", IEEE TCI 2021; WGAN-GP, Gulrajani et al. 2017). No poses are read:
 * the simulator draws uniform orientations and takes the CTF and origin of random particles of
 * the STAR file; the noise level is estimated from the images' background.
 * Outputs in DIR (each written atomically): vol_NNN.mrc after every epoch, volume.mrc at the
 * end (pixel size of the data), generator.ckpt + critic.ckpt (resume with --load DIR),
 * train_log.tsv (one line per generator step of this invocation), run.json (provenance,
 * options, noise level, timings). An epoch is ceil(n / batch) generator steps. With --ema every
 * volume written comes from the moving average of the generator's weights (cg_gan_swap_ema).
 * All particle images are held in memory (n D^2 floats); use --max-particles to cap.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_maps.h"
#include "cryogen/gan.h"
#include "cryogen/metrics.h"
#include "cryogen/mrc.h"
#include "cryogen/particles.h"
#include "cryogen/plot.h"

typedef struct {
    const char *out, *load, *init_gen, *latent;
    double gen_scale, diversity, ema, epochs, lowpass_start_A, lowpass_ramp, noise_sd, lr_gen, lr_critic, gp_weight;
    int64_t steps, max_particles, ramp_steps;
    int batch, n_critic, channels, no_ctf, critic_warmup;
    int manifold, zdim, gen_channels, n_vol, path_points, clusters;
    uint64_t seed;
} tg_opts;

typedef struct {
    float *images;
    cg_particles *p;
    cg_gan_data data;
} tg_data;

static cg_status load_data(const char *star, const tg_opts *o, tg_data *d) {
    cg_status st = cg_particles_read(star, &d->p);
    if (!st) st = cg_particles_open_stacks(d->p);
    if (st) return st;
    const cg_particles *p = d->p;
    const int64_t n = o->max_particles > 0 && o->max_particles < p->n ? o->max_particles : p->n;
    const int D = p->image_size;
    const size_t DD = (size_t)D * D;
    d->images = cg_malloc((size_t)n * DD, sizeof(float), "particle images (all held in memory)");
    if (!d->images) return CG_ERR_NOMEM;
    cg_status sts = CG_OK;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        cg_status s = cg_particles_read_image(p, i, d->images + (size_t)i * DD);
        if (s) {
#pragma omp critical
            if (!sts) sts = s;
        }
    }
    if (sts) return sts;
    if (!p->has_ctf && !o->no_ctf) CG_WARN("%s has no CTF parameters: simulating without a CTF", star);
    d->data = (cg_gan_data){.n = n, .D = D, .pixel_size_A = p->pixel_size_A, .images = d->images,
                            .ctf = p->has_ctf && !o->no_ctf ? p->ctf : NULL,
                            .origin_A = p->has_shifts ? p->shift_A : NULL};
    return CG_OK;
}

static cg_status write_map(const char *dir, const char *name, const float *vol, const cg_gan *g, const tg_data *d,
                           double a) {
    char *path = cg_path_join(dir, name), label[80];
    if (!path) return cg_error(CG_ERR_NOMEM, "path");
    if (a >= 0) snprintf(label, sizeof label, "cryogen train-gan step %lld latent a=%.4f", (long long)cg_gan_gen_step(g), a);
    else snprintf(label, sizeof label, "cryogen train-gan step %lld", (long long)cg_gan_gen_step(g));
    const int D = d->data.D;
    cg_status st = cg_mrc_write(path, vol, D, D, D, (float)d->data.pixel_size_A, 0, label);
    free(path);
    return st;
}

static cg_status write_volume(const char *dir, const char *name, const cg_gan *g, const tg_data *d) {
    return write_map(dir, name, cg_gan_volume((cg_gan *)g), g, d, -1);
}

/* Multi-CryoGAN per-epoch snapshot: the volumes at a = 0, 0.5, 1 as PREFIX_aA.AA.mrc. */
static cg_status write_snapshot(const char *dir, const char *prefix, cg_gan *g, const tg_data *d) {
    const int zd = cg_gan_get_config(g)->gen.zdim;
    const size_t D3 = (size_t)d->data.D * d->data.D * d->data.D;
    float *z = cg_malloc((size_t)zd, sizeof(float), "latent"), *v = cg_malloc(D3, sizeof(float), "volume");
    cg_status st = z && v ? CG_OK : CG_ERR_NOMEM;
    for (int k = 0; k < 3 && !st; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s_a%.2f.mrc", prefix, 0.5 * k);
        cg_gan_path_latent(g, 0.5 * k, z);
        st = cg_gan_generate(g, z, 1, v);
        if (!st) st = write_map(dir, name, v, g, d, 0.5 * k);
    }
    free(z), free(v);
    return st;
}

/* Multi-CryoGAN outputs: DIR/path/vol_aA.AAAA.mrc at a = i/(n-1), the FSC cross-conformation matrix
 * (fsc_matrix.tsv, .svg), the clusters of the path (clusters.json) and DIR/index.html. */
static cg_status write_path(const char *dir, cg_gan *g, const tg_data *d, const tg_opts *o) {
    const int n = o->path_points, K = o->clusters, zd = cg_gan_get_config(g)->gen.zdim, D = d->data.D;
    const size_t D3 = (size_t)D * D * D;
    float *z = cg_malloc((size_t)zd, sizeof(float), "latent"), *vols = cg_malloc((size_t)n * D3, sizeof(float), "path");
    const float **vp = cg_malloc((size_t)n, sizeof *vp, "path");
    double *S = cg_malloc((size_t)n * n, sizeof(double), "FSC matrix");
    char **labels = cg_calloc((size_t)n, sizeof *labels, "labels");
    char *pdir = cg_path_join(dir, "path"), prov[256];
    int cut[8];
    double prop[8], score = 0;
    cg_status st = z && vols && vp && S && labels && pdir ? CG_OK : CG_ERR_NOMEM;
    if (!st) st = cg_mkdir_p(pdir);
    for (int i = 0; i < n && !st; i++) {
        const double a = (double)i / (n - 1);
        char name[64];
        snprintf(name, sizeof name, "vol_a%.4f.mrc", a);
        cg_gan_path_latent(g, a, z);
        vp[i] = vols + (size_t)i * D3;
        st = cg_gan_generate(g, z, 1, vols + (size_t)i * D3);
        if (!st) st = write_map(pdir, name, vols + (size_t)i * D3, g, d, a);
        if (!st && !(labels[i] = cg_malloc(16, 1, "label"))) st = CG_ERR_NOMEM;
        if (!st) snprintf(labels[i], 16, "%.2f", a);
    }
    if (!st) st = cg_fsc_matrix(vp, n, D, NULL, S);
    if (!st) st = cg_gan_path_clusters(S, n, K, cut, prop, &score);
    char *pt = NULL, *pj = NULL, *ps = NULL, *ph = NULL;
    if (!st && (!(pt = cg_path_join(dir, "fsc_matrix.tsv")) || !(pj = cg_path_join(dir, "clusters.json")) ||
                !(ps = cg_path_join(dir, "fsc_matrix.svg")) || !(ph = cg_path_join(dir, "index.html"))))
        st = cg_error(CG_ERR_NOMEM, "path");
    cg_outfile f;
    if (!st && !(st = cg_outfile_open(&f, pt))) {
        fprintf(f.fp, "# FSC area between the generated volumes at latent a (rows, columns); %s\na",
                cg_provenance(prov, sizeof prov, o->seed));
        for (int j = 0; j < n; j++) fprintf(f.fp, "\t%.4f", (double)j / (n - 1));
        fputc('\n', f.fp);
        for (int i = 0; i < n; i++) {
            fprintf(f.fp, "%.4f", (double)i / (n - 1));
            for (int j = 0; j < n; j++) fprintf(f.fp, "\t%.6f", S[(size_t)i * n + j]);
            fputc('\n', f.fp);
        }
        st = cg_outfile_commit(&f);
    }
    if (!st) {
        cg_heatmap h = {.title = "FSC cross-conformation matrix (FSC area) along the latent path",
                        .xlabel = "a", .ylabel = "a", .colorbar_label = "FSC area (cycles/px)", .values = S,
                        .nrows = n, .ncols = n, .row_labels = (const char *const *)labels,
                        .col_labels = (const char *const *)labels};
        st = cg_plot_heatmap_save(ps, &h);
    }
    if (!st && !(st = cg_outfile_open(&f, pj))) {
        fprintf(f.fp, "{\n  \"provenance\": ");
        cli_json_str(f.fp, cg_provenance(prov, sizeof prov, o->seed));
        fprintf(f.fp, ",\n  \"latent\": \"%s\",\n  \"path_points\": %d,\n  \"clusters\": %d,\n  \"contrast\": %.6f,\n"
                      "  \"first_point\": [0", o->latent, n, K, score);
        for (int k = 0; k < K - 1; k++) fprintf(f.fp, ", %d", cut[k]);
        fprintf(f.fp, "],\n  \"proportions\": [");
        for (int k = 0; k < K; k++) fprintf(f.fp, "%s%.4f", k ? ", " : "", prop[k]);
        fprintf(f.fp, "]\n}\n");
        st = cg_outfile_commit(&f);
    }
    if (!st && !(st = cg_outfile_open(&f, ph))) {
        fprintf(f.fp, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>cryogen train-gan --manifold</title>\n"
                      "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}td,th{padding:2px 10px}</style>"
                      "</head><body>\n<h1>Multi-CryoGAN: volumes along the latent path</h1>\n<p>%s. Step %lld, "
                      "latent %s (zdim %d), z = (1 - a) z0 + a z1 for the path.</p>\n",
                cg_provenance(prov, sizeof prov, o->seed), (long long)cg_gan_gen_step(g), o->latent, zd);
        fprintf(f.fp, "<h2>FSC cross-conformation matrix</h2>\n<img src=\"fsc_matrix.svg\"><p>Values: "
                      "<a href=\"fsc_matrix.tsv\">fsc_matrix.tsv</a>.</p>\n<h2>Clusters of the path (%d)</h2>\n"
                      "<p>Contiguous blocks of the matrix maximising mean within-block minus mean between-block FSC "
                      "area (contrast %.4f); proportion = share of the latent interval [0, 1]. "
                      "<a href=\"clusters.json\">clusters.json</a></p>\n<table><tr><th>cluster</th><th>a from</th>"
                      "<th>a to</th><th>proportion</th></tr>\n", K, score);
        double lo = 0;
        for (int k = 0; k < K; k++) {
            fprintf(f.fp, "<tr><td>%d</td><td>%.3f</td><td>%.3f</td><td>%.3f</td></tr>\n", k, lo, lo + prop[k], prop[k]);
            lo += prop[k];
        }
        fprintf(f.fp, "</table>\n<h2>Volumes</h2><ul>\n");
        for (int i = 0; i < n; i++)
            fprintf(f.fp, "<li><a href=\"path/vol_a%.4f.mrc\">path/vol_a%.4f.mrc</a></li>\n", (double)i / (n - 1),
                    (double)i / (n - 1));
        fprintf(f.fp, "</ul>\n</body></html>\n");
        st = cg_outfile_commit(&f);
    }
    if (!st) {
        printf("path of %d volumes in %s/path; clusters (%d):", n, dir, K);
        for (int k = 0; k < K; k++) printf(" %.3f", prop[k]);
        printf("; open %s/index.html\n", dir);
    }
    for (int i = 0; labels && i < n; i++) free(labels[i]);
    free(labels), free(z), free(vols), free(vp), free(S), free(pdir), free(pt), free(pj), free(ps), free(ph);
    return st;
}

static cg_status write_log(const char *dir, const cg_gan_stats *log, int64_t n) {
    cg_outfile f;
    cg_status st = cg_outfile_open_in(&f, dir, "train_log.tsv");
    if (st) return st;
    fprintf(f.fp, "step\tw_estimate\tgradient_penalty\tgenerator_loss\tlowpass_A\tdiversity_rho\n");
    for (int64_t i = 0; i < n; i++)
        fprintf(f.fp, "%lld\t%.6g\t%.6g\t%.6g\t%.3f\t%.6g\n", (long long)log[i].gen_step, log[i].w_estimate, log[i].gp,
                log[i].gen_loss, log[i].lowpass_A, log[i].diversity);
    return cg_outfile_commit(&f);
}

static cg_status write_run_json(const char *dir, const char *star, const tg_opts *o, const cg_gan *g,
                                const tg_data *d, int64_t first, int64_t total, double wall, double cpu) {
    char prov[256];
    cg_outfile f;
    cg_status st = cg_outfile_open_in(&f, dir, "run.json");
    if (st) return st;
    const cg_gan_config *c = cg_gan_get_config(g);
    const int64_t imgs = (total - first) * (int64_t)c->batch * (2 * c->n_critic + 1);
    fprintf(f.fp, "{\n  \"command\": \"train-gan\",\n  \"provenance\": ");
    cli_json_str(f.fp, cg_provenance(prov, sizeof prov, c->seed));
    fprintf(f.fp, ",\n  \"particles\": ");
    cli_json_str(f.fp, star);
    fprintf(f.fp, ",\n  \"particles_used\": %lld,\n  \"box\": %d,\n  \"pixel_size_A\": %.6g,\n  \"ctf\": %s,\n"
                  "  \"shifts\": %s,\n  \"noise_sd\": %.6g,\n  \"noise_sd_estimated\": %s,\n",
            (long long)d->data.n, d->data.D, d->data.pixel_size_A, d->data.ctf ? "true" : "false",
            d->data.origin_A ? "true" : "false", cg_gan_noise_sd(g), o->noise_sd < 0 ? "true" : "false");
    fprintf(f.fp, "  \"batch\": %d,\n  \"n_critic\": %d,\n  \"gp_weight\": %g,\n  \"lr_gen\": %g,\n  \"lr_critic\": %g,\n"
                  "  \"adam_betas\": [%g, %g],\n  \"critic_channels\": %d,\n  \"lowpass_start_A\": %g,\n"
                  "  \"lowpass_ramp_steps\": %lld,\n",
            c->batch, c->n_critic, c->gp_weight, c->lr_gen, c->lr_critic, c->beta1, c->beta2, c->critic.channels,
            c->lowpass_start_A, (long long)c->ramp_steps);
    fprintf(f.fp, "  \"ema_decay\": %g,\n", c->ema_decay);
    if (c->manifold)
        fprintf(f.fp, "  \"manifold\": {\"latent\": \"%s\", \"zdim\": %d, \"channels\": %d, \"volumes_per_step\": %d, "
                      "\"scale\": %g, \"diversity_weight\": %g, \"path_points\": %d, \"clusters\": %d},\n",
                o->latent, c->gen.zdim, c->gen.channels, c->n_vol, c->gen.scale, c->diversity_weight, o->path_points,
                o->clusters);
    fprintf(f.fp, "  \"resumed_from\": ");
    cli_json_str_or_null(f.fp, o->load);
    fputs(",\n  \"generator_initialised_from\": ", f.fp);
    cli_json_str_or_null(f.fp, o->init_gen);
    fprintf(f.fp, ",\n  \"critic_warmup_steps\": %d", o->critic_warmup);
    fprintf(f.fp, ",\n  \"first_step\": %lld,\n  \"last_step\": %lld,\n  \"wall_seconds\": %.2f,\n"
                  "  \"cpu_seconds\": %.2f,\n  \"images_per_second\": %.1f\n}\n",
            (long long)first, (long long)total, wall, cpu, wall > 0 ? imgs / wall : 0.0);
    return cg_outfile_commit(&f);
}

/* The per-epoch snapshot (final = 0, `name`) or the final outputs (path or volume.mrc), read
 * from the EMA of the generator's weights when --ema is on. */
static cg_status write_outputs(cg_gan *g, const tg_opts *o, const tg_data *d, const char *name, int final) {
    cg_status st = o->ema > 0 ? cg_gan_swap_ema(g) : CG_OK;
    if (st) return st;
    if (final) st = o->manifold ? write_path(o->out, g, d, o) : write_volume(o->out, name, g, d);
    else st = o->manifold ? write_snapshot(o->out, name, g, d) : write_volume(o->out, name, g, d);
    cg_status sb = o->ema > 0 ? cg_gan_swap_ema(g) : CG_OK;
    return st ? st : sb;
}

static cg_status train(const char *star, const tg_opts *o) {
    tg_data d;
    memset(&d, 0, sizeof d);
    cg_gan *g = NULL;
    cg_gan_stats *log = NULL;
    cg_status st = load_data(star, o, &d);
    const int64_t n = d.data.n;
    const int64_t per_epoch = n > 0 ? (n + o->batch - 1) / o->batch : 1;
    const int64_t total = o->steps > 0 ? o->steps : (int64_t)ceil(o->epochs * per_epoch);
    if (!st) {
        cg_gan_config cfg = cg_gan_config_default();
        cfg.batch = o->batch, cfg.n_critic = o->n_critic, cfg.gp_weight = (float)o->gp_weight;
        cfg.lr_gen = (float)o->lr_gen, cfg.lr_critic = (float)o->lr_critic, cfg.seed = o->seed;
        cfg.noise_sd = o->noise_sd, cfg.lowpass_start_A = o->lowpass_start_A;
        cfg.ramp_steps = o->ramp_steps > 0 ? o->ramp_steps : (int64_t)ceil(o->lowpass_ramp * total);
        if (cfg.ramp_steps < 1) cfg.ramp_steps = 1;
        cfg.critic.channels = o->channels, cfg.ema_decay = (float)o->ema;
        if (o->manifold) {
            cfg.manifold = 1, cfg.gen.zdim = o->zdim, cfg.gen.channels = o->gen_channels, cfg.n_vol = o->n_vol;
            cfg.gen.scale = (float)o->gen_scale, cfg.diversity_weight = (float)o->diversity;
            cfg.latent = strcmp(o->latent, "gaussian") ? CG_GAN_LATENT_PATH : CG_GAN_LATENT_GAUSSIAN;
        }
        st = cg_gan_create(&g, &cfg, &d.data);
    }
    if (!st) st = cg_mkdir_p(o->out);
    if (!st && o->load) st = cg_gan_load(g, o->load);
    if (!st && o->init_gen) st = cg_gan_init_generator(g, o->init_gen);
    const int64_t first = g ? cg_gan_gen_step(g) : 0;
    if (!st && first >= total)
        st = cg_error(CG_ERR_ARG, "the checkpoint is at step %lld, which is not before the last step %lld",
                      (long long)first, (long long)total);
    if (!st) {
        log = cg_malloc((size_t)(total - first), sizeof *log, "training log");
        if (!log) st = CG_ERR_NOMEM;
    }
    if (st) goto done;
    printf("train-gan: %lld particles, box %d, %.4f A/px, CTF %s, shifts %s; noise sd %.4g (%s)\n", (long long)n,
           d.data.D, d.data.pixel_size_A, d.data.ctf ? "on" : "off", d.data.origin_A ? "from the file" : "none",
           cg_gan_noise_sd(g), o->noise_sd < 0 ? "estimated from the background" : "given");
    printf("steps %lld..%lld (%lld per epoch), batch %d, n-critic %d, gp %g, lr gen %g critic %g\n", (long long)first,
           (long long)total, (long long)per_epoch, o->batch, o->n_critic, o->gp_weight, o->lr_gen, o->lr_critic);
    if (o->ema > 0) printf("volumes written from the EMA of the generator's weights (decay %g)\n", o->ema);
    if (o->init_gen) printf("generator initialised from %s/generator.ckpt (new critic, Adam state reset)\n", o->init_gen);
    if (!st && o->critic_warmup > 0) {
        double w = 0;
        double tw = cg_time_s();
        st = cg_gan_critic_only(g, o->critic_warmup, &w);
        if (!st) printf("critic warm-up: %d critic steps with the generator fixed, W %.5g (%.1f s)\n", o->critic_warmup, w,
                        cg_time_s() - tw);
    }
    double t0 = cg_time_s(), c0 = cg_cpu_time_s();
    cg_progress prog;
    cg_progress_begin(&prog, "train-gan", "steps", total - first);
    for (int64_t s = first; s < total && !st; s++) {
        cg_gan_stats *ls = &log[s - first];
        st = cg_gan_step(g, ls);
        cg_progress_update(&prog, s + 1 - first);
        if (st) break;
        if ((s + 1) % per_epoch == 0 || s + 1 == total) {
            const int64_t epoch = (s + 1 + per_epoch - 1) / per_epoch;
            char name[32];
            snprintf(name, sizeof name, o->manifold ? "vol_%03lld" : "vol_%03lld.mrc", (long long)epoch);
            st = write_outputs(g, o, &d, name, 0);
            if (!st) st = cg_gan_save(g, o->out);
            double dt = cg_time_s() - t0;
            printf("epoch %lld step %lld: W %.5g gp %.4g L_G %.5g low-pass %s%.1f A, %.0f images/s\n",
                   (long long)epoch, (long long)(s + 1), ls->w_estimate, ls->gp, ls->gen_loss,
                   ls->lowpass_A > 0 ? "" : "Nyquist ", ls->lowpass_A > 0 ? ls->lowpass_A : 2 * d.data.pixel_size_A,
                   (s + 1 - first) * o->batch * (2.0 * o->n_critic + 1) / (dt > 0 ? dt : 1));
            fflush(stdout);
        }
    }
    cg_progress_end(&prog);
    if (!st) st = write_outputs(g, o, &d, "volume.mrc", 1);
    if (!st) st = write_log(o->out, log, total - first);
    if (!st) st = write_run_json(o->out, star, o, g, &d, first, total, cg_time_s() - t0, cg_cpu_time_s() - c0);
    if (!st) printf("wrote %s/%s (%.1f s)\n", o->out, o->manifold ? "path" : "volume.mrc", cg_time_s() - t0);
done:
    free(log);
    cg_gan_destroy(g);
    free(d.images);
    cg_particles_free(d.p);
    return st;
}

static int run(int argc, char **argv) {
    tg_opts o = {.epochs = 10, .batch = 32, .n_critic = 5, .gp_weight = 10, .lr_gen = -1, .lr_critic = 1e-4,
                 .noise_sd = -1, .lowpass_ramp = 0.5, .channels = 16, .latent = "path", .zdim = 8,
                 .gen_channels = 32, .n_vol = 8, .path_points = 21, .clusters = 2, .gen_scale = 1};
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &o.out, "DIR", "output directory (required)"},
        {"epochs", 0, CG_OPT_DOUBLE, &o.epochs, "E", "epochs (an epoch = ceil(n / batch) generator steps)"},
        {"steps", 0, CG_OPT_INT64, &o.steps, "N", "generator steps in all (overrides --epochs; 0: use --epochs)"},
        {"batch", 0, CG_OPT_INT, &o.batch, "B", "images per critic / generator step"},
        {"n-critic", 0, CG_OPT_INT, &o.n_critic, "K", "critic steps per generator step"},
        {"gp-weight", 0, CG_OPT_DOUBLE, &o.gp_weight, "L", "gradient-penalty weight lambda"},
        {"lr-gen", 0, CG_OPT_DOUBLE, &o.lr_gen, "LR",
         "Adam learning rate of the generator (< 0: 0.01 voxel units per step for the volume, 0.001 for --manifold)"},
        {"lr-critic", 0, CG_OPT_DOUBLE, &o.lr_critic, "LR", "Adam learning rate of the critic"},
        {"critic-channels", 0, CG_OPT_INT, &o.channels, "C", "channels of the critic's first block (doubling)"},
        {"lowpass-start-A", 0, CG_OPT_DOUBLE, &o.lowpass_start_A, "R",
         "coarse to fine: low-pass real and simulated images to R A at first (0: off)"},
        {"lowpass-ramp", 0, CG_OPT_DOUBLE, &o.lowpass_ramp, "F", "fraction of the steps over which the low-pass relaxes to Nyquist"},
        {"lowpass-ramp-steps", 0, CG_OPT_INT64, &o.ramp_steps, "N",
         "ramp length in generator steps (overrides --lowpass-ramp; give it when resuming with more --steps)"},
        {"ema", 0, CG_OPT_DOUBLE, &o.ema, "D",
         "write volumes from an exponential moving average of the generator's weights, decay D (0: off; e.g. 0.999)"},
        {"noise-sd", 0, CG_OPT_DOUBLE, &o.noise_sd, "S", "noise sd of simulated images (< 0: estimate from the background)"},
        {"no-ctf", 0, CG_OPT_FLAG, &o.no_ctf, NULL, "simulate without a CTF"},
        {"max-particles", 0, CG_OPT_INT64, &o.max_particles, "N", "use only the first N particles (0: all)"},
        {"seed", 0, CG_OPT_U64, &o.seed, "SEED", "random seed (critic weights, poses, batches, noise)"},
        {"load", 0, CG_OPT_STRING, &o.load, "DIR", "resume from DIR/generator.ckpt and DIR/critic.ckpt"},
        {"init-generator", 0, CG_OPT_STRING, &o.init_gen, "DIR",
         "start from DIR/generator.ckpt's generator and its weight average (--ema), if both runs keep one (not a "
         "resume: new critic, Adam reset, step 0; batch, critic and n-critic may differ)"},
        {"critic-warmup", 0, CG_OPT_INT, &o.critic_warmup, "N",
         "critic-only steps (generator fixed) before the first generator step; e.g. after --init-generator"},
        {"manifold", 0, CG_OPT_FLAG, &o.manifold, NULL,
         "Multi-CryoGAN: a 3D CNN generator maps a latent to a volume (heterogeneity)"},
        {"latent", 0, CG_OPT_STRING, &o.latent, "KIND",
         "--manifold latent: 'path' (z = (1-a) z0 + a z1, a ~ U[0,1], z0, z1 fixed) or 'gaussian' (z ~ N(0, I))"},
        {"zdim", 0, CG_OPT_INT, &o.zdim, "K", "--manifold: latent dimension"},
        {"gen-channels", 0, CG_OPT_INT, &o.gen_channels, "C", "--manifold: generator channels at D/8 (halving per x2)"},
        {"gen-scale", 0, CG_OPT_DOUBLE, &o.gen_scale, "S",
         "--manifold: volume = S * softplus(network): S ~ the data's voxel values (initial background 0.05 S)"},
        {"volumes-per-step", 0, CG_OPT_INT, &o.n_vol, "V",
         "--manifold: volumes generated per generator step (latents drawn per volume; images spread over them)"},
        {"diversity-weight", 0, CG_OPT_DOUBLE, &o.diversity, "W",
         "--manifold: weight of the mode-seeking term W/(rho+1e-5), rho = mean|dV|/(S mean|dz|) (Mao et al. 2019; 0: off)"},
        {"path-points", 0, CG_OPT_INT, &o.path_points, "N", "--manifold: volumes written along the path a = 0..1"},
        {"clusters", 0, CG_OPT_INT, &o.clusters, "K", "--manifold: contiguous clusters of the path (FSC matrix blocks)"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen train-gan PARTICLES.star --out DIR [options]",
        "CryoGAN (Gupta et al. 2021): reconstruct a volume without estimating poses, by making images simulated\n"
        "from it (uniform random orientations; CTF and origin of random particles of the file; white noise at the\n"
        "level of the images' background) indistinguishable from the data for a CNN critic trained with the\n"
        "Wasserstein loss and gradient penalty (WGAN-GP). The volume starts at zero and is kept >= 0. Writes\n"
        "DIR/vol_NNN.mrc per epoch, DIR/volume.mrc, checkpoints, train_log.tsv and run.json. Same seed and thread\n"
        "count give the same bytes. Compare with a known map by 'cryogen fsc DIR/volume.mrc truth.mrc --align'\n"
        "(the hand is not determined: alignment tries the mirror).\n"
        "With --manifold (Multi-CryoGAN, Gupta et al. 2020) the generator is a 3D CNN from a latent to a volume;\n"
        "writes per-epoch volumes at a = 0, 0.5, 1 (vol_NNN_aA.AA.mrc), then DIR/path/vol_a*.mrc along the latent\n"
        "path, the FSC cross-conformation matrix (fsc_matrix.tsv/.svg), cluster proportions (clusters.json) and\n"
        "DIR/index.html.\n"
        "With --ema D every volume written is read from an exponential moving average of the generator's weights\n"
        "(Yazici et al. 2019), which averages out the generator's oscillation; training itself is unchanged.",
        opts, 1, 1,
        "  cryogen train-gan sim/particles.star --out gan --epochs 5 --lowpass-start-A 20\n"
        "  cryogen train-gan sim/particles.star --out gan --epochs 10 --load gan\n"
        "  cryogen train-gan sim/particles.star --out gan2 --steps 2000 --init-generator gan --critic-channels 32 \\\n"
        "      --critic-warmup 200\n"
        "  cryogen train-gan sim/particles.star --out mgan --manifold --steps 2000 --lowpass-start-A 30"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!o.out) return cg_cli_usage_error("train-gan", "--out DIR is required");
    if (o.batch < 1 || o.n_critic < 1 || o.channels < 1)
        return cg_cli_usage_error("train-gan", "--batch, --n-critic and --critic-channels must be >= 1");
    if (!(o.epochs > 0) && o.steps <= 0) return cg_cli_usage_error("train-gan", "--epochs or --steps must be > 0");
    if (o.load && o.init_gen)
        return cg_cli_usage_error("train-gan", "--load (resume the whole run) and --init-generator (a new critic on an "
                                               "old generator) exclude each other");
    if (o.critic_warmup < 0) return cg_cli_usage_error("train-gan", "--critic-warmup %d: use a count >= 0", o.critic_warmup);
    if (o.lr_gen < 0) o.lr_gen = o.manifold ? 1e-3 : 1e-2;
    if (o.manifold && strcmp(o.latent, "path") && strcmp(o.latent, "gaussian"))
        return cg_cli_usage_error("train-gan", "--latent %s: use 'path' or 'gaussian'", o.latent);
    if (!(o.ema >= 0 && o.ema < 1))
        return cg_cli_usage_error("train-gan", "--ema %g: use a decay in [0, 1) (0: off; e.g. 0.999)", o.ema);
    if (!(o.diversity >= 0) || (o.diversity > 0 && !o.manifold))
        return cg_cli_usage_error("train-gan", "--diversity-weight %g: use a value >= 0, with --manifold", o.diversity);
    if (o.manifold && (!(o.gen_scale > 0) || o.zdim < 1 || o.gen_channels < 4 || o.n_vol < 1 || o.n_vol > o.batch || o.path_points < 2 ||
                       o.clusters < 2 || o.clusters > 8 || o.clusters > o.path_points))
        return cg_cli_usage_error("train-gan", "--manifold needs --gen-scale > 0, --zdim >= 1, --gen-channels >= 4, 1 <= "
                                               "--volumes-per-step <= --batch, --path-points >= 2 and 2 <= --clusters "
                                               "<= min(8, --path-points)");
    if (o.lr_critic < 0 || o.gp_weight < 0 || o.lowpass_start_A < 0 || !(o.lowpass_ramp > 0))
        return cg_cli_usage_error("train-gan", "learning rates, --gp-weight and --lowpass-start-A must be >= 0, "
                                               "--lowpass-ramp > 0");
    cg_status st = train(pos[0], &o);
    return st ? cg_cli_fail("train-gan", st) : CG_EXIT_OK;
}

const cg_cli_command cg_cmd_train_gan = {"train-gan", "CryoGAN: reconstruct a map without poses (Wasserstein GAN)", run};
