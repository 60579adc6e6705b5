/* Multi-CryoGAN's generator: a small 3D convolutional network mapping a latent vector to a
 * volume (Gupta et al., "Multi-CryoGAN: reconstruction of continuous conformations in cryo-EM
 * using generative adversarial networks", 2020). Kept small for a CPU:
 *
 *   z[zdim] -> linear -> [C][b][b][b] (b = D/8) -> LeakyReLU
 *           -> 3 x ( nearest upsample x2 -> conv3d 3^3 pad 1 -> LeakyReLU )   channels C, C/2, C/4
 *              (the last block has 1 output channel and no LeakyReLU)
 *           -> scale * softplus (a positive volume [D][D][D]; scale fixed, the data's voxel units)
 *
 * Composed from the nn layer kernels (conv3d, upsample3d, linear, activations: their gradients
 * are checked by test_nn_layers); parameters "fc.weight" [C b^3][zdim], "fc.bias",
 * "u<i>.conv.weight" [co][ci][3][3][3], "u<i>.conv.bias". He-uniform weights, zero biases,
 * except the last bias, -3, so the initial volume is small (softplus(-3) = 0.049) rather
 * than 0.69 everywhere. OpenBLAS runs single-threaded inside forward/backward (as the critic).
 */
#include <stdlib.h>
#include <string.h>

#include "cryogen/gan.h"

#define NUP 3

struct cg_gan_mgen {
    cg_gan_mgen_config cfg;
    int max_batch, batch, base, ch[NUP + 1];
    cg_nn_params P;
    int fw, fb, tw[NUP], tb[NUP];
    cg_nn_pool_shape us[NUP];
    cg_nn_conv_shape cs[NUP];
    size_t n_fc, n_up[NUP], n_conv[NUP]; /* floats per volume */
    const float *z;
    float *fc, *fca, *up[NUP], *cv[NUP], *act[NUP];  /* fc out, fc LeakyReLU, upsampled, conv out, LeakyReLU */
    float *gfc, *gfca, *gup[NUP], *gcv[NUP], *gact[NUP];
    float *scratch;
};

void cg_gan_mgen_destroy(cg_gan_mgen *m) {
    if (!m) return;
    free(m->fc), free(m->fca), free(m->gfc), free(m->gfca), free(m->scratch);
    for (int i = 0; i < NUP; i++)
        free(m->up[i]), free(m->cv[i]), free(m->act[i]), free(m->gup[i]), free(m->gcv[i]), free(m->gact[i]);
    cg_nn_params_free(&m->P);
    free(m);
}

cg_nn_params *cg_gan_mgen_params(cg_gan_mgen *m) { return &m->P; }
const cg_gan_mgen_config *cg_gan_mgen_get_config(const cg_gan_mgen *m) { return &m->cfg; }

cg_status cg_gan_mgen_create(cg_gan_mgen **out, const cg_gan_mgen_config *cfg, int max_batch, uint64_t seed) {
    *out = NULL;
    if (cfg->D < 16 || cfg->D % 8 || cfg->zdim < 1 || cfg->channels < 4 || max_batch < 1 || !(cfg->slope >= 0) ||
        !(cfg->scale >= 0))
        return cg_error(CG_ERR_ARG, "manifold generator: need a box D >= 16 divisible by 8 (got %d), zdim >= 1 (%d), "
                        "channels >= 4 (%d), batch >= 1 (%d)", cfg->D, cfg->zdim, cfg->channels, max_batch);
    cg_gan_mgen *m = cg_calloc(1, sizeof *m, "manifold generator");
    if (!m) return CG_ERR_NOMEM;
    m->cfg = *cfg, m->max_batch = max_batch, m->base = cfg->D / 8;
    m->ch[0] = cfg->channels, m->ch[1] = cfg->channels / 2, m->ch[2] = cfg->channels / 4, m->ch[3] = 1;
    cg_nn_params_init(&m->P);
    const int b = m->base;
    m->n_fc = (size_t)m->ch[0] * b * b * b;
    cg_status st = cg_nn_params_add(&m->P, "fc.weight", 2, (int64_t[]){(int64_t)m->n_fc, cfg->zdim}, &m->fw);
    if (!st) st = cg_nn_params_add(&m->P, "fc.bias", 1, (int64_t[]){(int64_t)m->n_fc}, &m->fb);
    size_t scratch = 1;
    int s = b;
    for (int i = 0; i < NUP && !st; i++) {
        char name[CG_NN_NAME_MAX];
        snprintf(name, sizeof name, "u%d.conv.weight", i);
        st = cg_nn_params_add(&m->P, name, 5, (int64_t[]){m->ch[i + 1], m->ch[i], 3, 3, 3}, &m->tw[i]);
        snprintf(name, sizeof name, "u%d.conv.bias", i);
        if (!st) st = cg_nn_params_add(&m->P, name, 1, (int64_t[]){m->ch[i + 1]}, &m->tb[i]);
        if (!st) st = cg_nn_upsample_shape_3d(&m->us[i], m->ch[i], s, s, s, 2);
        s *= 2;
        if (!st) st = cg_nn_conv_shape_3d(&m->cs[i], m->ch[i], m->ch[i + 1], s, s, s, 3, 1, 1);
        if (st) break;
        m->n_up[i] = (size_t)m->ch[i] * s * s * s, m->n_conv[i] = (size_t)m->ch[i + 1] * s * s * s;
        size_t sc = cg_nn_conv_scratch_floats(&m->cs[i]);
        if (sc > scratch) scratch = sc;
    }
    if (!st) st = cg_nn_params_alloc(&m->P);
    if (st) return cg_gan_mgen_destroy(m), st;
    for (int t = 0; t < m->P.n_tensors; t++) {
        const cg_nn_tensor *T = &m->P.tensors[t];
        int64_t fan_in = (int64_t)T->count / T->shape[0];
        cg_nn_init_tensor(cg_nn_param(&m->P, t), T->count, fan_in, 1,
                          T->ndim > 1 ? CG_NN_INIT_HE_UNIFORM : CG_NN_INIT_ZERO, seed, (uint64_t)t);
    }
    cg_nn_param(&m->P, m->tb[NUP - 1])[0] = -3.0f;
    const size_t B = (size_t)max_batch;
    int ok = (m->fc = cg_malloc(B * m->n_fc, sizeof(float), "generator activations")) &&
             (m->fca = cg_malloc(B * m->n_fc, sizeof(float), "generator activations")) &&
             (m->gfc = cg_malloc(B * m->n_fc, sizeof(float), "generator gradients")) &&
             (m->gfca = cg_malloc(B * m->n_fc, sizeof(float), "generator gradients")) &&
             (m->scratch = cg_malloc(scratch, sizeof(float), "generator scratch"));
    for (int i = 0; i < NUP && ok; i++)
        ok = (m->up[i] = cg_malloc(B * m->n_up[i], sizeof(float), "generator activations")) &&
             (m->cv[i] = cg_malloc(B * m->n_conv[i], sizeof(float), "generator activations")) &&
             (m->act[i] = cg_malloc(B * m->n_conv[i], sizeof(float), "generator activations")) &&
             (m->gup[i] = cg_malloc(B * m->n_up[i], sizeof(float), "generator gradients")) &&
             (m->gcv[i] = cg_malloc(B * m->n_conv[i], sizeof(float), "generator gradients")) &&
             (m->gact[i] = cg_malloc(B * m->n_conv[i], sizeof(float), "generator gradients"));
    if (!ok) return cg_gan_mgen_destroy(m), CG_ERR_NOMEM;
    *out = m;
    return CG_OK;
}

cg_status cg_gan_mgen_forward(cg_gan_mgen *m, const float *z, int B, float *vol) {
    if (B < 1 || B > m->max_batch)
        return cg_error(CG_ERR_ARG, "manifold generator: batch %d outside 1..%d", B, m->max_batch);
    m->batch = B, m->z = z;
    const float slope = m->cfg.slope;
    const int saved = cg_nn_blas_single_begin();
    cg_nn_linear_forward(m->fc, z, cg_nn_param(&m->P, m->fw), cg_nn_param(&m->P, m->fb), B, m->cfg.zdim,
                         (int)m->n_fc);
    cg_nn_act_forward(m->fca, m->fc, (size_t)B * m->n_fc, CG_NN_ACT_LEAKY_RELU, slope);
    const float *in = m->fca;
    for (int i = 0; i < NUP; i++) {
        cg_nn_upsample_forward(m->up[i], in, B, &m->us[i]);
        cg_nn_conv_forward(m->cv[i], m->up[i], cg_nn_param(&m->P, m->tw[i]), cg_nn_param(&m->P, m->tb[i]), B,
                           &m->cs[i], m->scratch);
        cg_nn_act_forward(m->act[i], m->cv[i], (size_t)B * m->n_conv[i],
                          i < NUP - 1 ? CG_NN_ACT_LEAKY_RELU : CG_NN_ACT_SOFTPLUS, slope);
        in = m->act[i];
    }
    cg_nn_blas_single_end(saved);
    const float sc = m->cfg.scale > 0 ? m->cfg.scale : 1.0f;
    const size_t nv = (size_t)B * m->n_conv[NUP - 1];
    for (size_t i = 0; i < nv; i++) vol[i] = sc * m->act[NUP - 1][i];
    return CG_OK;
}

static float *gof(const cg_gan_mgen *m, float *base, int t) { return base ? base + m->P.tensors[t].offset : NULL; }

cg_status cg_gan_mgen_backward(cg_gan_mgen *m, const float *dvol, float *grad_theta) {
    if (!m->z) return cg_error(CG_ERR_ARG, "manifold generator: backward without a forward");
    const int B = m->batch;
    const float slope = m->cfg.slope;
    cg_nn_zero(m->gfc, (size_t)B * m->n_fc), cg_nn_zero(m->gfca, (size_t)B * m->n_fc);
    for (int i = 0; i < NUP; i++) {
        cg_nn_zero(m->gup[i], (size_t)B * m->n_up[i]);
        cg_nn_zero(m->gcv[i], (size_t)B * m->n_conv[i]);
        cg_nn_zero(m->gact[i], (size_t)B * m->n_conv[i]);
    }
    const float sc = m->cfg.scale > 0 ? m->cfg.scale : 1.0f;
    const size_t nv = (size_t)B * m->n_conv[NUP - 1];
    for (size_t i = 0; i < nv; i++) m->gact[NUP - 1][i] = sc * dvol[i];
    const int saved = cg_nn_blas_single_begin();
    for (int i = NUP - 1; i >= 0; i--) {
        cg_nn_act_backward(m->gcv[i], m->gact[i], m->cv[i], (size_t)B * m->n_conv[i],
                           i < NUP - 1 ? CG_NN_ACT_LEAKY_RELU : CG_NN_ACT_SOFTPLUS, slope);
        cg_nn_conv_backward(m->gup[i], gof(m, grad_theta, m->tw[i]), gof(m, grad_theta, m->tb[i]), m->gcv[i],
                            m->up[i], cg_nn_param(&m->P, m->tw[i]), B, &m->cs[i], m->scratch);
        cg_nn_upsample_backward(i ? m->gact[i - 1] : m->gfca, m->gup[i], B, &m->us[i]);
    }
    cg_nn_act_backward(m->gfc, m->gfca, m->fc, (size_t)B * m->n_fc, CG_NN_ACT_LEAKY_RELU, slope);
    cg_nn_linear_backward(NULL, gof(m, grad_theta, m->fw), gof(m, grad_theta, m->fb), m->gfc, m->z,
                          cg_nn_param(&m->P, m->fw), B, m->cfg.zdim, (int)m->n_fc);
    cg_nn_blas_single_end(saved);
    return CG_OK;
}

/* ---------------------------------------------------------------- path clustering ------- */
/* Mean of the off-diagonal entries of S over blocks [a0,a1) x [b0,b1). */
static void block_sum(const double *S, int n, int a0, int a1, int b0, int b1, double *sum, int64_t *cnt) {
    for (int i = a0; i < a1; i++)
        for (int j = b0; j < b1; j++)
            if (i != j) *sum += S[(size_t)i * n + j], ++*cnt;
}

static double split_score(const double *S, int n, const int *cut, int K) {
    double ws = 0, bs = 0;
    int64_t wc = 0, bc = 0;
    for (int p = 0; p < K; p++)
        for (int q = 0; q < K; q++) {
            int a0 = p ? cut[p - 1] : 0, a1 = p < K - 1 ? cut[p] : n;
            int b0 = q ? cut[q - 1] : 0, b1 = q < K - 1 ? cut[q] : n;
            if (p == q) block_sum(S, n, a0, a1, b0, b1, &ws, &wc);
            else block_sum(S, n, a0, a1, b0, b1, &bs, &bc);
        }
    return (wc ? ws / wc : 0) - (bc ? bs / bc : 0);
}

static void search(const double *S, int n, int K, int *cut, int k, double *best, int *best_cut) {
    if (k == K - 1) {
        double s = split_score(S, n, cut, K);
        if (s > *best) *best = s, memcpy(best_cut, cut, sizeof(int) * (size_t)(K - 1));
        return;
    }
    for (int c = k ? cut[k - 1] + 1 : 1; c <= n - (K - 1 - k); c++) cut[k] = c, search(S, n, K, cut, k + 1, best, best_cut);
}

cg_status cg_gan_path_clusters(const double *S, int n, int K, int *cut, double *proportion, double *score) {
    if (n < 2 || K < 2 || K > n || K > 8)
        return cg_error(CG_ERR_ARG, "path clusters: need 2 <= K (%d) <= min(n (%d), 8)", K, n);
    int tmp[8];
    double best = -1e300;
    search(S, n, K, tmp, 0, &best, cut);
    for (int p = 0; p < K; p++) {
        /* path point i sits at a = i/(n-1); a block [c0, c1) covers the latent interval from the
         * midpoint before its first point to the midpoint after its last one */
        double lo = p ? (cut[p - 1] - 0.5) / (n - 1) : 0, hi = p < K - 1 ? (cut[p] - 0.5) / (n - 1) : 1;
        proportion[p] = hi - lo;
    }
    if (score) *score = best;
    return CG_OK;
}
