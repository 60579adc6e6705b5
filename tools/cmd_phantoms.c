/* `cryogen phantoms`: random 2D ellipse phantoms (Shepp-Logan-like, src/inverse/phantom2d.c)
 * written as an MRC stack, the training and test data of the CT/MRI inverse problems (issue 9).
 * Phantom k is drawn from (seed, CG_INVERSE_STREAM_PHANTOM, first + k), so disjoint --first
 * ranges give disjoint (held-out) sets. --shepp-logan writes the modified Shepp-Logan phantom. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cryogen/inverse.h"
#include "cryogen/mrc.h"

static int run(int argc, char **argv) {
    const char *out = NULL;
    int64_t n = 100, first = 0;
    int D = 64, shepp = 0;
    uint64_t seed = 1;
    cg_phantom2d_config pc;
    cg_phantom2d_defaults(&pc);
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &out, "X.mrcs", "output stack"},
        {"n", 0, CG_OPT_INT64, &n, "N", "number of phantoms"},
        {"first", 0, CG_OPT_INT64, &first, "K", "index of the first phantom (held-out sets: a disjoint range)"},
        {"box", 0, CG_OPT_INT, &D, "D", "image size in pixels"},
        {"seed", 0, CG_OPT_U64, &seed, "SEED", "random seed"},
        {"min-inner", 0, CG_OPT_INT, &pc.min_inner, "N", "fewest inner ellipses"},
        {"max-inner", 0, CG_OPT_INT, &pc.max_inner, "N", "most inner ellipses"},
        {"texture", 0, CG_OPT_DOUBLE, &pc.texture, "T", "relative amplitude of the smooth texture"},
        {"supersample", 0, CG_OPT_INT, &pc.supersample, "S", "S x S sub-pixel points per pixel"},
        {"shepp-logan", 0, CG_OPT_FLAG, &shepp, NULL, "write the modified Shepp-Logan phantom (n copies: use --n 1)"},
        {0}};
    const cg_cli_spec spec = {"cryogen phantoms --n N --box D --out X.mrcs [options]",
                              "Random Shepp-Logan-like ellipse phantoms (values in [0, 1]) as an MRC stack.", opts, 0, 0,
                              "  cryogen phantoms --n 4000 --box 64 --out train.mrcs\n"
                              "  cryogen phantoms --n 20 --first 1000000 --box 64 --out test.mrcs"};
    int npos, rc = cg_cli_parse(&spec, argc, argv, NULL, &npos);
    if (rc >= 0) return rc;
    if (!out) return cg_cli_usage_error("phantoms", "--out X.mrcs is required");
    if (n < 1 || first < 0 || D < 8 || D > 4096) return cg_cli_usage_error("phantoms", "need --n >= 1, --first >= 0, --box 8..4096");
    float *img = malloc(sizeof(float) * (size_t)n * D * D);
    if (!img) return cg_cli_fail("phantoms", cg_error(CG_ERR_NOMEM, "%lld phantoms of %d^2", (long long)n, D));
    cg_status s = CG_OK;
    for (int64_t k = 0; k < n && !s; k++) {
        float *p = img + (size_t)k * D * D;
        if (shepp) {
            cg_ellipse e[10];
            cg_ellipses_render(e, cg_shepp_logan(e), D, pc.supersample, p);
        } else
            s = cg_phantom2d_random(&pc, seed, first + k, D, p);
    }
    char label[160];
    snprintf(label, sizeof label, "phantoms: %s seed %llu first %lld texture %g", shepp ? "shepp-logan" : "random",
             (unsigned long long)seed, (long long)first, pc.texture);
    if (!s) s = cg_mrc_write(out, img, D, D, (int)n, 1.0f, 1, label);
    if (!s) printf("wrote %lld phantoms of %d x %d to %s\n", (long long)n, D, D, out);
    free(img);
    return s ? cg_cli_fail("phantoms", s) : CG_EXIT_OK;
}

const cg_cli_command cg_cmd_phantoms = {"phantoms", "random 2D ellipse phantoms (CT/MRI training data)", run};
