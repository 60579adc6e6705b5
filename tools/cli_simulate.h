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
} cg_sim_output;

/* parts[0..n) are the particles; vol is D^3 (cfg->D). On any failure or interrupt no final
 * output is left half-written (each file is renamed into place only when complete). */
cg_status cg_tool_simulate(const float *vol, const cg_sim_config *cfg, const cg_sim_particle *parts, int64_t n,
                           const cg_sim_output *o);
/* "cryogen VERSION (git HASH) COMMAND seed=N" (no seed for CG_NO_SEED): buf is returned. */
char *cg_tool_provenance(char *buf, size_t size, const char *command, uint64_t seed);
