/* Tool-side driver shared by `cryogen simulate` and `cryogen demo`: runs the library simulator
 * (include/cryogen/simulate.h) over a particle list in ordered batches and writes
 * DIR/particles.mrcs, DIR/clean.mrcs and DIR/particles.star (RELION 3.1) atomically, with a
 * progress line, interrupt polling and a summary on stdout. */
#pragma once
#include "cryogen/simulate.h"

typedef struct {
    const char *out_dir;
    const char *command;   /* "simulate" or "demo", recorded in the provenance */
    int quiet_summary;     /* 1: no summary lines */
    int no_clean;          /* 1: do not write clean.mrcs */
    const cg_conf_model *model; /* non-NULL: images from this model (vol is ignored) */
    const cg_gauss_opts *gauss; /* the model's Gaussian options */
} cg_sim_output;

/* parts[0..n) are the particles; vol is D^3 (cfg->D). On any failure or interrupt no final
 * output is left half-written (each file is renamed into place only when complete). */
cg_status cg_tool_simulate(const float *vol, const cg_sim_config *cfg, const cg_sim_particle *parts, int64_t n,
                           const cg_sim_output *o);
/* Ground truth of a model simulation, next to the particles in DIR:
 *   DIR/model.txt          the model spec (cg_conf_spec_read rebuilds the model)
 *   DIR/ground_truth.txt   one line per particle: image number (1-based, as in the STAR and
 *                          the stack) and its parameter(s); never a STAR column, so no method
 *                          reads it by accident
 *   DIR/gt_volumes/vol_NNN.mrc and params.txt: volumes on a grid of `grid` parameter values
 *                          per axis (every state for discrete models) */
cg_status cg_tool_write_ground_truth(const char *dir, const cg_conf_spec *spec, const cg_conf_model *m,
                                     const cg_sim_config *cfg, const cg_sim_particle *parts, int64_t n, int grid,
                                     const char *prov);
/* "cryogen VERSION (git HASH) COMMAND seed=N" (no seed for CG_NO_SEED): buf is returned. */
char *cg_tool_provenance(char *buf, size_t size, const char *command, uint64_t seed);
