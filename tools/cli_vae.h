/* Tool-side helpers shared by the VAE commands (eval-vol, analyze). */
#pragma once
#include "cryogen/vae.h"

/* Load the checkpoint of epoch `epoch` in dir (0: the latest; *epoch_used set), building the model
 * from the file's own config. *v, *st and *path are the caller's to free (cg_vae_destroy, free). */
cg_status cg_tool_vae_load(const char *dir, int epoch, cg_vae **v, cg_vae_state **st, char **path, int *epoch_used);
/* Volumes for n latents (zdim each) as PREFIX_000.mrc ... and a ChimeraX script PREFIX.cxc that
 * opens them as a series; prints each path unless quiet. */
cg_status cg_tool_vae_volume_series(cg_vae *v, const cg_vae_state *st, const float *z, int64_t n, const char *prefix,
                                    const char *ckpt, int epoch, int quiet);
