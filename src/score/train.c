/* Training of the EDM denoiser (Karras et al. 2022, Table 1 "Training"): ln sigma ~
 * N(P_mean, P_std^2) with P_mean = -1.2, P_std = 1.2, loss weight lambda(sigma) (score_net.c),
 * Adam with a linear warm-up, an EMA of the weights, checkpoints and resume.
 *
 * Data: images[n][D][D] in raw pixel units. Normalisation: the global mean and standard
 * deviation over every pixel of every image (double), so the training data have zero mean and
 * unit variance; stored in the model config so sampling and SDS can undo it.
 * Augmentation per item, in raw units and then normalised: one of the 8 exact symmetries of
 * the square (90-degree rotations, with or without a flip; rotations about the box centre are
 * exact only for odd D, for even D the centre pixel D/2 moves by one pixel, which we accept as
 * part of the translation augmentation), an integer translation in [-shift, shift]^2 with zero
 * fill, then a circular mask (pixels farther than mask_radius_px from (D/2, D/2) set to 0 raw),
 * which hides the corners that translations and rotations do not preserve.
 * Determinism: item b of step s draws from (seed, CG_SCORE_STREAM_TRAIN, s * batch + b), so a
 * resumed run reproduces the uninterrupted one (same thread count, same BLAS).
 * Outputs: DIR/denoiser.ckpt (params, Adam state, EMA; atomic, versioned), DIR/train_loss.tsv.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/score.h"

void cg_score_train_defaults(cg_score_train_config *t) {
    memset(t, 0, sizeof *t);
    t->steps = 2000;
    t->batch = 16;
    t->lr = 1e-3f;
    t->warmup = 100;
    t->ema_decay = 0.999f;
    t->p_mean = -1.2f, t->p_std = 1.2f;
    t->shift_px = 2;
    t->dihedral = 1;
    t->seed = 0;
    t->ckpt_every = 500;
}

/* dst = augmented copy of src (raw units), then normalised. */
static void augment(float *dst, const float *src, int D, int op, int dx, int dy, float r_mask, float mean,
                    float inv_std) {
    int c = D / 2;
    double r2 = (double)r_mask * r_mask;
    for (int y = 0; y < D; y++)
        for (int x = 0; x < D; x++) {
            /* source pixel of output (x, y): undo the shift, then the symmetry op about c */
            int u = x - dx - c, v = y - dy - c, su, sv;
            switch (op & 3) {
            case 0: su = u, sv = v; break;
            case 1: su = v, sv = -u; break;
            case 2: su = -u, sv = -v; break;
            default: su = -v, sv = u; break;
            }
            if (op & 4) su = -su;
            int sx = su + c, sy = sv + c;
            float val = 0;
            if (sx >= 0 && sx < D && sy >= 0 && sy < D) val = src[(size_t)sy * D + sx];
            double rx = x - c, ry = y - c;
            if (r_mask > 0 && rx * rx + ry * ry > r2) val = 0;
            dst[(size_t)y * D + x] = (val - mean) * inv_std;
        }
}

static cg_status save_state(const char *dir, cg_score_net *net, const double *losses, int64_t nloss, uint64_t seed) {
    char *path = cg_path_join(dir, "denoiser.ckpt");
    if (!path) return CG_ERR_NOMEM;
    cg_status s = cg_nn_checkpoint_save(path, cg_score_net_params(net), CG_NN_CKPT_WITH_OPTIM | CG_NN_CKPT_WITH_EMA,
                                        cg_score_net_config(net), sizeof(cg_score_config));
    free(path);
    if (s) return s;
    cg_outfile o;
    s = cg_outfile_open_in(&o, dir, "train_loss.tsv");
    if (!s) {
        char prov[256];
        fprintf(o.fp, "# %s\n# step\tloss (EDM-weighted, per item mean over the batch)\n",
                cg_provenance(prov, sizeof prov, seed));
        for (int64_t i = 0; i < nloss; i++) fprintf(o.fp, "%lld\t%.6g\n", (long long)i, losses[i]);
        s = cg_outfile_commit(&o);
    }
    return s;
}

/* Earlier losses of a resumed run, if the file is there (missing lines stay NaN). */
static void read_losses(const char *dir, double *losses, int64_t n) {
    char *path = cg_path_join(dir, "train_loss.tsv");
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        long long i;
        double v;
        if (line[0] != '#' && sscanf(line, "%lld %lf", &i, &v) == 2 && i >= 0 && i < n) losses[i] = v;
    }
    fclose(f);
}

static cg_status setup(cg_score_net **netp, cg_score_config *cfg, const cg_score_train_config *tc,
                       const float *images, int64_t n) {
    char *ckpt = cg_path_join(tc->out_dir, "denoiser.ckpt");
    if (!ckpt) return CG_ERR_NOMEM;
    cg_status s = CG_OK;
    int D_images = cfg->D;
    int resume = tc->resume && cg_file_exists(ckpt);
    if (resume) {
        uint32_t nb = 0;
        s = cg_nn_checkpoint_read_config(ckpt, cfg, sizeof *cfg, &nb);
        if (!s && nb != sizeof *cfg)
            s = cg_error(CG_ERR_FORMAT, "%s: config blob of %u bytes, expected %zu (not a denoiser checkpoint?)", ckpt,
                         nb, sizeof *cfg);
    } else {
        double sum = 0, sum2 = 0;
        size_t S = (size_t)cfg->D * cfg->D;
        for (int64_t i = 0; i < n; i++) {
            double a = 0, b = 0;
            for (size_t j = 0; j < S; j++) a += images[i * S + j], b += (double)images[i * S + j] * images[i * S + j];
            sum += a, sum2 += b;
        }
        double cnt = (double)n * (double)S, mean = sum / cnt, var = sum2 / cnt - mean * mean;
        if (!(var > 0)) s = cg_error(CG_ERR_ARG, "training images are constant (variance %g): nothing to learn", var);
        cfg->img_mean = (float)mean;
        cfg->img_std = (float)sqrt(var > 0 ? var : 1);
    }
    if (!s && resume && cfg->D != D_images)
        s = cg_error(CG_ERR_ARG, "%s: the checkpoint was trained on %d^2 images, these are %d^2", ckpt, cfg->D, D_images);
    if (!s) s = cg_score_net_create(netp, cfg, tc->seed);
    if (!s) s = cg_nn_params_enable_ema(cg_score_net_params(*netp));
    if (!s && resume) s = cg_nn_checkpoint_load(ckpt, cg_score_net_params(*netp), cfg, sizeof *cfg);
    if (!s && resume) CG_INFO("resuming %s at step %lld", ckpt, (long long)cg_score_net_params(*netp)->step);
    free(ckpt);
    return s;
}

float cg_score_lr_at(const cg_score_train_config *tc, int64_t step) {
    cg_nn_lr_schedule s = {tc->lr, tc->lr_min, tc->warmup > 0 ? tc->warmup : 0, tc->steps,
                           (cg_nn_lr_decay)tc->lr_decay, tc->decay_start};
    return cg_nn_lr_at(&s, step);
}

cg_status cg_score_train(const cg_score_config *model_cfg, const cg_score_train_config *tc, const float *images,
                         int64_t n, cg_score_train_result *res) {
    memset(res, 0, sizeof *res);
    if (n < 1 || tc->batch < 1 || tc->steps < 1 || !(tc->lr > 0) || tc->shift_px < 0 || !tc->out_dir ||
        !(tc->ema_decay >= 0 && tc->ema_decay < 1) || tc->lr_decay < CG_NN_LR_CONSTANT ||
        tc->lr_decay > CG_NN_LR_COSINE || !(tc->lr_min >= 0 && tc->lr_min <= tc->lr) || tc->decay_start < 0)
        return cg_error(CG_ERR_ARG, "train-denoiser: need images, batch >= 1, steps >= 1, lr > 0, shift >= 0, "
                                    "0 <= EMA decay < 1, 0 <= lr_min <= lr, decay_start >= 0 and an output folder");
    cg_score_config cfg = *model_cfg;
    cg_status s = cg_mkdir_p(tc->out_dir);
    if (s) return s;
    cg_score_net *net = NULL;
    s = setup(&net, &cfg, tc, images, n);
    if (!s) s = cg_score_net_reserve(net, tc->batch);
    int D = cfg.D, B = tc->batch;
    size_t S = (size_t)D * D;
    float *y = malloc(sizeof(float) * S * (size_t)B), *noise = malloc(sizeof(float) * S * (size_t)B);
    float *sigma = malloc(sizeof(float) * (size_t)B);
    double *losses = malloc(sizeof(double) * (size_t)tc->steps);
    if (!s && (!y || !noise || !sigma || !losses)) s = cg_error(CG_ERR_NOMEM, "train-denoiser buffers");
    if (s) goto done;
    for (int64_t i = 0; i < tc->steps; i++) losses[i] = NAN;
    cg_nn_params *P = cg_score_net_params(net);
    int64_t start = P->step;
    if (start > 0) read_losses(tc->out_dir, losses, tc->steps);
    res->start_step = start;
    cg_nn_adam_config opt = cg_nn_adam_defaults();
    char label[96];
    snprintf(label, sizeof label, "train-denoiser");
    cg_progress prog;
    cg_progress_begin(&prog, label, "images", (tc->steps - start > 0 ? tc->steps - start : 0) * B);
    double t0 = cg_time_s();
    float inv_std = 1.0f / cfg.img_std;
    for (int64_t step = start; step < tc->steps; step++) {
        for (int b = 0; b < B; b++) {
            cg_rng r;
            cg_rng_init(&r, tc->seed, CG_SCORE_STREAM_TRAIN, (uint64_t)(step * B + b));
            int64_t idx = (int64_t)cg_rng_below(&r, (uint64_t)n);
            int op = tc->dihedral ? (int)cg_rng_below(&r, 8) : 0;
            int w = 2 * tc->shift_px + 1;
            int dx = (int)cg_rng_below(&r, (uint64_t)w) - tc->shift_px, dy = (int)cg_rng_below(&r, (uint64_t)w) - tc->shift_px;
            sigma[b] = (float)exp(tc->p_mean + tc->p_std * cg_rng_normal(&r));
            augment(y + b * S, images + (size_t)idx * S, D, op, dx, dy, cfg.mask_radius_px, cfg.img_mean, inv_std);
            for (size_t j = 0; j < S; j++) noise[b * S + j] = sigma[b] * (float)cg_rng_normal(&r);
        }
        double L;
        cg_nn_params_zero_grad(P);
        s = cg_score_loss(net, &L, y, noise, sigma, B, 1, NULL);
        if (s) break;
        if (!isfinite(L)) {
            s = cg_error(CG_ERR_RANGE, "train-denoiser: loss is %g at step %lld; lower --lr", L, (long long)step);
            break;
        }
        cg_nn_adam_step(P, &opt, cg_score_lr_at(tc, step));
        cg_nn_ema_update(P, tc->ema_decay);
        losses[step] = L;
        snprintf(label, sizeof label, "train-denoiser step %lld loss %.4f", (long long)step + 1, L);
        cg_progress_update(&prog, (step + 1 - start) * B);
        int last = step + 1 == tc->steps;
        if (last || (tc->ckpt_every > 0 && (step + 1) % tc->ckpt_every == 0) || cg_interrupted()) {
            s = save_state(tc->out_dir, net, losses, step + 1, tc->seed);
            if (s) break;
        }
        if (cg_interrupted() && !last) {
            s = cg_error(CG_ERR_INTERRUPTED, "train-denoiser interrupted after step %lld (checkpoint written; rerun "
                                             "with --resume)", (long long)step + 1);
            break;
        }
    }
    cg_progress_end(&prog);
    res->end_step = P->step;
    res->wall_s = cg_time_s() - t0;
    res->images_per_s = res->wall_s > 0 ? (double)(P->step - start) * B / res->wall_s : 0;
    {
        double acc = 0;
        int cnt = 0;
        for (int64_t i = P->step - 1; i >= 0 && i >= P->step - 50; i--)
            if (isfinite(losses[i])) acc += losses[i], cnt++;
        res->last_loss = cnt ? acc / cnt : NAN;
    }
done:
    free(y), free(noise), free(sigma), free(losses);
    cg_score_net_destroy(net);
    return s;
}

cg_status cg_score_load(cg_score_net **out, const char *path_or_dir, int use_ema) {
    *out = NULL;
    char *path;
    FILE *f = fopen(path_or_dir, "rb");
    unsigned char hdr[16] = {0};
    int is_file = f && fread(hdr, 1, 16, f) == 16 && !memcmp(hdr, "CGNNCKP", 7);
    if (f) fclose(f);
    path = is_file ? strdup(path_or_dir) : cg_path_join(path_or_dir, "denoiser.ckpt");
    if (!path) return CG_ERR_NOMEM;
    cg_score_config cfg;
    uint32_t nb = 0;
    cg_status s = cg_nn_checkpoint_read_config(path, &cfg, sizeof cfg, &nb);
    if (!s && nb != sizeof cfg)
        s = cg_error(CG_ERR_FORMAT, "%s: config blob of %u bytes, expected %zu (not a denoiser checkpoint?)", path, nb,
                     sizeof cfg);
    uint32_t flags = 0;
    if (!s) s = cg_nn_checkpoint_read_flags(path, &flags);
    cg_score_net *net = NULL;
    if (!s) s = cg_score_net_create(&net, &cfg, 0);
    if (!s && (flags & CG_NN_CKPT_WITH_EMA)) s = cg_nn_params_enable_ema(cg_score_net_params(net));
    if (!s) s = cg_nn_checkpoint_load(path, cg_score_net_params(net), &cfg, sizeof cfg);
    if (!s && use_ema && (flags & CG_NN_CKPT_WITH_EMA)) s = cg_score_net_use_ema(net);
    free(path);
    if (s) {
        cg_score_net_destroy(net);
        return s;
    }
    *out = net;
    return CG_OK;
}
