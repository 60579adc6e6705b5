/* `cryogen eval-vol`: volumes of a trained VAE's decoder at given latents, as MRC maps with the
 * training images' pixel size, plus a ChimeraX script opening them as a series. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_vae.h"
#include "cryogen/mrc.h"
#include "cryogen/vae.h"

/* Numbers from a string or a file ('#' comments) into a growing array. */
static cg_status parse_numbers(const char *text, const char *where, float **v, int64_t *n, int64_t *cap) {
    const char *p = text;
    char *e;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n' || *p == '\r') p++;
        if (!*p || *p == '#') break;
        double x = strtod(p, &e);
        if (e == p) return cg_error(CG_ERR_FORMAT, "%s: '%.20s' is not a number", where, p);
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            float *nv = realloc(*v, sizeof(float) * (size_t)*cap);
            if (!nv) return cg_error(CG_ERR_NOMEM, "%s: too many values", where);
            *v = nv;
        }
        (*v)[(*n)++] = (float)x;
        p = e;
    }
    return CG_OK;
}

static cg_status read_zfile(const char *path, float **v, int64_t *n, int64_t *cap) {
    FILE *f = fopen(path, "r");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char line[65536];
    cg_status s = CG_OK;
    while (!s && fgets(line, sizeof line, f)) s = parse_numbers(line, path, v, n, cap);
    fclose(f);
    return s;
}

static int run(int argc, char **argv) {
    const char *zs = NULL, *zfile = NULL, *out = NULL;
    int epoch = 0;
    const cg_opt opts[] = {
        {"z", 0, CG_OPT_STRING, &zs, "\"z1 z2 ...\"", "one latent (zdim numbers)"},
        {"z-file", 0, CG_OPT_STRING, &zfile, "FILE", "latents, zdim numbers per row (e.g. rows of z.E.txt)"},
        {"out", 'o', CG_OPT_STRING, &out, "PREFIX", "writes PREFIX_000.mrc, PREFIX_001.mrc, ... and PREFIX.cxc (required)"},
        {"epoch", 0, CG_OPT_INT, &epoch, "E", "use weights.E.ckpt (default: the latest)"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen eval-vol DIR (--z \"z1 z2 ...\" | --z-file FILE) --out PREFIX [options]",
        "Evaluate the decoder of a VAE trained by 'cryogen train-vae' on the full 3D lattice (inside the\n"
        "sphere of radius D/2) for each latent, inverse-transform to real space and write MRC maps in the\n"
        "training images' units and pixel size, plus a ChimeraX script PREFIX.cxc opening them as a series.",
        opts, 1, 1, "  cryogen eval-vol vae --z \"0.5 -1.2\" --out vol\n  cryogen eval-vol vae --z-file centres.txt --out traj"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!out) return cg_cli_usage_error(argv[0], "--out PREFIX is required");
    if (!zs == !zfile) return cg_cli_usage_error(argv[0], "give exactly one of --z and --z-file");
    char *path = NULL;
    cg_vae_state *st = NULL;
    cg_vae *v = NULL;
    float *z = NULL;
    int64_t nz = 0, cap = 0;
    cg_status s = cg_tool_vae_load(pos[0], epoch, &v, &st, &path, &epoch);
    if (!s) s = zs ? parse_numbers(zs, "--z", &z, &nz, &cap) : read_zfile(zfile, &z, &nz, &cap);
    const int zd = st ? st->cfg.zdim : 1;
    if (!s && (nz == 0 || nz % zd))
        s = cg_error(CG_ERR_ARG, "%s: %lld numbers, not a whole number of %d-dimensional latents", zs ? "--z" : zfile,
                     (long long)nz, zd);
    if (!s) s = cg_tool_vae_volume_series(v, st, z, nz / zd, out, path, epoch, 0);
    free(path), free(st), free(z);
    cg_vae_destroy(v);
    return s ? cg_cli_fail(argv[0], s) : 0;
}

const cg_cli_command cg_cmd_eval_vol = {"eval-vol", "volumes of a trained VAE at given latents (MRC + ChimeraX script)", run};
