/* `cryogen sample`: draw images from a trained EDM denoiser with the Heun sampler (EDM
 * Algorithm 2, rho = 7 schedule, optional churn). Writes S.mrcs (raw pixel units: the model's
 * normalisation undone) and S.png, a montage scaled from the 0.5th to the 99.5th percentile
 * of all pixels (8-bit greyscale PNG with stored deflate blocks, src/io/png.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cryogen/mrc.h"
#include "cryogen/plot.h"
#include "cryogen/png.h"
#include "cryogen/score.h"

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static cg_status write_montage(const char *path, const float *img, int64_t n, int D) {
    int cols = (int)ceil(sqrt((double)n)), rows = (int)((n + cols - 1) / cols), gap = 2;
    int W = cols * (D + gap) + gap, H = rows * (D + gap) + gap;
    size_t total = (size_t)n * D * D;
    float *sorted = malloc(sizeof(float) * total);
    uint8_t *pix = calloc((size_t)W * H, 1);
    if (!sorted || !pix) {
        free(sorted), free(pix);
        return cg_error(CG_ERR_NOMEM, "montage of %lld images", (long long)n);
    }
    memcpy(sorted, img, sizeof(float) * total);
    qsort(sorted, total, sizeof(float), cmp_float);
    double lo = sorted[(size_t)(0.005 * (double)(total - 1))], hi = sorted[(size_t)(0.995 * (double)(total - 1))];
    if (!(hi > lo)) hi = lo + 1;
    for (int64_t k = 0; k < n; k++) {
        int r = (int)(k / cols), c = (int)(k % cols);
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++) {
                double v = (img[(size_t)k * D * D + (size_t)y * D + x] - lo) / (hi - lo);
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                /* image row 0 at the top of the montage */
                pix[(size_t)(gap + r * (D + gap) + y) * W + gap + c * (D + gap) + x] = (uint8_t)lround(255 * v);
            }
    }
    cg_status s = cg_png_write_gray8(path, pix, W, H);
    free(sorted), free(pix);
    return s;
}

/* Radial power spectra of the samples and of the reference images (masked as in training):
 * PREFIX_spectrum.tsv and PREFIX_spectrum.svg; prints the mean and largest |log10 ratio| over
 * shells 1 .. D/2 - 1. */
static cg_status compare_spectra(const char *prefix, const char *ref_path, const float *img, int64_t n,
                                 const cg_score_config *cfg, uint64_t seed) {
    cg_mrc_header h;
    float *ref = NULL;
    cg_status s = cg_mrc_read(ref_path, &h, &ref);
    if (!s && (h.nx != cfg->D || h.ny != cfg->D))
        s = cg_error(CG_ERR_ARG, "--compare %s: images %d x %d, samples %d^2", ref_path, h.nx, h.ny, cfg->D);
    int R = cfg->D / 2;
    double *ps = malloc(sizeof(double) * (R + 1)), *pr = malloc(sizeof(double) * (R + 1));
    double *x = malloc(sizeof(double) * (R + 1)), *ls = malloc(sizeof(double) * (R + 1)), *lr = malloc(sizeof(double) * (R + 1));
    if (!s && (!ps || !pr || !x || !ls || !lr)) s = CG_ERR_NOMEM;
    if (!s) s = cg_score_radial_power(img, n, cfg->D, cfg->mask_radius_px, ps);
    if (!s) s = cg_score_radial_power(ref, h.nz, cfg->D, cfg->mask_radius_px, pr);
    char path[4096 + 32];
    snprintf(path, sizeof path, "%s_spectrum.tsv", prefix);
    cg_outfile o;
    if (!s) s = cg_outfile_open(&o, path);
    double mean_dev = 0, max_dev = 0;
    if (!s) {
        char prov[256];
        fprintf(o.fp, "# %s\n# radial power |F|^2/D^2 (masked, radius %g px): %lld samples vs %lld images of %s\n",
                cg_provenance(prov, sizeof prov, seed), cfg->mask_radius_px, (long long)n, (long long)h.nz, ref_path);
        fprintf(o.fp, "# shell\tcycles_per_px\tpower_samples\tpower_images\tratio\n");
        for (int r = 0; r <= R; r++) {
            fprintf(o.fp, "%d\t%.6f\t%.6g\t%.6g\t%.6g\n", r, (double)r / cfg->D, ps[r], pr[r], ps[r] / pr[r]);
            x[r] = (double)r / cfg->D, ls[r] = log10(ps[r]), lr[r] = log10(pr[r]);
            if (r >= 1 && r < R) {
                double d = fabs(log10(ps[r] / pr[r]));
                mean_dev += d / (R - 1), max_dev = d > max_dev ? d : max_dev;
            }
        }
        s = cg_outfile_commit(&o);
    }
    if (!s) {
        cg_plot_series ser[2] = {{"samples", x, ls, R + 1, NULL, 0, 0}, {"training images", x, lr, R + 1, NULL, 1, 0}};
        cg_line_plot lp;
        memset(&lp, 0, sizeof lp);
        lp.title = "radial power spectrum";
        lp.xlabel = "spatial frequency (cycles/px)";
        lp.ylabel = "log10 power";
        lp.series = ser, lp.nseries = 2;
        snprintf(path, sizeof path, "%s_spectrum.svg", prefix);
        s = cg_plot_line_save(path, &lp);
    }
    if (!s)
        printf("radial power spectrum vs %s: mean |log10(samples/images)| %.3f, max %.3f over shells 1..%d; "
               "wrote %s_spectrum.tsv/.svg\n", ref_path, mean_dev, max_dev, R - 1, prefix);
    free(ref), free(ps), free(pr), free(x), free(ls), free(lr);
    return s;
}

static int run(int argc, char **argv) {
    const char *out = NULL, *png = NULL, *compare = NULL;
    int64_t n = 16, first = 0;
    int batch = 16, no_ema = 0;
    cg_edm_sampler_config c;
    cg_edm_sampler_defaults(&c);
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &out, "S.mrcs", "output stack"},
        {"png", 0, CG_OPT_STRING, &png, "S.png", "montage (default: the output name with .png)"},
        {"n", 0, CG_OPT_INT64, &n, "N", "number of samples"},
        {"first", 0, CG_OPT_INT64, &first, "K", "index of the first sample (noise stream of sample k)"},
        {"steps", 0, CG_OPT_INT, &c.steps, "N", "sampler steps (2N-1 denoiser evaluations)"},
        {"sigma-min", 0, CG_OPT_DOUBLE, &c.sigma_min, "S", "smallest noise level"},
        {"sigma-max", 0, CG_OPT_DOUBLE, &c.sigma_max, "S", "largest noise level"},
        {"rho", 0, CG_OPT_DOUBLE, &c.rho, "RHO", "schedule exponent"},
        {"churn", 0, CG_OPT_DOUBLE, &c.S_churn, "S", "S_churn (0: deterministic)"},
        {"s-tmin", 0, CG_OPT_DOUBLE, &c.S_tmin, "S", "churn only for sigma >= S_tmin"},
        {"s-tmax", 0, CG_OPT_DOUBLE, &c.S_tmax, "S", "churn only for sigma <= S_tmax"},
        {"s-noise", 0, CG_OPT_DOUBLE, &c.S_noise, "S", "S_noise: scale of the churn noise"},
        {"seed", 0, CG_OPT_U64, &c.seed, "SEED", "sampler noise seed"},
        {"batch", 0, CG_OPT_INT, &batch, "B", "images per denoiser call"},
        {"no-ema", 0, CG_OPT_FLAG, &no_ema, NULL, "use the raw weights instead of their EMA"},
        {"compare", 0, CG_OPT_STRING, &compare, "IMAGES.mrcs", "radial power spectrum of the samples vs these images"},
        {0}};
    const cg_cli_spec spec = {"cryogen sample DIR --n N --out S.mrcs [options]",
                              "Draw images from the denoiser in DIR (cryogen train-denoiser) with the EDM Heun sampler.",
                              opts, 1, 1,
                              "  cryogen sample den --n 16 --out samples.mrcs\n"
                              "  cryogen sample den --n 16 --churn 40 --s-tmin 0.05 --s-tmax 50 --s-noise 1.003 --out s.mrcs"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!out) return cg_cli_usage_error("sample", "--out S.mrcs is required");
    if (n < 1 || first < 0 || batch < 1) return cg_cli_usage_error("sample", "--n and --batch must be positive, --first >= 0");
    char *pngpath = NULL;
    if (!png) {
        size_t L = strlen(out);
        pngpath = malloc(L + 5);
        if (!pngpath) return cg_cli_fail("sample", CG_ERR_NOMEM);
        strcpy(pngpath, out);
        char *dot = strrchr(pngpath, '.');
        if (dot && !strchr(dot, '/')) *dot = '\0';
        strcat(pngpath, ".png");
        png = pngpath;
    }
    cg_score_net *net = NULL;
    cg_status s = cg_score_load(&net, pos[0], !no_ema);
    float *img = NULL;
    int64_t nfe = 0;
    double t0 = cg_time_s();
    const cg_score_config *cfg = s ? NULL : cg_score_net_config(net);
    if (!s) s = cg_score_net_reserve(net, batch);
    if (!s) {
        img = malloc(sizeof(float) * (size_t)n * cfg->D * cfg->D);
        if (!img) s = cg_error(CG_ERR_NOMEM, "%lld samples", (long long)n);
    }
    if (!s) s = cg_score_sample(net, &c, first, n, img, &nfe);
    double dt = cg_time_s() - t0;
    if (!s) {
        size_t tot = (size_t)n * cfg->D * cfg->D;
        for (size_t i = 0; i < tot; i++) img[i] = img[i] * cfg->img_std + cfg->img_mean;
        char label[160];
        snprintf(label, sizeof label, "sample: EDM Heun %d steps, churn %g, seed %llu", c.steps, c.S_churn,
                 (unsigned long long)c.seed);
        s = cg_mrc_write(out, img, cfg->D, cfg->D, (int)n, 1.0f, 1, label);
    }
    if (!s) s = write_montage(png, img, n, cfg->D);
    if (!s && compare) {
        char prefix[4096];
        snprintf(prefix, sizeof prefix, "%s", png);
        char *dot = strrchr(prefix, '.');
        if (dot && !strchr(dot, '/')) *dot = '\0';
        s = compare_spectra(prefix, compare, img, n, cfg, c.seed);
    }
    if (!s)
        printf("sampled %lld images of %d^2 in %.2f s (%lld denoiser evaluations each, %.1f image-evaluations/s)\n"
               "wrote %s and %s\n",
               (long long)n, cfg->D, dt, (long long)nfe, dt > 0 ? (double)n * nfe / dt : 0, out, png);
    free(img), free(pngpath);
    cg_score_net_destroy(net);
    return s ? cg_cli_fail("sample", s) : CG_EXIT_OK;
}

const cg_cli_command cg_cmd_sample = {"sample", "draw images from a trained EDM denoiser (Heun sampler)", run};
