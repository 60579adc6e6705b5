/* Tool-side helpers shared by the VAE commands; see cli_vae.h. */
#include <stdlib.h>
#include <string.h>

#include "cli_vae.h"
#include "cryogen/mrc.h"

cg_status cg_tool_vae_load(const char *dir, int epoch, cg_vae **v, cg_vae_state **st, char **path, int *epoch_used) {
    *v = NULL;
    *st = NULL;
    *path = NULL;
    cg_status s;
    if (epoch > 0) {
        char name[64];
        snprintf(name, sizeof name, "weights.%d.ckpt", epoch);
        *path = cg_path_join(dir, name);
        s = *path ? CG_OK : CG_ERR_NOMEM;
    } else
        s = cg_vae_find_latest(dir, &epoch, path);
    *epoch_used = epoch;
    *st = s ? NULL : cg_calloc(1, sizeof **st, "VAE state");
    if (!s && !*st) s = CG_ERR_NOMEM;
    if (!s) s = cg_vae_read_state(*path, *st);
    if (!s) s = cg_vae_create(v, &(*st)->cfg);
    if (!s) s = cg_vae_load(*v, *path);
    return s;
}

cg_status cg_tool_vae_volume_series(cg_vae *v, const cg_vae_state *st, const float *z, int64_t n, const char *prefix,
                                    const char *ckpt, int epoch, int quiet) {
    const int zd = st->cfg.zdim, D = st->cfg.D;
    float *vol = cg_malloc((size_t)D * D * D, sizeof(float), "volume");
    char *dir = cg_path_dirname(prefix);
    cg_status s = (vol && dir) ? cg_mkdir_p(dir) : CG_ERR_NOMEM;
    cg_outfile cx;
    memset(&cx, 0, sizeof cx);
    size_t len = strlen(prefix) + 8;
    char *cxc = malloc(len);
    if (!s && !cxc) s = CG_ERR_NOMEM;
    if (!s) snprintf(cxc, len, "%s.cxc", prefix), s = cg_outfile_open(&cx, cxc);
    if (!s) {
        char prov[256];
        fprintf(cx.fp,
                "# %s; %s, epoch %d (written by: %.248s)\n# open the maps as a volume series (ChimeraX); 'vseries play #1' "
                "plays it\nopen",
                cg_provenance(prov, sizeof prov, st->cfg.seed), ckpt, epoch, st->provenance);
    }
    for (int64_t k = 0; !s && k < n; k++) {
        char name[4096], label[80];
        snprintf(name, sizeof name, "%s_%03lld.mrc", prefix, (long long)k);
        snprintf(label, sizeof label, "VAE epoch %d latent %lld", epoch, (long long)k);
        s = cg_vae_volume(v, z + k * zd, vol);
        if (!s) s = cg_mrc_write(name, vol, D, D, D, (float)st->cfg.pixel_size_A, 0, label);
        const char *base = strrchr(name, '/');
        if (!s) fprintf(cx.fp, " %s", base ? base + 1 : name);
        if (!s && !quiet) printf("wrote %s\n", name);
    }
    if (!s) {
        fprintf(cx.fp, "%s\n", n > 1 ? " vseries true" : "");
        s = cg_outfile_commit(&cx);
        if (!s && !quiet) printf("wrote %s\n", cxc);
    } else
        cg_outfile_abort(&cx);
    free(vol), free(dir), free(cxc);
    return s;
}
