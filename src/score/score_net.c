/* The EDM denoiser's network: a small conditional U-Net composed from the nn kernels, and the
 * EDM preconditioning and loss around it (Karras et al. 2022, Table 1):
 *   D(x; s)  = c_skip x + c_out F(c_in x; c_noise)
 *   c_skip   = sd^2 / (s^2 + sd^2),  c_out = s sd / sqrt(s^2 + sd^2),
 *   c_in     = 1 / sqrt(s^2 + sd^2), c_noise = ln(s) / 4,
 *   lambda(s) = (s^2 + sd^2) / (s sd)^2  (so lambda c_out^2 = 1: unit-variance targets for F).
 *
 * Layouts: activations [B][C][H*W], row-major; the network has one input and one output
 * channel. Buffers are allocated once per batch size by cg_score_net_reserve; forward and
 * backward never allocate. Backward follows the nn convention: gradients ACCUMULATE, the
 * activation gradients are zeroed at the start of each backward.
 *
 * Architecture (per level l, H_l = D / 2^l, c_l = base * ch_mult[l]):
 *   block(cin -> cout) = SiLU(GroupNorm(conv3x3(in) + Linear_blk(emb)))   (bias per channel)
 *   down_l = block(l == 0 ? x : avgpool2(down_{l-1}))
 *   bottom = block(down_{L-1})
 *   up_l   = block(concat(upsample2(l == L-2 ? bottom : up_{l+1}), down_l))   l = L-2 .. 0
 *   F      = conv3x3(up_0 -> 1)
 *   emb    = SiLU(Linear(emb_dim -> 4 base)(timestep_embedding(250 c_noise)))
 * The factor 250 spreads c_noise (about -2.5 .. 1.1 in training) over the embedding's
 * frequencies 1 .. 1e-4 (max period 10^4), as EDM feeds c_noise to a positional embedding.
 * Deviation from EDM: the output convolution has PyTorch's default initialisation, not zero.
 * With res_blocks R, each of these 2L stages (down_l, bottom, up_l) is its block followed by R
 * residual blocks res(h) = h + block(h) at the same width (named "<stage>.res<r>"), whose
 * GroupNorm scale starts at 0 so that each starts as the identity (Goyal et al. 2017).
 * With attn_levels A, each stage at the A lowest-resolution levels ends in an attention block
 * attn(h) = h + conv1x1_proj(attention(conv1x1_qkv(GroupNorm(h)))) ("<stage>.attn"), single head
 * as in EDM's networks at these widths, the projection initialised to zero (starts as the
 * identity, as DDPM's zero_module(proj_out)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/score.h"

#define EMB_SCALE 250.0f
#define EMB_PERIOD 10000.0f
#define MAX_STAGES (2 * CG_SCORE_MAX_LEVELS)
#define MAX_BLOCKS (MAX_STAGES * (2 + CG_SCORE_MAX_RES_BLOCKS))

/* A convolution block (conv3x3 + embedding, GroupNorm, SiLU; residual when res) or, when attn,
 * an attention block (GroupNorm, qkv = conv1x1 cs, attention, conv1x1 ps, residual). */
typedef struct {
    int cin, cout, H, G;
    int res;                    /* 1: output = input + block(input) */
    int attn;                   /* 1: attention block */
    int cw, cb, ew, eb, gw, gb; /* tensor indices (attention: cw, cb = qkv) */
    int pw, pb;                 /* attention: projection */
    cg_nn_conv_shape cs, ps;
    const float *in;            /* forward input (not owned) */
    float *a, *n, *h, *mean, *rstd, *e;
    float *ga, *gn, *gh, *ge;
    float *qkv, *att, *o, *gqkv, *gatt, *go; /* attention */
} block;

struct cg_score_net {
    cg_score_config cfg;
    cg_nn_params P;
    int L, nblocks;
    block blk[MAX_BLOCKS];
    int stage_start[MAX_STAGES + 1]; /* stage st owns blk[stage_start[st] .. stage_start[st+1]) */
    int lw, lb, ow, ob;          /* embedding linear, output conv */
    cg_nn_conv_shape out_cs;
    cg_nn_pool_shape pool[CG_SCORE_MAX_LEVELS], up[CG_SCORE_MAX_LEVELS];
    int max_batch, batch;        /* reserved, last forward */
    float *mem;                  /* all activation buffers */
    float *emb0, *emb1, *emb, *gemb, *gemb1, *cnoise_scaled;
    float *pooled[CG_SCORE_MAX_LEVELS], *gpooled[CG_SCORE_MAX_LEVELS];
    float *ups[CG_SCORE_MAX_LEVELS], *gups[CG_SCORE_MAX_LEVELS];
    float *cat[CG_SCORE_MAX_LEVELS], *gcat[CG_SCORE_MAX_LEVELS];
    float *out, *scratch, *xin, *gxin, *dF;
    const float *x;              /* last forward input */
};

void cg_score_config_default(cg_score_config *c, int D) {
    memset(c, 0, sizeof *c);
    c->version = CG_SCORE_CONFIG_VERSION;
    c->D = D;
    c->levels = 3;
    c->base_channels = 16;
    c->ch_mult[0] = 1, c->ch_mult[1] = 2, c->ch_mult[2] = 2, c->ch_mult[3] = 2;
    c->emb_dim = 32;
    c->groups = 4;
    c->sigma_data = 0.5f;
    c->img_mean = 0, c->img_std = 1;
    c->mask_radius_px = (float)D / 2;
}

cg_status cg_score_config_check(const cg_score_config *c) {
    if (c->version != CG_SCORE_CONFIG_VERSION)
        return cg_error(CG_ERR_FORMAT, "score model config version %d, this build reads %d", c->version,
                        CG_SCORE_CONFIG_VERSION);
    if (c->levels < 2 || c->levels > CG_SCORE_MAX_LEVELS)
        return cg_error(CG_ERR_ARG, "score model: %d levels; use 2..%d", c->levels, CG_SCORE_MAX_LEVELS);
    int f = 1 << (c->levels - 1);
    if (c->D < 4 || c->D > 1024 || c->D % f)
        return cg_error(CG_ERR_ARG, "score model: box %d must be in [4, 1024] and divisible by 2^(levels-1) = %d", c->D, f);
    if (c->base_channels < 1 || c->emb_dim < 2 || c->emb_dim % 2 || c->groups < 1)
        return cg_error(CG_ERR_ARG, "score model: base channels %d, embedding %d (even), groups %d must be positive",
                        c->base_channels, c->emb_dim, c->groups);
    for (int l = 0; l < c->levels; l++) {
        int ch = c->base_channels * c->ch_mult[l];
        if (c->ch_mult[l] < 1 || ch % c->groups)
            return cg_error(CG_ERR_ARG, "score model: level %d has %d channels, not a positive multiple of %d groups", l,
                            ch, c->groups);
    }
    if (c->res_blocks < 0 || c->res_blocks > CG_SCORE_MAX_RES_BLOCKS)
        return cg_error(CG_ERR_ARG, "score model: %d residual blocks per stage; use 0..%d", c->res_blocks,
                        CG_SCORE_MAX_RES_BLOCKS);
    if (c->attn_levels < 0 || c->attn_levels > c->levels)
        return cg_error(CG_ERR_ARG, "score model: attention at %d levels; use 0..%d (the number of levels)",
                        c->attn_levels, c->levels);
    if (!(c->sigma_data > 0) || !(c->img_std > 0) || !isfinite(c->img_mean))
        return cg_error(CG_ERR_ARG, "score model: sigma_data %g and image std %g must be positive", c->sigma_data,
                        c->img_std);
    return CG_OK;
}

cg_edm_precond cg_edm_precond_at(double s, double sd) {
    cg_edm_precond p;
    double q = s * s + sd * sd;
    p.c_skip = sd * sd / q;
    p.c_out = s * sd / sqrt(q);
    p.c_in = 1 / sqrt(q);
    p.c_noise = log(s) / 4;
    p.weight = q / ((s * sd) * (s * sd));
    return p;
}

static cg_status add_tensor(cg_nn_params *P, const char *pre, const char *suf, int nd, int64_t a, int64_t b,
                            int64_t c, int64_t d, int *idx) {
    char name[CG_NN_NAME_MAX];
    int64_t shape[4] = {a, b, c, d};
    snprintf(name, sizeof name, "%s.%s", pre, suf);
    return cg_nn_params_add(P, name, nd, shape, idx);
}

static cg_status add_block(cg_score_net *n, block *b, const char *name, int cin, int cout, int H) {
    int E = 4 * n->cfg.base_channels;
    b->cin = cin, b->cout = cout, b->H = H, b->G = n->cfg.groups;
    cg_status s = cg_nn_conv_shape_2d(&b->cs, cin, cout, H, H, 3, 1, 1);
    if (!s) s = add_tensor(&n->P, name, "conv.weight", 4, cout, cin, 3, 3, &b->cw);
    if (!s) s = add_tensor(&n->P, name, "conv.bias", 1, cout, 0, 0, 0, &b->cb);
    if (!s) s = add_tensor(&n->P, name, "emb.weight", 2, cout, E, 0, 0, &b->ew);
    if (!s) s = add_tensor(&n->P, name, "emb.bias", 1, cout, 0, 0, 0, &b->eb);
    if (!s) s = add_tensor(&n->P, name, "norm.weight", 1, cout, 0, 0, 0, &b->gw);
    if (!s) s = add_tensor(&n->P, name, "norm.bias", 1, cout, 0, 0, 0, &b->gb);
    return s;
}

static cg_status add_attn(cg_score_net *n, block *b, const char *stage, int C, int H) {
    char name[48];
    snprintf(name, sizeof name, "%s.attn", stage);
    b->cin = b->cout = C, b->H = H, b->G = n->cfg.groups, b->attn = 1;
    cg_status s = cg_nn_conv_shape_2d(&b->cs, C, 3 * C, H, H, 1, 1, 0);
    if (!s) s = cg_nn_conv_shape_2d(&b->ps, C, C, H, H, 1, 1, 0);
    if (!s) s = add_tensor(&n->P, name, "norm.weight", 1, C, 0, 0, 0, &b->gw);
    if (!s) s = add_tensor(&n->P, name, "norm.bias", 1, C, 0, 0, 0, &b->gb);
    if (!s) s = add_tensor(&n->P, name, "qkv.weight", 4, 3 * C, C, 1, 1, &b->cw);
    if (!s) s = add_tensor(&n->P, name, "qkv.bias", 1, 3 * C, 0, 0, 0, &b->cb);
    if (!s) s = add_tensor(&n->P, name, "proj.weight", 4, C, C, 1, 1, &b->pw);
    if (!s) s = add_tensor(&n->P, name, "proj.bias", 1, C, 0, 0, 0, &b->pb);
    return s;
}

static int ch(const cg_score_net *n, int l) { return n->cfg.base_channels * n->cfg.ch_mult[l]; }

/* Stages in forward order: down_0 .. down_{L-1}, bottom (L), up_{L-2} .. up_0; each owns 1 + R
 * consecutive blocks, the first of which changes the width, then its attention block if any. */
static int stage_up(const cg_score_net *n, int l) { return 2 * n->L - 1 - l; }
static int stage_level(const cg_score_net *n, int st) { return st < n->L ? st : st == n->L ? n->L - 1 : 2 * n->L - 1 - st; }
static block *stage_first(cg_score_net *n, int st) { return &n->blk[n->stage_start[st]]; }
static block *stage_out(cg_score_net *n, int st) { return &n->blk[n->stage_start[st + 1] - 1]; }

/* Appends stage st (stages are added in forward order). */
static cg_status add_stage(cg_score_net *n, int st, const char *name, int cin, int cout, int H) {
    n->stage_start[st] = n->nblocks;
    block *b = &n->blk[n->nblocks];
    cg_status s = add_block(n, b, name, cin, cout, H);
    for (int r = 1; !s && r <= n->cfg.res_blocks; r++) {
        char rname[48];
        snprintf(rname, sizeof rname, "%s.res%d", name, r);
        s = add_block(n, b + r, rname, cout, cout, H);
        b[r].res = 1;
    }
    int nb = 1 + n->cfg.res_blocks;
    if (!s && stage_level(n, st) >= n->L - n->cfg.attn_levels) s = add_attn(n, b + nb++, name, cout, H);
    n->nblocks += nb;
    n->stage_start[st + 1] = n->nblocks;
    return s;
}

static void init_weights(cg_score_net *n, uint64_t seed) {
    cg_nn_params *P = &n->P;
    for (int i = 0; i < P->n_tensors; i++) {
        const cg_nn_tensor *t = &P->tensors[i];
        const char *dot = strrchr(t->name, '.');
        const char *kind = dot ? dot + 1 : t->name;
        int is_norm = strstr(t->name, ".norm.") != NULL, is_res = strstr(t->name, ".res") != NULL;
        int is_proj = strstr(t->name, ".attn.proj.") != NULL;
        int64_t fan_in = 1;
        /* fan_in of a weight: everything but the first extent; of a bias: its weight's */
        if (!is_norm && !strcmp(kind, "weight"))
            for (int d = 1; d < t->ndim; d++) fan_in *= t->shape[d];
        else if (!is_norm) {
            const cg_nn_tensor *w = &P->tensors[i - 1];
            for (int d = 1; d < w->ndim; d++) fan_in *= w->shape[d];
        }
        cg_nn_init kindv = CG_NN_INIT_TORCH;
        if (is_proj) kindv = CG_NN_INIT_ZERO;
        else if (is_norm) kindv = !strcmp(kind, "weight") && !is_res ? CG_NN_INIT_ONE : CG_NN_INIT_ZERO;
        cg_nn_init_tensor(cg_nn_param(P, i), t->count, fan_in, 1, kindv, seed, (uint64_t)i);
    }
}

cg_status cg_score_net_create(cg_score_net **out, const cg_score_config *cfg, uint64_t seed) {
    *out = NULL;
    cg_status s = cg_score_config_check(cfg);
    if (s) return s;
    cg_score_net *n = cg_calloc(1, sizeof *n, "score net");
    if (!n) return CG_ERR_NOMEM;
    n->cfg = *cfg;
    n->L = cfg->levels;
    cg_nn_params_init(&n->P);
    int L = n->L, D = cfg->D, E = 4 * cfg->base_channels;
    s = add_tensor(&n->P, "emb", "weight", 2, E, cfg->emb_dim, 0, 0, &n->lw);
    if (!s) s = add_tensor(&n->P, "emb", "bias", 1, E, 0, 0, 0, &n->lb);
    char name[32];
    for (int l = 0; !s && l < L; l++) {
        snprintf(name, sizeof name, "down%d", l);
        s = add_stage(n, l, name, l ? ch(n, l - 1) : 1, ch(n, l), D >> l);
        if (!s && l) s = cg_nn_pool_shape_2d(&n->pool[l], ch(n, l - 1), D >> (l - 1), D >> (l - 1), 2, 2);
    }
    if (!s) s = add_stage(n, L, "bottom", ch(n, L - 1), ch(n, L - 1), D >> (L - 1));
    for (int l = L - 2; !s && l >= 0; l--) {
        int prev = ch(n, l + 1);
        snprintf(name, sizeof name, "up%d", l);
        s = add_stage(n, stage_up(n, l), name, prev + ch(n, l), ch(n, l), D >> l);
        if (!s) s = cg_nn_upsample_shape_2d(&n->up[l], prev, D >> (l + 1), D >> (l + 1), 2);
    }
    if (!s) s = cg_nn_conv_shape_2d(&n->out_cs, ch(n, 0), 1, D, D, 3, 1, 1);
    if (!s) s = add_tensor(&n->P, "out", "weight", 4, 1, ch(n, 0), 3, 3, &n->ow);
    if (!s) s = add_tensor(&n->P, "out", "bias", 1, 1, 0, 0, 0, &n->ob);
    if (!s) s = cg_nn_params_alloc(&n->P);
    if (s) {
        cg_score_net_destroy(n);
        return s;
    }
    init_weights(n, seed);
    *out = n;
    return CG_OK;
}

void cg_score_net_destroy(cg_score_net *n) {
    if (!n) return;
    cg_nn_params_free(&n->P);
    free(n->mem);
    free(n);
}

cg_nn_params *cg_score_net_params(cg_score_net *n) { return &n->P; }
const cg_score_config *cg_score_net_config(const cg_score_net *n) { return &n->cfg; }

cg_status cg_score_net_use_ema(cg_score_net *n) {
    if (!n->P.ema) return cg_error(CG_ERR_ARG, "score net: no EMA weights to use");
    memcpy(n->P.param, n->P.ema, sizeof(float) * n->P.count);
    return CG_OK;
}

/* Lay out (or, with base NULL, count) every activation buffer for batch B. */
static size_t layout(cg_score_net *n, int B, float *base) {
    size_t off = 0;
#define TAKE(ptr, cnt)                                   \
    do {                                                 \
        size_t c_ = ((size_t)(cnt) + 15) & ~(size_t)15;  \
        if (base) (ptr) = base + off;                    \
        off += c_;                                       \
    } while (0)
    int D = n->cfg.D, E = 4 * n->cfg.base_channels;
    size_t S0 = (size_t)D * D, sc = cg_nn_conv_scratch_floats(&n->out_cs);
    TAKE(n->cnoise_scaled, B);
    TAKE(n->emb0, (size_t)B * n->cfg.emb_dim);
    TAKE(n->emb1, (size_t)B * E);
    TAKE(n->emb, (size_t)B * E);
    TAKE(n->gemb, (size_t)B * E);
    TAKE(n->gemb1, (size_t)B * E);
    for (int k = 0; k < n->nblocks; k++) {
        block *b = &n->blk[k];
        size_t S = (size_t)b->H * b->H, A = (size_t)B * b->cout * S;
        if (b->attn) {
            TAKE(b->n, A);
            TAKE(b->gn, A);
            TAKE(b->h, A);
            TAKE(b->gh, A);
            TAKE(b->o, A);
            TAKE(b->go, A);
            TAKE(b->qkv, 3 * A);
            TAKE(b->gqkv, 3 * A);
            TAKE(b->att, (size_t)B * S * S);
            TAKE(b->gatt, S * S);
            TAKE(b->mean, (size_t)B * b->G);
            TAKE(b->rstd, (size_t)B * b->G);
            continue; /* 1x1 convolutions need no scratch */
        }
        TAKE(b->a, A);
        TAKE(b->n, A);
        TAKE(b->h, A);
        TAKE(b->ga, A);
        TAKE(b->gn, A);
        TAKE(b->gh, A);
        TAKE(b->mean, (size_t)B * b->G);
        TAKE(b->rstd, (size_t)B * b->G);
        TAKE(b->e, (size_t)B * b->cout);
        TAKE(b->ge, (size_t)B * b->cout);
        size_t bs = cg_nn_conv_scratch_floats(&b->cs);
        if (bs > sc) sc = bs;
    }
    for (int l = 1; l < n->L; l++) {
        size_t S = (size_t)(D >> l) * (D >> l);
        TAKE(n->pooled[l], (size_t)B * ch(n, l - 1) * S);
        TAKE(n->gpooled[l], (size_t)B * ch(n, l - 1) * S);
    }
    for (int l = 0; l < n->L - 1; l++) {
        size_t S = (size_t)(D >> l) * (D >> l);
        TAKE(n->ups[l], (size_t)B * ch(n, l + 1) * S);
        TAKE(n->gups[l], (size_t)B * ch(n, l + 1) * S);
        size_t cc = (size_t)B * (ch(n, l + 1) + ch(n, l)) * S;
        TAKE(n->cat[l], cc);
        TAKE(n->gcat[l], cc);
    }
    TAKE(n->out, (size_t)B * S0);
    TAKE(n->xin, (size_t)B * S0);
    TAKE(n->gxin, (size_t)B * S0);
    TAKE(n->dF, (size_t)B * S0);
    TAKE(n->scratch, sc);
#undef TAKE
    return off;
}

cg_status cg_score_net_reserve(cg_score_net *n, int max_batch) {
    if (max_batch < 1) return cg_error(CG_ERR_ARG, "score net: batch %d must be positive", max_batch);
    if (max_batch <= n->max_batch) return CG_OK;
    size_t count = layout(n, max_batch, NULL);
    float *mem = cg_calloc(count, sizeof(float), "score net activations");
    if (!mem) return CG_ERR_NOMEM;
    free(n->mem);
    n->mem = mem;
    layout(n, max_batch, mem);
    n->max_batch = max_batch;
    return CG_OK;
}

#define PR(i) cg_nn_param(&n->P, (i))
#define GR(i) cg_nn_grad(&n->P, (i))

static void attn_forward(cg_score_net *n, block *b, const float *in, int B) {
    size_t S = (size_t)b->H * b->H, A = (size_t)B * b->cout * S;
    b->in = in;
    cg_nn_groupnorm_forward(b->n, b->mean, b->rstd, in, PR(b->gw), PR(b->gb), B, b->cout, (int64_t)S, b->G, 1e-5f);
    cg_nn_conv_forward(b->qkv, b->n, PR(b->cw), PR(b->cb), B, &b->cs, n->scratch);
    cg_nn_attention_forward(b->o, b->att, b->qkv, B, b->cout, (int64_t)S);
    cg_nn_conv_forward(b->h, b->o, PR(b->pw), PR(b->pb), B, &b->ps, n->scratch);
    for (size_t i = 0; i < A; i++) b->h[i] += in[i];
}

/* Uses b->gh (complete); accumulates into gin and parameter grads. */
static void attn_backward(cg_score_net *n, block *b, float *gin, int B) {
    size_t S = (size_t)b->H * b->H, A = (size_t)B * b->cout * S;
    cg_nn_zero(b->go, A), cg_nn_zero(b->gqkv, 3 * A), cg_nn_zero(b->gn, A);
    cg_nn_conv_backward(b->go, GR(b->pw), GR(b->pb), b->gh, b->o, PR(b->pw), B, &b->ps, n->scratch);
    cg_nn_attention_backward(b->gqkv, b->gatt, b->go, b->qkv, b->att, B, b->cout, (int64_t)S);
    cg_nn_conv_backward(b->gn, GR(b->cw), GR(b->cb), b->gqkv, b->n, PR(b->cw), B, &b->cs, n->scratch);
    cg_nn_groupnorm_backward(gin, GR(b->gw), GR(b->gb), b->gn, b->in, b->mean, b->rstd, PR(b->gw), B, b->cout,
                             (int64_t)S, b->G);
    for (size_t i = 0; i < A; i++) gin[i] += b->gh[i];
}

static void block_forward(cg_score_net *n, block *b, const float *in, int B) {
    if (b->attn) {
        attn_forward(n, b, in, B);
        return;
    }
    size_t S = (size_t)b->H * b->H;
    int E = 4 * n->cfg.base_channels;
    b->in = in;
    cg_nn_conv_forward(b->a, in, PR(b->cw), PR(b->cb), B, &b->cs, n->scratch);
    cg_nn_linear_forward(b->e, n->emb, PR(b->ew), PR(b->eb), B, E, b->cout);
    cg_nn_add_channel_forward(b->a, b->a, b->e, B, b->cout, (int64_t)S);
    cg_nn_groupnorm_forward(b->n, b->mean, b->rstd, b->a, PR(b->gw), PR(b->gb), B, b->cout, (int64_t)S, b->G, 1e-5f);
    cg_nn_act_forward(b->h, b->n, (size_t)B * b->cout * S, CG_NN_ACT_SILU, 0);
    if (b->res)
        for (size_t i = 0; i < (size_t)B * b->cout * S; i++) b->h[i] += in[i];
}

/* Uses b->gh (complete); accumulates into gin (may be NULL), n->gemb and parameter grads. */
static void block_backward(cg_score_net *n, block *b, float *gin, int B) {
    if (b->attn) {
        attn_backward(n, b, gin, B);
        return;
    }
    size_t S = (size_t)b->H * b->H, A = (size_t)B * b->cout * S;
    int E = 4 * n->cfg.base_channels;
    cg_nn_zero(b->gn, A), cg_nn_zero(b->ga, A), cg_nn_zero(b->ge, (size_t)B * b->cout);
    cg_nn_act_backward(b->gn, b->gh, b->n, A, CG_NN_ACT_SILU, 0);
    cg_nn_groupnorm_backward(b->ga, GR(b->gw), GR(b->gb), b->gn, b->a, b->mean, b->rstd, PR(b->gw), B, b->cout,
                             (int64_t)S, b->G);
    cg_nn_add_channel_backward(NULL, b->ge, b->ga, B, b->cout, (int64_t)S);
    cg_nn_linear_backward(n->gemb, GR(b->ew), GR(b->eb), b->ge, n->emb, PR(b->ew), B, E, b->cout);
    cg_nn_conv_backward(gin, GR(b->cw), GR(b->cb), b->ga, b->in, PR(b->cw), B, &b->cs, n->scratch);
    if (b->res)
        for (size_t i = 0; i < A; i++) gin[i] += b->gh[i];
}

static const float *stage_forward(cg_score_net *n, int st, const float *in, int B) {
    block *b = stage_first(n, st), *last = stage_out(n, st);
    block_forward(n, b, in, B);
    for (; b < last; b++) block_forward(n, b + 1, b->h, B);
    return last->h;
}

/* Uses the stage output's gh (complete); accumulates into gin (may be NULL). */
static void stage_backward(cg_score_net *n, int st, float *gin, int B) {
    block *first = stage_first(n, st);
    for (block *b = stage_out(n, st); b > first; b--) block_backward(n, b, b[-1].gh, B);
    block_backward(n, first, gin, B);
}

cg_status cg_score_net_forward(cg_score_net *n, const float *in, const float *c_noise, int B, const float **out) {
    if (B < 1 || B > n->max_batch)
        return cg_error(CG_ERR_ARG, "score net: batch %d outside the reserved 1..%d (call cg_score_net_reserve)", B,
                        n->max_batch);
    int L = n->L, E = 4 * n->cfg.base_channels, D = n->cfg.D;
    n->batch = B;
    n->x = in;
    for (int b = 0; b < B; b++) n->cnoise_scaled[b] = EMB_SCALE * c_noise[b];
    cg_nn_timestep_embedding_forward(n->emb0, n->cnoise_scaled, B, n->cfg.emb_dim, EMB_PERIOD);
    cg_nn_linear_forward(n->emb1, n->emb0, PR(n->lw), PR(n->lb), B, n->cfg.emb_dim, E);
    cg_nn_act_forward(n->emb, n->emb1, (size_t)B * E, CG_NN_ACT_SILU, 0);
    const float *h = in;
    for (int l = 0; l < L; l++) {
        if (l) {
            cg_nn_avgpool_forward(n->pooled[l], h, B, &n->pool[l]);
            h = n->pooled[l];
        }
        h = stage_forward(n, l, h, B);
    }
    const float *prev = stage_forward(n, L, h, B);
    for (int l = L - 2; l >= 0; l--) {
        size_t S = (size_t)(D >> l) * (D >> l);
        cg_nn_upsample_forward(n->ups[l], prev, B, &n->up[l]);
        cg_nn_concat_forward(n->cat[l], n->ups[l], stage_out(n, l)->h, B, ch(n, l + 1), ch(n, l), (int64_t)S);
        prev = stage_forward(n, stage_up(n, l), n->cat[l], B);
    }
    cg_nn_conv_forward(n->out, prev, PR(n->ow), PR(n->ob), B, &n->out_cs, n->scratch);
    *out = n->out;
    return CG_OK;
}

cg_status cg_score_net_backward(cg_score_net *n, const float *dout, float *din) {
    int B = n->batch, L = n->L, D = n->cfg.D, E = 4 * n->cfg.base_channels;
    if (B < 1) return cg_error(CG_ERR_ARG, "score net: backward without a forward");
    block *blk = n->blk;
    for (int k = 0; k < n->nblocks; k++) cg_nn_zero(blk[k].gh, (size_t)B * blk[k].cout * blk[k].H * blk[k].H);
    cg_nn_zero(n->gemb, (size_t)B * E), cg_nn_zero(n->gemb1, (size_t)B * E);
    block *last = stage_out(n, stage_up(n, 0));
    cg_nn_conv_backward(last->gh, GR(n->ow), GR(n->ob), dout, last->h, PR(n->ow), B, &n->out_cs, n->scratch);
    /* up stages in reverse forward order: up_0 (last) first */
    for (int l = 0; l <= L - 2; l++) {
        size_t S = (size_t)(D >> l) * (D >> l);
        size_t cc = (size_t)B * (ch(n, l + 1) + ch(n, l)) * S;
        cg_nn_zero(n->gcat[l], cc), cg_nn_zero(n->gups[l], (size_t)B * ch(n, l + 1) * S);
        stage_backward(n, stage_up(n, l), n->gcat[l], B);
        cg_nn_concat_backward(n->gups[l], stage_out(n, l)->gh, n->gcat[l], B, ch(n, l + 1), ch(n, l), (int64_t)S);
        block *prevb = stage_out(n, l == L - 2 ? L : stage_up(n, l + 1));
        cg_nn_upsample_backward(prevb->gh, n->gups[l], B, &n->up[l]);
    }
    stage_backward(n, L, stage_out(n, L - 1)->gh, B);
    for (int l = L - 1; l >= 0; l--) {
        if (l) {
            size_t P = (size_t)B * ch(n, l - 1) * (D >> l) * (D >> l);
            cg_nn_zero(n->gpooled[l], P);
            stage_backward(n, l, n->gpooled[l], B);
            cg_nn_avgpool_backward(stage_out(n, l - 1)->gh, n->gpooled[l], B, &n->pool[l]);
        } else {
            stage_backward(n, 0, din, B);
        }
    }
    cg_nn_act_backward(n->gemb1, n->gemb, n->emb1, (size_t)B * E, CG_NN_ACT_SILU, 0);
    cg_nn_linear_backward(NULL, GR(n->lw), GR(n->lb), n->gemb1, n->emb0, PR(n->lw), B, n->cfg.emb_dim, E);
    return CG_OK;
}

cg_status cg_score_denoise(cg_score_net *n, float *out, const float *x, const float *sigma, int64_t B) {
    size_t S = (size_t)n->cfg.D * n->cfg.D;
    if (n->max_batch < 1) return cg_error(CG_ERR_ARG, "score net: reserve a batch before denoising");
    float cn[4096];
    int chunk = n->max_batch < 4096 ? n->max_batch : 4096;
    for (int64_t b0 = 0; b0 < B; b0 += chunk) {
        int nb = (int)((B - b0) < chunk ? (B - b0) : chunk);
        for (int b = 0; b < nb; b++) {
            if (!(sigma[b0 + b] > 0)) return cg_error(CG_ERR_ARG, "denoise: sigma %g must be positive", sigma[b0 + b]);
            cg_edm_precond p = cg_edm_precond_at(sigma[b0 + b], n->cfg.sigma_data);
            const float *xb = x + (size_t)(b0 + b) * S;
            for (size_t i = 0; i < S; i++) n->xin[(size_t)b * S + i] = (float)(p.c_in * xb[i]);
            cn[b] = (float)p.c_noise;
        }
        const float *F;
        cg_status s = cg_score_net_forward(n, n->xin, cn, nb, &F);
        if (s) return s;
        for (int b = 0; b < nb; b++) {
            cg_edm_precond p = cg_edm_precond_at(sigma[b0 + b], n->cfg.sigma_data);
            const float *xb = x + (size_t)(b0 + b) * S;
            float *ob = out + (size_t)(b0 + b) * S;
            for (size_t i = 0; i < S; i++) ob[i] = (float)(p.c_skip * xb[i] + p.c_out * F[(size_t)b * S + i]);
        }
    }
    return CG_OK;
}

cg_status cg_score_loss(cg_score_net *n, double *loss, const float *y, const float *noise, const float *sigma, int B,
                        int backward, float *dy) {
    size_t S = (size_t)n->cfg.D * n->cfg.D;
    if (B < 1 || B > n->max_batch || B > 4096)
        return cg_error(CG_ERR_ARG, "score loss: batch %d outside the reserved 1..%d", B, n->max_batch);
    float cn[4096];
    for (int b = 0; b < B; b++) {
        if (!(sigma[b] > 0)) return cg_error(CG_ERR_ARG, "score loss: sigma %g must be positive", sigma[b]);
        cg_edm_precond p = cg_edm_precond_at(sigma[b], n->cfg.sigma_data);
        for (size_t i = 0; i < S; i++) n->xin[b * S + i] = (float)(p.c_in * (y[b * S + i] + noise[b * S + i]));
        cn[b] = (float)p.c_noise;
    }
    const float *F;
    cg_status s = cg_score_net_forward(n, n->xin, cn, B, &F);
    if (s) return s;
    double total = 0, norm = 1.0 / ((double)B * (double)S);
    for (int b = 0; b < B; b++) {
        cg_edm_precond p = cg_edm_precond_at(sigma[b], n->cfg.sigma_data);
        double acc = 0;
        for (size_t i = 0; i < S; i++) {
            size_t j = b * S + i;
            double z = (double)y[j] + noise[j];
            double diff = p.c_skip * z + p.c_out * F[j] - y[j];
            acc += diff * diff;
            double g = 2 * p.weight * diff * norm; /* dloss/dD */
            n->dF[j] = (float)(g * p.c_out);
            if (backward && dy) dy[j] += (float)(g * p.c_skip);
        }
        total += p.weight * acc;
    }
    *loss = total * norm;
    if (!backward) return CG_OK;
    if (dy) cg_nn_zero(n->gxin, (size_t)B * S);
    s = cg_score_net_backward(n, n->dF, dy ? n->gxin : NULL);
    if (s || !dy) return s;
    for (int b = 0; b < B; b++) {
        double c_in = cg_edm_precond_at(sigma[b], n->cfg.sigma_data).c_in;
        for (size_t i = 0; i < S; i++) dy[b * S + i] += (float)(c_in * n->gxin[b * S + i]);
    }
    return CG_OK;
}
