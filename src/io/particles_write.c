/* cg_particles -> RELION 3.1 STAR (readable by RELION 3.1.3; tests/test_particles.c checks it
 * with relion_star_printtable and relion_reconstruct).
 *
 * data_optics: one group per distinct (voltage, Cs, w), numbered 1.. in order of first use,
 * named opticsGroupK, with rlnImagePixelSize, rlnImageSize and rlnImageDimensionality 2.
 * data_particles: rlnImageName, then the columns the has_* flags allow (degrees for angles,
 * rlnDefocusAngle and rlnPhaseShift; Angstrom for origins), rlnOpticsGroup, rlnRandomSubset,
 * then every column of the source STAR's particle table that is not produced here and is not
 * superseded (pixel origins, per-particle optics constants), copied as text.
 * Number format: %.6f, as RELION writes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/geom.h"
#include "io/particles_internal.h"

/* Labels this writer produces or deliberately drops from the source table. */
static const char *const g_owned[] = {
    "rlnImageName",     "rlnAngleRot",     "rlnAngleTilt",     "rlnAnglePsi",       "rlnOriginXAngst",
    "rlnOriginYAngst",  "rlnOriginX",      "rlnOriginY",       "rlnDefocusU",       "rlnDefocusV",
    "rlnDefocusAngle",  "rlnPhaseShift",   "rlnCtfBfactor",    "rlnCtfScalefactor", "rlnOpticsGroup",
    "rlnRandomSubset",  "rlnVoltage",      "rlnSphericalAberration", "rlnAmplitudeContrast", "rlnImagePixelSize",
    "rlnDetectorPixelSize", "rlnMagnification", "rlnImageSize", "rlnImageDimensionality",
};

static int owned(const char *label) {
    for (size_t i = 0; i < sizeof g_owned / sizeof g_owned[0]; i++)
        if (!strcmp(g_owned[i], label)) return 1;
    return 0;
}

/* Group id (1-based) per particle; group constants in g[0..*ng). */
static cg_status make_groups(const cg_particles *p, int *gid, cg_ctf_params **g, int *ng) {
    int cap = 8;
    *ng = 0;
    *g = cg_malloc((size_t)cap, sizeof **g, "optics groups");
    if (!*g) return CG_ERR_NOMEM;
    for (int64_t i = 0; i < p->n; i++) {
        const cg_ctf_params *c = &p->ctf[i];
        int k = 0;
        while (k < *ng && !((*g)[k].voltage_kV == c->voltage_kV && (*g)[k].cs_mm == c->cs_mm &&
                             (*g)[k].amp_contrast == c->amp_contrast))
            k++;
        if (k == *ng) {
            if (*ng == cap) {
                cg_ctf_params *ng2 = realloc(*g, (size_t)(cap *= 2) * sizeof **g);
                if (!ng2) return cg_error(CG_ERR_NOMEM, "out of memory for optics groups");
                *g = ng2;
            }
            (*g)[(*ng)++] = *c;
        }
        gid[i] = k + 1;
    }
    return CG_OK;
}

static cg_status write_optics(cg_star *s, const cg_particles *p, const cg_ctf_params *g, int ng) {
    cg_star_block *b = cg_star_add_block(s, "optics", 1);
    if (!b) return CG_ERR_NOMEM;
    const char *labels[8] = {"rlnOpticsGroup", "rlnOpticsGroupName", "rlnVoltage", "rlnSphericalAberration",
                             "rlnAmplitudeContrast", "rlnImagePixelSize", "rlnImageSize", "rlnImageDimensionality"};
    for (int c = 0; c < 8; c++)
        if (cg_star_add_col(b, labels[c], NULL) != c) return CG_ERR_NOMEM;
    cg_status st = CG_OK;
    for (int k = 0; k < ng && st == CG_OK; k++) {
        char name[32];
        snprintf(name, sizeof name, "opticsGroup%d", k + 1);
        int64_t r = cg_star_add_row(b);
        if (r < 0) return CG_ERR_NOMEM;
        st = cg_star_set_int(b, r, 0, k + 1);
        if (st == CG_OK) st = cg_star_set(b, r, 1, name);
        if (st == CG_OK) st = cg_star_set_double(b, r, 2, g[k].voltage_kV, NULL);
        if (st == CG_OK) st = cg_star_set_double(b, r, 3, g[k].cs_mm, NULL);
        if (st == CG_OK) st = cg_star_set_double(b, r, 4, g[k].amp_contrast, NULL);
        if (st == CG_OK) st = cg_star_set_double(b, r, 5, p->pixel_size_A, NULL);
        if (st == CG_OK) st = cg_star_set_int(b, r, 6, p->image_size);
        if (st == CG_OK) st = cg_star_set_int(b, r, 7, 2);
    }
    return st;
}

typedef struct {
    int image, rot, tilt, psi, ox, oy, dfu, dfv, dfang, phase, bfac, scale, group, subset;
} pcols;

static int add(cg_star_block *b, const char *label, int want, int *ok) {
    if (!want) return -1;
    int c = cg_star_add_col(b, label, NULL);
    if (c < 0) *ok = 0;
    return c;
}

static cg_status particle_row(cg_star_block *b, const pcols *c, const cg_particles *p, int64_t i, const char *stack_name,
                              int gid) {
    char name[4200];
    if (stack_name) snprintf(name, sizeof name, "%06lld@%s", (long long)i + 1, stack_name);
    else snprintf(name, sizeof name, "%06lld@%s", (long long)p->image_index[i] + 1, p->stack_paths[p->stack_of[i]]);
    cg_status s = cg_star_set(b, i, c->image, name);
    const cg_ctf_params *t = &p->ctf[i];
    const struct {
        int col;
        double v;
    } vals[] = {
        {c->rot, CG_RAD2DEG(p->euler_rad[3 * i])}, {c->tilt, CG_RAD2DEG(p->euler_rad[3 * i + 1])},
        {c->psi, CG_RAD2DEG(p->euler_rad[3 * i + 2])}, {c->ox, p->shift_A[2 * i]}, {c->oy, p->shift_A[2 * i + 1]},
        {c->dfu, t->defocus_u_A}, {c->dfv, t->defocus_v_A}, {c->dfang, CG_RAD2DEG(t->defocus_angle_rad)},
        {c->phase, CG_RAD2DEG(t->phase_shift_rad)}, {c->bfac, t->bfactor_A2}, {c->scale, t->scale},
    };
    for (size_t k = 0; k < sizeof vals / sizeof vals[0] && s == CG_OK; k++)
        if (vals[k].col >= 0) s = cg_star_set_double(b, i, vals[k].col, vals[k].v, NULL);
    if (s == CG_OK) s = cg_star_set_int(b, i, c->group, gid);
    if (s == CG_OK && c->subset >= 0) s = cg_star_set_int(b, i, c->subset, p->random_subset[i]);
    return s;
}

/* Copy the source table's other columns (unknown labels survive a read-modify-write). */
static cg_status copy_extra(cg_star_block *b, const cg_particles *p) {
    if (!p->star) return CG_OK;
    const cg_star_block *src = cg_star_find_block(p->star, "particles");
    for (int k = 0; !src && k < cg_star_nblocks(p->star); k++)
        if (cg_star_find_col(cg_star_block_at(p->star, k), "rlnImageName") >= 0) src = cg_star_block_at(p->star, k);
    if (!src || cg_star_nrows(src) != p->n) return CG_OK;
    for (int c = 0; c < cg_star_ncols(src); c++) {
        const char *label = cg_star_label(src, c);
        if (owned(label)) continue;
        int d = cg_star_add_col(b, label, NULL);
        if (d < 0) return CG_ERR_NOMEM;
        for (int64_t i = 0; i < p->n; i++) {
            cg_status s = cg_star_set(b, i, d, cg_star_get(src, i, c));
            if (s != CG_OK) return s;
        }
    }
    return CG_OK;
}

static cg_status write_particles(cg_star *s, const cg_particles *p, const char *stack_name, const int *gid) {
    cg_star_block *b = cg_star_add_block(s, "particles", 1);
    if (!b) return CG_ERR_NOMEM;
    int ok = 1, any_subset = 0;
    for (int64_t i = 0; i < p->n; i++) any_subset |= p->random_subset[i] != 0;
    pcols c;
    c.image = add(b, "rlnImageName", 1, &ok);
    c.rot = add(b, "rlnAngleRot", p->has_poses, &ok), c.tilt = add(b, "rlnAngleTilt", p->has_poses, &ok);
    c.psi = add(b, "rlnAnglePsi", p->has_poses, &ok);
    c.ox = add(b, "rlnOriginXAngst", p->has_shifts, &ok), c.oy = add(b, "rlnOriginYAngst", p->has_shifts, &ok);
    c.dfu = add(b, "rlnDefocusU", p->has_ctf, &ok), c.dfv = add(b, "rlnDefocusV", p->has_ctf, &ok);
    c.dfang = add(b, "rlnDefocusAngle", p->has_ctf, &ok), c.phase = add(b, "rlnPhaseShift", p->has_ctf, &ok);
    c.bfac = add(b, "rlnCtfBfactor", p->has_ctf, &ok), c.scale = add(b, "rlnCtfScalefactor", p->has_ctf, &ok);
    c.group = add(b, "rlnOpticsGroup", 1, &ok), c.subset = add(b, "rlnRandomSubset", any_subset, &ok);
    if (!ok) return CG_ERR_NOMEM;
    for (int64_t i = 0; i < p->n; i++)
        if (cg_star_add_row(b) < 0) return CG_ERR_NOMEM;
    for (int64_t i = 0; i < p->n; i++) {
        cg_status st = particle_row(b, &c, p, i, stack_name, gid[i]);
        if (st != CG_OK) return st;
    }
    return copy_extra(b, p);
}

cg_status cg_particles_write_star(const cg_particles *p, const char *path, const char *stack_name, const char *comment) {
    if (!stack_name && p->n > 0 && (!p->stack_paths || p->nstacks == 0))
        return cg_error(CG_ERR_ARG, "%s: no stack name given and the particles have no stacks of their own", path);
    if (p->image_size <= 0 || !(p->pixel_size_A > 0))
        return cg_error(CG_ERR_ARG, "%s: particles need a box size and a pixel size to be written", path);
    cg_star *s = cg_star_new();
    int *gid = cg_malloc(p->n > 0 ? (size_t)p->n : 1, sizeof(int), "optics group ids");
    cg_ctf_params *groups = NULL;
    int ng = 0;
    cg_status st = s && gid ? make_groups(p, gid, &groups, &ng) : CG_ERR_NOMEM;
    if (st == CG_OK) st = write_optics(s, p, groups, ng);
    if (st == CG_OK) st = write_particles(s, p, stack_name, gid);
    if (st == CG_OK) st = cg_star_write(path, s, comment);
    free(gid);
    free(groups);
    cg_star_free(s);
    return st;
}
