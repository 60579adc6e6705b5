/* `cryogen fsc A.mrc B.mrc`: Fourier shell correlation between two maps, optionally masked
 * and optionally after registering B onto A (rotation, translation, hand). Conventions and
 * definitions: include/cryogen/metrics.h. Outputs: a table on stdout, --json, --plot (SVG),
 * --aligned-out (B after alignment); all files are written atomically after everything has
 * been computed, so a failure leaves no partial output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_maps.h"
#include "cryogen/geom.h"
#include "cryogen/metrics.h"
#include "cryogen/mrc.h"

typedef struct {
    const char *mask_path, *json_path, *plot_path, *aligned_out;
    double mask_radius_A, mask_edge_A, pixel_size_A;
    int align, rotations, no_mirror;
} fsc_opts;

static void print_alignment(const cg_align_result *r) {
    printf("# alignment of B onto A: rot %.2f tilt %.2f psi %.2f deg (RELION ZYZ), shift (%.2f, %.2f, %.2f) A, %s, "
           "correlation %.4f (other hand %.4f)\n",
           CG_RAD2DEG(r->rot_rad), CG_RAD2DEG(r->tilt_rad), CG_RAD2DEG(r->psi_rad), r->shift_A[0], r->shift_A[1],
           r->shift_A[2], r->mirrored ? "mirrored (x -> -x first)" : "same hand", r->score, r->score_other_hand);
}

static cg_status write_json(const char *path, const char *const files[3], const cg_fsc_result *f,
                            const cg_align_result *al, const fsc_opts *o, double rho) {
    cg_outfile out;
    cg_status st = cg_outfile_open(&out, path);
    if (st) return st;
    FILE *fp = out.fp;
    char prov[256];
    fprintf(fp, "{\n  \"command\": \"fsc\",\n  \"provenance\": ");
    cli_json_str(fp, cg_provenance(prov, sizeof prov, CG_NO_SEED));
    fprintf(fp, ",\n  \"map_a\": ");
    cli_json_str(fp, files[0]);
    fprintf(fp, ",\n  \"map_b\": ");
    cli_json_str(fp, files[1]);
    fprintf(fp, ",\n  \"mask\": ");
    if (files[2]) cli_json_str(fp, files[2]);
    else if (o->mask_radius_A > 0) fprintf(fp, "{\"soft_sphere_radius_A\": %g, \"edge_A\": %g}", o->mask_radius_A,
                                           o->mask_edge_A > 0 ? o->mask_edge_A : 3 * f->pixel_size_A);
    else fputs("null", fp);
    if (al) {
        fprintf(fp, ",\n  \"alignment\": {\"rot_deg\": %.4f, \"tilt_deg\": %.4f, \"psi_deg\": %.4f, "
                    "\"shift_A\": [%.4f, %.4f, %.4f], \"mirrored\": %s, \"correlation\": %.6f}",
                CG_RAD2DEG(al->rot_rad), CG_RAD2DEG(al->tilt_rad), CG_RAD2DEG(al->psi_rad), al->shift_A[0],
                al->shift_A[1], al->shift_A[2], al->mirrored ? "true" : "false", al->score);
    }
    fprintf(fp, ",\n  \"real_space_correlation\": %.6f,\n  \"fsc\": ", rho);
    cg_fsc_json_write(fp, f, 2);
    fprintf(fp, "\n}\n");
    return cg_outfile_commit(&out);
}

static cg_status do_fsc(const char *pa, const char *pb, const fsc_opts *o) {
    float *a = NULL, *b = NULL, *mask = NULL, *al = NULL;
    int N, Nb;
    double px, pxb;
    cg_fsc_result f = {0};
    cg_align_result ar;
    cg_status st = cli_read_volume(pa, &a, &N, &px);
    if (!st) st = cli_read_volume(pb, &b, &Nb, &pxb);
    if (!st && Nb != N)
        st = cg_error(CG_ERR_ARG, "%s is %d^3 but %s is %d^3: resample one of them to the other's box first", pa, N,
                      pb, Nb);
    if (!st && o->pixel_size_A > 0) px = o->pixel_size_A;
    if (!st && !(px > 0))
        st = cg_error(CG_ERR_ARG, "%s has no pixel size in its header: give --pixel-size-A", pa);
    if (!st && o->pixel_size_A <= 0 && pxb > 0 && fabs(pxb - px) > 0.01 * px)
        CG_WARN("pixel sizes differ: %s %.4f A, %s %.4f A; using %.4f A", pa, px, pb, pxb, px);
    if (!st) st = cli_make_mask(o->mask_path, o->mask_radius_A, o->mask_edge_A, N, px, &mask);
    if (!st && o->align) {
        cg_align_params ap;
        cg_align_params_default(&ap);
        ap.n_rotations = o->rotations;
        ap.try_mirror = !o->no_mirror;
        al = cg_malloc((size_t)N * N * N, sizeof(float), "aligned map");
        st = al ? cg_align_volumes(a, b, N, px, &ap, &ar) : CG_ERR_NOMEM;
        if (!st) st = cg_align_apply(b, N, &ar, al);
    }
    if (!st) st = cg_fsc_compute(a, al ? al : b, N, px, mask, &f);
    double rho = st ? 0 : cg_real_space_correlation(a, al ? al : b, (size_t)N * N * N, mask);
    if (!st) {
        if (o->align) print_alignment(&ar);
        printf("# FSC between %s and %s%s (box %d, %.4f A/px)\n", pa, al ? "aligned " : "", pb, N, px);
        cg_fsc_table_write(stdout, &f);
        printf("# resolution at FSC = 0.5:   %.3f A%s\n", f.res_fsc05_A, f.crossed_05 ? "" : " (never crossed: Nyquist)");
        printf("# resolution at FSC = 0.143: %.3f A%s\n", f.res_fsc0143_A,
               f.crossed_0143 ? "" : " (never crossed: Nyquist)");
        printf("# FSC area: %.4f (cycles/px, at most 0.5)\n", f.area);
        printf("# real-space correlation%s: %.6f\n", mask ? " (masked)" : "", rho);
    }
    const char *files[3] = {pa, pb, o->mask_path};
    if (!st && o->json_path) st = write_json(o->json_path, files, &f, o->align ? &ar : NULL, o, rho);
    if (!st && o->plot_path) {
        const cg_fsc_result *c[1] = {&f};
        char title[256];
        snprintf(title, sizeof title, "FSC%s (0.143: %.2f \u00c5, 0.5: %.2f \u00c5)", o->align ? " after alignment" : "",
                 f.res_fsc0143_A, f.res_fsc05_A);
        st = cg_fsc_plot_save(o->plot_path, c, NULL, 1, title);
    }
    if (!st && o->aligned_out) st = cg_mrc_write(o->aligned_out, al, N, N, N, (float)px, 0, "cryogen fsc --align");
    cg_fsc_result_free(&f);
    free(a);
    free(b);
    free(mask);
    free(al);
    return st;
}

static int run(int argc, char **argv) {
    fsc_opts o = {.rotations = 8000};
    const cg_opt opts[] = {
        {"mask", 0, CG_OPT_STRING, &o.mask_path, "M.mrc", "mask volume (same box) multiplied into both maps"},
        {"mask-radius-A", 0, CG_OPT_DOUBLE, &o.mask_radius_A, "R", "soft spherical mask of radius R A (0: none)"},
        {"mask-edge-A", 0, CG_OPT_DOUBLE, &o.mask_edge_A, "E", "cosine edge of the spherical mask in A (0: 3 px)"},
        {"pixel-size-A", 0, CG_OPT_DOUBLE, &o.pixel_size_A, "PX", "override the pixel size of the headers (0: from A)"},
        {"json", 0, CG_OPT_STRING, &o.json_path, "FILE", "write the curve and the summary as JSON"},
        {"plot", 0, CG_OPT_STRING, &o.plot_path, "FILE.svg", "write an SVG plot of the curve"},
        {"align", 0, CG_OPT_FLAG, &o.align, NULL, "register B onto A (rotation, shift, hand) before the FSC"},
        {"align-rotations", 0, CG_OPT_INT, &o.rotations, "N", "orientations in the global alignment search"},
        {"no-mirror", 0, CG_OPT_FLAG, &o.no_mirror, NULL, "with --align: do not try the mirrored hand"},
        {"aligned-out", 0, CG_OPT_STRING, &o.aligned_out, "B_al.mrc", "with --align: write B after alignment"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen fsc A.mrc B.mrc [options]",
        "Fourier shell correlation between two maps: per shell of one Fourier voxel up to Nyquist, with the\n"
        "resolution at FSC = 0.5 and 0.143 (interpolated between shells) and the FSC area (CryoBench: area under\n"
        "the curve in cycles/px, at most 0.5). With --align, B is first registered onto A: a global search over\n"
        "a quasi-uniform rotation grid on low-passed copies (translation by FFT cross-correlation, both hands),\n"
        "then local refinement; the transform found is reported.",
        opts, 2, 2,
        "  cryogen fsc half1.mrc half2.mrc --mask-radius-A 80 --plot fsc.svg\n"
        "  cryogen fsc truth.mrc result.mrc --align --json fsc.json"};
    const char *pos[2];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (o.aligned_out && !o.align) return cg_cli_usage_error("fsc", "--aligned-out needs --align");
    if (o.rotations < 1) return cg_cli_usage_error("fsc", "--align-rotations must be at least 1");
    cg_status st = do_fsc(pos[0], pos[1], &o);
    return st ? cg_cli_fail("fsc", st) : CG_EXIT_OK;
}

const cg_cli_command cg_cmd_fsc = {"fsc", "Fourier shell correlation between two maps (optionally aligned)", run};
