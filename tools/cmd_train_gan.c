/* `cryogen train-gan PARTICLES.star --out DIR`: CryoGAN reconstruction (include/cryogen/gan.h;
 * Gupta et al., "CryoGAN", IEEE TCI 2021; WGAN-GP, Gulrajani et al. 2017). No poses are read:
 * the simulator draws uniform orientations and takes the CTF and origin of random particles of
 * the STAR file; the noise level is estimated from the images' background.
 * Outputs in DIR (each written atomically): vol_NNN.mrc after every epoch, volume.mrc at the
 * end (pixel size of the data), generator.ckpt + critic.ckpt (resume with --load DIR),
 * train_log.tsv (one line per generator step of this invocation), run.json (provenance,
 * options, noise level, timings). An epoch is ceil(n / batch) generator steps.
 * All particle images are held in memory (n D^2 floats); use --max-particles to cap.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_maps.h"
#include "cryogen/gan.h"
#include "cryogen/mrc.h"
#include "cryogen/particles.h"

typedef struct {
    const char *out, *load;
    double epochs, lowpass_start_A, lowpass_ramp, noise_sd, lr_gen, lr_critic, gp_weight;
    int64_t steps, max_particles, ramp_steps;
    int batch, n_critic, channels, no_ctf;
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

static cg_status write_volume(const char *dir, const char *name, const cg_gan *g, const tg_data *d) {
    char *path = cg_path_join(dir, name), label[80];
    if (!path) return cg_error(CG_ERR_NOMEM, "path");
    snprintf(label, sizeof label, "cryogen train-gan step %lld", (long long)cg_gan_gen_step(g));
    const int D = d->data.D;
    cg_status st = cg_mrc_write(path, cg_gan_volume((cg_gan *)g), D, D, D, (float)d->data.pixel_size_A, 0, label);
    free(path);
    return st;
}

static cg_status write_log(const char *dir, const cg_gan_stats *log, int64_t n) {
    char *path = cg_path_join(dir, "train_log.tsv");
    if (!path) return cg_error(CG_ERR_NOMEM, "path");
    cg_outfile f;
    cg_status st = cg_outfile_open(&f, path);
    free(path);
    if (st) return st;
    fprintf(f.fp, "step\tw_estimate\tgradient_penalty\tgenerator_loss\tlowpass_A\n");
    for (int64_t i = 0; i < n; i++)
        fprintf(f.fp, "%lld\t%.6g\t%.6g\t%.6g\t%.3f\n", (long long)log[i].gen_step, log[i].w_estimate, log[i].gp,
                log[i].gen_loss, log[i].lowpass_A);
    return cg_outfile_commit(&f);
}

static cg_status write_run_json(const char *dir, const char *star, const tg_opts *o, const cg_gan *g,
                                const tg_data *d, int64_t first, int64_t total, double wall, double cpu) {
    char *path = cg_path_join(dir, "run.json"), prov[256];
    if (!path) return cg_error(CG_ERR_NOMEM, "path");
    cg_outfile f;
    cg_status st = cg_outfile_open(&f, path);
    free(path);
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
                  "  \"lowpass_ramp_steps\": %lld,\n  \"resumed_from\": ",
            c->batch, c->n_critic, c->gp_weight, c->lr_gen, c->lr_critic, c->beta1, c->beta2, c->critic.channels,
            c->lowpass_start_A, (long long)c->ramp_steps);
    if (o->load) cli_json_str(f.fp, o->load);
    else fputs("null", f.fp);
    fprintf(f.fp, ",\n  \"first_step\": %lld,\n  \"last_step\": %lld,\n  \"wall_seconds\": %.2f,\n"
                  "  \"cpu_seconds\": %.2f,\n  \"images_per_second\": %.1f\n}\n",
            (long long)first, (long long)total, wall, cpu, wall > 0 ? imgs / wall : 0.0);
    return cg_outfile_commit(&f);
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
        cfg.critic.channels = o->channels;
        st = cg_gan_create(&g, &cfg, &d.data);
    }
    if (!st) st = cg_mkdir_p(o->out);
    if (!st && o->load) st = cg_gan_load(g, o->load);
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
            snprintf(name, sizeof name, "vol_%03lld.mrc", (long long)epoch);
            st = write_volume(o->out, name, g, &d);
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
    if (!st) st = write_volume(o->out, "volume.mrc", g, &d);
    if (!st) st = write_log(o->out, log, total - first);
    if (!st) st = write_run_json(o->out, star, o, g, &d, first, total, cg_time_s() - t0, cg_cpu_time_s() - c0);
    if (!st) printf("wrote %s/volume.mrc (%.1f s)\n", o->out, cg_time_s() - t0);
done:
    free(log);
    cg_gan_destroy(g);
    free(d.images);
    cg_particles_free(d.p);
    return st;
}

static int run(int argc, char **argv) {
    tg_opts o = {.epochs = 10, .batch = 32, .n_critic = 5, .gp_weight = 10, .lr_gen = 1e-2, .lr_critic = 1e-4,
                 .noise_sd = -1, .lowpass_ramp = 0.5, .channels = 16};
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &o.out, "DIR", "output directory (required)"},
        {"epochs", 0, CG_OPT_DOUBLE, &o.epochs, "E", "epochs (an epoch = ceil(n / batch) generator steps)"},
        {"steps", 0, CG_OPT_INT64, &o.steps, "N", "generator steps in all (overrides --epochs; 0: use --epochs)"},
        {"batch", 0, CG_OPT_INT, &o.batch, "B", "images per critic / generator step"},
        {"n-critic", 0, CG_OPT_INT, &o.n_critic, "K", "critic steps per generator step"},
        {"gp-weight", 0, CG_OPT_DOUBLE, &o.gp_weight, "L", "gradient-penalty weight lambda"},
        {"lr-gen", 0, CG_OPT_DOUBLE, &o.lr_gen, "LR", "Adam learning rate of the volume (voxel units per step)"},
        {"lr-critic", 0, CG_OPT_DOUBLE, &o.lr_critic, "LR", "Adam learning rate of the critic"},
        {"critic-channels", 0, CG_OPT_INT, &o.channels, "C", "channels of the critic's first block (doubling)"},
        {"lowpass-start-A", 0, CG_OPT_DOUBLE, &o.lowpass_start_A, "R",
         "coarse to fine: low-pass real and simulated images to R A at first (0: off)"},
        {"lowpass-ramp", 0, CG_OPT_DOUBLE, &o.lowpass_ramp, "F", "fraction of the steps over which the low-pass relaxes to Nyquist"},
        {"lowpass-ramp-steps", 0, CG_OPT_INT64, &o.ramp_steps, "N",
         "ramp length in generator steps (overrides --lowpass-ramp; give it when resuming with more --steps)"},
        {"noise-sd", 0, CG_OPT_DOUBLE, &o.noise_sd, "S", "noise sd of simulated images (< 0: estimate from the background)"},
        {"no-ctf", 0, CG_OPT_FLAG, &o.no_ctf, NULL, "simulate without a CTF"},
        {"max-particles", 0, CG_OPT_INT64, &o.max_particles, "N", "use only the first N particles (0: all)"},
        {"seed", 0, CG_OPT_U64, &o.seed, "SEED", "random seed (critic weights, poses, batches, noise)"},
        {"load", 0, CG_OPT_STRING, &o.load, "DIR", "resume from DIR/generator.ckpt and DIR/critic.ckpt"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen train-gan PARTICLES.star --out DIR [options]",
        "CryoGAN (Gupta et al. 2021): reconstruct a volume without estimating poses, by making images simulated\n"
        "from it (uniform random orientations; CTF and origin of random particles of the file; white noise at the\n"
        "level of the images' background) indistinguishable from the data for a CNN critic trained with the\n"
        "Wasserstein loss and gradient penalty (WGAN-GP). The volume starts at zero and is kept >= 0. Writes\n"
        "DIR/vol_NNN.mrc per epoch, DIR/volume.mrc, checkpoints, train_log.tsv and run.json. Same seed and thread\n"
        "count give the same bytes. Compare with a known map by 'cryogen fsc DIR/volume.mrc truth.mrc --align'\n"
        "(the hand is not determined: alignment tries the mirror).",
        opts, 1, 1,
        "  cryogen train-gan sim/particles.star --out gan --epochs 5 --lowpass-start-A 20\n"
        "  cryogen train-gan sim/particles.star --out gan --epochs 10 --load gan"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!o.out) return cg_cli_usage_error("train-gan", "--out DIR is required");
    if (o.batch < 1 || o.n_critic < 1 || o.channels < 1)
        return cg_cli_usage_error("train-gan", "--batch, --n-critic and --critic-channels must be >= 1");
    if (!(o.epochs > 0) && o.steps <= 0) return cg_cli_usage_error("train-gan", "--epochs or --steps must be > 0");
    if (o.lr_gen < 0 || o.lr_critic < 0 || o.gp_weight < 0 || o.lowpass_start_A < 0 || !(o.lowpass_ramp > 0))
        return cg_cli_usage_error("train-gan", "learning rates, --gp-weight and --lowpass-start-A must be >= 0, "
                                               "--lowpass-ramp > 0");
    cg_status st = train(pos[0], &o);
    return st ? cg_cli_fail("train-gan", st) : CG_EXIT_OK;
}

const cg_cli_command cg_cmd_train_gan = {"train-gan", "CryoGAN: reconstruct a map without poses (Wasserstein GAN)", run};
