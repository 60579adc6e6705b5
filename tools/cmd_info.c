/* `cryogen info FILE`: what a file holds. MRC/MRCS: header (dims, mode, byte order, axis
 * order, pixel size, origin, extended header, labels) and statistics computed from the data
 * (streamed image by image over a stack). STAR: every block with its rows and labels, plus a
 * particle summary when it is a particle file. cryoSPARC .cs / .npy: fields with dtypes and
 * shapes, plus the particle summary. --json prints one JSON object instead of text.
 * The kind is chosen by extension (.mrc .mrcs .map .ccp4 .st .rec | .star | .cs .npy), else by
 * content (the \x93NUMPY magic, a plausible MRC header, else STAR). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cryogen/cs.h"
#include "cryogen/mrc.h"
#include "cryogen/particles.h"
#include "cryogen/star.h"

/* ---------------------------------------------------------------- output helpers -------- */
static int g_json;
static int g_first; /* no comma needed before the next JSON member */

static void json_str(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 32) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}
static void jkey(const char *k) {
    printf("%s", g_first ? "" : ", ");
    g_first = 0;
    json_str(k);
    printf(": ");
}
static void jnum(const char *k, double v) {
    jkey(k);
    if (isfinite(v)) printf("%.9g", v);
    else printf("null");
}
static void jint(const char *k, long long v) {
    jkey(k);
    printf("%lld", v);
}
static void jstr(const char *k, const char *v) {
    jkey(k);
    json_str(v);
}
static void jopen(const char *k, char c) {
    if (k) jkey(k);
    else {
        printf("%s", g_first ? "" : ", ");
    }
    putchar(c);
    g_first = 1;
}
static void jclose(char c) {
    putchar(c);
    g_first = 0;
}

/* ---------------------------------------------------------------- MRC ------------------- */
typedef struct {
    double n, mean, m2, min, max;
} stats;

static void stats_add(stats *s, const float *v, size_t n) {
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) sum += v[i], mn = fmin(mn, v[i]), mx = fmax(mx, v[i]);
    double mean = sum / (double)n, m2 = 0;
    for (size_t i = 0; i < n; i++) m2 += (v[i] - mean) * (v[i] - mean);
    double na = s->n, nb = (double)n, d = mean - s->mean;
    s->mean += d * nb / (na + nb);
    s->m2 += m2 + d * d * na * nb / (na + nb);
    s->n += nb;
    s->min = fmin(s->min, mn), s->max = fmax(s->max, mx);
}

static cg_status mrc_stats(const char *path, const cg_mrc_header *h, stats *st) {
    *st = (stats){0, 0, 0, INFINITY, -INFINITY};
    if (h->nz == 0) return CG_OK;
    if (h->maps == 3) { /* stream image by image */
        cg_mrc_stack *s;
        cg_status rc = cg_mrc_stack_open(&s, path);
        if (rc != CG_OK) return rc;
        float *img = cg_malloc((size_t)h->nx * h->ny, sizeof(float), "image");
        for (int64_t i = 0; img && i < h->nz && rc == CG_OK; i++) {
            rc = cg_mrc_stack_read(s, i, img);
            if (rc == CG_OK) stats_add(st, img, (size_t)h->nx * h->ny);
            if (cg_interrupted()) rc = cg_error(CG_ERR_INTERRUPTED, "interrupted");
        }
        if (!img) rc = CG_ERR_NOMEM;
        free(img);
        cg_mrc_stack_close(s);
        return rc;
    }
    cg_mrc_header h2;
    float *v;
    cg_status rc = cg_mrc_read(path, &h2, &v);
    if (rc == CG_OK) stats_add(st, v, (size_t)h->nx * h->ny * h->nz);
    free(v);
    return rc;
}

static void mrc_text(const char *path, const cg_mrc_header *h, const stats *st) {
    printf("%s: MRC %s\n", path, h->mz == 1 && h->nz > 1 ? "image stack" : "map");
    printf("  dimensions     %d x %d x %d (x, y, z%s)\n", h->nx, h->ny, h->nz, h->mz == 1 && h->nz > 1 ? " = images" : "");
    printf("  mode           %d (%s)\n", h->mode, cg_mrc_mode_name(h->mode));
    printf("  byte order     %s-endian%s\n", h->swapped ? "big" : "little", h->swapped ? " (swapped)" : "");
    printf("  axis order     %d,%d,%d (mapc, mapr, maps)\n", h->mapc, h->mapr, h->maps);
    printf("  sampling       %d x %d x %d, cell %g x %g x %g A\n", h->mx, h->my, h->mz, h->cella_A[0], h->cella_A[1],
           h->cella_A[2]);
    printf("  pixel size     %g x %g x %g A\n", h->pixel_size_A[0], h->pixel_size_A[1], h->pixel_size_A[2]);
    printf("  origin         %g %g %g A; start %d %d %d\n", h->origin_A[0], h->origin_A[1], h->origin_A[2], h->nxstart,
           h->nystart, h->nzstart);
    printf("  space group    %d\n  ext. header    %d bytes%s%s\n", h->ispg, h->nsymbt, h->exttyp[0] ? ", type " : "",
           h->exttyp);
    printf("  MAP tag        %s\n", h->has_map_tag ? "yes" : "no (non-standard writer)");
    printf("  header stats   min %g max %g mean %g rms %g\n", h->dmin, h->dmax, h->dmean, h->rms);
    if (st->n > 0)
        printf("  data stats     min %.7g max %.7g mean %.7g std %.7g (%.0f values)\n", st->min, st->max, st->mean,
               sqrt(st->m2 / st->n), st->n);
    for (int i = 0; i < h->nlabl; i++) printf("  label %d        %s\n", i + 1, h->labels[i]);
}

static void mrc_json(const char *path, const cg_mrc_header *h, const stats *st) {
    jopen(NULL, '{');
    jstr("file", path), jstr("kind", "mrc");
    jint("nx", h->nx), jint("ny", h->ny), jint("nz", h->nz), jint("mode", h->mode);
    jstr("mode_name", cg_mrc_mode_name(h->mode)), jstr("byte_order", h->swapped ? "big" : "little");
    jkey("axis_order"), printf("[%d, %d, %d]", h->mapc, h->mapr, h->maps);
    jkey("pixel_size_A"), printf("[%g, %g, %g]", h->pixel_size_A[0], h->pixel_size_A[1], h->pixel_size_A[2]);
    jkey("origin_A"), printf("[%g, %g, %g]", h->origin_A[0], h->origin_A[1], h->origin_A[2]);
    jint("ext_header_bytes", h->nsymbt), jint("has_map_tag", h->has_map_tag);
    jnum("min", st->n > 0 ? st->min : NAN), jnum("max", st->n > 0 ? st->max : NAN);
    jnum("mean", st->n > 0 ? st->mean : NAN), jnum("std", st->n > 0 ? sqrt(st->m2 / st->n) : NAN);
    jopen("labels", '[');
    for (int i = 0; i < h->nlabl; i++) printf("%s", i ? ", " : ""), json_str(h->labels[i]);
    jclose(']');
    jclose('}');
    printf("\n");
}

static cg_status info_mrc(const char *path) {
    cg_mrc_header h;
    stats st;
    cg_status s = cg_mrc_read_header(path, &h);
    if (s == CG_OK) s = mrc_stats(path, &h, &st);
    if (s != CG_OK) return s;
    if (g_json) mrc_json(path, &h, &st);
    else mrc_text(path, &h, &st);
    return CG_OK;
}

/* ---------------------------------------------------------------- particles ------------- */
static void particle_summary(const char *path) {
    cg_particles *p = NULL;
    cg_status s = cg_particles_read(path, &p);
    if (s != CG_OK) {
        if (g_json) jstr("particle_summary_error", cg_last_error());
        else printf("particle summary unavailable: %s\n", cg_last_error());
        return;
    }
    double dmin = INFINITY, dmax = -INFINITY;
    int groups = 0, *seen = cg_calloc(1025, sizeof(int), "groups"), missing = 0;
    for (int64_t i = 0; i < p->n; i++) {
        dmin = fmin(dmin, fmin(p->ctf[i].defocus_u_A, p->ctf[i].defocus_v_A));
        dmax = fmax(dmax, fmax(p->ctf[i].defocus_u_A, p->ctf[i].defocus_v_A));
        int g = p->optics_group[i] < 0 ? 0 : p->optics_group[i] > 1024 ? 1024 : p->optics_group[i];
        if (seen && !seen[g]++) groups++;
    }
    free(seen);
    for (int k = 0; k < p->nstacks; k++) missing += !p->stack_found[k];
    if (g_json) {
        jopen("particles", '{');
        jint("n", p->n), jint("box", p->image_size), jnum("pixel_size_A", p->pixel_size_A), jint("optics_groups", groups);
        jint("has_poses", p->has_poses), jint("has_shifts", p->has_shifts), jint("has_ctf", p->has_ctf);
        jnum("defocus_min_A", p->has_ctf ? dmin : NAN), jnum("defocus_max_A", p->has_ctf ? dmax : NAN);
        jint("stacks", p->nstacks), jint("stacks_missing", missing);
        jclose('}');
    } else {
        printf("particles: %lld, box %d px, %.5g A/px, %d optics group%s, %d stack%s", (long long)p->n, p->image_size,
               p->pixel_size_A, groups, groups == 1 ? "" : "s", p->nstacks, p->nstacks == 1 ? "" : "s");
        if (missing) printf(" (%d not found)", missing);
        printf("\n  poses %s, shifts %s, CTF %s", p->has_poses ? "yes" : "no", p->has_shifts ? "yes" : "no",
               p->has_ctf ? "yes" : "no");
        if (p->has_ctf && p->n > 0) printf(", defocus %.1f to %.1f A", dmin, dmax);
        printf("\n");
    }
    cg_particles_free(p);
}

/* ---------------------------------------------------------------- STAR ------------------ */
static cg_status info_star(const char *path) {
    cg_star *s;
    cg_status rc = cg_star_read(path, &s);
    if (rc != CG_OK) return rc;
    int particles = 0;
    if (g_json) jopen(NULL, '{'), jstr("file", path), jstr("kind", "star"), jopen("blocks", '[');
    else printf("%s: STAR, %d block%s\n", path, cg_star_nblocks(s), cg_star_nblocks(s) == 1 ? "" : "s");
    for (int i = 0; i < cg_star_nblocks(s); i++) {
        const cg_star_block *b = cg_star_block_at(s, i);
        particles |= cg_star_find_col(b, "rlnImageName") >= 0;
        if (g_json) {
            jopen(NULL, '{');
            jstr("name", cg_star_block_name(b)), jint("loop", cg_star_block_is_loop(b)), jint("rows", cg_star_nrows(b));
            jopen("labels", '[');
            for (int c = 0; c < cg_star_ncols(b); c++) printf("%s", c ? ", " : ""), json_str(cg_star_label(b, c));
            jclose(']');
            jclose('}');
            continue;
        }
        printf("  data_%s: %s, %lld row%s, %d label%s\n", cg_star_block_name(b), cg_star_block_is_loop(b) ? "loop" : "key-value",
               (long long)cg_star_nrows(b), cg_star_nrows(b) == 1 ? "" : "s", cg_star_ncols(b), cg_star_ncols(b) == 1 ? "" : "s");
        for (int c = 0; c < cg_star_ncols(b); c++)
            printf(cg_star_block_is_loop(b) ? "    _%s\n" : "    _%s = %s\n", cg_star_label(b, c), cg_star_get(b, 0, c));
    }
    if (g_json) jclose(']');
    cg_star_free(s);
    if (particles) particle_summary(path);
    if (g_json) jclose('}'), printf("\n");
    return CG_OK;
}

/* ---------------------------------------------------------------- .cs ------------------- */
static void shape_str(const cg_cs_field *f, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < f->ndim && k < n; d++) k += (size_t)snprintf(buf + k, n - k, "%d%s", f->shape[d], f->ndim == 1 ? "," : d + 1 < f->ndim ? ", " : "");
    if (k < n) snprintf(buf + k, n - k, ")");
}

static cg_status info_cs(const char *path) {
    cg_cs *cs;
    cg_status rc = cg_cs_read(path, &cs);
    if (rc != CG_OK) return rc;
    if (g_json) {
        jopen(NULL, '{');
        jstr("file", path), jstr("kind", "cs"), jint("rows", cg_cs_nrows(cs)), jint("record_bytes", cg_cs_record_bytes(cs));
        jopen("fields", '[');
    } else {
        printf("%s: NumPy structured array (npy v%d), %lld rows of %lld bytes, %d fields\n", path, cg_cs_version(cs),
               (long long)cg_cs_nrows(cs), (long long)cg_cs_record_bytes(cs), cg_cs_nfields(cs));
    }
    for (int i = 0; i < cg_cs_nfields(cs); i++) {
        const cg_cs_field *f = cg_cs_field_at(cs, i);
        char shape[64] = "";
        if (f->ndim) shape_str(f, shape, sizeof shape);
        if (g_json) {
            jopen(NULL, '{');
            jstr("name", f->name), jstr("dtype", f->dtype), jstr("shape", shape), jint("offset", f->offset);
            jclose('}');
        } else {
            printf("  %-28s %-6s %s\n", f->name, f->dtype, shape);
        }
    }
    if (g_json) jclose(']');
    int particles = cg_cs_find_field(cs, "blob/path") >= 0;
    cg_cs_free(cs);
    if (particles) particle_summary(path);
    if (g_json) jclose('}'), printf("\n");
    return CG_OK;
}

/* ---------------------------------------------------------------- dispatch -------------- */
static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

static char sniff(const char *path) {
    const char *mrc[] = {".mrc", ".mrcs", ".map", ".ccp4", ".st", ".rec"};
    for (int i = 0; i < 6; i++)
        if (ends_with(path, mrc[i])) return 'm';
    if (ends_with(path, ".star")) return 's';
    if (ends_with(path, ".cs") || ends_with(path, ".npy")) return 'c';
    FILE *f = fopen(path, "rb");
    unsigned char b[1024];
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    if (n >= 6 && !memcmp(b, "\x93NUMPY", 6)) return 'c';
    cg_mrc_header h;
    cg_log_level lv = cg_log_get_level();
    cg_log_set_level(CG_LOG_ERROR);
    int is_mrc = n == sizeof b && cg_mrc_parse_header(b, n, cg_file_size(path), path, &h) == CG_OK;
    cg_log_set_level(lv);
    return is_mrc ? 'm' : 's';
}

static int run(int argc, char **argv) {
    int json = 0;
    const cg_opt opts[] = {{"json", 0, CG_OPT_FLAG, &json, NULL, "print one JSON object per file"}, {0}};
    const cg_cli_spec spec = {
        "cryogen info FILE... [--json]",
        "Describe MRC/MRCS maps and stacks (header and data statistics), STAR files (blocks, rows, labels, "
        "particle summary) and cryoSPARC .cs files (fields, dtypes, shapes).",
        opts, 1, 64, "  cryogen info particles.star\n  cryogen info --json map.mrc"};
    const char *pos[64];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    g_json = json;
    for (int i = 0; i < npos; i++) {
        if (!cg_file_exists(pos[i])) {
            cg_error(CG_ERR_IO, "%s: no such file", pos[i]);
            return cg_cli_fail("info", CG_ERR_IO);
        }
        char kind = sniff(pos[i]);
        g_first = 1;
        cg_status s = kind == 'm' ? info_mrc(pos[i]) : kind == 'c' ? info_cs(pos[i]) : info_star(pos[i]);
        fflush(stdout);
        if (s != CG_OK) return cg_cli_fail("info", s);
    }
    return CG_EXIT_OK;
}

const cg_cli_command cg_cmd_info = {"info", "describe MRC, STAR and cryoSPARC .cs files", run};
