/* MRC2014 writing: a streaming writer (stacks image by image, or a whole volume) that writes
 * under a temporary name (cg_outfile), fills the header with the final count and statistics
 * at commit, and renames into place.
 *
 * Header choices: little-endian, machine stamp 44 44 00 00, "MAP " tag, nversion 20140, axis
 * order 1,2,3, origin 0. A stack has mz = 1, cella.z = 0 and ispg 0 (as RELION writes); a volume
 * has mz = nz, cella.z = nz * pixel size and ispg 1. Statistics: dmin, dmax, dmean and rms (the
 * standard deviation about the mean, MRC2014) of the values as stored, accumulated in double
 * with Chan's pairwise merge of per-chunk mean and M2 so large stacks lose no precision.
 * Labels: the provenance string (cg_provenance) first, then the caller's label.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/mrc.h"
#include "io/mrc_internal.h"

struct cg_mrc_writer {
    cg_outfile out;
    int nx, ny, mode, bytes, is_volume;
    float pixel_size_A;
    int64_t count;
    double mean, m2, vmin, vmax; /* running statistics of the stored values */
    char label[81];
    unsigned char *buf;
    size_t bufcap;
};

static void put_label(unsigned char *dst, const char *text) {
    memset(dst, ' ', 80);
    size_t n = strlen(text);
    memcpy(dst, text, n > 80 ? 80 : n);
}

static void build_header(const cg_mrc_writer *w, unsigned char *b) {
    memset(b, 0, 1024);
    int64_t nz = w->count;
    int32_t mz = w->is_volume ? (int32_t)nz : 1;
    float cz = w->is_volume ? (float)nz * w->pixel_size_A : 0.0f;
    int32_t ints[10] = {w->nx, w->ny, (int32_t)nz, w->mode, 0, 0, 0, w->nx, w->ny, mz};
    for (int i = 0; i < 10; i++) cg__st32(b + 4 * i, (uint32_t)ints[i]);
    cg__stf32(b + 40, (float)w->nx * w->pixel_size_A);
    cg__stf32(b + 44, (float)w->ny * w->pixel_size_A);
    cg__stf32(b + 48, cz);
    for (int i = 0; i < 3; i++) cg__stf32(b + 52 + 4 * i, 90.0f);
    for (int i = 0; i < 3; i++) cg__st32(b + 64 + 4 * i, (uint32_t)(i + 1));
    int have = w->count > 0;
    cg__stf32(b + 76, have ? (float)w->vmin : 0.0f);
    cg__stf32(b + 80, have ? (float)w->vmax : 0.0f);
    cg__stf32(b + 84, have ? (float)w->mean : 0.0f);
    cg__st32(b + 88, w->is_volume ? 1u : 0u);
    cg__st32(b + 108, 20140u);
    memcpy(b + 208, "MAP ", 4);
    b[212] = 0x44, b[213] = 0x44;
    int64_t n = w->count * w->nx * (int64_t)w->ny;
    cg__stf32(b + 216, n > 0 ? (float)sqrt(w->m2 / (double)n) : 0.0f);
    char prov[256];
    cg_provenance(prov, sizeof prov, CG_NO_SEED); /* the caller's label carries the seed */
    put_label(b + 224, prov);
    int nlabl = 1;
    if (w->label[0]) put_label(b + 224 + 80 * nlabl++, w->label);
    cg__st32(b + 220, (uint32_t)nlabl);
}

static cg_status open_writer(cg_mrc_writer **out, const char *path, int nx, int ny, float pixel_size_A,
                             const char *label, int mode, int is_volume) {
    *out = NULL;
    int bytes = cg_mrc_mode_bytes(mode);
    if (bytes == 0) return cg_error(CG_ERR_ARG, "%s: cannot write MRC mode %d; use 0, 1, 2, 6 or 12", path, mode);
    if (nx <= 0 || ny <= 0 || nx > (1 << 24) || ny > (1 << 24))
        return cg_error(CG_ERR_ARG, "%s: image size %dx%d out of range", path, nx, ny);
    if (!(pixel_size_A > 0) || !isfinite(pixel_size_A))
        return cg_error(CG_ERR_ARG, "%s: pixel size must be > 0 (got %g)", path, (double)pixel_size_A);
    cg_mrc_writer *w = cg_calloc(1, sizeof *w, "MRC writer");
    if (!w) return CG_ERR_NOMEM;
    w->nx = nx, w->ny = ny, w->mode = mode, w->bytes = bytes, w->is_volume = is_volume;
    w->pixel_size_A = pixel_size_A;
    if (label) snprintf(w->label, sizeof w->label, "%s", label);
    cg_status s = cg_outfile_open(&w->out, path);
    if (s != CG_OK) {
        free(w);
        return s;
    }
    unsigned char hdr[1024] = {0};
    if (fwrite(hdr, 1, sizeof hdr, w->out.fp) != sizeof hdr) {
        s = cg_error(CG_ERR_IO, "%s: write failed: %s", w->out.tmp_path, strerror(errno));
        cg_mrc_writer_abort(w);
        return s;
    }
    *out = w;
    return CG_OK;
}

cg_status cg_mrc_writer_open_mode(cg_mrc_writer **out, const char *path, int nx, int ny, float pixel_size_A,
                                  const char *label, int mode) {
    return open_writer(out, path, nx, ny, pixel_size_A, label, mode, 0);
}
cg_status cg_mrc_writer_open(cg_mrc_writer **out, const char *path, int nx, int ny, float pixel_size_A,
                             const char *label) {
    return open_writer(out, path, nx, ny, pixel_size_A, label, CG_MRC_FLOAT32, 0);
}

/* Encode one value in the writer's mode; returns the value as stored, or NAN if it cannot be. */
static double encode(int mode, float x, unsigned char *dst) {
    if (!isfinite(x)) return NAN;
    if (mode == CG_MRC_FLOAT32) {
        cg__stf32(dst, x);
        return x;
    }
    if (mode == CG_MRC_FLOAT16) {
        if (fabsf(x) > 65504.0f) return NAN;
        uint16_t h = cg__float_to_half(x);
        cg__st16(dst, h);
        return cg__half_to_float(h);
    }
    double r = nearbyint((double)x);
    double lo = mode == CG_MRC_INT8 ? -128 : mode == CG_MRC_INT16 ? -32768 : 0;
    double hi = mode == CG_MRC_INT8 ? 127 : mode == CG_MRC_INT16 ? 32767 : 65535;
    if (r < lo || r > hi) return NAN;
    if (mode == CG_MRC_INT8) dst[0] = (unsigned char)(int8_t)r;
    else cg__st16(dst, (uint16_t)(int32_t)r);
    return r;
}

/* Encode one image into w->buf and merge its statistics. */
static cg_status encode_image(cg_mrc_writer *w, const float *img) {
    size_t n = (size_t)w->nx * w->ny;
    double sum = 0, vmin = INFINITY, vmax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = encode(w->mode, img[i], w->buf + i * w->bytes);
        if (isnan(v))
            return cg_error(CG_ERR_RANGE, "%s: value %g at image %lld, pixel (%zu, %zu) cannot be stored in mode %d (%s)",
                            w->out.path, (double)img[i], (long long)w->count + 1, i % w->nx, i / w->nx, w->mode,
                            cg_mrc_mode_name(w->mode));
        sum += v;
        vmin = v < vmin ? v : vmin;
        vmax = v > vmax ? v : vmax;
    }
    double mean = sum / (double)n, m2 = 0;
    for (size_t i = 0; i < n; i++) {
        double v = w->mode == CG_MRC_FLOAT32 ? img[i] : encode(w->mode, img[i], w->buf + i * w->bytes);
        m2 += (v - mean) * (v - mean);
    }
    /* Chan et al. merge of (count_a, mean_a, M2_a) with (n, mean, m2) */
    double na = (double)w->count * (double)n, nb = (double)n, delta = mean - w->mean;
    w->mean += delta * nb / (na + nb);
    w->m2 += m2 + delta * delta * na * nb / (na + nb);
    if (w->count == 0) w->vmin = vmin, w->vmax = vmax;
    w->vmin = vmin < w->vmin ? vmin : w->vmin;
    w->vmax = vmax > w->vmax ? vmax : w->vmax;
    return CG_OK;
}

cg_status cg_mrc_writer_append(cg_mrc_writer *w, const float *images, int64_t count) {
    size_t n = (size_t)w->nx * w->ny, need = n * (size_t)w->bytes;
    if (count < 0) return cg_error(CG_ERR_ARG, "%s: negative image count %lld", w->out.path, (long long)count);
    if (w->bufcap < need) {
        unsigned char *nb = realloc(w->buf, need);
        if (!nb) return cg_error(CG_ERR_NOMEM, "%s: out of memory for a %zu-byte image buffer", w->out.path, need);
        w->buf = nb, w->bufcap = need;
    }
    for (int64_t k = 0; k < count; k++) {
        if (w->count >= (1 << 30)) return cg_error(CG_ERR_RANGE, "%s: more than 2^30 images in one stack", w->out.path);
        cg_status s = encode_image(w, images + (size_t)k * n);
        if (s != CG_OK) return s;
        if (fwrite(w->buf, 1, need, w->out.fp) != need)
            return cg_error(CG_ERR_IO, "%s: write failed: %s", w->out.tmp_path, strerror(errno));
        w->count++;
    }
    return CG_OK;
}

cg_status cg_mrc_writer_commit(cg_mrc_writer *w) {
    unsigned char hdr[1024];
    build_header(w, hdr);
    cg_status s = CG_OK;
    if (fseek(w->out.fp, 0, SEEK_SET) != 0 || fwrite(hdr, 1, sizeof hdr, w->out.fp) != sizeof hdr)
        s = cg_error(CG_ERR_IO, "%s: cannot write the header: %s", w->out.tmp_path, strerror(errno));
    if (s == CG_OK) s = cg_outfile_commit(&w->out); /* aborts (removes the temporary) on error */
    if (s != CG_OK) cg_outfile_abort(&w->out);
    free(w->buf);
    free(w);
    return s;
}

void cg_mrc_writer_abort(cg_mrc_writer *w) {
    if (!w) return;
    cg_outfile_abort(&w->out);
    free(w->buf);
    free(w);
}

cg_status cg_mrc_write_mode(const char *path, const float *data, int nx, int ny, int nz, float pixel_size_A,
                            int is_stack, const char *label, int mode) {
    if (nz < 1) return cg_error(CG_ERR_ARG, "%s: nothing to write (nz = %d)", path, nz);
    cg_mrc_writer *w;
    cg_status s = open_writer(&w, path, nx, ny, pixel_size_A, label, mode, !is_stack);
    if (s != CG_OK) return s;
    s = cg_mrc_writer_append(w, data, nz);
    if (s != CG_OK) {
        cg_mrc_writer_abort(w);
        return s;
    }
    return cg_mrc_writer_commit(w);
}

cg_status cg_mrc_write(const char *path, const float *data, int nx, int ny, int nz, float pixel_size_A, int is_stack,
                       const char *label) {
    return cg_mrc_write_mode(path, data, nx, ny, nz, pixel_size_A, is_stack, label, CG_MRC_FLOAT32);
}
