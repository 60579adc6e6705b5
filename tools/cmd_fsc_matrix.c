/* `cryogen fsc-matrix LIST | A.mrc B.mrc ...`: the FSC cross-conformation matrix of
 * Multi-CryoGAN (Gupta et al. 2020): entry (i, j) is the FSC area (CryoBench definition, in
 * cycles/px, at most 0.5) between volumes i and j. LIST is a text file with one MRC path per
 * line (blank lines and lines starting with '#' ignored; relative paths are taken relative
 * to the list's directory first, then the working directory). Outputs: the matrix on stdout,
 * --json, --svg (heat map with a colour bar); files are written after everything is computed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_maps.h"
#include "cryogen/metrics.h"
#include "cryogen/plot.h"

typedef struct {
    char **paths;
    int n;
} path_list;

static void free_list(path_list *l) {
    for (int i = 0; i < l->n; i++) free(l->paths[i]);
    free(l->paths);
}

static cg_status push(path_list *l, const char *dir, const char *p) {
    char **np = realloc(l->paths, sizeof(char *) * (l->n + 1));
    if (!np) return cg_error(CG_ERR_NOMEM, "volume list");
    l->paths = np;
    char *full = (dir && p[0] != '/') ? cg_path_join(dir, p) : NULL;
    if (full && !cg_file_exists(full)) {
        free(full);
        full = NULL;
    }
    size_t n = strlen(p) + 1;
    l->paths[l->n] = full ? full : malloc(n);
    if (!l->paths[l->n]) return cg_error(CG_ERR_NOMEM, "volume list");
    if (!full) memcpy(l->paths[l->n], p, n);
    l->n++;
    return CG_OK;
}

static cg_status read_list(const char *path, path_list *l) {
    FILE *f = fopen(path, "r");
    if (!f) return cg_error(CG_ERR_IO, "%s: cannot open the volume list", path);
    char *dir = cg_path_dirname(path), line[4096];
    cg_status st = CG_OK;
    while (!st && fgets(line, sizeof line, f)) {
        char *s = line, *e;
        while (*s == ' ' || *s == '\t') s++;
        for (e = s + strlen(s); e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'); e--) *(e - 1) = 0;
        if (*s && *s != '#') st = push(l, dir, s);
    }
    fclose(f);
    free(dir);
    if (!st && l->n < 2) st = cg_error(CG_ERR_ARG, "%s lists %d volume(s); at least 2 are needed", path, l->n);
    return st;
}

static cg_status write_json(const char *path, const path_list *l, const double *m, double px, int N) {
    cg_outfile o;
    cg_status st = cg_outfile_open(&o, path);
    if (st) return st;
    char prov[256];
    fprintf(o.fp, "{\n  \"command\": \"fsc-matrix\",\n  \"provenance\": ");
    cli_json_str(o.fp, cg_provenance(prov, sizeof prov, CG_NO_SEED));
    fprintf(o.fp, ",\n  \"metric\": \"FSC area (cycles/px, max 0.5)\",\n  \"box\": %d,\n  \"pixel_size_A\": %g,\n"
                  "  \"volumes\": [",
            N, px);
    for (int i = 0; i < l->n; i++) {
        fputs(i ? ", " : "", o.fp);
        cli_json_str(o.fp, l->paths[i]);
    }
    fprintf(o.fp, "],\n  \"matrix\": [\n");
    for (int i = 0; i < l->n; i++) {
        fputs("    [", o.fp);
        for (int j = 0; j < l->n; j++) fprintf(o.fp, "%s%.6f", j ? ", " : "", m[(size_t)i * l->n + j]);
        fprintf(o.fp, "]%s\n", i + 1 < l->n ? "," : "");
    }
    fprintf(o.fp, "  ]\n}\n");
    return cg_outfile_commit(&o);
}

static cg_status load_all(const path_list *l, float ***vols, int *N, double *px) {
    *vols = cg_calloc(l->n, sizeof **vols, "volumes");
    if (!*vols) return CG_ERR_NOMEM;
    cg_status st = CG_OK;
    for (int i = 0; i < l->n && !st; i++) {
        int Ni;
        double pxi;
        st = cli_read_volume(l->paths[i], &(*vols)[i], &Ni, &pxi);
        if (!st && i == 0) *N = Ni, *px = pxi;
        if (!st && Ni != *N)
            st = cg_error(CG_ERR_ARG, "%s is %d^3 but %s is %d^3: all volumes must share one box", l->paths[i], Ni,
                          l->paths[0], *N);
    }
    return st;
}

static int run(int argc, char **argv) {
    const char *json = NULL, *svg = NULL, *mask_path = NULL;
    double radius_A = 0, edge_A = 0, px_opt = 0;
    const cg_opt opts[] = {
        {"svg", 0, CG_OPT_STRING, &svg, "FILE.svg", "heat map of the matrix with a colour bar"},
        {"json", 0, CG_OPT_STRING, &json, "FILE", "matrix and volume list as JSON"},
        {"mask", 0, CG_OPT_STRING, &mask_path, "M.mrc", "mask volume multiplied into every map"},
        {"mask-radius-A", 0, CG_OPT_DOUBLE, &radius_A, "R", "soft spherical mask of radius R A (0: none)"},
        {"mask-edge-A", 0, CG_OPT_DOUBLE, &edge_A, "E", "cosine edge of the spherical mask in A (0: 3 px)"},
        {"pixel-size-A", 0, CG_OPT_DOUBLE, &px_opt, "PX", "override the pixel size of the headers"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen fsc-matrix LIST.txt | A.mrc B.mrc [C.mrc ...] [options]",
        "FSC cross-conformation matrix (Multi-CryoGAN): the FSC area between every pair of volumes (all with\n"
        "the same box). LIST.txt holds one MRC path per line. Each volume is Fourier-transformed once.",
        opts, 1, 100000, "  cryogen fsc-matrix volumes.txt --svg matrix.svg --json matrix.json"};
    const char **pos = malloc(sizeof(char *) * (size_t)(argc > 1 ? argc : 1));
    int npos, rc = pos ? cg_cli_parse(&spec, argc, argv, pos, &npos) : CG_EXIT_FAIL;
    if (rc >= 0) {
        free(pos);
        return rc;
    }
    path_list l = {0};
    cg_status st = CG_OK;
    if (npos == 1) st = read_list(pos[0], &l);
    for (int i = 0; i < npos && npos > 1 && !st; i++) st = push(&l, NULL, pos[i]);
    free(pos);
    float **vols = NULL, *mask = NULL;
    int N = 0;
    double px = 0;
    double *m = NULL;
    if (!st) st = load_all(&l, &vols, &N, &px);
    if (!st && px_opt > 0) px = px_opt;
    if (!st && !(px > 0)) px = 1.0;
    if (!st) st = cli_make_mask(mask_path, radius_A, edge_A, N, px, &mask);
    if (!st) m = cg_malloc((size_t)l.n * l.n, sizeof(double), "FSC matrix");
    if (!st && !m) st = CG_ERR_NOMEM;
    if (!st) st = cg_fsc_matrix((const float *const *)vols, l.n, N, mask, m);
    if (!st) {
        printf("# FSC area matrix (cycles/px, at most 0.5), box %d\n", N);
        for (int i = 0; i < l.n; i++) printf("# %3d %s\n", i, l.paths[i]);
        for (int i = 0; i < l.n; i++) {
            for (int j = 0; j < l.n; j++) printf("%s%.4f", j ? " " : "", m[(size_t)i * l.n + j]);
            printf("\n");
        }
    }
    if (!st && json) st = write_json(json, &l, m, px, N);
    if (!st && svg) {
        cg_heatmap h = {.title = "FSC cross-conformation matrix", .xlabel = "volume", .ylabel = "volume",
                        .colorbar_label = "FSC area (cycles/px)", .values = m, .nrows = l.n, .ncols = l.n,
                        .annotate = 1};
        st = cg_plot_heatmap_save(svg, &h);
    }
    for (int i = 0; vols && i < l.n; i++) free(vols[i]);
    free(vols);
    free(mask);
    free(m);
    free_list(&l);
    return st ? cg_cli_fail("fsc-matrix", st) : CG_EXIT_OK;
}

const cg_cli_command cg_cmd_fsc_matrix = {"fsc-matrix", "FSC-area matrix between every pair of volumes", run};
