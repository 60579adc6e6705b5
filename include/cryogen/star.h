/* RELION STAR files: a generic table model that keeps every block, label and value as text,
 * so unknown labels survive a read-modify-write round trip, plus typed accessors.
 *
 * Grammar handled: `data_NAME` blocks (several per file), `loop_` tables and key-value blocks
 * (`_rlnLabel value`), `#` comments, quoted values ('...' or "..."), blank lines, optional
 * column numbers after labels (`_rlnImageName #1`), RELION 3.0 (no data_optics) and 3.1/5.
 * Errors name the file, line, block and column: "p.star:17: data_particles row 12 has 9
 * values but the loop declares 11 labels".
 *
 * Labels are stored without the leading underscore ("rlnImageName"); block names without
 * "data_" ("particles", "optics", "" for a bare `data_`). Lookups accept a label with or
 * without the underscore. Key-value blocks always have exactly one row. One row per line
 * (as RELION reads and writes); comments other than "# version N" are not kept.
 * Layout and limits: src/io/star_internal.h (one string pool, 4 GiB of text at most).
 */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cg_star cg_star;
typedef struct cg_star_block cg_star_block;

cg_status cg_star_read(const char *path, cg_star **out);
/* Parse from memory (for tests and fuzzers); `name` is used in error messages. */
cg_status cg_star_parse(const char *text, size_t len, const char *name, cg_star **out);
/* Atomic write (temporary name, then rename). `comment` (may be NULL) is written as a
 * leading `# ...` line, e.g. the provenance string. */
cg_status cg_star_write(const char *path, const cg_star *s, const char *comment);
cg_star *cg_star_new(void); /* NULL with cg_error on allocation failure */
void cg_star_free(cg_star *s); /* accepts NULL */
const char *cg_star_path(const cg_star *s); /* file it was read from, or NULL */

int cg_star_nblocks(const cg_star *s);
cg_star_block *cg_star_block_at(const cg_star *s, int i);
cg_star_block *cg_star_find_block(const cg_star *s, const char *name); /* NULL if absent */
/* Append a block (is_loop: 1 for a loop_ table, 0 for key-value pairs, which are stored as a
 * one-row table). NULL with cg_error on failure. */
cg_star_block *cg_star_add_block(cg_star *s, const char *name, int is_loop);

const char *cg_star_block_name(const cg_star_block *b);
int cg_star_block_is_loop(const cg_star_block *b);
int cg_star_ncols(const cg_star_block *b);
int64_t cg_star_nrows(const cg_star_block *b);
const char *cg_star_label(const cg_star_block *b, int col);
int cg_star_find_col(const cg_star_block *b, const char *label); /* -1 if absent */
/* Add a column (existing rows get `fill`); returns its index, or -1 with cg_error. If the
 * label exists its index is returned and nothing changes. */
int cg_star_add_col(cg_star_block *b, const char *label, const char *fill);

/* Raw text of a cell (never NULL; "" for an invalid row/col). The pointer stays valid until
 * the next cg_star_set / add_col / add_row on any block of the same cg_star (the string pool
 * may move). Reads are thread-safe while nobody modifies the cg_star. */
const char *cg_star_get(const cg_star_block *b, int64_t row, int col);
/* Typed reads; errors name the file, block, row (1-based), label and the offending text. */
cg_status cg_star_get_double(const cg_star_block *b, int64_t row, int col, double *out);
cg_status cg_star_get_int(const cg_star_block *b, int64_t row, int col, int64_t *out);

/* Append an empty row (all cells "") and return its index, or -1 with cg_error. */
int64_t cg_star_add_row(cg_star_block *b);
cg_status cg_star_set(cg_star_block *b, int64_t row, int col, const char *value);
/* Writes the value with the printf format `fmt` (NULL: "%.6f"). */
cg_status cg_star_set_double(cg_star_block *b, int64_t row, int col, double value, const char *fmt);
cg_status cg_star_set_int(cg_star_block *b, int64_t row, int col, int64_t value);

/* ---- additions beyond the first contract ---- */
/* Source line of a row (1-based), 0 for rows created in memory or an invalid row. */
int64_t cg_star_row_line(const cg_star_block *b, int64_t row);
/* Source line of the block's data_ header, 0 if created in memory. */
int64_t cg_star_block_line(const cg_star_block *b);
/* The file a block belongs to (for cg_star_path in messages). */
const cg_star *cg_star_block_owner(const cg_star_block *b);

#ifdef __cplusplus
}
#endif
