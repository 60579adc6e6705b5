/* Particle sets: allocation, stack bookkeeping (a hash table of stack names, path resolution),
 * opening stacks with index checks, image reads, and the RELION 3.1 STAR writer. The readers
 * are in particles_star.c (RELION) and particles_cs.c (cryoSPARC).
 *
 * Path resolution (documented in particles.h and docs/io.md): an absolute path is used as is;
 * a relative one is tried against the directory of the STAR/.cs file first, then against the
 * working directory (RELION's rule); the choice is logged at debug level. cryoSPARC's leading
 * '>' (project-relative) is stripped before that.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/geom.h"
#include "io/particles_internal.h"

static void ctf_defaults(cg_ctf_params *c) {
    memset(c, 0, sizeof *c);
    c->voltage_kV = 300.0, c->cs_mm = 2.7, c->amp_contrast = 0.1, c->scale = 1.0;
}

cg_status cg__particles_arrays(cg_particles *p, int64_t n) {
    size_t m = n > 0 ? (size_t)n : 1;
    p->n = n;
    p->euler_rad = cg_calloc(m * 3, sizeof(double), "particle angles");
    p->shift_A = cg_calloc(m * 2, sizeof(double), "particle shifts");
    p->ctf = cg_malloc(m, sizeof(cg_ctf_params), "particle CTF");
    p->random_subset = cg_calloc(m, sizeof(int), "particle subsets");
    p->optics_group = cg_calloc(m, sizeof(int), "particle optics groups");
    p->stack_of = cg_calloc(m, sizeof(int32_t), "particle stacks");
    p->image_index = cg_calloc(m, sizeof(int64_t), "particle image indices");
    if (!p->euler_rad || !p->shift_A || !p->ctf || !p->random_subset || !p->optics_group || !p->stack_of ||
        !p->image_index)
        return CG_ERR_NOMEM;
    for (size_t i = 0; i < m; i++) ctf_defaults(&p->ctf[i]), p->optics_group[i] = 1;
    return CG_OK;
}

cg_status cg_particles_alloc(cg_particles **out, int64_t n, int image_size, double pixel_size_A) {
    *out = NULL;
    if (n < 0 || image_size <= 0 || !(pixel_size_A > 0))
        return cg_error(CG_ERR_ARG, "particles: need n >= 0, image size > 0 and pixel size > 0 (got %lld, %d, %g)",
                        (long long)n, image_size, pixel_size_A);
    cg_particles *p = cg_calloc(1, sizeof *p, "particles");
    if (!p) return CG_ERR_NOMEM;
    p->image_size = image_size, p->pixel_size_A = pixel_size_A;
    cg_status s = cg__particles_arrays(p, n);
    if (s != CG_OK) {
        cg_particles_free(p);
        return s;
    }
    *out = p;
    return CG_OK;
}

void cg_particles_free(cg_particles *p) {
    if (!p) return;
    for (int i = 0; i < p->nstacks; i++) {
        if (p->stacks) cg_mrc_stack_close(p->stacks[i]);
        if (p->stack_paths) free(p->stack_paths[i]);
        if (p->stack_names) free(p->stack_names[i]);
    }
    free(p->stacks), free(p->stack_paths), free(p->stack_names), free(p->stack_first), free(p->stack_found);
    free(p->euler_rad), free(p->shift_A), free(p->ctf), free(p->random_subset), free(p->optics_group);
    free(p->stack_of), free(p->image_index), free(p->source_path);
    cg_star_free(p->star);
    free(p);
}

/* ---------------------------------------------------------------- stack table ----------- */
cg_status cg__stack_table_init(cg__stack_table *t, const char *source_path) {
    memset(t, 0, sizeof *t);
    t->cap = 64;
    t->slots = cg_malloc(t->cap, sizeof(int32_t), "stack table");
    t->base_dir = cg_path_dirname(source_path);
    if (!t->slots || !t->base_dir) return CG_ERR_NOMEM;
    memset(t->slots, 0xff, t->cap * sizeof(int32_t));
    return CG_OK;
}

void cg__stack_table_free(cg__stack_table *t) {
    free(t->slots);
    free(t->base_dir);
    memset(t, 0, sizeof *t);
}

static uint64_t hash_name(const char *s, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001B3ull;
    return h;
}

static cg_status grow_slots(cg_particles *p, cg__stack_table *t) {
    size_t cap = t->cap * 2;
    int32_t *s = cg_malloc(cap, sizeof(int32_t), "stack table");
    if (!s) return CG_ERR_NOMEM;
    memset(s, 0xff, cap * sizeof(int32_t));
    for (int i = 0; i < p->nstacks; i++) {
        size_t k = hash_name(p->stack_names[i], strlen(p->stack_names[i])) & (cap - 1);
        while (s[k] >= 0) k = (k + 1) & (cap - 1);
        s[k] = i;
    }
    free(t->slots);
    t->slots = s, t->cap = cap;
    return CG_OK;
}

static cg_status grow_stacks(cg_particles *p, cg__stack_table *t) {
    int cap = t->cap_stacks ? 2 * t->cap_stacks : 16;
    char **names = realloc(p->stack_names, (size_t)cap * sizeof *names);
    if (names) p->stack_names = names;
    char **paths = realloc(p->stack_paths, (size_t)cap * sizeof *paths);
    if (paths) p->stack_paths = paths;
    int64_t *first = realloc(p->stack_first, (size_t)cap * sizeof *first);
    if (first) p->stack_first = first;
    int *found = realloc(p->stack_found, (size_t)cap * sizeof *found);
    if (found) p->stack_found = found;
    cg_mrc_stack **st = realloc(p->stacks, (size_t)cap * sizeof *st);
    if (st) p->stacks = st;
    if (!names || !paths || !first || !found || !st) return cg_error(CG_ERR_NOMEM, "out of memory for %d stacks", cap);
    t->cap_stacks = cap;
    return CG_OK;
}

/* Resolve a stack name to a path: absolute as is; else the source's directory, then the cwd. */
static char *resolve(const char *name, const char *base_dir, int *found) {
    *found = 1;
    if (name[0] == '/') {
        *found = cg_file_exists(name);
        return cg_path_join(NULL, name);
    }
    char *a = cg_path_join(base_dir, name);
    if (!a) return NULL;
    if (cg_file_exists(a)) {
        CG_DEBUG("stack %s: found relative to the file's directory as %s", name, a);
        return a;
    }
    if (cg_file_exists(name)) {
        CG_DEBUG("stack %s: not in %s; found relative to the working directory", name, base_dir);
        free(a);
        return cg_path_join(NULL, name);
    }
    CG_DEBUG("stack %s: found neither as %s nor relative to the working directory", name, a);
    *found = 0;
    return a;
}

cg_status cg__stack_lookup(cg_particles *p, cg__stack_table *t, const char *name, size_t name_len, int64_t particle,
                           int32_t *index) {
    uint64_t h = hash_name(name, name_len);
    size_t k = h & (t->cap - 1);
    for (; t->slots[k] >= 0; k = (k + 1) & (t->cap - 1)) {
        const char *s = p->stack_names[t->slots[k]];
        if (strlen(s) == name_len && !memcmp(s, name, name_len)) {
            *index = t->slots[k];
            return CG_OK;
        }
    }
    if (p->nstacks == t->cap_stacks && grow_stacks(p, t) != CG_OK) return CG_ERR_NOMEM;
    int i = p->nstacks;
    char *copy = cg_malloc(name_len + 1, 1, "stack name");
    if (!copy) return CG_ERR_NOMEM;
    memcpy(copy, name, name_len);
    copy[name_len] = '\0';
    int found;
    char *path = resolve(copy, t->base_dir, &found);
    if (!path) {
        free(copy);
        return CG_ERR_NOMEM;
    }
    p->stack_names[i] = copy, p->stack_paths[i] = path, p->stack_first[i] = particle;
    p->stack_found[i] = found, p->stacks[i] = NULL;
    p->nstacks++;
    t->slots[k] = i;
    *index = i;
    if ((size_t)p->nstacks * 2 > t->cap) return grow_slots(p, t);
    return CG_OK;
}

/* ---------------------------------------------------------------- stacks ---------------- */
/* "p.star:23: particle 12" or "p.cs: particle 12" */
static void where(const cg_particles *p, int64_t i, char *buf, size_t n) {
    const char *src = p->source_path ? p->source_path : "particles";
    int64_t line = 0;
    if (p->star) {
        cg_star_block *b = cg_star_find_block(p->star, "particles");
        for (int k = 0; !b && k < cg_star_nblocks(p->star); k++)
            if (cg_star_find_col(cg_star_block_at(p->star, k), "rlnImageName") >= 0) b = cg_star_block_at(p->star, k);
        if (b && cg_star_nrows(b) == p->n) line = cg_star_row_line(b, i);
    }
    if (line > 0) snprintf(buf, n, "%s:%lld: particle %lld", src, (long long)line, (long long)i + 1);
    else snprintf(buf, n, "%s: particle %lld", src, (long long)i + 1);
}

cg_status cg__fill_from_first_stack(cg_particles *p, const char *source) {
    if (p->image_size > 0 && p->pixel_size_A > 0) return CG_OK;
    if (p->nstacks == 0 || !p->stack_found[0])
        return cg_error(CG_ERR_FORMAT, "%s: no %s in the file, and no readable stack to take it from%s%s", source,
                        p->image_size > 0 ? "pixel size (rlnImagePixelSize, or rlnDetectorPixelSize and rlnMagnification)"
                                          : "box size (rlnImageSize)",
                        p->nstacks ? ": cannot find " : "", p->nstacks ? p->stack_paths[0] : "");
    cg_mrc_header h;
    cg_status s = cg_mrc_read_header(p->stack_paths[0], &h);
    if (s != CG_OK) return cg_error_prefix(s, "%s", source);
    if (p->image_size <= 0) p->image_size = h.nx;
    if (!(p->pixel_size_A > 0)) {
        if (!(h.pixel_size_A[0] > 0))
            return cg_error(CG_ERR_FORMAT, "%s: no pixel size in the file nor in the header of %s", source, p->stack_paths[0]);
        p->pixel_size_A = h.pixel_size_A[0];
        CG_WARN("%s: no pixel size in the file; using %g A from the header of %s", source, p->pixel_size_A,
                p->stack_paths[0]);
    }
    return CG_OK;
}

static cg_status open_one(cg_particles *p, int k) {
    char w[1200];
    where(p, p->stack_first[k], w, sizeof w);
    if (!cg_file_exists(p->stack_paths[k]))
        return cg_error(CG_ERR_IO,
                        "%s refers to stack %s, which exists neither as %s (relative to the file's directory) nor "
                        "relative to the working directory",
                        w, p->stack_names[k], p->stack_paths[k]);
    cg_status s = cg_mrc_stack_open(&p->stacks[k], p->stack_paths[k]);
    if (s != CG_OK) return cg_error_prefix(s, "%s", w);
    const cg_mrc_header *h = cg_mrc_stack_header(p->stacks[k]);
    if (h->nx != p->image_size || h->ny != p->image_size)
        return cg_error(CG_ERR_FORMAT, "%s: stack %s holds %dx%d images but the particles are %dx%d", w,
                        p->stack_paths[k], h->nx, h->ny, p->image_size, p->image_size);
    return CG_OK;
}

cg_status cg_particles_open_stacks(cg_particles *p) {
    for (int k = 0; k < p->nstacks; k++) {
        if (p->stacks[k]) continue;
        cg_status s = open_one(p, k);
        if (s != CG_OK) return s;
    }
    for (int64_t i = 0; i < p->n; i++) {
        int32_t k = p->stack_of[i];
        if (k < 0 || k >= p->nstacks) return cg_error(CG_ERR_INTERNAL, "particle %lld has no stack", (long long)i + 1);
        int64_t count = cg_mrc_stack_count(p->stacks[k]);
        if (p->image_index[i] < 0 || p->image_index[i] >= count) {
            char w[1200];
            where(p, i, w, sizeof w);
            return cg_error(CG_ERR_RANGE, "%s refers to image %lld of %s, which holds %lld", w,
                            (long long)p->image_index[i] + 1, p->stack_paths[k], (long long)count);
        }
    }
    return CG_OK;
}

cg_status cg_particles_read_image(const cg_particles *p, int64_t i, float *out) {
    if (i < 0 || i >= p->n)
        return cg_error(CG_ERR_RANGE, "particle %lld requested but the set holds %lld", (long long)i + 1, (long long)p->n);
    int32_t k = p->stack_of[i];
    if (!p->stacks || k < 0 || k >= p->nstacks || !p->stacks[k])
        return cg_error(CG_ERR_ARG, "particle %lld: stacks not opened (call cg_particles_open_stacks first)", (long long)i + 1);
    return cg_mrc_stack_read(p->stacks[k], p->image_index[i], out);
}
