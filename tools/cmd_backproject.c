/* `cryogen backproject PARTICLES.star --out MAP.mrc`: reconstruction with known poses, the
 * same algorithm as relion_reconstruct --ctf (include/cryogen/recon.h), plus half maps and the
 * gold-standard FSC. Images are streamed from the stacks (one per thread in memory).
 * Outputs (all computed first, then each written atomically): MAP.mrc, MAP_half1.mrc,
 * MAP_half2.mrc, MAP_fsc.json, MAP_fsc.svg (MAP = --out without its .mrc suffix).
 * Halves: rlnRandomSubset when every selected particle has it, else alternating. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_maps.h"
#include "cryogen/metrics.h"
#include "cryogen/mrc.h"
#include "cryogen/particles.h"
#include "cryogen/recon.h"

typedef struct {
    const char *out, *wiener, *ind_path, *fsc_json, *fsc_svg;
    int no_ctf, no_halves, gridding_iter;
    int64_t first;
    double fsc_mask_radius_A;
} bp_opts;

typedef struct {
    float *full, *half[2];
    cg_fsc_result fsc;
    int have_fsc;
    double wiener_const; /* > 0: constant SSNR; 0: off; < 0: auto */
    cg_recon_stats stats;
    double cpu_s, wall_s;
} bp_result;

static cg_status read_image(void *user, int64_t i, float *out) { return cg_particles_read_image(user, i, out); }

/* Indices from a text file: whitespace-separated 0-based integers, '#' comments. */
static cg_status read_indices(const char *path, int64_t n, int64_t **idx, int64_t *count) {
    FILE *f = fopen(path, "r");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open the index file", path);
    int64_t cap = 1024, k = 0;
    int64_t *v = cg_malloc(cap, sizeof *v, "indices");
    char tok[64];
    cg_status st = v ? CG_OK : CG_ERR_NOMEM;
    while (!st && fscanf(f, " %63s", tok) == 1) {
        if (tok[0] == '#') {
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n') {
            }
            continue;
        }
        char *end;
        long long x = strtoll(tok, &end, 10);
        if (*end || x < 0 || x >= n) {
            st = cg_error(CG_ERR_RANGE, "%s: '%s' is not a particle index in 0..%lld (0-based)", path, tok,
                          (long long)n - 1);
            break;
        }
        if (k == cap) {
            int64_t *nv = realloc(v, sizeof *v * (size_t)(cap *= 2));
            if (!nv) st = cg_error(CG_ERR_NOMEM, "indices");
            else v = nv;
        }
        if (!st) v[k++] = x;
    }
    fclose(f);
    if (!st && k == 0) st = cg_error(CG_ERR_ARG, "%s holds no indices", path);
    if (st) free(v);
    else *idx = v, *count = k;
    return st;
}

static char *derived(const char *out, const char *suffix) {
    size_t n = strlen(out);
    if (n > 4 && !strcmp(out + n - 4, ".mrc")) n -= 4;
    char *s = malloc(n + strlen(suffix) + 1);
    if (s) {
        memcpy(s, out, n);
        strcpy(s + n, suffix);
    }
    return s;
}

/* Finish the requested maps: halves (with FSC) and the full map; Wiener as configured. */
static cg_status finish_all(const cg_recon_accum *acc, const bp_opts *o, double px, float *mask, bp_result *r) {
    const int D = cg_recon_accum_size(acc), ns = D / 2 + 1, nh = cg_recon_accum_nhalves(acc);
    double ssnr_h[ns], ssnr_f[ns];
    cg_recon_finish_params fp;
    cg_recon_finish_params_default(&fp);
    fp.gridding_iter = o->gridding_iter;
    if (r->wiener_const > 0) {
        for (int s = 0; s < ns; s++) ssnr_h[s] = ssnr_f[s] = r->wiener_const;
        fp.ssnr = ssnr_h;
    }
    cg_status st = CG_OK;
    for (int h = 0; h < nh && !st; h++) st = cg_recon_finish(acc, h, &fp, r->half[h]);
    if (!st && nh == 2) st = cg_fsc_compute(r->half[0], r->half[1], D, px, mask, &r->fsc);
    if (!st && nh == 2 && r->wiener_const < 0) { /* auto: SSNR from the unregularised halves */
        cg_recon_ssnr_from_fsc(r->fsc.fsc, ns, 0, ssnr_h);
        cg_recon_ssnr_from_fsc(r->fsc.fsc, ns, 1, ssnr_f);
        fp.ssnr = ssnr_h;
        for (int h = 0; h < 2 && !st; h++) st = cg_recon_finish(acc, h, &fp, r->half[h]);
        cg_fsc_result_free(&r->fsc);
        if (!st) st = cg_fsc_compute(r->half[0], r->half[1], D, px, mask, &r->fsc);
    }
    r->have_fsc = !st && nh == 2;
    if (r->wiener_const > 0 || r->wiener_const < 0) fp.ssnr = ssnr_f;
    if (!st) st = cg_recon_finish(acc, -1, &fp, r->full);
    return st;
}

static cg_status write_fsc_json(const char *path, const char *star, const bp_opts *o, const bp_result *r,
                                int64_t nparticles) {
    cg_outfile f;
    cg_status st = cg_outfile_open(&f, path);
    if (st) return st;
    char prov[256];
    fprintf(f.fp, "{\n  \"command\": \"backproject\",\n  \"provenance\": ");
    cli_json_str(f.fp, cg_provenance(prov, sizeof prov, CG_NO_SEED));
    fprintf(f.fp, ",\n  \"particles\": ");
    cli_json_str(f.fp, star);
    fprintf(f.fp, ",\n  \"particles_in_file\": %lld,\n  \"particles_used\": %lld,\n  \"half_counts\": [%lld, %lld],\n"
                  "  \"halves_from\": \"%s\",\n  \"ctf\": %s,\n  \"gridding_iter\": %d,\n  \"wiener_snr\": ",
            (long long)nparticles, (long long)r->stats.used, (long long)r->stats.half_count[0],
            (long long)r->stats.half_count[1], r->stats.subsets_from_file ? "rlnRandomSubset" : "alternating",
            o->no_ctf ? "false" : "true", o->gridding_iter);
    if (r->wiener_const < 0) fputs("\"auto\"", f.fp);
    else if (r->wiener_const > 0) fprintf(f.fp, "%g", r->wiener_const);
    else fputs("null", f.fp);
    fprintf(f.fp, ",\n  \"cpu_seconds\": %.2f,\n  \"wall_seconds\": %.2f,\n  \"fsc_half_maps\": ", r->cpu_s, r->wall_s);
    cg_fsc_json_write(f.fp, &r->fsc, 2);
    fprintf(f.fp, "\n}\n");
    return cg_outfile_commit(&f);
}

static cg_status write_outputs(const char *star, const bp_opts *o, const bp_result *r, int D, double px,
                               int64_t nparticles) {
    char label[80];
    snprintf(label, sizeof label, "cryogen backproject %.50s", star);
    cg_status st = cg_mrc_write(o->out, r->full, D, D, D, (float)px, 0, label);
    char *h1 = derived(o->out, "_half1.mrc"), *h2 = derived(o->out, "_half2.mrc");
    char *js = o->fsc_json ? NULL : derived(o->out, "_fsc.json"), *sv = o->fsc_svg ? NULL : derived(o->out, "_fsc.svg");
    if (!h1 || !h2 || (!o->fsc_json && !js) || (!o->fsc_svg && !sv)) st = st ? st : CG_ERR_NOMEM;
    if (!st && r->have_fsc) {
        st = cg_mrc_write(h1, r->half[0], D, D, D, (float)px, 0, label);
        if (!st) st = cg_mrc_write(h2, r->half[1], D, D, D, (float)px, 0, label);
        if (!st) st = write_fsc_json(o->fsc_json ? o->fsc_json : js, star, o, r, nparticles);
        const cg_fsc_result *c[1] = {&r->fsc};
        const char *lab[1] = {"half 1 vs half 2"};
        char title[160];
        snprintf(title, sizeof title, "Gold-standard FSC (0.143: %.2f \u00c5)", r->fsc.res_fsc0143_A);
        if (!st) st = cg_fsc_plot_save(o->fsc_svg ? o->fsc_svg : sv, c, lab, 1, title);
    }
    free(h1);
    free(h2);
    free(js);
    free(sv);
    return st;
}

static cg_status select_particles(const cg_particles *p, const bp_opts *o, int64_t **sel, int64_t *nsel) {
    *sel = NULL;
    *nsel = p->n;
    if (o->ind_path) {
        cg_status st = read_indices(o->ind_path, p->n, sel, nsel);
        if (st) return st;
    }
    if (o->first > 0 && o->first < *nsel) *nsel = o->first;
    if (!*sel && *nsel < p->n) { /* --first without --ind: the first N particles */
        *sel = cg_malloc(*nsel, sizeof(int64_t), "selection");
        if (!*sel) return CG_ERR_NOMEM;
        for (int64_t i = 0; i < *nsel; i++) (*sel)[i] = i;
    }
    return CG_OK;
}

static const char *in_ctf_word(const cg_particles *p, const bp_opts *o) {
    return o->no_ctf ? "off (--no-ctf)" : p->has_ctf ? "weighted" : "absent from the file";
}

static cg_status do_backproject(const char *star, const bp_opts *o, bp_result *r) {
    cg_particles *p = NULL;
    cg_recon_accum *acc = NULL;
    int64_t *sel = NULL, nsel = 0;
    float *mask = NULL;
    double t0 = cg_time_s(), c0 = cg_cpu_time_s();
    cg_status st = cg_particles_read(star, &p);
    if (!st && !p->has_poses)
        st = cg_error(CG_ERR_FORMAT, "%s has no poses (rlnAngleRot/Tilt/Psi): back-projection needs them", star);
    if (!st) st = cg_particles_open_stacks(p);
    if (!st) st = select_particles(p, o, &sel, &nsel);
    const int D = p ? p->image_size : 0;
    if (!st) st = cg_recon_accum_create(&acc, D, o->no_halves ? 1 : 2);
    if (!st) {
        cg_recon_input in = {.n = p->n, .D = D, .pixel_size_A = p->pixel_size_A, .euler_rad = p->euler_rad,
                             .origin_A = p->has_shifts ? p->shift_A : NULL,
                             .ctf = (p->has_ctf && !o->no_ctf) ? p->ctf : NULL, .subset = p->random_subset,
                             .select = sel, .nselect = nsel, .read_image = read_image, .user = p};
        if (!p->has_ctf && !o->no_ctf) CG_WARN("%s has no CTF parameters: reconstructing without CTF weighting", star);
        cg_progress prog;
        cg_progress_begin(&prog, "backproject", "images", nsel);
        st = cg_recon_backproject(&in, acc, &prog, &r->stats);
        cg_progress_end(&prog);
    }
    size_t nv = (size_t)D * D * D;
    if (!st) {
        r->full = cg_malloc(nv, sizeof(float), "map");
        for (int h = 0; h < 2; h++) r->half[h] = cg_malloc(nv, sizeof(float), "half map");
        if (!r->full || !r->half[0] || !r->half[1]) st = CG_ERR_NOMEM;
    }
    if (!st) st = cli_make_mask(NULL, o->fsc_mask_radius_A, 0, D, p->pixel_size_A, &mask);
    if (!st) st = finish_all(acc, o, p->pixel_size_A, mask, r);
    r->cpu_s = cg_cpu_time_s() - c0;
    r->wall_s = cg_time_s() - t0;
    if (!st) {
        printf("back-projected %lld of %lld particles (%lld + %lld, halves %s), box %d, %.4f A/px, CTF %s\n",
               (long long)r->stats.used, (long long)p->n, (long long)r->stats.half_count[0],
               (long long)r->stats.half_count[1],
               o->no_halves ? "off" : r->stats.subsets_from_file ? "from rlnRandomSubset" : "alternating", D,
               p->pixel_size_A, in_ctf_word(p, o));
        if (r->have_fsc)
            printf("gold-standard FSC: %.2f A at 0.143, %.2f A at 0.5, FSC area %.4f\n", r->fsc.res_fsc0143_A,
                   r->fsc.res_fsc05_A, r->fsc.area);
        st = write_outputs(star, o, r, D, p->pixel_size_A, p->n);
        printf("time: %.1f s wall, %.1f s CPU (user+sys)\n", r->wall_s, cg_cpu_time_s() - c0);
    }
    free(mask);
    free(sel);
    cg_recon_accum_destroy(acc);
    cg_particles_free(p);
    return st;
}

static int parse_wiener(const char *w, double *out) {
    if (!w || !strcmp(w, "off")) return *out = 0, 0;
    if (!strcmp(w, "auto")) return *out = -1, 0;
    char *end;
    double v = strtod(w, &end);
    if (*end || !(v > 0) || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int run(int argc, char **argv) {
    bp_opts o = {.gridding_iter = 10, .wiener = "off"};
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &o.out, "MAP.mrc", "output map (required); half maps and FSC go next to it"},
        {"no-ctf", 0, CG_OPT_FLAG, &o.no_ctf, NULL, "ignore the CTF (plain back-projection, weight 1)"},
        {"gridding-iter", 0, CG_OPT_INT, &o.gridding_iter, "N", "iterations of RELION's gridding weights"},
        {"wiener-snr", 0, CG_OPT_STRING, &o.wiener, "S|auto|off",
         "Wiener term: constant SSNR S, or 'auto' from the half-map FSC (off = relion_reconstruct)"},
        {"ind", 0, CG_OPT_STRING, &o.ind_path, "FILE", "use only these particles (0-based indices, whitespace-separated)"},
        {"first", 0, CG_OPT_INT64, &o.first, "N", "use only the first N (selected) particles (0: all)"},
        {"no-half-maps", 0, CG_OPT_FLAG, &o.no_halves, NULL, "one map only (no half maps, no FSC; faster)"},
        {"fsc-mask-radius-A", 0, CG_OPT_DOUBLE, &o.fsc_mask_radius_A, "R",
         "soft spherical mask for the half-map FSC (0: none)"},
        {"fsc-json", 0, CG_OPT_STRING, &o.fsc_json, "FILE", "FSC JSON path (default MAP_fsc.json)"},
        {"fsc-svg", 0, CG_OPT_STRING, &o.fsc_svg, "FILE", "FSC plot path (default MAP_fsc.svg)"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen backproject PARTICLES.star --out MAP.mrc [options]",
        "Reconstruction with known poses and shifts, as relion_reconstruct --ctf: per image FFT, shift by\n"
        "+origin, multiply by the CTF, trilinear splat of X*CTF and CTF^2 into a 2x-padded Fourier grid, then\n"
        "RELION's iterative gridding weights, inverse FFT, window and sinc^2 correction. Half maps (from\n"
        "rlnRandomSubset, else alternating) give the gold-standard FSC. Images are streamed from the stacks;\n"
        "threads work on contiguous blocks and their grids are summed in a fixed order (-j changes the result\n"
        "only by float rounding). Also reads cryoSPARC .cs files.",
        opts, 1, 1,
        "  cryogen backproject particles.star --out map.mrc\n"
        "  cryogen backproject particles.star --out map.mrc --wiener-snr auto --first 10000 -j 8"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!o.out) return cg_cli_usage_error("backproject", "--out MAP.mrc is required");
    bp_result r;
    memset(&r, 0, sizeof r);
    if (parse_wiener(o.wiener, &r.wiener_const))
        return cg_cli_usage_error("backproject", "--wiener-snr wants a positive number, 'auto' or 'off' (got '%s')",
                                  o.wiener);
    if (r.wiener_const < 0 && o.no_halves)
        return cg_cli_usage_error("backproject", "--wiener-snr auto needs half maps (drop --no-half-maps)");
    if (o.gridding_iter < 0 || o.first < 0)
        return cg_cli_usage_error("backproject", "--gridding-iter and --first must not be negative");
    cg_status st = do_backproject(pos[0], &o, &r);
    free(r.full);
    free(r.half[0]);
    free(r.half[1]);
    cg_fsc_result_free(&r.fsc);
    return st ? cg_cli_fail("backproject", st) : CG_EXIT_OK;
}

const cg_cli_command cg_cmd_backproject = {"backproject", "reconstruct a map from particles with known poses (RELION-style)",
                                           run};
