/* `cryogen compare-images`: PSNR and SSIM (src/inverse/quality.c) of each image of a stack
 * against a reference stack, per image and their mean; text on stdout, optional JSON. */
#include <math.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_maps.h"
#include "cryogen/inverse.h"
#include "cryogen/mrc.h"

static int run(int argc, char **argv) {
    const char *json = NULL;
    double range = 0;
    const cg_opt opts[] = {
        {"data-range", 0, CG_OPT_DOUBLE, &range, "R", "data range L of PSNR and SSIM (0: max - min of each reference image)"},
        {"json", 0, CG_OPT_STRING, &json, "OUT.json", "also write the numbers as JSON"},
        {0}};
    const cg_cli_spec spec = {"cryogen compare-images IMAGES.mrcs REFERENCE.mrcs [--data-range R] [--json OUT.json]",
                              "PSNR (dB) and SSIM (Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03) of each image against "
                              "the reference image with the same index.",
                              opts, 2, 2, "  cryogen compare-images ct23_recon.mrcs test.mrcs --data-range 1"};
    const char *pos[2];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    cg_mrc_header ha, hb;
    float *a = NULL, *b = NULL;
    cg_status s = cg_mrc_read(pos[0], &ha, &a);
    if (!s) s = cg_mrc_read(pos[1], &hb, &b);
    if (!s && (ha.nx != hb.nx || ha.ny != hb.ny || ha.nz != hb.nz))
        s = cg_error(CG_ERR_ARG, "%s holds %d images of %d x %d but %s holds %d of %d x %d: need the same shape", pos[0], ha.nz,
                     ha.nx, ha.ny, pos[1], hb.nz, hb.nx, hb.ny);
    if (!s && (ha.nx < 11 || ha.ny < 11)) s = cg_error(CG_ERR_ARG, "%s: images of %d x %d, SSIM needs at least 11 x 11", pos[0], ha.nx, ha.ny);
    cg_outfile o = {0};
    if (!s && json) s = cg_outfile_open(&o, json);
    if (!s) {
        char prov[256];
        size_t P = (size_t)ha.nx * ha.ny;
        double mp = 0, ms = 0;
        if (json) {
            fprintf(o.fp, "{\n  \"command\": \"compare-images\",\n  \"provenance\": \"%s\",\n  \"images\": ",
                    cg_provenance(prov, sizeof prov, CG_NO_SEED));
            cli_json_str(o.fp, pos[0]);
            fputs(",\n  \"reference\": ", o.fp);
            cli_json_str(o.fp, pos[1]);
            fprintf(o.fp, ",\n  \"data_range\": %g,\n  \"per_image\": [\n", range);
        }
        printf("# image\tPSNR_dB\tSSIM\n");
        for (int i = 0; i < ha.nz; i++) {
            double p = cg_psnr(a + i * P, b + i * P, ha.ny, ha.nx, range), q = cg_ssim(a + i * P, b + i * P, ha.ny, ha.nx, range);
            printf("%d\t%.4f\t%.5f\n", i, p, q);
            if (json) { /* identical images: PSNR infinite, written as null (JSON has no infinity) */
                if (isinf(p)) fprintf(o.fp, "    {\"index\": %d, \"psnr\": null, \"ssim\": %.5f}%s\n", i, q, i + 1 < ha.nz ? "," : "");
                else fprintf(o.fp, "    {\"index\": %d, \"psnr\": %.4f, \"ssim\": %.5f}%s\n", i, p, q, i + 1 < ha.nz ? "," : "");
            }
            mp += p / ha.nz, ms += q / ha.nz;
        }
        printf("mean\t%.4f\t%.5f\n", mp, ms);
        if (json) {
            if (isinf(mp)) fprintf(o.fp, "  ],\n  \"mean_psnr\": null,\n  \"mean_ssim\": %.5f\n}\n", ms);
            else fprintf(o.fp, "  ],\n  \"mean_psnr\": %.4f,\n  \"mean_ssim\": %.5f\n}\n", mp, ms);
            s = cg_outfile_commit(&o);
        }
    }
    free(a), free(b);
    return s ? cg_cli_fail("compare-images", s) : CG_EXIT_OK;
}

const cg_cli_command cg_cmd_compare_images = {"compare-images", "PSNR and SSIM of images against a reference stack", run};
