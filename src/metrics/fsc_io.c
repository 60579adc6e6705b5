/* FSC output: JSON object, text table and SVG plot (x in 1/A, resolution in A on top,
 * reference lines at FSC = 0.5 and 0.143). Conventions as in include/cryogen/metrics.h. */
#include <math.h>
#include <stdlib.h>

#include "cryogen/metrics.h"
#include "cryogen/plot.h"

static void json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
}

void cg_fsc_json_write(FILE *f, const cg_fsc_result *r, int indent) {
    const int in = indent;
    fprintf(f, "{\n%*s\"box\": %d,\n%*s\"pixel_size_A\": %.6g,\n", in + 2, "", r->box, in + 2, "", r->pixel_size_A);
    fprintf(f, "%*s\"resolution_fsc0.5_A\": ", in + 2, "");
    json_num(f, r->res_fsc05_A);
    fprintf(f, ",\n%*s\"crossed_fsc0.5\": %s,\n%*s\"resolution_fsc0.143_A\": ", in + 2, "",
            r->crossed_05 ? "true" : "false", in + 2, "");
    json_num(f, r->res_fsc0143_A);
    fprintf(f, ",\n%*s\"crossed_fsc0.143\": %s,\n%*s\"fsc_area_cycles_per_px\": %.6g,\n", in + 2, "",
            r->crossed_0143 ? "true" : "false", in + 2, "", r->area);
    fprintf(f, "%*s\"shells\": [\n", in + 2, "");
    for (int s = 0; s < r->nshells; s++) {
        fprintf(f, "%*s{\"shell\": %d, \"frequency_invA\": %.6g, \"resolution_A\": ", in + 4, "", s,
                s / (r->box * r->pixel_size_A));
        json_num(f, cg_fsc_shell_resolution_A(s, r->box, r->pixel_size_A));
        fprintf(f, ", \"fsc\": %.6f}%s\n", r->fsc[s], s + 1 < r->nshells ? "," : "");
    }
    fprintf(f, "%*s]\n%*s}", in + 2, "", in, "");
}

void cg_fsc_table_write(FILE *f, const cg_fsc_result *r) {
    fprintf(f, "# %5s %12s %13s %9s\n", "shell", "freq_invA", "resolution_A", "fsc");
    for (int s = 0; s < r->nshells; s++) {
        double res = cg_fsc_shell_resolution_A(s, r->box, r->pixel_size_A);
        if (isfinite(res))
            fprintf(f, "  %5d %12.6f %13.3f %9.5f\n", s, s / (r->box * r->pixel_size_A), res, r->fsc[s]);
        else
            fprintf(f, "  %5d %12.6f %13s %9.5f\n", s, 0.0, "inf", r->fsc[s]);
    }
}

cg_status cg_fsc_plot_save(const char *path, const cg_fsc_result *const *curves, const char *const *labels,
                           int ncurves, const char *title) {
    if (ncurves < 1) return cg_error(CG_ERR_ARG, "FSC plot without curves");
    cg_plot_series *ser = cg_calloc(ncurves, sizeof *ser, "FSC plot");
    double **xs = cg_calloc(ncurves, sizeof *xs, "FSC plot");
    if (!ser || !xs) {
        free(ser);
        free(xs);
        return CG_ERR_NOMEM;
    }
    double xmax = 0, ymin = 0;
    cg_status st = CG_OK;
    for (int i = 0; i < ncurves && !st; i++) {
        const cg_fsc_result *r = curves[i];
        xs[i] = cg_malloc(r->nshells, sizeof(double), "FSC plot");
        if (!xs[i]) st = CG_ERR_NOMEM;
        for (int s = 0; xs[i] && s < r->nshells; s++) {
            xs[i][s] = s / (r->box * r->pixel_size_A);
            if (r->fsc[s] < ymin) ymin = r->fsc[s];
        }
        if (xs[i]) xmax = fmax(xmax, xs[i][r->nshells - 1]);
        ser[i] = (cg_plot_series){labels ? labels[i] : NULL, xs[i], r->fsc, r->nshells, NULL, 0, 0};
    }
    cg_plot_hline hl[2] = {{0.5, "FSC = 0.5", "#808080"}, {0.143, "FSC = 0.143", "#808080"}};
    cg_line_plot p = {.title = title, .xlabel = "spatial frequency (1/\u00c5)", .ylabel = "Fourier shell correlation",
                      .xmin = 0, .xmax = xmax, .ymin = ymin < -0.05 ? ymin - 0.05 : -0.05, .ymax = 1.05,
                      .series = ser, .nseries = ncurves, .hlines = hl, .nhlines = 2,
                      .x2_kind = CG_PLOT_X2_RECIPROCAL, .x2label = "resolution (\u00c5)"};
    if (!st) st = cg_plot_line_save(path, &p);
    for (int i = 0; i < ncurves; i++) free(xs[i]);
    free(xs);
    free(ser);
    return st;
}
