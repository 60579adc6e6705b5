/* `cryogen demo`: a small end-to-end dataset from the built-in synthetic molecule
 * (src/physics/phantom.c): the ground-truth volume plus simulated particles, in seconds, with
 * no downloads. */
#include <stdlib.h>

#include "cli.h"
#include "cli_simulate.h"
#include "cryogen/mrc.h"
#include "cryogen/phantom.h"

static int run(int argc, char **argv) {
    const char *out = "demo-out";
    int64_t n = 500;
    int D = 64;
    double snr = 1.0;
    uint64_t seed = 1;
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &out, "DIR", "output directory (created)"},
        {"n", 0, CG_OPT_INT64, &n, "N", "number of particles"},
        {"box", 0, CG_OPT_INT, &D, "D", "box size, px"},
        {"snr", 0, CG_OPT_DOUBLE, &snr, "SNR", "signal-to-noise ratio"},
        {"seed", 0, CG_OPT_U64, &seed, "SEED", "random seed"},
        {0},
    };
    const cg_cli_spec spec = {"cryogen demo [--out DIR] [options]",
                              "Write a built-in synthetic molecule (a sum of Gaussian blobs, asymmetric) as DIR/volume.mrc and\n"
                              "simulate particle images from it with CTF and noise (see 'cryogen simulate').",
                              opts, 0, 0, "  cryogen demo --out demo-out"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (n <= 0) return cg_cli_usage_error("demo", "--n must be positive");
    if (D < 16 || D > 512) return cg_cli_usage_error("demo", "--box %d: use 16 to 512", D);

    cg_sim_config cfg = cg_sim_config_default();
    cfg.D = D;
    cfg.pixel_size_A = 3.0 * 64.0 / D; /* the molecule spans ~115 A whatever the box */
    cfg.snr = snr;
    cfg.seed = seed;
    cfg.defocus_min_A = 10000;
    cfg.defocus_max_A = 25000;
    cfg.astig_A = 300;
    cfg.shift_sd_A = 2 * cfg.pixel_size_A;
    cg_status s = cg_sim_config_check(&cfg);
    if (s != CG_OK) return cg_cli_fail("demo", s);

    float *vol = cg_malloc((size_t)D * D * D, sizeof(float), "phantom volume");
    cg_sim_particle *parts = cg_malloc((size_t)n, sizeof *parts, "particles");
    char *vpath = cg_path_join(out, "volume.mrc");
    if (!vol || !parts || !vpath) s = CG_ERR_NOMEM;
    if (s == CG_OK) {
        cg_phantom_volume(D, vol);
        for (int64_t i = 0; i < n; i++) cg_sim_draw_particle(&cfg, i, &parts[i]);
        s = cg_mkdir_p(out);
    }
    char prov[256];
    cg_tool_provenance(prov, sizeof prov, "demo", seed);
    if (s == CG_OK) s = cg_mrc_write(vpath, vol, D, D, D, (float)cfg.pixel_size_A, 0, prov);
    if (s == CG_OK) {
        cg_sim_output o = {out, "demo", 0, 0, NULL, NULL};
        s = cg_tool_simulate(vol, &cfg, parts, n, &o);
    }
    if (s == CG_OK)
        printf("  ground truth: %s (%d^3 voxels, %.3g A/px)\n"
               "next, inside %s:\n"
               "  cryogen backproject particles.star --out map.mrc      (map, half maps, gold-standard FSC)\n"
               "  cryogen fsc map.mrc volume.mrc --plot fsc.svg         (against the ground truth)\n"
               "  relion_reconstruct --i particles.star --o rec.mrc --ctf   (the same with RELION)\n",
               vpath, D, cfg.pixel_size_A, out);
    free(vol), free(parts), free(vpath);
    return s == CG_OK ? CG_EXIT_OK : cg_cli_fail("demo", s);
}

const cg_cli_command cg_cmd_demo = {"demo", "simulate a small dataset from a built-in molecule", run};
