/* Shared helpers of the map-comparison commands; see cli_maps.h. */
#include <math.h>
#include <stdlib.h>

#include "cli_maps.h"
#include "cryogen/metrics.h"
#include "cryogen/mrc.h"

cg_status cli_read_volume(const char *path, float **v, int *N, double *pixel_size_A) {
    cg_mrc_header h;
    *v = NULL;
    cg_status st = cg_mrc_read(path, &h, v);
    if (st) return st;
    if (h.nx != h.ny || h.nx != h.nz) {
        free(*v);
        *v = NULL;
        return cg_error(CG_ERR_FORMAT, "%s: map is %d x %d x %d; a cubic map is needed (resample or pad it first)",
                        path, h.nx, h.ny, h.nz);
    }
    *N = h.nx;
    *pixel_size_A = h.pixel_size_A[0];
    return CG_OK;
}

cg_status cli_make_mask(const char *mask_path, double radius_A, double edge_A, int N, double pixel_size_A,
                        float **mask) {
    *mask = NULL;
    if (mask_path && radius_A > 0)
        return cg_error(CG_ERR_ARG, "give either --mask or --mask-radius-A, not both");
    if (mask_path) {
        int M;
        double px;
        cg_status st = cli_read_volume(mask_path, mask, &M, &px);
        if (st) return st;
        if (M != N) {
            free(*mask);
            *mask = NULL;
            return cg_error(CG_ERR_ARG, "%s: mask is %d^3 but the maps are %d^3", mask_path, M, N);
        }
        for (size_t i = 0; i < (size_t)N * N * N; i++) (*mask)[i] = fminf(1.0f, fmaxf(0.0f, (*mask)[i]));
        return CG_OK;
    }
    if (radius_A == 0) return CG_OK;
    if (!(radius_A > 0)) return cg_error(CG_ERR_ARG, "--mask-radius-A %g must be positive", radius_A);
    *mask = cg_malloc((size_t)N * N * N, sizeof(float), "mask");
    if (!*mask) return CG_ERR_NOMEM;
    double edge_px = edge_A > 0 ? edge_A / pixel_size_A : 3.0;
    cg_status st = cg_mask_soft_sphere(*mask, N, radius_A / pixel_size_A, edge_px);
    if (st) {
        free(*mask);
        *mask = NULL;
    }
    return st;
}

void cli_json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void cli_json_str_or_null(FILE *f, const char *s) {
    if (s) cli_json_str(f, s);
    else fputs("null", f);
}
