/* Versioned binary checkpoints of a parameter store (format in nn.h). Writing goes through
 * cg_outfile (temporary name, then rename), so a crash never leaves a partial checkpoint
 * under the final name. Loading reads the whole file, then validates magic, version, the
 * tensor table against the model (names, order, shapes), the config blob, the size and an
 * FNV-1a hash, and reports the first mismatch by name. Little-endian hosts only (checked at
 * compile time); the file is little-endian. */
#include <stdlib.h>
#include <string.h>

#include "cryogen/nn.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nn checkpoints are written little-endian; this host is big-endian"
#endif

static const char MAGIC[8] = {'C', 'G', 'N', 'N', 'C', 'K', 'P', 0};

typedef struct {
    FILE *fp;
    uint64_t hash;
    int failed;
} writer;

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static void put(writer *w, const void *data, size_t n) {
    if (w->failed || n == 0) return;
    w->hash = fnv1a(w->hash, data, n);
    if (fwrite(data, 1, n, w->fp) != n) w->failed = 1;
}
static void put_u32(writer *w, uint32_t x) { put(w, &x, 4); }
static void put_i64(writer *w, int64_t x) { put(w, &x, 8); }

/* Every tensor's values from one flat buffer, in table order, without padding. */
static void put_buffer(writer *w, const cg_nn_params *p, const float *buf) {
    for (int i = 0; i < p->n_tensors; i++) put(w, buf + p->tensors[i].offset, p->tensors[i].count * sizeof(float));
}

cg_status cg_nn_checkpoint_save(const char *path, const cg_nn_params *p, int flags, const void *config,
                                uint32_t config_bytes) {
    if (!p->param) return cg_error(CG_ERR_ARG, "%s: parameter store not allocated", path);
    if ((flags & CG_NN_CKPT_WITH_EMA) && !p->ema)
        return cg_error(CG_ERR_ARG, "%s: EMA requested but not enabled in the model", path);
    cg_outfile o;
    cg_status s = cg_outfile_open(&o, path);
    if (s != CG_OK) return s;
    writer w = {o.fp, 0xcbf29ce484222325ull, 0};
    put(&w, MAGIC, 8);
    put_u32(&w, CG_NN_CKPT_VERSION);
    put_u32(&w, (uint32_t)flags);
    put_i64(&w, p->step);
    put_u32(&w, (uint32_t)p->n_tensors);
    put_u32(&w, config_bytes);
    for (int i = 0; i < p->n_tensors; i++) {
        const cg_nn_tensor *t = &p->tensors[i];
        uint32_t len = (uint32_t)strlen(t->name);
        put_u32(&w, len);
        put(&w, t->name, len);
        put_u32(&w, (uint32_t)t->ndim);
        for (int d = 0; d < t->ndim; d++) put_i64(&w, t->shape[d]);
    }
    put(&w, config, config_bytes);
    put_buffer(&w, p, p->param);
    if (flags & CG_NN_CKPT_WITH_OPTIM) put_buffer(&w, p, p->m), put_buffer(&w, p, p->v);
    if (flags & CG_NN_CKPT_WITH_EMA) put_buffer(&w, p, p->ema);
    uint64_t h = w.hash;
    put(&w, &h, 8);
    if (w.failed) {
        cg_outfile_abort(&o);
        return cg_error(CG_ERR_IO, "%s: write failed (disk full?)", path);
    }
    return cg_outfile_commit(&o);
}

/* ---------------------------------------------------------------- reading --------------- */
typedef struct {
    const unsigned char *b;
    size_t n, pos;
    const char *path;
} reader;

static int get(reader *r, void *dst, size_t n) {
    if (r->n - r->pos < n) return 0;
    memcpy(dst, r->b + r->pos, n);
    r->pos += n;
    return 1;
}

static cg_status truncated(const reader *r, const char *what) {
    return cg_error(CG_ERR_FORMAT, "%s: truncated checkpoint (file ends in the %s at byte %zu of %zu)", r->path,
                    what, r->pos, r->n);
}

static cg_status read_file(const char *path, unsigned char **buf, size_t *n) {
    int64_t size = cg_file_size(path);
    if (size < 0) return CG_ERR_IO;
    FILE *f = fopen(path, "rb");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open checkpoint", path);
    *buf = cg_malloc((size_t)size, 1, path);
    if (!*buf) return fclose(f), CG_ERR_NOMEM;
    size_t got = fread(*buf, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        free(*buf);
        return cg_error(CG_ERR_IO, "%s: read %zu of %lld bytes", path, got, (long long)size);
    }
    *n = (size_t)size;
    return CG_OK;
}

typedef struct {
    uint32_t version, flags, n_tensors, config_bytes;
    int64_t step;
} header;

static cg_status read_header(reader *r, header *h) {
    char magic[8];
    if (!get(r, magic, 8)) return truncated(r, "magic");
    if (memcmp(magic, MAGIC, 8))
        return cg_error(CG_ERR_FORMAT, "%s: not a cryogen nn checkpoint (wrong magic bytes)", r->path);
    if (!get(r, &h->version, 4)) return truncated(r, "header");
    if (h->version != CG_NN_CKPT_VERSION)
        return cg_error(CG_ERR_FORMAT, "%s: checkpoint version %u, this build reads version %u", r->path,
                        h->version, CG_NN_CKPT_VERSION);
    if (!get(r, &h->flags, 4) || !get(r, &h->step, 8) || !get(r, &h->n_tensors, 4) || !get(r, &h->config_bytes, 4))
        return truncated(r, "header");
    if (h->flags & ~3u) return cg_error(CG_ERR_FORMAT, "%s: unknown flags 0x%x", r->path, h->flags);
    return CG_OK;
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && k < cap; d++) k += (size_t)snprintf(buf + k, cap - k, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* Compare table entry i of the file with the model's. */
static cg_status check_tensor(reader *r, const cg_nn_params *p, int i) {
    uint32_t len, ndim;
    char name[CG_NN_NAME_MAX];
    int64_t shape[CG_NN_MAX_DIM];
    if (!get(r, &len, 4)) return truncated(r, "tensor table");
    if (len == 0 || len >= CG_NN_NAME_MAX) return cg_error(CG_ERR_FORMAT, "%s: tensor %d has a bad name length %u", r->path, i, len);
    if (!get(r, name, len)) return truncated(r, "tensor table");
    name[len] = 0;
    if (!get(r, &ndim, 4)) return truncated(r, "tensor table");
    if (ndim < 1 || ndim > CG_NN_MAX_DIM) return cg_error(CG_ERR_FORMAT, "%s: tensor '%s' has %u dimensions", r->path, name, ndim);
    for (uint32_t d = 0; d < ndim; d++)
        if (!get(r, &shape[d], 8)) return truncated(r, "tensor table");
    const cg_nn_tensor *t = &p->tensors[i];
    if (strcmp(name, t->name))
        return cg_error(CG_ERR_FORMAT, "%s: tensor %d is '%s' in the checkpoint but '%s' in the model", r->path, i,
                        name, t->name);
    int same = (int)ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = shape[d] == t->shape[d];
    if (!same) {
        char a[160], b[160];
        shape_str(a, sizeof a, (int)ndim, shape), shape_str(b, sizeof b, t->ndim, t->shape);
        return cg_error(CG_ERR_FORMAT, "%s: tensor '%s' has shape %s in the checkpoint but %s in the model", r->path,
                        name, a, b);
    }
    return CG_OK;
}

static size_t data_floats(const cg_nn_params *p) {
    size_t n = 0;
    for (int i = 0; i < p->n_tensors; i++) n += p->tensors[i].count;
    return n;
}

static void get_buffer(reader *r, const cg_nn_params *p, float *buf) {
    for (int i = 0; i < p->n_tensors; i++) get(r, buf + p->tensors[i].offset, p->tensors[i].count * sizeof(float));
}

/* The header's flags (optional) and the config blob of a checkpoint file. */
static cg_status read_head(const char *path, void *config, size_t cap, uint32_t *config_bytes, uint32_t *flags) {
    unsigned char *buf = NULL;
    size_t n = 0;
    cg_status s = read_file(path, &buf, &n);
    if (s != CG_OK) return s;
    reader r = {buf, n, 0, path};
    header h = {0};
    if ((s = read_header(&r, &h)) != CG_OK) goto done;
    if (flags) *flags = h.flags;
    for (uint32_t i = 0; i < h.n_tensors; i++) { /* skip the table */
        uint32_t len, ndim;
        if (!get(&r, &len, 4) || r.n - r.pos < len) { s = truncated(&r, "tensor table"); goto done; }
        r.pos += len;
        if (!get(&r, &ndim, 4) || ndim > CG_NN_MAX_DIM || r.n - r.pos < 8 * (size_t)ndim) { s = truncated(&r, "tensor table"); goto done; }
        r.pos += 8 * (size_t)ndim;
    }
    if (r.n - r.pos < h.config_bytes) { s = truncated(&r, "config blob"); goto done; }
    *config_bytes = h.config_bytes;
    if (config) memcpy(config, r.b + r.pos, h.config_bytes < cap ? h.config_bytes : cap);
done:
    free(buf);
    return s;
}

cg_status cg_nn_checkpoint_read_config(const char *path, void *config, size_t cap, uint32_t *config_bytes) {
    return read_head(path, config, cap, config_bytes, NULL);
}

cg_status cg_nn_checkpoint_read_flags(const char *path, uint32_t *flags) {
    uint32_t nb;
    return read_head(path, NULL, 0, &nb, flags);
}

static cg_status load_parsed(reader *r, cg_nn_params *p, const void *expect_config, uint32_t expect_bytes) {
    header h = {0};
    cg_status s = read_header(r, &h);
    if (s != CG_OK) return s;
    if ((int)h.n_tensors != p->n_tensors)
        return cg_error(CG_ERR_FORMAT, "%s: checkpoint holds %u tensors, the model has %d", r->path, h.n_tensors,
                        p->n_tensors);
    for (int i = 0; i < p->n_tensors; i++)
        if ((s = check_tensor(r, p, i)) != CG_OK) return s;
    if (r->n - r->pos < h.config_bytes) return truncated(r, "config blob");
    if (expect_config && (h.config_bytes != expect_bytes || memcmp(r->b + r->pos, expect_config, expect_bytes)))
        return cg_error(CG_ERR_FORMAT, "%s: model configuration differs from the checkpoint's (%u vs %u bytes)",
                        r->path, h.config_bytes, expect_bytes);
    r->pos += h.config_bytes;
    size_t nbuf = 1 + ((h.flags & CG_NN_CKPT_WITH_OPTIM) ? 2 : 0) + ((h.flags & CG_NN_CKPT_WITH_EMA) ? 1 : 0);
    size_t need = nbuf * data_floats(p) * sizeof(float) + 8;
    if (r->n - r->pos < need) return truncated(r, "tensor data");
    if (r->n - r->pos > need)
        return cg_error(CG_ERR_FORMAT, "%s: %zu unexpected bytes after the data", r->path, r->n - r->pos - need);
    uint64_t want = fnv1a(0xcbf29ce484222325ull, r->b, r->n - 8), got;
    memcpy(&got, r->b + r->n - 8, 8);
    if (want != got) return cg_error(CG_ERR_FORMAT, "%s: checksum mismatch (file corrupted)", r->path);
    get_buffer(r, p, p->param);
    if (h.flags & CG_NN_CKPT_WITH_OPTIM) get_buffer(r, p, p->m), get_buffer(r, p, p->v);
    if (h.flags & CG_NN_CKPT_WITH_EMA) {
        if (p->ema) get_buffer(r, p, p->ema);
        else r->pos += data_floats(p) * sizeof(float);
    } else if (p->ema) { /* an EMA the file does not hold starts at the loaded weights */
        memcpy(p->ema, p->param, p->count * sizeof(float));
    }
    p->step = h.step;
    return CG_OK;
}

cg_status cg_nn_checkpoint_load(const char *path, cg_nn_params *p, const void *expect_config,
                                uint32_t expect_config_bytes) {
    if (!p->param) return cg_error(CG_ERR_ARG, "%s: parameter store not allocated", path);
    unsigned char *buf = NULL;
    size_t n = 0;
    cg_status s = read_file(path, &buf, &n);
    if (s != CG_OK) return s;
    reader r = {buf, n, 0, path};
    s = load_parsed(&r, p, expect_config, expect_config_bytes);
    free(buf);
    return s;
}
