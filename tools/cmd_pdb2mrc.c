/* `cryogen pdb2mrc`: the electron scattering potential of an atomic model (PDB or mmCIF) on a
 * voxel grid, as an MRC map (like EMAN's e2pdb2mrc or ChimeraX's molmap, but with the Peng
 * 1996 electron scattering factors; see include/cryogen/atoms.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cryogen/atoms.h"
#include "cryogen/mrc.h"

static int parse_xyz(const char *s, double c[3]) {
    char *e;
    for (int k = 0; k < 3; k++) {
        c[k] = strtod(s, &e);
        if (e == s || (k < 2 && *e != ',') || (k == 2 && *e)) return -1;
        s = e + 1;
    }
    return 0;
}

static int run(int argc, char **argv) {
    int box = 64, no_file_b = 0, no_h = 0, model = 1;
    double apix = 1.5, bextra = 0;
    const char *out = NULL, *centre = NULL;
    const cg_opt opts[] = {
        {"out", 'o', CG_OPT_STRING, &out, "MAP.mrc", "output map (required)"},
        {"box", 0, CG_OPT_INT, &box, "D", "box size in voxels"},
        {"apix", 0, CG_OPT_DOUBLE, &apix, "A", "voxel size in Angstrom"},
        {"bfactor-extra", 0, CG_OPT_DOUBLE, &bextra, "B", "added to every atom's B-factor, A^2 (blurs the map)"},
        {"no-file-bfactor", 0, CG_OPT_FLAG, &no_file_b, NULL, "ignore the B-factors in the file (use only --bfactor-extra)"},
        {"no-hydrogens", 0, CG_OPT_FLAG, &no_h, NULL, "leave hydrogen atoms out"},
        {"centre", 0, CG_OPT_STRING, &centre, "X,Y,Z", "model point at the box centre, A (default: centroid)"},
        {"model", 0, CG_OPT_INT, &model, "N", "model number in a multi-model file"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen pdb2mrc MODEL.pdb|MODEL.cif --out MAP.mrc [options]",
        "Electron scattering potential of an atomic model as a map: each atom a sum of 5 Gaussians\n"
        "(Peng et al. 1996), integrated exactly over each voxel. Centre voxel D/2 holds --centre.",
        opts, 1, 1, "  cryogen pdb2mrc adk_open.pdb --box 64 --apix 1.5 --bfactor-extra 50 --out adk.mrc"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!out) return cg_cli_usage_error(argv[0], "--out MAP.mrc is required");
    if (box < 2 || box > 1024) return cg_cli_usage_error(argv[0], "--box %d: must be between 2 and 1024", box);
    if (!(apix > 0)) return cg_cli_usage_error(argv[0], "--apix %g: must be positive", apix);
    if (model < 1) return cg_cli_usage_error(argv[0], "--model %d: models are numbered from 1", model);
    double c[3];
    if (centre && parse_xyz(centre, c)) return cg_cli_usage_error(argv[0], "--centre expects X,Y,Z, got '%s'", centre);
    cg_atoms *a;
    cg_status s = cg_atoms_read(pos[0], model > 1 ? CG_ATOMS_ALL_MODELS : CG_ATOMS_FIRST_MODEL, &a);
    if (s) return cg_cli_fail(argv[0], s);
    int64_t first = 0, last = a->n;
    if (model > 1 && (s = cg_atoms_model_range(a, model, &first, &last))) {
        cg_atoms_free(a);
        return cg_cli_fail(argv[0], s);
    }
    if (!centre) cg_atoms_centroid(a->atoms + first, last - first, c);
    cg_gauss_opts o = cg_gauss_opts_default();
    o.use_file_bfactor = !no_file_b;
    o.bfactor_extra_A2 = bextra;
    o.skip_hydrogens = no_h;
    float *vol = cg_malloc((size_t)box * box * box, sizeof(float), "map");
    if (!vol) {
        cg_atoms_free(a);
        return cg_cli_fail(argv[0], CG_ERR_NOMEM);
    }
    double t0 = cg_time_s();
    s = cg_atoms_to_volume(a->atoms + first, last - first, &o, box, apix, c, vol);
    char label[80];
    snprintf(label, sizeof label, "pdb2mrc %.60s", pos[0]);
    if (!s) s = cg_mrc_write(out, vol, box, box, box, (float)apix, 0, label);
    if (!s)
        printf("%s: %lld atoms -> %d^3 map at %.3f A/voxel, centre (%.2f, %.2f, %.2f) A, %.2f s\nwrote %s\n", pos[0],
               (long long)(last - first), box, apix, c[0], c[1], c[2], cg_time_s() - t0, out);
    free(vol);
    cg_atoms_free(a);
    return s ? cg_cli_fail(argv[0], s) : 0;
}

const cg_cli_command cg_cmd_pdb2mrc = {"pdb2mrc", "atomic model (PDB/mmCIF) to a potential map (MRC)", run};
