/* `cryogen evaluate`: score a heterogeneity method's latents and volumes against the ground
 * truth of `cryogen simulate --model` (library: src/analysis/evaluate*.c). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_maps.h"
#include "cryogen/evaluate.h"
#include "cryogen/mrc.h"
#include "cryogen/plot.h"

/* Whitespace-separated numbers, one row per line, '#' comments: rows x cols floats. */
static cg_status read_matrix(const char *path, float **out, int64_t *rows, int *cols) {
    FILE *f = fopen(path, "r");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char line[65536];
    int64_t n = 0, cap = 0, lineno = 0;
    int d = -1;
    float *v = NULL;
    cg_status s = CG_OK;
    while (!s && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line, *e;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || !*p) continue;
        int k = 0;
        float row[1024];
        for (;;) {
            double x = strtod(p, &e);
            if (e == p) break;
            if (k == 1024) break;
            row[k++] = (float)x;
            p = e;
        }
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (*p || k == 0) s = cg_error(CG_ERR_FORMAT, "%s:%lld: not a row of numbers", path, (long long)lineno);
        else if (d >= 0 && k != d) s = cg_error(CG_ERR_FORMAT, "%s:%lld: %d values, earlier rows have %d", path, (long long)lineno, k, d);
        if (s) break;
        d = k;
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            float *nv = realloc(v, sizeof(float) * (size_t)cap * d);
            if (!nv) {
                s = cg_error(CG_ERR_NOMEM, "%s: %lld rows", path, (long long)cap);
                break;
            }
            v = nv;
        }
        memcpy(v + n * d, row, sizeof(float) * (size_t)d);
        n++;
    }
    fclose(f);
    if (!s && n == 0) s = cg_error(CG_ERR_FORMAT, "%s: no rows", path);
    if (s) {
        free(v);
        return s;
    }
    *out = v;
    *rows = n;
    *cols = d;
    return CG_OK;
}

/* LIST: one MRC path per line (relative paths from the list's folder). Loads those referenced. */
static cg_status load_volumes(const char *list, const cg_truth *t, const int *assign, float ***vols, int *nvol) {
    FILE *f = fopen(list, "r");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open: %s", list, strerror(errno));
    char line[4096], *dir = cg_path_dirname(list);
    char **paths = NULL;
    int n = 0;
    cg_status s = dir ? CG_OK : CG_ERR_NOMEM;
    while (!s && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#') continue;
        char **np = realloc(paths, sizeof(char *) * (size_t)(n + 1));
        if (!np) s = CG_ERR_NOMEM;
        else paths = np, paths[n++] = cg_path_join(dir, line);
    }
    fclose(f);
    *nvol = n;
    *vols = s ? NULL : cg_calloc((size_t)(n ? n : 1), sizeof(float *), "volumes");
    if (!s && !*vols) s = CG_ERR_NOMEM;
    for (int64_t i = 0; !s && i < t->n; i++) {
        int k = assign[i];
        if (k < 0 || k >= n || (*vols)[k]) continue;
        cg_mrc_header h;
        s = cg_mrc_read(paths[k], &h, &(*vols)[k]);
        if (!s && (h.nx != t->D || h.ny != t->D || h.nz != t->D))
            s = cg_error(CG_ERR_ARG, "%s: %d x %d x %d, but the ground truth is %d^3; resample it first", paths[k], h.nx,
                         h.ny, h.nz, t->D);
    }
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths), free(dir);
    return s;
}

static void write_json(FILE *fp, const char *truth, const cg_truth *t, const cg_eval_latent *L,
                       const cg_eval_volumes *V, uint64_t seed) {
    char prov[256];
    fprintf(fp, "{\n  \"command\": \"evaluate\",\n  \"provenance\": \"%s\",\n  \"truth\": ",
            cg_provenance(prov, sizeof prov, seed));
    cli_json_str(fp, truth);
    fputs(",\n  \"model\": ", fp);
    cli_json_str(fp, t->spec.model);
    fprintf(fp, ",\n  \"particles\": %lld", (long long)t->n);
    if (L) {
        fprintf(fp, ",\n  \"latent\": {\"dim\": %d, \"abs_spearman_pc1\": [%.6f", L->dim, L->abs_spearman[0]);
        if (t->pdim > 1) fprintf(fp, ", %.6f", L->abs_spearman[1]);
        fprintf(fp, "], \"pc1_variance_fraction\": %.6f, \"neighbourhood_similarity\": %.6f, \"k\": %d, \"sample\": %lld}",
                L->pc1_variance_fraction, L->neighbourhood, L->k, (long long)L->nsample);
    }
    if (V) {
        fprintf(fp, ",\n  \"volumes\": {\"sample\": %lld, \"per_image_fsc_area_mean\": %.6f, \"per_image_fsc_area_median\": %.6f",
                (long long)V->nsample, V->mean_area, V->median_area);
        fprintf(fp, ", \"aligned\": %s", V->aligned ? "true" : "false");
        if (V->aligned)
            fprintf(fp, ", \"align_mirrored\": %s, \"align_euler_deg\": [%.3f, %.3f, %.3f]", V->align.mirrored ? "true" : "false",
                    V->align.rot_rad * 180 / M_PI, V->align.tilt_rad * 180 / M_PI, V->align.psi_rad * 180 / M_PI);
        fprintf(fp, ",\n    \"bins\": [");
        for (int g = 0; g < t->ngrid; g++) {
            fprintf(fp, "%s{\"parameter\": [%.6g", g ? ", " : "", t->grid[g * t->pdim]);
            if (t->pdim > 1) fprintf(fp, ", %.6g", t->grid[g * t->pdim + 1]);
            if (isnan(V->bin_area[g])) fprintf(fp, "], \"fsc_area\": null, \"count\": 0}");
            else fprintf(fp, "], \"fsc_area\": %.6f, \"count\": %lld}", V->bin_area[g], (long long)V->bin_count[g]);
        }
        fprintf(fp, "],\n    \"fsc_matrix_correlation\": ");
        if (isnan(V->matrix_correlation)) fprintf(fp, "null");
        else fprintf(fp, "%.6f", V->matrix_correlation);
        for (int which = 0; which < 2; which++) {
            const double *M = which ? V->method_matrix : V->gt_matrix;
            fprintf(fp, ",\n    \"%s\": [", which ? "method_fsc_matrix" : "ground_truth_fsc_matrix");
            for (int i = 0; i < t->ngrid; i++) {
                fprintf(fp, "%s[", i ? ", " : "");
                for (int j = 0; j < t->ngrid; j++) fprintf(fp, "%s%.5f", j ? ", " : "", M[i * t->ngrid + j]);
                fprintf(fp, "]");
            }
            fprintf(fp, "]");
        }
        fprintf(fp, "}");
    }
    fprintf(fp, "\n}\n");
}

static cg_status write_svgs(const char *prefix, const cg_truth *t, const cg_eval_volumes *V) {
    char path[2048];
    cg_heatmap h;
    memset(&h, 0, sizeof h);
    h.nrows = h.ncols = t->ngrid;
    /* one colour scale for both matrices, from the lowest off-diagonal value of either to 0.5,
       so that their structure is visible and they can be compared cell by cell */
    double lo = 0.5;
    for (int i = 0; i < t->ngrid * t->ngrid; i++) lo = fmin(lo, fmin(V->gt_matrix[i], V->method_matrix[i]));
    h.vmin = lo < 0.5 ? lo : 0;
    h.vmax = 0.5;
    h.annotate = t->ngrid <= 12;
    h.colorbar_label = "FSC area (cycles/px)";
    h.xlabel = h.ylabel = "true conformational parameter (grid point)";
    char(*lab)[32] = malloc(sizeof(char[32]) * (size_t)t->ngrid);
    const char **labp = malloc(sizeof(char *) * (size_t)t->ngrid);
    if (!lab || !labp) {
        free(lab), free(labp);
        return cg_error(CG_ERR_NOMEM, "plot labels");
    }
    for (int g = 0; g < t->ngrid; g++) {
        if (t->pdim > 1) snprintf(lab[g], sizeof lab[g], "%.3g, %.3g", t->grid[2 * g], t->grid[2 * g + 1]);
        else snprintf(lab[g], sizeof lab[g], "%.3g", t->grid[g]);
        labp[g] = lab[g];
    }
    h.row_labels = h.col_labels = labp;
    h.title = "ground truth: FSC cross-conformation matrix";
    h.values = V->gt_matrix;
    snprintf(path, sizeof path, "%s_gt_matrix.svg", prefix);
    cg_status s = cg_plot_heatmap_save(path, &h);
    h.title = "method: FSC cross-conformation matrix";
    h.values = V->method_matrix;
    snprintf(path, sizeof path, "%s_method_matrix.svg", prefix);
    if (!s) s = cg_plot_heatmap_save(path, &h);
    free(lab), free(labp);
    if (!s && t->pdim == 1) {
        double *x = malloc(sizeof(double) * (size_t)t->ngrid);
        if (!x) return CG_ERR_NOMEM;
        for (int g = 0; g < t->ngrid; g++) x[g] = t->grid[g];
        cg_plot_series ser = {"mean per-image FSC area", x, V->bin_area, t->ngrid, NULL, 0, 0};
        cg_line_plot lp;
        memset(&lp, 0, sizeof lp);
        lp.title = "per-conformation FSC area";
        lp.xlabel = "true conformational parameter";
        lp.ylabel = "FSC area (cycles/px)";
        lp.ymin = 0;
        lp.ymax = 0.5;
        lp.series = &ser;
        lp.nseries = 1;
        snprintf(path, sizeof path, "%s_bins.svg", prefix);
        s = cg_plot_line_save(path, &lp);
        free(x);
    }
    return s;
}

static void print_report(const cg_truth *t, const cg_eval_latent *L, const cg_eval_volumes *V) {
    printf("ground truth: %s model, %lld particles, %d grid volumes of %d^3 at %.4g A/px\n", t->spec.model,
           (long long)t->n, t->ngrid, t->D, t->pixel_size_A);
    if (L) {
        printf("latents (%d-D): |Spearman rho| of %s with the true parameter: %.4f", L->dim, L->dim > 1 ? "PC1" : "z",
               L->abs_spearman[0]);
        if (t->pdim > 1) printf(" (parameter 1), %.4f (parameter 2)", L->abs_spearman[1]);
        printf("\n  PC1 explains %.1f%% of the latent variance; neighbourhood similarity %.4f (k = %d, %lld particles)\n",
               100 * L->pc1_variance_fraction, L->neighbourhood, L->k, (long long)L->nsample);
    }
    if (V) {
        if (V->aligned)
            printf("volumes aligned to the truth: Euler (%.2f, %.2f, %.2f) deg, shift (%.2f, %.2f, %.2f) A%s\n",
                   V->align.rot_rad * 180 / M_PI, V->align.tilt_rad * 180 / M_PI, V->align.psi_rad * 180 / M_PI,
                   V->align.shift_A[0], V->align.shift_A[1], V->align.shift_A[2], V->align.mirrored ? ", mirrored" : "");
        printf("per-image FSC area (%lld particles): mean %.4f, median %.4f (cycles/px, at most 0.5)\n",
               (long long)V->nsample, V->mean_area, V->median_area);
        printf("  %-18s %10s %8s\n", "grid parameter", "FSC area", "images");
        for (int g = 0; g < t->ngrid; g++) {
            char p[64];
            if (t->pdim > 1) snprintf(p, sizeof p, "%.4g, %.4g", t->grid[2 * g], t->grid[2 * g + 1]);
            else snprintf(p, sizeof p, "%.4g", t->grid[g]);
            if (isnan(V->bin_area[g])) printf("  %-18s %10s %8d\n", p, "-", 0);
            else printf("  %-18s %10.4f %8lld\n", p, V->bin_area[g], (long long)V->bin_count[g]);
        }
        printf("FSC cross-conformation matrix: correlation with the ground truth's %.4f\n", V->matrix_correlation);
    }
}

static int run(int argc, char **argv) {
    const char *truth = NULL, *latents = NULL, *volumes = NULL, *assign_path = NULL, *json = NULL, *svg = NULL;
    int align = 0;
    int64_t nsample = 100;
    uint64_t seed = 0;
    const cg_opt opts[] = {
        {"truth", 0, CG_OPT_STRING, &truth, "DIR", "output folder of 'cryogen simulate --model' (required)"},
        {"latents", 0, CG_OPT_STRING, &latents, "Z.txt", "one latent per particle (rows of numbers, STAR order)"},
        {"volumes", 0, CG_OPT_STRING, &volumes, "LIST", "text file of MRC paths: the method's volumes"},
        {"assign", 0, CG_OPT_STRING, &assign_path, "FILE",
         "volume index (0-based in LIST, -1: none) per particle; default: volume i for particle i"},
        {"align", 0, CG_OPT_FLAG, &align, NULL, "register the method's frame (rotation, shift, hand) to the truth first"},
        {"sample", 0, CG_OPT_INT64, &nsample, "N", "particles scored by per-image FSC area"},
        {"seed", 0, CG_OPT_U64, &seed, "SEED", "seed of the particle samples"},
        {"json", 0, CG_OPT_STRING, &json, "FILE", "write all results as JSON"},
        {"svg", 0, CG_OPT_STRING, &svg, "PREFIX", "write PREFIX_gt_matrix.svg, PREFIX_method_matrix.svg, PREFIX_bins.svg"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen evaluate --truth SIMDIR [--latents Z.txt] [--volumes LIST [--assign FILE]] [options]",
        "Score a heterogeneity method against simulated ground truth: |Spearman rho| between the latents'\n"
        "first principal component and the true parameter, neighbourhood similarity, per-image FSC area\n"
        "(CryoBench), per-conformation FSC area and the FSC cross-conformation matrix (Multi-CryoGAN).",
        opts, 0, 0,
        "  cryogen evaluate --truth sim --latents z.txt\n"
        "  cryogen evaluate --truth sim --volumes classes.txt --assign labels.txt --align --json eval.json --svg eval"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!truth) return cg_cli_usage_error("evaluate", "--truth DIR is required");
    if (!latents && !volumes) return cg_cli_usage_error("evaluate", "give --latents, --volumes, or both");
    if (assign_path && !volumes) return cg_cli_usage_error("evaluate", "--assign needs --volumes");
    if (nsample < 1) return cg_cli_usage_error("evaluate", "--sample must be positive");
    cg_truth *t = NULL;
    cg_eval_latent L;
    cg_eval_volumes V;
    memset(&V, 0, sizeof V);
    float *z = NULL, *af = NULL, **vols = NULL;
    int *assign = NULL, nvol = 0, have_l = 0, have_v = 0;
    cg_status s = cg_truth_load(truth, &t);
    if (!s && latents) {
        int64_t n;
        int d;
        s = read_matrix(latents, &z, &n, &d);
        if (!s) s = cg_eval_latents(t, z, n, d, seed, &L);
        have_l = !s;
    }
    if (!s && volumes) {
        assign = cg_malloc((size_t)t->n, sizeof(int), "assignment");
        s = assign ? CG_OK : CG_ERR_NOMEM;
        if (!s && assign_path) {
            int64_t n;
            int d;
            s = read_matrix(assign_path, &af, &n, &d);
            if (!s && (n != t->n || d != 1))
                s = cg_error(CG_ERR_ARG, "%s: %lld rows of %d values; need one volume index per particle (%lld)", assign_path,
                             (long long)n, d, (long long)t->n);
            for (int64_t i = 0; !s && i < t->n; i++) assign[i] = (int)lroundf(af[i]);
        } else
            for (int64_t i = 0; !s && i < t->n; i++) assign[i] = (int)i;
        if (!s) s = load_volumes(volumes, t, assign, &vols, &nvol);
        if (!s && !assign_path)
            for (int64_t i = nvol; i < t->n; i++) assign[i] = -1;
        if (!s) s = cg_eval_volumes_run(t, (const float *const *)vols, nvol, assign, nsample, align, seed, &V);
        have_v = !s;
    }
    if (!s) print_report(t, have_l ? &L : NULL, have_v ? &V : NULL);
    if (!s && json) {
        cg_outfile o;
        s = cg_outfile_open(&o, json);
        if (!s) {
            write_json(o.fp, truth, t, have_l ? &L : NULL, have_v ? &V : NULL, seed);
            s = cg_outfile_commit(&o);
        }
    }
    if (!s && svg && have_v) s = write_svgs(svg, t, &V);
    for (int i = 0; vols && i < nvol; i++) free(vols[i]);
    free(vols), free(z), free(af), free(assign);
    cg_eval_volumes_free(&V);
    cg_truth_free(t);
    return s ? cg_cli_fail("evaluate", s) : 0;
}

const cg_cli_command cg_cmd_evaluate = {"evaluate", "score latents and volumes against simulated ground truth", run};
