/* `cryogen ct`: sparse-view parallel-beam CT with a score-based prior (issue 9; Song, Shen, Xing
 * & Ermon, ICLR 2022). The sinogram (MRC stack: one section of views x detector bins per image)
 * holds N views taken from a full grid of --full-views equispaced angles in [0, 180)
 * (cg_ct_view_subset: view i at full-grid index round(i full / N)); the angles are derived from
 * the section's height and --full-views. --simulate PHANTOM.mrcs makes the sinogram (written
 * to PREFIX_sino.mrcs) from images. Outputs: FBP baseline, posterior mean and std, montage,
 * metrics (inverse.h, docs/inverse.md). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_inverse.h"
#include "cryogen/mrc.h"

typedef struct {
    int D, n_det, views, full;
    double spacing;
    cg_fbp_window window;
    int *idx;
    double *angles;
    const float *sino; /* [n][views][n_det] */
} ct_ctx;

static cg_status ct_image(void *vctx, int64_t i, cg_inverse_op **op, float **y, float *baseline) {
    ct_ctx *c = vctx;
    const float *si = c->sino + (size_t)i * c->views * c->n_det;
    cg_status s = cg_fbp(baseline, si, c->D, c->n_det, c->spacing, c->angles, c->views, c->window);
    if (!s) s = cg_inverse_op_ct(op, c->D, c->n_det, c->spacing, c->views, c->full, c->window);
    if (!s && !(*y = calloc((size_t)c->full * c->n_det, sizeof(float)))) s = cg_error(CG_ERR_NOMEM, "measurements");
    if (!s)
        for (int v = 0; v < c->views; v++)
            memcpy(*y + (size_t)c->idx[v] * c->n_det, si + (size_t)v * c->n_det, sizeof(float) * c->n_det);
    return s;
}

static cg_status read_stack(const char *path, int64_t max_images, cg_mrc_header *h, float **data) {
    cg_status s = cg_mrc_read(path, h, data);
    if (!s && max_images > 0 && h->nz > max_images) h->nz = (int)max_images;
    return s;
}

static int run(int argc, char **argv) {
    cg_cli_inverse_run r;
    memset(&r, 0, sizeof r);
    r.cmd = "ct", r.K = 4;
    cg_inverse_sampler_defaults(&r.sc);
    const char *simulate = NULL, *window_name = "ram-lak";
    int views = 0, full = 180, D = 64, n_det = 0;
    double spacing = 0.5, noise = 0;
    int64_t max_images = 0;
    uint64_t noise_seed = 1;
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &r.prefix, "PREFIX", "outputs PREFIX_recon.mrcs, _std.mrcs, _baseline.mrcs, .png, _metrics.json"},
        {"views", 0, CG_OPT_INT, &views, "N", "number of measured views (the sinogram's height)"},
        {"full-views", 0, CG_OPT_INT, &full, "M", "full angular grid the views are taken from (and the sampler's transform)"},
        {"det-spacing-px", 0, CG_OPT_DOUBLE, &spacing, "S", "detector bin spacing in pixels"},
        {"det", 0, CG_OPT_INT, &n_det, "N", "detector bins for --simulate (default: box / spacing)"},
        {"box", 0, CG_OPT_INT, &D, "D", "image size (read from the phantoms with --simulate)"},
        {"window", 0, CG_OPT_STRING, &window_name, "W", "FBP window: ram-lak, shepp-logan, cosine, hann"},
        {"simulate", 0, CG_OPT_STRING, &simulate, "PHANTOM.mrcs", "make the sinogram from these images (also the truth)"},
        {"noise-sigma", 0, CG_OPT_DOUBLE, &noise, "S", "--simulate: Gaussian noise added to the sinogram"},
        {"noise-seed", 0, CG_OPT_U64, &noise_seed, "SEED", "--simulate: noise seed"},
        CG_CLI_INVERSE_OPTS(r, max_images, "FBP"),
        {0}};
    const cg_cli_spec spec = {"cryogen ct [SINOGRAM.mrcs] --views N --out PREFIX [--simulate PHANTOM.mrcs] [--den DIR] [options]",
                              "Sparse-view CT: FBP baseline and score-based posterior sampling with data consistency.",
                              opts, 0, 1,
                              "  cryogen ct --simulate test.mrcs --views 23 --den den64 --samples 4 --out ct23\n"
                              "  cryogen ct ct23_sino.mrcs --views 23 --box 64 --truth test.mrcs --out fbp_only"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!r.prefix) return cg_cli_usage_error("ct", "--out PREFIX is required");
    if (views < 1) return cg_cli_usage_error("ct", "--views N (>= 1) is required");
    if ((npos == 1) == (simulate != NULL)) return cg_cli_usage_error("ct", "give either SINOGRAM.mrcs or --simulate PHANTOM.mrcs");
    if (r.K < 1 || views > full || !(spacing > 0)) return cg_cli_usage_error("ct", "need --samples >= 1, --views <= --full-views, --det-spacing-px > 0");
    ct_ctx c;
    memset(&c, 0, sizeof c);
    cg_status s = cg_fbp_window_parse(window_name, &c.window);
    if (s) return cg_cli_usage_error("ct", "%s", cg_last_error());
    float *truth = NULL, *sino = NULL, *ph = NULL;
    cg_mrc_header h;
    int64_t n = 0;
    c.idx = malloc(sizeof(int) * views), c.angles = malloc(sizeof(double) * views);
    if (!c.idx || !c.angles) s = cg_error(CG_ERR_NOMEM, "views");
    if (!s) s = cg_ct_view_subset(views, full, c.idx, c.angles);
    if (!s && simulate) {
        s = read_stack(simulate, max_images, &h, &ph);
        if (!s && h.nx != h.ny) s = cg_error(CG_ERR_ARG, "%s: images are %d x %d, need square images", simulate, h.nx, h.ny);
        if (!s) {
            D = h.nx, n = h.nz;
            if (n_det <= 0) n_det = (int)(D / spacing + 0.5);
            sino = malloc(sizeof(float) * (size_t)n * views * n_det);
            if (!sino) s = cg_error(CG_ERR_NOMEM, "sinograms");
        }
        for (int64_t i = 0; i < n && !s; i++) {
            float *si = sino + (size_t)i * views * n_det;
            cg_radon_forward(si, ph + (size_t)i * D * D, D, n_det, spacing, c.angles, views);
            cg_rng g;
            cg_rng_init(&g, noise_seed, CG_INVERSE_STREAM_NOISE, (uint64_t)i);
            if (noise > 0)
                for (size_t j = 0; j < (size_t)views * n_det; j++) si[j] += (float)(noise * cg_rng_normal(&g));
        }
        char *sp = cg_cli_inverse_path(r.prefix, "_sino.mrcs"), lab[160];
        snprintf(lab, sizeof lab, "ct sinogram: %d of %d views, spacing %g px, noise %g", views, full, spacing, noise);
        if (!s) s = sp ? cg_mrc_write(sp, sino, n_det, views, (int)n, (float)spacing, 1, lab) : CG_ERR_NOMEM;
        free(sp);
        if (!r.truth) truth = ph, ph = NULL;
    } else if (!s) {
        s = read_stack(pos[0], max_images, &h, &sino);
        if (!s && h.ny != views)
            s = cg_error(CG_ERR_ARG, "%s: sections have %d rows (views) but --views is %d", pos[0], h.ny, views);
        n = h.nz, n_det = h.nx;
    }
    if (!s && r.truth) {
        cg_mrc_header th;
        s = read_stack(r.truth, max_images, &th, &truth);
        if (!s && (th.nx != D || th.ny != D || th.nz < n))
            s = cg_error(CG_ERR_ARG, "--truth %s: %d images of %d x %d, need %lld of %d x %d", r.truth, th.nz, th.nx, th.ny,
                         (long long)n, D, D);
    }
    int code;
    if (s) code = cg_cli_fail("ct", s);
    else {
        c.D = D, c.n_det = n_det, c.views = views, c.full = full, c.spacing = spacing, c.sino = sino;
        snprintf(r.settings, sizeof r.settings,
                 "\"views\": %d, \"full_views\": %d, \"det_bins\": %d, \"det_spacing_px\": %g, \"window\": \"%s\", "
                 "\"noise_sigma\": %g",
                 views, full, n_det, spacing, cg_fbp_window_name(c.window), noise);
        r.input = simulate ? simulate : pos[0];
        if (!r.truth && simulate) r.truth = simulate;
        code = cg_cli_inverse_main(&r, n, D, truth, ct_image, &c);
    }
    free(truth), free(sino), free(ph), free(c.idx), free(c.angles);
    return code;
}

const cg_cli_command cg_cmd_ct = {"ct", "sparse-view CT: FBP and score-based reconstruction", run};
