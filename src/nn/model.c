/* Sequential (residual) MLP container with the llm.c lifecycle
 *     create -> reserve -> { forward -> zero_grad -> backward -> update } -> destroy.
 * Layer i computes y_i = act_i(x_i . W_i^T + b_i [+ x_i]), x_0 = input, x_i = y_{i-1}.
 *
 * Speed. Rows are processed in fixed chunks of CHUNK rows, distributed over OpenMP threads;
 * each chunk runs a single-threaded OpenBLAS sgemm and then its epilogue while the chunk is
 * still in L2: forward adds bias and residual and applies the activation in that one pass;
 * backward computes dX = dZ W, adds the residual branch, multiplies by the previous layer's
 * activation derivative (from its stored output, or its stored pre-activation for SiLU) and
 * collects that layer's bias-gradient partial sums in the same pass. Weight gradients
 * dW += dZ^T X are split over rows into KSPLIT fixed parts, one sgemm each into a partial
 * buffer, added in part order (splitting over output rows instead would repack X once per
 * block, about 8% of a step on one core). OpenBLAS is
 * set to one thread during forward/backward (and restored) so that its thread pool and
 * OpenMP's never compete for the same cores: measured on 2 cores, two spinning pools made
 * a step slower with 2 threads than with 1.
 * Determinism: chunk and part boundaries depend on the row count only, and partials are
 * summed in a fixed order (bias partials in double), so the bytes do not depend on the
 * thread count.
 * Memory: activations and gradient buffers live in one arena sized by reserve(); nothing is
 * allocated per step. The input of forward is borrowed until backward returns.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/nn.h"
#include "nn/nn_internal.h"

#ifndef CG_NN_MLP_CHUNK
#define CG_NN_MLP_CHUNK 256
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define CG_NN_NO_TRAPPING_MATH __attribute__((optimize("no-trapping-math")))
#else
#define CG_NN_NO_TRAPPING_MATH
#endif
enum { CHUNK = CG_NN_MLP_CHUNK, KSPLIT = 8 /* row parts of the weight-gradient GEMMs */ }; /* rows per GEMM + epilogue chunk (output chunk stays in L2) */

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
    float *bpart;    /* [max_rows/CHUNK + 1][max_dim] bias partial sums per chunk */
    float *wpart;    /* [KSPLIT][max weight size] weight-gradient partials */
    size_t max_w;    /* largest din*dout */
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
    size_t nblk = rows / CHUNK + 1;
    bytes += 2 * ((rows * md * sizeof(float) + 63) & ~(size_t)63) + nblk * md * sizeof(float) + 64;
    m->max_w = 0;
    for (int i = 0; i < m->n_layers; i++)
        if ((size_t)m->layers[i].din * m->layers[i].dout > m->max_w) m->max_w = (size_t)m->layers[i].din * m->layers[i].dout;
    bytes += KSPLIT * m->max_w * sizeof(float) + 64;
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
    m->wpart = CG_ARENA_ALLOC(&m->arena, float, KSPLIT * m->max_w);
    if (!m->ga || !m->gb || !m->bpart || !m->wpart) return CG_ERR_INTERNAL;
    m->max_rows = max_rows;
    return CG_OK;
}

/* The GEMMs run as single-threaded OpenBLAS calls inside OpenMP loops (see the file header):
 * OpenBLAS is switched to one thread for the duration of a forward/backward and restored. */

/* Forward of layer L on rows [r0, r0+rn): y = act(x W^T + b [+ x]) with the epilogue applied
 * while the chunk is still in cache; z kept when the derivative needs it. */
static void forward_chunk(const mlp_layer *L, const float *W, const float *b, const float *x, int64_t r0,
                          int64_t rn, float slope) {
    const int d = L->dout;
    float *y = L->y + r0 * d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rn, d, L->din, 1.0f, x + r0 * L->din, L->din, W, L->din,
                0.0f, y, d);
    if (L->act == CG_NN_ACT_RELU && !L->z) { /* the hot case, written out so it vectorises */
        for (int64_t r = 0; r < rn; r++) {
            float *yr = y + r * d;
            const float *xr = L->resid ? x + (r0 + r) * d : b, *br = L->resid ? b : NULL;
            if (br)
                for (int j = 0; j < d; j++) {
                    float v = yr[j] + br[j] + xr[j];
                    yr[j] = v > 0.0f ? v : 0.0f;
                }
            else
                for (int j = 0; j < d; j++) {
                    float v = yr[j] + xr[j];
                    yr[j] = v > 0.0f ? v : 0.0f;
                }
        }
        return;
    }
    for (int64_t r = 0; r < rn; r++) {
        float *yr = y + r * d, *z = L->z ? L->z + (r0 + r) * d : NULL;
        const float *xr = L->resid ? x + (r0 + r) * d : NULL;
        for (int j = 0; j < d; j++) {
            float v = yr[j] + b[j] + (xr ? xr[j] : 0.0f);
            if (z) z[j] = v;
            yr[j] = cg_nn__act_f(v, L->act, slope);
        }
    }
}

cg_status cg_nn_mlp_forward(cg_nn_mlp *m, const float *in, int64_t n, const float **out) {
    if (n <= 0 || n > m->max_rows)
        return cg_error(CG_ERR_ARG, "nn mlp forward: %lld rows, reserved %lld", (long long)n, (long long)m->max_rows);
    const int64_t nch = (n + CHUNK - 1) / CHUNK;
    const float slope = m->cfg.leaky_slope;
    int saved = cg_nn_blas_single_begin();
    const float *x = in;
    for (int i = 0; i < m->n_layers; i++) {
        const mlp_layer *L = &m->layers[i];
        const float *W = cg_nn_param(&m->params, L->w), *b = cg_nn_param(&m->params, L->b);
        CG_NN_PARALLEL_FOR_IF(nch > 1)
        for (int64_t c = 0; c < nch; c++)
            forward_chunk(L, W, b, x, c * CHUNK, (c + 1) * CHUNK < n ? CHUNK : n - c * CHUNK, slope);
        x = L->y;
    }
    cg_nn_blas_single_end(saved);
    m->in = in;
    m->n = n;
    if (out) *out = x;
    return CG_OK;
}

void cg_nn_mlp_zero_grad(cg_nn_mlp *m) { cg_nn_params_zero_grad(&m->params); }

/* Rows [r0, r0+rn), in place: g = (g + add) * act'(layer L), and the chunk's column sums
 * into part[d] for L's bias gradient. add may be NULL. restrict: g, add, the activations and
 * part are distinct buffers, so the loops vectorise without runtime alias checks. The
 * residual ReLU select is only if-converted (vectorised) when the compiler may assume that
 * float additions do not trap (-fno-trapping-math: no trap is ever enabled here, and it
 * changes no result, unlike -ffast-math); otherwise it stays a branch that mispredicts on
 * random masks (measured: 16% of a step). */
CG_NN_NO_TRAPPING_MATH
static void grad_act_chunk(float *restrict g, const float *restrict add, const mlp_layer *L, float *restrict part,
                           int64_t r0, int64_t rn, float slope) {
    const int d = L->dout, from_out = cg_nn__act_df_from_output_ok(L->act);
    memset(part, 0, (size_t)d * sizeof(float));
    if (L->act == CG_NN_ACT_RELU) { /* the hot case, written out so it vectorises */
        for (int64_t r = r0; r < r0 + rn; r++) {
            float *restrict o = g + r * d;
            const float *restrict y = L->y + r * d;
            if (add) {
                const float *restrict ar = add + r * d;
                for (int j = 0; j < d; j++) {
                    float s = o[j] + ar[j], v = y[j] > 0.0f ? s : 0.0f;
                    o[j] = v, part[j] += v;
                }
            } else {
                for (int j = 0; j < d; j++) {
                    float v = y[j] > 0.0f ? o[j] : 0.0f;
                    o[j] = v, part[j] += v;
                }
            }
        }
        return;
    }
    for (int64_t r = r0; r < r0 + rn; r++) {
        const float *ar = add ? add + r * d : NULL;
        const float *a = from_out ? L->y + r * d : L->z + r * d;
        float *o = g + r * d;
        for (int j = 0; j < d; j++) {
            float v = o[j] + (ar ? ar[j] : 0.0f);
            v *= from_out ? cg_nn__act_df_from_output(a[j], L->act, slope) : cg_nn__act_df(a[j], L->act, slope);
            o[j] = v;
            part[j] += v;
        }
    }
}

/* db[d] += sum of the chunk partials part[nch][stride], in chunk order, in double. */
static void reduce_partials(float *db, const float *part, int64_t nch, int d, int stride) {
    for (int j = 0; j < d; j++) {
        double s = 0;
        for (int64_t c = 0; c < nch; c++) s += part[c * stride + j];
        db[j] += (float)s;
    }
}

/* dW[dout][din] += dz^T x over all rows. The rows are split into KSPLIT fixed parts (a
 * function of n only), one sgemm each into its own partial buffer part[KSPLIT][dout][din],
 * and the partials are added to dW in part order: parallel, no operand packed twice, and
 * the same bytes for any thread count. */
static void weight_grad(float *dW, float *part, const float *dz, const float *x, int64_t n, int din, int dout) {
    const int64_t rows = ((n + KSPLIT - 1) / KSPLIT + 15) / 16 * 16;
    const int np = (int)((n + rows - 1) / rows);
    const size_t nw = (size_t)din * (size_t)dout;
    CG_NN_PARALLEL_FOR_IF(np > 1)
    for (int p = 0; p < np; p++) {
        int64_t r0 = p * rows, rn = n - r0 < rows ? n - r0 : rows;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dout, din, (int)rn, 1.0f, dz + r0 * dout, dout,
                    x + r0 * din, din, 0.0f, part + p * nw, din);
    }
    CG_NN_PARALLEL_FOR_IF(nw * (size_t)np >= CG_NN_PAR_MIN)
    for (size_t e = 0; e < nw; e++) {
        float acc = dW[e];
        for (int p = 0; p < np; p++) acc += part[p * nw + e];
        dW[e] = acc;
    }
}

/* Input gradient of layer L for rows [r0, r0+rn): g = dz W (+ dz when residual), then
 * through the previous layer's activation when P is given (in place, with bias partials). */
static void input_grad_chunk(float *g, const float *dz, const mlp_layer *L, const float *W, const mlp_layer *P,
                             float *part, int64_t r0, int64_t rn, float slope) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rn, L->din, L->dout, 1.0f, dz + r0 * L->dout, L->dout,
                W, L->din, 0.0f, g + r0 * L->din, L->din);
    const float *add = L->resid ? dz : NULL;
    if (P) {
        grad_act_chunk(g, add, P, part, r0, rn, slope);
    } else if (add) {
        for (int64_t i = r0 * L->din; i < (r0 + rn) * L->din; i++) g[i] += add[i];
    }
}

/* The backward pass; *dfirst (when asked) = dLoss/d(first layer's linear output) [n][hidden]. */
static cg_status mlp_backward(cg_nn_mlp *m, const float *dout, float *din, const float **dfirst) {
    if (m->n <= 0) return cg_error(CG_ERR_ARG, "nn mlp backward: no forward pass to differentiate");
    const int64_t n = m->n, nch = (n + CHUNK - 1) / CHUNK;
    const float slope = m->cfg.leaky_slope;
    const int last = m->n_layers - 1;
    int saved = cg_nn_blas_single_begin();
    mlp_layer *L = &m->layers[last];
    const float *dz = dout;
    if (L->act != CG_NN_ACT_NONE) { /* not with the MLP's configurations; kept general */
        memcpy(m->ga, dout, (size_t)n * L->dout * sizeof(float));
        CG_NN_PARALLEL_FOR_IF(nch > 1)
        for (int64_t c = 0; c < nch; c++)
            grad_act_chunk(m->ga, NULL, L, m->bpart + c * m->max_dim, c * CHUNK,
                           (c + 1) * CHUNK < n ? CHUNK : n - c * CHUNK, slope);
        reduce_partials(cg_nn_grad(&m->params, L->b), m->bpart, nch, L->dout, m->max_dim);
        dz = m->ga;
    } else {
        cg_nn_colsum_acc(cg_nn_grad(&m->params, L->b), dout, n, L->dout);
    }
    for (int i = last; i >= 0; i--) {
        L = &m->layers[i];
        const float *x = i > 0 ? m->layers[i - 1].y : m->in;
        weight_grad(cg_nn_grad(&m->params, L->w), m->wpart, dz, x, n, L->din, L->dout);
        if (i == 0 && dfirst) *dfirst = dz;
        if (i == 0 && !din) break;
        float *g = i == 0 ? din : (dz == m->ga ? m->gb : m->ga);
        const mlp_layer *P = i > 0 ? &m->layers[i - 1] : NULL;
        const float *W = cg_nn_param(&m->params, L->w);
        CG_NN_PARALLEL_FOR_IF(nch > 1)
        for (int64_t c = 0; c < nch; c++)
            input_grad_chunk(g, dz, L, W, P, m->bpart + c * m->max_dim, c * CHUNK,
                             (c + 1) * CHUNK < n ? CHUNK : n - c * CHUNK, slope);
        if (P) reduce_partials(cg_nn_grad(&m->params, P->b), m->bpart, nch, P->dout, m->max_dim);
        dz = g;
    }
    cg_nn_blas_single_end(saved);
    return CG_OK;
}

cg_status cg_nn_mlp_backward(cg_nn_mlp *m, const float *dout, float *din) { return mlp_backward(m, dout, din, NULL); }

cg_status cg_nn_mlp_backward_shared(cg_nn_mlp *m, const float *dout, int64_t group, int col0, int ncol, float *dshared) {
    const mlp_layer *L0 = &m->layers[0];
    if (m->n <= 0) return cg_error(CG_ERR_ARG, "nn mlp backward: no forward pass to differentiate");
    if (group < 1 || m->n % group || col0 < 0 || ncol < 1 || col0 + ncol > L0->din)
        return cg_error(CG_ERR_ARG, "nn mlp backward_shared: groups of %lld rows of %lld, columns [%d, %d) of %d", (long long)group,
                        (long long)m->n, col0, col0 + ncol, L0->din);
    const float *dz = NULL;
    cg_status s = mlp_backward(m, dout, NULL, &dz);
    if (s) return s;
    const int64_t ng = m->n / group;
    const int h = L0->dout, din = L0->din;
    const float *W = cg_nn_param(&m->params, L0->w); /* [h][din] */
    double *acc = cg_malloc((size_t)ng * h, sizeof(double), "shared-input gradient");
    if (!acc) return CG_ERR_NOMEM;
    /* dLoss/din[r][c] = sum_j dz[r][j] W[j][c] (+ dz[r][c] for a residual first layer); summed
     * over the rows of a group first, then one small product per group: each group serial, so
     * the result does not depend on the thread count */
    CG_NN_PARALLEL_FOR_IF(ng > 1)
    for (int64_t g = 0; g < ng; g++) {
        double *a = acc + g * h;
        for (int j = 0; j < h; j++) a[j] = 0;
        for (int64_t r = g * group; r < (g + 1) * group; r++)
            for (int j = 0; j < h; j++) a[j] += dz[r * h + j];
        for (int k = 0; k < ncol; k++) {
            double t = 0;
            for (int j = 0; j < h; j++) t += a[j] * W[(int64_t)j * din + col0 + k];
            if (L0->resid) t += a[col0 + k];
            dshared[g * ncol + k] = (float)t;
        }
    }
    free(acc);
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
