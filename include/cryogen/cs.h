/* cryoSPARC .cs files: NumPy .npy files (format versions 1, 2, 3) holding a one-dimensional
 * structured array, one record per particle. This module is generic: it parses the header's
 * dtype description (field names, dtypes such as '<f4', '<u8', '|S63', shapes such as (3,)),
 * lists the fields and returns numeric fields as doubles or byte-string fields as text. The
 * mapping of cryoSPARC fields to particles is in src/io/particles_cs.c.
 *
 * Supported dtypes: b1, i1/i2/i4/i8, u1/u2/u4/u8, f2/f4/f8 (numeric, either byte order),
 * S<n>/a<n> (bytes), U<n> (UTF-32, listed only), V<n> (padding, listed only). An 'O' (Python
 * object) field means the file is a pickle, not raw records: refused with a message.
 * Reference: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CG_NPY_BOOL,
    CG_NPY_INT,
    CG_NPY_UINT,
    CG_NPY_FLOAT,
    CG_NPY_BYTES,   /* S<n>: NUL-padded byte string */
    CG_NPY_UNICODE, /* U<n>: UTF-32 */
    CG_NPY_VOID,    /* V<n>: raw bytes (alignment padding) */
} cg_npy_kind;

typedef struct {
    char name[128];    /* "ctf/df1_A" */
    char dtype[16];    /* as written in the header: "<f4", "|S63" */
    cg_npy_kind kind;
    int item_bytes;    /* bytes of one element */
    int big_endian;    /* multi-byte numbers stored big-endian */
    int ndim;          /* 0 for a scalar field, else the length of shape[] */
    int shape[4];
    int64_t count;     /* elements per record: the product of shape (1 for scalars) */
    int64_t offset;    /* byte offset of the field in a record */
} cg_cs_field;

typedef struct cg_cs cg_cs;

/* Read a .cs/.npy file (memory-mapped; the mapping lives until cg_cs_free). */
cg_status cg_cs_read(const char *path, cg_cs **out);
/* Parse a file image held in memory (copied); `name` is used in messages. For fuzzers and tests. */
cg_status cg_cs_parse_memory(const void *buf, size_t len, const char *name, cg_cs **out);
void cg_cs_free(cg_cs *cs); /* accepts NULL */

const char *cg_cs_name(const cg_cs *cs);
int64_t cg_cs_nrows(const cg_cs *cs);
int64_t cg_cs_record_bytes(const cg_cs *cs);
int cg_cs_version(const cg_cs *cs); /* npy major version */
int cg_cs_nfields(const cg_cs *cs);
const cg_cs_field *cg_cs_field_at(const cg_cs *cs, int i);
int cg_cs_find_field(const cg_cs *cs, const char *name); /* -1 if absent */

/* A numeric field as doubles: *out is malloc'd [nrows][count] (caller frees), element k of row r
 * at out[r * count + k]; *count_per_row (may be NULL) receives count. Errors: absent field,
 * non-numeric dtype. */
cg_status cg_cs_get_double(const cg_cs *cs, const char *name, double **out, int64_t *count_per_row);
/* A byte-string field of one row into buf (NUL-terminated, truncated to size - 1). */
cg_status cg_cs_get_string(const cg_cs *cs, const char *name, int64_t row, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
