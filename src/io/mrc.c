/* MRC2014 reading: header parsing and validation, whole-map reads with axis reordering, and
 * memory-mapped stacks read image by image.
 *
 * Conventions (CONVENTIONS.md "Files", include/cryogen/mrc.h):
 * - Byte order: the machine stamp (byte 212) says 0x44 little or 0x11 big; an unknown stamp
 *   (some writers leave zeros) or a stamp that contradicts the header is resolved by which order
 *   gives a plausible mode and nx (a swapped nx of 64 reads as 1073741824).
 * - Axis order: the file stores columns (fastest), rows, sections; mapc/mapr/maps give the axis
 *   (1 = X, 2 = Y, 3 = Z) each runs along. We return v[z][y][x] with X fastest, so the value of
 *   column c, row r, section s lands at coordinate (axis mapc = c, axis mapr = r, axis maps = s).
 *   With numpy/mrcfile this is data.transpose(...) to (Z, Y, X) order; see tests/mrc_reference.py.
 * - Every size in the header is checked against the file size before anything is allocated,
 *   with overflow-checked products, so a corrupt header gives a message, never a huge malloc.
 * Reference: https://www.ccpem.ac.uk/mrc_format/mrc2014.php; RELION src/rwMRC.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cryogen/mrc.h"
#include "io/mrc_internal.h"

enum { MRC_HEADER_BYTES = 1024, MRC_MAX_DIM = 1 << 24 };

typedef struct {
    int mode;
    int bytes;
    const char *name;
} mode_info;

/* The one table of modes cryogen knows; readable modes have bytes > 0. */
static const mode_info g_modes[] = {
    {CG_MRC_INT8, 1, "int8"},       {CG_MRC_INT16, 2, "int16"},     {CG_MRC_FLOAT32, 4, "float32"},
    {3, 0, "complex int16"},        {4, 0, "complex float32"},      {CG_MRC_UINT16, 2, "uint16"},
    {CG_MRC_FLOAT16, 2, "float16"}, {101, 0, "4-bit"},
};

static const mode_info *find_mode(int mode) {
    for (size_t i = 0; i < sizeof g_modes / sizeof g_modes[0]; i++)
        if (g_modes[i].mode == mode) return &g_modes[i];
    return NULL;
}
const char *cg_mrc_mode_name(int mode) {
    const mode_info *m = find_mode(mode);
    return m ? m->name : "unknown";
}
int cg_mrc_mode_bytes(int mode) {
    const mode_info *m = find_mode(mode);
    return m ? m->bytes : 0;
}

static int host_is_big(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

/* A header read in byte order `big` is plausible when mode is known and nx, ny, nz are sane. */
static int plausible(const unsigned char *b, int big) {
    int32_t nx = (int32_t)cg__ld32(b, big), ny = (int32_t)cg__ld32(b + 4, big), nz = (int32_t)cg__ld32(b + 8, big);
    int32_t mode = (int32_t)cg__ld32(b + 12, big);
    return find_mode(mode) && nx > 0 && nx <= MRC_MAX_DIM && ny > 0 && ny <= MRC_MAX_DIM && nz >= 0 &&
           nz <= (1 << 30);
}

static int decide_order(const unsigned char *b, const char *name) {
    int stamp_big = b[212] == 0x11 ? 1 : b[212] == 0x44 ? 0 : -1;
    int first = stamp_big >= 0 ? stamp_big : host_is_big();
    if (plausible(b, first)) return first;
    if (plausible(b, !first)) {
        if (stamp_big >= 0)
            CG_WARN("%s: the machine stamp says %s-endian but the header only makes sense as %s-endian; using that",
                    name, first ? "big" : "little", first ? "little" : "big");
        return !first;
    }
    return first; /* implausible either way: validation below names the problem */
}

static void copy_labels(const unsigned char *b, int nlabl, cg_mrc_header *h) {
    h->nlabl = nlabl < 0 ? 0 : nlabl > 10 ? 10 : nlabl;
    for (int i = 0; i < 10; i++) {
        char *dst = h->labels[i];
        const unsigned char *src = b + 224 + 80 * i;
        int n = 0;
        for (int k = 0; k < 80 && src[k]; k++) dst[n++] = (src[k] >= 32 && src[k] < 127) ? (char)src[k] : '?';
        while (n > 0 && dst[n - 1] == ' ') n--;
        dst[n] = '\0';
    }
}

static cg_status check_axes(cg_mrc_header *h, const char *name) {
    if (h->mapc == 0 && h->mapr == 0 && h->maps == 0) { /* some old writers leave them zero */
        CG_WARN("%s: mapc/mapr/maps are 0; assuming the standard order 1,2,3", name);
        h->mapc = 1, h->mapr = 2, h->maps = 3;
    }
    int a[3] = {h->mapc, h->mapr, h->maps}, seen[4] = {0, 0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (a[i] < 1 || a[i] > 3 || seen[a[i]]++)
            return cg_error(CG_ERR_FORMAT,
                            "%s: axis order mapc,mapr,maps = %d,%d,%d is not a permutation of 1,2,3 (corrupt header?)",
                            name, h->mapc, h->mapr, h->maps);
    }
    return CG_OK;
}

static void fmt_bytes(char *buf, size_t n, int64_t bytes) {
    if (bytes >= (int64_t)1 << 30) snprintf(buf, n, "%.1f GiB", (double)bytes / (1 << 30));
    else if (bytes >= (int64_t)1 << 20) snprintf(buf, n, "%lld MiB", (long long)(bytes >> 20));
    else snprintf(buf, n, "%lld bytes", (long long)bytes);
}

/* Sizes: stored dims in file order are positive, their product fits, data fits in the file. */
static cg_status check_sizes(const cg_mrc_header *h, int32_t nc, int32_t nr, int32_t ns, int64_t total,
                             const char *name) {
    const mode_info *m = find_mode(h->mode);
    if (nc <= 0 || nr <= 0 || ns < 0 || nc > MRC_MAX_DIM || nr > MRC_MAX_DIM)
        return cg_error(CG_ERR_FORMAT, "%s: header claims dimensions %dx%dx%d; each must be in 1..%d (nz may be 0)",
                        name, nc, nr, ns, MRC_MAX_DIM);
    if (h->nsymbt < 0)
        return cg_error(CG_ERR_FORMAT, "%s: negative extended header size nsymbt = %d", name, h->nsymbt);
    if (h->data_offset > total)
        return cg_error(CG_ERR_FORMAT,
                        "%s: extended header of %d bytes (nsymbt) runs past the end of the %lld-byte file", name,
                        h->nsymbt, (long long)total);
    int64_t vox, bytes;
    if (__builtin_mul_overflow((int64_t)nc, (int64_t)nr, &vox) || __builtin_mul_overflow(vox, (int64_t)ns, &vox) ||
        __builtin_mul_overflow(vox, (int64_t)m->bytes, &bytes))
        return cg_error(CG_ERR_FORMAT, "%s: header claims %dx%dx%d values, which overflows", name, nc, nr, ns);
    int64_t avail = total - h->data_offset;
    if (bytes > avail) {
        char want[32], have[32];
        fmt_bytes(want, sizeof want, bytes);
        fmt_bytes(have, sizeof have, avail);
        return cg_error(CG_ERR_FORMAT,
                        "%s: header claims %dx%dx%d %s (%s) but the file holds %s after the %lld-byte header; "
                        "the file is truncated or the header is corrupt",
                        name, nc, nr, ns, m->name, want, have, (long long)h->data_offset);
    }
    if (bytes < avail) CG_DEBUG("%s: %lld bytes after the data are ignored", name, (long long)(avail - bytes));
    return CG_OK;
}

cg_status cg_mrc_parse_header(const void *buf, size_t len, int64_t total_size, const char *name, cg_mrc_header *h) {
    const unsigned char *b = buf;
    memset(h, 0, sizeof *h);
    if (!name) name = "(memory)";
    if (!b || len < MRC_HEADER_BYTES || total_size < MRC_HEADER_BYTES)
        return cg_error(CG_ERR_FORMAT, "%s: file is %lld bytes, smaller than the 1024-byte MRC header (not an MRC file?)",
                        name, (long long)(total_size < (int64_t)len ? total_size : (int64_t)len));
    int big = decide_order(b, name);
    h->swapped = big != host_is_big();
#define I32(off) ((int32_t)cg__ld32(b + (off), big))
#define F32(off) cg__ldf32(b + (off), big)
    int32_t nc = I32(0), nr = I32(4), ns = I32(8);
    h->mode = I32(12);
    h->nxstart = I32(16), h->nystart = I32(20), h->nzstart = I32(24);
    h->mx = I32(28), h->my = I32(32), h->mz = I32(36);
    for (int i = 0; i < 3; i++) h->cella_A[i] = F32(40 + 4 * i), h->origin_A[i] = F32(196 + 4 * i);
    h->mapc = I32(64), h->mapr = I32(68), h->maps = I32(72);
    h->dmin = F32(76), h->dmax = F32(80), h->dmean = F32(84), h->rms = F32(216);
    h->ispg = I32(88), h->nsymbt = I32(92), h->nversion = I32(108);
    int nlabl = I32(220);
#undef I32
#undef F32
    memcpy(h->exttyp, b + 104, 4);
    for (int i = 0; i < 4; i++)
        if (h->exttyp[i] < 32 || h->exttyp[i] > 126) h->exttyp[i] = '\0';
    h->has_map_tag = memcmp(b + 208, "MAP ", 4) == 0;
    copy_labels(b, nlabl, h);
    const mode_info *m = find_mode(h->mode);
    if (!m || m->bytes == 0)
        return cg_error(CG_ERR_UNSUPPORTED, "%s: MRC mode %d (%s) is not supported; cryogen reads modes 0, 1, 2, 6, 12",
                        name, h->mode, m ? m->name : "unknown");
    h->data_offset = MRC_HEADER_BYTES + (int64_t)h->nsymbt;
    cg_status s = check_axes(h, name);
    if (s == CG_OK) s = check_sizes(h, nc, nr, ns, total_size, name);
    if (s != CG_OK) return s;
    int32_t ext[3];
    ext[h->mapc - 1] = nc, ext[h->mapr - 1] = nr, ext[h->maps - 1] = ns;
    h->nx = ext[0], h->ny = ext[1], h->nz = ext[2];
    int m3[3] = {h->mx, h->my, h->mz};
    for (int i = 0; i < 3; i++)
        h->pixel_size_A[i] = (m3[i] > 0 && h->cella_A[i] > 0) ? h->cella_A[i] / (float)m3[i] : 0.0f;
    if (!h->has_map_tag) CG_WARN("%s: no 'MAP ' tag at byte 208 (written by an old or non-standard writer); reading anyway", name);
    return CG_OK;
}

/* Convert n values of `mode` starting at src into floats. */
static void convert(const unsigned char *src, int mode, int big, size_t n, float *dst) {
    switch (mode) {
    case CG_MRC_INT8:
        for (size_t i = 0; i < n; i++) dst[i] = (float)(int8_t)src[i];
        break;
    case CG_MRC_INT16:
        for (size_t i = 0; i < n; i++) dst[i] = (float)(int16_t)cg__ld16(src + 2 * i, big);
        break;
    case CG_MRC_UINT16:
        for (size_t i = 0; i < n; i++) dst[i] = (float)cg__ld16(src + 2 * i, big);
        break;
    case CG_MRC_FLOAT16:
        for (size_t i = 0; i < n; i++) dst[i] = cg__half_to_float(cg__ld16(src + 2 * i, big));
        break;
    default: /* CG_MRC_FLOAT32; the header check admits no other mode */
        for (size_t i = 0; i < n; i++) dst[i] = cg__ldf32(src + 4 * i, big);
        break;
    }
}

static int file_is_big(const cg_mrc_header *h) { return h->swapped ? !host_is_big() : host_is_big(); }

/* Stored (column, row, section) extents from the returned (X, Y, Z) ones. */
static void stored_dims(const cg_mrc_header *h, int64_t d[3]) {
    int64_t ext[3] = {h->nx, h->ny, h->nz};
    d[0] = ext[h->mapc - 1], d[1] = ext[h->mapr - 1], d[2] = ext[h->maps - 1];
}

/* Reorder data stored in (c, r, s) order to v[z][y][x]. */
static void permute(const float *in, const cg_mrc_header *h, float *out) {
    int64_t d[3], stride_xyz[3];
    stored_dims(h, d);
    stride_xyz[0] = 1, stride_xyz[1] = h->nx, stride_xyz[2] = (int64_t)h->nx * h->ny;
    int64_t sc = stride_xyz[h->mapc - 1], sr = stride_xyz[h->mapr - 1], ss = stride_xyz[h->maps - 1];
    size_t i = 0;
    for (int64_t s = 0; s < d[2]; s++)
        for (int64_t r = 0; r < d[1]; r++)
            for (int64_t c = 0; c < d[0]; c++) out[s * ss + r * sr + c * sc] = in[i++];
}

cg_status cg_mrc_read_memory(const void *buf, size_t len, const char *name, cg_mrc_header *h, float **data) {
    *data = NULL;
    if (!name) name = "(memory)";
    cg_status s = cg_mrc_parse_header(buf, len, (int64_t)len, name, h);
    if (s != CG_OK) return s;
    size_t n = (size_t)h->nx * (size_t)h->ny * (size_t)h->nz;
    if (n == 0) return cg_error(CG_ERR_FORMAT, "%s: the map holds no data (nz = 0)", name);
    float *out = cg_malloc(n, sizeof(float), "MRC data");
    if (!out) return cg_error_prefix(CG_ERR_NOMEM, "%s", name);
    const unsigned char *src = (const unsigned char *)buf + h->data_offset;
    if (h->mapc == 1 && h->mapr == 2 && h->maps == 3) {
        convert(src, h->mode, file_is_big(h), n, out);
    } else {
        float *tmp = cg_malloc(n, sizeof(float), "MRC data (stored order)");
        if (!tmp) {
            free(out);
            return cg_error_prefix(CG_ERR_NOMEM, "%s", name);
        }
        convert(src, h->mode, file_is_big(h), n, tmp);
        permute(tmp, h, out);
        free(tmp);
    }
    *data = out;
    return CG_OK;
}

/* Map a whole file read-only. An empty file gives a clear message instead of mmap's EINVAL. */
static cg_status map_file(const char *path, void **map, size_t *len) {
    *map = NULL, *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return cg_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cg_error(CG_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < MRC_HEADER_BYTES) {
        close(fd);
        return cg_error(CG_ERR_FORMAT, "%s: file is %lld bytes, smaller than the 1024-byte MRC header (not an MRC file?)",
                        path, (long long)sb.st_size);
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return cg_error(CG_ERR_IO, "%s: cannot map the file: %s", path, strerror(errno));
    *map = m, *len = (size_t)sb.st_size;
    return CG_OK;
}

cg_status cg_mrc_read_header(const char *path, cg_mrc_header *h) {
    memset(h, 0, sizeof *h);
    int64_t size = cg_file_size(path);
    if (size < 0) return CG_ERR_IO;
    FILE *f = fopen(path, "rb");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char b[MRC_HEADER_BYTES];
    size_t got = fread(b, 1, sizeof b, f);
    fclose(f);
    return cg_mrc_parse_header(b, got, size, path, h);
}

cg_status cg_mrc_read(const char *path, cg_mrc_header *h, float **data) {
    *data = NULL;
    memset(h, 0, sizeof *h);
    void *map;
    size_t len;
    cg_status s = map_file(path, &map, &len);
    if (s != CG_OK) return s;
    s = cg_mrc_read_memory(map, len, path, h, data);
    munmap(map, len);
    return s;
}

/* ---------------------------------------------------------------- stacks ---------------- */
struct cg_mrc_stack {
    char *path;
    void *map;
    size_t map_len;
    cg_mrc_header h;
    int transpose; /* stored rows run along X (mapc = 2, mapr = 1) */
    int big;
    size_t image_bytes;
};

cg_status cg_mrc_stack_open(cg_mrc_stack **out, const char *path) {
    *out = NULL;
    cg_mrc_stack *s = cg_calloc(1, sizeof *s, "MRC stack");
    if (!s) return CG_ERR_NOMEM;
    size_t n = strlen(path) + 1;
    s->path = cg_malloc(n, 1, "path");
    cg_status st = s->path ? map_file(path, &s->map, &s->map_len) : CG_ERR_NOMEM;
    if (st == CG_OK) {
        memcpy(s->path, path, n);
        st = cg_mrc_parse_header(s->map, s->map_len, (int64_t)s->map_len, path, &s->h);
    }
    if (st == CG_OK && s->h.maps != 3)
        st = cg_error(CG_ERR_UNSUPPORTED,
                      "%s: sections run along axis %d (maps), not Z; read it as a volume with cg_mrc_read instead of "
                      "image by image",
                      path, s->h.maps);
    if (st != CG_OK) {
        cg_mrc_stack_close(s);
        return st;
    }
    s->transpose = s->h.mapc == 2;
    s->big = file_is_big(&s->h);
    s->image_bytes = (size_t)s->h.nx * (size_t)s->h.ny * (size_t)cg_mrc_mode_bytes(s->h.mode);
    *out = s;
    return CG_OK;
}

void cg_mrc_stack_close(cg_mrc_stack *s) {
    if (!s) return;
    if (s->map) munmap(s->map, s->map_len);
    free(s->path);
    free(s);
}

const cg_mrc_header *cg_mrc_stack_header(const cg_mrc_stack *s) { return &s->h; }
int64_t cg_mrc_stack_count(const cg_mrc_stack *s) { return s->h.nz; }
const char *cg_mrc_stack_path(const cg_mrc_stack *s) { return s->path; }

cg_status cg_mrc_stack_read(const cg_mrc_stack *s, int64_t index, float *out) {
    if (index < 0 || index >= s->h.nz)
        return cg_error(CG_ERR_RANGE, "%s: image %lld requested (1-based) but the stack holds %d", s->path,
                        (long long)index + 1, s->h.nz);
    const unsigned char *src = (const unsigned char *)s->map + s->h.data_offset + (size_t)index * s->image_bytes;
    int nx = s->h.nx, ny = s->h.ny;
    if (!s->transpose) {
        convert(src, s->h.mode, s->big, (size_t)nx * ny, out);
        return CG_OK;
    }
    /* stored row-major with columns along Y: convert one stored row (a column of the image) at a time */
    int bytes = cg_mrc_mode_bytes(s->h.mode);
    float col[4096], *tmp = ny <= 4096 ? col : cg_malloc((size_t)ny, sizeof(float), "image column");
    if (!tmp) return CG_ERR_NOMEM;
    for (int x = 0; x < nx; x++) {
        convert(src + (size_t)x * ny * bytes, s->h.mode, s->big, (size_t)ny, tmp);
        for (int y = 0; y < ny; y++) out[(size_t)y * nx + x] = tmp[y];
    }
    if (tmp != col) free(tmp);
    return CG_OK;
}
