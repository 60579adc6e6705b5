/* Sequential (residual) MLP container with the llm.c lifecycle
 *     create -> reserve -> { forward -> zero_grad -> backward -> update } -> destroy.
 * Layer i computes y_i = act_i(x_i . W_i^T + b_i [+ x_i]), x_0 = input, x_i = y_{i-1}.
 * Speed: every layer is one sgemm plus ONE fused pass over its output (bias, residual,
 * activation) in forward; in backward one sgemm for dW, one for dx, and one fused pass that
 * adds the residual branch, multiplies by the previous activation's derivative (from its
 * stored output, or from the stored pre-activation for SiLU) and collects the bias
 * gradient. Bias sums go into per-64-row-block partials added in block order, so the result
 * is independent of the OpenMP thread count. Activations and gradient buffers live in one
 * arena sized by reserve(); nothing is allocated per step. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/nn.h"
#include "nn/nn_internal.h"

enum { ROW_BLOCK = 64 };

typedef struct {
    int din, dout, resid;
    cg_nn_act act;
    int w, b;        /* tensor indices */
    float *y, *z;    /* [max_rows][dout] output; pre-activation (only when act needs it) */
} mlp_layer;

struct cg_nn_mlp {
    cg_nn_mlp_config cfg;
    int n_layers, max_dim;
    mlp_layer *layers;
    cg_nn_params params;
    cg_arena arena;
    int64_t max_rows, n;
    float *ga, *gb;  /* [max_rows][max_dim] gradient ping-pong */
    float *bpart;    /* [max_rows/ROW_BLOCK + 1][max_dim] bias partial sums */
    const float *in; /* input of the last forward (borrowed) */
};

static cg_status check_config(const cg_nn_mlp_config *c) {
    if (c->in_dim <= 0 || c->hidden_dim <= 0 || c->out_dim <= 0 || c->n_hidden < 0)
        return cg_error(CG_ERR_ARG, "nn mlp: bad sizes in %d, hidden %d x %d, out %d", c->in_dim, c->n_hidden,
                        c->hidden_dim, c->out_dim);
    if ((int)c->act < CG_NN_ACT_NONE || c->act > CG_NN_ACT_SOFTPLUS)
        return cg_error(CG_ERR_ARG, "nn mlp: unknown activation %d", (int)c->act);
    if (c->act == CG_NN_ACT_LEAKY_RELU && !(c->leaky_slope > 0))
        return cg_error(CG_ERR_ARG, "nn mlp: LeakyReLU slope must be > 0 (got %g)", c->leaky_slope);
    return CG_OK;
}

static cg_status add_layer(cg_nn_mlp *m, int i, int din, int dout) {
    mlp_layer *L = &m->layers[i];
    L->din = din, L->dout = dout;
    L->resid = m->cfg.residual && din == dout;
    L->act = i == m->n_layers - 1 ? CG_NN_ACT_NONE : m->cfg.act;
    char name[CG_NN_NAME_MAX];
    int64_t ws[2] = {dout, din}, bs[1] = {dout};
    snprintf(name, sizeof name, "l%d.weight", i);
    cg_status s = cg_nn_params_add(&m->params, name, 2, ws, &L->w);
    if (s != CG_OK) return s;
    snprintf(name, sizeof name, "l%d.bias", i);
    return cg_nn_params_add(&m->params, name, 1, bs, &L->b);
}

cg_status cg_nn_mlp_create(cg_nn_mlp **out, const cg_nn_mlp_config *cfg, uint64_t seed) {
    *out = NULL;
    cg_status s = check_config(cfg);
    if (s != CG_OK) return s;
    cg_nn_mlp *m = cg_calloc(1, sizeof *m, "nn mlp");
    if (!m) return CG_ERR_NOMEM;
    m->cfg = *cfg;
    m->n_layers = cfg->n_hidden + 2;
    m->layers = cg_calloc((size_t)m->n_layers, sizeof *m->layers, "nn mlp layers");
    if (!m->layers) return cg_nn_mlp_destroy(m), CG_ERR_NOMEM;
    cg_nn_params_init(&m->params);
    for (int i = 0; i < m->n_layers && s == CG_OK; i++) {
        int din = i == 0 ? cfg->in_dim : cfg->hidden_dim, dout = i == m->n_layers - 1 ? cfg->out_dim : cfg->hidden_dim;
        s = add_layer(m, i, din, dout);
        if (din > m->max_dim) m->max_dim = din;
        if (dout > m->max_dim) m->max_dim = dout;
    }
    if (s == CG_OK) s = cg_nn_params_alloc(&m->params);
    if (s != CG_OK) return cg_nn_mlp_destroy(m), s;
    for (int i = 0; i < m->n_layers; i++) {
        mlp_layer *L = &m->layers[i];
        cg_nn_init_tensor(cg_nn_param(&m->params, L->w), (size_t)L->din * L->dout, L->din, L->dout, cfg->init, seed,
                          (uint64_t)L->w);
        cg_nn_init_tensor(cg_nn_param(&m->params, L->b), (size_t)L->dout, L->din, L->dout,
                          cfg->init == CG_NN_INIT_TORCH ? CG_NN_INIT_TORCH : CG_NN_INIT_ZERO, seed, (uint64_t)L->b);
    }
    *out = m;
    return CG_OK;
}

void cg_nn_mlp_destroy(cg_nn_mlp *m) {
    if (!m) return;
    cg_nn_params_free(&m->params);
    cg_arena_free(&m->arena);
    free(m->layers);
    free(m);
}

cg_status cg_nn_mlp_reserve(cg_nn_mlp *m, int64_t max_rows) {
    if (max_rows <= 0 || max_rows > (int64_t)1 << 31)
        return cg_error(CG_ERR_ARG, "nn mlp: cannot reserve %lld rows", (long long)max_rows);
    size_t rows = (size_t)max_rows, md = (size_t)m->max_dim, bytes = 0;
    for (int i = 0; i < m->n_layers; i++) {
        size_t per = (rows * (size_t)m->layers[i].dout * sizeof(float) + 63) & ~(size_t)63;
        bytes += per * (cg_nn__act_df_from_output_ok(m->layers[i].act) ? 1 : 2);
    }
    size_t nblk = rows / ROW_BLOCK + 1;
    bytes += 2 * ((rows * md * sizeof(float) + 63) & ~(size_t)63) + nblk * md * sizeof(float) + 64;
    cg_arena_free(&m->arena);
    m->max_rows = m->n = 0;
    cg_status s = cg_arena_init(&m->arena, bytes);
    if (s != CG_OK) return s;
    for (int i = 0; i < m->n_layers; i++) {
        mlp_layer *L = &m->layers[i];
        L->y = CG_ARENA_ALLOC(&m->arena, float, rows * (size_t)L->dout);
        L->z = cg_nn__act_df_from_output_ok(L->act) ? NULL : CG_ARENA_ALLOC(&m->arena, float, rows * (size_t)L->dout);
    }
    m->ga = CG_ARENA_ALLOC(&m->arena, float, rows * md);
    m->gb = CG_ARENA_ALLOC(&m->arena, float, rows * md);
    m->bpart = CG_ARENA_ALLOC(&m->arena, float, nblk * md);
    if (!m->ga || !m->gb || !m->bpart) return CG_ERR_INTERNAL;
    m->max_rows = max_rows;
    return CG_OK;
}

/* Forward epilogue: y = act(t + b [+ x]) in place over t = y, keeping z when needed. */
static void forward_epilogue(const mlp_layer *L, const float *b, const float *x, int64_t n, float slope) {
    const int d = L->dout;
    CG_NN_PARALLEL_FOR_IF(n * d >= CG_NN_PAR_MIN)
    for (int64_t r = 0; r < n; r++) {
        float *y = L->y + r * d, *z = L->z ? L->z + r * d : NULL;
        const float *xr = L->resid ? x + r * d : NULL;
        for (int j = 0; j < d; j++) {
            float v = y[j] + b[j] + (xr ? xr[j] : 0.0f);
            if (z) z[j] = v;
            y[j] = cg_nn__act_f(v, L->act, slope);
        }
    }
}

cg_status cg_nn_mlp_forward(cg_nn_mlp *m, const float *in, int64_t n, const float **out) {
    if (n <= 0 || n > m->max_rows)
        return cg_error(CG_ERR_ARG, "nn mlp forward: %lld rows, reserved %lld", (long long)n, (long long)m->max_rows);
    const float *x = in;
    for (int i = 0; i < m->n_layers; i++) {
        mlp_layer *L = &m->layers[i];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, L->dout, L->din, 1.0f, x, L->din,
                    cg_nn_param(&m->params, L->w), L->din, 0.0f, L->y, L->dout);
        forward_epilogue(L, cg_nn_param(&m->params, L->b), x, n, m->cfg.leaky_slope);
        x = L->y;
    }
    m->in = in;
    m->n = n;
    if (out) *out = x;
    return CG_OK;
}

void cg_nn_mlp_zero_grad(cg_nn_mlp *m) { cg_nn_params_zero_grad(&m->params); }

/* dz[n][d] = (g + add) * act'(layer L), in place allowed (dz == g), with the bias gradient
 * of L collected in fixed row blocks and added to db in block order. add may be NULL. */
static void backward_epilogue(float *dz, const float *g, const float *add, const mlp_layer *L, float *db,
                              float *bpart, int64_t n, float slope) {
    const int d = L->dout;
    const int64_t nblk = (n + ROW_BLOCK - 1) / ROW_BLOCK;
    const int from_out = cg_nn__act_df_from_output_ok(L->act);
    CG_NN_PARALLEL_FOR_IF(n * d >= CG_NN_PAR_MIN)
    for (int64_t blk = 0; blk < nblk; blk++) {
        float *part = bpart + blk * d;
        memset(part, 0, (size_t)d * sizeof(float));
        int64_t r1 = (blk + 1) * ROW_BLOCK < n ? (blk + 1) * ROW_BLOCK : n;
        for (int64_t r = blk * ROW_BLOCK; r < r1; r++) {
            const float *gr = g + r * d, *ar = add ? add + r * d : NULL;
            const float *a = from_out ? L->y + r * d : L->z + r * d;
            float *o = dz + r * d;
            for (int j = 0; j < d; j++) {
                float v = gr[j] + (ar ? ar[j] : 0.0f);
                v *= from_out ? cg_nn__act_df_from_output(a[j], L->act, slope) : cg_nn__act_df(a[j], L->act, slope);
                o[j] = v;
                part[j] += v;
            }
        }
    }
    CG_NN_PARALLEL_FOR_IF(nblk * d >= CG_NN_PAR_MIN)
    for (int j = 0; j < d; j++) {
        double s = 0;
        for (int64_t blk = 0; blk < nblk; blk++) s += bpart[blk * d + j];
        db[j] += (float)s;
    }
}

cg_status cg_nn_mlp_backward(cg_nn_mlp *m, const float *dout, float *din) {
    if (m->n <= 0) return cg_error(CG_ERR_ARG, "nn mlp backward: no forward pass to differentiate");
    const int64_t n = m->n;
    const float slope = m->cfg.leaky_slope;
    int last = m->n_layers - 1;
    mlp_layer *L = &m->layers[last];
    const float *dz = dout;
    if (L->act == CG_NN_ACT_NONE) cg_nn_colsum_acc(cg_nn_grad(&m->params, L->b), dout, n, L->dout);
    else backward_epilogue(m->ga, dout, NULL, L, cg_nn_grad(&m->params, L->b), m->bpart, n, slope), dz = m->ga;
    for (int i = last; i >= 0; i--) {
        L = &m->layers[i];
        const float *x = i > 0 ? m->layers[i - 1].y : m->in;
        const float *W = cg_nn_param(&m->params, L->w);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->dout, L->din, (int)n, 1.0f, dz, L->dout, x, L->din,
                    1.0f, cg_nn_grad(&m->params, L->w), L->din);
        if (i == 0 && !din) break;
        float *g = i == 0 ? din : (dz == m->ga ? m->gb : m->ga);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, L->din, L->dout, 1.0f, dz, L->dout, W, L->din,
                    0.0f, g, L->din);
        if (i == 0) {
            if (L->resid) cg_nn_acc(din, dz, (size_t)n * (size_t)L->din);
            break;
        }
        mlp_layer *P = &m->layers[i - 1];
        backward_epilogue(g, g, L->resid ? dz : NULL, P, cg_nn_grad(&m->params, P->b), m->bpart, n, slope);
        dz = g;
    }
    return CG_OK;
}

void cg_nn_mlp_update(cg_nn_mlp *m, const cg_nn_adam_config *opt, float lr) { cg_nn_adam_step(&m->params, opt, lr); }

cg_nn_params *cg_nn_mlp_params(cg_nn_mlp *m) { return &m->params; }

const cg_nn_mlp_config *cg_nn_mlp_get_config(const cg_nn_mlp *m) { return &m->cfg; }

double cg_nn_mlp_flops(const cg_nn_mlp_config *cfg, int64_t n, int with_din) {
    int nl = cfg->n_hidden + 2;
    double f = 0;
    for (int i = 0; i < nl; i++) {
        double din = i == 0 ? cfg->in_dim : cfg->hidden_dim, dout = i == nl - 1 ? cfg->out_dim : cfg->hidden_dim;
        double mac = 2.0 * (double)n * din * dout;
        f += mac * ((i > 0 || with_din) ? 3.0 : 2.0); /* forward, dW, dx */
    }
    return f;
}
