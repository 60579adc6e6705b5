/* `cryogen diagnose-encoder DIR PARTICLES.star`: amortisation diagnostics of a VAE encoder (the
 * amortisation case study of the review): encode every sampled image as prepared for training,
 * shifted by one pixel, and rotated by 90 degrees in-plane, and report how far the latents move
 * relative to the spread of the latents. An encoder that has learned the conformation, not the
 * pose, moves little; a ratio near 1 or more means the latent encodes position or orientation.
 *
 * Shift: the particle's origin is offset by one pixel along x before re-centring. Rotation: the
 * encoder's input (Hartley values and CTF on the disc lattice, which is closed under 90-degree
 * rotations) is rotated, (kx, ky) -> (-ky, kx), i.e. the image and its CTF turned together. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_maps.h"
#include "cli_vae.h"
#include "cryogen/particles.h"

/* map[i] = index of the lattice point R^T k_i for R a +90 degree rotation: (kx, ky) -> (ky, -kx) */
static cg_status rotation_map(const cg_vae_lattice *L, int *map) {
    const int D = L->D;
    int *at = cg_malloc((size_t)D * D, sizeof(int), "lattice index");
    if (!at) return CG_ERR_NOMEM;
    for (int i = 0; i < D * D; i++) at[i] = -1;
    for (int i = 0; i < L->n; i++) at[(L->ky[i] + D / 2) * D + L->kx[i] + D / 2] = i;
    cg_status s = CG_OK;
    for (int i = 0; i < L->n && !s; i++) {
        int sx = L->ky[i], sy = -L->kx[i]; /* source point R^T k */
        int j = (sx + D / 2 >= 0 && sx + D / 2 < D && sy + D / 2 >= 0 && sy + D / 2 < D) ? at[(sy + D / 2) * D + sx + D / 2] : -1;
        if (j < 0) s = cg_error(CG_ERR_INTERNAL, "lattice point (%d, %d) has no 90-degree partner", L->kx[i], L->ky[i]);
        map[i] = j;
    }
    for (int i = 0; i < L->n && !s; i++) /* four quarter turns are the identity */
        if (map[map[map[map[i]]]] != i) s = cg_error(CG_ERR_INTERNAL, "90-degree lattice map is not a 4-cycle at %d", i);
    free(at);
    return s;
}

typedef struct {
    double spread, move_shift, move_rot; /* RMS distances */
} diag;

/* mode 0: as trained; 1: origin offset by shift_px pixels along x; 2: input turned by
 * `turns` quarter turns */
static cg_status encode_sample(cg_vae *v, cg_particles *p, const int64_t *idx, int64_t ns, const int *rmap, int mode,
                               double shift_px, int turns, float *mu) {
    const cg_vae_config *c = cg_vae_get_config(v);
    const cg_vae_lattice *L = cg_vae_get_lattice(v);
    const int B = c->batch, n = L->n;
    float *y = cg_malloc((size_t)B * n, sizeof(float), "batch"), *ct = cg_malloc((size_t)B * n, sizeof(float), "batch");
    float *tmp = cg_malloc((size_t)n, sizeof(float), "point"), *tmp2 = cg_malloc((size_t)n, sizeof(float), "point");
    cg_vae_prep *w = NULL;
    cg_status s = (y && ct && tmp && tmp2) ? cg_vae_prep_create(&w, c->D) : CG_ERR_NOMEM;
    for (int64_t b0 = 0; !s && b0 < ns; b0 += B) {
        int m = (int)(ns - b0 < B ? ns - b0 : B);
        for (int b = 0; !s && b < m; b++) {
            int64_t i = idx[b0 + b];
            double ox = p->shift_A[2 * i];
            if (mode == 1) p->shift_A[2 * i] += shift_px * p->pixel_size_A;
            s = cg_vae_prepare(L, p, i, c->norm_std, w, y + (size_t)b * n, ct + (size_t)b * n);
            p->shift_A[2 * i] = ox;
            for (int t = 0; !s && mode == 2 && t < turns; t++) {
                for (int k = 0; k < n; k++) tmp[k] = y[(size_t)b * n + rmap[k]], tmp2[k] = ct[(size_t)b * n + rmap[k]];
                memcpy(y + (size_t)b * n, tmp, sizeof(float) * n);
                memcpy(ct + (size_t)b * n, tmp2, sizeof(float) * n);
            }
        }
        if (!s) s = cg_vae_encode(v, y, ct, idx + b0, m, mu + b0 * c->zdim, NULL);
    }
    cg_vae_prep_destroy(w);
    free(y), free(ct), free(tmp), free(tmp2);
    return s;
}

static double rms_move(const float *a, const float *b, int64_t n, int d) {
    double s = 0;
    for (int64_t i = 0; i < n * d; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s / (double)n);
}

static int run(int argc, char **argv) {
    int epoch = 0, turns = 1;
    int64_t nsample = 1000;
    double shift_px = 1;
    const char *json = NULL, *zout = NULL;
    const cg_opt opts[] = {{"epoch", 0, CG_OPT_INT, &epoch, "E", "diagnose epoch E (default: the latest)"},
                           {"shift-px", 0, CG_OPT_DOUBLE, &shift_px, "S", "shift applied along x, pixels"},
                           {"quarter-turns", 0, CG_OPT_INT, &turns, "Q", "rotation applied, in 90-degree turns (0 to 3)"},
                           {"sample", 0, CG_OPT_INT64, &nsample, "N", "particles encoded (spread evenly over the set)"},
                           {"json", 0, CG_OPT_STRING, &json, "FILE", "write the results as JSON"},
                           {"z-out", 0, CG_OPT_STRING, &zout, "FILE",
                            "write the latents of the sampled particles' own images (one row each, sample order)"},
                           {0}};
    const cg_cli_spec spec = {
        "cryogen diagnose-encoder DIR PARTICLES.star [options]",
        "Amortisation diagnostics of a VAE encoder trained by 'cryogen train-vae' on PARTICLES.star: how far\n"
        "the latents move when each image is shifted by one pixel or rotated by 90 degrees, relative to the\n"
        "spread (RMS distance from the mean) of the latents. Every image is the particle's own, also for a\n"
        "control run (train-vae --encoder-input permuted|noise|fresh-noise): see docs/vae.md for how to read those.",
        opts, 2, 2, "  cryogen diagnose-encoder vae_out particles.star --sample 2000"};
    const char *pos[2];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (nsample < 2) return cg_cli_usage_error(argv[0], "--sample must be at least 2");
    if (turns < 0 || turns > 3) return cg_cli_usage_error(argv[0], "--quarter-turns %d: must be 0 to 3", turns);
    cg_vae *v = NULL;
    cg_vae_state *st = NULL;
    char *ckpt = NULL;
    cg_particles *p = NULL;
    float *mu[3] = {NULL, NULL, NULL};
    int64_t *idx = NULL;
    int *rmap = NULL;
    diag d = {0, 0, 0};
    cg_status s = cg_tool_vae_load(pos[0], epoch, &v, &st, &ckpt, &epoch);
    if (!s && st->cfg.table)
        s = cg_error(CG_ERR_ARG, "%s was trained with --latents table: there is no encoder to diagnose", pos[0]);
    if (!s) s = cg_particles_read(pos[1], &p);
    if (!s) s = cg_particles_open_stacks(p);
    if (!s && (p->image_size != st->cfg.D || !p->has_poses))
        s = cg_error(CG_ERR_ARG, "%s: box %d%s; the VAE was trained on box %d with poses", pos[1], p->image_size,
                     p->has_poses ? "" : ", no poses", st->cfg.D);
    const int zd = st ? st->cfg.zdim : 1;
    int64_t ns = p && nsample > p->n ? p->n : nsample;
    if (!s) {
        idx = cg_malloc((size_t)ns, sizeof *idx, "sample");
        rmap = cg_malloc((size_t)cg_vae_get_lattice(v)->n, sizeof(int), "rotation map");
        for (int m = 0; m < 3; m++) mu[m] = cg_malloc((size_t)ns * zd, sizeof(float), "latents");
        if (!idx || !rmap || !mu[0] || !mu[1] || !mu[2]) s = CG_ERR_NOMEM;
    }
    for (int64_t k = 0; !s && k < ns; k++) idx[k] = k * p->n / ns;
    if (!s) s = rotation_map(cg_vae_get_lattice(v), rmap);
    for (int m = 0; !s && m < 3; m++) s = encode_sample(v, p, idx, ns, rmap, m, shift_px, turns, mu[m]);
    if (!s) {
        double mean[1024] = {0};
        for (int64_t i = 0; i < ns; i++)
            for (int j = 0; j < zd && j < 1024; j++) mean[j] += mu[0][i * zd + j] / (double)ns;
        double ss = 0;
        for (int64_t i = 0; i < ns; i++)
            for (int j = 0; j < zd && j < 1024; j++) ss += (mu[0][i * zd + j] - mean[j]) * (mu[0][i * zd + j] - mean[j]);
        d.spread = sqrt(ss / (double)ns);
        d.move_shift = rms_move(mu[0], mu[1], ns, zd);
        d.move_rot = rms_move(mu[0], mu[2], ns, zd);
        printf("encoder of %s (epoch %d), %lld particles of %s:\n", pos[0], epoch, (long long)ns, pos[1]);
        printf("  latent spread (RMS distance from the mean)   %.4g\n", d.spread);
        printf("  shift by %g px:  RMS latent move %.4g = %.3f x spread\n", shift_px, d.move_shift, d.move_shift / d.spread);
        printf("  rotate %d deg:  RMS latent move %.4g = %.3f x spread\n", 90 * turns, d.move_rot, d.move_rot / d.spread);
        const int mode = st->cfg.encoder_input;
        if (mode != CG_VAE_ENC_IMAGES)
            printf("note: a control run (--encoder-input %s): in training, particle i's latent came from %s, never from\n"
                   "  its own image, so its z.E.txt can correlate with the truth only by memorising fixed input -> latent\n"
                   "  pairs; the latents above (own images) should carry no information on the conformation (compare\n"
                   "  'cryogen evaluate --latents' of --z-out with the normal run's: |Spearman rho| near 0 here).\n",
                   mode == CG_VAE_ENC_PERMUTED ? "permuted" : mode == CG_VAE_ENC_NOISE ? "noise" : "fresh-noise",
                   mode == CG_VAE_ENC_PERMUTED ? "another particle's image (DIR/twins.txt)"
                   : mode == CG_VAE_ENC_NOISE  ? "fixed white noise"
                                               : "fresh white noise (no memorisation possible)");
    }
    if (!s && zout) {
        char prov[256], what[512];
        snprintf(what, sizeof what, "encoder latents mu of each sampled particle's own image (%s, epoch %d)", pos[0], epoch);
        cg_outfile o;
        s = cg_outfile_open(&o, zout);
        if (!s) {
            fprintf(o.fp, "# %s; %s; row k: particle floor(k * %lld / %lld) (0-based, file order)\n",
                    cg_provenance(prov, sizeof prov, CG_NO_SEED), what, (long long)p->n, (long long)ns);
            for (int64_t i = 0; i < ns; i++)
                for (int k = 0; k < zd; k++) fprintf(o.fp, "%.7g%c", mu[0][i * zd + k], k + 1 < zd ? ' ' : '\n');
            s = cg_outfile_commit(&o);
        }
    }
    if (!s && json) {
        cg_outfile o;
        char prov[256];
        s = cg_outfile_open(&o, json);
        if (!s) {
            fprintf(o.fp, "{\"command\": \"diagnose-encoder\", \"provenance\": \"%s\", \"checkpoint\": ",
                    cg_provenance(prov, sizeof prov, CG_NO_SEED));
            cli_json_str(o.fp, ckpt);
            fprintf(o.fp, ", \"sample\": %lld,"
                          " \"latent_spread\": %.6g, \"shift_px\": %g, \"shift_move\": %.6g, \"shift_ratio\": %.6g,"
                          " \"rotate_deg\": %d, \"rotate_move\": %.6g, \"rotate_ratio\": %.6g, \"encoder_input\": \"%s\"}\n",
                    (long long)ns, d.spread, shift_px, d.move_shift,
                    d.move_shift / d.spread, 90 * turns, d.move_rot, d.move_rot / d.spread,
                    st->cfg.encoder_input == CG_VAE_ENC_PERMUTED ? "permuted"
                    : st->cfg.encoder_input == CG_VAE_ENC_NOISE       ? "noise"
                    : st->cfg.encoder_input == CG_VAE_ENC_FRESH_NOISE ? "fresh-noise"
                                                                      : "images");
            s = cg_outfile_commit(&o);
        }
    }
    for (int m = 0; m < 3; m++) free(mu[m]);
    free(idx), free(rmap), free(ckpt), free(st);
    cg_particles_free(p);
    cg_vae_destroy(v);
    return s ? cg_cli_fail(argv[0], s) : 0;
}

const cg_cli_command cg_cmd_diagnose_encoder = {"diagnose-encoder", "how far VAE latents move for 1-px shifts and 90-degree rotations", run};
