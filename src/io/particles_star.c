/* RELION particle STAR files -> cg_particles (RELION 3.0, 3.1, 5).
 *
 * Which table: data_particles when present, else the first loop with rlnImageName (RELION 3.0
 * writes `data_` or `data_images`). data_optics, when present, gives per-group constants; any
 * column in the particle table overrides its optics-group value (CONVENTIONS.md).
 * Units at this boundary: angles, rlnDefocusAngle and rlnPhaseShift are degrees in the file and
 * radians in memory; rlnOriginXAngst/YAngst are Angstrom; pre-3.1 rlnOriginX/Y are pixels and
 * are multiplied by the pixel size (data/relion/rln_proj_64_shifted.star is 3.1-style with pixel
 * origins, so the column name decides, not the version). rlnDetectorPixelSize is in micrometres:
 * pixel size = rlnDetectorPixelSize * 1e4 / rlnMagnification.
 * One table drives the mapping: each known label has a slot in `g_cols`.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/geom.h"
#include "io/particles_internal.h"

typedef enum {
    C_IMAGE, C_ROT, C_TILT, C_PSI, C_OX_A, C_OY_A, C_OX_PX, C_OY_PX, C_DFU, C_DFV, C_DFANG, C_PHASE, C_BFAC, C_SCALE,
    C_VOLT, C_CS, C_W, C_PIX, C_DETPIX, C_MAG, C_SIZE, C_GROUP, C_SUBSET, C_NCOLS
} col_id;

/* The one table of labels this reader understands. */
static const char *const g_cols[C_NCOLS] = {
    [C_IMAGE] = "rlnImageName",       [C_ROT] = "rlnAngleRot",         [C_TILT] = "rlnAngleTilt",
    [C_PSI] = "rlnAnglePsi",          [C_OX_A] = "rlnOriginXAngst",    [C_OY_A] = "rlnOriginYAngst",
    [C_OX_PX] = "rlnOriginX",         [C_OY_PX] = "rlnOriginY",        [C_DFU] = "rlnDefocusU",
    [C_DFV] = "rlnDefocusV",          [C_DFANG] = "rlnDefocusAngle",   [C_PHASE] = "rlnPhaseShift",
    [C_BFAC] = "rlnCtfBfactor",       [C_SCALE] = "rlnCtfScalefactor", [C_VOLT] = "rlnVoltage",
    [C_CS] = "rlnSphericalAberration", [C_W] = "rlnAmplitudeContrast", [C_PIX] = "rlnImagePixelSize",
    [C_DETPIX] = "rlnDetectorPixelSize", [C_MAG] = "rlnMagnification", [C_SIZE] = "rlnImageSize",
    [C_GROUP] = "rlnOpticsGroup",     [C_SUBSET] = "rlnRandomSubset",
};

typedef struct {
    int64_t group;
    cg_ctf_params ctf; /* voltage, Cs, w (defocus fields unused) */
    double pixel_size_A;
    int64_t image_size;
} optics;

typedef struct {
    const cg_star_block *b;
    int col[C_NCOLS];
} table;

static void find_cols(table *t, const cg_star_block *b) {
    t->b = b;
    for (int i = 0; i < C_NCOLS; i++) t->col[i] = b ? cg_star_find_col(b, g_cols[i]) : -1;
}

/* Read column `c` of row r into *v if present; leaves *v alone when absent. */
static cg_status get(const table *t, int64_t r, col_id c, double *v) {
    return t->col[c] < 0 ? CG_OK : cg_star_get_double(t->b, r, t->col[c], v);
}

/* Voltage, Cs, w, pixel size and box of one row (optics or RELION 3.0 particle). */
static cg_status read_constants(const table *t, int64_t r, optics *o) {
    double size = (double)o->image_size, det = 0, mag = 0;
    cg_status s;
    if ((s = get(t, r, C_VOLT, &o->ctf.voltage_kV)) || (s = get(t, r, C_CS, &o->ctf.cs_mm)) ||
        (s = get(t, r, C_W, &o->ctf.amp_contrast)) || (s = get(t, r, C_PIX, &o->pixel_size_A)) ||
        (s = get(t, r, C_SIZE, &size)) || (s = get(t, r, C_DETPIX, &det)) || (s = get(t, r, C_MAG, &mag)))
        return s;
    if (t->col[C_PIX] < 0 && det > 0 && mag > 0) o->pixel_size_A = det * 1e4 / mag;
    o->image_size = (int64_t)size;
    return CG_OK;
}

static cg_status read_optics(const cg_star_block *ob, optics **groups, int *ngroups) {
    table t;
    find_cols(&t, ob);
    int64_t n = cg_star_nrows(ob);
    *ngroups = 0;
    *groups = cg_calloc(n > 0 ? (size_t)n : 1, sizeof(optics), "optics groups");
    if (!*groups) return CG_ERR_NOMEM;
    for (int64_t r = 0; r < n; r++) {
        optics *o = &(*groups)[r];
        o->ctf.voltage_kV = 300, o->ctf.cs_mm = 2.7, o->ctf.amp_contrast = 0.1, o->ctf.scale = 1;
        o->group = r + 1;
        cg_status s = t.col[C_GROUP] >= 0 ? cg_star_get_int(ob, r, t.col[C_GROUP], &o->group) : CG_OK;
        if (s == CG_OK) s = read_constants(&t, r, o);
        if (s != CG_OK) return s;
        (*ngroups)++;
    }
    return CG_OK;
}

/* "000012@path" -> index 11 (0-based) and the path. A name without '@' is image 1 of a stack. */
static cg_status split_image_name(const cg_star_block *b, int64_t r, int col, int64_t *index, const char **path) {
    const char *t = cg_star_get(b, r, col), *at = strchr(t, '@');
    if (!at) {
        *index = 0, *path = t;
        return *t ? CG_OK : cg_error(CG_ERR_FORMAT, "%s:%lld: particle %lld has an empty rlnImageName",
                                     cg_star_path(cg_star_block_owner(b)), (long long)cg_star_row_line(b, r), (long long)r + 1);
    }
    char *end;
    long long k = strtoll(t, &end, 10);
    if (end != at || k < 1 || !at[1])
        return cg_error(CG_ERR_FORMAT,
                        "%s:%lld: particle %lld: rlnImageName '%s' is not of the form NNNNNN@stack.mrcs (1-based index)",
                        cg_star_path(cg_star_block_owner(b)), (long long)cg_star_row_line(b, r), (long long)r + 1, t);
    *index = k - 1, *path = at + 1;
    return CG_OK;
}

static const optics *find_group(const optics *g, int ngroups, int64_t id) {
    for (int i = 0; i < ngroups; i++)
        if (g[i].group == id) return &g[i];
    return NULL;
}

typedef struct {
    cg_particles *p;
    table t;
    const optics *groups;
    int ngroups;
    cg__stack_table stacks;
    const char *path;
} reader;

static cg_status row_error(const reader *rd, int64_t r, cg_status s, const char *fmt, double a, double b) {
    char msg[256];
    snprintf(msg, sizeof msg, fmt, a, b);
    return cg_error(s, "%s:%lld: particle %lld: %s", rd->path, (long long)cg_star_row_line(rd->t.b, r), (long long)r + 1, msg);
}

/* Optics-group constants, then particle overrides; checks pixel and box agree across particles. */
static cg_status row_constants(reader *rd, int64_t r, optics *o) {
    const table *t = &rd->t;
    memset(o, 0, sizeof *o);
    o->ctf.voltage_kV = 300, o->ctf.cs_mm = 2.7, o->ctf.amp_contrast = 0.1, o->ctf.scale = 1;
    int64_t gid = 1;
    cg_status s = t->col[C_GROUP] >= 0 ? cg_star_get_int(t->b, r, t->col[C_GROUP], &gid) : CG_OK;
    if (s != CG_OK) return s;
    if (rd->ngroups > 0) {
        const optics *g = find_group(rd->groups, rd->ngroups, gid);
        if (!g) return row_error(rd, r, CG_ERR_FORMAT, "rlnOpticsGroup %.0f is not in data_optics", (double)gid, 0);
        *o = *g;
    }
    rd->p->optics_group[r] = (int)gid;
    if ((s = read_constants(t, r, o)) != CG_OK) return s;
    cg_particles *p = rd->p;
    if (o->pixel_size_A > 0) {
        if (!(p->pixel_size_A > 0)) p->pixel_size_A = o->pixel_size_A;
        else if (fabs(o->pixel_size_A - p->pixel_size_A) > 1e-4 * p->pixel_size_A)
            return row_error(rd, r, CG_ERR_UNSUPPORTED, "pixel size %g A differs from %g A of the first particle; "
                             "cryogen needs one pixel size per particle set (split the file by optics group)",
                             o->pixel_size_A, p->pixel_size_A);
    }
    if (o->image_size > 0) {
        if (p->image_size <= 0) p->image_size = (int)o->image_size;
        else if (o->image_size != p->image_size)
            return row_error(rd, r, CG_ERR_UNSUPPORTED, "box size %.0f differs from %.0f of the first particle",
                             (double)o->image_size, p->image_size);
    }
    return CG_OK;
}

static cg_status read_row(reader *rd, int64_t r) {
    const table *t = &rd->t;
    cg_particles *p = rd->p;
    optics o;
    cg_status s = row_constants(rd, r, &o);
    if (s != CG_OK) return s;
    cg_ctf_params *c = &p->ctf[r];
    *c = o.ctf;
    double ang[3] = {0, 0, 0}, dfang = 0, phase = 0, sh[2] = {0, 0}, subset = 0;
    if ((s = get(t, r, C_DFU, &c->defocus_u_A)) || (s = get(t, r, C_DFV, &c->defocus_v_A)) ||
        (s = get(t, r, C_DFANG, &dfang)) || (s = get(t, r, C_PHASE, &phase)) || (s = get(t, r, C_BFAC, &c->bfactor_A2)) ||
        (s = get(t, r, C_SCALE, &c->scale)) || (s = get(t, r, C_ROT, &ang[0])) || (s = get(t, r, C_TILT, &ang[1])) ||
        (s = get(t, r, C_PSI, &ang[2])) || (s = get(t, r, C_SUBSET, &subset)))
        return s;
    if (t->col[C_DFV] < 0) c->defocus_v_A = c->defocus_u_A;
    c->defocus_angle_rad = CG_DEG2RAD(dfang), c->phase_shift_rad = CG_DEG2RAD(phase);
    for (int k = 0; k < 3; k++) p->euler_rad[3 * r + k] = CG_DEG2RAD(ang[k]);
    if (t->col[C_OX_A] >= 0 || t->col[C_OY_A] >= 0) {
        if ((s = get(t, r, C_OX_A, &sh[0])) || (s = get(t, r, C_OY_A, &sh[1]))) return s;
    } else if (t->col[C_OX_PX] >= 0 || t->col[C_OY_PX] >= 0) {
        /* pixels; converted to Angstrom once the (common) pixel size is known, in read_particles */
        if ((s = get(t, r, C_OX_PX, &sh[0])) || (s = get(t, r, C_OY_PX, &sh[1]))) return s;
    }
    p->shift_A[2 * r] = sh[0], p->shift_A[2 * r + 1] = sh[1];
    p->random_subset[r] = subset == 1 || subset == 2 ? (int)subset : 0;
    const char *stack = "";
    int64_t index = 0;
    if ((s = split_image_name(t->b, r, t->col[C_IMAGE], &index, &stack)) != CG_OK) return s;
    p->image_index[r] = index;
    return cg__stack_lookup(p, &rd->stacks, stack, strlen(stack), r, &p->stack_of[r]);
}

static const cg_star_block *particle_block(const cg_star *s) {
    const cg_star_block *b = cg_star_find_block(s, "particles");
    if (b) return b;
    for (int i = 0; i < cg_star_nblocks(s); i++)
        if (cg_star_block_is_loop(cg_star_block_at(s, i)) && cg_star_find_col(cg_star_block_at(s, i), "rlnImageName") >= 0)
            return cg_star_block_at(s, i);
    return NULL;
}

static cg_status read_particles(reader *rd, cg_star *s) {
    const cg_star_block *b = particle_block(s);
    if (!b) return cg_error(CG_ERR_FORMAT, "%s: no particle table (data_particles, or a loop with rlnImageName)", rd->path);
    find_cols(&rd->t, b);
    if (rd->t.col[C_IMAGE] < 0)
        return cg_error(CG_ERR_FORMAT, "%s:%lld: data_%s has no rlnImageName column; cryogen needs it to find the images",
                        rd->path, (long long)cg_star_block_line(b), cg_star_block_name(b));
    cg_status st = cg__particles_arrays(rd->p, cg_star_nrows(b));
    if (st != CG_OK) return st;
    for (int64_t r = 0; r < rd->p->n && st == CG_OK; r++) st = read_row(rd, r);
    if (st != CG_OK) return st;
    cg_particles *p = rd->p;
    p->has_poses = rd->t.col[C_ROT] >= 0 && rd->t.col[C_TILT] >= 0 && rd->t.col[C_PSI] >= 0;
    p->has_shifts = rd->t.col[C_OX_A] >= 0 || rd->t.col[C_OY_A] >= 0 || rd->t.col[C_OX_PX] >= 0 || rd->t.col[C_OY_PX] >= 0;
    p->has_ctf = rd->t.col[C_DFU] >= 0;
    if (p->n == 0) return CG_OK;
    st = cg__fill_from_first_stack(p, rd->path);
    int pixel_origins = rd->t.col[C_OX_A] < 0 && rd->t.col[C_OY_A] < 0 && p->has_shifts;
    if (st == CG_OK && pixel_origins)
        for (int64_t i = 0; i < 2 * p->n; i++) p->shift_A[i] *= p->pixel_size_A;
    return st;
}

cg_status cg__particles_read_star(const char *path, cg_particles **out) {
    *out = NULL;
    cg_particles *p = cg_calloc(1, sizeof *p, "particles");
    if (!p) return CG_ERR_NOMEM;
    reader rd = {.p = p, .path = path};
    optics *groups = NULL;
    cg_status s = cg_star_read(path, &p->star);
    if (s == CG_OK) s = (p->source_path = cg_path_join(NULL, path)) ? CG_OK : CG_ERR_NOMEM;
    if (s == CG_OK) s = cg__stack_table_init(&rd.stacks, path);
    const cg_star_block *ob = p->star ? cg_star_find_block(p->star, "optics") : NULL;
    if (s == CG_OK && ob) s = read_optics(ob, &groups, &rd.ngroups);
    rd.groups = groups;
    if (s == CG_OK) s = read_particles(&rd, p->star);
    cg__stack_table_free(&rd.stacks);
    free(groups);
    if (s != CG_OK) {
        cg_particles_free(p);
        return s;
    }
    CG_DEBUG("%s: %lld particles, %d stacks, box %d, %.4f A/px", path, (long long)p->n, p->nstacks, p->image_size,
             p->pixel_size_A);
    *out = p;
    return CG_OK;
}

cg_status cg_particles_read(const char *path, cg_particles **out) {
    size_t n = strlen(path);
    if (n > 3 && !strcmp(path + n - 3, ".cs")) return cg__particles_read_cs(path, out);
    return cg__particles_read_star(path, out);
}
