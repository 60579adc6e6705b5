/* Optimisation on the flat buffers: initialisation from the seeded Philox generator,
 * Adam/AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019) in PyTorch 1.13's exact form,
 * global-norm clipping (PyTorch clip_grad_norm_), EMA of weights, warm-up + linear/cosine
 * learning-rate decay. Every update is one elementwise loop (OpenMP, deterministic); norms
 * are accumulated in double over fixed chunks. */
#include <math.h>

#include "cryogen/nn.h"
#include "nn/nn_internal.h"

void cg_nn_init_tensor(float *w, size_t count, int64_t fan_in, int64_t fan_out, cg_nn_init kind, uint64_t seed,
                       uint64_t index) {
    cg_rng g;
    cg_rng_init(&g, seed, CG_RNG_STREAM_INIT, index);
    double fi = fan_in > 0 ? (double)fan_in : 1.0, fo = fan_out > 0 ? (double)fan_out : 1.0;
    double a = 0, sd = 0;
    switch (kind) {
    case CG_NN_INIT_TORCH: a = 1.0 / sqrt(fi); break;
    case CG_NN_INIT_HE_UNIFORM: a = sqrt(6.0 / fi); break;
    case CG_NN_INIT_XAVIER_UNIFORM: a = sqrt(6.0 / (fi + fo)); break;
    case CG_NN_INIT_HE_NORMAL: sd = sqrt(2.0 / fi); break;
    case CG_NN_INIT_XAVIER_NORMAL: sd = sqrt(2.0 / (fi + fo)); break;
    case CG_NN_INIT_ZERO:
    case CG_NN_INIT_ONE:
        for (size_t i = 0; i < count; i++) w[i] = kind == CG_NN_INIT_ONE ? 1.0f : 0.0f;
        return;
    }
    for (size_t i = 0; i < count; i++)
        w[i] = sd > 0 ? (float)(sd * cg_rng_normal(&g)) : (float)(a * (2.0 * cg_rng_uniform(&g) - 1.0));
}

cg_nn_adam_config cg_nn_adam_defaults(void) {
    cg_nn_adam_config c = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.0f, .decoupled = 0};
    return c;
}

void cg_nn_adam_update(float *param, const float *grad, float *m, float *v, size_t n, const cg_nn_adam_config *c,
                       float lr, int64_t t) {
    const float b1 = c->beta1, b2 = c->beta2, ob1 = (float)(1.0 - c->beta1), ob2 = (float)(1.0 - c->beta2);
    const float step_size = (float)(lr / (1.0 - pow(c->beta1, (double)t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(c->beta2, (double)t));
    const float wd = c->weight_decay, eps = c->eps, decay = (float)(1.0 - (double)lr * c->weight_decay);
    const int l2 = !c->decoupled && wd != 0.0f, dec = c->decoupled && wd != 0.0f;
    CG_NN_PARALLEL_FOR_IF(n >= CG_NN_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i], p = param[i];
        if (l2) g += wd * p;
        if (dec) p *= decay;
        float mi = m[i] * b1 + ob1 * g;
        float vi = v[i] * b2 + ob2 * g * g;
        m[i] = mi, v[i] = vi;
        param[i] = p - step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

void cg_nn_adam_step(cg_nn_params *p, const cg_nn_adam_config *c, float lr) {
    cg_nn_adam_update(p->param, p->grad, p->m, p->v, p->count, c, lr, p->step + 1);
    p->step++;
}

double cg_nn_clip_grad_norm(cg_nn_params *p, double max_norm) {
    double norm = cg_nn_l2_norm(p->grad, p->count);
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) cg_nn_scale(p->grad, (float)coef, p->count);
    return norm;
}

void cg_nn_ema_update(cg_nn_params *p, float decay) {
    if (!p->ema) return;
    const float a = decay, b = 1.0f - decay;
    float *e = p->ema;
    const float *w = p->param;
    CG_NN_PARALLEL_FOR_IF(p->count >= CG_NN_PAR_MIN)
    for (size_t i = 0; i < p->count; i++) e[i] = a * e[i] + b * w[i];
}

float cg_nn_lr_at(const cg_nn_lr_schedule *s, int64_t step) {
    if (step < s->warmup_steps) return (float)((double)s->base_lr * (double)(step + 1) / (double)s->warmup_steps);
    int64_t start = s->decay_start > s->warmup_steps ? s->decay_start : s->warmup_steps;
    if (s->decay == CG_NN_LR_CONSTANT || step < start) return s->base_lr;
    int64_t span = s->total_steps - start;
    double prog = span > 0 ? (double)(step - start) / (double)span : 1.0;
    if (prog > 1.0) prog = 1.0;
    double f = s->decay == CG_NN_LR_LINEAR ? 1.0 - prog : 0.5 * (1.0 + cos(M_PI * prog));
    return (float)(s->min_lr + ((double)s->base_lr - s->min_lr) * f);
}
