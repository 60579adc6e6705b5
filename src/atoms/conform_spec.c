/* Conformational-model specs as `key = value` text (see conform.h): the simulator writes one
 * next to its outputs so that `cryogen evaluate` can rebuild the exact ground truth. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/conform.h"

void cg_conf_spec_init(cg_conf_spec *s) {
    memset(s, 0, sizeof *s);
    s->gauss = cg_gauss_opts_default();
}

static cg_status load_all(const cg_conf_spec *s, cg_atoms **a, int n) {
    for (int i = 0; i < n; i++) {
        cg_status st = cg_atoms_read(s->files[i], CG_ATOMS_FIRST_MODEL, &a[i]);
        if (st) {
            for (int j = 0; j < i; j++) cg_atoms_free(a[j]);
            return st;
        }
    }
    return CG_OK;
}

cg_status cg_conf_from_spec(cg_conf_model **out, const cg_conf_spec *s) {
    *out = NULL;
    const char *m = s->model;
    int need = !strcmp(m, "morph") ? 2 : !strcmp(m, "hinge") ? 1 : !strcmp(m, "discrete") ? -1 : 0;
    if (need > 0 && s->nfiles != need)
        return cg_error(CG_ERR_ARG, "model %s needs %d atomic model file%s, got %d", m, need, need > 1 ? "s" : "",
                        s->nfiles);
    if (need < 0 && s->nfiles < 1) return cg_error(CG_ERR_ARG, "model discrete needs one model file per state");
    if (need == 0 && strcmp(m, "lids") && strcmp(m, "capsid") && strcmp(m, "synthetic"))
        return cg_error(CG_ERR_ARG, "unknown model '%s' (morph, hinge, discrete, lids, capsid, synthetic)", m);
    if (need == 0) {
        if (!(s->box_A > 0)) return cg_error(CG_ERR_ARG, "model %s needs the box size", m);
        if (s->has_range && s->range[0] != 0) /* these objects start closed / straight at 0 */
            return cg_error(CG_ERR_ARG, "model %s: the angle range starts at 0 (closed); give 0:MAX, not %g:%g", m,
                            s->range[0], s->range[1]);
        cg_status st = s->has_range && !strcmp(m, "lids")     ? cg_conf_lids_create(out, 0.35 * s->box_A, s->range[1])
                       : s->has_range && !strcmp(m, "capsid") ? cg_conf_capsid_create(out, 0.55 * s->box_A, s->range[1])
                                                              : cg_conf_builtin_create(out, m, s->box_A);
        if (!st && s->has_range && !strcmp(m, "synthetic")) { /* builtin gives the default range */
            cg_conf_destroy(*out);
            *out = NULL;
            st = cg_conf_synthetic_create(out, s->range[1]);
        }
        return st;
    }
    cg_atoms *a[CG_CONF_MAX_FILES] = {0};
    int n = s->nfiles;
    cg_status st = load_all(s, a, n);
    if (st) return st;
    if (!strcmp(m, "morph")) st = cg_conf_morph_create(out, a[0], a[1]);
    else if (!strcmp(m, "hinge")) {
        if (s->res_last < s->res_first || s->res_last == 0)
            st = cg_error(CG_ERR_ARG, "model hinge needs the domain's residues FIRST:LAST");
        else
            st = cg_conf_hinge_create(out, a[0], s->res_first, s->res_last, s->has_range ? s->range[0] : -30,
                                      s->has_range ? s->range[1] : 30);
    } else {
        double prob[CG_CONF_MAX_FILES];
        if (s->nprob && s->nprob != n)
            st = cg_error(CG_ERR_ARG, "model discrete: %d probabilities for %d states", s->nprob, n);
        for (int i = 0; i < n; i++) prob[i] = s->nprob ? s->prob[i] : 1.0 / n;
        if (!st) st = cg_conf_discrete_create(out, (const cg_atoms *const *)a, prob, n);
    }
    for (int i = 0; i < n; i++) cg_atoms_free(a[i]);
    return st;
}

cg_status cg_conf_spec_write(const cg_conf_spec *s, const char *path, const char *comment) {
    cg_outfile o;
    cg_status st = cg_outfile_open(&o, path);
    if (st) return st;
    if (comment) fprintf(o.fp, "# %s\n", comment);
    fprintf(o.fp, "model = %s\n", s->model);
    if (s->nfiles) {
        fprintf(o.fp, "files = ");
        for (int i = 0; i < s->nfiles; i++) fprintf(o.fp, "%s%s", i ? ", " : "", s->files[i]);
        fprintf(o.fp, "\n");
    }
    if (s->res_last) fprintf(o.fp, "residues = %d:%d\n", s->res_first, s->res_last);
    if (s->has_range) fprintf(o.fp, "range = %.17g:%.17g\n", s->range[0], s->range[1]);
    if (s->nprob) {
        fprintf(o.fp, "probabilities = ");
        for (int i = 0; i < s->nprob; i++) fprintf(o.fp, "%s%.17g", i ? ", " : "", s->prob[i]);
        fprintf(o.fp, "\n");
    }
    fprintf(o.fp, "box_A = %.17g\n", s->box_A);
    fprintf(o.fp, "bfactor_extra_A2 = %.17g\nuse_file_bfactor = %d\nskip_hydrogens = %d\n", s->gauss.bfactor_extra_A2,
            s->gauss.use_file_bfactor, s->gauss.skip_hydrogens);
    return cg_outfile_commit(&o);
}

static char *trim(char *t) {
    while (isspace((unsigned char)*t)) t++;
    size_t n = strlen(t);
    while (n && isspace((unsigned char)t[n - 1])) t[--n] = '\0';
    return t;
}

static int parse_pair(const char *v, double r[2]) {
    char *e;
    r[0] = strtod(v, &e);
    if (e == v || *e != ':') return -1;
    const char *w = e + 1;
    r[1] = strtod(w, &e);
    return (e == w || *trim(e)) ? -1 : 0;
}

/* comma-separated list into items (trimmed, in place) */
static int split(char *v, char **items, int max) {
    int n = 0;
    for (char *tok = strtok(v, ","); tok && n < max; tok = strtok(NULL, ",")) items[n++] = trim(tok);
    return n;
}

static cg_status spec_line(cg_conf_spec *s, char *key, char *val, const char *path, int line) {
    char *items[CG_CONF_MAX_FILES + 1];
    double r[2];
    if (!strcmp(key, "model")) snprintf(s->model, sizeof s->model, "%s", val);
    else if (!strcmp(key, "files")) {
        int n = split(val, items, CG_CONF_MAX_FILES + 1);
        if (n > CG_CONF_MAX_FILES) return cg_error(CG_ERR_FORMAT, "%s:%d: more than %d files", path, line, CG_CONF_MAX_FILES);
        for (int i = 0; i < n; i++) snprintf(s->files[i], sizeof s->files[i], "%s", items[i]);
        s->nfiles = n;
    } else if (!strcmp(key, "residues")) {
        if (parse_pair(val, r)) return cg_error(CG_ERR_FORMAT, "%s:%d: residues '%s' is not FIRST:LAST", path, line, val);
        s->res_first = (int)r[0];
        s->res_last = (int)r[1];
    } else if (!strcmp(key, "range")) {
        if (parse_pair(val, s->range)) return cg_error(CG_ERR_FORMAT, "%s:%d: range '%s' is not MIN:MAX", path, line, val);
        s->has_range = 1;
    } else if (!strcmp(key, "probabilities")) {
        int n = split(val, items, CG_CONF_MAX_FILES + 1);
        if (n > CG_CONF_MAX_FILES) return cg_error(CG_ERR_FORMAT, "%s:%d: too many probabilities", path, line);
        for (int i = 0; i < n; i++) s->prob[i] = strtod(items[i], NULL);
        s->nprob = n;
    } else if (!strcmp(key, "box_A")) s->box_A = strtod(val, NULL);
    else if (!strcmp(key, "bfactor_extra_A2")) s->gauss.bfactor_extra_A2 = strtod(val, NULL);
    else if (!strcmp(key, "use_file_bfactor")) s->gauss.use_file_bfactor = atoi(val);
    else if (!strcmp(key, "skip_hydrogens")) s->gauss.skip_hydrogens = atoi(val);
    else return cg_error(CG_ERR_FORMAT, "%s:%d: unknown key '%s'", path, line, key);
    return CG_OK;
}

cg_status cg_conf_spec_read(const char *path, cg_conf_spec *s) {
    cg_conf_spec_init(s);
    FILE *f = fopen(path, "r");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char buf[9000];
    int line = 0;
    cg_status st = CG_OK;
    while (!st && fgets(buf, sizeof buf, f)) {
        line++;
        char *t = trim(buf);
        if (!*t || *t == '#') continue;
        char *eq = strchr(t, '=');
        if (!eq) {
            st = cg_error(CG_ERR_FORMAT, "%s:%d: expected 'key = value', got '%s'", path, line, t);
            break;
        }
        *eq = '\0';
        st = spec_line(s, trim(t), trim(eq + 1), path, line);
    }
    fclose(f);
    if (!st && !s->model[0]) st = cg_error(CG_ERR_FORMAT, "%s: no 'model = ...' line", path);
    return st;
}
