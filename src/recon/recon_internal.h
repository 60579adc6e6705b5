/* Shared between the files of src/recon (not part of the public API). */
#pragma once
#include "cryogen/ctf.h"
#include "cryogen/project.h"

struct cg_recon_accum {
    int D, nhalves;
    cg_backprojector *bp[2]; /* weighted, oversampling 2 */
};

/* RELION CTF on the D x (D/2+1) half grid without atan2 (same values as cg_ctf_fill_half). */
void cg__recon_ctf_half(const cg_ctf *c, int D, double pixel_size_A, float *out);
