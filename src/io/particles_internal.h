/* Private helpers shared by the particle readers (particles_star.c, particles_cs.c) and
 * particles.c: a hash table of stack names, path resolution, and filling box / pixel size from
 * a stack header. */
#pragma once
#include "cryogen/particles.h"

typedef struct {
    int32_t *slots; /* index into p->stack_names, -1 empty; capacity a power of two */
    size_t cap;
    int cap_stacks; /* allocated length of the p->stack_* arrays */
    char *base_dir; /* directory of the file being read */
} cg__stack_table;

cg_status cg__stack_table_init(cg__stack_table *t, const char *source_path);
void cg__stack_table_free(cg__stack_table *t);
/* The stack index for `name` (name_len bytes, not NUL-terminated), adding and resolving it
 * (STAR/CS file's directory first, then the working directory) on first sight. */
cg_status cg__stack_lookup(cg_particles *p, cg__stack_table *t, const char *name, size_t name_len, int64_t particle,
                           int32_t *index);
/* Fill image_size (when <= 0) and pixel_size_A (when <= 0) from the first stack's header. */
cg_status cg__fill_from_first_stack(cg_particles *p, const char *source);
/* Allocate the per-particle arrays of an empty struct (n may be 0). */
cg_status cg__particles_arrays(cg_particles *p, int64_t n);

cg_status cg__particles_read_star(const char *path, cg_particles **out);
cg_status cg__particles_read_cs(const char *path, cg_particles **out);
