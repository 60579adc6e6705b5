/* A built-in synthetic molecule for demos and tests: a sum of 3D Gaussian blobs in a fixed,
 * asymmetric (chiral, no symmetry axis) arrangement generated in code, so `cryogen demo` needs
 * no downloads. Positions scale with the box: the molecule spans about 0.6 D.
 *
 * Units: blob centres in voxels relative to the box centre (D/2, D/2, D/2), x, y, z order;
 * sigma in voxels; amplitude is the peak density. Volumes are v[z][y][x].
 */
#pragma once
#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double x, y, z;   /* centre, voxels from the box centre */
    double sigma;     /* voxels */
    double amplitude; /* peak value */
} cg_blob;

#define CG_PHANTOM_MAX_BLOBS 64

/* Fill blobs (up to CG_PHANTOM_MAX_BLOBS) with the built-in molecule for box size D; returns
 * the count. Deterministic (fixed internal seed), thread-safe. */
int cg_phantom_blobs(int D, cg_blob *blobs);
/* vol (D^3) = sum of the blobs sampled at voxel centres (=, not +=). */
void cg_phantom_render(const cg_blob *blobs, int n, int D, float *vol);
/* Convenience: the built-in molecule rendered into vol (D^3). */
void cg_phantom_volume(int D, float *vol);

#ifdef __cplusplus
}
#endif
