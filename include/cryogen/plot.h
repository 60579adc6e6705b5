/* Small, dependency-free SVG plots: line plots (axes, "nice" ticks, labels, legend, horizontal
 * reference lines, an optional secondary top axis) and heat maps with a colour bar.
 * Any module can use it for figures that open in a browser; the output is plain SVG 1.1 with
 * no scripts, written atomically (temporary name, then rename).
 *
 * Conventions: data coordinates are doubles; NaN points break a line. Colours are CSS strings
 * ("#1f77b4"); NULL picks from a fixed colour-blind-safe palette (Okabe-Ito). The heat map
 * uses the viridis colour map (perceptually uniform; van der Walt & Smith 2015), row 0 at the
 * top, column 0 at the left.
 */
#pragma once
#include <stdio.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *label;    /* legend entry (NULL: not in the legend) */
    const double *x, *y;  /* n points */
    int n;
    const char *color;    /* NULL: palette colour by series index */
    int dashed;           /* 1: dashed line */
    double marker_px;     /* > 0: a dot of this radius at each point and no line (scatter plot) */
} cg_plot_series;

typedef struct {
    double y;
    const char *label;    /* drawn at the right end of the line (may be NULL) */
    const char *color;    /* NULL: grey */
} cg_plot_hline;

typedef enum {
    CG_PLOT_X2_NONE = 0,
    CG_PLOT_X2_RECIPROCAL, /* top axis labelled with 1/x at nice values (e.g. A for 1/A) */
} cg_plot_x2_kind;

typedef struct {
    const char *title, *xlabel, *ylabel;
    double xmin, xmax, ymin, ymax;  /* axis ranges; min == max means "from the data" */
    const cg_plot_series *series;
    int nseries;
    const cg_plot_hline *hlines;
    int nhlines;
    cg_plot_x2_kind x2_kind;
    const char *x2label;
    int width_px, height_px;        /* 0: 720 x 480 */
} cg_line_plot;

typedef struct {
    const char *title, *xlabel, *ylabel, *colorbar_label;
    const double *values;           /* [nrows][ncols], row-major; NaN cells drawn grey */
    int nrows, ncols;
    const char *const *row_labels;  /* may be NULL: 0-based indices */
    const char *const *col_labels;  /* may be NULL */
    double vmin, vmax;              /* vmin == vmax: data range */
    int annotate;                   /* 1: print each value in its cell (format "%.3f", cells of 26 px or more) */
    int cell_px;                    /* 0: chosen from the size */
} cg_heatmap;

/* Write to an open stream (for tests and composition) or to a file (atomic). */
cg_status cg_plot_line_write(FILE *f, const cg_line_plot *p);
cg_status cg_plot_line_save(const char *path, const cg_line_plot *p);
cg_status cg_plot_heatmap_write(FILE *f, const cg_heatmap *h);
cg_status cg_plot_heatmap_save(const char *path, const cg_heatmap *h);

/* "Nice" tick values covering [lo, hi] (at most max_ticks); returns the count written to out. */
int cg_plot_nice_ticks(double lo, double hi, int max_ticks, double *out, int out_cap);
/* Viridis colour for t in [0, 1] as "#rrggbb" into buf (8 bytes). */
void cg_plot_viridis(double t, char buf[8]);

#ifdef __cplusplus
}
#endif
