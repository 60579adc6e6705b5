/* Gradient checks of every nn layer against central finite differences (nn_gradcheck.h):
 * linear, residual linear, activations, positional encodings, timestep embeddings, conv2d
 * and conv3d (stride, padding), average/max pooling, upsampling, group/instance norm,
 * concatenation, broadcast add, losses (MSE weighted+masked, KL, reparameterisation).
 * Inputs are O(1); h = 1e-2 for piecewise-linear layers (exact up to rounding) and 1e-3 for
 * smooth ones; tolerances are given per case (typically atol 2e-3, rtol 2e-3). */
#include "cryogen/nn.h"
#include "nn_gradcheck.h"

typedef struct {
    float *out, *x, *W, *b, *gx, *gW, *gb;
    int64_t n;
    int din, dout;
    int resid;
    cg_nn_act act;
    float slope;
} lin_ctx;

static void lin_fwd(void *p) {
    lin_ctx *c = p;
    if (c->resid) cg_nn_resid_linear_forward(c->out, c->x, c->W, c->b, c->n, c->din);
    else cg_nn_linear_forward(c->out, c->x, c->W, c->b, c->n, c->din, c->dout);
}
static void lin_bwd(void *p, const float *dout) {
    lin_ctx *c = p;
    if (c->resid) cg_nn_resid_linear_backward(c->gx, c->gW, c->gb, dout, c->x, c->W, c->n, c->din);
    else cg_nn_linear_backward(c->gx, c->gW, c->gb, dout, c->x, c->W, c->n, c->din, c->dout);
}

static void test_linear(int resid) {
    lin_ctx c = {.n = 7, .din = 5, .dout = resid ? 5 : 4, .resid = resid};
    size_t nx = (size_t)c.n * c.din, nw = (size_t)c.dout * c.din, no = (size_t)c.n * c.dout;
    c.x = malloc(nx * 4), c.gx = malloc(nx * 4), c.W = malloc(nw * 4), c.gW = malloc(nw * 4);
    c.b = malloc(c.dout * 4), c.gb = malloc(c.dout * 4), c.out = malloc(no * 4);
    gc_fill(c.x, nx, 1, -1, 1), gc_fill(c.W, nw, 2, -1, 1), gc_fill(c.b, c.dout, 3, -1, 1);
    gc_case g = {.name = resid ? "resid_linear" : "linear", .n_in = 3, .out = c.out, .n_out = no,
                 .forward = lin_fwd, .backward = lin_bwd, .ctx = &c, .h = 1e-2, .atol = 1e-3, .rtol = 1e-3};
    g.in[0] = (gc_tensor){"x", c.x, c.gx, nx};
    g.in[1] = (gc_tensor){"W", c.W, c.gW, nw};
    g.in[2] = (gc_tensor){"b", c.b, c.gb, (size_t)c.dout};
    gc_run(&g);
    free(c.x), free(c.gx), free(c.W), free(c.gW), free(c.b), free(c.gb), free(c.out);
}

static void act_fwd(void *p) {
    lin_ctx *c = p;
    cg_nn_act_forward(c->out, c->x, (size_t)c->n, c->act, c->slope);
}
static void act_bwd(void *p, const float *dout) {
    lin_ctx *c = p;
    cg_nn_act_backward(c->gx, dout, c->x, (size_t)c->n, c->act, c->slope);
}

static void test_act(cg_nn_act act) {
    enum { N = 64 };
    float x[N], gx[N], out[N];
    gc_fill(x, N, 10 + act, -3, 3);
    lin_ctx c = {.out = out, .x = x, .gx = gx, .n = N, .act = act, .slope = 0.2f};
    int pl = act == CG_NN_ACT_RELU || act == CG_NN_ACT_LEAKY_RELU;
    gc_case g = {.name = cg_nn_act_name(act), .n_in = 1, .out = out, .n_out = N, .forward = act_fwd,
                 .backward = act_bwd, .ctx = &c, .h = pl ? 1e-2 : 1e-3, .atol = 1e-3, .rtol = 2e-3,
                 .kinks = pl, .kink_tol = 1e-3, .max_points = N};
    g.in[0] = (gc_tensor){"x", x, gx, N};
    gc_run(&g);
    /* softplus above the threshold and the exact kink convention */
    float big = 30.0f, y;
    cg_nn_act_forward(&y, &big, 1, CG_NN_ACT_SOFTPLUS, 0);
    CHECK(y == 30.0f);
}

/* ---------------------------------------------------------------- generic op cases ------ */
enum { OP_GEOM, OP_GAUSS, OP_TSTEP, OP_FOURIER, OP_CONV, OP_AVG, OP_MAX, OP_UP, OP_GN, OP_CONCAT, OP_ADDCH,
       OP_MSE, OP_KL, OP_REPARAM, OP_ATTN };
typedef struct {
    int kind;
    float *in[4], *gin[4];
    size_t nin[4];
    float *out, *aux, *aux2, *scratch;
    size_t nout;
    cg_nn_conv_shape cs;
    cg_nn_pool_shape ps;
    int64_t B;
    int a, b, c;
    float f;
    uint8_t *mask;
} op_ctx;

static void op_fwd(void *p) {
    op_ctx *o = p;
    switch (o->kind) {
    case OP_GEOM: cg_nn_posenc_geom_forward(o->out, o->in[0], o->aux, o->B, o->a, o->b); break;
    case OP_GAUSS: cg_nn_posenc_gaussian_forward(o->out, o->in[0], o->aux, o->B, o->a, o->b, o->f); break;
    case OP_TSTEP: cg_nn_timestep_embedding_forward(o->out, o->in[0], o->B, o->a, o->f); break;
    case OP_FOURIER: cg_nn_fourier_embedding_forward(o->out, o->in[0], o->aux, o->B, o->a); break;
    case OP_CONV: cg_nn_conv_forward(o->out, o->in[0], o->in[1], o->in[2], o->B, &o->cs, o->scratch); break;
    case OP_AVG: cg_nn_avgpool_forward(o->out, o->in[0], o->B, &o->ps); break;
    case OP_MAX: cg_nn_maxpool_forward(o->out, o->in[0], o->B, &o->ps); break;
    case OP_UP: cg_nn_upsample_forward(o->out, o->in[0], o->B, &o->ps); break;
    case OP_GN:
        cg_nn_groupnorm_forward(o->out, o->aux, o->aux2, o->in[0], o->in[1], o->in[2], o->B, o->a, o->c, o->b, 1e-5f);
        break;
    case OP_CONCAT: cg_nn_concat_forward(o->out, o->in[0], o->in[1], o->B, o->a, o->b, o->c); break;
    case OP_ADDCH: cg_nn_add_channel_forward(o->out, o->in[0], o->in[1], o->B, o->a, o->c); break;
    case OP_MSE: o->out[0] = (float)cg_nn_mse_forward(o->in[0], o->aux, o->aux2, o->mask, o->nin[0]); break;
    case OP_KL: o->out[0] = (float)cg_nn_kl_normal_forward(o->in[0], o->in[1], o->B, o->a); break;
    case OP_REPARAM: cg_nn_reparam_forward(o->out, o->aux, o->in[0], o->in[1], o->B, o->a, 9, CG_RNG_STREAM_TRAIN, 100); break;
    case OP_ATTN: cg_nn_attention_forward(o->out, o->aux, o->in[0], o->B, o->a, o->c); break;
    }
}

static void op_bwd(void *p, const float *g) {
    op_ctx *o = p;
    switch (o->kind) {
    case OP_GEOM: cg_nn_posenc_geom_backward(o->gin[0], g, o->in[0], o->aux, o->B, o->a, o->b); break;
    case OP_GAUSS: cg_nn_posenc_gaussian_backward(o->gin[0], g, o->in[0], o->aux, o->B, o->a, o->b, o->f); break;
    case OP_TSTEP: cg_nn_timestep_embedding_backward(o->gin[0], g, o->in[0], o->B, o->a, o->f); break;
    case OP_FOURIER: cg_nn_fourier_embedding_backward(o->gin[0], g, o->in[0], o->aux, o->B, o->a); break;
    case OP_CONV:
        cg_nn_conv_backward(o->gin[0], o->gin[1], o->gin[2], g, o->in[0], o->in[1], o->B, &o->cs, o->scratch);
        break;
    case OP_AVG: cg_nn_avgpool_backward(o->gin[0], g, o->B, &o->ps); break;
    case OP_MAX: cg_nn_maxpool_backward(o->gin[0], g, o->in[0], o->B, &o->ps); break;
    case OP_UP: cg_nn_upsample_backward(o->gin[0], g, o->B, &o->ps); break;
    case OP_GN:
        cg_nn_groupnorm_backward(o->gin[0], o->gin[1], o->gin[2], g, o->in[0], o->aux, o->aux2, o->in[1], o->B, o->a,
                                 o->c, o->b);
        break;
    case OP_CONCAT: cg_nn_concat_backward(o->gin[0], o->gin[1], g, o->B, o->a, o->b, o->c); break;
    case OP_ADDCH: cg_nn_add_channel_backward(o->gin[0], o->gin[1], g, o->B, o->a, o->c); break;
    case OP_MSE: cg_nn_mse_backward(o->gin[0], o->in[0], o->aux, o->aux2, o->mask, o->nin[0], g[0]); break;
    case OP_KL: cg_nn_kl_normal_backward(o->gin[0], o->gin[1], o->in[0], o->in[1], o->B, o->a, g[0]); break;
    case OP_REPARAM: cg_nn_reparam_backward(o->gin[0], o->gin[1], g, o->aux, o->in[1], o->B, o->a); break;
    case OP_ATTN: cg_nn_attention_backward(o->gin[0], o->scratch, g, o->in[0], o->aux, o->B, o->a, o->c); break;
    }
}

/* Allocate inputs of the given sizes (filled in [lo, hi]) and the output, run the check. */
static void op_run(op_ctx *o, const char *name, int nin, const size_t *sizes, float lo, float hi, double h, int kinks) {
    static const char *names[4] = {"x", "W", "b", "y"};
    gc_case g = {.name = name, .n_in = nin, .forward = op_fwd, .backward = op_bwd, .ctx = o, .h = h, .atol = 1e-3,
                 .rtol = 1e-3, .kinks = kinks, .kink_tol = 1e-3, .max_points = 64};
    for (int i = 0; i < nin; i++) {
        o->nin[i] = sizes[i];
        o->in[i] = malloc(sizes[i] * 4), o->gin[i] = malloc(sizes[i] * 4);
        gc_fill(o->in[i], sizes[i], 100 + i + o->kind, lo, hi);
        g.in[i] = (gc_tensor){names[i], o->in[i], o->gin[i], sizes[i]};
    }
    o->out = malloc(o->nout * 4);
    g.out = o->out, g.n_out = o->nout;
    gc_run(&g);
    for (int i = 0; i < nin; i++) free(o->in[i]), free(o->gin[i]);
    free(o->out);
}

static void test_posenc(void) {
    float freqs[8], B[3 * 10], w[6];
    cg_nn_posenc_geom_freqs(freqs, 8, 16, CG_NN_POSENC_GEOM_LOWF);
    CHECK_CLOSE(freqs[0], 8.0, 1e-6, 0);
    CHECK_CLOSE(freqs[7], 1.0, 1e-6, 0);
    op_ctx o = {.kind = OP_GEOM, .aux = freqs, .B = 4, .a = 8, .b = 2, .nout = 4 * (48 + 2)};
    op_run(&o, "posenc geom_lowf", 1, (size_t[]){4 * 5}, -0.5f, 0.5f, 1e-3, 0);
    cg_nn_posenc_gaussian_init(B, 10, 0.5f, 3, 0);
    o = (op_ctx){.kind = OP_GAUSS, .aux = B, .B = 4, .a = 10, .b = 1, .f = 8.0f, .nout = 4 * 21};
    op_run(&o, "posenc gaussian", 1, (size_t[]){4 * 4}, -0.5f, 0.5f, 1e-3, 0);
    o = (op_ctx){.kind = OP_TSTEP, .B = 5, .a = 12, .f = 100.0f, .nout = 5 * 12};
    op_run(&o, "timestep embedding", 1, (size_t[]){5}, 0.0f, 3.0f, 1e-3, 0);
    gc_fill(w, 6, 77, -1, 1);
    o = (op_ctx){.kind = OP_FOURIER, .aux = w, .B = 5, .a = 6, .nout = 5 * 12};
    op_run(&o, "fourier embedding", 1, (size_t[]){5}, -1.0f, 1.0f, 1e-3, 0);
}

static void conv_case(const char *name, int dim3, int cin, int cout, int n, int k, int stride, int pad) {
    op_ctx o = {.kind = OP_CONV, .B = 2};
    if (dim3) CHECK_OK(cg_nn_conv_shape_3d(&o.cs, cin, cout, n, n + 1, n - 1, k, stride, pad));
    else CHECK_OK(cg_nn_conv_shape_2d(&o.cs, cin, cout, n, n + 1, k, stride, pad));
    cg_nn_conv_shape *s = &o.cs;
    size_t nx = 2 * (size_t)cin * s->d * s->h * s->w, nw = (size_t)cout * cin * s->kd * s->kh * s->kw;
    o.nout = 2 * (size_t)cout * s->od * s->oh * s->ow;
    o.scratch = malloc((cg_nn_conv_scratch_floats(s) + 1) * 4);
    op_run(&o, name, 3, (size_t[]){nx, nw, (size_t)cout}, -1, 1, 1e-2, 0);
    free(o.scratch);
}

static void test_conv_pool(void) {
    conv_case("conv2d k3 s1 p1", 0, 3, 4, 6, 3, 1, 1);
    conv_case("conv2d k3 s2 p1", 0, 2, 3, 7, 3, 2, 1);
    conv_case("conv2d k1 (pointwise)", 0, 3, 2, 4, 1, 1, 0);
    conv_case("conv3d k3 s1 p1", 1, 2, 2, 4, 3, 1, 1);
    conv_case("conv3d k2 s2 p0", 1, 2, 3, 5, 2, 2, 0);
    op_ctx o = {.kind = OP_AVG, .B = 2};
    CHECK_OK(cg_nn_pool_shape_2d(&o.ps, 3, 6, 5, 2, 2));
    o.nout = 2 * 3 * o.ps.oh * o.ps.ow;
    op_run(&o, "avgpool2d k2 s2", 1, (size_t[]){2 * 3 * 30}, -1, 1, 1e-2, 0);
    o = (op_ctx){.kind = OP_AVG, .B = 1};
    CHECK_OK(cg_nn_pool_shape_3d(&o.ps, 2, 4, 4, 3, 2, 1));
    o.nout = 2 * (size_t)o.ps.od * o.ps.oh * o.ps.ow;
    op_run(&o, "avgpool3d k2 s1", 1, (size_t[]){2 * 48}, -1, 1, 1e-2, 0);
    o = (op_ctx){.kind = OP_MAX, .B = 2};
    CHECK_OK(cg_nn_pool_shape_2d(&o.ps, 2, 7, 7, 3, 2));
    o.nout = 2 * 2 * 9;
    op_run(&o, "maxpool2d k3 s2", 1, (size_t[]){2 * 2 * 49}, -1, 1, 1e-3, 1);
    o = (op_ctx){.kind = OP_MAX, .B = 1};
    CHECK_OK(cg_nn_pool_shape_3d(&o.ps, 2, 4, 4, 4, 2, 2));
    o.nout = 2 * 8;
    op_run(&o, "maxpool3d k2 s2", 1, (size_t[]){2 * 64}, -1, 1, 1e-3, 1);
    o = (op_ctx){.kind = OP_UP, .B = 2};
    CHECK_OK(cg_nn_upsample_shape_2d(&o.ps, 2, 3, 4, 2));
    o.nout = 2 * 2 * 6 * 8;
    op_run(&o, "upsample2d x2", 1, (size_t[]){2 * 2 * 12}, -1, 1, 1e-2, 0);
    o = (op_ctx){.kind = OP_UP, .B = 1};
    CHECK_OK(cg_nn_upsample_shape_3d(&o.ps, 1, 2, 3, 2, 2));
    o.nout = 4 * 6 * 4;
    op_run(&o, "upsample3d x2", 1, (size_t[]){12}, -1, 1, 1e-2, 0);
    /* known values: 2x2 max and average of 1..4 */
    float x[4] = {1, 4, 2, 3}, y;
    cg_nn_pool_shape ps;
    CHECK_OK(cg_nn_pool_shape_2d(&ps, 1, 2, 2, 2, 2));
    cg_nn_maxpool_forward(&y, x, 1, &ps);
    CHECK(y == 4.0f);
    cg_nn_avgpool_forward(&y, x, 1, &ps);
    CHECK(y == 2.5f);
    CHECK_FAILS(cg_nn_conv_shape_2d(&o.cs, 1, 1, 2, 2, 5, 1, 0), CG_ERR_ARG, "bad shape");
}

static void test_norm_joins(void) {
    float mean[8], rstd[8];
    op_ctx o = {.kind = OP_GN, .B = 2, .a = 4, .b = 2, .c = 5, .aux = mean, .aux2 = rstd, .nout = 40};
    op_run(&o, "groupnorm G=2", 3, (size_t[]){40, 4, 4}, -2, 2, 1e-3, 0);
    o = (op_ctx){.kind = OP_GN, .B = 2, .a = 3, .b = 3, .c = 6, .aux = mean, .aux2 = rstd, .nout = 36};
    op_run(&o, "instancenorm", 3, (size_t[]){36, 3, 3}, -2, 2, 1e-3, 0);
    o = (op_ctx){.kind = OP_CONCAT, .B = 2, .a = 2, .b = 3, .c = 4, .nout = 40};
    op_run(&o, "concat", 2, (size_t[]){16, 24}, -1, 1, 1e-2, 0);
    o = (op_ctx){.kind = OP_ADDCH, .B = 2, .a = 3, .c = 5, .nout = 30};
    op_run(&o, "add channel", 2, (size_t[]){30, 6}, -1, 1, 1e-2, 0);
}

/* Self-attention: the kernel's output against a direct double-precision evaluation of
 * out[c][i] = sum_j softmax_j(q_i.k_j / sqrt(C)) v[c][j], then the finite-difference check. */
static void test_attention(void) {
    enum { B = 2, C = 3, S = 7 };
    float qkv[B * 3 * C * S], out[B * C * S], att[B * S * S], scratch[S * S];
    gc_fill(qkv, B * 3 * C * S, 77, -2, 2);
    cg_nn_attention_forward(out, att, qkv, B, C, S);
    double worst = 0;
    for (int b = 0; b < B; b++) {
        const float *q = qkv + b * 3 * C * S, *k = q + C * S, *v = k + C * S;
        for (int i = 0; i < S; i++) {
            double w[S], m = -1e300, sum = 0;
            for (int j = 0; j < S; j++) {
                w[j] = 0;
                for (int c = 0; c < C; c++) w[j] += (double)q[c * S + i] * k[c * S + j];
                w[j] /= sqrt((double)C);
                m = w[j] > m ? w[j] : m;
            }
            for (int j = 0; j < S; j++) sum += w[j] = exp(w[j] - m);
            for (int c = 0; c < C; c++) {
                double ref = 0;
                for (int j = 0; j < S; j++) ref += w[j] / sum * v[c * S + j];
                double e = fabs(out[(b * C + c) * S + i] - ref);
                worst = e > worst ? e : worst;
            }
        }
    }
    CHECK_MSG(worst < 1e-5, "attention forward: worst |out - reference| %.3g", worst);
    op_ctx o = {.kind = OP_ATTN, .B = B, .a = C, .c = S, .aux = att, .scratch = scratch, .nout = B * C * S};
    op_run(&o, "attention", 1, (size_t[]){B * 3 * C * S}, -2, 2, 1e-3, 0);
    printf("attention: forward vs direct evaluation %.2g\n", worst);
}

static void test_losses(void) {
    enum { N = 24 };
    float target[N], weight[N];
    uint8_t mask[N];
    gc_fill(target, N, 5, -1, 1), gc_fill(weight, N, 6, 0, 2);
    for (int i = 0; i < N; i++) mask[i] = i % 3 != 0;
    op_ctx o = {.kind = OP_MSE, .aux = target, .nout = 1};
    op_run(&o, "mse", 1, (size_t[]){N}, -1, 1, 1e-3, 0);
    o = (op_ctx){.kind = OP_MSE, .aux = target, .aux2 = weight, .mask = mask, .nout = 1};
    op_run(&o, "mse weighted+masked", 1, (size_t[]){N}, -1, 1, 1e-3, 0);
    float p[4] = {1, 2, 3, 4}, t[4] = {0, 0, 0, 0}, wt[4] = {1, 0.5f, 2, 1};
    uint8_t mk[4] = {1, 1, 0, 1};
    CHECK_CLOSE(cg_nn_mse_forward(p, t, wt, mk, 4), (1 + 0.5 * 4 + 16) / 3.0, 1e-12, 0);
    CHECK(cg_nn_mse_forward(p, t, NULL, (uint8_t[4]){0}, 4) == 0.0);
    o = (op_ctx){.kind = OP_KL, .B = 3, .a = 4, .nout = 1};
    op_run(&o, "kl normal", 2, (size_t[]){12, 12}, -1, 1, 1e-3, 0);
    float mu0[2] = {0, 0}, lv0[2] = {0, 0};
    CHECK(cg_nn_kl_normal_forward(mu0, lv0, 1, 2) == 0.0);
    float eps[12];
    o = (op_ctx){.kind = OP_REPARAM, .B = 3, .a = 4, .aux = eps, .nout = 12};
    op_run(&o, "reparameterisation", 2, (size_t[]){12, 12}, -1, 1, 1e-3, 0);
    /* the noise of row r depends on (seed, stream, row0 + r) only */
    float z1[8], z2[4], e1[8], e2[4], m8[8] = {0}, l8[8] = {0};
    cg_nn_reparam_forward(z1, e1, m8, l8, 4, 2, 9, CG_RNG_STREAM_TRAIN, 0);
    cg_nn_reparam_forward(z2, e2, m8, l8, 2, 2, 9, CG_RNG_STREAM_TRAIN, 2);
    CHECK(!memcmp(z1 + 4, z2, sizeof z2));
}

int main(void) {
    test_linear(0);
    test_linear(1);
    for (cg_nn_act a = CG_NN_ACT_RELU; a <= CG_NN_ACT_SOFTPLUS; a++) test_act(a);
    test_posenc();
    test_conv_pool();
    test_norm_joins();
    test_attention();
    test_losses();
    return cg_test_finish();
}
