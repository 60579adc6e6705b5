/* `cryogen eval-vol`: volumes of a trained VAE's decoder at given latents, as MRC maps with the
 * training images' pixel size, plus a ChimeraX script opening them as a series. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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
    cg_status s;
    if (epoch > 0) {
        char name[64];
        snprintf(name, sizeof name, "weights.%d.ckpt", epoch);
        path = cg_path_join(pos[0], name);
        s = path ? CG_OK : CG_ERR_NOMEM;
    } else
        s = cg_vae_find_latest(pos[0], &epoch, &path);
    cg_vae_state *st = cg_calloc(1, sizeof *st, "VAE state");
    cg_vae *v = NULL;
    float *z = NULL, *vol = NULL;
    int64_t nz = 0, cap = 0;
    if (!st) s = CG_ERR_NOMEM;
    if (!s) s = cg_vae_read_state(path, st);
    if (!s) s = cg_vae_create(&v, &st->cfg);
    if (!s) s = cg_vae_load(v, path);
    if (!s) s = zs ? parse_numbers(zs, "--z", &z, &nz, &cap) : read_zfile(zfile, &z, &nz, &cap);
    const int zd = st ? st->cfg.zdim : 1, D = st ? st->cfg.D : 0;
    if (!s && (nz == 0 || nz % zd))
        s = cg_error(CG_ERR_ARG, "%s: %lld numbers, not a whole number of %d-dimensional latents", zs ? "--z" : zfile,
                     (long long)nz, zd);
    if (!s) {
        vol = cg_malloc((size_t)D * D * D, sizeof(float), "volume");
        if (!vol) s = CG_ERR_NOMEM;
    }
    cg_outfile cx;
    memset(&cx, 0, sizeof cx);
    char *cxc = NULL, *dir = cg_path_dirname(out);
    if (!s) s = dir ? cg_mkdir_p(dir) : CG_ERR_NOMEM;
    free(dir);
    if (!s) {
        size_t len = strlen(out) + 8;
        cxc = malloc(len);
        if (!cxc) s = CG_ERR_NOMEM;
        else snprintf(cxc, len, "%s.cxc", out), s = cg_outfile_open(&cx, cxc);
    }
    if (!s) {
        char prov[256];
        fprintf(cx.fp, "# %s; %s, epoch %d (written by: %.248s)\n# open the maps as a volume series (ChimeraX); 'vseries play #1' plays it\nopen",
                cg_provenance(prov, sizeof prov, st->cfg.seed), path, epoch, st->provenance);
    }
    for (int64_t k = 0; !s && k < nz / zd; k++) {
        char name[4096], label[80];
        snprintf(name, sizeof name, "%s_%03lld.mrc", out, (long long)k);
        snprintf(label, sizeof label, "eval-vol epoch %d latent %lld", epoch, (long long)k);
        s = cg_vae_volume(v, z + k * zd, vol);
        if (!s) s = cg_mrc_write(name, vol, D, D, D, (float)st->cfg.pixel_size_A, 0, label);
        const char *base = strrchr(name, '/');
        if (!s) fprintf(cx.fp, " %s", base ? base + 1 : name), printf("wrote %s\n", name);
    }
    if (!s) {
        fprintf(cx.fp, "%s\n", nz / zd > 1 ? " vseries true" : "");
        s = cg_outfile_commit(&cx);
        if (!s) printf("wrote %s\n", cxc);
    } else
        cg_outfile_abort(&cx);
    free(cxc), free(path), free(st), free(z), free(vol);
    cg_vae_destroy(v);
    return s ? cg_cli_fail(argv[0], s) : 0;
}

const cg_cli_command cg_cmd_eval_vol = {"eval-vol", "volumes of a trained VAE at given latents (MRC + ChimeraX script)", run};
