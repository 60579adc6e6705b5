/* CryoGAN's critic: a small CNN on D x D images, after the discriminator of Gupta et al.,
 * "CryoGAN", IEEE TCI 2021 (convolutions, max pooling, LeakyReLU, a final linear layer; no
 * batch statistics, as WGAN-GP requires: Gulrajani et al. 2017, section 4).
 *
 *   x[B][1][D][D] -> n_blocks x ( conv3x3 pad 1 (c_i -> c_{i+1}) -> LeakyReLU -> maxpool 2 )
 *                 -> flatten [B][C*S*S] -> linear -> out[B]
 *
 * Composed from the nn layer kernels (include/cryogen/nn_layers.h); parameters in one
 * cg_nn_params store named "b<i>.conv.weight" [co][ci][3][3], "b<i>.conv.bias", "fc.weight"
 * [1][C*S*S], "fc.bias". Activations live in buffers sized once for max_batch. The layer
 * backward passes accumulate (+=), so every activation gradient is zeroed first.
 * The GEMMs here are small (per image); OpenBLAS's own threads made a training step ~30x
 * slower on a loaded 2-core machine (18 against 600 images/s), so forward and backward switch
 * OpenBLAS to one thread and restore it on return (as the MLP container does, docs/nn.md):
 * do not call BLAS from another thread meanwhile.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/gan.h"

#define MAX_BLOCKS 4

struct cg_gan_critic {
    cg_gan_critic_config cfg;
    int max_batch, batch, nb;
    cg_nn_params P;
    int tw[MAX_BLOCKS], tb[MAX_BLOCKS], fw, fb;
    cg_nn_conv_shape cs[MAX_BLOCKS];
    cg_nn_pool_shape ps[MAX_BLOCKS];
    size_t n_act[MAX_BLOCKS], n_pool[MAX_BLOCKS]; /* floats per image */
    int n_feat;
    const float *x;                 /* input of the last forward (borrowed) */
    float *a[MAX_BLOCKS], *l[MAX_BLOCKS], *p[MAX_BLOCKS];   /* conv out, LeakyReLU out, pool out */
    float *ga[MAX_BLOCKS], *gl[MAX_BLOCKS], *gp[MAX_BLOCKS];
    float *out, *ones, *scratch;
};

void cg_gan_critic_destroy(cg_gan_critic *c) {
    if (!c) return;
    for (int i = 0; i < MAX_BLOCKS; i++) free(c->a[i]), free(c->l[i]), free(c->p[i]), free(c->ga[i]), free(c->gl[i]), free(c->gp[i]);
    free(c->out), free(c->ones), free(c->scratch);
    cg_nn_params_free(&c->P);
    free(c);
}

cg_nn_params *cg_gan_critic_params(cg_gan_critic *c) { return &c->P; }
void cg_gan_critic_set_batch(cg_gan_critic *c, int B) { c->batch = B; }

static cg_status build(cg_gan_critic *c, uint64_t seed) {
    const cg_gan_critic_config *k = &c->cfg;
    int nb = k->n_blocks, size = k->D;
    if (nb <= 0) {
        nb = 0;
        while (nb < MAX_BLOCKS && size / 2 >= 4) size /= 2, nb++;
        size = k->D;
    }
    if (nb > MAX_BLOCKS) return cg_error(CG_ERR_ARG, "critic: %d blocks requested, at most %d", nb, MAX_BLOCKS);
    c->nb = nb;
    int cin = 1, ch = k->channels;
    cg_status st = CG_OK;
    size_t scratch = 0;
    for (int i = 0; i < nb && !st; i++) {
        char name[CG_NN_NAME_MAX];
        snprintf(name, sizeof name, "b%d.conv.weight", i);
        st = cg_nn_params_add(&c->P, name, 4, (int64_t[]){ch, cin, 3, 3}, &c->tw[i]);
        snprintf(name, sizeof name, "b%d.conv.bias", i);
        if (!st) st = cg_nn_params_add(&c->P, name, 1, (int64_t[]){ch}, &c->tb[i]);
        if (!st) st = cg_nn_conv_shape_2d(&c->cs[i], cin, ch, size, size, 3, 1, 1);
        if (!st) st = cg_nn_pool_shape_2d(&c->ps[i], ch, size, size, 2, 2);
        if (st) break;
        c->n_act[i] = (size_t)ch * size * size;
        c->n_pool[i] = (size_t)ch * c->ps[i].oh * c->ps[i].ow;
        size_t sc = cg_nn_conv_scratch_floats(&c->cs[i]);
        if (sc > scratch) scratch = sc;
        size = c->ps[i].oh, cin = ch, ch *= 2;
    }
    if (st) return st;
    c->n_feat = cin * size * size;
    st = cg_nn_params_add(&c->P, "fc.weight", 2, (int64_t[]){1, c->n_feat}, &c->fw);
    if (!st) st = cg_nn_params_add(&c->P, "fc.bias", 1, (int64_t[]){1}, &c->fb);
    if (!st) st = cg_nn_params_alloc(&c->P);
    if (st) return st;
    for (int t = 0; t < c->P.n_tensors; t++) {
        const cg_nn_tensor *T = &c->P.tensors[t];
        int64_t fan_in = (int64_t)T->count / T->shape[0];
        cg_nn_init_tensor(cg_nn_param(&c->P, t), T->count, fan_in, 1,
                          T->ndim > 1 ? CG_NN_INIT_HE_UNIFORM : CG_NN_INIT_ZERO, seed, (uint64_t)t);
    }
    const size_t B = (size_t)c->max_batch;
    for (int i = 0; i < nb; i++) {
        c->a[i] = cg_malloc(B * c->n_act[i], sizeof(float), "critic activations");
        c->l[i] = cg_malloc(B * c->n_act[i], sizeof(float), "critic activations");
        c->p[i] = cg_malloc(B * c->n_pool[i], sizeof(float), "critic activations");
        c->ga[i] = cg_malloc(B * c->n_act[i], sizeof(float), "critic gradients");
        c->gl[i] = cg_malloc(B * c->n_act[i], sizeof(float), "critic gradients");
        c->gp[i] = cg_malloc(B * c->n_pool[i], sizeof(float), "critic gradients");
        if (!c->a[i] || !c->l[i] || !c->p[i] || !c->ga[i] || !c->gl[i] || !c->gp[i]) return CG_ERR_NOMEM;
    }
    c->out = cg_malloc(B, sizeof(float), "critic output");
    c->ones = cg_malloc(B, sizeof(float), "critic output");
    c->scratch = cg_malloc(scratch ? scratch : 1, sizeof(float), "critic scratch");
    if (!c->out || !c->ones || !c->scratch) return CG_ERR_NOMEM;
    for (size_t b = 0; b < B; b++) c->ones[b] = 1.0f;
    return CG_OK;
}

cg_status cg_gan_critic_create(cg_gan_critic **out, const cg_gan_critic_config *cfg, int max_batch, uint64_t seed) {
    *out = NULL;
    if (cfg->D < 8 || cfg->channels < 1 || max_batch < 1 || !(cfg->slope >= 0))
        return cg_error(CG_ERR_ARG, "critic: need D >= 8 (got %d), channels >= 1 (%d), batch >= 1 (%d), slope >= 0",
                        cfg->D, cfg->channels, max_batch);
    cg_gan_critic *c = cg_calloc(1, sizeof *c, "critic");
    if (!c) return CG_ERR_NOMEM;
    c->cfg = *cfg, c->max_batch = max_batch, c->batch = max_batch;
    cg_nn_params_init(&c->P);
    cg_status st = build(c, seed);
    if (st) return cg_gan_critic_destroy(c), st;
    *out = c;
    return CG_OK;
}


cg_status cg_gan_critic_forward(cg_gan_critic *c, const float *x, int B, float *out) {
    if (B < 1 || B > c->max_batch) return cg_error(CG_ERR_ARG, "critic: batch %d outside 1..%d", B, c->max_batch);
    c->batch = B, c->x = x;
    const float slope = c->cfg.slope;
    const float *in = x;
    const int saved = cg_nn_blas_single_begin();
    for (int i = 0; i < c->nb; i++) {
        cg_nn_conv_forward(c->a[i], in, cg_nn_param(&c->P, c->tw[i]), cg_nn_param(&c->P, c->tb[i]), B, &c->cs[i],
                           c->scratch);
        cg_nn_act_forward(c->l[i], c->a[i], (size_t)B * c->n_act[i], CG_NN_ACT_LEAKY_RELU, slope);
        cg_nn_maxpool_forward(c->p[i], c->l[i], B, &c->ps[i]);
        in = c->p[i];
    }
    cg_nn_linear_forward(c->out, in, cg_nn_param(&c->P, c->fw), cg_nn_param(&c->P, c->fb), B, c->n_feat, 1);
    cg_nn_blas_single_end(saved);
    if (out) memcpy(out, c->out, sizeof(float) * (size_t)B);
    return CG_OK;
}

static float *gof(const cg_gan_critic *c, float *base, int t) { return base ? base + c->P.tensors[t].offset : NULL; }

cg_status cg_gan_critic_backward(cg_gan_critic *c, const float *dout, float *grad_x, float *grad_theta) {
    if (!c->x) return cg_error(CG_ERR_ARG, "critic: backward without a forward");
    const int B = c->batch, nb = c->nb;
    const float slope = c->cfg.slope;
    for (int i = 0; i < nb; i++) {
        cg_nn_zero(c->ga[i], (size_t)B * c->n_act[i]);
        cg_nn_zero(c->gl[i], (size_t)B * c->n_act[i]);
        cg_nn_zero(c->gp[i], (size_t)B * c->n_pool[i]);
    }
    const size_t nx = (size_t)B * c->cfg.D * c->cfg.D;
    if (grad_x) cg_nn_zero(grad_x, nx);
    const int saved = cg_nn_blas_single_begin();
    const float *last = nb ? c->p[nb - 1] : c->x;
    float *glast = nb ? c->gp[nb - 1] : grad_x;
    cg_nn_linear_backward(glast, gof(c, grad_theta, c->fw), gof(c, grad_theta, c->fb), dout, last,
                          cg_nn_param(&c->P, c->fw), B, c->n_feat, 1);
    for (int i = nb - 1; i >= 0; i--) {
        cg_nn_maxpool_backward(c->gl[i], c->gp[i], c->l[i], B, &c->ps[i]);
        cg_nn_act_backward(c->ga[i], c->gl[i], c->a[i], (size_t)B * c->n_act[i], CG_NN_ACT_LEAKY_RELU, slope);
        const float *in = i ? c->p[i - 1] : c->x;
        float *gin = i ? c->gp[i - 1] : grad_x;
        cg_nn_conv_backward(gin, gof(c, grad_theta, c->tw[i]), gof(c, grad_theta, c->tb[i]), c->ga[i], in,
                            cg_nn_param(&c->P, c->tw[i]), B, &c->cs[i], c->scratch);
    }
    cg_nn_blas_single_end(saved);
    return CG_OK;
}

cg_status cg_gan_critic_fn(void *ctx, const float *x, float *grad_x, float *grad_theta) {
    cg_gan_critic *c = ctx;
    cg_status st = cg_gan_critic_forward(c, x, c->batch, NULL);
    if (!st) st = cg_gan_critic_backward(c, c->ones, grad_x, grad_theta);
    return st;
}
