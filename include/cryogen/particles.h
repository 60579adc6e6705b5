/* A particle set: per-particle poses, shifts, CTF and image locations, read from a RELION STAR
 * file (3.0 or 3.1+ with data_optics) or a cryoSPARC .cs file, and written as RELION 3.1 STAR.
 * This is the struct every method consumes; it converts units at the file boundary:
 * angles in radians, shifts in Angstrom (rlnOriginXAngst/YAngst; pre-3.1 rlnOriginX/Y pixels are
 * multiplied by the pixel size), defocus in Angstrom, CTF phase shift in radians.
 *
 * Image names `NNNNNN@stack.mrcs` are 1-based. Stack paths are resolved relative to the STAR
 * file's directory first, then to the working directory (RELION uses the working directory;
 * we try both, in that order, and say which was used in the log at debug level).
 */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"
#include "cryogen/ctf.h"
#include "cryogen/mrc.h"
#include "cryogen/star.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int64_t n;
    int image_size;      /* D: box size in pixels (all particles share it) */
    double pixel_size_A; /* all particles share it */
    /* per particle, arrays of length n. Always allocated by this module (zeros where the source
     * has no such column); has_* say which the source provided. */
    double *euler_rad;   /* [n][3] rot, tilt, psi */
    double *shift_A;     /* [n][2] rlnOriginXAngst, rlnOriginYAngst */
    cg_ctf_params *ctf;  /* [n] */
    int *random_subset;  /* [n] 1 or 2; 0 where unknown */
    int *optics_group;   /* [n] 1-based */
    int has_poses, has_shifts, has_ctf;
    /* image locations: stack file index and 0-based image index within it */
    int32_t *stack_of;   /* [n] index into stack_paths */
    int64_t *image_index;/* [n] */
    int nstacks;
    char **stack_paths;  /* resolved paths */
    cg_mrc_stack **stacks; /* opened lazily by cg_particles_open_stacks */
    cg_star *star;       /* the source STAR (NULL for .cs), kept for round trips */
    /* ---- additions beyond the first contract ---- */
    char *source_path;     /* the file read (NULL for a set made by cg_particles_alloc) */
    char **stack_names;    /* [nstacks] stack names as written in the source file */
    int64_t *stack_first;  /* [nstacks] first particle (0-based) using each stack, for messages */
    int *stack_found;      /* [nstacks] 1 when the file existed when the path was resolved */
} cg_particles;

/* Read a STAR (.star) or cryoSPARC (.cs) file by extension (anything not ending in .cs is read
 * as STAR). Stack paths are resolved here (and a missing stack is logged at debug level);
 * that every referenced stack and image exists is checked by cg_particles_open_stacks.
 * The box size comes from rlnImageSize (optics or particle), else from the first stack's
 * header; the pixel size from rlnImagePixelSize, else rlnDetectorPixelSize * 1e4 /
 * rlnMagnification (RELION 3.0), else the first stack's header (with a warning). All particles
 * must share one box and one pixel size (else CG_ERR_UNSUPPORTED naming two that differ).
 * cryoSPARC mapping (src/io/particles_cs.c): A = R(pose)^T with R the Rodrigues matrix of the
 * axis-angle alignments3D/pose, as cryoDRGN's parse_pose_csparc; shifts alignments3D/shift in
 * pixels have the sign of rlnOriginX. */
cg_status cg_particles_read(const char *path, cg_particles **out);
/* Open every stack and check image indices and sizes against the STAR: "p.star: particle 12
 * refers to image 4001 of stack.mrcs, which holds 4000". */
cg_status cg_particles_open_stacks(cg_particles *p);
/* Image i (0-based) as D*D floats. Thread-safe after cg_particles_open_stacks. */
cg_status cg_particles_read_image(const cg_particles *p, int64_t i, float *out);
void cg_particles_free(cg_particles *p); /* accepts NULL */

/* Allocate an empty set of n particles with all arrays (zeroed; ctf set to defaults). */
cg_status cg_particles_alloc(cg_particles **out, int64_t n, int image_size, double pixel_size_A);
/* Write RELION 3.1 STAR (data_optics with one group per distinct (voltage, Cs, w), then
 * data_particles with rlnImageName "%06lld@<stack_name>", angles in degrees, origins in
 * Angstrom, CTF). `comment` (may be NULL) goes in a leading # line (provenance).
 * With stack_name, particle i is image i + 1 of that stack; with stack_name NULL each particle
 * keeps its own stack (path as resolved when read) and image index. Columns of the source STAR
 * (p->star) that this writer does not produce are copied unchanged when the particle count
 * matches, so unknown labels survive a read-modify-write. Columns only written where has_*
 * is set: angles (has_poses), origins (has_shifts), defocus/phase/B/scale (has_ctf);
 * rlnRandomSubset where any particle has one. Atomic (temporary name, then rename). */
cg_status cg_particles_write_star(const cg_particles *p, const char *path, const char *stack_name,
                                  const char *comment);

#ifdef __cplusplus
}
#endif
