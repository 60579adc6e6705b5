/* Gaussian-mixture electron potential of atoms: voxelised volumes and analytic projections.
 * See include/cryogen/atoms.h for the model (Peng et al. 1996) and the grid conventions.
 *
 * Both the volume and the projection integrate each Gaussian exactly over voxels / pixels
 * with error functions, so they agree to rounding wherever the volume's z range holds the
 * whole atom: the line sum over z of voxel means equals the pixel-integrated projection
 * divided by pixel_size^3 (the erf terms along z sum to the full integral).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/atoms.h"
#include "cryogen/geom.h"

/* Peng, Ren, Dudarev & Whelan (1996) Acta Cryst. A52, 257-276, Table 1 (0 < s < 2 A^-1);
 * the same values as International Tables Vol. C table 4.3.2.2. */
static const struct {
    int z;
    double a[5], b[5];
} g_peng[] = {
    {1, {0.0349, 0.1201, 0.1970, 0.0573, 0.1195}, {0.5347, 3.5867, 12.3471, 18.9525, 38.6269}},
    {6, {0.0893, 0.2563, 0.7570, 1.0487, 0.3575}, {0.2465, 1.7100, 6.4094, 18.6113, 50.2523}},
    {7, {0.1022, 0.3219, 0.7982, 0.8197, 0.1715}, {0.2451, 1.7481, 6.1925, 17.3894, 48.1431}},
    {8, {0.0974, 0.2921, 0.6910, 0.6990, 0.2039}, {0.2067, 1.3815, 4.6943, 12.7105, 32.4726}},
    {15, {0.2548, 0.6106, 1.4541, 2.3204, 0.8477}, {0.2908, 1.8740, 8.5176, 24.3434, 63.2996}},
    {16, {0.2497, 0.5628, 1.3899, 2.1865, 0.7715}, {0.2681, 1.6711, 7.0267, 19.5377, 50.3888}},
};

int cg_scattering_params(int z, double a[5], double b[5]) {
    for (size_t i = 0; i < sizeof g_peng / sizeof g_peng[0]; i++)
        if (g_peng[i].z == z) {
            memcpy(a, g_peng[i].a, sizeof g_peng[i].a);
            memcpy(b, g_peng[i].b, sizeof g_peng[i].b);
            return 1;
        }
    const double s = z > 0 ? z / 6.0 : 1.0; /* documented fallback: carbon scaled by Z/6 */
    for (int k = 0; k < 5; k++) {
        a[k] = g_peng[1].a[k] * s;
        b[k] = g_peng[1].b[k];
    }
    return 0;
}

cg_gauss_opts cg_gauss_opts_default(void) {
    cg_gauss_opts o = {0.0, 1, 0};
    return o;
}

/* One atom as 5 isotropic Gaussians amp * exp(-alpha r^2): amp = a (4 pi / beta)^1.5,
 * alpha = 4 pi^2 / beta, beta = b + B. */
typedef struct {
    double amp[5], alpha[5], radius_A; /* radius beyond which every term is < 1e-7 of its peak */
} atom_gauss;

static int atom_terms(const cg_atom *at, const cg_gauss_opts *o, atom_gauss *g) {
    if (o->skip_hydrogens && at->element == 1) return 0;
    double a[5], b[5];
    cg_scattering_params(at->element, a, b);
    double B = (o->use_file_bfactor ? at->b_factor_A2 : 0.0) + o->bfactor_extra_A2;
    double rmax = 0;
    for (int k = 0; k < 5; k++) {
        double beta = b[k] + B;
        if (beta < 0.05) beta = 0.05; /* a negative B must not make the Gaussian diverge */
        g->amp[k] = at->occupancy * a[k] * pow(4 * CG_PI / beta, 1.5);
        g->alpha[k] = 4 * CG_PI * CG_PI / beta;
        double r = sqrt(16.1 / g->alpha[k]); /* exp(-16.1) ~ 1e-7 */
        if (r > rmax) rmax = r;
    }
    g->radius_A = rmax;
    return 1;
}

/* out[i] = integral over [lo + i*h, lo + (i+1)*h] of exp(-alpha (x - c)^2) dx, i < n. */
static void erf_bins(double lo, double h, int n, double c, double alpha, double *out) {
    const double sa = sqrt(alpha), scale = 0.5 * sqrt(CG_PI / alpha);
    double prev = erf(sa * (lo - c));
    for (int i = 0; i < n; i++) {
        double next = erf(sa * (lo + (i + 1) * h - c));
        out[i] = scale * (next - prev);
        prev = next;
    }
}

/* Voxel index range [*i0, *i1) covered by [c - r, c + r] on an axis whose voxel i spans
 * [(i - D/2 - 0.5) h, (i - D/2 + 0.5) h]. Returns 0 if empty. */
static int axis_range(double c, double r, int D, double h, int *i0, int *i1) {
    int a = (int)floor((c - r) / h + D / 2 + 0.5), b = (int)floor((c + r) / h + D / 2 + 0.5) + 1;
    if (a < 0) a = 0;
    if (b > D) b = D;
    *i0 = a;
    *i1 = b;
    return a < b;
}

typedef struct { /* per-atom, per-term 1D bin integrals along each axis */
    int lo[3], n[3];
    double *bins[3]; /* [5][n] each */
} atom_bins;

cg_status cg_atoms_to_volume(const cg_atom *atoms, int64_t n, const cg_gauss_opts *o, int D, double h,
                             const double centre_A[3], float *vol) {
    if (D < 1 || h <= 0) return cg_error(CG_ERR_ARG, "atoms to volume: box %d, pixel size %g A", D, h);
    atom_bins *ab = cg_calloc((size_t)n, sizeof *ab, "atom bins");
    double *amps = cg_malloc((size_t)n * 5, sizeof(double), "atom amplitudes");
    if (!ab || !amps) {
        free(ab);
        free(amps);
        return CG_ERR_NOMEM;
    }
    cg_status st = CG_OK;
    for (int64_t i = 0; i < n && st == CG_OK; i++) {
        atom_gauss g;
        ab[i].n[0] = 0;
        if (!atom_terms(&atoms[i], o, &g)) continue;
        double c[3];
        int ok = 1;
        for (int k = 0; k < 3; k++) {
            c[k] = atoms[i].xyz_A[k] - centre_A[k];
            int i0, i1;
            ok &= axis_range(c[k], g.radius_A, D, h, &i0, &i1);
            ab[i].lo[k] = i0;
            ab[i].n[k] = ok ? i1 - i0 : 0;
        }
        if (!ok) {
            ab[i].n[0] = 0;
            continue;
        }
        for (int k = 0; k < 3 && st == CG_OK; k++) {
            ab[i].bins[k] = cg_malloc((size_t)5 * ab[i].n[k], sizeof(double), "atom bins");
            if (!ab[i].bins[k]) {
                st = CG_ERR_NOMEM;
                break;
            }
            double lo = (ab[i].lo[k] - D / 2 - 0.5) * h;
            for (int t = 0; t < 5; t++) erf_bins(lo, h, ab[i].n[k], c[k], g.alpha[t], ab[i].bins[k] + t * ab[i].n[k]);
        }
        for (int t = 0; t < 5; t++) amps[5 * i + t] = g.amp[t] / (h * h * h);
    }
    if (st == CG_OK) {
        memset(vol, 0, sizeof(float) * (size_t)D * D * D);
        /* each thread owns whole z planes and visits atoms in file order: deterministic */
#pragma omp parallel for schedule(dynamic, 1)
        for (int z = 0; z < D; z++) {
            for (int64_t i = 0; i < n; i++) {
                const atom_bins *b = &ab[i];
                if (!b->n[0] || z < b->lo[2] || z >= b->lo[2] + b->n[2]) continue;
                for (int y = b->lo[1]; y < b->lo[1] + b->n[1]; y++) {
                    float *row = vol + ((size_t)z * D + y) * D;
                    for (int x = b->lo[0]; x < b->lo[0] + b->n[0]; x++) {
                        double v = 0;
                        for (int t = 0; t < 5; t++)
                            v += amps[5 * i + t] * b->bins[0][t * b->n[0] + x - b->lo[0]] *
                                 b->bins[1][t * b->n[1] + y - b->lo[1]] * b->bins[2][t * b->n[2] + z - b->lo[2]];
                        row[x] += (float)v;
                    }
                }
            }
        }
    }
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) free(ab[i].bins[k]);
    free(ab);
    free(amps);
    return st;
}

cg_status cg_atoms_project(const cg_atom *atoms, int64_t n, const cg_gauss_opts *o, int D, double h,
                           const double centre_A[3], const double A[9], float *img) {
    if (D < 1 || h <= 0) return cg_error(CG_ERR_ARG, "atoms projection: box %d, pixel size %g A", D, h);
    double *acc = cg_calloc((size_t)D * D, sizeof(double), "projection accumulator");
    double *bx = cg_malloc((size_t)10 * D, sizeof(double), "projection bins");
    if (!acc || !bx) {
        free(acc);
        free(bx);
        return CG_ERR_NOMEM;
    }
    double *by = bx + 5 * D;
    for (int64_t i = 0; i < n; i++) {
        atom_gauss g;
        if (!atom_terms(&atoms[i], o, &g)) continue;
        double r[3] = {atoms[i].xyz_A[0] - centre_A[0], atoms[i].xyz_A[1] - centre_A[1], atoms[i].xyz_A[2] - centre_A[2]};
        double p[3];
        cg_mat3_vec(A, r, p);
        int x0, x1, y0, y1;
        if (!axis_range(p[0], g.radius_A, D, h, &x0, &x1) || !axis_range(p[1], g.radius_A, D, h, &y0, &y1)) continue;
        int nx = x1 - x0, ny = y1 - y0;
        double amp[5];
        for (int t = 0; t < 5; t++) {
            erf_bins((x0 - D / 2 - 0.5) * h, h, nx, p[0], g.alpha[t], bx + t * nx);
            erf_bins((y0 - D / 2 - 0.5) * h, h, ny, p[1], g.alpha[t], by + t * ny);
            amp[t] = g.amp[t] * sqrt(CG_PI / g.alpha[t]) / (h * h * h); /* full line integral along z */
        }
        for (int y = 0; y < ny; y++)
            for (int x = 0; x < nx; x++) {
                double v = 0;
                for (int t = 0; t < 5; t++) v += amp[t] * bx[t * nx + x] * by[t * ny + y];
                acc[(size_t)(y + y0) * D + x + x0] += v;
            }
    }
    for (size_t k = 0; k < (size_t)D * D; k++) img[k] = (float)acc[k];
    free(acc);
    free(bx);
    return CG_OK;
}
