/* `cryogen mri`: undersampled Cartesian MRI with a score-based prior (issue 9; Song, Shen, Xing &
 * Ermon, ICLR 2022). k-space files are MRC stacks with three sections per image: the real part,
 * the imaginary part (centred orthonormal DFT, kspace[ky][kx], DC at (D/2, D/2)) and the
 * sampling mask (row ky all 1 when acquired, else 0; other rows of the data are zero). The
 * images are real, so the rows mirrored from acquired ones are filled by conjugate symmetry
 * (cg_mri_complete) for the baseline and the sampler alike. MRC
 * mode 4 (complex) is not used because src/io/mrc reads and writes real modes only.
 * --simulate PHANTOM.mrcs makes the k-space (PREFIX_kspace.mrcs) with an --accel R mask.
 * Outputs: zero-filled baseline, posterior mean and std, montage, metrics (docs/inverse.md). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_inverse.h"
#include "cryogen/mrc.h"

typedef struct {
    int D;
    const float *ks; /* [n][3][D][D] */
} mri_ctx;

static cg_status mri_image(void *vctx, int64_t i, cg_inverse_op **op, float **y, float *baseline) {
    mri_ctx *c = vctx;
    int D = c->D;
    size_t P = (size_t)D * D;
    const float *re = c->ks + (size_t)i * 3 * P, *im = re + P, *mk = im + P;
    uint8_t mask[4096];
    for (int r = 0; r < D; r++) mask[r] = mk[(size_t)r * D] > 0.5f;
    float *k = malloc(sizeof(float) * 2 * P);
    if (!k) return cg_error(CG_ERR_NOMEM, "k-space");
    for (size_t p = 0; p < P; p++) k[2 * p] = mask[p / D] ? re[p] : 0, k[2 * p + 1] = mask[p / D] ? im[p] : 0;
    cg_mri_complete(k, mask, D); /* mirrored rows of a real image */
    cg_status s = cg_mri_zero_filled(baseline, k, mask, D);
    if (!s) s = cg_inverse_op_mri(op, D, mask);
    if (s) free(k);
    else *y = k;
    return s;
}

static int run(int argc, char **argv) {
    cg_cli_inverse_run r;
    memset(&r, 0, sizeof r);
    r.cmd = "mri", r.K = 4;
    cg_inverse_sampler_defaults(&r.sc);
    const char *simulate = NULL, *mask_kind = "random";
    double accel = 4, center = 0.08, noise = 0;
    int64_t max_images = 0;
    uint64_t mask_seed = 1, noise_seed = 1;
    int pairs = 0, nsym = 0;
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &r.prefix, "PREFIX", "outputs PREFIX_recon.mrcs, _std.mrcs, _baseline.mrcs, .png, _metrics.json"},
        {"accel", 0, CG_OPT_DOUBLE, &accel, "R", "--simulate: acceleration (about D/R rows sampled)"},
        {"center-fraction", 0, CG_OPT_DOUBLE, &center, "F", "--simulate: fully sampled central fraction of the rows"},
        {"mask", 0, CG_OPT_STRING, &mask_kind, "KIND", "--simulate: random or equispaced outer rows"},
        {"hermitian-pairs", 0, CG_OPT_FLAG, &pairs, NULL, "--simulate: acquire rows in pairs (ky, -ky) (half the information per row)"},
        {"mask-seed", 0, CG_OPT_U64, &mask_seed, "SEED", "--simulate: seed of the random mask"},
        {"simulate", 0, CG_OPT_STRING, &simulate, "PHANTOM.mrcs", "make the k-space from these images (also the truth)"},
        {"noise-sigma", 0, CG_OPT_DOUBLE, &noise, "S", "--simulate: Gaussian noise added to re and im of sampled k-space"},
        {"noise-seed", 0, CG_OPT_U64, &noise_seed, "SEED", "--simulate: noise seed"},
        CG_CLI_INVERSE_OPTS(r, max_images, "zero-filled"),
        {0}};
    const cg_cli_spec spec = {"cryogen mri [KSPACE.mrcs] --out PREFIX [--simulate PHANTOM.mrcs --accel R] [--den DIR] [options]",
                              "Undersampled MRI: zero-filled baseline and score-based posterior sampling with data consistency.",
                              opts, 0, 1,
                              "  cryogen mri --simulate test.mrcs --accel 4 --den den64 --samples 4 --out mri4\n"
                              "  cryogen mri mri4_kspace.mrcs --truth test.mrcs --out zf_only"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!r.prefix) return cg_cli_usage_error("mri", "--out PREFIX is required");
    if ((npos == 1) == (simulate != NULL)) return cg_cli_usage_error("mri", "give either KSPACE.mrcs or --simulate PHANTOM.mrcs");
    if (r.K < 1) return cg_cli_usage_error("mri", "need --samples >= 1");
    int random = !strcmp(mask_kind, "random");
    cg_mri_mask_kind kind = random ? CG_MRI_MASK_RANDOM : CG_MRI_MASK_EQUISPACED;
    if (!random && strcmp(mask_kind, "equispaced")) return cg_cli_usage_error("mri", "--mask %s: expected random or equispaced", mask_kind);
    float *truth = NULL, *ks = NULL, *ph = NULL;
    cg_mrc_header h;
    int64_t n = 0;
    int D = 0, nsamp = 0;
    cg_status s;
    if (simulate) {
        s = cg_mrc_read(simulate, &h, &ph);
        if (!s && (h.nx != h.ny || h.nx % 2 || h.nx > 4096))
            s = cg_error(CG_ERR_ARG, "%s: images are %d x %d, need square images of even size <= 4096", simulate, h.nx, h.ny);
        uint8_t mask[4096], sym[4096];
        if (!s) {
            D = h.nx, n = max_images > 0 && h.nz > max_images ? max_images : h.nz;
            s = cg_mri_mask(mask, D, accel, center, kind, pairs, mask_seed, &nsamp);
            cg_mri_mask_symmetrise(sym, mask, D);
            for (int r2 = 0; r2 < D; r2++) nsym += sym[r2];
        }
        size_t P = (size_t)D * D;
        float *k = s ? NULL : malloc(sizeof(float) * 2 * P);
        if (!s && (!k || !(ks = malloc(sizeof(float) * 3 * P * n)))) s = cg_error(CG_ERR_NOMEM, "k-space");
        for (int64_t i = 0; i < n && !s; i++) {
            s = cg_mri_forward(k, ph + i * P, D);
            cg_rng g;
            cg_rng_init(&g, noise_seed, CG_INVERSE_STREAM_NOISE, (uint64_t)i);
            float *o = ks + i * 3 * P;
            for (size_t p = 0; p < P && !s; p++) {
                int m = mask[p / D];
                double nr = noise > 0 ? noise * cg_rng_normal(&g) : 0, ni = noise > 0 ? noise * cg_rng_normal(&g) : 0;
                o[p] = m ? (float)(k[2 * p] + nr) : 0, o[P + p] = m ? (float)(k[2 * p + 1] + ni) : 0, o[2 * P + p] = (float)m;
            }
        }
        free(k);
        char *kp = cg_cli_inverse_path(r.prefix, "_kspace.mrcs"), lab[160];
        snprintf(lab, sizeof lab, "mri k-space (re, im, mask): R %g, centre %g, %s mask, %d rows, noise %g", accel, center,
                 mask_kind, nsamp, noise);
        if (!s) s = kp ? cg_mrc_write(kp, ks, D, D, (int)(3 * n), 1.0f, 1, lab) : CG_ERR_NOMEM;
        free(kp);
        if (!r.truth) truth = ph, ph = NULL;
    } else {
        s = cg_mrc_read(pos[0], &h, &ks);
        if (!s && (h.nx != h.ny || h.nx % 2 || h.nx > 4096 || h.nz % 3))
            s = cg_error(CG_ERR_FORMAT, "%s: %d sections of %d x %d; a k-space stack holds 3 square sections per image "
                                        "(re, im, mask), even size <= 4096", pos[0], h.nz, h.nx, h.ny);
        if (!s) {
            D = h.nx, n = h.nz / 3;
            if (max_images > 0 && n > max_images) n = max_images;
            uint8_t mask[4096], sym[4096];
            for (int r2 = 0; r2 < D; r2++) nsamp += mask[r2] = ks[2 * (size_t)D * D + (size_t)r2 * D] > 0.5f;
            cg_mri_mask_symmetrise(sym, mask, D);
            for (int r2 = 0; r2 < D; r2++) nsym += sym[r2];
        }
    }
    if (!s && r.truth) {
        cg_mrc_header th;
        s = cg_mrc_read(r.truth, &th, &truth);
        if (!s && (th.nx != D || th.ny != D || th.nz < n))
            s = cg_error(CG_ERR_ARG, "--truth %s: %d images of %d x %d, need %lld of %d x %d", r.truth, th.nz, th.nx, th.ny,
                         (long long)n, D, D);
    }
    int code;
    if (s) code = cg_cli_fail("mri", s);
    else {
        mri_ctx c = {D, ks};
        snprintf(r.settings, sizeof r.settings,
                 "\"accel\": %g, \"center_fraction\": %g, \"mask\": \"%s\", \"hermitian_pairs\": %d, \"rows_acquired\": %d, "
                 "\"rows_known_with_mirrors\": %d, \"noise_sigma\": %g",
                 simulate ? accel : (double)D / (nsamp ? nsamp : 1), center, simulate ? mask_kind : "from file", pairs, nsamp,
                 nsym, noise);
        r.input = simulate ? simulate : pos[0];
        if (!r.truth && simulate) r.truth = simulate;
        printf("k-space: %d of %d rows acquired (%d known with their mirrors, K(-k) = conj K(k))\n", nsamp, D, nsym);
        code = cg_cli_inverse_main(&r, n, D, truth, mri_image, &c);
    }
    free(truth), free(ks), free(ph);
    return code;
}

const cg_cli_command cg_cmd_mri = {"mri", "undersampled MRI: zero-filled and score-based reconstruction", run};
