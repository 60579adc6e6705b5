/* `cryogen simulate`: particle images from a volume with random (or given) poses, shifts and
 * CTFs, plus white noise at a target SNR. Library part: src/physics/simulate.c; output driver:
 * tools/cli_simulate.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_simulate.h"
#include "cryogen/mrc.h"
#include "cryogen/particles.h"

/* Read V.mrc, check it is a cube, set cfg->D and (unless overridden) the pixel size. */
static cg_status load_volume(const char *path, double pixel_override_A, float **vol, cg_sim_config *cfg) {
    cg_mrc_header h;
    cg_status s = cg_mrc_read(path, &h, vol);
    if (s != CG_OK) return s;
    if (h.nx != h.ny || h.nx != h.nz) {
        free(*vol);
        *vol = NULL;
        return cg_error(CG_ERR_ARG, "%s: volume is %d x %d x %d; simulate needs a cube (pad or crop it first)", path,
                        h.nx, h.ny, h.nz);
    }
    cfg->D = h.nx;
    cfg->pixel_size_A = pixel_override_A > 0 ? pixel_override_A : h.pixel_size_A[0];
    if (!(cfg->pixel_size_A > 0)) {
        free(*vol);
        *vol = NULL;
        return cg_error(CG_ERR_ARG, "%s: the header gives no pixel size; set --pixel-size-A", path);
    }
    return CG_OK;
}

/* Particles from --poses: angles and shifts (and defocus if present) from the STAR; first n. */
static cg_status load_poses(const char *path, const cg_sim_config *cfg, int64_t *n, cg_sim_particle **out) {
    cg_particles *p = NULL;
    cg_status s = cg_particles_read(path, &p);
    if (s != CG_OK) return s;
    if (!p->has_poses) {
        cg_particles_free(p);
        return cg_error(CG_ERR_ARG, "%s: no rlnAngleRot/Tilt/Psi columns to take poses from", path);
    }
    if (*n <= 0) *n = p->n;
    if (*n > p->n) {
        int64_t have = p->n;
        cg_particles_free(p);
        return cg_error(CG_ERR_ARG, "--n %lld but %s holds %lld particles", (long long)*n, path, (long long)have);
    }
    if (fabs(p->pixel_size_A - cfg->pixel_size_A) > 1e-3 * cfg->pixel_size_A)
        CG_WARN("%s: pixel size %g A differs from the volume's %g A; shifts in A are kept, images use %g A/px", path,
                p->pixel_size_A, cfg->pixel_size_A, cfg->pixel_size_A);
    cg_sim_particle *parts = cg_malloc((size_t)*n, sizeof *parts, "particles");
    if (!parts) {
        cg_particles_free(p);
        return CG_ERR_NOMEM;
    }
    for (int64_t i = 0; i < *n; i++) {
        cg_sim_draw_particle(cfg, i, &parts[i]); /* defocus when the STAR has none */
        for (int k = 0; k < 3; k++) parts[i].euler_rad[k] = p->euler_rad[3 * i + k];
        parts[i].origin_A[0] = p->has_shifts ? p->shift_A[2 * i] : 0;
        parts[i].origin_A[1] = p->has_shifts ? p->shift_A[2 * i + 1] : 0;
        if (p->has_ctf) parts[i].ctf = p->ctf[i];
    }
    cg_particles_free(p);
    *out = parts;
    return CG_OK;
}

/* --model: fill the spec from the options; errors are usage errors */
typedef struct {
    const char *name, *pdb, *probs;
    double residues[2], range[2], bextra;
    int box, grid, no_file_b, no_h;
} model_opts;

static cg_status model_spec(const model_opts *mo, double pixel_A, cg_conf_spec *sp) {
    cg_conf_spec_init(sp);
    snprintf(sp->model, sizeof sp->model, "%s", mo->name);
    if (mo->pdb) {
        char buf[8192];
        snprintf(buf, sizeof buf, "%s", mo->pdb);
        for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
            if (sp->nfiles == CG_CONF_MAX_FILES) return cg_error(CG_ERR_ARG, "--pdb: at most %d files", CG_CONF_MAX_FILES);
            char *abs = realpath(t, NULL); /* recorded absolute, so evaluation works from anywhere */
            if (!abs) return cg_error(CG_ERR_ARG, "--pdb: %s: cannot find the file", t);
            snprintf(sp->files[sp->nfiles++], sizeof sp->files[0], "%s", abs);
            free(abs);
        }
    }
    if (mo->probs) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", mo->probs);
        for (char *t = strtok(buf, ","); t && sp->nprob < CG_CONF_MAX_FILES; t = strtok(NULL, ","))
            sp->prob[sp->nprob++] = atof(t);
    }
    sp->res_first = (int)mo->residues[0];
    sp->res_last = (int)mo->residues[1];
    if (!isnan(mo->range[0])) {
        sp->has_range = 1;
        sp->range[0] = mo->range[0];
        sp->range[1] = mo->range[1];
    }
    sp->box_A = mo->box * pixel_A;
    sp->gauss.bfactor_extra_A2 = mo->bextra;
    sp->gauss.use_file_bfactor = !mo->no_file_b;
    sp->gauss.skip_hydrogens = mo->no_h;
    return CG_OK;
}

static int run(int argc, char **argv) {
    const char *volume = NULL, *poses = NULL, *out = NULL;
    int64_t n = 0;
    int no_ctf = 0, no_clean = 0;
    double pixel_A = 0, defocus[2] = {10000, 25000};
    model_opts mo = {NULL, NULL, NULL, {0, 0}, {NAN, NAN}, 0, 64, 10, 0, 0};
    cg_sim_config cfg = cg_sim_config_default();
    cfg.seed = 0;
    const cg_opt opts[] = {
        {"volume", 0, CG_OPT_STRING, &volume, "V.mrc", "input volume (cubic MRC)"},
        {"n", 0, CG_OPT_INT64, &n, "N", "number of particles (default with --poses: all of them)"},
        {"out", 'o', CG_OPT_STRING, &out, "DIR", "output directory (created)"},
        {"poses", 0, CG_OPT_STRING, &poses, "STAR", "take angles, shifts and defocus from this STAR instead of drawing them"},
        {"shift-A", 0, CG_OPT_DOUBLE, &cfg.shift_sd_A, "S", "standard deviation of the random particle translation per axis, A"},
        {"defocus-A", 0, CG_OPT_RANGE, defocus, "MIN:MAX", "mean defocus drawn uniformly in this range, A (underfocus > 0)"},
        {"astig-A", 0, CG_OPT_DOUBLE, &cfg.astig_A, "A", "astigmatism dU - dV, A; the angle is uniform in [0, 180) deg"},
        {"voltage-kV", 0, CG_OPT_DOUBLE, &cfg.ctf.voltage_kV, "KV", "acceleration voltage"},
        {"cs-mm", 0, CG_OPT_DOUBLE, &cfg.ctf.cs_mm, "MM", "spherical aberration"},
        {"amp-contrast", 0, CG_OPT_DOUBLE, &cfg.ctf.amp_contrast, "W", "amplitude contrast"},
        {"snr", 0, CG_OPT_DOUBLE, &cfg.snr, "SNR", "signal variance (inside r <= D/2) / noise variance; 'inf': no noise"},
        {"seed", 0, CG_OPT_U64, &cfg.seed, "SEED", "random seed (poses, shifts, defocus, noise)"},
        {"no-ctf", 0, CG_OPT_FLAG, &no_ctf, NULL, "do not apply a CTF"},
        {"no-clean", 0, CG_OPT_FLAG, &no_clean, NULL, "do not write DIR/clean.mrcs (halves the output)"},
        {"pixel-size-A", 0, CG_OPT_DOUBLE, &pixel_A, "A", "pixel size override (default: from the volume header)"},
        {"oversample", 0, CG_OPT_INT, &cfg.oversample, "P", "Fourier padding of the projector"},
        {"model", 0, CG_OPT_STRING, &mo.name, "NAME",
         "heterogeneous data from a conformational model instead of --volume: morph, hinge, discrete, lids, capsid, synthetic"},
        {"pdb", 0, CG_OPT_STRING, &mo.pdb, "A.pdb[,B.pdb..]", "atomic models (morph: 2, hinge: 1, discrete: one per state)"},
        {"residues", 0, CG_OPT_RANGE, mo.residues, "FIRST:LAST", "hinge: residues of the moving domain"},
        {"param-range", 0, CG_OPT_RANGE, mo.range, "MIN:MAX", "hinge/lids/capsid/synthetic: angle range, degrees"},
        {"probabilities", 0, CG_OPT_STRING, &mo.probs, "P1,P2..", "discrete: state probabilities (default equal)"},
        {"box", 0, CG_OPT_INT, &mo.box, "D", "--model: box size in pixels"},
        {"bfactor-extra", 0, CG_OPT_DOUBLE, &mo.bextra, "B", "--model: B-factor added to every atom, A^2"},
        {"no-file-bfactor", 0, CG_OPT_FLAG, &mo.no_file_b, NULL, "--model: ignore the atomic B-factors in the files"},
        {"no-hydrogens", 0, CG_OPT_FLAG, &mo.no_h, NULL, "--model: leave hydrogens out"},
        {"gt-grid", 0, CG_OPT_INT, &mo.grid, "K", "--model: ground-truth volumes at K parameter values per axis"},
        {0},
    };
    const cg_cli_spec spec = {
        "cryogen simulate --volume V.mrc --n N --out DIR [options]",
        "Simulate cryo-EM particle images: Fourier-slice projections at uniform random (or given) orientations,\n"
        "shifted by -origin, multiplied by the RELION CTF, plus white Gaussian noise. Writes DIR/particles.mrcs,\n"
        "DIR/clean.mrcs (the same images without noise) and DIR/particles.star (RELION 3.1, image names relative\n"
        "to DIR: run RELION from inside DIR). Results are identical for any thread count.",
        opts, 0, 0,
        "  cryogen simulate --volume vol.mrc --n 10000 --snr 0.1 --defocus-A 8000:20000 --shift-A 10 --out sim\n"
        "  cryogen simulate --volume vol.mrc --poses refined.star --snr inf --no-ctf --out proj\n"
        "  cryogen simulate --model morph --pdb adk_open.pdb,adk_closed.pdb --n 10000 --pixel-size-A 1.5 --out adk\n"
        "  cryogen simulate --model synthetic --n 2000 --pixel-size-A 1.5 --out syn   (ground truth in syn/)"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!volume && !mo.name) return cg_cli_usage_error("simulate", "--volume V.mrc or --model NAME is required");
    if (volume && mo.name) return cg_cli_usage_error("simulate", "give --volume or --model, not both");
    if (mo.name && poses) return cg_cli_usage_error("simulate", "--poses is not supported with --model yet");
    if (mo.name && (mo.box < 8 || mo.box > 1024)) return cg_cli_usage_error("simulate", "--box %d: must be in [8, 1024]", mo.box);
    if (mo.name && mo.grid < 1) return cg_cli_usage_error("simulate", "--gt-grid %d: must be >= 1", mo.grid);
    if (!out) return cg_cli_usage_error("simulate", "--out is required");
    if (!poses && n <= 0) return cg_cli_usage_error("simulate", "--n must be a positive number of particles (or give --poses)");
    if (n < 0) return cg_cli_usage_error("simulate", "--n must be positive");
    cfg.apply_ctf = !no_ctf;
    cfg.defocus_min_A = defocus[0];
    cfg.defocus_max_A = defocus[1];

    float *vol = NULL;
    cg_sim_particle *parts = NULL;
    cg_conf_spec mspec;
    cg_conf_model *model = NULL;
    cg_status s = CG_OK;
    if (mo.name) {
        cfg.D = mo.box;
        cfg.pixel_size_A = pixel_A > 0 ? pixel_A : 1.5;
        s = model_spec(&mo, cfg.pixel_size_A, &mspec);
        if (s == CG_OK) s = cg_conf_from_spec(&model, &mspec);
    } else {
        s = load_volume(volume, pixel_A, &vol, &cfg);
    }
    if (s == CG_OK) s = cg_sim_config_check(&cfg);
    if (s == CG_OK && poses) s = load_poses(poses, &cfg, &n, &parts);
    if (s == CG_OK && !poses) {
        parts = cg_malloc((size_t)n, sizeof *parts, "particles");
        if (!parts) s = CG_ERR_NOMEM;
        for (int64_t i = 0; parts && i < n; i++) {
            cg_sim_draw_particle(&cfg, i, &parts[i]);
            if (model) cg_sim_draw_conformation(model, cfg.seed, i, parts[i].conf);
        }
    }
    if (s == CG_OK) {
        cg_sim_output o = {out, "simulate", 0, no_clean, model, model ? &mspec.gauss : NULL};
        s = cg_tool_simulate(vol, &cfg, parts, n, &o);
    }
    if (s == CG_OK && model) {
        char prov[256];
        cg_tool_provenance(prov, sizeof prov, "simulate", cfg.seed);
        int grid = cg_conf_param_dim(model) == 2 && mo.grid == 10 ? 5 : mo.grid; /* 2D default: 5 x 5 */
        s = cg_tool_write_ground_truth(out, &mspec, model, &cfg, parts, n, grid, prov);
    }
    cg_conf_destroy(model);
    free(vol);
    free(parts);
    return s == CG_OK ? CG_EXIT_OK : cg_cli_fail("simulate", s);
}

const cg_cli_command cg_cmd_simulate = {"simulate", "simulate particle images (projection, shift, CTF, noise)", run};
