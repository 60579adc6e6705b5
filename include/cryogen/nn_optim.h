/* cryogen neural-network optimisation: weight initialisation from the seeded generator,
 * Adam / AdamW with bias correction, global-norm gradient clipping, an exponential moving
 * average of the weights and learning-rate schedules (warm-up, then linear or cosine decay).
 * All of these act on the flat buffers of a cg_nn_params (see nn.h) in one loop each.
 * References: Kingma & Ba 2015 (Adam); Loshchilov & Hutter 2019 (AdamW); He et al. 2015 and
 * Glorot & Bengio 2010 (initialisation); PyTorch 1.13 torch.optim for the exact update form.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cg_nn_params; /* the parameter store, defined in nn.h */

/* ---------------------------------------------------------------- initialisation -------- */
typedef enum {
    CG_NN_INIT_TORCH = 0,    /* PyTorch nn.Linear/Conv default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
    CG_NN_INIT_HE_NORMAL,    /* N(0, 2/fan_in) (Kaiming, for ReLU) */
    CG_NN_INIT_HE_UNIFORM,   /* U(-sqrt(6/fan_in), sqrt(6/fan_in)) */
    CG_NN_INIT_XAVIER_NORMAL,  /* N(0, 2/(fan_in+fan_out)) */
    CG_NN_INIT_XAVIER_UNIFORM, /* U(-a, a), a = sqrt(6/(fan_in+fan_out)) */
    CG_NN_INIT_ZERO,
    CG_NN_INIT_ONE,
} cg_nn_init;
/* w[count] drawn from the Philox stream (seed, CG_RNG_STREAM_INIT, index) in order, so each
 * tensor's values depend only on (seed, index). Biases: pass CG_NN_INIT_TORCH with the
 * layer's fan_in (PyTorch's bias rule) or CG_NN_INIT_ZERO. */
void cg_nn_init_tensor(float *w, size_t count, int64_t fan_in, int64_t fan_out, cg_nn_init kind, uint64_t seed,
                       uint64_t index);

/* ---------------------------------------------------------------- Adam / AdamW ---------- */
typedef struct {
    float beta1, beta2, eps;
    float weight_decay; /* 0: none */
    int decoupled;      /* 0: Adam (L2: g += wd*p), 1: AdamW (p -= lr*wd*p before the step) */
} cg_nn_adam_config;
/* beta1 0.9, beta2 0.999, eps 1e-8, no weight decay (PyTorch defaults). */
cg_nn_adam_config cg_nn_adam_defaults(void);
/* One step at time t >= 1 on raw arrays param/grad/m/v[n], exactly PyTorch's formula:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
 * Elementwise, OpenMP-parallel, deterministic. */
void cg_nn_adam_update(float *param, const float *grad, float *m, float *v, size_t n, const cg_nn_adam_config *c,
                       float lr, int64_t t);
/* Apply cg_nn_adam_update to the whole store with t = p->step + 1, then p->step++. */
void cg_nn_adam_step(struct cg_nn_params *p, const cg_nn_adam_config *c, float lr);

/* ---------------------------------------------------------------- clipping / EMA -------- */
/* Global L2 norm of g[n], accumulated in double in fixed blocks. */
double cg_nn_l2_norm(const float *g, size_t n);
/* If the global gradient norm exceeds max_norm, scale all gradients by
 * max_norm / (norm + 1e-6) (PyTorch clip_grad_norm_). Returns the norm before clipping. */
double cg_nn_clip_grad_norm(struct cg_nn_params *p, double max_norm);
/* ema = decay * ema + (1 - decay) * param (requires cg_nn_params_enable_ema). */
void cg_nn_ema_update(struct cg_nn_params *p, float decay);

/* ---------------------------------------------------------------- learning rate --------- */
typedef enum { CG_NN_LR_CONSTANT = 0, CG_NN_LR_LINEAR, CG_NN_LR_COSINE } cg_nn_lr_decay;
typedef struct {
    float base_lr, min_lr;
    int64_t warmup_steps; /* lr = base * (step+1)/warmup for step < warmup */
    int64_t total_steps;  /* decay from base at step max(warmup, decay_start) to min at step = total */
    cg_nn_lr_decay decay;
    int64_t decay_start;  /* constant base lr until here (0: the decay starts after the warm-up) */
} cg_nn_lr_schedule;
/* Learning rate for a 0-based step; constant min_lr after total_steps. */
float cg_nn_lr_at(const cg_nn_lr_schedule *s, int64_t step);

#ifdef __cplusplus
}
#endif
