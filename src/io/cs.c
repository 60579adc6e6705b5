/* cryoSPARC .cs / NumPy .npy reader (see include/cryogen/cs.h).
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE for v1, uint32 LE for v2/v3),
 * then a Python dict literal {'descr': ..., 'fortran_order': False, 'shape': (N,)} padded with
 * blanks, then N packed records. The header is parsed by a small recursive-descent reader of
 * Python literals (strings, numbers, identifiers, tuples, lists, dicts), bounded in depth and
 * size so that hostile input fails cleanly. Every size is overflow-checked and compared with
 * the file size before use. Fields are laid out one after another in descr order (numpy lists
 * alignment padding explicitly as '' / '|V<n>' fields).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cryogen/cs.h"
#include "io/mrc_internal.h"

enum { CS_MAX_FIELDS = 4096, CS_MAX_DEPTH = 16 };

struct cg_cs {
    char *name;
    int version;
    int nfields;
    cg_cs_field *fields;
    int64_t nrows, record_bytes;
    const unsigned char *data; /* first record */
    void *map;
    size_t map_len;
    unsigned char *owned;
};

/* ---------------------------------------------------------------- header literal -------- */
typedef struct {
    const char *s, *end;
    const char *name;
    int depth;
} lit;

static void skip_ws(lit *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static cg_status lerr(const lit *p, const char *what) {
    int n = p->s < p->end ? (int)(p->end - p->s < 20 ? p->end - p->s : 20) : 5;
    return cg_error(CG_ERR_FORMAT, "%s: npy header: %s near '%.*s'", p->name, what, n, p->s < p->end ? p->s : "(end)");
}

static int accept(lit *p, char c) {
    skip_ws(p);
    if (p->s < p->end && *p->s == c) {
        p->s++;
        return 1;
    }
    return 0;
}

/* A quoted string into buf (escapes kept simple: \x is x). */
static cg_status parse_str(lit *p, char *buf, size_t size) {
    skip_ws(p);
    if (p->s >= p->end || (*p->s != '\'' && *p->s != '"')) return lerr(p, "expected a string");
    char q = *p->s++;
    size_t n = 0;
    while (p->s < p->end && *p->s != q) {
        if (*p->s == '\\' && p->s + 1 < p->end) p->s++;
        if (n + 1 >= size) return lerr(p, "string too long");
        buf[n++] = *p->s++;
    }
    if (p->s >= p->end) return lerr(p, "unterminated string");
    p->s++;
    buf[n] = '\0';
    return CG_OK;
}

static cg_status parse_int(lit *p, int64_t *v) {
    skip_ws(p);
    const char *start = p->s;
    int64_t x = 0;
    while (p->s < p->end && *p->s >= '0' && *p->s <= '9') {
        if (x > (INT64_MAX - 9) / 10) return lerr(p, "integer too large");
        x = 10 * x + (*p->s++ - '0');
    }
    if (p->s == start) return lerr(p, "expected a non-negative integer");
    if (p->s < p->end && *p->s == 'L') p->s++; /* Python 2 long */
    *v = x;
    return CG_OK;
}

/* Skip any literal (for keys we do not use). */
static cg_status skip_value(lit *p) {
    skip_ws(p);
    if (p->s >= p->end) return lerr(p, "unexpected end");
    if (++p->depth > CS_MAX_DEPTH) return lerr(p, "nesting too deep");
    char c = *p->s;
    cg_status st = CG_OK;
    if (c == '\'' || c == '"') {
        char tmp[4096];
        st = parse_str(p, tmp, sizeof tmp);
    } else if (c == '(' || c == '[' || c == '{') {
        char close = c == '(' ? ')' : c == '[' ? ']' : '}';
        p->s++;
        while (st == CG_OK && !accept(p, close)) {
            st = skip_value(p);
            if (st == CG_OK && c == '{' && !accept(p, ':')) st = lerr(p, "expected ':'");
            if (st == CG_OK && c == '{') st = skip_value(p);
            if (st == CG_OK && !accept(p, ',') && (skip_ws(p), p->s >= p->end || *p->s != close))
                st = lerr(p, "expected ',' or a closing bracket");
        }
    } else {
        const char *start = p->s;
        while (p->s < p->end && (isalnum((unsigned char)*p->s) || *p->s == '-' || *p->s == '.' || *p->s == '+')) p->s++;
        if (p->s == start) st = lerr(p, "unexpected character");
    }
    p->depth--;
    return st;
}

/* (d0, d1, ...) into shape; returns the number of dims. */
static cg_status parse_shape(lit *p, int64_t *shape, int max, int *ndim) {
    *ndim = 0;
    if (!accept(p, '(')) return lerr(p, "expected a shape tuple");
    while (!accept(p, ')')) {
        if (*ndim >= max) return lerr(p, "too many dimensions");
        cg_status st = parse_int(p, &shape[(*ndim)++]);
        if (st != CG_OK) return st;
        if (!accept(p, ',') && (skip_ws(p), p->s >= p->end || *p->s != ')')) return lerr(p, "expected ',' or ')'");
    }
    return CG_OK;
}

static cg_status parse_dtype(const lit *p, const char *d, cg_cs_field *f) {
    snprintf(f->dtype, sizeof f->dtype, "%s", d);
    const char *s = d;
    f->big_endian = *s == '>';
    if (*s == '<' || *s == '>' || *s == '|' || *s == '=') s++;
    char kind = *s++;
    char *end;
    long n = strtol(s, &end, 10);
    if (end == s || *end || n <= 0 || n > (1 << 20)) {
        if (kind == 'O') n = 8;
        else return cg_error(CG_ERR_UNSUPPORTED, "%s: field '%s' has dtype '%s', which cryogen does not read", p->name, f->name, d);
    }
    f->item_bytes = (int)n;
    switch (kind) {
    case 'b': f->kind = CG_NPY_BOOL; break;
    case 'i': f->kind = CG_NPY_INT; break;
    case 'u': f->kind = CG_NPY_UINT; break;
    case 'f': f->kind = CG_NPY_FLOAT; break;
    case 'S': case 'a': f->kind = CG_NPY_BYTES; break;
    case 'U': f->kind = CG_NPY_UNICODE, f->item_bytes = (int)n * 4; break;
    case 'V': f->kind = CG_NPY_VOID; break;
    case 'O':
        return cg_error(CG_ERR_UNSUPPORTED,
                        "%s: field '%s' holds Python objects (dtype '%s'); such files are pickles, not raw records; "
                        "re-save it with fixed-size strings", p->name, f->name, d);
    default: return cg_error(CG_ERR_UNSUPPORTED, "%s: field '%s' has dtype '%s', which cryogen does not read", p->name, f->name, d);
    }
    int numeric_ok = (f->kind == CG_NPY_BOOL && n == 1) || ((f->kind == CG_NPY_INT || f->kind == CG_NPY_UINT) &&
                      (n == 1 || n == 2 || n == 4 || n == 8)) || (f->kind == CG_NPY_FLOAT && (n == 2 || n == 4 || n == 8));
    if (f->kind <= CG_NPY_FLOAT && !numeric_ok)
        return cg_error(CG_ERR_UNSUPPORTED, "%s: field '%s' has dtype '%s', which cryogen does not read", p->name, f->name, d);
    return CG_OK;
}

/* One ('name', 'dtype'[, shape]) tuple. */
static cg_status parse_field(lit *p, cg_cs_field *f) {
    memset(f, 0, sizeof *f);
    if (!accept(p, '(')) return lerr(p, "expected a field tuple");
    cg_status st;
    skip_ws(p);
    if (p->s < p->end && *p->s == '(') { /* (title, name) */
        p->s++;
        char title[128];
        if ((st = parse_str(p, title, sizeof title)) != CG_OK) return st;
        if (!accept(p, ',')) return lerr(p, "expected ','");
        if ((st = parse_str(p, f->name, sizeof f->name)) != CG_OK) return st;
        if (!accept(p, ')')) return lerr(p, "expected ')'");
    } else if ((st = parse_str(p, f->name, sizeof f->name)) != CG_OK) {
        return st;
    }
    if (!accept(p, ',')) return lerr(p, "expected ','");
    skip_ws(p);
    if (p->s < p->end && *p->s == '[')
        return cg_error(CG_ERR_UNSUPPORTED, "%s: field '%s' is a nested structure, which cryogen does not read", p->name, f->name);
    char dt[64];
    if ((st = parse_str(p, dt, sizeof dt)) != CG_OK) return st;
    if ((st = parse_dtype(p, dt, f)) != CG_OK) return st;
    f->count = 1;
    if (accept(p, ',')) {
        skip_ws(p);
        if (p->s < p->end && *p->s == '(') {
            int64_t shape[4];
            if ((st = parse_shape(p, shape, 4, &f->ndim)) != CG_OK) return st;
            for (int i = 0; i < f->ndim; i++) {
                if (shape[i] > (1 << 24) || __builtin_mul_overflow(f->count, shape[i], &f->count))
                    return lerr(p, "field shape too large");
                f->shape[i] = (int)shape[i];
            }
        }
    }
    if (!accept(p, ')')) return lerr(p, "expected ')' after a field");
    return CG_OK;
}

static cg_status parse_descr(lit *p, cg_cs *cs) {
    skip_ws(p);
    if (p->s < p->end && (*p->s == '\'' || *p->s == '"')) { /* plain array: one unnamed field */
        char dt[64];
        cs->fields = cg_calloc(1, sizeof *cs->fields, "npy fields");
        if (!cs->fields) return CG_ERR_NOMEM;
        cs->nfields = 1;
        cg_status st = parse_str(p, dt, sizeof dt);
        if (st == CG_OK) st = parse_dtype(p, dt, &cs->fields[0]);
        cs->fields[0].count = 1;
        return st;
    }
    if (!accept(p, '[')) return lerr(p, "expected a dtype string or a list of fields");
    int cap = 0;
    while (!accept(p, ']')) {
        if (cs->nfields >= CS_MAX_FIELDS) return lerr(p, "too many fields");
        if (cs->nfields == cap) {
            cap = cap ? 2 * cap : 32;
            cg_cs_field *nf = realloc(cs->fields, (size_t)cap * sizeof *nf);
            if (!nf) return cg_error(CG_ERR_NOMEM, "out of memory for npy fields");
            cs->fields = nf;
        }
        cg_status st = parse_field(p, &cs->fields[cs->nfields++]);
        if (st != CG_OK) return st;
        if (!accept(p, ',') && (skip_ws(p), p->s >= p->end || *p->s != ']')) return lerr(p, "expected ',' or ']'");
    }
    return CG_OK;
}

static cg_status parse_header_dict(lit *p, cg_cs *cs) {
    int have_descr = 0, have_shape = 0;
    if (!accept(p, '{')) return lerr(p, "expected '{'");
    while (!accept(p, '}')) {
        char key[64];
        cg_status st = parse_str(p, key, sizeof key);
        if (st == CG_OK && !accept(p, ':')) st = lerr(p, "expected ':'");
        if (st != CG_OK) return st;
        if (!strcmp(key, "descr")) {
            if (have_descr++) return lerr(p, "descr given twice");
            st = parse_descr(p, cs);
        } else if (!strcmp(key, "shape")) {
            int64_t shape[8];
            int ndim;
            have_shape = 1;
            st = parse_shape(p, shape, 8, &ndim);
            if (st == CG_OK && ndim > 1)
                return cg_error(CG_ERR_UNSUPPORTED, "%s: a %d-dimensional array; .cs files are one-dimensional", p->name, ndim);
            cs->nrows = ndim == 0 ? 1 : shape[0];
        } else {
            st = skip_value(p); /* fortran_order is irrelevant for one dimension */
        }
        if (st != CG_OK) return st;
        if (!accept(p, ',') && (skip_ws(p), p->s >= p->end || *p->s != '}')) return lerr(p, "expected ',' or '}'");
    }
    if (!have_descr || !have_shape) return lerr(p, "the header lacks 'descr' or 'shape'");
    return CG_OK;
}

/* ---------------------------------------------------------------- file ------------------ */
static cg_status layout(cg_cs *cs, size_t len, size_t data_off) {
    int64_t rec = 0;
    for (int i = 0; i < cs->nfields; i++) {
        cg_cs_field *f = &cs->fields[i];
        int64_t bytes;
        f->offset = rec;
        if (__builtin_mul_overflow(f->count, (int64_t)f->item_bytes, &bytes) || __builtin_add_overflow(rec, bytes, &rec))
            return cg_error(CG_ERR_FORMAT, "%s: record size overflows", cs->name);
    }
    cs->record_bytes = rec;
    if (rec == 0 && cs->nrows > 0)
        return cg_error(CG_ERR_FORMAT, "%s: %lld records of zero bytes (no fields or only empty ones)", cs->name,
                        (long long)cs->nrows);
    int64_t total;
    if (__builtin_mul_overflow(rec, cs->nrows, &total))
        return cg_error(CG_ERR_FORMAT, "%s: %lld records of %lld bytes overflow", cs->name, (long long)cs->nrows, (long long)rec);
    if ((uint64_t)total > len - data_off)
        return cg_error(CG_ERR_FORMAT,
                        "%s: the header declares %lld records of %lld bytes (%lld bytes) but the file holds %zu bytes "
                        "after the %zu-byte header; the file is truncated",
                        cs->name, (long long)cs->nrows, (long long)rec, (long long)total, len - data_off, data_off);
    return CG_OK;
}

static cg_status parse(cg_cs *cs, const unsigned char *b, size_t len) {
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return cg_error(CG_ERR_FORMAT, "%s: not a NumPy .npy/.cs file (the magic \\x93NUMPY is missing)", cs->name);
    cs->version = b[6];
    size_t hlen, hstart;
    if (cs->version == 1) hlen = (size_t)b[8] | (size_t)b[9] << 8, hstart = 10;
    else if (cs->version == 2 || cs->version == 3) {
        if (len < 12) return cg_error(CG_ERR_FORMAT, "%s: truncated npy header", cs->name);
        hlen = cg__ld32(b + 8, 0), hstart = 12;
    } else {
        return cg_error(CG_ERR_UNSUPPORTED, "%s: npy format version %d is not supported (1, 2, 3 are)", cs->name, cs->version);
    }
    if (hlen > len - hstart)
        return cg_error(CG_ERR_FORMAT, "%s: npy header of %zu bytes runs past the end of the %zu-byte file", cs->name, hlen, len);
    lit p = {(const char *)b + hstart, (const char *)b + hstart + hlen, cs->name, 0};
    cg_status st = parse_header_dict(&p, cs);
    if (st == CG_OK) st = layout(cs, len, hstart + hlen);
    if (st == CG_OK) cs->data = b + hstart + hlen;
    return st;
}

static cg_cs *cs_new(const char *name) {
    cg_cs *cs = cg_calloc(1, sizeof *cs, "cs file");
    if (!cs) return NULL;
    cs->name = cg_malloc(strlen(name) + 1, 1, "name");
    if (!cs->name) {
        free(cs);
        return NULL;
    }
    strcpy(cs->name, name);
    return cs;
}

cg_status cg_cs_parse_memory(const void *buf, size_t len, const char *name, cg_cs **out) {
    *out = NULL;
    cg_cs *cs = cs_new(name ? name : "(memory)");
    if (!cs) return CG_ERR_NOMEM;
    cs->owned = cg_malloc(len ? len : 1, 1, "cs file");
    if (!cs->owned) {
        cg_cs_free(cs);
        return CG_ERR_NOMEM;
    }
    if (len) memcpy(cs->owned, buf, len);
    cg_status st = parse(cs, cs->owned, len);
    if (st != CG_OK) {
        cg_cs_free(cs);
        return st;
    }
    *out = cs;
    return CG_OK;
}

cg_status cg_cs_read(const char *path, cg_cs **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return cg_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 10) {
        close(fd);
        return cg_error(CG_ERR_FORMAT, "%s: not a NumPy .npy/.cs file (too small or not a regular file)", path);
    }
    cg_cs *cs = cs_new(path);
    void *m = cs ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (!cs) return CG_ERR_NOMEM;
    if (m == MAP_FAILED) {
        cg_cs_free(cs);
        return cg_error(CG_ERR_IO, "%s: cannot map the file: %s", path, strerror(errno));
    }
    cs->map = m, cs->map_len = (size_t)sb.st_size;
    cg_status st = parse(cs, m, cs->map_len);
    if (st != CG_OK) {
        cg_cs_free(cs);
        return st;
    }
    *out = cs;
    return CG_OK;
}

void cg_cs_free(cg_cs *cs) {
    if (!cs) return;
    if (cs->map) munmap(cs->map, cs->map_len);
    free(cs->owned);
    free(cs->fields);
    free(cs->name);
    free(cs);
}

const char *cg_cs_name(const cg_cs *cs) { return cs->name; }
int64_t cg_cs_nrows(const cg_cs *cs) { return cs->nrows; }
int64_t cg_cs_record_bytes(const cg_cs *cs) { return cs->record_bytes; }
int cg_cs_version(const cg_cs *cs) { return cs->version; }
int cg_cs_nfields(const cg_cs *cs) { return cs->nfields; }
const cg_cs_field *cg_cs_field_at(const cg_cs *cs, int i) { return i >= 0 && i < cs->nfields ? &cs->fields[i] : NULL; }
int cg_cs_find_field(const cg_cs *cs, const char *name) {
    for (int i = 0; i < cs->nfields; i++)
        if (!strcmp(cs->fields[i].name, name)) return i;
    return -1;
}

static double load_number(const cg_cs_field *f, const unsigned char *p) {
    int big = f->big_endian;
    switch (f->kind) {
    case CG_NPY_BOOL: return p[0] != 0;
    case CG_NPY_INT:
        switch (f->item_bytes) {
        case 1: return (int8_t)p[0];
        case 2: return (int16_t)cg__ld16(p, big);
        case 4: return (int32_t)cg__ld32(p, big);
        default: return (double)(int64_t)((uint64_t)cg__ld32(p + (big ? 0 : 4), big) << 32 | cg__ld32(p + (big ? 4 : 0), big));
        }
    case CG_NPY_UINT:
        switch (f->item_bytes) {
        case 1: return p[0];
        case 2: return cg__ld16(p, big);
        case 4: return cg__ld32(p, big);
        default: return (double)((uint64_t)cg__ld32(p + (big ? 0 : 4), big) << 32 | cg__ld32(p + (big ? 4 : 0), big));
        }
    default:
        if (f->item_bytes == 2) return cg__half_to_float(cg__ld16(p, big));
        if (f->item_bytes == 4) return cg__ldf32(p, big);
        uint64_t u = (uint64_t)cg__ld32(p + (big ? 0 : 4), big) << 32 | cg__ld32(p + (big ? 4 : 0), big);
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
}

static const cg_cs_field *need_field(const cg_cs *cs, const char *name) {
    int i = cg_cs_find_field(cs, name);
    if (i < 0) {
        cg_error(CG_ERR_FORMAT, "%s: no field '%s'", cs->name, name);
        return NULL;
    }
    return &cs->fields[i];
}

cg_status cg_cs_get_double(const cg_cs *cs, const char *name, double **out, int64_t *count_per_row) {
    *out = NULL;
    const cg_cs_field *f = need_field(cs, name);
    if (!f) return CG_ERR_FORMAT;
    if (f->kind > CG_NPY_FLOAT)
        return cg_error(CG_ERR_FORMAT, "%s: field '%s' has dtype '%s', not a number", cs->name, name, f->dtype);
    size_t n = (size_t)cs->nrows * (size_t)f->count;
    double *v = cg_malloc(n ? n : 1, sizeof(double), "cs field");
    if (!v) return CG_ERR_NOMEM;
    for (int64_t r = 0; r < cs->nrows; r++) {
        const unsigned char *rec = cs->data + r * cs->record_bytes + f->offset;
        for (int64_t k = 0; k < f->count; k++) v[r * f->count + k] = load_number(f, rec + k * f->item_bytes);
    }
    *out = v;
    if (count_per_row) *count_per_row = f->count;
    return CG_OK;
}

cg_status cg_cs_get_string(const cg_cs *cs, const char *name, int64_t row, char *buf, size_t size) {
    const cg_cs_field *f = need_field(cs, name);
    if (!f) return CG_ERR_FORMAT;
    if (f->kind != CG_NPY_BYTES)
        return cg_error(CG_ERR_FORMAT, "%s: field '%s' has dtype '%s', not a byte string", cs->name, name, f->dtype);
    if (row < 0 || row >= cs->nrows)
        return cg_error(CG_ERR_RANGE, "%s: row %lld of %lld", cs->name, (long long)row + 1, (long long)cs->nrows);
    const char *src = (const char *)cs->data + row * cs->record_bytes + f->offset;
    size_t n = 0;
    while (n < (size_t)f->item_bytes && src[n] && n + 1 < size) buf[n] = src[n], n++;
    buf[n] = '\0';
    return CG_OK;
}
