/* Ground-truth outputs of `cryogen simulate --model` (see cli_simulate.h): the model spec, the
 * per-particle parameters, and volumes on a grid of parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_simulate.h"
#include "cryogen/mrc.h"

static cg_status write_params(const char *path, const cg_sim_particle *parts, int64_t n, int dim, const char *prov) {
    cg_outfile o;
    cg_status s = cg_outfile_open(&o, path);
    if (s) return s;
    fprintf(o.fp, "# %s\n# image (1-based, as rlnImageName)  parameter%s\n", prov, dim == 2 ? "_1  parameter_2" : "");
    for (int64_t i = 0; i < n; i++) {
        fprintf(o.fp, "%lld %.9g", (long long)i + 1, parts[i].conf[0]);
        if (dim == 2) fprintf(o.fp, " %.9g", parts[i].conf[1]);
        fprintf(o.fp, "\n");
    }
    return cg_outfile_commit(&o);
}

/* the grid of parameters: every state (discrete), grid points per axis otherwise */
static int grid_params(const cg_conf_model *m, int grid, double (*p)[2], int max) {
    int k = 0;
    if (cg_conf_nstates(m)) {
        for (int s = 0; s < cg_conf_nstates(m) && k < max; s++) p[k][0] = s, p[k][1] = 0, k++;
        return k;
    }
    double lo[2] = {0, 0}, hi[2] = {0, 0};
    for (int j = 0; j < cg_conf_param_dim(m); j++) cg_conf_param_range(m, j, &lo[j], &hi[j]);
    int g2 = cg_conf_param_dim(m) == 2 ? grid : 1;
    for (int b = 0; b < g2; b++)
        for (int a = 0; a < grid && k < max; a++, k++) {
            p[k][0] = grid > 1 ? lo[0] + (hi[0] - lo[0]) * a / (grid - 1) : 0.5 * (lo[0] + hi[0]);
            p[k][1] = g2 > 1 ? lo[1] + (hi[1] - lo[1]) * b / (g2 - 1) : 0.5 * (lo[1] + hi[1]);
        }
    return k;
}

static cg_status write_gt_volumes(const char *dir, const cg_conf_spec *spec, const cg_conf_model *m,
                                  const cg_sim_config *cfg, int grid, const char *prov) {
    enum { MAXV = 400 };
    double(*p)[2] = malloc(sizeof(double[2]) * MAXV);
    char *vd = cg_path_join(dir, "gt_volumes");
    const int D = cfg->D;
    float *vol = cg_malloc((size_t)D * D * D, sizeof(float), "ground-truth volume");
    cg_atom *at = cg_malloc((size_t)cg_conf_max_atoms(m), sizeof(cg_atom), "atoms");
    cg_status s = (p && vd && vol && at) ? cg_mkdir_p(vd) : CG_ERR_NOMEM;
    int k = s ? 0 : grid_params(m, grid, p, MAXV), dim = cg_conf_param_dim(m);
    double c[3];
    cg_conf_centre(m, c);
    cg_outfile list = {0};
    if (!s) s = cg_outfile_open_in(&list, vd, "params.txt");
    if (!s) fprintf(list.fp, "# %s\n# volume  parameter%s\n", prov, dim == 2 ? "_1  parameter_2" : "");
    for (int i = 0; !s && i < k; i++) {
        int64_t n;
        char name[64], label[80];
        snprintf(name, sizeof name, "vol_%03d.mrc", i);
        char *path = cg_path_join(vd, name);
        s = path ? cg_conf_atoms(m, p[i], at, &n) : CG_ERR_NOMEM;
        if (!s) s = cg_atoms_to_volume(at, n, &spec->gauss, D, cfg->pixel_size_A, c, vol);
        snprintf(label, sizeof label, "ground truth %s parameter %.6g %.6g", spec->model, p[i][0], p[i][1]);
        if (!s) s = cg_mrc_write(path, vol, D, D, D, (float)cfg->pixel_size_A, 0, label);
        if (!s) {
            fprintf(list.fp, "%s %.9g", name, p[i][0]);
            if (dim == 2) fprintf(list.fp, " %.9g", p[i][1]);
            fprintf(list.fp, "\n");
        }
        free(path);
    }
    if (!s) s = cg_outfile_commit(&list);
    else cg_outfile_abort(&list);
    free(p), free(vd), free(vol), free(at);
    return s;
}

cg_status cg_tool_write_ground_truth(const char *dir, const cg_conf_spec *spec, const cg_conf_model *m,
                                     const cg_sim_config *cfg, const cg_sim_particle *parts, int64_t n, int grid,
                                     const char *prov) {
    char *ms = cg_path_join(dir, "model.txt"), *gt = cg_path_join(dir, "ground_truth.txt");
    cg_status s = (ms && gt) ? cg_conf_spec_write(spec, ms, prov) : CG_ERR_NOMEM;
    if (!s) s = write_params(gt, parts, n, cg_conf_param_dim(m), prov);
    if (!s) s = write_gt_volumes(dir, spec, m, cfg, grid, prov);
    if (!s) printf("  ground truth: %s (per image), %s, %s/gt_volumes/ (%s model)\n", gt, ms, dir, spec->model);
    free(ms), free(gt);
    return s;
}
