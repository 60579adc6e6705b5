/* VAE training driver (`cryogen train-vae`): particles -> normalisation -> epochs of shuffled
 * minibatches (prepare in parallel, loss and gradients, Adam) -> per-epoch checkpoint, latents
 * and loss history; resume from the latest checkpoint of a folder.
 *
 * Reproducibility: the minibatch order of epoch e comes from (seed, CG_RNG_STREAM_BATCH, e),
 * the noise of the image at position q of epoch e from (seed, CG_RNG_STREAM_TRAIN,
 * e * N + q); Adam's moments and step count are in the checkpoint; so a run resumed after
 * epoch E writes the same bytes as an uninterrupted one (tests/test_vae_train.sh).
 * cryoDRGN (Zhong et al. 2021, train_vae.py) writes weights.E.pkl and z.E.pkl per epoch and
 * evaluates z in a separate pass without noise; we do the same with text latents.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cryogen/geom.h"
#include "cryogen/vae.h"

cg_status cg_vae_find_latest(const char *dir, int *epoch, char **path) {
    DIR *d = opendir(dir);
    if (!d) return cg_error(CG_ERR_IO, "%s: cannot open the folder to resume from", dir);
    int best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        int k, len = 0;
        if (sscanf(e->d_name, "weights.%d.ckpt%n", &k, &len) == 1 && e->d_name[len] == '\0' && k > best) best = k;
    }
    closedir(d);
    if (best < 0) return cg_error(CG_ERR_IO, "%s: no weights.E.ckpt to resume from", dir);
    char name[64];
    snprintf(name, sizeof name, "weights.%d.ckpt", best);
    *path = cg_path_join(dir, name);
    *epoch = best;
    return *path ? CG_OK : CG_ERR_NOMEM;
}

typedef struct {
    const cg_particles *p;
    cg_vae *v;
    int nthr, B, n;
    cg_vae_prep **prep; /* [nthr] */
    float *y, *ctf;     /* [B][n] decoder targets (and the encoder's input with encoder_input IMAGES) */
    float *ey, *ectf;   /* [B][n] the encoder's input under the controls (NULL with IMAGES) */
    int64_t *twin;      /* [N] under CG_VAE_ENC_PERMUTED */
    int64_t noise_epoch; /* 0-based epoch whose noise keys CG_VAE_ENC_FRESH_NOISE uses */
    double *A;          /* [B][9] */
} batcher;

/* The buffers the encoder reads. */
static const float *enc_y(const batcher *bt) { return bt->ey ? bt->ey : bt->y; }
static const float *enc_ctf(const batcher *bt) { return bt->ectf ? bt->ectf : bt->ctf; }

/* Prepare particles idx[0..m) into the batch buffers, in parallel: the decoder targets (when
 * `target`, or when the encoder reads them) and the encoder's input under the controls. The
 * error message of a failing thread is carried to the caller. */
static cg_status load_batch(batcher *bt, const int64_t *idx, int m, int target) {
    const cg_vae_lattice *L = cg_vae_get_lattice(bt->v);
    const cg_vae_config *c = cg_vae_get_config(bt->v);
    const double norm = c->norm_std;
    const int mode = c->encoder_input;
    cg_status s = CG_OK;
    char msg[1024] = "";
#pragma omp parallel for num_threads(bt->nthr) schedule(static)
    for (int b = 0; b < m; b++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        const int64_t i = idx[b];
        const int64_t o = (int64_t)b * bt->n;
        cg_status ts = CG_OK;
        if (target || mode == CG_VAE_ENC_IMAGES) ts = cg_vae_prepare(L, bt->p, i, norm, bt->prep[t], bt->y + o, bt->ctf + o);
        if (!ts && mode == CG_VAE_ENC_PERMUTED)
            ts = cg_vae_prepare(L, bt->p, bt->twin[i], norm, bt->prep[t], bt->ey + o, bt->ectf + o);
        else if (mode == CG_VAE_ENC_NOISE)
            cg_vae_noise_input(c->seed, i, bt->n, bt->ey + o, bt->ectf + o);
        else if (mode == CG_VAE_ENC_FRESH_NOISE)
            cg_vae_noise_input(c->seed, (bt->noise_epoch + 1) * bt->p->n + i, bt->n, bt->ey + o, bt->ectf + o);
        const double *e = bt->p->euler_rad + 3 * i;
        cg_euler_to_matrix(e[0], e[1], e[2], bt->A + 9 * b);
        if (ts) {
#pragma omp critical
            if (!s) s = ts, snprintf(msg, sizeof msg, "%s", cg_last_error());
        }
    }
    return s ? cg_error(s, "%s", msg) : CG_OK;
}

static cg_status write_matrix(const char *path, const float *x, int64_t n, int d, const char *what, uint64_t seed) {
    cg_outfile o;
    cg_status s = cg_outfile_open(&o, path);
    if (s) return s;
    char prov[256];
    fprintf(o.fp, "# %s; %s; one row per particle in file order\n", cg_provenance(prov, sizeof prov, seed), what);
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < d; k++) fprintf(o.fp, "%.7g%c", x[i * d + k], k + 1 < d ? ' ' : '\n');
    return cg_outfile_commit(&o);
}

static cg_status write_twins(const char *dir, const int64_t *twin, int64_t n, uint64_t seed) {
    cg_outfile o;
    cg_status s = cg_outfile_open_in(&o, dir, "twins.txt");
    if (s) return s;
    char prov[256];
    fprintf(o.fp, "# %s; --encoder-input permuted: per particle (file order), the 0-based index of the particle whose "
                  "image the encoder sees\n", cg_provenance(prov, sizeof prov, seed));
    for (int64_t i = 0; i < n; i++) fprintf(o.fp, "%lld\n", (long long)twin[i]);
    return cg_outfile_commit(&o);
}

static cg_status write_history(const char *dir, const cg_vae_state *st) {
    cg_outfile o;
    cg_status s = cg_outfile_open_in(&o, dir, "loss.txt");
    if (s) return s;
    char prov[256];
    fprintf(o.fp, "# %s\n# epoch mean_loss mean_mse mean_kl (mean over the epoch's minibatches, weighted by size)\n",
            cg_provenance(prov, sizeof prov, st->cfg.seed));
    for (int64_t e = 0; e < st->epochs_done; e++)
        fprintf(o.fp, "%lld %.8g %.8g %.8g\n", (long long)e + 1, st->history[e][0], st->history[e][1], st->history[e][2]);
    return cg_outfile_commit(&o);
}

/* Encoder pass over all particles in file order (mu, logvar: [N][zdim]). */
static cg_status eval_latents(batcher *bt, float *mu, float *logvar) {
    const int zd = cg_vae_get_config(bt->v)->zdim;
    int64_t idx[4096];
    cg_status s = CG_OK;
    for (int64_t s0 = 0; !s && s0 < bt->p->n; s0 += bt->B) {
        int m = (int)(bt->p->n - s0 < bt->B ? bt->p->n - s0 : bt->B);
        for (int b = 0; b < m; b++) idx[b] = s0 + b;
        s = load_batch(bt, idx, m, 0);
        if (!s) s = cg_vae_encode(bt->v, enc_y(bt), enc_ctf(bt), idx, m, mu + s0 * zd, logvar + s0 * zd);
    }
    return s;
}

static cg_status epoch_outputs(const cg_vae_train_opts *o, batcher *bt, const cg_vae_state *st, float *mu, float *lv) {
    const cg_vae_config *c = cg_vae_get_config(bt->v);
    const int e = (int)st->epochs_done;
    char name[64];
    cg_status s = eval_latents(bt, mu, lv);
    char *path = NULL;
    if (!s) {
        snprintf(name, sizeof name, "z.%d.txt", e);
        path = cg_path_join(o->out_dir, name);
        s = path ? write_matrix(path, mu, bt->p->n, c->zdim, "VAE latent means mu", c->seed) : CG_ERR_NOMEM;
        free(path);
    }
    if (!s && !c->deterministic) {
        snprintf(name, sizeof name, "logvar.%d.txt", e);
        path = cg_path_join(o->out_dir, name);
        s = path ? write_matrix(path, lv, bt->p->n, c->zdim, "VAE latent log-variances", c->seed) : CG_ERR_NOMEM;
        free(path);
    }
    if (!s) {
        cg_vae_state *w = (cg_vae_state *)st; /* provenance of the writing run, zero-padded */
        memset(w->provenance, 0, sizeof w->provenance);
        cg_provenance(w->provenance, sizeof w->provenance, c->seed);
        snprintf(name, sizeof name, "weights.%d.ckpt", e);
        path = cg_path_join(o->out_dir, name);
        s = path ? cg_vae_save(bt->v, st, path) : CG_ERR_NOMEM;
        free(path);
    }
    if (!s) s = write_history(o->out_dir, st);
    return s;
}

/* Particles, model and state, from scratch or from the latest checkpoint of o->load_dir. */
static cg_status setup(const cg_vae_train_opts *o, cg_particles **pp, cg_vae **vp, cg_vae_state *st) {
    cg_status s = cg_particles_read(o->particles, pp);
    if (!s) s = cg_particles_open_stacks(*pp);
    if (s) return s;
    cg_particles *p = *pp;
    if (!p->has_poses)
        return cg_error(CG_ERR_ARG, "%s: no poses (rlnAngleRot/Tilt/Psi); the VAE needs particles with known poses "
                        "(e.g. from a consensus refinement)", o->particles);
    if (!p->has_ctf) CG_WARN("%s: no CTF parameters; training without a CTF", o->particles);
    if (p->image_size % 2) return cg_error(CG_ERR_UNSUPPORTED, "%s: box %d is odd; the VAE needs an even box", o->particles, p->image_size);
    memset(st, 0, sizeof *st); /* padding too: the state is written to the checkpoint byte for byte */
    memcpy(st->magic, "CGVAE2\0\0", 8);
    if (o->load_dir) {
        int e;
        char *path = NULL;
        s = cg_vae_find_latest(o->load_dir, &e, &path);
        if (!s) s = cg_vae_read_state(path, st);
        if (!s && st->n_particles != p->n)
            s = cg_error(CG_ERR_ARG, "%s: trained on %lld particles, but %s has %lld", path, (long long)st->n_particles,
                         o->particles, (long long)p->n);
        if (!s && st->cfg.D != p->image_size)
            s = cg_error(CG_ERR_ARG, "%s: box %d, but the particles have %d", path, st->cfg.D, p->image_size);
        if (!s) s = cg_vae_create(vp, &st->cfg);
        if (!s) s = cg_vae_load(*vp, path);
        if (!s) CG_INFO("resuming from %s (epoch %lld done)", path, (long long)st->epochs_done);
        free(path);
        return s;
    }
    st->cfg = o->cfg;
    st->cfg.n_table = st->cfg.table ? p->n : 0;
    st->cfg.D = p->image_size;
    st->cfg.pixel_size_A = p->pixel_size_A;
    const cg_vae_lattice *L = NULL;
    cg_vae_lattice tmp;
    s = cg_vae_lattice_init(&tmp, p->image_size);
    if (!s) {
        L = &tmp;
        s = cg_vae_estimate_norm(L, p, o->norm_sample > 0 ? o->norm_sample : 1000, &st->cfg.norm_std);
        cg_vae_lattice_free(&tmp);
    }
    if (!s) s = cg_vae_create(vp, &st->cfg);
    if (!s) st->cfg = *cg_vae_get_config(*vp); /* defaults resolved (beta, pe_dim) */
    st->n_particles = p->n;
    if (!s) CG_INFO("%lld particles, box %d, %.4g A/px; Hartley normalisation std %.6g", (long long)p->n, p->image_size,
                    p->pixel_size_A, st->cfg.norm_std);
    return s;
}

static void fmt_time(double s, char *buf, size_t n) {
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

cg_status cg_vae_train(const cg_vae_train_opts *o) {
    if (o->epochs < 1 || o->epochs > CG_VAE_MAX_EPOCHS)
        return cg_error(CG_ERR_ARG, "--epochs %d must be in [1, %d]", o->epochs, CG_VAE_MAX_EPOCHS);
    cg_particles *p = NULL;
    cg_vae *v = NULL;
    cg_vae_state *st = cg_calloc(1, sizeof *st, "VAE state");
    if (!st) return CG_ERR_NOMEM;
    batcher bt;
    memset(&bt, 0, sizeof bt);
    int64_t *order = NULL;
    float *mu = NULL, *lv = NULL;
    cg_status s = setup(o, &p, &v, st);
    if (!s && st->epochs_done >= o->epochs)
        s = cg_error(CG_ERR_ARG, "the checkpoint has %lld epochs already; ask for more than that with --epochs",
                     (long long)st->epochs_done);
    if (!s) s = cg_mkdir_p(o->out_dir);
    const cg_vae_config *c = v ? cg_vae_get_config(v) : NULL;
    if (!s) {
        bt.p = p, bt.v = v, bt.nthr = cg_get_threads(), bt.B = c->batch, bt.n = cg_vae_get_lattice(v)->n;
        bt.prep = cg_calloc((size_t)bt.nthr, sizeof *bt.prep, "VAE workspaces");
        bt.y = cg_malloc((size_t)bt.B * bt.n, sizeof(float), "VAE batch");
        bt.ctf = cg_malloc((size_t)bt.B * bt.n, sizeof(float), "VAE batch");
        bt.A = cg_malloc((size_t)bt.B * 9, sizeof(double), "VAE batch");
        order = cg_malloc((size_t)p->n, sizeof(int64_t), "VAE order");
        mu = cg_malloc((size_t)p->n * c->zdim, sizeof(float), "VAE latents");
        lv = cg_malloc((size_t)p->n * c->zdim, sizeof(float), "VAE latents");
        if (!bt.prep || !bt.y || !bt.ctf || !bt.A || !order || !mu || !lv) s = CG_ERR_NOMEM;
        for (int t = 0; !s && t < bt.nthr; t++) s = cg_vae_prep_create(&bt.prep[t], c->D);
    }
    if (!s && c->encoder_input != CG_VAE_ENC_IMAGES) {
        bt.ey = cg_malloc((size_t)bt.B * bt.n, sizeof(float), "VAE encoder batch");
        bt.ectf = cg_malloc((size_t)bt.B * bt.n, sizeof(float), "VAE encoder batch");
        if (!bt.ey || !bt.ectf) s = CG_ERR_NOMEM;
    }
    if (!s && c->encoder_input == CG_VAE_ENC_PERMUTED) {
        bt.twin = cg_malloc((size_t)p->n, sizeof(int64_t), "VAE twins");
        s = bt.twin ? cg_vae_twins(c->seed, p->n, bt.twin) : CG_ERR_NOMEM;
        if (!s) s = write_twins(o->out_dir, bt.twin, p->n, c->seed);
    }
    if (!s && c->encoder_input != CG_VAE_ENC_IMAGES)
        CG_INFO("control run: the encoder sees %s, not the particle's own image (docs/vae.md)",
                c->encoder_input == CG_VAE_ENC_PERMUTED ? "another particle's image (twins.txt)"
                : c->encoder_input == CG_VAE_ENC_NOISE  ? "fixed white noise"
                                                        : "fresh white noise");
    const double t_run = cg_time_s();
    const int64_t first = st->epochs_done;
    for (int64_t e = first; !s && e < o->epochs; e++) {
        for (int64_t i = 0; i < p->n; i++) order[i] = i;
        cg_rng r;
        cg_rng_init(&r, c->seed, CG_RNG_STREAM_BATCH, (uint64_t)e);
        cg_rng_shuffle(&r, order, p->n);
        double sum[3] = {0, 0, 0};
        cg_progress pr;
        char label[64];
        snprintf(label, sizeof label, "epoch %lld/%d", (long long)e + 1, o->epochs);
        bt.noise_epoch = e;
        cg_progress_begin(&pr, label, "images", p->n);
        const double t0 = cg_time_s();
        for (int64_t s0 = 0; !s && s0 < p->n; s0 += bt.B) {
            int m = (int)(p->n - s0 < bt.B ? p->n - s0 : bt.B);
            cg_vae_losses l;
            s = load_batch(&bt, order + s0, m, 1);
            if (!s) s = cg_vae_loss_grad(v, bt.y, bt.ctf, bt.ey, bt.ectf, bt.A, order + s0, m, e * p->n + s0, &l);
            if (!s && !isfinite(l.loss))
                s = cg_error(CG_ERR_RANGE, "epoch %lld: the loss is not finite (%g); try a smaller --lr", (long long)e + 1, l.loss);
            if (s) break;
            cg_vae_update(v);
            sum[0] += l.loss * m, sum[1] += l.mse * m, sum[2] += l.kl * m;
            cg_progress_update(&pr, s0 + m);
            if (cg_interrupted()) s = cg_error(CG_ERR_INTERRUPTED, "interrupted in epoch %lld", (long long)e + 1);
        }
        cg_progress_end(&pr);
        if (s) break;
        for (int k = 0; k < 3; k++) st->history[e][k] = sum[k] / (double)p->n;
        st->epochs_done = e + 1;
        const double dt = cg_time_s() - t0;
        bt.noise_epoch = e + 1; /* the latent pass: the next epoch's keys, not seen in training so far */
        s = epoch_outputs(o, &bt, st, mu, lv);
        double per_epoch = (cg_time_s() - t_run) / (double)(e + 1 - first);
        char eta[32];
        fmt_time(per_epoch * (double)(o->epochs - e - 1), eta, sizeof eta);
        if (!s)
            CG_INFO("epoch %lld/%d: loss %.6f (mse %.6f, KL %.4f, beta %.4g) %.1f images/s, ETA %s", (long long)e + 1,
                    o->epochs, st->history[e][0], st->history[e][1], st->history[e][2], c->beta, (double)p->n / dt, eta);
    }
    if (bt.prep)
        for (int t = 0; t < bt.nthr; t++) cg_vae_prep_destroy(bt.prep[t]);
    free(bt.prep), free(bt.y), free(bt.ctf), free(bt.ey), free(bt.ectf), free(bt.twin), free(bt.A), free(order), free(mu), free(lv), free(st);
    cg_vae_destroy(v);
    cg_particles_free(p);
    return s;
}
