/* `cryogen train-vae`: train the cryoDRGN-style VAE on particles with known poses
 * (library: src/vae/, include/cryogen/vae.h; docs/vae.md). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cryogen/vae.h"

/* The words of the option values, indexed by the config value they set. */
static const char *const pe_names[] = {"gaussian", "geom_lowf", NULL};                         /* cg_vae_pe */
static const char *const encoder_names[] = {"variational", "deterministic", NULL};            /* deterministic */
static const char *const latents_names[] = {"encoder", "table", NULL};                        /* table */
static const char *const input_names[] = {"images", "permuted", "noise", "fresh-noise", NULL}; /* cg_vae_enc_input */

/* --load takes the model and optimiser options from the latest checkpoint in DIR. An option typed
 * on the command line that disagrees with it is a usage error rather than silently ignored. */
static int check_load_options(int argc, char **argv, const char *dir, const cg_vae_config *want) {
    int e, rc = -1;
    char *path = NULL;
    cg_vae_state *st = cg_calloc(1, sizeof *st, "VAE state");
    if (!st) return cg_cli_fail("train-vae", CG_ERR_NOMEM);
    /* a missing or unreadable checkpoint is reported by the training itself */
    if (!cg_vae_find_latest(dir, &e, &path) && !cg_vae_read_state(path, st)) {
        const cg_vae_config *h = &st->cfg;
        const cg_cli_stored tab[] = {
            {"zdim", want->zdim, h->zdim, NULL},
            {"enc-dim", want->enc_dim, h->enc_dim, NULL},
            {"enc-layers", want->enc_layers, h->enc_layers, NULL},
            {"dec-dim", want->dec_dim, h->dec_dim, NULL},
            {"dec-layers", want->dec_layers, h->dec_layers, NULL},
            {"encoder", want->deterministic, h->deterministic, encoder_names},
            {"latents", want->table, h->table, latents_names},
            {"encoder-input", want->encoder_input, h->encoder_input, input_names},
            {"pe", want->pe, h->pe, pe_names},
            {"pe-dim", want->pe_dim ? want->pe_dim : h->D / 2, h->pe_dim, NULL},
            {"feat-sigma", want->feat_sigma, h->feat_sigma, NULL},
            {"beta", want->beta < 0 ? 1.0 / h->zdim : want->beta, h->beta, NULL},
            {"lr", want->lr, h->lr, NULL},
            {"batch", want->batch, h->batch, NULL},
            {"seed", (double)want->seed, (double)h->seed, NULL}};
        rc = cg_cli_check_stored("train-vae", argc, argv, path, tab, sizeof tab / sizeof tab[0]);
    }
    cg_clear_error();
    free(path);
    free(st);
    return rc;
}

static int run(int argc, char **argv) {
    int zdim = 0, epochs = 0, batch = 16, pe_dim = 0;
    int enc_dim = 256, enc_layers = 3, dec_dim = 256, dec_layers = 3;
    double beta = -1, lr = 1e-4, sigma = 0.5;
    int64_t norm_sample = 1000;
    uint64_t seed = 0;
    const char *out = NULL, *load = NULL, *pe = "gaussian", *encoder = "variational", *latents = "encoder", *enc_input = "images";
    const cg_opt opts[] = {
        {"zdim", 0, CG_OPT_INT, &zdim, "Z", "latent dimension (required unless --load)"},
        {"epochs", 'n', CG_OPT_INT, &epochs, "E", "total number of epochs (required)"},
        {"out", 'o', CG_OPT_STRING, &out, "DIR", "output folder (required)"},
        {"load", 0, CG_OPT_STRING, &load, "DIR",
         "resume from the latest weights.E.ckpt in DIR (model and optimiser options come from it; typing one "
         "with another value is an error)"},
        {"enc-dim", 0, CG_OPT_INT, &enc_dim, "W", "encoder hidden width"},
        {"enc-layers", 0, CG_OPT_INT, &enc_layers, "L", "encoder hidden->hidden layers"},
        {"dec-dim", 0, CG_OPT_INT, &dec_dim, "W", "decoder hidden width"},
        {"dec-layers", 0, CG_OPT_INT, &dec_layers, "L", "decoder hidden->hidden layers"},
        {"encoder", 0, CG_OPT_STRING, &encoder, "KIND", "variational (VAE) or deterministic (auto-encoder: z = encoder output, no KL)"},
        {"latents", 0, CG_OPT_STRING, &latents, "KIND",
         "encoder, or table: a per-particle table of latents trained by Adam instead of an encoder"},
        {"encoder-input", 0, CG_OPT_STRING, &enc_input, "KIND",
         "images, or a control (docs/vae.md; the decoder still fits each particle's own image): permuted (another "
         "particle's image, DIR/twins.txt), noise (fixed per particle) or fresh-noise (new at every visit)"},
        {"pe", 0, CG_OPT_STRING, &pe, "KIND", "positional encoding: gaussian or geom_lowf"},
        {"pe-dim", 0, CG_OPT_INT, &pe_dim, "K", "encoding frequencies per axis (0: D/2)"},
        {"feat-sigma", 0, CG_OPT_DOUBLE, &sigma, "S", "scale of the Gaussian features"},
        {"beta", 0, CG_OPT_DOUBLE, &beta, "B", "KL weight (negative: 1/zdim)"},
        {"lr", 0, CG_OPT_DOUBLE, &lr, "LR", "Adam learning rate"},
        {"batch", 'b', CG_OPT_INT, &batch, "B", "images per minibatch"},
        {"norm-sample", 0, CG_OPT_INT64, &norm_sample, "N", "particles used to estimate the normalisation"},
        {"seed", 0, CG_OPT_U64, &seed, "SEED", "random seed (weights, minibatch order, noise)"},
        {0}};
    const cg_cli_spec spec = {
        "cryogen train-vae PARTICLES.star|.cs --zdim Z --epochs E --out DIR [options]",
        "Train a cryoDRGN-style VAE (Zhong et al. 2021) on particles with known poses and CTF: an MLP encoder\n"
        "of the phase-flipped Hartley image, an MLP decoder of positional encodings of 3D frequencies and z,\n"
        "MSE in Hartley space through the CTF plus beta * KL. Every epoch E writes DIR/weights.E.ckpt,\n"
        "DIR/z.E.txt (latent means, one row per particle in file order), DIR/logvar.E.txt (variational\n"
        "encoder only) and DIR/loss.txt.\n"
        "Same seed and thread count give the same bytes; a run resumed with --load gives the bytes of an\n"
        "uninterrupted one.",
        opts, 1, 1,
        "  cryogen train-vae sim/particles.star --zdim 8 --epochs 20 --out vae -j 2\n"
        "  cryogen train-vae sim/particles.star --epochs 30 --load vae --out vae   # 10 more epochs"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!out) return cg_cli_usage_error(argv[0], "--out DIR is required");
    if (epochs < 1) return cg_cli_usage_error(argv[0], "--epochs E is required (E >= 1)");
    if (!load && zdim < 1) return cg_cli_usage_error(argv[0], "--zdim must be at least 1 (got %d)", zdim);
    cg_vae_train_opts o;
    memset(&o, 0, sizeof o);
    o.particles = pos[0], o.out_dir = out, o.load_dir = load, o.epochs = epochs, o.norm_sample = norm_sample;
    o.cfg = cg_vae_config_default(0, zdim);
    o.cfg.enc_dim = enc_dim, o.cfg.enc_layers = enc_layers, o.cfg.dec_dim = dec_dim, o.cfg.dec_layers = dec_layers;
    if ((o.cfg.pe = cg_cli_word_index(pe, pe_names)) < 0)
        return cg_cli_usage_error(argv[0], "--pe %s: use gaussian or geom_lowf", pe);
    if ((o.cfg.deterministic = cg_cli_word_index(encoder, encoder_names)) < 0)
        return cg_cli_usage_error(argv[0], "--encoder %s: use variational or deterministic", encoder);
    if ((o.cfg.table = cg_cli_word_index(latents, latents_names)) < 0)
        return cg_cli_usage_error(argv[0], "--latents %s: use encoder or table", latents);
    if ((o.cfg.encoder_input = cg_cli_word_index(enc_input, input_names)) < 0)
        return cg_cli_usage_error(argv[0], "--encoder-input %s: use images, permuted, noise or fresh-noise", enc_input);
    o.cfg.pe_dim = pe_dim, o.cfg.feat_sigma = sigma, o.cfg.beta = beta, o.cfg.lr = lr, o.cfg.batch = batch;
    o.cfg.seed = seed;
    if (load && (rc = check_load_options(argc, argv, load, &o.cfg)) >= 0) return rc;
    cg_status s = cg_vae_train(&o);
    if (!s) printf("trained %d epochs; outputs in %s\n", epochs, out);
    return s ? cg_cli_fail(argv[0], s) : 0;
}

const cg_cli_command cg_cmd_train_vae = {"train-vae", "train a cryoDRGN-style VAE on posed particles", run};
