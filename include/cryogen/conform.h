/* Conformational models: a parameter per particle (continuous or discrete) mapped to a set of
 * Gaussian atoms, from which the simulator draws images and ground-truth volumes.
 *
 *   morph     linear interpolation between two models with the same atoms, the second
 *             superposed on the first over a core selection; t in [0, 1]
 *   hinge     a rigid domain (residue range) of one model rotating about an axis through a
 *             hinge point; angle in [min, max] degrees (CryoBench IgG-1D style)
 *   discrete  K states (models) with given probabilities (Multi-CryoGAN's 25/75)
 *   lids      a box of Gaussian primitives with four lids on its side faces; two angles, one
 *             per pair of opposite lids (score-based tomography's synthetic object)
 *   capsid    a spherical shell of Gaussians with six flexible arms whose bend is one parameter
 *   synthetic a built-in asymmetric molecule of a few hundred atoms with a hinged domain, for
 *             the demo and tests (no files needed)
 *
 * The parameter of a particle is written as ground truth in a separate file by the simulator,
 * never as a STAR column a method would read. Parameters: morph t; hinge and synthetic angle
 * in degrees; discrete state index 0..K-1; lids two angles in degrees; capsid bend in degrees.
 */
#pragma once
#include <stdint.h>

#include "cryogen/atoms.h"
#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CG_CONF_MORPH,
    CG_CONF_HINGE,
    CG_CONF_DISCRETE,
    CG_CONF_LIDS,
    CG_CONF_CAPSID,
    CG_CONF_SYNTHETIC,
} cg_conf_kind;

typedef struct cg_conf_model cg_conf_model;

/* Models from atomic files. Residue ranges are inclusive and 1-based as in the file. */
cg_status cg_conf_morph_create(cg_conf_model **out, const cg_atoms *a, const cg_atoms *b);
cg_status cg_conf_hinge_create(cg_conf_model **out, const cg_atoms *a, int res_first, int res_last,
                               double angle_min_deg, double angle_max_deg);
/* K states, each a cg_atoms (need not share atoms); probabilities normalised internally. */
cg_status cg_conf_discrete_create(cg_conf_model **out, const cg_atoms *const *states, const double *prob, int k);
/* Synthetic objects built from Gaussian primitives; `size_A` is the overall diameter. */
cg_status cg_conf_lids_create(cg_conf_model **out, double size_A, double angle_max_deg);
cg_status cg_conf_capsid_create(cg_conf_model **out, double size_A, double bend_max_deg);
cg_status cg_conf_synthetic_create(cg_conf_model **out, double angle_max_deg);
/* By name ("lids", "capsid", "synthetic") with defaults sized for a box of D * pixel_size_A. */
cg_status cg_conf_builtin_create(cg_conf_model **out, const char *name, double box_A);
void cg_conf_destroy(cg_conf_model *m); /* accepts NULL */

cg_conf_kind cg_conf_kind_of(const cg_conf_model *m);
const char *cg_conf_name(const cg_conf_model *m);
int cg_conf_param_dim(const cg_conf_model *m);  /* 1 or 2 */
int cg_conf_nstates(const cg_conf_model *m);    /* K for discrete, 0 for continuous */
/* Range of parameter j (for discrete: 0 .. K-1). */
void cg_conf_param_range(const cg_conf_model *m, int j, double *lo, double *hi);
/* Largest atom count over all parameters (size of the `atoms` buffer to pass below). */
int64_t cg_conf_max_atoms(const cg_conf_model *m);
/* Centre of the model's frame (grid centre for volumes and projections), Angstrom. */
void cg_conf_centre(const cg_conf_model *m, double c[3]);

/* Atoms for a parameter: writes *n atoms into `atoms` (room for cg_conf_max_atoms). */
cg_status cg_conf_atoms(const cg_conf_model *m, const double *param, cg_atom *atoms, int64_t *n);
/* Draw a parameter: uniform over the range(s), or a state by the probabilities. */
void cg_conf_sample(const cg_conf_model *m, cg_rng *r, double *param);

/* ---- a model as text, so that evaluation can rebuild exactly what the simulator used ----
 * Written by `cryogen simulate --model` as DIR/model.txt, `key = value` lines:
 *   model = morph | hinge | discrete | lids | capsid | synthetic
 *   files = a.pdb, b.pdb        (absolute paths; morph: 2, hinge: 1, discrete: K)
 *   residues = 122:159          (hinge domain)
 *   range = 0:60                (parameter range in degrees; hinge, lids, capsid, synthetic)
 *   probabilities = 0.25, 0.75  (discrete)
 *   box_A = 96                  (built-in models are sized to the box)
 *   bfactor_extra_A2 = 0, use_file_bfactor = 1, skip_hydrogens = 0 (Gaussian options) */
enum { CG_CONF_MAX_FILES = 8 };
typedef struct {
    char model[16];
    int nfiles;
    char files[CG_CONF_MAX_FILES][1024];
    int res_first, res_last;
    int has_range;
    double range[2];
    int nprob;
    double prob[CG_CONF_MAX_FILES];
    double box_A;
    cg_gauss_opts gauss;
} cg_conf_spec;

void cg_conf_spec_init(cg_conf_spec *s); /* zeros, default Gaussian options */
/* Build the model the spec names (reads the files). Errors name the missing piece. */
cg_status cg_conf_from_spec(cg_conf_model **out, const cg_conf_spec *s);
cg_status cg_conf_spec_write(const cg_conf_spec *s, const char *path, const char *comment);
cg_status cg_conf_spec_read(const char *path, cg_conf_spec *s);

#ifdef __cplusplus
}
#endif
