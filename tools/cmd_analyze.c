/* `cryogen analyze DIR`: latent-space analysis of a VAE trained by `cryogen train-vae`, as
 * cryoDRGN's `analyze`: PCA of the latents, k-means (centres snapped to the nearest particle) with
 * their volumes, volumes along PC1 and PC2 (5th to 95th percentile), SVG plots (latent scatter and
 * density, loss curves) and an HTML page tying them together. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_vae.h"
#include "cryogen/latent.h"
#include "cryogen/plot.h"

/* z.E.txt: rows of zdim numbers ('#' comments). */
static cg_status read_latents(const char *path, int zdim, float **z, int64_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open (was the epoch trained?)", path);
    int64_t cap = 1024, k = 0, line = 0;
    float *v = cg_malloc((size_t)cap * zdim, sizeof(float), "latents");
    char buf[65536];
    cg_status s = v ? CG_OK : CG_ERR_NOMEM;
    while (!s && fgets(buf, sizeof buf, f)) {
        line++;
        if (buf[0] == '#' || buf[0] == '\n') continue;
        if (k == cap) {
            float *nv = realloc(v, sizeof(float) * (size_t)(cap *= 2) * zdim);
            if (!nv) {
                s = cg_error(CG_ERR_NOMEM, "latents");
                break;
            }
            v = nv;
        }
        char *p = buf, *e;
        for (int j = 0; j < zdim; j++, p = e) {
            v[k * zdim + j] = strtof(p, &e);
            if (e == p) {
                s = cg_error(CG_ERR_FORMAT, "%s:%lld: expected %d numbers", path, (long long)line, zdim);
                break;
            }
        }
        k++;
    }
    fclose(f);
    if (!s && k < 2) s = cg_error(CG_ERR_FORMAT, "%s: fewer than 2 latents", path);
    if (s) free(v);
    else *z = v, *n = k;
    return s;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* z for the 5th, 15th, ..., 95th percentile of PC `c` (scores sc[n][npc]) */
static void pc_path(const float *sc, int64_t n, int npc, int c, const double *mean, const double *comp, int zdim,
                    float *out) {
    float *col = malloc(sizeof(float) * (size_t)n);
    if (!col) return;
    for (int64_t i = 0; i < n; i++) col[i] = sc[i * npc + c];
    qsort(col, (size_t)n, sizeof(float), cmp_float);
    for (int q = 0; q < 10; q++) {
        double t = col[(int64_t)((0.05 + 0.1 * q) * (double)(n - 1))];
        for (int j = 0; j < zdim; j++) out[q * zdim + j] = (float)(mean[j] + t * comp[c * zdim + j]);
    }
    free(col);
}

static cg_status plots(const char *out, const float *sc, int64_t n, int npc, const float *csc, int K,
                       const cg_vae_state *st) {
    char path[4400]; /* out (< 4096) + a file name */
    double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
    double cx[256], cy[256];
    if (!x || !y) {
        free(x), free(y);
        return CG_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) x[i] = sc[i * npc], y[i] = npc > 1 ? sc[i * npc + 1] : 0;
    for (int k = 0; k < K && k < 256; k++) cx[k] = csc[k * npc], cy[k] = npc > 1 ? csc[k * npc + 1] : 0;
    cg_plot_series ser[2] = {{"particles", x, y, (int)n, "#4a78b5", 0, n > 20000 ? 0.8 : 1.5},
                             {"k-means centres", cx, cy, K, "#d9482b", 0, 5}};
    cg_line_plot lp;
    memset(&lp, 0, sizeof lp);
    lp.title = "latent space (PCA)";
    lp.xlabel = "PC1";
    lp.ylabel = npc > 1 ? "PC2" : "(1-D latent)";
    lp.series = ser;
    lp.nseries = 2;
    lp.width_px = lp.height_px = 640;
    snprintf(path, sizeof path, "%s/latent_pca.svg", out);
    cg_status s = cg_plot_line_save(path, &lp);
    /* density: 2-D histogram of PC1, PC2 */
    enum { NB = 40 };
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY}, hist[NB * NB] = {0};
    for (int64_t i = 0; i < n; i++) {
        lo[0] = fmin(lo[0], x[i]), hi[0] = fmax(hi[0], x[i]);
        lo[1] = fmin(lo[1], y[i]), hi[1] = fmax(hi[1], y[i]);
    }
    for (int64_t i = 0; i < n; i++) {
        int a = hi[0] > lo[0] ? (int)((x[i] - lo[0]) / (hi[0] - lo[0]) * (NB - 1e-9)) : 0;
        int b = hi[1] > lo[1] ? (int)((y[i] - lo[1]) / (hi[1] - lo[1]) * (NB - 1e-9)) : 0;
        hist[(NB - 1 - b) * NB + a] += 1; /* row 0 at the top: largest PC2 */
    }
    cg_heatmap h;
    memset(&h, 0, sizeof h);
    h.title = "latent density (particles per bin)";
    h.xlabel = "PC1 (low to high)";
    h.ylabel = npc > 1 ? "PC2 (high to low)" : "";
    h.colorbar_label = "particles";
    h.values = hist;
    h.nrows = h.ncols = NB;
    h.cell_px = 12;
    snprintf(path, sizeof path, "%s/latent_density.svg", out);
    if (!s) s = cg_plot_heatmap_save(path, &h);
    /* losses per epoch from the checkpoint's history */
    int E = (int)st->epochs_done;
    double *ep = malloc(sizeof(double) * (size_t)(E > 0 ? E : 1)), *l[3];
    for (int c = 0; c < 3; c++) l[c] = malloc(sizeof(double) * (size_t)(E > 0 ? E : 1));
    if (!s && ep && l[0] && l[1] && l[2] && E > 0) {
        for (int e = 0; e < E; e++) {
            ep[e] = e + 1;
            for (int c = 0; c < 3; c++) l[c][e] = st->history[e][c];
        }
        /* the loss and its MSE share a scale; the unweighted KL gets its own plot */
        cg_plot_series ls[2] = {{"loss (MSE + beta KL)", ep, l[0], E, NULL, 0, 0}, {"MSE", ep, l[1], E, NULL, 1, 0}};
        memset(&lp, 0, sizeof lp);
        lp.title = "training loss per epoch";
        lp.xlabel = "epoch";
        lp.ylabel = "mean loss";
        lp.series = ls;
        lp.nseries = 2;
        snprintf(path, sizeof path, "%s/loss.svg", out);
        s = cg_plot_line_save(path, &lp);
        cg_plot_series ks = {"KL divergence", ep, l[2], E, NULL, 0, 0};
        lp.title = "KL divergence per epoch";
        lp.ylabel = "mean KL (nats per image)";
        lp.series = &ks;
        lp.nseries = 1;
        snprintf(path, sizeof path, "%s/kl.svg", out);
        if (!s) s = cg_plot_line_save(path, &lp);
    }
    free(x), free(y), free(ep);
    for (int c = 0; c < 3; c++) free(l[c]);
    return s;
}

static cg_status html(const char *out, const char *dir, int epoch, int64_t n, int zdim, int K, const int *centre_ind,
                      const double *var, int npc, int volumes) {
    char path[4400]; /* out (< 4096) + a file name */
    snprintf(path, sizeof path, "%s/index.html", out);
    cg_outfile o;
    cg_status s = cg_outfile_open(&o, path);
    if (s) return s;
    char prov[256];
    FILE *f = o.fp;
    fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>cryogen analyze: %s epoch %d</title>\n"
               "<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto}img{max-width:640px;margin:4px}"
               "td,th{padding:2px 10px;text-align:right}</style></head><body>\n",
            dir, epoch);
    fprintf(f, "<h1>VAE analysis: %s, epoch %d</h1>\n<p>%lld particles, %d-dimensional latents. %s</p>\n", dir, epoch,
            (long long)n, zdim, cg_provenance(prov, sizeof prov, CG_NO_SEED));
    fprintf(f, "<h2>Latent space</h2><p>");
    for (int c = 0; c < npc; c++) fprintf(f, "PC%d variance %.4g. ", c + 1, var[c]);
    fprintf(f, "</p>\n<img src=\"latent_pca.svg\"><img src=\"latent_density.svg\">\n<h2>Training</h2>\n<img src=\"loss.svg\"><img src=\"kl.svg\">\n");
    fprintf(f, "<h2>k-means (%d clusters, centres snapped to the nearest particle)</h2>\n", K);
    fprintf(f, "<p>Labels: <a href=\"kmeans/labels.txt\">kmeans/labels.txt</a>; centres: <a href=\"kmeans/centers.txt\">"
               "kmeans/centers.txt</a>.%s</p>\n<table><tr><th>cluster</th><th>particle (0-based)</th>%s</tr>\n",
            volumes ? " Open all in ChimeraX: <code>open kmeans/vol.cxc</code>." : "", volumes ? "<th>volume</th>" : "");
    for (int k = 0; k < K; k++) {
        fprintf(f, "<tr><td>%d</td><td>%d</td>", k, centre_ind[k]);
        if (volumes) fprintf(f, "<td><a href=\"kmeans/vol_%03d.mrc\">kmeans/vol_%03d.mrc</a></td>", k, k);
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
    if (volumes) {
        fprintf(f, "<h2>Volumes along the principal components (5th to 95th percentile)</h2><ul>\n");
        for (int c = 0; c < npc; c++)
            fprintf(f, "<li>PC%d: <code>pc%d/vol_000.mrc</code> ... <code>pc%d/vol_009.mrc</code>; ChimeraX: "
                       "<code>open pc%d/vol.cxc</code></li>\n", c + 1, c + 1, c + 1, c + 1);
        fprintf(f, "</ul>\n");
    }
    fprintf(f, "</body></html>\n");
    return cg_outfile_commit(&o);
}

static cg_status write_text(const char *path, const char *head, const float *v, int64_t n, int d, const int *iv) {
    cg_outfile o;
    cg_status s = cg_outfile_open(&o, path);
    if (s) return s;
    fprintf(o.fp, "# %s\n", head);
    for (int64_t i = 0; i < n; i++) {
        if (iv) fprintf(o.fp, "%d\n", iv[i]);
        else {
            for (int j = 0; j < d; j++) fprintf(o.fp, "%s%.7g", j ? " " : "", v[i * d + j]);
            fprintf(o.fp, "\n");
        }
    }
    return cg_outfile_commit(&o);
}

static int run(int argc, char **argv) {
    int epoch = 0, K = 20, no_vol = 0;
    uint64_t seed = 0;
    const char *outdir = NULL;
    const cg_opt opts[] = {
        {"epoch", 0, CG_OPT_INT, &epoch, "E", "analyse epoch E (default: the latest)"},
        {"ksample", 0, CG_OPT_INT, &K, "K", "k-means clusters"},
        {"out", 'o', CG_OPT_STRING, &outdir, "DIR", "output folder (default: DIR/analyze.E)"},
        {"no-volumes", 0, CG_OPT_FLAG, &no_vol, NULL, "skip generating volumes (plots and clusters only)"},
        {"seed", 0, CG_OPT_U64, &seed, "SEED", "k-means seed"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen analyze DIR [options]",
        "Latent-space analysis of a VAE trained by 'cryogen train-vae': PCA of the latents, k-means with\n"
        "centres snapped to the nearest particle and their volumes, volumes along PC1 and PC2 (5th to 95th\n"
        "percentile), SVG plots (latent scatter, density, losses) and DIR/analyze.E/index.html.",
        opts, 1, 1, "  cryogen analyze vae_out\n  cryogen analyze vae_out --epoch 25 --ksample 10"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (K < 1 || K > 256) return cg_cli_usage_error(argv[0], "--ksample %d: must be in [1, 256]", K);
    cg_vae *v = NULL;
    cg_vae_state *st = NULL;
    char *ckpt = NULL, zpath[4096], out[4000], buf[4200];
    float *z = NULL, *sc = NULL, *cen = NULL, *csc = NULL, *traj = NULL;
    int *lab = NULL, cind[256];
    int64_t n = 0;
    double mean[1024], *comp = NULL, var[2] = {0, 0};
    cg_status s = cg_tool_vae_load(pos[0], epoch, &v, &st, &ckpt, &epoch);
    const int zd = st ? st->cfg.zdim : 1, npc = zd > 1 ? 2 : 1;
    if (!s && zd > 1024) s = cg_error(CG_ERR_UNSUPPORTED, "latent dimension %d > 1024", zd);
    snprintf(zpath, sizeof zpath, "%s/z.%d.txt", pos[0], epoch);
    if (outdir) snprintf(out, sizeof out, "%s", outdir);
    else snprintf(out, sizeof out, "%s/analyze.%d", pos[0], epoch);
    if (!s) s = read_latents(zpath, zd, &z, &n);
    if (!s && K > n) K = (int)n;
    if (!s) {
        sc = cg_malloc((size_t)n * npc, sizeof(float), "scores");
        comp = cg_malloc((size_t)zd * zd, sizeof(double), "components");
        cen = cg_malloc((size_t)K * zd, sizeof(float), "centres");
        csc = cg_malloc((size_t)K * npc, sizeof(float), "centre scores");
        lab = cg_malloc((size_t)n, sizeof(int), "labels");
        traj = cg_malloc((size_t)10 * zd, sizeof(float), "trajectory");
        if (!sc || !comp || !cen || !csc || !lab || !traj) s = CG_ERR_NOMEM;
    }
    if (!s && zd > 1) s = cg_pca(z, n, zd, npc, mean, comp, var, sc);
    if (!s && zd == 1) { /* a 1-D latent is its own axis */
        mean[0] = 0, comp[0] = 1;
        for (int64_t i = 0; i < n; i++) sc[i] = z[i];
    }
    double inertia;
    if (!s) s = cg_kmeans(z, n, zd, K, seed, 100, cen, lab, &inertia);
    for (int k = 0; !s && k < K; k++) { /* snap each centre to its nearest particle */
        double bd = INFINITY;
        for (int64_t i = 0; i < n; i++) {
            double d = 0;
            for (int j = 0; j < zd; j++) d += ((double)z[i * zd + j] - cen[k * zd + j]) * ((double)z[i * zd + j] - cen[k * zd + j]);
            if (d < bd) bd = d, cind[k] = (int)i;
        }
        memcpy(cen + k * zd, z + (int64_t)cind[k] * zd, sizeof(float) * (size_t)zd);
        for (int c = 0; c < npc; c++) csc[k * npc + c] = sc[(int64_t)cind[k] * npc + c];
    }
    if (!s) s = cg_mkdir_p(out);
    snprintf(buf, sizeof buf, "%s/kmeans", out);
    if (!s) s = cg_mkdir_p(buf);
    snprintf(buf, sizeof buf, "%s/kmeans/labels.txt", out);
    if (!s) s = write_text(buf, "k-means label of each particle (file order)", NULL, n, 1, lab);
    snprintf(buf, sizeof buf, "%s/kmeans/centers.txt", out);
    if (!s) s = write_text(buf, "k-means centres snapped to the nearest particle (latents)", cen, K, zd, NULL);
    snprintf(buf, sizeof buf, "%s/kmeans/centers_ind.txt", out);
    if (!s) s = write_text(buf, "particle index (0-based) of each snapped centre", NULL, K, 1, cind);
    if (!s) s = plots(out, sc, n, npc, csc, K, st);
    if (!s && !no_vol) {
        snprintf(buf, sizeof buf, "%s/kmeans/vol", out);
        s = cg_tool_vae_volume_series(v, st, cen, K, buf, ckpt, epoch, 1);
        for (int c = 0; !s && c < npc; c++) {
            pc_path(sc, n, npc, c, mean, comp, zd, traj);
            snprintf(buf, sizeof buf, "%s/pc%d/vol", out, c + 1);
            s = cg_tool_vae_volume_series(v, st, traj, 10, buf, ckpt, epoch, 1);
        }
    }
    if (!s) s = html(out, pos[0], epoch, n, zd, K, cind, var, npc, !no_vol);
    if (!s)
        printf("analysed %lld latents (%d-D) of epoch %d: PCA, k-means (%d)%s\nopen %s/index.html\n", (long long)n, zd,
               epoch, K, no_vol ? "" : ", volumes at the centres and along the PCs", out);
    free(ckpt), free(st), free(z), free(sc), free(comp), free(cen), free(csc), free(lab), free(traj);
    cg_vae_destroy(v);
    return s ? cg_cli_fail(argv[0], s) : 0;
}

const cg_cli_command cg_cmd_analyze = {"analyze", "latent PCA, k-means and volumes of a trained VAE, with plots and HTML", run};
