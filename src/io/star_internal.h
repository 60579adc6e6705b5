/* Private layout of the STAR table model (src/io/star.c, src/io/star_parse.c).
 *
 * Memory: every cell is a uint32 offset into ONE string pool per cg_star, so a table of 10^6
 * rows x 30 columns costs 120 MB of offsets plus the text and no malloc per cell. A parsed
 * file becomes the pool itself: tokens are cut in place by writing NULs. Offset 0 is the empty
 * string. The pool is limited to 4 GiB (UINT32_MAX); larger files are refused with a message.
 * cells[row * ncols + col]; row_line[row] is the source line (0 for rows added in memory).
 */
#pragma once
#include <stdint.h>

#include "cryogen/star.h"

struct cg_star_block {
    cg_star *owner;
    char *name;
    int is_loop;
    int version;    /* N of a "# version N" comment before the block, 0 if none */
    int64_t line;   /* line of the data_ header (0 if created in memory) */
    int ncols, cap_cols;
    char **labels;
    int64_t nrows, cap_rows;
    uint32_t *cells;
    uint32_t *row_line;
};

struct cg_star {
    char *name; /* path, or the name given to cg_star_parse */
    int from_file;
    char *pool;
    size_t pool_len, pool_cap;
    cg_star_block **blocks;
    int nblocks, cap_blocks;
};

/* Append a NUL-terminated copy of s[0..n) to the pool; returns its offset or UINT32_MAX (error set). */
uint32_t cg__star_intern(cg_star *s, const char *str, size_t n);
/* Make room for at least `rows` rows. */
cg_status cg__star_reserve_rows(cg_star_block *b, int64_t rows);
/* Append a label without touching rows (for the parser, before any row exists). */
cg_status cg__star_push_label(cg_star_block *b, const char *label);
