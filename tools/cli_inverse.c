/* Driver shared by `cryogen ct` and `cryogen mri`: see cli_inverse.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_inverse.h"
#include "cli_maps.h"
#include "cryogen/mrc.h"
#include "cryogen/png.h"

char *cg_cli_inverse_path(const char *prefix, const char *suffix) {
    size_t n = strlen(prefix) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%s", prefix, suffix);
    return p;
}

/* Montage: one row per image (at most 16), columns truth (if any) | baseline | reconstruction |
 * std map. Image columns share the truth's (or the baseline's) 0..max scale; the std column is
 * scaled to its own maximum over all images. */
static cg_status write_montage(const char *path, int64_t n, int D, const float *truth, const float *base,
                               const float *rec, const float *std) {
    int rows = n > 16 ? 16 : (int)n, cols = truth ? 4 : 3, gap = 2;
    int W = cols * (D + gap) + gap, H = rows * (D + gap) + gap;
    uint8_t *pix = calloc((size_t)W * H, 1);
    if (!pix) return cg_error(CG_ERR_NOMEM, "montage");
    size_t P = (size_t)D * D;
    const float *ref = truth ? truth : base;
    double hi = 0, shi = 0;
    for (size_t i = 0; i < (size_t)rows * P; i++) hi = fmax(hi, ref[i]), shi = fmax(shi, std[i]);
    if (!(hi > 0)) hi = 1;
    if (!(shi > 0)) shi = 1;
    for (int r = 0; r < rows; r++) {
        const float *col[4];
        int c = 0;
        if (truth) col[c++] = truth + r * P;
        col[c++] = base + r * P, col[c++] = rec + r * P, col[c++] = std + r * P;
        for (int k = 0; k < cols; k++)
            for (int y = 0; y < D; y++)
                for (int x = 0; x < D; x++) {
                    double v = col[k][(size_t)y * D + x] / (k == cols - 1 ? shi : hi);
                    v = v < 0 ? 0 : v > 1 ? 1 : v;
                    pix[(size_t)(gap + r * (D + gap) + y) * W + gap + k * (D + gap) + x] = (uint8_t)lround(255 * v);
                }
    }
    cg_status s = cg_png_write_gray8(path, pix, W, H);
    free(pix);
    return s;
}

typedef struct {
    double psnr_base, ssim_base, psnr_rec, ssim_rec, mean_std, wall_s;
} image_result;

static cg_status write_json(const cg_cli_inverse_run *r, const char *path, int64_t n, const image_result *res,
                            int have_truth, double total_s) {
    cg_outfile o;
    cg_status s = cg_outfile_open(&o, path);
    if (s) return s;
    char prov[256];
    FILE *f = o.fp;
    fprintf(f, "{\n  \"command\": \"%s\",\n  \"provenance\": \"%s\",\n  \"settings\": {%s},\n", r->cmd,
            cg_provenance(prov, sizeof prov, r->sc.seed), r->settings);
    fputs("  \"input\": ", f);
    cli_json_str(f, r->input);
    fputs(",\n  \"truth\": ", f);
    cli_json_str_or_null(f, r->truth);
    fputs(",\n  \"denoiser\": ", f);
    cli_json_str_or_null(f, r->den_dir);
    fprintf(f, ",\n  \"sampler\": {\"samples\": %d, \"steps\": %d, \"sigma_min\": %g, \"sigma_max\": %g, "
               "\"rho\": %g, \"snr\": %g, \"corrector_steps\": %d, \"lambda\": %g, \"seed\": %llu},\n",
            r->K, r->sc.steps, r->sc.sigma_min, r->sc.sigma_max, r->sc.rho, r->sc.snr,
            r->sc.corrector_steps, r->sc.lambda, (unsigned long long)r->sc.seed);
    fprintf(f, "  \"threads\": %d,\n  \"wall_s\": %.3f,\n  \"images\": [\n", cg_get_threads(), total_s);
    double m[5] = {0};
    for (int64_t i = 0; i < n; i++) {
        const image_result *e = &res[i];
        fprintf(f, "    {\"index\": %lld", (long long)i);
        if (have_truth) fprintf(f, ", \"psnr_baseline\": %.4f, \"ssim_baseline\": %.5f", e->psnr_base, e->ssim_base);
        if (r->den_dir) {
            if (have_truth) fprintf(f, ", \"psnr_score\": %.4f, \"ssim_score\": %.5f", e->psnr_rec, e->ssim_rec);
            fprintf(f, ", \"mean_std\": %.6g, \"wall_s\": %.3f", e->mean_std, e->wall_s);
        }
        fprintf(f, "}%s\n", i + 1 < n ? "," : "");
        m[0] += e->psnr_base / n, m[1] += e->ssim_base / n, m[2] += e->psnr_rec / n, m[3] += e->ssim_rec / n;
        m[4] += e->mean_std / n;
    }
    fprintf(f, "  ]");
    if (have_truth) {
        fprintf(f, ",\n  \"mean\": {\"psnr_baseline\": %.4f, \"ssim_baseline\": %.5f", m[0], m[1]);
        if (r->den_dir) fprintf(f, ", \"psnr_score\": %.4f, \"ssim_score\": %.5f, \"psnr_gain_db\": %.4f", m[2], m[3], m[2] - m[0]);
        fprintf(f, "}");
    }
    fprintf(f, "\n}\n");
    return cg_outfile_commit(&o);
}

int cg_cli_inverse_main(const cg_cli_inverse_run *r, int64_t n, int D, const float *truth, cg_cli_inverse_image_fn fn,
                        void *ctx) {
    size_t P = (size_t)D * D;
    cg_score_net *net = NULL;
    cg_status s = CG_OK;
    if (r->den_dir) {
        s = cg_score_load(&net, r->den_dir, 1);
        if (!s && cg_score_net_config(net)->D != D)
            s = cg_error(CG_ERR_ARG, "the denoiser in %s works on %d^2 images, the measurements are %d^2 (use a matching --box)",
                         r->den_dir, cg_score_net_config(net)->D, D);
    }
    float *base = malloc(sizeof(float) * P * n), *rec = calloc(P * n, sizeof(float)), *std = calloc(P * n, sizeof(float));
    float *samples = r->write_samples ? malloc(sizeof(float) * P * n * r->K) : NULL;
    image_result *res = calloc((size_t)n, sizeof *res);
    if (!s && (!base || !rec || !std || !res || (r->write_samples && !samples)))
        s = cg_error(CG_ERR_NOMEM, "outputs for %lld images", (long long)n);
    double t0 = cg_time_s();
    for (int64_t i = 0; i < n && !s; i++) {
        cg_inverse_op *op = NULL;
        float *y = NULL;
        s = fn(ctx, i, &op, &y, base + i * P);
        if (!s && net) {
            double t1 = cg_time_s();
            s = cg_inverse_sample(net, op, &r->sc, y, r->K, samples ? samples + i * P * r->K : NULL, rec + i * P,
                                  std + i * P, 0);
            res[i].wall_s = cg_time_s() - t1;
            for (size_t p = 0; p < P; p++) res[i].mean_std += std[i * P + p] / (double)P;
        }
        if (!s && truth) {
            const float *t = truth + i * P;
            res[i].psnr_base = cg_psnr(base + i * P, t, D, D, r->data_range);
            res[i].ssim_base = cg_ssim(base + i * P, t, D, D, r->data_range);
            if (net) {
                res[i].psnr_rec = cg_psnr(rec + i * P, t, D, D, r->data_range);
                res[i].ssim_rec = cg_ssim(rec + i * P, t, D, D, r->data_range);
            }
        }
        if (!s) {
            printf("image %lld: ", (long long)i);
            if (truth) printf("baseline PSNR %.2f dB SSIM %.4f", res[i].psnr_base, res[i].ssim_base);
            if (truth && net) printf(" | score PSNR %.2f dB SSIM %.4f", res[i].psnr_rec, res[i].ssim_rec);
            if (net) printf(" | mean std %.4g | %.1f s", res[i].mean_std, res[i].wall_s);
            printf("\n");
            fflush(stdout);
        }
        cg_inverse_op_destroy(op);
        free(y);
    }
    double total = cg_time_s() - t0;
    char label[200];
    snprintf(label, sizeof label, "%s: %.120s", r->cmd, r->settings);
    char *pb = cg_cli_inverse_path(r->prefix, "_baseline.mrcs"), *pr = cg_cli_inverse_path(r->prefix, "_recon.mrcs");
    char *ps = cg_cli_inverse_path(r->prefix, "_std.mrcs"), *pj = cg_cli_inverse_path(r->prefix, "_metrics.json");
    char *pp = cg_cli_inverse_path(r->prefix, ".png"), *pk = cg_cli_inverse_path(r->prefix, "_samples.mrcs");
    if (!s && (!pb || !pr || !ps || !pj || !pp || !pk)) s = CG_ERR_NOMEM;
    if (!s) s = cg_mrc_write(pb, base, D, D, (int)n, 1.0f, 1, label);
    if (!s && net) s = cg_mrc_write(pr, rec, D, D, (int)n, 1.0f, 1, label);
    if (!s && net) s = cg_mrc_write(ps, std, D, D, (int)n, 1.0f, 1, label);
    if (!s && samples) s = cg_mrc_write(pk, samples, D, D, (int)(n * r->K), 1.0f, 1, label);
    if (!s) s = write_montage(pp, n, D, truth, base, net ? rec : base, std);
    if (!s) s = write_json(r, pj, n, res, truth != NULL, total);
    if (!s) {
        if (truth) {
            double m[4] = {0};
            for (int64_t i = 0; i < n; i++)
                m[0] += res[i].psnr_base / n, m[1] += res[i].ssim_base / n, m[2] += res[i].psnr_rec / n, m[3] += res[i].ssim_rec / n;
            printf("mean over %lld images: baseline PSNR %.2f dB SSIM %.4f", (long long)n, m[0], m[1]);
            if (net) printf(" | score PSNR %.2f dB SSIM %.4f | gain %.2f dB", m[2], m[3], m[2] - m[0]);
            printf("\n");
        }
        printf("wrote %s%s%s%s, %s and %s (%.1f s)\n", pb, net ? ", " : "", net ? pr : "", net ? " (+ _std.mrcs)" : "", pp,
               pj, total);
    }
    free(base), free(rec), free(std), free(samples), free(res);
    free(pb), free(pr), free(ps), free(pj), free(pp), free(pk);
    cg_score_net_destroy(net);
    return s ? cg_cli_fail(r->cmd, s) : CG_EXIT_OK;
}
