/* The VAE model: encoder MLP (phase-flipped Hartley values in the disc -> mu, logvar),
 * reparameterisation, decoder MLP on positional encodings of rotated central-slice
 * coordinates + z (-> Re, Im of the volume's DFT), half-lattice evaluation with Hermitian
 * mirroring, the CTF-weighted Hartley MSE + beta * KL / n_disc loss with its hand-written
 * backward pass, Adam, checkpoints, and volume generation.
 *
 * Conventions and the Hartley mirror relation: include/cryogen/vae.h. cryoDRGN facts (models.py
 * HetOnlyVAE / FTPositionalDecoder / ResidLinearMLP, train_vae.py loss_function; Zhong et al.
 * 2021): the encoder and decoder are ResidLinearMLP(in, layers, dim, out) with ReLU; the
 * decoder input is the positional encoding followed by z; Gaussian features use
 * 3 * pe_dim random frequencies ~ N(0, sigma^2) scaled by D/2.
 *
 * Row layout of the decoder batch: row b * nh + j is half-lattice point j of image b.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/nn.h"
#include "cryogen/vae.h"

struct cg_vae {
    cg_vae_config cfg;
    cg_vae_lattice L;
    cg_nn_mlp *enc, *dec;  /* enc is NULL in table mode */
    cg_nn_params tab;      /* table mode: "mu" [N][zdim], "logvar" [N][zdim] (variational only) */
    int pe_out;        /* encoding width without z */
    int dec_in;        /* pe_out + zdim */
    float *pe_param;   /* Gaussian B[3 pe_dim][3] or geometric freqs[pe_dim] */
    int64_t pe_count;
    int64_t max_rows;  /* batch * nh */
    float *enc_in;     /* [batch][n] */
    float *mu, *logvar, *z, *eps, *dz, *denc; /* [batch][zdim] ([batch][2 zdim] for denc) */
    float *coords;     /* [max_rows][3 + zdim] */
    uint8_t *refl;     /* [max_rows] 1 where the point was reflected to the lower half */
    float *dec_x;      /* [max_rows][dec_in] */
    float *ddec;       /* [max_rows][2] */
    float *H;          /* [batch][n] decoded Hartley slices */
    double *part;      /* [batch] per-image squared error */
    cg_nn_params ck;   /* enc.*, dec.*, pe.*: the checkpoint layout */
    int ck_pe;         /* index of the encoding tensor in ck */
};

cg_vae_config cg_vae_config_default(int D, int zdim) {
    cg_vae_config c;
    memset(&c, 0, sizeof c);
    c.D = D, c.zdim = zdim;
    c.enc_dim = 256, c.enc_layers = 3, c.dec_dim = 256, c.dec_layers = 3;
    c.pe = CG_VAE_PE_GAUSSIAN, c.pe_dim = 0, c.batch = 16, c.act = CG_NN_ACT_RELU;
    c.feat_sigma = 0.5, c.beta = -1, c.lr = 1e-4, c.seed = 0;
    c.pixel_size_A = 1, c.norm_std = 1;
    return c;
}

static uint64_t mix64(uint64_t x) { /* splitmix64 finaliser: independent seeds per network */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static cg_status validate(cg_vae_config *c) {
    if (c->D < 8 || c->D % 2 || c->D > 1024) return cg_error(CG_ERR_ARG, "VAE: box size %d must be even and in [8, 1024]", c->D);
    if (c->zdim < 1 || c->zdim > 1024) return cg_error(CG_ERR_ARG, "VAE: --zdim %d must be in [1, 1024]", c->zdim);
    if (c->enc_dim < 1 || c->dec_dim < 1 || c->enc_layers < 0 || c->dec_layers < 0)
        return cg_error(CG_ERR_ARG, "VAE: network widths must be >= 1 and layer counts >= 0 (got enc %d x %d, dec %d x %d)",
                        c->enc_dim, c->enc_layers, c->dec_dim, c->dec_layers);
    if (c->pe != CG_VAE_PE_GAUSSIAN && c->pe != CG_VAE_PE_GEOM_LOWF) return cg_error(CG_ERR_ARG, "VAE: unknown encoding %d", c->pe);
    if (c->pe_dim == 0) c->pe_dim = c->D / 2;
    if (c->pe_dim < 2 || c->pe_dim > 4096) return cg_error(CG_ERR_ARG, "VAE: --pe-dim %d must be in [2, 4096]", c->pe_dim);
    if (c->act < CG_NN_ACT_RELU || c->act > CG_NN_ACT_SOFTPLUS) return cg_error(CG_ERR_ARG, "VAE: unknown activation %d", c->act);
    if (c->deterministic != 0 && c->deterministic != 1) return cg_error(CG_ERR_ARG, "VAE: deterministic must be 0 or 1");
    if (c->table != 0 && c->table != 1) return cg_error(CG_ERR_ARG, "VAE: table must be 0 or 1");
    if (c->encoder_input < CG_VAE_ENC_IMAGES || c->encoder_input > CG_VAE_ENC_FRESH_NOISE)
        return cg_error(CG_ERR_ARG, "VAE: unknown encoder input %d", c->encoder_input);
    if (c->table && c->encoder_input != CG_VAE_ENC_IMAGES)
        return cg_error(CG_ERR_ARG, "VAE: --encoder-input permuted, noise or fresh-noise needs an encoder; not with --latents table");
    if (c->table && (c->n_table < 1 || c->n_table > ((int64_t)1 << 40) / c->zdim))
        return cg_error(CG_ERR_ARG, "VAE: latent table of %lld particles", (long long)c->n_table);
    if (c->batch < 1 || c->batch > 4096) return cg_error(CG_ERR_ARG, "VAE: --batch %d must be in [1, 4096]", c->batch);
    if (!(c->feat_sigma > 0)) return cg_error(CG_ERR_ARG, "VAE: --feat-sigma must be positive");
    if (!(c->lr > 0)) return cg_error(CG_ERR_ARG, "VAE: --lr must be positive");
    if (c->beta < 0) c->beta = 1.0 / c->zdim;
    if (!(c->norm_std > 0) || !(c->pixel_size_A > 0)) return cg_error(CG_ERR_ARG, "VAE: norm and pixel size must be positive");
    return CG_OK;
}

static cg_status add_prefixed(cg_nn_params *dst, const cg_nn_params *src, const char *prefix) {
    for (int t = 0; t < src->n_tensors; t++) {
        char name[CG_NN_NAME_MAX];
        size_t a = strlen(prefix), b = strlen(src->tensors[t].name);
        if (a + b >= sizeof name) return cg_error(CG_ERR_INTERNAL, "VAE: tensor name %s%s too long", prefix, src->tensors[t].name);
        memcpy(name, prefix, a);
        memcpy(name + a, src->tensors[t].name, b + 1);
        cg_status s = cg_nn_params_add(dst, name, src->tensors[t].ndim, src->tensors[t].shape, NULL);
        if (s) return s;
    }
    return CG_OK;
}

/* Table mode: mu ~ N(0, 0.1^2) from (seed', INIT, 0), logvar = -4 (posterior std 0.14), so
 * that the decoder sees distinct, not yet drowned latents from the start (a choice of ours:
 * cryoDRGN has no table mode). */
static cg_status table_create(cg_vae *v) {
    const cg_vae_config *c = &v->cfg;
    int64_t shp[2] = {c->n_table, c->zdim};
    cg_status s = cg_nn_params_add(&v->tab, "mu", 2, shp, NULL);
    if (!s && !c->deterministic) s = cg_nn_params_add(&v->tab, "logvar", 2, shp, NULL);
    if (!s) s = cg_nn_params_alloc(&v->tab);
    if (s) return s;
    cg_rng r;
    cg_rng_init(&r, mix64(c->seed ^ 0x746162ull), CG_RNG_STREAM_INIT, 0);
    float *mu = cg_nn_param(&v->tab, 0);
    for (int64_t i = 0; i < c->n_table * c->zdim; i++) mu[i] = (float)(0.1 * cg_rng_normal(&r));
    if (!c->deterministic) {
        float *lv = cg_nn_param(&v->tab, 1);
        for (int64_t i = 0; i < c->n_table * c->zdim; i++) lv[i] = -4.0f;
    }
    return CG_OK;
}

cg_status cg_vae_create(cg_vae **out, const cg_vae_config *cfg_in) {
    *out = NULL;
    cg_vae_config cfg = *cfg_in;
    cg_status s = validate(&cfg);
    if (s) return s;
    cg_vae *v = cg_calloc(1, sizeof *v, "VAE");
    if (!v) return CG_ERR_NOMEM;
    v->cfg = cfg;
    cg_nn_params_init(&v->ck);
    s = cg_vae_lattice_init(&v->L, cfg.D);
    const int n = v->L.n, zd = cfg.zdim;
    v->pe_out = 6 * cfg.pe_dim;
    v->dec_in = v->pe_out + zd;
    cg_nn_mlp_config ec = {n, cfg.enc_dim, cfg.deterministic ? zd : 2 * zd, cfg.enc_layers, 1, (cg_nn_act)cfg.act, 0.01f, CG_NN_INIT_TORCH};
    cg_nn_mlp_config dc = {v->dec_in, cfg.dec_dim, 2, cfg.dec_layers, 1, (cg_nn_act)cfg.act, 0.01f, CG_NN_INIT_TORCH};
    cg_nn_params_init(&v->tab);
    if (!s && !cfg.table) s = cg_nn_mlp_create(&v->enc, &ec, mix64(cfg.seed ^ 0x656e63ull));
    if (!s && cfg.table) s = table_create(v);
    if (!s) s = cg_nn_mlp_create(&v->dec, &dc, mix64(cfg.seed ^ 0x646563ull));
    v->max_rows = (int64_t)cfg.batch * v->L.nh;
    if (!s && v->enc) s = cg_nn_mlp_reserve(v->enc, cfg.batch);
    if (!s) s = cg_nn_mlp_reserve(v->dec, v->max_rows);
    if (!s) {
        const size_t B = (size_t)cfg.batch, R = (size_t)v->max_rows;
        v->pe_count = cfg.pe == CG_VAE_PE_GAUSSIAN ? 3 * 3 * (int64_t)cfg.pe_dim : cfg.pe_dim;
        v->pe_param = cg_malloc((size_t)v->pe_count, sizeof(float), "VAE encoding");
        v->enc_in = cg_malloc(B * n, sizeof(float), "VAE batch");
        v->mu = cg_malloc(B * zd, sizeof(float), "VAE batch");
        v->logvar = cg_malloc(B * zd, sizeof(float), "VAE batch");
        v->z = cg_malloc(B * zd, sizeof(float), "VAE batch");
        v->eps = cg_malloc(B * zd, sizeof(float), "VAE batch");
        v->dz = cg_malloc(B * zd, sizeof(float), "VAE batch");
        v->denc = cg_malloc(B * 2 * zd, sizeof(float), "VAE batch");
        v->coords = cg_malloc(R * (3 + zd), sizeof(float), "VAE decoder batch");
        v->refl = cg_malloc(R, 1, "VAE decoder batch");
        v->dec_x = cg_alloc_aligned(R * v->dec_in, sizeof(float), "VAE decoder batch");
        v->ddec = cg_malloc(R * 2, sizeof(float), "VAE decoder batch");
        v->H = cg_malloc(B * n, sizeof(float), "VAE batch");
        v->part = cg_malloc(B, sizeof(double), "VAE batch");
        if (!v->pe_param || !v->enc_in || !v->mu || !v->logvar || !v->z || !v->eps || !v->dz || !v->denc ||
            !v->coords || !v->refl || !v->dec_x || !v->ddec || !v->H || !v->part)
            s = CG_ERR_NOMEM;
    }
    if (!s) {
        if (cfg.pe == CG_VAE_PE_GAUSSIAN)
            cg_nn_posenc_gaussian_init(v->pe_param, 3 * cfg.pe_dim, (float)cfg.feat_sigma, cfg.seed, 1000);
        else
            cg_nn_posenc_geom_freqs(v->pe_param, cfg.pe_dim, cfg.D, CG_NN_POSENC_GEOM_LOWF);
        s = add_prefixed(&v->ck, cg_vae_encoder_params(v), cfg.table ? "table." : "enc.");
        if (!s) s = add_prefixed(&v->ck, cg_nn_mlp_params(v->dec), "dec.");
        int64_t shp[2] = {v->pe_count / 3, 3};
        if (cfg.pe != CG_VAE_PE_GAUSSIAN) shp[0] = v->pe_count;
        if (!s) s = cg_nn_params_add(&v->ck, cfg.pe == CG_VAE_PE_GAUSSIAN ? "pe.gaussian_B" : "pe.geom_freqs",
                                     cfg.pe == CG_VAE_PE_GAUSSIAN ? 2 : 1, shp, &v->ck_pe);
        if (!s) s = cg_nn_params_alloc(&v->ck);
    }
    if (s) {
        cg_vae_destroy(v);
        return s;
    }
    *out = v;
    return CG_OK;
}

void cg_vae_destroy(cg_vae *v) {
    if (!v) return;
    cg_vae_lattice_free(&v->L);
    cg_nn_mlp_destroy(v->enc), cg_nn_mlp_destroy(v->dec);
    free(v->pe_param), free(v->enc_in), free(v->mu), free(v->logvar), free(v->z), free(v->eps), free(v->dz);
    free(v->denc), free(v->coords), free(v->refl), free(v->dec_x), free(v->ddec), free(v->H);
    free(v->part);
    cg_nn_params_free(&v->ck);
    cg_nn_params_free(&v->tab);
    free(v);
}

const cg_vae_config *cg_vae_get_config(const cg_vae *v) { return &v->cfg; }
const cg_vae_lattice *cg_vae_get_lattice(const cg_vae *v) { return &v->L; }
cg_nn_params *cg_vae_encoder_params(cg_vae *v) { return v->enc ? cg_nn_mlp_params(v->enc) : &v->tab; }
cg_nn_params *cg_vae_decoder_params(cg_vae *v) { return cg_nn_mlp_params(v->dec); }

/* ---------------------------------------------------------------- decoder rows ---------- */
/* The lower half-space of the Hermitian rule: 1 when c must be reflected to -c. */
static inline int upper_half(const float c[3]) {
    return c[2] > 0 || (c[2] == 0 && (c[1] > 0 || (c[1] == 0 && c[0] > 0)));
}

/* coords row r = (c or -c, z), refl[r]. */
static inline void put_row(cg_vae *v, int64_t r, const float c[3], const float *z) {
    const int zd = v->cfg.zdim;
    float *row = v->coords + r * (3 + zd);
    int u = upper_half(c);
    v->refl[r] = (uint8_t)u;
    for (int a = 0; a < 3; a++) row[a] = u ? -c[a] : c[a];
    memcpy(row + 3, z, sizeof(float) * (size_t)zd);
}

/* Rows of the half lattice of image b at rotation A (k3 = A^T (kx, ky, 0) / D). */
static void slice_rows(cg_vae *v, int b, const double A[9], const float *z) {
    const cg_vae_lattice *L = &v->L;
    const double invD = 1.0 / v->cfg.D;
    for (int j = 0; j < L->nh; j++) {
        const int i = L->half[j];
        const double kx = L->kx[i], ky = L->ky[i];
        float c[3];
        for (int a = 0; a < 3; a++) c[a] = (float)((A[a] * kx + A[3 + a] * ky) * invD);
        put_row(v, (int64_t)b * L->nh + j, c, z);
    }
}

static void encode_rows(cg_vae *v, int64_t nrows) {
    const int zd = v->cfg.zdim;
    if (v->cfg.pe == CG_VAE_PE_GAUSSIAN)
        cg_nn_posenc_gaussian_forward(v->dec_x, v->coords, v->pe_param, nrows, 3 * v->cfg.pe_dim, zd,
                                      (float)(v->cfg.D / 2));
    else
        cg_nn_posenc_geom_forward(v->dec_x, v->coords, v->pe_param, nrows, v->cfg.pe_dim, zd);
}

/* Decoder output of one image's half rows -> H[n] (Hartley values on the whole disc). */
static void assemble(const cg_vae *v, const float *o, const uint8_t *refl, float *H) {
    const cg_vae_lattice *L = &v->L;
    for (int j = 0; j < L->nh; j++) {
        float re = o[2 * j], im = refl[j] ? -o[2 * j + 1] : o[2 * j + 1];
        H[L->half[j]] = re - im;
        if (L->mirror[j] >= 0) H[L->mirror[j]] = re + im;
    }
}

/* Adjoint of assemble: dH[n] -> d(net output)[nh][2] (=). */
static void assemble_backward(const cg_vae *v, const float *dH, const uint8_t *refl, float *dout) {
    const cg_vae_lattice *L = &v->L;
    for (int j = 0; j < L->nh; j++) {
        float gh = dH[L->half[j]], gm = L->mirror[j] >= 0 ? dH[L->mirror[j]] : 0.0f;
        float dre = gh + gm, dim = gm - gh;
        dout[2 * j] = dre;
        dout[2 * j + 1] = refl[j] ? -dim : dim;
    }
}

/* ---------------------------------------------------------------- training step --------- */
static void encoder_input(cg_vae *v, const float *y, const float *ctf, int B) {
    const int64_t n = (int64_t)B * v->L.n;
    for (int64_t i = 0; i < n; i++) v->enc_in[i] = ctf[i] > 0 ? y[i] : ctf[i] < 0 ? -y[i] : 0.0f; /* torch.sign */
}

/* mu, logvar of the batch (logvar only when variational): encoder forward or table rows. */
static cg_status latent_forward(cg_vae *v, const float *y, const float *ctf, const int64_t *idx, int B) {
    const int zd = v->cfg.zdim, det = v->cfg.deterministic;
    if (v->cfg.table) {
        if (!idx) return cg_error(CG_ERR_ARG, "VAE: table mode needs the particle indices");
        for (int b = 0; b < B; b++) {
            if (idx[b] < 0 || idx[b] >= v->cfg.n_table)
                return cg_error(CG_ERR_ARG, "VAE: particle %lld outside the latent table of %lld", (long long)idx[b],
                                (long long)v->cfg.n_table);
            memcpy(v->mu + b * zd, cg_nn_param(&v->tab, 0) + idx[b] * zd, sizeof(float) * zd);
            if (!det) memcpy(v->logvar + b * zd, cg_nn_param(&v->tab, 1) + idx[b] * zd, sizeof(float) * zd);
        }
        return CG_OK;
    }
    encoder_input(v, y, ctf, B);
    const float *eo;
    cg_status s = cg_nn_mlp_forward(v->enc, v->enc_in, B, &eo);
    if (s) return s;
    const int eo_w = det ? zd : 2 * zd;
    for (int b = 0; b < B; b++) {
        memcpy(v->mu + b * zd, eo + b * eo_w, sizeof(float) * zd);
        if (!det) memcpy(v->logvar + b * zd, eo + b * eo_w + zd, sizeof(float) * zd);
    }
    return CG_OK;
}

/* Backward from dz (v->dz [B][zdim]) through the reparameterisation and the KL term to the
 * encoder (its backward) or the table rows idx[b] (gradients +=; a particle appears once per
 * batch). */
static cg_status latent_backward(cg_vae *v, const int64_t *idx, int B) {
    const int zd = v->cfg.zdim, det = v->cfg.deterministic, n = v->L.n;
    float *tmu = v->H, *tlv = v->H + (int64_t)B * zd; /* scratch [B][zd] each (H is free now) */
    memset(tmu, 0, sizeof(float) * (size_t)B * zd * 2);
    if (det) {
        memcpy(tmu, v->dz, sizeof(float) * (size_t)B * zd); /* z = mu */
    } else {
        cg_nn_reparam_backward(tmu, tlv, v->dz, v->eps, v->logvar, B, zd);
        cg_nn_kl_normal_backward(tmu, tlv, v->mu, v->logvar, B, zd, (float)(v->cfg.beta / n));
    }
    if (v->cfg.table) {
        float *gmu = cg_nn_grad(&v->tab, 0), *glv = det ? NULL : cg_nn_grad(&v->tab, 1);
        for (int b = 0; b < B; b++)
            for (int k = 0; k < zd; k++) {
                gmu[idx[b] * zd + k] += tmu[b * zd + k];
                if (glv) glv[idx[b] * zd + k] += tlv[b * zd + k];
            }
        return CG_OK;
    }
    const int w = det ? zd : 2 * zd; /* encoder output row: [mu | logvar] or [z] */
    for (int b = 0; b < B; b++) {
        memcpy(v->denc + b * w, tmu + b * zd, sizeof(float) * zd);
        if (!det) memcpy(v->denc + b * w + zd, tlv + b * zd, sizeof(float) * zd);
    }
    return cg_nn_mlp_backward(v->enc, v->denc, NULL);
}

cg_status cg_vae_loss_grad(cg_vae *v, const float *y, const float *ctf, const float *enc_y, const float *enc_ctf,
                           const double *A, const int64_t *idx, int B, int64_t noise_row0, cg_vae_losses *out) {
    if (B < 1 || B > v->cfg.batch) return cg_error(CG_ERR_ARG, "VAE: batch of %d images, model reserved %d", B, v->cfg.batch);
    const int n = v->L.n, nh = v->L.nh, zd = v->cfg.zdim;
    const int64_t rows = (int64_t)B * nh;
    /* latent: encoder or table */
    cg_status s = latent_forward(v, enc_y ? enc_y : y, enc_ctf ? enc_ctf : ctf, idx, B);
    if (s) return s;
    const int det = v->cfg.deterministic;
    double kl = 0;
    if (det) {
        memcpy(v->z, v->mu, sizeof(float) * (size_t)B * zd);
    } else {
        cg_nn_reparam_forward(v->z, v->eps, v->mu, v->logvar, B, zd, v->cfg.seed, CG_RNG_STREAM_TRAIN, noise_row0);
        kl = cg_nn_kl_normal_forward(v->mu, v->logvar, B, zd);
    }
    /* decoder on the half lattices */
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) slice_rows(v, b, A + 9 * b, v->z + b * zd);
    encode_rows(v, rows);
    const float *dout;
    s = cg_nn_mlp_forward(v->dec, v->dec_x, rows, &dout);
    if (s) return s;
    /* loss and its gradient with respect to the decoder output */
    const float gscale = (float)(2.0 / ((double)B * n));
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *H = v->H + (int64_t)b * n;
        const float *yb = y + (int64_t)b * n, *cb = ctf + (int64_t)b * n;
        assemble(v, dout + (int64_t)b * nh * 2, v->refl + (int64_t)b * nh, H);
        double acc = 0;
        for (int i = 0; i < n; i++) {
            float r = H[i] * cb[i] - yb[i];
            acc += (double)r * r;
            H[i] = gscale * r * cb[i]; /* H now holds dLoss/dH */
        }
        v->part[b] = acc;
        assemble_backward(v, H, v->refl + (int64_t)b * nh, v->ddec + (int64_t)b * nh * 2);
    }
    double sse = 0;
    for (int b = 0; b < B; b++) sse += v->part[b];
    const double mse = sse / ((double)B * n);
    /* backward: decoder (to its input: the z columns), reparameterisation, KL, encoder */
    cg_nn_mlp_zero_grad(v->dec);
    cg_nn_params_zero_grad(cg_vae_encoder_params(v));
    /* dL/dz: the z columns of the decoder input, summed over each image's rows */
    s = cg_nn_mlp_backward_shared(v->dec, v->ddec, nh, v->pe_out, zd, v->dz);
    if (s) return s;
    s = latent_backward(v, idx, B);
    if (s) return s;
    out->mse = mse;
    out->kl = kl;
    out->loss = det ? mse : mse + v->cfg.beta * kl / n;
    return CG_OK;
}

void cg_vae_update(cg_vae *v) {
    cg_nn_adam_config a = cg_nn_adam_defaults();
    if (v->enc) cg_nn_mlp_update(v->enc, &a, (float)v->cfg.lr);
    else cg_nn_adam_step(&v->tab, &a, (float)v->cfg.lr); /* dense Adam, as torch.optim.Adam on a table */
    cg_nn_mlp_update(v->dec, &a, (float)v->cfg.lr);
}

cg_status cg_vae_encode(cg_vae *v, const float *y, const float *ctf, const int64_t *idx, int B, float *mu, float *logvar) {
    if (B < 1 || B > v->cfg.batch) return cg_error(CG_ERR_ARG, "VAE: batch of %d images, model reserved %d", B, v->cfg.batch);
    const int zd = v->cfg.zdim;
    cg_status s = latent_forward(v, y, ctf, idx, B);
    if (s) return s;
    if (mu) memcpy(mu, v->mu, sizeof(float) * (size_t)B * zd);
    if (logvar && !v->cfg.deterministic) memcpy(logvar, v->logvar, sizeof(float) * (size_t)B * zd);
    return CG_OK;
}

/* ---------------------------------------------------------------- evaluation ------------ */
cg_status cg_vae_decode_points(cg_vae *v, const float *c, int64_t n, const float *z, float *re, float *im) {
    for (int64_t r0 = 0; r0 < n; r0 += v->max_rows) {
        int64_t m = n - r0 < v->max_rows ? n - r0 : v->max_rows;
        for (int64_t r = 0; r < m; r++) put_row(v, r, c + 3 * (r0 + r), z);
        encode_rows(v, m);
        const float *o;
        cg_status s = cg_nn_mlp_forward(v->dec, v->dec_x, m, &o);
        if (s) return s;
        for (int64_t r = 0; r < m; r++) {
            re[r0 + r] = o[2 * r];
            im[r0 + r] = v->refl[r] ? -o[2 * r + 1] : o[2 * r + 1];
        }
    }
    return CG_OK;
}

cg_status cg_vae_decode_slice(cg_vae *v, const double A[9], const float *z, float *H) {
    slice_rows(v, 0, A, z);
    encode_rows(v, v->L.nh);
    const float *o;
    cg_status s = cg_nn_mlp_forward(v->dec, v->dec_x, v->L.nh, &o);
    if (s) return s;
    assemble(v, o, v->refl, H);
    return CG_OK;
}

cg_status cg_vae_volume(cg_vae *v, const float *z, float *vol) {
    const int D = v->cfg.D, h = D / 2, W = D / 2 + 1;
    const size_t nc = (size_t)D * D * W;
    int64_t np = 0;
    float *c = cg_malloc(nc * 3, sizeof(float), "VAE volume");
    int64_t *where = cg_malloc(nc, sizeof(int64_t), "VAE volume");
    cg_complex *F = cg_fft_alloc_complex(nc);
    float *re = cg_malloc(nc, sizeof(float), "VAE volume"), *im = cg_malloc(nc, sizeof(float), "VAE volume");
    float *tmp = cg_fft_alloc_real((size_t)D * D * D);
    cg_fft_plan *plan = NULL;
    cg_status s = (c && where && F && re && im && tmp) ? CG_OK : CG_ERR_NOMEM;
    int dims[3] = {D, D, D};
    if (!s) s = cg_fft_plan_create(&plan, 3, dims);
    if (!s) {
        for (int iz = 0; iz < D; iz++)
            for (int iy = 0; iy < D; iy++)
                for (int kx = 0; kx < W; kx++) {
                    int kz = cg_fft_freq(iz, D), ky = cg_fft_freq(iy, D);
                    size_t idx = ((size_t)iz * D + iy) * W + kx;
                    F[idx] = 0;
                    if (kx * kx + ky * ky + kz * kz >= h * h) continue;
                    where[np] = (int64_t)idx;
                    c[3 * np] = (float)kx / D, c[3 * np + 1] = (float)ky / D, c[3 * np + 2] = (float)kz / D;
                    np++;
                }
        s = cg_vae_decode_points(v, c, np, z, re, im);
    }
    if (!s) {
        const float k = (float)v->cfg.norm_std;
        for (int64_t p = 0; p < np; p++) F[where[p]] = k * re[p] + I * (k * im[p]);
        cg_fft_inverse(plan, F, tmp);
        cg_circshift_3d(vol, tmp, D, D, D, h, h, h); /* DFT origin (index 0) -> voxel D/2 */
    }
    cg_fft_plan_destroy(plan);
    free(c), free(where), free(re), free(im);
    cg_fft_free(F), cg_fft_free(tmp);
    return s;
}

/* ---------------------------------------------------------------- checkpoints ----------- */
/* Copy between a network's store and its block of the checkpoint store (dir 0: into ck). */
static void copy_block(cg_nn_params *ck, int first, cg_nn_params *p, int dir) {
    for (int t = 0; t < p->n_tensors; t++) {
        const cg_nn_tensor *a = &ck->tensors[first + t], *b = &p->tensors[t];
        float *ca[3] = {ck->param + a->offset, ck->m + a->offset, ck->v + a->offset};
        float *cb[3] = {p->param + b->offset, p->m + b->offset, p->v + b->offset};
        for (int k = 0; k < 3; k++) {
            if (dir == 0) memcpy(ca[k], cb[k], sizeof(float) * b->count);
            else memcpy(cb[k], ca[k], sizeof(float) * b->count);
        }
    }
}

cg_status cg_vae_save(const cg_vae *v_, const cg_vae_state *st, const char *path) {
    cg_vae *v = (cg_vae *)v_; /* the checkpoint store is scratch */
    cg_nn_params *e = cg_vae_encoder_params(v), *d = cg_nn_mlp_params(v->dec);
    copy_block(&v->ck, 0, e, 0);
    copy_block(&v->ck, e->n_tensors, d, 0);
    memcpy(cg_nn_param(&v->ck, v->ck_pe), v->pe_param, sizeof(float) * (size_t)v->pe_count);
    v->ck.step = e->step;
    return cg_nn_checkpoint_save(path, &v->ck, CG_NN_CKPT_WITH_OPTIM, st, (uint32_t)sizeof *st);
}

cg_status cg_vae_read_state(const char *path, cg_vae_state *st) {
    uint32_t bytes = 0;
    memset(st, 0, sizeof *st);
    cg_status s = cg_nn_checkpoint_read_config(path, st, sizeof *st, &bytes);
    if (s) return s;
    if (bytes >= 8 && !memcmp(st->magic, "CGVAE1", 7))
        return cg_error(CG_ERR_FORMAT, "%s: a VAE checkpoint of an older cryogen (state CGVAE1, before --encoder-input); "
                        "train again with this version", path);
    if (bytes != sizeof *st || memcmp(st->magic, "CGVAE2", 7) != 0)
        return cg_error(CG_ERR_FORMAT, "%s: not a cryogen VAE checkpoint (state block of %u bytes, expected %zu)", path, bytes,
                        sizeof *st);
    return CG_OK;
}

cg_status cg_vae_load(cg_vae *v, const char *path) {
    cg_status s = cg_nn_checkpoint_load(path, &v->ck, NULL, 0);
    if (s) return s;
    cg_nn_params *e = cg_vae_encoder_params(v), *d = cg_nn_mlp_params(v->dec);
    copy_block(&v->ck, 0, e, 1);
    copy_block(&v->ck, e->n_tensors, d, 1);
    memcpy(v->pe_param, cg_nn_param(&v->ck, v->ck_pe), sizeof(float) * (size_t)v->pe_count);
    e->step = d->step = v->ck.step;
    return CG_OK;
}
