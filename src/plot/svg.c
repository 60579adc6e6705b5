/* SVG line plots and heat maps (see include/cryogen/plot.h).
 *
 * Layout: a plot area inside fixed margins; data map linearly to it (y up). Lines are clipped
 * to the plot area; text is escaped for XML. Ticks follow the 1-2-2.5-5 x 10^k rule.
 * Palette: Okabe & Ito (2008) colour-blind-safe colours. Colour map: viridis, sampled at 9
 * control points from matplotlib's table and interpolated linearly in sRGB.
 */
#include <math.h>
#include <string.h>

#include "cryogen/plot.h"

static const char *const g_palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                        "#E69F00", "#56B4E9", "#F0E442", "#000000"};

static void put_text(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void text_el(FILE *f, double x, double y, const char *anchor, int size, const char *extra, const char *s) {
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"%s%s>", x, y, anchor, size,
            extra ? " " : "", extra ? extra : "");
    put_text(f, s);
    fputs("</text>\n", f);
}

int cg_plot_nice_ticks(double lo, double hi, int max_ticks, double *out, int out_cap) {
    if (!(hi > lo) || max_ticks < 2 || out_cap < 1) return 0;
    double raw = (hi - lo) / (max_ticks - 1), mag = pow(10, floor(log10(raw))), step = mag;
    const double mult[] = {1, 2, 2.5, 5, 10};
    for (int i = 0; i < 5; i++)
        if (mult[i] * mag >= raw) {
            step = mult[i] * mag;
            break;
        }
    int n = 0;
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step && n < out_cap; v += step)
        out[n++] = fabs(v) < 1e-12 * step ? 0.0 : v;
    return n;
}

void cg_plot_viridis(double t, char buf[8]) {
    static const unsigned char c[9][3] = {{68, 1, 84},    {71, 45, 123},  {59, 82, 139},
                                          {44, 114, 142}, {33, 145, 140}, {40, 174, 128},
                                          {94, 201, 98},  {173, 220, 48}, {253, 231, 37}};
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    double u = t * 8;
    int i = (int)u;
    if (i > 7) i = 7;
    double f = u - i;
    int rgb[3];
    for (int k = 0; k < 3; k++) rgb[k] = (int)lround(c[i][k] * (1 - f) + c[i + 1][k] * f);
    snprintf(buf, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* ---------------------------------------------------------------- line plot ------------- */
typedef struct {
    double x0, x1, y0, y1;     /* data range */
    double left, top, w, h;    /* plot area in px */
} frame;

static double fx(const frame *fr, double x) { return fr->left + (x - fr->x0) / (fr->x1 - fr->x0) * fr->w; }
static double fy(const frame *fr, double y) { return fr->top + fr->h - (y - fr->y0) / (fr->y1 - fr->y0) * fr->h; }

static void data_range(const cg_line_plot *p, frame *fr) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int s = 0; s < p->nseries; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            double x = p->series[s].x[i], y = p->series[s].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
        }
    if (!isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    fr->x0 = p->xmin < p->xmax ? p->xmin : x0;
    fr->x1 = p->xmin < p->xmax ? p->xmax : x1;
    fr->y0 = p->ymin < p->ymax ? p->ymin : y0;
    fr->y1 = p->ymin < p->ymax ? p->ymax : y1;
    if (!(fr->x1 > fr->x0)) fr->x1 = fr->x0 + 1;
    if (!(fr->y1 > fr->y0)) fr->y1 = fr->y0 + 1;
}

static void draw_axes(FILE *f, const cg_line_plot *p, const frame *fr) {
    double t[32];
    char lab[32];
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" stroke=\"black\"/>\n",
            fr->left, fr->top, fr->w, fr->h);
    int n = cg_plot_nice_ticks(fr->x0, fr->x1, 8, t, 32);
    for (int i = 0; i < n; i++) {
        double x = fx(fr, t[i]);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", x, fr->top, x,
                fr->top + fr->h);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", x, fr->top + fr->h, x,
                fr->top + fr->h + 5);
        snprintf(lab, sizeof lab, "%g", t[i]);
        text_el(f, x, fr->top + fr->h + 19, "middle", 12, NULL, lab);
    }
    n = cg_plot_nice_ticks(fr->y0, fr->y1, 7, t, 32);
    for (int i = 0; i < n; i++) {
        double y = fy(fr, t[i]);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", fr->left, y,
                fr->left + fr->w, y);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", fr->left - 5, y,
                fr->left, y);
        snprintf(lab, sizeof lab, "%g", t[i]);
        text_el(f, fr->left - 8, y + 4, "end", 12, NULL, lab);
    }
    if (p->xlabel) text_el(f, fr->left + fr->w / 2, fr->top + fr->h + 42, "middle", 14, NULL, p->xlabel);
    if (p->ylabel) {
        char rot[96];
        snprintf(rot, sizeof rot, "transform=\"rotate(-90 %.1f %.1f)\"", fr->left - 48, fr->top + fr->h / 2);
        text_el(f, fr->left - 48, fr->top + fr->h / 2, "middle", 14, rot, p->ylabel);
    }
}

/* Top axis labelled with 1/x at nice values, at least 36 px apart. */
static void draw_x2_reciprocal(FILE *f, const cg_line_plot *p, const frame *fr) {
    static const double nice[] = {1000, 500, 200, 100, 50, 40, 30, 25, 20, 15, 12, 10, 9, 8, 7, 6, 5, 4.5,
                                  4,    3.5, 3,   2.8, 2.6, 2.5, 2.4, 2.2, 2, 1.8, 1.6, 1.5, 1.4, 1.2, 1};
    double last = -INFINITY;
    char lab[32];
    for (size_t i = 0; i < sizeof nice / sizeof nice[0]; i++) {
        for (double scale = 1e-3; scale <= 1e3; scale *= 1000) {
            double v = nice[i] * scale, x = 1.0 / v;
            if (x < fr->x0 + 0.04 * (fr->x1 - fr->x0) || x > fr->x1) continue;
            double px = fx(fr, x);
            if (px - last < 36) continue;
            last = px;
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", px, fr->top - 5,
                    px, fr->top);
            snprintf(lab, sizeof lab, "%g", v);
            text_el(f, px, fr->top - 9, "middle", 12, NULL, lab);
        }
    }
    if (p->x2label) text_el(f, fr->left + fr->w / 2, fr->top - 26, "middle", 13, NULL, p->x2label);
}

static void draw_series(FILE *f, const cg_line_plot *p, const frame *fr) {
    for (int s = 0; s < p->nseries; s++) {
        const cg_plot_series *ser = &p->series[s];
        const char *col = ser->color ? ser->color : g_palette[s % 8];
        if (ser->marker_px > 0) { /* scatter: one group of dots, translucent so density shows */
            fprintf(f, "<g clip-path=\"url(#plotarea)\" fill=\"%s\" fill-opacity=\"0.5\">\n", col);
            for (int i = 0; i < ser->n; i++)
                if (isfinite(ser->x[i]) && isfinite(ser->y[i]))
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"/>\n", fx(fr, ser->x[i]), fy(fr, ser->y[i]),
                            ser->marker_px);
            fputs("</g>\n", f);
            continue;
        }
        int open = 0;
        for (int i = 0; i < ser->n; i++) {
            if (!isfinite(ser->x[i]) || !isfinite(ser->y[i])) {
                if (open) fputs("\"/>\n", f);
                open = 0;
                continue;
            }
            if (!open)
                fprintf(f, "<polyline clip-path=\"url(#plotarea)\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                        col, ser->dashed ? " stroke-dasharray=\"6,4\"" : "");
            fprintf(f, "%.2f,%.2f ", fx(fr, ser->x[i]), fy(fr, ser->y[i]));
            open = 1;
        }
        if (open) fputs("\"/>\n", f);
    }
}

static void draw_hlines_legend(FILE *f, const cg_line_plot *p, const frame *fr) {
    for (int i = 0; i < p->nhlines; i++) {
        const cg_plot_hline *h = &p->hlines[i];
        if (h->y < fr->y0 || h->y > fr->y1) continue;
        double y = fy(fr, h->y);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"4,3\"/>\n",
                fr->left, y, fr->left + fr->w, y, h->color ? h->color : "#808080");
        if (h->label) text_el(f, fr->left + fr->w - 4, y - 4, "end", 11, "fill=\"#505050\"", h->label);
    }
    int nl = 0;
    for (int s = 0; s < p->nseries; s++) nl += p->series[s].label != NULL;
    if (!nl) return;
    double lx = fr->left + fr->w - 190, ly = fr->top + 10;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"180\" height=\"%d\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#a0a0a0\"/>\n",
            lx, ly, 8 + 18 * nl);
    int k = 0;
    for (int s = 0; s < p->nseries; s++) {
        const cg_plot_series *ser = &p->series[s];
        if (!ser->label) continue;
        double y = ly + 16 + 18 * k++;
        const char *col = ser->color ? ser->color : g_palette[s % 8];
        if (ser->marker_px > 0)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", lx + 21, y - 4, col);
        else
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n", lx + 8,
                    y - 4, lx + 34, y - 4, col, ser->dashed ? " stroke-dasharray=\"6,4\"" : "");
        text_el(f, lx + 40, y, "start", 12, NULL, ser->label);
    }
}

cg_status cg_plot_line_write(FILE *f, const cg_line_plot *p) {
    int W = p->width_px > 0 ? p->width_px : 720, H = p->height_px > 0 ? p->height_px : 480;
    frame fr;
    data_range(p, &fr);
    fr.left = 78;
    fr.top = p->x2_kind ? 78 : 44;
    fr.w = W - fr.left - 24;
    fr.h = H - fr.top - 58;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"Helvetica, Arial, sans-serif\">\n",
            W, H, W, H);
    fprintf(f, "<defs><clipPath id=\"plotarea\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath></defs>\n",
            fr.left, fr.top, fr.w, fr.h);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    if (p->title) text_el(f, W / 2.0, 20, "middle", 15, "font-weight=\"bold\"", p->title);
    draw_axes(f, p, &fr);
    if (p->x2_kind == CG_PLOT_X2_RECIPROCAL) draw_x2_reciprocal(f, p, &fr);
    draw_series(f, p, &fr);
    draw_hlines_legend(f, p, &fr);
    fputs("</svg>\n", f);
    return ferror(f) ? cg_error(CG_ERR_IO, "writing SVG failed") : CG_OK;
}

/* ---------------------------------------------------------------- heat map -------------- */
static void heat_range(const cg_heatmap *h, double *lo, double *hi) {
    *lo = h->vmin, *hi = h->vmax;
    if (h->vmin < h->vmax) return;
    *lo = INFINITY, *hi = -INFINITY;
    for (int i = 0; i < h->nrows * h->ncols; i++)
        if (isfinite(h->values[i])) *lo = fmin(*lo, h->values[i]), *hi = fmax(*hi, h->values[i]);
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
    if (!(*hi > *lo)) *hi = *lo + 1;
}

static void heat_labels(FILE *f, const cg_heatmap *h, double left, double top, double cell) {
    char lab[32];
    int fs = cell >= 14 ? 11 : 8, every = cell >= 12 ? 1 : (int)ceil(12 / cell);
    for (int i = 0; i < h->nrows; i += every) {
        snprintf(lab, sizeof lab, "%d", i);
        text_el(f, left - 4, top + (i + 0.5) * cell + 4, "end", fs, NULL, h->row_labels ? h->row_labels[i] : lab);
    }
    for (int j = 0; j < h->ncols; j += every) {
        double x = left + (j + 0.5) * cell, y = top + h->nrows * cell + 12;
        char rot[96];
        snprintf(rot, sizeof rot, "transform=\"rotate(-45 %.1f %.1f)\"", x, y);
        snprintf(lab, sizeof lab, "%d", j);
        text_el(f, x, y, "end", fs, rot, h->col_labels ? h->col_labels[j] : lab);
    }
}

static void heat_colorbar(FILE *f, const cg_heatmap *h, double x, double top, double height, double lo, double hi) {
    char col[8], lab[32];
    const int nstep = 64;
    for (int i = 0; i < nstep; i++) {
        cg_plot_viridis((i + 0.5) / nstep, col);
        double y = top + height * (1 - (i + 1.0) / nstep);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.2f\" width=\"18\" height=\"%.2f\" fill=\"%s\"/>\n", x, y,
                height / nstep + 0.5, col);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n", x, top,
            height);
    double t[16];
    int n = cg_plot_nice_ticks(lo, hi, 6, t, 16);
    for (int i = 0; i < n; i++) {
        double y = top + height * (1 - (t[i] - lo) / (hi - lo));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", x + 18, y, x + 23, y);
        snprintf(lab, sizeof lab, "%g", t[i]);
        text_el(f, x + 26, y + 4, "start", 11, NULL, lab);
    }
    if (h->colorbar_label) {
        char rot[96];
        snprintf(rot, sizeof rot, "transform=\"rotate(90 %.1f %.1f)\"", x + 84, top + height / 2);
        text_el(f, x + 84, top + height / 2, "middle", 13, rot, h->colorbar_label);
    }
}

cg_status cg_plot_heatmap_write(FILE *f, const cg_heatmap *h) {
    if (h->nrows < 1 || h->ncols < 1) return cg_error(CG_ERR_ARG, "heat map of %d x %d cells", h->nrows, h->ncols);
    int big = h->nrows > h->ncols ? h->nrows : h->ncols;
    double cell = h->cell_px > 0 ? h->cell_px : fmax(3.0, fmin(48.0, 560.0 / big));
    double left = 90, top = 50, gw = cell * h->ncols, gh = cell * h->nrows;
    int W = (int)(left + gw + 140), Hh = (int)(top + gh + 90);
    double lo, hi;
    heat_range(h, &lo, &hi);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            W, Hh, W, Hh, W, Hh);
    if (h->title) text_el(f, left + gw / 2, 24, "middle", 15, "font-weight=\"bold\"", h->title);
    char col[8], lab[32];
    for (int i = 0; i < h->nrows; i++)
        for (int j = 0; j < h->ncols; j++) {
            double v = h->values[(size_t)i * h->ncols + j];
            if (isfinite(v)) cg_plot_viridis((v - lo) / (hi - lo), col);
            else strcpy(col, "#c0c0c0");
            fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n", left + j * cell,
                    top + i * cell, cell + 0.3, cell + 0.3, col);
            if (h->annotate && cell >= 26 && isfinite(v)) {
                snprintf(lab, sizeof lab, "%.3f", v);
                text_el(f, left + (j + 0.5) * cell, top + (i + 0.5) * cell + 4, "middle", cell >= 40 ? 11 : 9,
                        (v - lo) / (hi - lo) > 0.6 ? "fill=\"black\"" : "fill=\"white\"", lab);
            }
        }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n", left,
            top, gw, gh);
    heat_labels(f, h, left, top, cell);
    if (h->xlabel) text_el(f, left + gw / 2, top + gh + 62, "middle", 13, NULL, h->xlabel);
    if (h->ylabel) {
        char rot[96];
        snprintf(rot, sizeof rot, "transform=\"rotate(-90 %.1f %.1f)\"", 24.0, top + gh / 2);
        text_el(f, 24, top + gh / 2, "middle", 13, rot, h->ylabel);
    }
    heat_colorbar(f, h, left + gw + 16, top, gh, lo, hi);
    fputs("</svg>\n", f);
    return ferror(f) ? cg_error(CG_ERR_IO, "writing SVG failed") : CG_OK;
}

static cg_status save(const char *path, const void *p, cg_status (*fn)(FILE *, const void *)) {
    cg_outfile o;
    cg_status st = cg_outfile_open(&o, path);
    if (st) return st;
    st = fn(o.fp, p);
    if (st) {
        cg_outfile_abort(&o);
        return cg_error_prefix(st, "%s: ", path);
    }
    return cg_outfile_commit(&o);
}

static cg_status line_fn(FILE *f, const void *p) { return cg_plot_line_write(f, p); }
static cg_status heat_fn(FILE *f, const void *p) { return cg_plot_heatmap_write(f, p); }
cg_status cg_plot_line_save(const char *path, const cg_line_plot *p) { return save(path, p, line_fn); }
cg_status cg_plot_heatmap_save(const char *path, const cg_heatmap *h) { return save(path, h, heat_fn); }
