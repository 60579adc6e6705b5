/* `cryogen sds`: score-distillation reconstruction of one volume per image (src/score/sds.c)
 * with a denoiser from `cryogen train-denoiser`. With --truth SIMDIR (a `cryogen simulate
 * --model` folder whose particles.star lists the images in stack order) each volume is scored
 * by its FSC area against that particle's exact ground-truth volume turned into the image's
 * frame (the identity view is the image: W(r) = V(A^T (r - t)), t = -origin in pixels), for
 * both hands (a single view cannot tell z from -z) and the better one is reported. With --align
 * the volume is also registered onto the particle's ground-truth volume in the truth's own frame
 * (rotation, shift and hand, cg_align_volumes: what `cryogen fsc A B --align` does) before the
 * FSC, so that volumes in any frame are scored alike. --score-volume V.mrc skips the
 * reconstruction and scores one given volume (e.g. a homogeneous back-projection of the whole
 * dataset) against every selected image's truth by the same code. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cryogen/ctf.h"
#include "cryogen/evaluate.h"
#include "cryogen/geom.h"
#include "cryogen/metrics.h"
#include "cryogen/mrc.h"
#include "cryogen/particles.h"
#include "cryogen/score.h"

typedef struct {
    cg_truth *t;
    cg_particles *p;
    float *gt, *w;
    int align;
} truth_ctx;

/* FSC area of vol against particle i's truth: *area in its image frame, best hand; with
 * tc->align also *area_al after registering vol onto the truth in the truth's frame (both
 * hands searched; *mir_al = 1 when the mirrored hand won). */
static cg_status score_volume(truth_ctx *tc, int64_t i, const float *vol, int D, double px, double *area, int *mirrored,
                              double *area_al, int *mir_al) {
    if (i >= tc->t->n || i >= tc->p->n)
        return cg_error(CG_ERR_ARG, "--truth: image %lld beyond the %lld particles of the simulation", (long long)i,
                        (long long)tc->t->n);
    cg_status s = cg_truth_volume(tc->t, tc->t->param + i * tc->t->pdim, tc->gt);
    double A[9], shift[3] = {0, 0, 0};
    const double *e = tc->p->euler_rad + 3 * i;
    cg_euler_to_matrix(e[0], e[1], e[2], A);
    shift[0] = -tc->p->shift_A[2 * i] / px, shift[1] = -tc->p->shift_A[2 * i + 1] / px;
    *area = -1;
    for (int hand = 0; !s && hand < 2; hand++) {
        double Q[9];
        memcpy(Q, A, sizeof Q);
        if (hand) Q[6] = -Q[6], Q[7] = -Q[7], Q[8] = -Q[8]; /* Q = diag(1, 1, -1) A: W(x, y, -z) */
        s = cg_volume_transform(tc->gt, D, Q, shift, CG_INTERP_LINEAR, tc->w);
        cg_fsc_result r;
        memset(&r, 0, sizeof r);
        if (!s) s = cg_fsc_compute(vol, tc->w, D, px, NULL, &r);
        if (!s && r.area > *area) *area = r.area, *mirrored = hand;
        cg_fsc_result_free(&r);
    }
    if (!s && tc->align) {
        cg_align_result ar;
        cg_align_params ap;
        cg_align_params_default(&ap); /* both hands */
        s = cg_align_volumes(tc->gt, vol, D, px, &ap, &ar);
        if (!s) s = cg_align_apply(vol, D, &ar, tc->w);
        cg_fsc_result r;
        memset(&r, 0, sizeof r);
        if (!s) s = cg_fsc_compute(tc->gt, tc->w, D, px, NULL, &r);
        if (!s) *area_al = r.area, *mir_al = ar.mirrored;
        cg_fsc_result_free(&r);
    }
    return s;
}

static int run(int argc, char **argv) {
    const char *out = NULL, *truth = NULL, *given = NULL, *ctf_star = NULL;
    int64_t index = 0;
    int all = 0, views = 8, no_ema = 0, align = 0;
    cg_sds_config c;
    cg_sds_defaults(&c);
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &out, "V.mrc", "output volume (with --all: a folder of vol_NNNNNN.mrc)"},
        {"index", 0, CG_OPT_INT64, &index, "I", "0-based image in the stack"},
        {"all", 0, CG_OPT_FLAG, &all, NULL, "one volume per image of the stack"},
        {"steps", 0, CG_OPT_INT, &c.steps, "N", "SGD steps"},
        {"views", 0, CG_OPT_INT, &views, "M", "views per step: the identity plus M-1 random"},
        {"t", 0, CG_OPT_DOUBLE, &c.t, "T", "noise level of the random views (normalised units)"},
        {"lr", 0, CG_OPT_DOUBLE, &c.lr, "LR", "SGD step; 0: 1/(M D)"},
        {"prior-weight", 0, CG_OPT_DOUBLE, &c.prior_weight, "W", "weight of the random-view terms (0: data only)"},
        {"seed", 0, CG_OPT_U64, &c.seed, "SEED", "seed of the random views and noise"},
        {"truth", 0, CG_OPT_STRING, &truth, "SIMDIR", "report FSC area against the simulation's ground truth"},
        {"no-ema", 0, CG_OPT_FLAG, &no_ema, NULL, "use the raw weights instead of their EMA"},
        {"ctf-star", 0, CG_OPT_STRING, &ctf_star, "STAR",
         "apply each image's CTF from this STAR (particles in stack order) to the identity view"},
        {"align", 0, CG_OPT_FLAG, &align, NULL,
         "with --truth: also score after registering each volume onto its truth (rotation, shift, hand)"},
        {"score-volume", 0, CG_OPT_STRING, &given, "V.mrc",
         "no reconstruction: score this one volume against each selected image's truth (needs --truth)"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen sds DIR IMAGES.mrcs (--index I | --all) --out V.mrc [options]",
        "Reconstruct a volume from a single image by score distillation (SGD from zero; the image is the\n"
        "identity view, M-1 random views are pulled towards the denoiser's output at noise level t;\n"
        "exact adjoint back-projection of the real-space projector). --truth scores each volume by its FSC\n"
        "area against the particle's ground truth in the image frame (better hand); --align adds the score\n"
        "after registration onto the truth (as 'cryogen fsc --align'), which also fits volumes in any frame,\n"
        "such as a homogeneous back-projection given by --score-volume. --ctf-star models the image as\n"
        "CTF * projection (the random views stay unfiltered).",
        opts, 2, 2,
        "  cryogen sds den sim/clean.mrcs --index 0 --out v0.mrc --truth sim\n"
        "  cryogen sds den sim/clean.mrcs --all --out vols --steps 200 --views 8\n"
        "  cryogen sds den sim/clean.mrcs --all --truth sim --align --score-volume baseline.mrc"};
    const char *pos[2];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!out && !given) return cg_cli_usage_error("sds", "--out is required");
    if ((given || align) && !truth) return cg_cli_usage_error("sds", "--score-volume and --align need --truth SIMDIR");
    if (given && out) return cg_cli_usage_error("sds", "--score-volume writes nothing: leave out --out");
    if (views < 1 || index < 0) return cg_cli_usage_error("sds", "--views must be >= 1 and --index >= 0");
    c.n_random = views - 1;
    cg_score_net *net = NULL;
    cg_mrc_stack *st = NULL;
    truth_ctx tc = {0};
    tc.align = align;
    float *img = NULL, *vol = NULL;
    double *trace = NULL;
    cg_status s = cg_score_load(&net, pos[0], !no_ema);
    if (!s) s = cg_mrc_stack_open(&st, pos[1]);
    float *given_vol = NULL, *ctf = NULL;
    cg_particles *cp = NULL;
    int D = 0;
    int64_t n = 0;
    double px = 1;
    if (!s) {
        const cg_mrc_header *h = cg_mrc_stack_header(st);
        D = h->nx, n = cg_mrc_stack_count(st), px = h->pixel_size_A[0] > 0 ? h->pixel_size_A[0] : 1;
        if (h->nx != h->ny || D != cg_score_net_config(net)->D)
            s = cg_error(CG_ERR_ARG, "%s: images are %d x %d but the denoiser was trained on %d^2", pos[1], h->nx, h->ny,
                         cg_score_net_config(net)->D);
        else if (!all && index >= n)
            s = cg_error(CG_ERR_ARG, "%s: --index %lld but the stack holds %lld images", pos[1], (long long)index, (long long)n);
    }
    if (!s && truth) {
        char *star = cg_path_join(truth, "particles.star");
        s = star ? cg_truth_load(truth, &tc.t) : CG_ERR_NOMEM;
        if (!s) s = cg_particles_read(star, &tc.p);
        free(star);
        if (!s && tc.t->D != D) s = cg_error(CG_ERR_ARG, "--truth %s: box %d, images %d", truth, tc.t->D, D);
        if (!s) {
            tc.gt = malloc(sizeof(float) * (size_t)D * D * D), tc.w = malloc(sizeof(float) * (size_t)D * D * D);
            if (!tc.gt || !tc.w) s = CG_ERR_NOMEM;
        }
    }
    if (!s) {
        img = malloc(sizeof(float) * (size_t)D * D), vol = malloc(sizeof(float) * (size_t)D * D * D);
        trace = malloc(sizeof(double) * (size_t)c.steps);
        if (!img || !vol || !trace) s = cg_error(CG_ERR_NOMEM, "sds volume of %d^3", D);
    }
    if (!s && given) {
        cg_mrc_header gh;
        s = cg_mrc_read(given, &gh, &given_vol);
        if (!s && (gh.nx != D || gh.ny != D || gh.nz != D))
            s = cg_error(CG_ERR_ARG, "--score-volume %s: box %d x %d x %d, the images are %d^2: use a %d^3 volume", given,
                         gh.nx, gh.ny, gh.nz, D, D);
    }
    if (!s && ctf_star && !given) {
        s = cg_particles_read(ctf_star, &cp);
        if (!s && !cp->has_ctf)
            s = cg_error(CG_ERR_ARG, "--ctf-star %s: no CTF columns (rlnDefocusU/V); leave out --ctf-star for CTF-free data",
                         ctf_star);
        else if (!s && (cp->n < n || cp->image_size != D))
            s = cg_error(CG_ERR_ARG, "--ctf-star %s: %lld particles of box %d, the stack %s holds %lld of %d^2", ctf_star,
                         (long long)cp->n, cp->image_size, pos[1], (long long)n, D);
        if (!s && !(ctf = malloc(sizeof(float) * (size_t)D * (D / 2 + 1)))) s = CG_ERR_NOMEM;
        c.ctf_half = ctf;
    }
    if (!s && all && !given) s = cg_mkdir_p(out);
    int64_t i0 = all ? 0 : index, i1 = all ? n : index + 1;
    double area_sum = 0, area_al_sum = 0, t_total = 0;
    for (int64_t i = i0; !s && i < i1; i++) {
        double t0 = cg_time_s();
        char path[4096] = "";
        if (given) {
            memcpy(vol, given_vol, sizeof(float) * (size_t)D * D * D);
            printf("image %lld: volume %s", (long long)i, given);
        } else {
            s = cg_mrc_stack_read(st, i, img);
            if (!s && ctf) { /* as cryogen simulate: the CTF inside the projector's radius D/2 */
                cg_ctf cc;
                s = cg_ctf_init(&cc, &cp->ctf[i]);
                if (!s) cg_ctf_fill_half_masked(&cc, D, cp->pixel_size_A, 0.5 * D, ctf);
            }
            if (!s) s = cg_sds_reconstruct(net, &c, img, i, vol, trace);
            double dt = cg_time_s() - t0;
            t_total += dt;
            char label[200];
            if (all) snprintf(path, sizeof path, "%s/vol_%06lld.mrc", out, (long long)i);
            else snprintf(path, sizeof path, "%s", out);
            snprintf(label, sizeof label, "sds image %lld: %d steps, M %d, t %g, lr %g, prior %g, seed %llu%s",
                     (long long)i, c.steps, views, c.t, c.lr, c.prior_weight, (unsigned long long)c.seed,
                     ctf ? ", CTF" : "");
            if (!s) s = cg_mrc_write(path, vol, D, D, D, (float)px, 0, label);
            if (s) break;
            printf("image %lld: %.2f s, data residual rms %.4g -> %.4g", (long long)i, dt, sqrt(trace[0]),
                   sqrt(trace[c.steps - 1]));
        }
        if (truth) {
            double area = 0, area_al = 0;
            int mir = 0, mir_al = 0;
            s = score_volume(&tc, i, vol, D, px, &area, &mir, &area_al, &mir_al);
            if (!s) printf(", FSC area vs ground truth %.4f%s", area, mir ? " (mirrored hand)" : ""), area_sum += area;
            if (!s && align)
                printf(", after alignment %.4f%s", area_al, mir_al ? " (mirrored)" : ""), area_al_sum += area_al;
        }
        if (path[0]) printf(", wrote %s", path);
        printf("\n");
        fflush(stdout);
    }
    if (!s && i1 - i0 > 1) {
        if (given) printf("%lld images scored", (long long)(i1 - i0));
        else printf("%lld volumes, %.2f s per volume", (long long)(i1 - i0), t_total / (double)(i1 - i0));
        if (truth) printf(", mean FSC area %.4f", area_sum / (double)(i1 - i0));
        if (truth && align) printf(", after alignment %.4f", area_al_sum / (double)(i1 - i0));
        printf("\n");
    }
    free(img), free(vol), free(trace), free(tc.gt), free(tc.w), free(given_vol), free(ctf);
    cg_particles_free(cp);
    cg_truth_free(tc.t);
    cg_particles_free(tc.p);
    cg_mrc_stack_close(st);
    cg_score_net_destroy(net);
    return s ? cg_cli_fail("sds", s) : CG_EXIT_OK;
}

const cg_cli_command cg_cmd_sds = {"sds", "reconstruct a volume from one image by score distillation", run};
