/* `cryogen train-denoiser`: train the EDM denoiser (src/score/) on a stack of 2D images.
 * Writes DIR/denoiser.ckpt (weights, Adam state, EMA), DIR/train_loss.tsv and DIR/train.json
 * (provenance, configuration, throughput). See docs/score.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_maps.h"
#include "cryogen/mrc.h"
#include "cryogen/score.h"

static const char *const decay_names[] = {"constant", "linear", "cosine", NULL}; /* cg_nn_lr_decay order */

static cg_status write_json(const char *dir, const cg_score_config *c, const cg_score_train_config *t, const char *images,
                            int64_t n, const cg_score_train_result *r) {
    char prov[256];
    cg_outfile o;
    cg_status s = cg_outfile_open_in(&o, dir, "train.json");
    if (!s) {
        FILE *f = o.fp;
        fprintf(f, "{\n  \"command\": \"train-denoiser\",\n  \"provenance\": \"%s\",\n", cg_provenance(prov, sizeof prov, t->seed));
        fputs("  \"images\": ", f);
        cli_json_str(f, images);
        fprintf(f, ",\n  \"n_images\": %lld,\n  \"threads\": %d,\n", (long long)n, cg_get_threads());
        fprintf(f, "  \"model\": {\"D\": %d, \"levels\": %d, \"base_channels\": %d, \"ch_mult\": [%d, %d, %d, %d], "
                   "\"emb_dim\": %d, \"groups\": %d, \"sigma_data\": %g, \"img_mean\": %.8g, \"img_std\": %.8g, "
                   "\"mask_radius_px\": %g, \"res_blocks\": %d, \"attn_levels\": %d},\n",
                c->D, c->levels, c->base_channels, c->ch_mult[0], c->ch_mult[1], c->ch_mult[2], c->ch_mult[3], c->emb_dim,
                c->groups, c->sigma_data, c->img_mean, c->img_std, c->mask_radius_px, c->res_blocks, c->attn_levels);
        fprintf(f, "  \"training\": {\"steps\": %lld, \"batch\": %d, \"lr\": %g, \"warmup\": %lld, \"lr_decay\": \"%s\", "
                   "\"lr_min\": %g, \"decay_start\": %lld, \"ema_decay\": %g, "
                   "\"p_mean\": %g, \"p_std\": %g, \"shift_px\": %d, \"dihedral\": %d, \"seed\": %llu},\n",
                (long long)t->steps, t->batch, t->lr, (long long)t->warmup, decay_names[t->lr_decay], t->lr_min,
                (long long)t->decay_start, t->ema_decay, t->p_mean, t->p_std, t->shift_px, t->dihedral,
                (unsigned long long)t->seed);
        fprintf(f, "  \"result\": {\"start_step\": %lld, \"end_step\": %lld, \"mean_loss_last_50\": %.6g, "
                   "\"images_per_s\": %.3f, \"wall_s\": %.3f}\n}\n",
                (long long)r->start_step, (long long)r->end_step, r->last_loss, r->images_per_s, r->wall_s);
        s = cg_outfile_commit(&o);
    }
    return s;
}

/* --resume takes the architecture from DIR/denoiser.ckpt. An architecture option typed on the
 * command line that disagrees with it is a usage error rather than silently ignored. */
static int check_resume_architecture(int argc, char **argv, const char *out, const cg_score_config *want) {
    char *ckpt = cg_path_join(out, "denoiser.ckpt");
    if (!ckpt) return cg_cli_fail("train-denoiser", CG_ERR_NOMEM);
    cg_score_config have;
    uint32_t nb = 0;
    int rc = -1;
    if (cg_file_exists(ckpt) && !cg_nn_checkpoint_read_config(ckpt, &have, sizeof have, &nb) && nb == sizeof have) {
        const cg_cli_stored arch[] = {{"levels", want->levels, have.levels, NULL},
                    {"channels", want->base_channels, have.base_channels, NULL},
                    {"res-blocks", want->res_blocks, have.res_blocks, NULL},
                    {"attention", want->attn_levels, have.attn_levels, NULL},
                    {"emb-dim", want->emb_dim, have.emb_dim, NULL},
                    {"groups", want->groups, have.groups, NULL},
                    {"mask-radius-px", want->mask_radius_px, have.mask_radius_px, NULL}};
        rc = cg_cli_check_stored("train-denoiser", argc, argv, ckpt, arch, sizeof arch / sizeof arch[0]);
    }
    /* an unreadable checkpoint is reported by the training itself, with the library's message */
    free(ckpt);
    return rc;
}

static int run(int argc, char **argv) {
    const char *out = NULL;
    cg_score_train_config tc;
    cg_score_train_defaults(&tc);
    int levels = 3, base = 16, no_dihedral = 0, resume = 0, emb = 32, groups = 4, res_blocks = 0, attn = 0;
    double lr = tc.lr, ema = tc.ema_decay, mask = -1, lr_min = 0, p_mean = tc.p_mean, p_std = tc.p_std;
    const char *decay = "constant";
    int64_t nmax = 0;
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &out, "DIR", "output folder (created)"},
        {"steps", 0, CG_OPT_INT64, &tc.steps, "N", "total optimiser steps"},
        {"batch", 0, CG_OPT_INT, &tc.batch, "B", "images per step"},
        {"lr", 0, CG_OPT_DOUBLE, &lr, "LR", "Adam learning rate"},
        {"warmup", 0, CG_OPT_INT64, &tc.warmup, "N", "linear learning-rate warm-up steps"},
        {"lr-decay", 0, CG_OPT_STRING, &decay, "D", "learning-rate decay after --decay-start: constant, linear, cosine"},
        {"lr-min", 0, CG_OPT_DOUBLE, &lr_min, "LR", "learning rate at the last step when decaying"},
        {"decay-start", 0, CG_OPT_INT64, &tc.decay_start, "N", "step where the decay begins (0: after the warm-up)"},
        {"ema", 0, CG_OPT_DOUBLE, &ema, "DECAY", "EMA decay of the weights"},
        {"p-mean", 0, CG_OPT_DOUBLE, &p_mean, "M", "training noise levels: ln sigma ~ N(M, S^2); EDM's and the issue's -1.2"},
        {"p-std", 0, CG_OPT_DOUBLE, &p_std, "S", "training noise levels: spread S of ln sigma; EDM's and the issue's 1.2"},
        {"seed", 0, CG_OPT_U64, &tc.seed, "SEED", "random seed (weights, batches, noise)"},
        {"checkpoint-every", 0, CG_OPT_INT64, &tc.ckpt_every, "N", "write DIR/denoiser.ckpt every N steps (0: at the end)"},
        {"resume", 0, CG_OPT_FLAG, &resume, NULL, "continue from DIR/denoiser.ckpt when it exists, with its architecture"},
        {"levels", 0, CG_OPT_INT, &levels, "L", "U-Net resolution levels (2..4)"},
        {"channels", 0, CG_OPT_INT, &base, "C", "U-Net channels at full resolution (levels: C, 2C, 2C, 2C)"},
        {"res-blocks", 0, CG_OPT_INT, &res_blocks, "R", "U-Net residual blocks after each stage's block (0..3)"},
        {"attention", 0, CG_OPT_INT, &attn, "A",
         "self-attention after the stages of the A lowest-resolution levels (0..L; each costs S^2 per image)"},
        {"emb-dim", 0, CG_OPT_INT, &emb, "E", "noise-level embedding width"},
        {"groups", 0, CG_OPT_INT, &groups, "G", "group-norm groups"},
        {"shift-px", 0, CG_OPT_INT, &tc.shift_px, "S", "augmentation: integer translations up to S pixels"},
        {"no-dihedral", 0, CG_OPT_FLAG, &no_dihedral, NULL, "augmentation: no 90-degree rotations and flips"},
        {"mask-radius-px", 0, CG_OPT_DOUBLE, &mask, "R", "circular mask radius (default D/2; 0: none)"},
        {"max-images", 0, CG_OPT_INT64, &nmax, "N", "use only the first N images (0: all)"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen train-denoiser IMAGES.mrcs --out DIR [options]",
        "Train an EDM denoiser (Karras et al. 2022: preconditioning, ln sigma ~ N(-1.2, 1.2^2), lambda(sigma)\n"
        "weighting, Adam, EMA) on 2D images normalised to zero mean and unit variance, with exact\n"
        "90-degree/flip augmentation, small translations and a circular mask. Resumable; same seed and\n"
        "thread count give the same checkpoint bytes.",
        opts, 1, 1,
        "  cryogen train-denoiser sim/particles.mrcs --out den --steps 2000 --batch 16 -j 2\n"
        "  cryogen train-denoiser sim/particles.mrcs --out den --steps 4000 --resume\n"
        "  cryogen train-denoiser sim/particles.mrcs --out den --steps 6000 --resume --lr-decay cosine --decay-start 4000"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!out) return cg_cli_usage_error("train-denoiser", "--out DIR is required");
    if (tc.steps < 1 || tc.batch < 1 || !(lr > 0) || tc.shift_px < 0 || !(ema >= 0 && ema < 1))
        return cg_cli_usage_error("train-denoiser", "--steps, --batch, --lr must be positive, --shift-px >= 0, 0 <= --ema < 1");
    if ((tc.lr_decay = cg_cli_word_index(decay, decay_names)) < 0)
        return cg_cli_usage_error("train-denoiser", "--lr-decay %s: use constant, linear or cosine", decay);
    if (!(lr_min >= 0 && lr_min <= lr) || tc.decay_start < 0)
        return cg_cli_usage_error("train-denoiser", "--lr-min must be in [0, --lr] and --decay-start >= 0");
    tc.lr_min = (float)lr_min;
    if (!(p_std > 0 && p_std <= 5) || !(p_mean >= -10 && p_mean <= 5))
        return cg_cli_usage_error("train-denoiser", "--p-std must be in (0, 5] and --p-mean in [-10, 5] (ln sigma; default -1.2 and 1.2)");
    tc.p_mean = (float)p_mean, tc.p_std = (float)p_std;
    if (res_blocks < 0 || res_blocks > CG_SCORE_MAX_RES_BLOCKS)
        return cg_cli_usage_error("train-denoiser", "--res-blocks %d: use 0..%d", res_blocks, CG_SCORE_MAX_RES_BLOCKS);
    if (attn < 0 || (!resume && attn > levels))
        return cg_cli_usage_error("train-denoiser", "--attention %d: use 0..%d (--levels)", attn, levels);
    tc.lr = (float)lr, tc.ema_decay = (float)ema, tc.dihedral = !no_dihedral, tc.resume = resume, tc.out_dir = out;
    if (resume) {
        cg_score_config asked = {.levels = levels, .base_channels = base, .res_blocks = res_blocks, .attn_levels = attn,
                                 .emb_dim = emb, .groups = groups, .mask_radius_px = (float)mask};
        if ((rc = check_resume_architecture(argc, argv, out, &asked)) >= 0) return rc;
    }
    cg_mrc_header h;
    float *images = NULL;
    cg_status s = cg_mrc_read(pos[0], &h, &images);
    if (s) return cg_cli_fail("train-denoiser", s);
    if (h.nx != h.ny) {
        free(images);
        return cg_cli_usage_error("train-denoiser", "%s: images are %d x %d; square images needed", pos[0], h.nx, h.ny);
    }
    int64_t n = h.nz;
    if (nmax > 0 && nmax < n) n = nmax;
    cg_score_config cfg;
    cg_score_config_default(&cfg, h.nx);
    cfg.levels = levels, cfg.base_channels = base, cfg.emb_dim = emb, cfg.groups = groups, cfg.res_blocks = res_blocks;
    cfg.attn_levels = attn;
    if (mask >= 0) cfg.mask_radius_px = (float)mask;
    cg_score_train_result r;
    s = cg_score_config_check(&cfg);
    if (!s) s = cg_score_train(&cfg, &tc, images, n, &r);
    if (!s && r.end_step <= r.start_step) {
        /* resuming a finished run: nothing trained, keep the record of the run that did the work */
        free(images);
        printf("%s/denoiser.ckpt is already at step %lld (>= --steps %lld): nothing trained, train.json kept\n", out,
               (long long)r.start_step, (long long)tc.steps);
        return CG_EXIT_OK;
    }
    if (!s || s == CG_ERR_INTERRUPTED) {
        /* the config actually used (normalisation from the data or the resumed checkpoint) */
        cg_score_net *net = NULL;
        cg_status s2 = cg_score_load(&net, out, 1);
        if (!s2) s2 = write_json(out, cg_score_net_config(net), &tc, pos[0], n, &r);
        cg_score_net_destroy(net);
        if (!s) s = s2;
    }
    free(images);
    if (s) return cg_cli_fail("train-denoiser", s);
    printf("trained steps %lld..%lld on %lld images of %d^2: mean loss (last 50 steps) %.4f, %.1f images/s, %.1f s\n",
           (long long)r.start_step, (long long)r.end_step, (long long)n, h.nx, r.last_loss, r.images_per_s, r.wall_s);
    printf("wrote %s/denoiser.ckpt, %s/train_loss.tsv, %s/train.json\n", out, out, out);
    return CG_EXIT_OK;
}

const cg_cli_command cg_cmd_train_denoiser = {"train-denoiser", "train the EDM diffusion denoiser on 2D images", run};
