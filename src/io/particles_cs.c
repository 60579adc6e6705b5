/* cryoSPARC .cs -> cg_particles.
 *
 * Fields used (absent ones leave defaults and clear the matching has_* flag):
 *   blob/path (bytes; a leading '>' means project-relative and is stripped), blob/idx (0-based),
 *   blob/shape ([ny, nx]), blob/psize_A; ctf/df1_A, ctf/df2_A -> defocus U, V (A);
 *   ctf/df_angle_rad, ctf/phase_shift_rad (already radians); ctf/accel_kv, ctf/cs_mm,
 *   ctf/amp_contrast; alignments3D/pose, alignments3D/shift (pixels), alignments3D/psize_A,
 *   alignments3D/split (0/1 -> rlnRandomSubset 1/2).
 *   Not mapped (convention not verified): ctf/bfactor, ctf/scale, tilt/trefoil/anisomag terms.
 *
 * Poses. cryoDRGN (cryodrgn/commands/parse_pose_csparc.py, github.com/ml-struct-bio/cryodrgn)
 * converts `alignments3D/pose` with lie_tools.expmap, i.e. the Rodrigues matrix
 * R(v) = I + sin|v| K + (1 - cos|v|) K^2 with K the cross-product matrix of v/|v|, and then
 * TRANSPOSES it: its pose matrix is R(v)^T. CONVENTIONS.md says cryoDRGN's pose matrix is
 * RELION's A (k3 = R^T k2). Hence A = R(v)^T = R(-v), and the Euler angles are those of A
 * (cg_matrix_to_euler). cryoDRGN also takes `alignments3D/shift` (pixels) with the same sign as
 * rlnOriginX (parse_pose_star and parse_pose_csparc both store shift / D unchanged), so
 * shift_A = shift * pixel size. Its --hetrefine 2x shift scaling (heterogeneous refinement
 * at half box) is not applied here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/cs.h"
#include "cryogen/geom.h"
#include "io/particles_internal.h"

/* Optional numeric field: *v NULL (and CG_OK) when absent; an error if present but unusable or
 * of another element count than `count`. */
static cg_status opt_field(const cg_cs *cs, const char *name, int64_t count, double **v) {
    *v = NULL;
    if (cg_cs_find_field(cs, name) < 0) return CG_OK;
    int64_t k;
    cg_status s = cg_cs_get_double(cs, name, v, &k);
    if (s == CG_OK && k != count) {
        free(*v);
        *v = NULL;
        return cg_error(CG_ERR_FORMAT, "%s: field '%s' has %lld values per particle, expected %lld", cg_cs_name(cs), name,
                        (long long)k, (long long)count);
    }
    return s;
}

enum { F_IDX, F_SHAPE, F_PSIZE, F_DF1, F_DF2, F_DFANG, F_KV, F_CS, F_W, F_PHASE, F_POSE, F_SHIFT, F_APSIZE, F_SPLIT, F_N };
static const struct {
    const char *name;
    int count;
} g_fields[F_N] = {
    [F_IDX] = {"blob/idx", 1},          [F_SHAPE] = {"blob/shape", 2},          [F_PSIZE] = {"blob/psize_A", 1},
    [F_DF1] = {"ctf/df1_A", 1},         [F_DF2] = {"ctf/df2_A", 1},             [F_DFANG] = {"ctf/df_angle_rad", 1},
    [F_KV] = {"ctf/accel_kv", 1},       [F_CS] = {"ctf/cs_mm", 1},              [F_W] = {"ctf/amp_contrast", 1},
    [F_PHASE] = {"ctf/phase_shift_rad", 1}, [F_POSE] = {"alignments3D/pose", 3}, [F_SHIFT] = {"alignments3D/shift", 2},
    [F_APSIZE] = {"alignments3D/psize_A", 1}, [F_SPLIT] = {"alignments3D/split", 1},
};

static void fill_ctf(cg_particles *p, double *const *f) {
    for (int64_t i = 0; i < p->n; i++) {
        cg_ctf_params *c = &p->ctf[i];
        if (f[F_DF1]) c->defocus_u_A = f[F_DF1][i], c->defocus_v_A = f[F_DF1][i];
        if (f[F_DF2]) c->defocus_v_A = f[F_DF2][i];
        if (f[F_DFANG]) c->defocus_angle_rad = f[F_DFANG][i];
        if (f[F_KV]) c->voltage_kV = f[F_KV][i];
        if (f[F_CS]) c->cs_mm = f[F_CS][i];
        if (f[F_W]) c->amp_contrast = f[F_W][i];
        if (f[F_PHASE]) c->phase_shift_rad = f[F_PHASE][i];
    }
    p->has_ctf = f[F_DF1] != NULL;
}

static void fill_poses(cg_particles *p, double *const *f) {
    double psize = p->pixel_size_A;
    for (int64_t i = 0; i < p->n; i++) {
        if (f[F_POSE]) {
            double R[9], A[9];
            cg_axis_angle_to_matrix(&f[F_POSE][3 * i], R);
            cg_mat3_transpose(R, A);
            cg_matrix_to_euler(A, &p->euler_rad[3 * i], &p->euler_rad[3 * i + 1], &p->euler_rad[3 * i + 2]);
        }
        if (f[F_SHIFT]) {
            double ps = f[F_APSIZE] && f[F_APSIZE][i] > 0 ? f[F_APSIZE][i] : psize;
            p->shift_A[2 * i] = f[F_SHIFT][2 * i] * ps, p->shift_A[2 * i + 1] = f[F_SHIFT][2 * i + 1] * ps;
        }
        if (f[F_SPLIT]) p->random_subset[i] = f[F_SPLIT][i] == 0 ? 1 : f[F_SPLIT][i] == 1 ? 2 : 0;
    }
    p->has_poses = f[F_POSE] != NULL;
    p->has_shifts = f[F_SHIFT] != NULL;
}

/* Box and pixel size: one value for all particles. */
static cg_status common_sizes(cg_particles *p, const cg_cs *cs, double *const *f) {
    for (int64_t i = 0; i < p->n; i++) {
        if (f[F_SHAPE]) {
            double ny = f[F_SHAPE][2 * i], nx = f[F_SHAPE][2 * i + 1];
            if (nx != ny || nx < 1 || nx > (1 << 24))
                return cg_error(CG_ERR_UNSUPPORTED, "%s: particle %lld: blob/shape %gx%g is not a square box", cg_cs_name(cs),
                                (long long)i + 1, nx, ny);
            if (p->image_size <= 0) p->image_size = (int)nx;
            else if (p->image_size != (int)nx)
                return cg_error(CG_ERR_UNSUPPORTED, "%s: particle %lld: box %g differs from %d of the first particle",
                                cg_cs_name(cs), (long long)i + 1, nx, p->image_size);
        }
        if (f[F_PSIZE] && f[F_PSIZE][i] > 0) {
            if (!(p->pixel_size_A > 0)) p->pixel_size_A = f[F_PSIZE][i];
            else if (fabs(f[F_PSIZE][i] - p->pixel_size_A) > 1e-4 * p->pixel_size_A)
                return cg_error(CG_ERR_UNSUPPORTED, "%s: particle %lld: pixel size %g A differs from %g A of the first particle",
                                cg_cs_name(cs), (long long)i + 1, f[F_PSIZE][i], p->pixel_size_A);
        }
    }
    return CG_OK;
}

static cg_status locate_images(cg_particles *p, const cg_cs *cs, const char *path, const double *idx) {
    if (cg_cs_find_field(cs, "blob/path") < 0)
        return cg_error(CG_ERR_FORMAT, "%s: no 'blob/path' field; cryogen needs it to find the images", path);
    cg__stack_table t;
    cg_status s = cg__stack_table_init(&t, path);
    char name[4096];
    for (int64_t i = 0; i < p->n && s == CG_OK; i++) {
        s = cg_cs_get_string(cs, "blob/path", i, name, sizeof name);
        const char *nm = name[0] == '>' ? name + 1 : name;
        if (s == CG_OK && !*nm) s = cg_error(CG_ERR_FORMAT, "%s: particle %lld has an empty blob/path", path, (long long)i + 1);
        if (s == CG_OK) s = cg__stack_lookup(p, &t, nm, strlen(nm), i, &p->stack_of[i]);
        p->image_index[i] = idx ? (int64_t)idx[i] : 0;
        if (s == CG_OK && idx && (idx[i] < 0 || idx[i] != floor(idx[i])))
            s = cg_error(CG_ERR_FORMAT, "%s: particle %lld: blob/idx %g is not a valid index", path, (long long)i + 1, idx[i]);
    }
    cg__stack_table_free(&t);
    return s;
}

cg_status cg__particles_read_cs(const char *path, cg_particles **out) {
    *out = NULL;
    cg_cs *cs = NULL;
    cg_status s = cg_cs_read(path, &cs);
    if (s != CG_OK) return s;
    cg_particles *p = cg_calloc(1, sizeof *p, "particles");
    double *f[F_N] = {0};
    s = p ? cg__particles_arrays(p, cg_cs_nrows(cs)) : CG_ERR_NOMEM;
    if (s == CG_OK) s = (p->source_path = cg_path_join(NULL, path)) ? CG_OK : CG_ERR_NOMEM;
    for (int k = 0; k < F_N && s == CG_OK; k++) s = opt_field(cs, g_fields[k].name, g_fields[k].count, &f[k]);
    if (s == CG_OK) s = common_sizes(p, cs, f);
    if (s == CG_OK) s = locate_images(p, cs, path, f[F_IDX]);
    if (s == CG_OK && p->n > 0) s = cg__fill_from_first_stack(p, path);
    if (s == CG_OK) {
        fill_ctf(p, f);
        fill_poses(p, f);
        if (!p->has_poses) CG_DEBUG("%s: no alignments3D/pose field: the particles have no poses", path);
    }
    for (int k = 0; k < F_N; k++) free(f[k]);
    cg_cs_free(cs);
    if (s != CG_OK) {
        cg_particles_free(p);
        return s;
    }
    *out = p;
    return CG_OK;
}
