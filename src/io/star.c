/* STAR table model: blocks, labels and cells kept as text (so unknown labels and the exact
 * spelling of every value survive a round trip), typed accessors, and the atomic writer.
 * The parser is in star_parse.c; the layout (one string pool, uint32 offsets) in star_internal.h.
 *
 * Writing: "# <comment>", then per block "# version N" (the version read, else 30001), "data_NAME",
 * and either "loop_" + "_label #i" lines + rows with right-aligned columns, or "_label value"
 * pairs. Values that are empty, contain blanks or begin with _ # ' " $ [ ; or data_/loop_ are
 * quoted with " or ' (CIF rule: a quote closes only when followed by a blank); a value that
 * cannot be quoted (a newline, or both quote kinds followed by blanks) is an error.
 * Comments other than "# version" lines are not kept.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/star_internal.h"

static char *dup_n(const char *s, size_t n) {
    char *d = cg_malloc(n + 1, 1, "STAR text");
    if (d) memcpy(d, s, n), d[n] = '\0';
    return d;
}

cg_star *cg_star_new(void) {
    cg_star *s = cg_calloc(1, sizeof *s, "STAR file");
    if (!s) return NULL;
    s->pool = cg_malloc(4096, 1, "STAR string pool");
    if (!s->pool) {
        free(s);
        return NULL;
    }
    s->pool[0] = '\0';
    s->pool_len = 1, s->pool_cap = 4096;
    return s;
}

static void block_free(cg_star_block *b) {
    if (!b) return;
    for (int i = 0; i < b->ncols; i++) free(b->labels[i]);
    free(b->labels);
    free(b->cells);
    free(b->row_line);
    free(b->name);
    free(b);
}

void cg_star_free(cg_star *s) {
    if (!s) return;
    for (int i = 0; i < s->nblocks; i++) block_free(s->blocks[i]);
    free(s->blocks);
    free(s->pool);
    free(s->name);
    free(s);
}

const char *cg_star_path(const cg_star *s) { return s->from_file ? s->name : NULL; }

uint32_t cg__star_intern(cg_star *s, const char *str, size_t n) {
    if (n == 0) return 0;
    if (s->pool_len + n + 1 > UINT32_MAX) {
        cg_error(CG_ERR_UNSUPPORTED, "%s: STAR text beyond 4 GiB is not supported", s->name ? s->name : "STAR");
        return UINT32_MAX;
    }
    if (s->pool_len + n + 1 > s->pool_cap) {
        size_t cap = s->pool_cap * 2 > s->pool_len + n + 1 ? s->pool_cap * 2 : s->pool_len + n + 1;
        char *p = realloc(s->pool, cap);
        if (!p) {
            cg_error(CG_ERR_NOMEM, "out of memory growing the STAR string pool to %zu bytes", cap);
            return UINT32_MAX;
        }
        s->pool = p, s->pool_cap = cap;
    }
    uint32_t off = (uint32_t)s->pool_len;
    memcpy(s->pool + off, str, n);
    s->pool[off + n] = '\0';
    s->pool_len += n + 1;
    return off;
}

/* ---------------------------------------------------------------- blocks ---------------- */
int cg_star_nblocks(const cg_star *s) { return s->nblocks; }
cg_star_block *cg_star_block_at(const cg_star *s, int i) { return i >= 0 && i < s->nblocks ? s->blocks[i] : NULL; }
cg_star_block *cg_star_find_block(const cg_star *s, const char *name) {
    for (int i = 0; i < s->nblocks; i++)
        if (strcmp(s->blocks[i]->name, name) == 0) return s->blocks[i];
    return NULL;
}

cg_star_block *cg_star_add_block(cg_star *s, const char *name, int is_loop) {
    if (s->nblocks == s->cap_blocks) {
        int cap = s->cap_blocks ? 2 * s->cap_blocks : 8;
        cg_star_block **nb = realloc(s->blocks, (size_t)cap * sizeof *nb);
        if (!nb) {
            cg_error(CG_ERR_NOMEM, "out of memory adding STAR block %s", name);
            return NULL;
        }
        s->blocks = nb, s->cap_blocks = cap;
    }
    cg_star_block *b = cg_calloc(1, sizeof *b, "STAR block");
    if (!b) return NULL;
    b->owner = s;
    b->is_loop = is_loop != 0;
    b->name = dup_n(name ? name : "", name ? strlen(name) : 0);
    if (!b->name || (!b->is_loop && cg__star_reserve_rows(b, 1) != CG_OK)) {
        block_free(b);
        return NULL;
    }
    if (!b->is_loop) { /* key-value blocks are one row */
        b->nrows = 1;
        b->row_line[0] = 0;
    }
    s->blocks[s->nblocks++] = b;
    return b;
}

const char *cg_star_block_name(const cg_star_block *b) { return b->name; }
int cg_star_block_is_loop(const cg_star_block *b) { return b->is_loop; }
int cg_star_ncols(const cg_star_block *b) { return b->ncols; }
int64_t cg_star_nrows(const cg_star_block *b) { return b->nrows; }
const char *cg_star_label(const cg_star_block *b, int col) { return col >= 0 && col < b->ncols ? b->labels[col] : NULL; }
int64_t cg_star_row_line(const cg_star_block *b, int64_t row) {
    return row >= 0 && row < b->nrows ? (int64_t)b->row_line[row] : 0;
}
int64_t cg_star_block_line(const cg_star_block *b) { return b->line; }
const cg_star *cg_star_block_owner(const cg_star_block *b) { return b->owner; }

int cg_star_find_col(const cg_star_block *b, const char *label) {
    if (!label) return -1;
    /* exact first, so that a stored label starting with '_' (file label "__x") is found too */
    for (int i = 0; i < b->ncols; i++)
        if (strcmp(b->labels[i], label) == 0) return i;
    if (label[0] == '_')
        for (int i = 0; i < b->ncols; i++)
            if (strcmp(b->labels[i], label + 1) == 0) return i;
    return -1;
}

cg_status cg__star_push_label(cg_star_block *b, const char *label) {
    if (b->ncols == b->cap_cols) {
        int cap = b->cap_cols ? 2 * b->cap_cols : 16;
        char **nl = realloc(b->labels, (size_t)cap * sizeof *nl);
        if (!nl) return cg_error(CG_ERR_NOMEM, "out of memory adding label %s", label);
        b->labels = nl, b->cap_cols = cap;
    }
    char *l = dup_n(label, strlen(label));
    if (!l) return CG_ERR_NOMEM;
    b->labels[b->ncols++] = l;
    return CG_OK;
}

cg_status cg__star_reserve_rows(cg_star_block *b, int64_t rows) {
    if (rows <= b->cap_rows) return CG_OK;
    int64_t cap = b->cap_rows ? b->cap_rows : 64;
    while (cap < rows) cap *= 2;
    size_t per = b->ncols > 0 ? (size_t)b->ncols : 1;
    uint32_t *c = realloc(b->cells, (size_t)cap * per * sizeof(uint32_t));
    if (c) b->cells = c;
    uint32_t *l = c ? realloc(b->row_line, (size_t)cap * sizeof(uint32_t)) : NULL;
    if (l) b->row_line = l;
    if (!c || !l) return cg_error(CG_ERR_NOMEM, "out of memory for %lld rows of data_%s", (long long)cap, b->name);
    b->cap_rows = cap;
    return CG_OK;
}

int cg_star_add_col(cg_star_block *b, const char *label, const char *fill) {
    if (label && label[0] == '_') label++;
    if (!label || !*label) {
        cg_error(CG_ERR_ARG, "data_%s: empty label", b->name);
        return -1;
    }
    int have = cg_star_find_col(b, label);
    if (have >= 0) return have;
    uint32_t f = cg__star_intern(b->owner, fill ? fill : "", fill ? strlen(fill) : 0);
    if (f == UINT32_MAX) return -1;
    int nc = b->ncols + 1;
    int64_t cap = b->cap_rows > 0 ? b->cap_rows : 1;
    uint32_t *cells = cg_malloc((size_t)cap * (size_t)nc, sizeof(uint32_t), "STAR cells");
    if (!cells || cg__star_push_label(b, label) != CG_OK) {
        free(cells);
        return -1;
    }
    for (int64_t r = 0; r < b->nrows; r++) {
        if (nc > 1) memcpy(cells + r * nc, b->cells + r * (nc - 1), (size_t)(nc - 1) * sizeof(uint32_t));
        cells[r * nc + nc - 1] = f;
    }
    free(b->cells);
    b->cells = cells;
    b->cap_rows = cap;
    if (!b->row_line) {
        b->row_line = cg_calloc((size_t)cap, sizeof(uint32_t), "STAR rows");
        if (!b->row_line) return -1;
    }
    return nc - 1;
}

int64_t cg_star_add_row(cg_star_block *b) {
    if (!b->is_loop) {
        cg_error(CG_ERR_ARG, "data_%s is a key-value block; it has exactly one row", b->name);
        return -1;
    }
    if (cg__star_reserve_rows(b, b->nrows + 1) != CG_OK) return -1;
    memset(b->cells + b->nrows * b->ncols, 0, (size_t)b->ncols * sizeof(uint32_t));
    b->row_line[b->nrows] = 0;
    return b->nrows++;
}

/* ---------------------------------------------------------------- cells ----------------- */
static int valid(const cg_star_block *b, int64_t row, int col) {
    return row >= 0 && row < b->nrows && col >= 0 && col < b->ncols;
}

const char *cg_star_get(const cg_star_block *b, int64_t row, int col) {
    if (!valid(b, row, col)) return "";
    return b->owner->pool + b->cells[row * b->ncols + col];
}

cg_status cg_star_set(cg_star_block *b, int64_t row, int col, const char *value) {
    if (!valid(b, row, col))
        return cg_error(CG_ERR_ARG, "data_%s: no cell at row %lld, column %d", b->name, (long long)row + 1, col + 1);
    uint32_t off = cg__star_intern(b->owner, value ? value : "", value ? strlen(value) : 0);
    if (off == UINT32_MAX) return CG_ERR_NOMEM;
    b->cells[row * b->ncols + col] = off;
    return CG_OK;
}

cg_status cg_star_set_double(cg_star_block *b, int64_t row, int col, double value, const char *fmt) {
    char buf[64];
    snprintf(buf, sizeof buf, fmt ? fmt : "%.6f", value);
    return cg_star_set(b, row, col, buf);
}

cg_status cg_star_set_int(cg_star_block *b, int64_t row, int col, int64_t value) {
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)value);
    return cg_star_set(b, row, col, buf);
}

/* "p.star:17: data_particles row 12, rlnDefocusU" */
static cg_status cell_error(const cg_star_block *b, int64_t row, int col, const char *what) {
    const char *file = b->owner->name ? b->owner->name : "STAR";
    int64_t line = cg_star_row_line(b, row);
    char where[64] = "";
    if (line > 0) snprintf(where, sizeof where, ":%lld", (long long)line);
    return cg_error(CG_ERR_FORMAT, "%s%s: data_%s row %lld, %s: '%s' is not %s", file, where, b->name,
                    (long long)row + 1, cg_star_label(b, col), cg_star_get(b, row, col), what);
}

cg_status cg_star_get_double(const cg_star_block *b, int64_t row, int col, double *out) {
    if (!valid(b, row, col))
        return cg_error(CG_ERR_ARG, "data_%s: no cell at row %lld, column %d", b->name, (long long)row + 1, col + 1);
    const char *t = cg_star_get(b, row, col);
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    if (end == t || *end || (errno == ERANGE && fabs(v) > 1)) return cell_error(b, row, col, "a number");
    *out = v;
    return CG_OK;
}

cg_status cg_star_get_int(const cg_star_block *b, int64_t row, int col, int64_t *out) {
    if (!valid(b, row, col))
        return cg_error(CG_ERR_ARG, "data_%s: no cell at row %lld, column %d", b->name, (long long)row + 1, col + 1);
    const char *t = cg_star_get(b, row, col);
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (end != t && !*end && !errno) {
        *out = v;
        return CG_OK;
    }
    double d; /* "2.000000" is accepted as 2 */
    if (cg_star_get_double(b, row, col, &d) == CG_OK && d == floor(d) && fabs(d) < 9e15) {
        *out = (int64_t)d;
        return CG_OK;
    }
    return cell_error(b, row, col, "an integer");
}

/* ---------------------------------------------------------------- writing --------------- */
static int needs_quotes(const char *v) {
    if (!*v) return 1;
    if (strchr("_#'\"$[;", v[0]) || !strncmp(v, "data_", 5) || !strncmp(v, "loop_", 5)) return 1;
    for (const char *p = v; *p; p++)
        if (isspace((unsigned char)*p)) return 1;
    return 0;
}

/* The quote character that can enclose v, or 0. */
static char quote_for(const char *v) {
    if (strpbrk(v, "\n\r")) return 0;
    const char q[2] = {'"', '\''};
    for (int k = 0; k < 2; k++) {
        int ok = 1;
        for (const char *p = v; *p && ok; p++)
            if (*p == q[k] && (p[1] == '\0' || isspace((unsigned char)p[1]))) ok = 0;
        if (ok) return q[k];
    }
    return 0;
}

static cg_status check_writable(const cg_star_block *b, const char *v, int64_t row, int col) {
    if (needs_quotes(v) && !quote_for(v))
        return cg_error(CG_ERR_UNSUPPORTED,
                        "data_%s row %lld, %s: the value cannot be written in STAR syntax (newline, or both quote "
                        "kinds followed by blanks)",
                        b->name, (long long)row + 1, cg_star_label(b, col));
    return CG_OK;
}

static void put_value(FILE *f, const char *v, int width) {
    if (!needs_quotes(v)) {
        fprintf(f, "%*s", width, v);
        return;
    }
    char q = quote_for(v);
    int pad = width - (int)strlen(v) - 2;
    fprintf(f, "%*s%c%s%c", pad > 0 ? pad : 0, "", q, v, q);
}

static int value_width(const char *v) { return (int)strlen(v) + (needs_quotes(v) ? 2 : 0); }

static cg_status write_block(FILE *f, const cg_star_block *b) {
    fprintf(f, "\n# version %d\n\ndata_%s\n\n", b->version > 0 ? b->version : 30001, b->name);
    if (!b->is_loop) {
        int w = 0;
        for (int c = 0; c < b->ncols; c++) w = (int)strlen(b->labels[c]) > w ? (int)strlen(b->labels[c]) : w;
        for (int c = 0; c < b->ncols; c++) {
            const char *v = cg_star_get(b, 0, c);
            if (check_writable(b, v, 0, c) != CG_OK) return CG_ERR_UNSUPPORTED;
            fprintf(f, "_%-*s ", w, b->labels[c]);
            put_value(f, v, 0);
            fputc('\n', f);
        }
        return CG_OK;
    }
    fprintf(f, "loop_ \n");
    for (int c = 0; c < b->ncols; c++) fprintf(f, "_%s #%d \n", b->labels[c], c + 1);
    int *width = cg_calloc(b->ncols > 0 ? (size_t)b->ncols : 1, sizeof(int), "STAR column widths");
    if (!width) return CG_ERR_NOMEM;
    for (int64_t r = 0; r < b->nrows; r++)
        for (int c = 0; c < b->ncols; c++) {
            const char *v = cg_star_get(b, r, c);
            int w = value_width(v);
            width[c] = w > width[c] ? w : width[c];
            if (check_writable(b, v, r, c) != CG_OK) {
                free(width);
                return CG_ERR_UNSUPPORTED;
            }
        }
    for (int64_t r = 0; r < b->nrows; r++) {
        for (int c = 0; c < b->ncols; c++) {
            fputc(' ', f);
            put_value(f, cg_star_get(b, r, c), width[c] > 12 ? width[c] : 12);
        }
        fputc('\n', f);
    }
    free(width);
    fputc('\n', f);
    return CG_OK;
}

cg_status cg_star_write(const char *path, const cg_star *s, const char *comment) {
    cg_outfile o;
    cg_status st = cg_outfile_open(&o, path);
    if (st != CG_OK) return st;
    if (comment) {
        for (const char *p = comment; *p;) { /* one "# " line per line of the comment */
            size_t n = strcspn(p, "\n");
            fprintf(o.fp, "# %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
    }
    for (int i = 0; i < s->nblocks && st == CG_OK; i++) st = write_block(o.fp, s->blocks[i]);
    if (st != CG_OK) {
        cg_outfile_abort(&o);
        return cg_error_prefix(st, "%s", path);
    }
    return cg_outfile_commit(&o);
}
