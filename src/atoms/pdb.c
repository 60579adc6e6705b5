/* PDB and mmCIF atom readers.
 *
 * PDB: fixed columns of the wwPDB format v3.3 (ATOM/HETATM: name 13-16, altLoc 17, resName
 * 18-20, chain 22, resSeq 23-26, x/y/z 31-54, occupancy 55-60, B 61-66, element 77-78),
 * MODEL/ENDMDL for ensembles. Files from CHARMM and older tools often omit the element
 * column and left-justify names (adk_open.pdb: "CD1 " in column 13); elements then come from
 * the atom name as described in atoms.h.
 * mmCIF: the `_atom_site` loop (group_PDB, type_symbol, label/auth atom, alt, comp, asym and
 * seq ids, Cartn_x/y/z, occupancy, B_iso_or_equiv, pdbx_PDB_model_num); '.' and '?' are
 * missing values.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/atoms.h"

static const char *const g_symbols[] = {
    "?",  "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",  "S",
    "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn",
    "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho",
    "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po",
    "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U"};
enum { CG_NELEMENTS = (int)(sizeof g_symbols / sizeof g_symbols[0]) };

int cg_element_from_symbol(const char *sym) {
    char s[3] = {0};
    int k = 0;
    for (const char *p = sym; *p && k < 3; p++) {
        if (isspace((unsigned char)*p)) continue;
        if (!isalpha((unsigned char)*p)) break;
        if (k == 2) return 0; /* three letters: not an element */
        s[k] = (char)(k == 0 ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
        k++;
    }
    if (!k) return 0;
    for (int z = 1; z < CG_NELEMENTS; z++)
        if (strcmp(g_symbols[z], s) == 0) return z;
    return 0;
}

const char *cg_element_symbol(int z) { return z > 0 && z < CG_NELEMENTS ? g_symbols[z] : "?"; }

/* Element from an atom name when no element column exists (see atoms.h). */
static int element_from_name(const char *name4, int hetatm) {
    char t[5] = {0};
    int k = 0;
    for (int i = 0; i < 4 && name4[i]; i++)
        if (!isspace((unsigned char)name4[i])) t[k++] = name4[i];
    if (!k) return 0;
    if (hetatm && isalpha((unsigned char)t[0]) && isalpha((unsigned char)t[1]) && !t[2]) {
        int z = cg_element_from_symbol(t); /* ions: "FE", "ZN", "MG" */
        if (z) return z;
    }
    const char *p = t;
    while (*p && isdigit((unsigned char)*p)) p++; /* "1HD2" -> H */
    char one[2] = {*p, 0};
    return cg_element_from_symbol(one);
}

typedef struct {
    cg_atom *v;
    int64_t n, cap;
} atom_vec;

static cg_status push_atom(atom_vec *a, const cg_atom *at) {
    if (a->n == a->cap) {
        int64_t nc = a->cap ? 2 * a->cap : 1024;
        cg_atom *nv = realloc(a->v, (size_t)nc * sizeof *nv);
        if (!nv) return cg_error(CG_ERR_NOMEM, "atom list of %lld atoms", (long long)nc);
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = *at;
    return CG_OK;
}

/* Copy columns [c0, c1] (1-based, inclusive) of a line of length len into buf, trimmed. */
static void field(const char *line, size_t len, int c0, int c1, char *buf, size_t bufsize) {
    size_t k = 0;
    for (int c = c0; c <= c1 && (size_t)c <= len && k + 1 < bufsize; c++) buf[k++] = line[c - 1];
    buf[k] = '\0';
    char *s = buf;
    while (*s == ' ') s++;
    memmove(buf, s, strlen(s) + 1);
    for (k = strlen(buf); k > 0 && (buf[k - 1] == ' ' || buf[k - 1] == '\r'); k--) buf[k - 1] = '\0';
}

static int parse_num(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno) return -1;
    while (*end == ' ') end++;
    if (*end) return -1;
    *out = v;
    return 0;
}

static cg_status pdb_atom(const char *line, size_t len, const char *name, int64_t lineno, int model, int hetatm,
                          char *first_alt, atom_vec *out) {
    if (len < 54)
        return cg_error(CG_ERR_FORMAT, "%s:%lld: %s record has %zu columns; coordinates need columns 31-54", name,
                        (long long)lineno, hetatm ? "HETATM" : "ATOM", len);
    char alt = len >= 17 ? line[16] : ' ';
    if (alt != ' ') {
        if (!*first_alt) *first_alt = alt;
        if (alt != *first_alt) return CG_OK; /* other alternate locations are skipped */
    }
    cg_atom at;
    memset(&at, 0, sizeof at);
    char buf[16];
    static const char *axes = "xyz";
    for (int k = 0; k < 3; k++) {
        field(line, len, 31 + 8 * k, 38 + 8 * k, buf, sizeof buf);
        if (parse_num(buf, &at.xyz_A[k]))
            return cg_error(CG_ERR_FORMAT, "%s:%lld: %c coordinate '%s' (columns %d-%d) is not a number", name,
                            (long long)lineno, axes[k], buf, 31 + 8 * k, 38 + 8 * k);
    }
    double v;
    field(line, len, 55, 60, buf, sizeof buf);
    at.occupancy = (float)(buf[0] && !parse_num(buf, &v) ? v : 1.0);
    field(line, len, 61, 66, buf, sizeof buf);
    at.b_factor_A2 = (float)(buf[0] && !parse_num(buf, &v) ? v : 0.0);
    char name4[5] = {0};
    for (int c = 0; c < 4 && 13 + c <= (int)len; c++) name4[c] = line[12 + c];
    field(line, len, 13, 16, at.name, sizeof at.name);
    field(line, len, 18, 20, at.resname, sizeof at.resname);
    field(line, len, 22, 22, at.chain, sizeof at.chain);
    field(line, len, 23, 26, buf, sizeof buf);
    at.resseq = atoi(buf);
    field(line, len, 77, 78, buf, sizeof buf);
    at.element = buf[0] ? cg_element_from_symbol(buf) : element_from_name(name4, hetatm);
    if (!at.element)
        return cg_error(CG_ERR_FORMAT, "%s:%lld: cannot tell the element of atom '%s' (element column '%s')", name,
                        (long long)lineno, at.name, buf);
    at.model = model;
    at.hetatm = hetatm;
    return push_atom(out, &at);
}

static cg_status parse_pdb(const char *text, size_t len, const char *name, cg_atoms_models which, atom_vec *out,
                           int *nmodels) {
    int model = 1, seen_model = 0, first_model = -1;
    char first_alt = 0;
    int64_t lineno = 0;
    *nmodels = 0;
    for (size_t pos = 0; pos < len;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + 1;
        lineno++;
        if (ll && line[ll - 1] == '\r') ll--;
        if (ll >= 5 && !strncmp(line, "MODEL", 5)) {
            char buf[16];
            field(line, ll, 11, 14, buf, sizeof buf);
            model = buf[0] ? atoi(buf) : model + 1;
            seen_model = 1;
            (*nmodels)++;
            continue;
        }
        int is_atom = ll >= 6 && !strncmp(line, "ATOM  ", 6);
        int is_het = ll >= 6 && !strncmp(line, "HETATM", 6);
        if (!is_atom && !is_het) continue;
        if (first_model < 0) first_model = model;
        if (which == CG_ATOMS_FIRST_MODEL && model != first_model) continue;
        cg_status s = pdb_atom(line, ll, name, lineno, model, is_het, &first_alt, out);
        if (s) return s;
    }
    if (!seen_model) *nmodels = out->n ? 1 : 0;
    return CG_OK;
}

/* ---- mmCIF ---- */
typedef struct {
    const char *text;
    size_t len, pos;
    int64_t line;
} cif_lexer;

/* Next token (value or tag); returns 0 at end. Handles quotes and ; text fields. */
static int cif_next(cif_lexer *L, const char **tok, size_t *toklen, int *at_line_start) {
    for (;;) {
        /* every whitespace character but newline (counted below): \f and \v included, or the
           token scan would stop on them without advancing */
        while (L->pos < L->len && L->text[L->pos] != '\n' && isspace((unsigned char)L->text[L->pos])) L->pos++;
        if (L->pos >= L->len) return 0;
        char c = L->text[L->pos];
        if (c == '\n') {
            L->pos++;
            L->line++;
            continue;
        }
        int bol = L->pos == 0 || L->text[L->pos - 1] == '\n';
        if (c == '#') {
            while (L->pos < L->len && L->text[L->pos] != '\n') L->pos++;
            continue;
        }
        *at_line_start = bol;
        if (c == ';' && bol) { /* text field up to a line starting with ; */
            size_t start = ++L->pos;
            while (L->pos < L->len && !(L->text[L->pos] == ';' && L->text[L->pos - 1] == '\n')) {
                if (L->text[L->pos] == '\n') L->line++;
                L->pos++;
            }
            *tok = L->text + start;
            *toklen = L->pos - start;
            if (L->pos < L->len) L->pos++;
            return 1;
        }
        if (c == '\'' || c == '"') {
            size_t start = ++L->pos;
            while (L->pos < L->len && L->text[L->pos] != '\n' &&
                   !(L->text[L->pos] == c &&
                     (L->pos + 1 >= L->len || isspace((unsigned char)L->text[L->pos + 1]))))
                L->pos++;
            *tok = L->text + start;
            *toklen = L->pos - start;
            if (L->pos < L->len && L->text[L->pos] == c) L->pos++;
            return 1;
        }
        size_t start = L->pos;
        while (L->pos < L->len && !isspace((unsigned char)L->text[L->pos])) L->pos++;
        *tok = L->text + start;
        *toklen = L->pos - start;
        return 1;
    }
}

enum { F_GROUP, F_TYPE, F_ATOM, F_ALT, F_COMP, F_ASYM, F_SEQ, F_X, F_Y, F_Z, F_OCC, F_B, F_MODEL, F_COUNT };
static const char *const g_cif_tags[F_COUNT][2] = {
    {"group_PDB", NULL},          {"type_symbol", NULL},        {"auth_atom_id", "label_atom_id"},
    {"label_alt_id", NULL},       {"auth_comp_id", "label_comp_id"}, {"auth_asym_id", "label_asym_id"},
    {"auth_seq_id", "label_seq_id"}, {"Cartn_x", NULL},           {"Cartn_y", NULL},
    {"Cartn_z", NULL},            {"occupancy", NULL},          {"B_iso_or_equiv", NULL},
    {"pdbx_PDB_model_num", NULL}};

static int cif_missing(const char *s) { return !s[0] || !strcmp(s, ".") || !strcmp(s, "?"); }

static cg_status cif_row(char vals[F_COUNT][32], const char *name, int64_t line, cg_atoms_models which,
                         int *first_model, char *first_alt, int *nmodels, int *last_model, atom_vec *out) {
    cg_atom at;
    memset(&at, 0, sizeof at);
    static const char *axes = "xyz";
    for (int k = 0; k < 3; k++)
        if (parse_num(vals[F_X + k], &at.xyz_A[k]))
            return cg_error(CG_ERR_FORMAT, "%s:%lld: _atom_site.Cartn_%c '%s' is not a number", name, (long long)line,
                            axes[k], vals[F_X + k]);
    int model = cif_missing(vals[F_MODEL]) ? 1 : atoi(vals[F_MODEL]);
    if (model != *last_model) {
        (*nmodels)++;
        *last_model = model;
    }
    if (*first_model < 0) *first_model = model;
    if (which == CG_ATOMS_FIRST_MODEL && model != *first_model) return CG_OK;
    if (!cif_missing(vals[F_ALT])) {
        if (!*first_alt) *first_alt = vals[F_ALT][0];
        if (vals[F_ALT][0] != *first_alt) return CG_OK;
    }
    double v;
    at.occupancy = (float)(!cif_missing(vals[F_OCC]) && !parse_num(vals[F_OCC], &v) ? v : 1.0);
    at.b_factor_A2 = (float)(!cif_missing(vals[F_B]) && !parse_num(vals[F_B], &v) ? v : 0.0);
    snprintf(at.name, sizeof at.name, "%.4s", vals[F_ATOM]);
    snprintf(at.resname, sizeof at.resname, "%.3s", vals[F_COMP]);
    snprintf(at.chain, sizeof at.chain, "%.4s", vals[F_ASYM]);
    at.resseq = atoi(vals[F_SEQ]);
    at.hetatm = !strcmp(vals[F_GROUP], "HETATM");
    at.model = model;
    char name4[5];
    snprintf(name4, sizeof name4, "%-4.4s", vals[F_ATOM]);
    at.element = cif_missing(vals[F_TYPE]) ? element_from_name(name4, at.hetatm) : cg_element_from_symbol(vals[F_TYPE]);
    if (!at.element)
        return cg_error(CG_ERR_FORMAT, "%s:%lld: unknown element '%s' for atom '%s'", name, (long long)line,
                        vals[F_TYPE], vals[F_ATOM]);
    return push_atom(out, &at);
}

static cg_status parse_cif(const char *text, size_t len, const char *name, cg_atoms_models which, atom_vec *out,
                           int *nmodels) {
    cif_lexer L = {text, len, 0, 1};
    const char *tok;
    size_t tl;
    int bol, ntags = 0, col[F_COUNT], first_model = -1, last_model = -1, in_loop = 0;
    char first_alt = 0;
    for (int f = 0; f < F_COUNT; f++) col[f] = -1;
    *nmodels = 0;
    /* find "loop_" followed by _atom_site. tags */
    while (cif_next(&L, &tok, &tl, &bol)) {
        if (tl == 5 && !strncmp(tok, "loop_", 5)) {
            in_loop = 1;
            ntags = 0;
            continue;
        }
        if (in_loop && tl > 11 && !strncmp(tok, "_atom_site.", 11)) {
            for (int f = 0; f < F_COUNT; f++)
                for (int alt = 0; alt < 2; alt++) {
                    const char *t = g_cif_tags[f][alt];
                    if (t && strlen(t) == tl - 11 && !strncmp(tok + 11, t, tl - 11) && (col[f] < 0 || alt == 0))
                        col[f] = ntags;
                }
            ntags++;
            continue;
        }
        if (in_loop && ntags > 0) break; /* first value of the atom_site loop */
        in_loop = 0;
    }
    if (!ntags) return cg_error(CG_ERR_FORMAT, "%s: mmCIF file has no _atom_site loop", name);
    for (int f = F_X; f <= F_Z; f++)
        if (col[f] < 0) return cg_error(CG_ERR_FORMAT, "%s: _atom_site loop lacks %s", name, g_cif_tags[f][0]);
    char vals[F_COUNT][32];
    int k = 0;
    int64_t row_line = L.line;
    memset(vals, 0, sizeof vals);
    do {
        /* an empty quoted value ('' or "" at the end of the input) has tl == 0 and tok may point
           one past the buffer: never read tok[0] then */
        if ((tl > 0 && tok[0] == '_') || (tl == 5 && !strncmp(tok, "loop_", 5)) || (tl >= 5 && !strncmp(tok, "data_", 5)))
            break;
        if (k == 0) row_line = L.line;
        for (int f = 0; f < F_COUNT; f++)
            if (col[f] == k) snprintf(vals[f], sizeof vals[f], "%.*s", (int)(tl < 31 ? tl : 31), tok);
        if (++k == ntags) {
            cg_status s = cif_row(vals, name, row_line, which, &first_model, &first_alt, nmodels, &last_model, out);
            if (s) return s;
            k = 0;
            memset(vals, 0, sizeof vals);
        }
    } while (cif_next(&L, &tok, &tl, &bol));
    if (k != 0)
        return cg_error(CG_ERR_FORMAT, "%s:%lld: _atom_site row has %d values, the loop declares %d tags", name,
                        (long long)row_line, k, ntags);
    return CG_OK;
}

static int looks_like_cif(const char *text, size_t len) {
    size_t n = len < 65536 ? len : 65536;
    for (size_t i = 0; i + 5 <= n; i++)
        if ((i == 0 || text[i - 1] == '\n') && !strncmp(text + i, "data_", 5)) return 1;
    return 0;
}

cg_status cg_atoms_parse(const char *text, size_t len, const char *name, cg_atoms_models which, cg_atoms **out) {
    *out = NULL;
    atom_vec v = {0};
    int nmodels = 0;
    cg_status s = looks_like_cif(text, len) ? parse_cif(text, len, name, which, &v, &nmodels)
                                            : parse_pdb(text, len, name, which, &v, &nmodels);
    if (s == CG_OK && v.n == 0) s = cg_error(CG_ERR_FORMAT, "%s: no ATOM or HETATM records", name);
    cg_atoms *a = s == CG_OK ? cg_calloc(1, sizeof *a, "atoms") : NULL;
    if (!a) {
        free(v.v);
        return s ? s : CG_ERR_NOMEM;
    }
    a->n = v.n;
    a->atoms = v.v;
    a->nmodels = nmodels;
    a->path = strdup(name);
    /* hydrogens and unusual elements get a note once */
    int warned[CG_NELEMENTS] = {0};
    for (int64_t i = 0; i < a->n; i++) {
        int z = a->atoms[i].element;
        double pa[5], pb[5];
        if (z < CG_NELEMENTS && !warned[z] && !cg_scattering_params(z, pa, pb)) {
            warned[z] = 1;
            CG_WARN("%s: no tabulated scattering factor for %s; using carbon's profile scaled by Z/6", name,
                    cg_element_symbol(z));
        }
    }
    *out = a;
    return CG_OK;
}

cg_status cg_atoms_read(const char *path, cg_atoms_models which, cg_atoms **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int64_t size = cg_file_size(path);
    if (size < 0) {
        fclose(f);
        return CG_ERR_IO;
    }
    char *buf = cg_malloc((size_t)size + 1, 1, path);
    if (!buf) {
        fclose(f);
        return CG_ERR_NOMEM;
    }
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        free(buf);
        return cg_error(CG_ERR_IO, "%s: read %zu of %lld bytes", path, got, (long long)size);
    }
    buf[size] = '\0';
    cg_status s = cg_atoms_parse(buf, (size_t)size, path, which, out);
    free(buf);
    return s;
}

void cg_atoms_free(cg_atoms *a) {
    if (!a) return;
    free(a->atoms);
    free(a->path);
    free(a);
}

cg_status cg_atoms_model_range(const cg_atoms *a, int m, int64_t *first, int64_t *last) {
    /* models appear in file order; the m-th distinct model number is model m */
    int seen = 0, cur = -1;
    *first = *last = -1;
    for (int64_t i = 0; i < a->n; i++) {
        if (a->atoms[i].model != cur) {
            if (seen == m) {
                *last = i;
                return CG_OK;
            }
            cur = a->atoms[i].model;
            seen++;
            if (seen == m) *first = i;
        }
    }
    if (seen == m) {
        *last = a->n;
        return CG_OK;
    }
    return cg_error(CG_ERR_RANGE, "%s: model %d requested but the file holds %d model%s", a->path ? a->path : "atoms",
                    m, seen, seen == 1 ? "" : "s");
}

void cg_atoms_centroid(const cg_atom *atoms, int64_t n, double c[3]) {
    double s[3] = {0, 0, 0};
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) s[k] += atoms[i].xyz_A[k];
    for (int k = 0; k < 3; k++) c[k] = n ? s[k] / (double)n : 0;
}
