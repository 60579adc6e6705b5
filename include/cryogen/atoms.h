/* Atomic models: PDB and mmCIF reading, electron scattering potentials as sums of Gaussians,
 * voxelised volumes and analytic 2D projections of the same Gaussian mixture, and rigid
 * superposition.
 *
 * Scattering model: each atom's elastic electron scattering factor is Peng et al. (1996),
 * Acta Cryst. A52, 257 (5 Gaussians, fit for 0 < s < 2 A^-1; International Tables Vol. C,
 * table 4.3.2.2): f(s) = sum_i a_i exp(-b_i s^2), s = |k| / 2 with k in cycles/A. With an
 * atomic B-factor the factor is multiplied by exp(-B s^2). Its inverse Fourier transform is
 *     rho(r) = sum_i a_i (4 pi / beta_i)^(3/2) exp(-4 pi^2 r^2 / beta_i),  beta_i = b_i + B.
 * Parameters exist for H, C, N, O, P, S; any other element uses carbon's profile scaled by
 * Z / 6 (a documented simpler approximation; a warning names the element once).
 *
 * Grids: a volume of D^3 voxels of pixel_size_A with its centre voxel D/2 at `centre_A`
 * (CONVENTIONS.md grid centre). A voxel holds the MEAN potential over its cube (the Gaussian
 * integrated exactly over the voxel with error functions, divided by the voxel volume), so
 * the line sum of a column equals the analytic projection integrated over the pixel,
 * divided by pixel_size_A^3. Projections use the same rotation convention as the voxel
 * projectors: an atom at map position r appears at image position A (r - centre).
 */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double xyz_A[3];
    float b_factor_A2;
    float occupancy;
    int element;     /* atomic number Z (1 = H) */
    int model;       /* 1-based model number as read (MODEL records / pdbx_PDB_model_num) */
    int resseq;
    int hetatm;
    char name[5];    /* atom name, trimmed: "CA" */
    char resname[4];
    char chain[5];
} cg_atom;

typedef struct {
    int64_t n;        /* atoms of the first model (or of all models, see cg_atoms_read) */
    cg_atom *atoms;
    int nmodels;      /* models present in the file */
    char *path;
} cg_atoms;

typedef enum { CG_ATOMS_FIRST_MODEL = 0, CG_ATOMS_ALL_MODELS = 1 } cg_atoms_models;

/* Read a PDB or mmCIF file (chosen by content: "data_" + "_atom_site." means mmCIF).
 * ATOM and HETATM records; first alternate location only (blank or 'A' / the first seen);
 * element from the element column, or, where it is missing, from the atom name (for ATOM
 * records the first letter after any digits, so "CD" is carbon; HETATM names that are a
 * two-letter element such as "FE" or "ZN" are that element). Malformed coordinates are an
 * error naming the file and line. */
cg_status cg_atoms_read(const char *path, cg_atoms_models which, cg_atoms **out);
cg_status cg_atoms_parse(const char *text, size_t len, const char *name, cg_atoms_models which, cg_atoms **out);
void cg_atoms_free(cg_atoms *a); /* accepts NULL */
/* Atoms of model m (1-based) as indices [*first, *last) into a->atoms (for ALL_MODELS reads). */
cg_status cg_atoms_model_range(const cg_atoms *a, int m, int64_t *first, int64_t *last);

int cg_element_from_symbol(const char *sym); /* case-insensitive; 0 if unknown */
const char *cg_element_symbol(int z);        /* "?" if unknown */

/* Centroid of atoms [first, last) (unweighted). */
void cg_atoms_centroid(const cg_atom *atoms, int64_t n, double c[3]);

/* ---- Gaussian mixture potential ---- */
typedef struct {
    double bfactor_extra_A2; /* added to every atom's B */
    int use_file_bfactor;    /* 1: use each atom's B from the file; 0: B = 0 */
    int skip_hydrogens;      /* 1: leave out H (common when models lack them) */
} cg_gauss_opts;
cg_gauss_opts cg_gauss_opts_default(void); /* file B on, extra 0, hydrogens kept */

/* Peng 1996 parameters for element z: a[5], b[5] (A^2). Returns 1 if tabulated, 0 if the
 * carbon-scaled fallback was used. */
int cg_scattering_params(int z, double a[5], double b[5]);

/* vol (D^3, x fastest) = mean potential per voxel of `atoms`, grid centre at centre_A.
 * Multi-threaded over z planes; bitwise identical for any thread count. */
cg_status cg_atoms_to_volume(const cg_atom *atoms, int64_t n, const cg_gauss_opts *o, int D, double pixel_size_A,
                             const double centre_A[3], float *vol);
/* img (D^2) = analytic projection along z after rotation A: the exact line sum of the
 * voxelised potential in the limit of fine sampling along z, i.e. (1/pixel^3) times the
 * potential integrated over each pixel column. Atoms are placed at A (r - centre_A). */
cg_status cg_atoms_project(const cg_atom *atoms, int64_t n, const cg_gauss_opts *o, int D, double pixel_size_A,
                           const double centre_A[3], const double A[9], float *img);

/* ---- rigid superposition (Horn's quaternion method) ----
 * Find R, t minimising sum_i |R x_i + t - y_i|^2 over the index subset sel[0..nsel) (all
 * when sel is NULL, nsel = n). x and y are [n][3]. Returns the RMSD after superposition. */
double cg_superpose(const double *x, const double *y, int64_t n, const int64_t *sel, int64_t nsel, double R[9],
                    double t[3]);

#ifdef __cplusplus
}
#endif
