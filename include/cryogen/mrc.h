/* MRC2014 maps and MRCS stacks.
 *
 * Reading: modes 0 (int8, signed), 1 (int16), 2 (float32), 6 (uint16), 12 (float16); byte
 * order from the machine stamp (44 44 00 00 little, 44 41 00 00 also little as RELION writes,
 * 11 11 00 00 big), with swapped files also detected by an implausible mode or nx; axis order
 * from mapc/mapr/maps (data are returned reordered so x is fastest: v[z][y][x]); the extended
 * header (nsymbt bytes) is skipped; pixel size = cella / m per axis; a missing "MAP " tag is
 * accepted with a warning. Every count in the header is checked against the file size before
 * anything is allocated.
 *
 * Writing: always mode 2, little-endian, "MAP " tag, machine stamp 44 44 00 00, statistics
 * (dmin, dmax, dmean, rms) filled, labels recording the provenance; written to a temporary
 * name and renamed. A stack (is_stack) has mz = 1 and cella.z = 0 like RELION; a volume has
 * mz = nz and cella.z = nz * pixel size.
 *
 * Stacks are read through mmap, so a stack larger than memory can be processed image by image;
 * cg_mrc_stack_read is thread-safe.
 *
 * Conventions kept as stored: nxstart/nystart/nzstart are the column/row/section starts of the
 * file (not permuted); cella, m and origin are per X, Y, Z axis by definition and need no
 * permutation. Mode 0 is read as signed int8 (MRC2014), even from old IMOD files.
 * See docs/io.md and https://www.ccpem.ac.uk/mrc_format/mrc2014.php.
 */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { CG_MRC_INT8 = 0, CG_MRC_INT16 = 1, CG_MRC_FLOAT32 = 2, CG_MRC_UINT16 = 6, CG_MRC_FLOAT16 = 12 };

typedef struct {
    /* dimensions of the data as returned (x fastest), i.e. after applying mapc/mapr/maps */
    int nx, ny, nz;
    int mode;
    int mx, my, mz;
    float cella_A[3];        /* cell lengths, Angstrom */
    float pixel_size_A[3];   /* cella / m per axis (0 where m or cella is 0) */
    float origin_A[3];       /* ORIGIN field */
    int nxstart, nystart, nzstart;
    int mapc, mapr, maps;    /* as stored (1-based axis numbers) */
    int ispg;
    int nsymbt;              /* extended header bytes */
    char exttyp[5];
    int nversion;
    float dmin, dmax, dmean, rms;
    int swapped;             /* file byte order differs from this machine's */
    int has_map_tag;
    int nlabl;
    char labels[10][81];
    int64_t data_offset;     /* 1024 + nsymbt */
} cg_mrc_header;

/* Read and validate the header only. */
cg_status cg_mrc_read_header(const char *path, cg_mrc_header *h);

/* Read a whole map or stack into a malloc'd float array (caller frees with free()),
 * reordered to x fastest; dims in h->nx, ny, nz. */
cg_status cg_mrc_read(const char *path, cg_mrc_header *h, float **data);

/* Write nx*ny*nz floats (x fastest) in mode 2. pixel_size_A > 0. label may be NULL
 * (a provenance label is always added). */
cg_status cg_mrc_write(const char *path, const float *data, int nx, int ny, int nz, float pixel_size_A, int is_stack,
                       const char *label);

/* ---- additions beyond the first contract ---- */

/* "int8", "int16", "float32", "uint16", "float16", or "unknown". */
const char *cg_mrc_mode_name(int mode);
/* Bytes per value of a readable mode, 0 for others. */
int cg_mrc_mode_bytes(int mode);

/* Parse and validate a header held in memory: `buf` holds at least the first 1024 bytes,
 * `total_size` is the size of the whole file (used for every size check), `name` is used in
 * messages. */
cg_status cg_mrc_parse_header(const void *buf, size_t len, int64_t total_size, const char *name, cg_mrc_header *h);

/* cg_mrc_read on a file image held in memory (for fuzzers and tests). Never reads past len. */
cg_status cg_mrc_read_memory(const void *buf, size_t len, const char *name, cg_mrc_header *h, float **data);

/* cg_mrc_write in another mode (0, 1, 2, 6 or 12), for test files and compact outputs.
 * Integer modes round to nearest; a value outside the mode's range (or not finite) is an error
 * (CG_ERR_RANGE) and no file is left behind. Float16 rounds to nearest even; |x| > 65504 fails. */
cg_status cg_mrc_write_mode(const char *path, const float *data, int nx, int ny, int nz, float pixel_size_A,
                            int is_stack, const char *label, int mode);

/* ---- memory-mapped stack for reading image by image ---- */
typedef struct cg_mrc_stack cg_mrc_stack;
cg_status cg_mrc_stack_open(cg_mrc_stack **out, const char *path);
void cg_mrc_stack_close(cg_mrc_stack *s); /* accepts NULL */
const cg_mrc_header *cg_mrc_stack_header(const cg_mrc_stack *s);
int64_t cg_mrc_stack_count(const cg_mrc_stack *s); /* number of images (nz) */
const char *cg_mrc_stack_path(const cg_mrc_stack *s);
/* Image `index` (0-based) converted to float, nx*ny values, x fastest. Thread-safe. */
cg_status cg_mrc_stack_read(const cg_mrc_stack *s, int64_t index, float *out);

/* ---- streaming stack writer: append images in order, commit renames into place ---- */
typedef struct cg_mrc_writer cg_mrc_writer;
cg_status cg_mrc_writer_open(cg_mrc_writer **out, const char *path, int nx, int ny, float pixel_size_A,
                             const char *label);
cg_status cg_mrc_writer_append(cg_mrc_writer *w, const float *images, int64_t count);
/* As cg_mrc_writer_open with the values stored in `mode` (see cg_mrc_write_mode). */
cg_status cg_mrc_writer_open_mode(cg_mrc_writer **out, const char *path, int nx, int ny, float pixel_size_A,
                                  const char *label, int mode);
/* Writes the final header (count, statistics) and renames into place; frees w. */
cg_status cg_mrc_writer_commit(cg_mrc_writer *w);
/* Removes the temporary file; frees w; accepts NULL. */
void cg_mrc_writer_abort(cg_mrc_writer *w);

#ifdef __cplusplus
}
#endif
