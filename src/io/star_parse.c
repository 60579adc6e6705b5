/* STAR parser (RELION 3.0, 3.1 and 5 files; the subset of STAR/CIF that RELION writes).
 *
 * Line-oriented like RELION's MetaDataTable reader: `data_NAME` opens a block; `loop_` makes it
 * a table whose `_label` lines (anything after the label, such as `#3` or a bracketed note, is
 * ignored) are followed by rows, ONE ROW PER LINE; otherwise `_label value` lines are key-value
 * pairs. Blank lines and `#` comments are skipped anywhere (a token starting with # starts a
 * comment); `# version N` is remembered for the next block. Values may be quoted with ' or "
 * (CIF rule: the closing quote must be followed by a blank or the end of the line). \r counts as
 * a blank, so CRLF files read. Not supported (clear errors): a second loop_ or key-value pairs
 * after a loop_ in the same block, text before the first data_, repeated labels.
 *
 * The file text becomes the string pool; tokens are cut in place, so parsing allocates only the
 * cell offset arrays (amortised doubling).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/star_internal.h"

typedef struct {
    cg_star *s;
    char *text; /* == s->pool */
    size_t len;
    int64_t line;
    cg_star_block *block; /* current block */
    int in_labels;        /* inside loop_ before the first row */
    int pending_version;
} parser;

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static cg_status perr(const parser *p, const char *fmt, const char *a, const char *b) {
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return cg_error(CG_ERR_FORMAT, "%s:%lld: %s", p->s->name, (long long)p->line, msg);
}

/* Next token of the line starting at *pos (inside [pos, end)); cuts it with a NUL. Returns the
 * token offset in the pool, 0 for an empty quoted token, or -1 at end of line (or comment),
 * -2 on an unterminated quote. */
static int64_t next_token(parser *p, size_t *pos, size_t end) {
    char *t = p->text;
    size_t i = *pos;
    while (i < end && is_blank(t[i])) i++;
    if (i >= end || t[i] == '#') return -1;
    if (t[i] == '\'' || t[i] == '"') {
        char q = t[i];
        size_t j = i + 1;
        while (j < end && !(t[j] == q && (j + 1 >= end || is_blank(t[j + 1])))) j++;
        if (j >= end) return -2;
        t[j] = '\0';
        *pos = j + 1;
        return j == i + 1 ? 0 : (int64_t)(i + 1);
    }
    size_t j = i;
    while (j < end && !is_blank(t[j])) j++;
    t[j] = '\0'; /* j <= end, and text[end] is the line's '\n' or the final NUL */
    *pos = j + 1;
    return (int64_t)i;
}

static cg_status start_block(parser *p, size_t pos, size_t end) {
    char *name = p->text + pos + 5;
    size_t n = 0;
    while (pos + 5 + n < end && !is_blank(name[n])) n++;
    name[n] = '\0';
    p->block = cg_star_add_block(p->s, name, 0);
    if (!p->block) return CG_ERR_NOMEM;
    p->block->line = p->line;
    p->block->version = p->pending_version;
    p->pending_version = 0;
    p->in_labels = 0;
    size_t rest = pos + 5 + n + 1;
    if (rest < end && next_token(p, &rest, end) >= 0) return perr(p, "unexpected text after data_%s", name, NULL);
    return CG_OK;
}

static cg_status start_loop(parser *p) {
    cg_star_block *b = p->block;
    if (!b) return perr(p, "loop_ before any data_ block", NULL, NULL);
    if (b->is_loop) return perr(p, "a second loop_ in data_%s is not supported (one table per block)", b->name, NULL);
    if (b->ncols > 0)
        return perr(p, "loop_ after key-value pairs in data_%s is not supported (one table per block)", b->name, NULL);
    b->is_loop = 1;
    b->nrows = 0;
    free(b->cells); /* sized for the one-row key-value layout; rows are reserved after the labels */
    b->cells = NULL;
    b->cap_rows = 0;
    p->in_labels = 1;
    return CG_OK;
}

static cg_status add_label(parser *p, size_t pos, size_t end) {
    cg_star_block *b = p->block;
    int64_t tok = next_token(p, &pos, end);
    const char *label = p->text + tok + 1;
    if (!b) return perr(p, "label %s before any data_ block", label - 1, NULL);
    if (!*label) return perr(p, "empty label '_' in data_%s", b->name, NULL);
    for (int c = 0; c < b->ncols; c++) /* exact comparison: "_x" and "__x" are different labels */
        if (!strcmp(b->labels[c], label)) return perr(p, "label %s appears twice in data_%s", label, b->name);
    if (b->is_loop) {
        if (!p->in_labels)
            return perr(p, "label _%s after the rows of data_%s (key-value pairs after a loop are not supported)",
                        label, b->name);
        return cg__star_push_label(b, label);
    }
    int64_t val = next_token(p, &pos, end);
    if (val == -2) return perr(p, "unterminated quote in the value of _%s", label, NULL);
    if (val == -1) return perr(p, "_%s has no value (key-value pairs need one on the same line)", label, NULL);
    if (next_token(p, &pos, end) != -1) return perr(p, "more than one value after _%s", label, NULL);
    int col = cg_star_add_col(b, label, NULL);
    if (col < 0) return CG_ERR_NOMEM;
    b->cells[col] = (uint32_t)val;
    b->row_line[0] = (uint32_t)p->line;
    return CG_OK;
}

static cg_status add_row(parser *p, size_t pos, size_t end) {
    cg_star_block *b = p->block;
    if (!b) return perr(p, "data before any data_ block", NULL, NULL);
    if (!b->is_loop) return perr(p, "a value without a label in key-value block data_%s", b->name, NULL);
    if (b->ncols == 0) return perr(p, "values in data_%s before any _label of the loop", b->name, NULL);
    if (p->in_labels) p->in_labels = 0;
    cg_status st = cg__star_reserve_rows(b, b->nrows + 1);
    if (st != CG_OK) return st;
    uint32_t *row = b->cells + b->nrows * b->ncols;
    int n = 0;
    for (;;) {
        int64_t tok = next_token(p, &pos, end);
        if (tok == -1) break;
        if (tok == -2) return perr(p, "unterminated quote in data_%s%s", b->name, "");
        if (n < b->ncols) row[n] = (uint32_t)tok;
        n++;
    }
    if (n != b->ncols) {
        char detail[128];
        snprintf(detail, sizeof detail, "row %lld has %d values but the loop declares %d labels", (long long)b->nrows + 1,
                 n, b->ncols);
        return perr(p, "data_%s %s", b->name, detail);
    }
    b->row_line[b->nrows++] = (uint32_t)(p->line > UINT32_MAX ? UINT32_MAX : p->line);
    return CG_OK;
}

static void check_version(parser *p, size_t pos, size_t end) {
    const char *t = p->text + pos;
    if (end - pos > 10 && !strncmp(t, "# version ", 10)) p->pending_version = atoi(t + 10);
}

static cg_status parse_line(parser *p, size_t pos, size_t end) {
    char *t = p->text;
    while (pos < end && is_blank(t[pos])) pos++;
    if (pos >= end) return CG_OK;
    if (t[pos] == '#') {
        check_version(p, pos, end);
        return CG_OK;
    }
    if (end - pos >= 5 && !strncmp(t + pos, "data_", 5)) return start_block(p, pos, end);
    if (end - pos >= 5 && !strncmp(t + pos, "loop_", 5)) {
        size_t rest = pos + 5;
        if (rest < end && !is_blank(t[rest])) return perr(p, "unexpected text starting with loop_", NULL, NULL);
        if (next_token(p, &rest, end) >= 0) return perr(p, "unexpected text after loop_", NULL, NULL);
        return start_loop(p);
    }
    if (t[pos] == '_') return add_label(p, pos, end);
    return add_row(p, pos, end);
}

/* Takes ownership of s->pool holding `len` bytes of text (plus a NUL). */
static cg_status parse_pool(cg_star *s, size_t len) {
    parser p = {s, s->pool, len, 0, NULL, 0, 0};
    size_t pos = 1; /* pool[0] is the empty string */
    while (pos < len) {
        p.line++;
        char *nl = memchr(p.text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - p.text) : len;
        p.text[end] = '\0';
        cg_status st = parse_line(&p, pos, end);
        if (st != CG_OK) return st;
        pos = end + 1;
    }
    return CG_OK;
}

static cg_status parse_into(const char *text, size_t len, const char *name, int from_file, cg_star **out) {
    *out = NULL;
    if (len + 2 > UINT32_MAX)
        return cg_error(CG_ERR_UNSUPPORTED, "%s: STAR files beyond 4 GiB are not supported", name);
    cg_star *s = cg_star_new();
    if (!s) return CG_ERR_NOMEM;
    s->name = cg_malloc(strlen(name) + 1, 1, "name");
    char *pool = cg_malloc(len + 2, 1, "STAR text");
    if (!s->name || !pool) {
        free(pool);
        cg_star_free(s);
        return CG_ERR_NOMEM;
    }
    strcpy(s->name, name);
    s->from_file = from_file;
    free(s->pool);
    pool[0] = '\0';
    memcpy(pool + 1, text, len);
    pool[len + 1] = '\0';
    s->pool = pool, s->pool_len = len + 2, s->pool_cap = len + 2;
    for (size_t i = 1; i <= len; i++) /* embedded NULs would cut tokens silently */
        if (pool[i] == '\0') {
            cg_status st = cg_error(CG_ERR_FORMAT, "%s: byte %zu is a NUL character (binary file, not STAR text?)",
                                    name, i - 1);
            cg_star_free(s);
            return st;
        }
    cg_status st = parse_pool(s, len + 1);
    if (st != CG_OK) {
        cg_star_free(s);
        return st;
    }
    *out = s;
    return CG_OK;
}

cg_status cg_star_parse(const char *text, size_t len, const char *name, cg_star **out) {
    return parse_into(text, len, name ? name : "(memory)", 0, out);
}

cg_status cg_star_read(const char *path, cg_star **out) {
    *out = NULL;
    int64_t size = cg_file_size(path);
    if (size < 0) return CG_ERR_IO;
    if (size + 2 > (int64_t)UINT32_MAX)
        return cg_error(CG_ERR_UNSUPPORTED, "%s: STAR files beyond 4 GiB are not supported", path);
    FILE *f = fopen(path, "rb");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *text = cg_malloc((size_t)size + 1, 1, "STAR file");
    size_t got = text ? fread(text, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!text) return CG_ERR_NOMEM;
    if (got != (size_t)size) {
        free(text);
        return cg_error(CG_ERR_IO, "%s: read %zu of %lld bytes", path, got, (long long)size);
    }
    cg_status st = parse_into(text, got, path, 1, out); /* one copy; fine next to the cell arrays */
    free(text);
    return st;
}
