/* The MLP container end to end:
 *  - gradient check of the fused forward/backward (parameters and input) for residual ReLU,
 *    LeakyReLU, SiLU and tanh MLPs against central finite differences (atol/rtol 2e-3);
 *  - fused MLP equals the composition of the standalone layers (linear, act) to 1e-5;
 *  - a tiny regression problem: a linear model recovers known weights (to 1e-3), and a
 *    residual MLP fits y = sin(3 x0) * x1 + x2^2 below a fixed MSE (5e-3, from ~0.3);
 *  - determinism: two trainings from the same seed give the same bytes (parameters, Adam
 *    state, EMA and the checkpoint file), and so does a training with another thread count.
 * Checkpoints and the optimiser pieces have their own test (test_nn_optim). */
#include "cryogen/nn.h"
#include "nn_gradcheck.h"

typedef struct {
    cg_nn_mlp *m;
    float *x, *gx, *out, *din;
    int64_t n;
} mlp_ctx;

static void mlp_fwd(void *p) {
    mlp_ctx *c = p;
    const float *o;
    cg_nn_mlp_forward(c->m, c->x, c->n, &o);
    memcpy(c->out, o, (size_t)c->n * cg_nn_mlp_get_config(c->m)->out_dim * sizeof(float));
}
static void mlp_bwd(void *p, const float *dout) {
    mlp_ctx *c = p;
    cg_nn_mlp_backward(c->m, dout, c->din);
    cg_nn_acc(c->gx, c->din, (size_t)c->n * cg_nn_mlp_get_config(c->m)->in_dim);
}

static void test_mlp_gradcheck(cg_nn_act act, int residual, const char *name) {
    cg_nn_mlp_config cfg = {.in_dim = 6, .hidden_dim = 6, .out_dim = 3, .n_hidden = 2, .residual = residual,
                            .act = act, .leaky_slope = 0.1f, .init = CG_NN_INIT_TORCH};
    cg_nn_mlp *m;
    CHECK_OK(cg_nn_mlp_create(&m, &cfg, 7));
    CHECK_OK(cg_nn_mlp_reserve(m, 5));
    mlp_ctx c = {.m = m, .n = 5};
    c.x = malloc(5 * 6 * 4), c.gx = malloc(5 * 6 * 4), c.din = malloc(5 * 6 * 4), c.out = malloc(5 * 3 * 4);
    gc_fill(c.x, 30, 3, -1, 1);
    cg_nn_params *P = cg_nn_mlp_params(m);
    int pl = act == CG_NN_ACT_RELU || act == CG_NN_ACT_LEAKY_RELU;
    gc_case g = {.name = name, .n_in = 2, .out = c.out, .n_out = 15, .forward = mlp_fwd, .backward = mlp_bwd,
                 .ctx = &c, .h = 1e-3, .atol = 2e-3, .rtol = 2e-3, .kinks = pl, .kink_tol = 2e-3,
                 .max_points = 120};
    g.in[0] = (gc_tensor){"x", c.x, c.gx, 30};
    g.in[1] = (gc_tensor){"theta", P->param, P->grad, P->count};
    gc_run(&g);
    free(c.x), free(c.gx), free(c.din), free(c.out);
    cg_nn_mlp_destroy(m);
}

/* The fused container against the standalone layer kernels. */
static void test_mlp_matches_layers(void) {
    cg_nn_mlp_config cfg = {.in_dim = 5, .hidden_dim = 8, .out_dim = 2, .n_hidden = 2, .residual = 1,
                            .act = CG_NN_ACT_RELU, .init = CG_NN_INIT_HE_NORMAL};
    cg_nn_mlp *m;
    CHECK_OK(cg_nn_mlp_create(&m, &cfg, 11));
    CHECK_OK(cg_nn_mlp_reserve(m, 300));
    enum { N = 300 };
    float x[N * 5], h1[N * 8], h2[N * 8], h3[N * 8], o[N * 2];
    gc_fill(x, N * 5, 4, -1, 1);
    const float *out;
    CHECK_OK(cg_nn_mlp_forward(m, x, N, &out));
    cg_nn_params *P = cg_nn_mlp_params(m);
    cg_nn_linear_forward(h1, x, cg_nn_param(P, 0), cg_nn_param(P, 1), N, 5, 8);
    cg_nn_act_forward(h1, h1, N * 8, CG_NN_ACT_RELU, 0);
    cg_nn_resid_linear_forward(h2, h1, cg_nn_param(P, 2), cg_nn_param(P, 3), N, 8);
    cg_nn_act_forward(h2, h2, N * 8, CG_NN_ACT_RELU, 0);
    cg_nn_resid_linear_forward(h3, h2, cg_nn_param(P, 4), cg_nn_param(P, 5), N, 8);
    cg_nn_act_forward(h3, h3, N * 8, CG_NN_ACT_RELU, 0);
    cg_nn_linear_forward(o, h3, cg_nn_param(P, 6), cg_nn_param(P, 7), N, 8, 2);
    double worst = 0;
    for (int i = 0; i < N * 2; i++) worst = fmax(worst, fabs(o[i] - out[i]));
    CHECK_MSG(worst < 1e-5, "fused MLP differs from the layer composition by %g", worst);
    cg_nn_mlp_destroy(m);
}

/* y = A x + b with A, b known: a single linear layer trained by Adam recovers them. */
static void test_linear_regression(void) {
    enum { N = 256, DI = 4, DO = 2 };
    static const float A[DO][DI] = {{0.5f, -1.0f, 0.25f, 2.0f}, {-0.75f, 0.0f, 1.5f, -0.5f}}, b[DO] = {0.3f, -0.2f};
    float x[N * DI], y[N * DO], dout[N * DO];
    gc_fill(x, N * DI, 21, -1, 1);
    for (int r = 0; r < N; r++)
        for (int o = 0; o < DO; o++) {
            y[r * DO + o] = b[o];
            for (int i = 0; i < DI; i++) y[r * DO + o] += A[o][i] * x[r * DI + i];
        }
    /* n_hidden 0 with hidden = out and identity activation is two linear layers; use the
     * params store directly with the layer kernels for the single-layer model instead. */
    cg_nn_params P;
    cg_nn_params_init(&P);
    int w, bi;
    CHECK_OK(cg_nn_params_add(&P, "w", 2, (int64_t[]){DO, DI}, &w));
    CHECK_OK(cg_nn_params_add(&P, "b", 1, (int64_t[]){DO}, &bi));
    CHECK_OK(cg_nn_params_alloc(&P));
    cg_nn_init_tensor(cg_nn_param(&P, w), DO * DI, DI, DO, CG_NN_INIT_XAVIER_UNIFORM, 5, (uint64_t)w);
    cg_nn_adam_config opt = cg_nn_adam_defaults();
    cg_nn_lr_schedule sch = {.base_lr = 0.05f, .min_lr = 1e-4f, .warmup_steps = 10, .total_steps = 600,
                             .decay = CG_NN_LR_COSINE};
    float pred[N * DO];
    double loss = 0;
    for (int step = 0; step < 600; step++) {
        cg_nn_linear_forward(pred, x, cg_nn_param(&P, w), cg_nn_param(&P, bi), N, DI, DO);
        loss = cg_nn_mse_forward(pred, y, NULL, NULL, N * DO);
        cg_nn_params_zero_grad(&P);
        memset(dout, 0, sizeof dout);
        cg_nn_mse_backward(dout, pred, y, NULL, NULL, N * DO, 1.0f);
        cg_nn_linear_backward(NULL, cg_nn_grad(&P, w), cg_nn_grad(&P, bi), dout, x, cg_nn_param(&P, w), N, DI, DO);
        cg_nn_adam_step(&P, &opt, cg_nn_lr_at(&sch, step));
    }
    CHECK_MSG(loss < 1e-6, "linear regression loss %g", loss);
    for (int o = 0; o < DO; o++) {
        CHECK_CLOSE(cg_nn_param(&P, bi)[o], b[o], 1e-3, 0);
        for (int i = 0; i < DI; i++) CHECK_CLOSE(cg_nn_param(&P, w)[o * DI + i], A[o][i], 1e-3, 0);
    }
    printf("linear regression: final MSE %.3g\n", loss);
    cg_nn_params_free(&P);
}

/* Train a residual MLP on y = sin(3 x0) x1 + x2^2; returns the final loss, leaves m trained. */
static double train_mlp(cg_nn_mlp **mp, int steps, uint64_t seed) {
    enum { N = 512 };
    cg_nn_mlp_config cfg = {.in_dim = 3, .hidden_dim = 32, .out_dim = 1, .n_hidden = 2, .residual = 1,
                            .act = CG_NN_ACT_RELU, .init = CG_NN_INIT_TORCH};
    static float x[N * 3], y[N], dout[N];
    gc_fill(x, N * 3, 31, -1, 1);
    for (int r = 0; r < N; r++) y[r] = sinf(3 * x[3 * r]) * x[3 * r + 1] + x[3 * r + 2] * x[3 * r + 2];
    cg_nn_mlp *m;
    CHECK_OK(cg_nn_mlp_create(&m, &cfg, seed));
    CHECK_OK(cg_nn_mlp_reserve(m, N));
    cg_nn_adam_config opt = cg_nn_adam_defaults();
    opt.weight_decay = 1e-4f, opt.decoupled = 1;
    cg_nn_lr_schedule sch = {.base_lr = 3e-3f, .min_lr = 1e-4f, .warmup_steps = 20, .total_steps = steps,
                             .decay = CG_NN_LR_LINEAR};
    CHECK_OK(cg_nn_params_enable_ema(cg_nn_mlp_params(m)));
    double loss = 0;
    for (int step = 0; step < steps; step++) {
        const float *pred;
        cg_nn_mlp_forward(m, x, N, &pred);
        loss = cg_nn_mse_forward(pred, y, NULL, NULL, N);
        cg_nn_mlp_zero_grad(m);
        memset(dout, 0, sizeof dout);
        cg_nn_mse_backward(dout, pred, y, NULL, NULL, N, 1.0f);
        cg_nn_mlp_backward(m, dout, NULL);
        cg_nn_clip_grad_norm(cg_nn_mlp_params(m), 1.0);
        cg_nn_mlp_update(m, &opt, cg_nn_lr_at(&sch, step));
        cg_nn_ema_update(cg_nn_mlp_params(m), 0.99f);
    }
    *mp = m;
    return loss;
}

static void test_regression_and_determinism(void) {
    cg_nn_mlp *a, *b;
    double la = train_mlp(&a, 600, 99), lb = train_mlp(&b, 600, 99);
    printf("MLP regression: final MSE %.5g\n", la);
    CHECK_MSG(la < 5e-3, "MLP regression MSE %g, want < 5e-3", la);
    CHECK(la == lb);
    cg_nn_params *pa = cg_nn_mlp_params(a), *pb = cg_nn_mlp_params(b);
    CHECK(!memcmp(pa->param, pb->param, pa->count * sizeof(float)));
    CHECK(!memcmp(pa->ema, pb->ema, pa->count * sizeof(float)));
    CHECK(!memcmp(pa->v, pb->v, pa->count * sizeof(float)));
    const char *dir = cg_test_tmpdir("nn_mlp");
    char *f1 = cg_path_join(dir, "a.ckpt"), *f2 = cg_path_join(dir, "b.ckpt");
    CHECK_OK(cg_nn_checkpoint_save(f1, pa, CG_NN_CKPT_WITH_OPTIM | CG_NN_CKPT_WITH_EMA, "cfg", 3));
    CHECK_OK(cg_nn_checkpoint_save(f2, pb, CG_NN_CKPT_WITH_OPTIM | CG_NN_CKPT_WITH_EMA, "cfg", 3));
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", f1, f2);
    CHECK_MSG(system(cmd) == 0, "checkpoints of two identical runs differ");
    free(f1), free(f2);
    cg_nn_mlp_destroy(b);
    /* stronger than required: chunk boundaries are fixed, so 1 and 2 threads agree too */
    int nt = cg_get_threads();
    cg_set_threads(nt == 1 ? 2 : 1);
    double lc = train_mlp(&b, 600, 99);
    cg_set_threads(nt);
    CHECK_MSG(lc == la && !memcmp(pa->param, cg_nn_mlp_params(b)->param, pa->count * sizeof(float)),
              "training with a different thread count changed the result (%.9g vs %.9g)", lc, la);
    cg_nn_mlp_destroy(a);
    cg_nn_mlp_destroy(b);
}

/* backward_shared = din of the full backward summed over row groups, at the chosen columns;
 * same parameter gradients; a residual first layer (in_dim == hidden) and a plain one. */
static void test_backward_shared(int in_dim) {
    enum { G = 7, R = 40, N = G * R, H = 12 };
    cg_nn_mlp_config cfg = {.in_dim = in_dim, .hidden_dim = H, .out_dim = 2, .n_hidden = 2, .residual = 1,
                            .act = CG_NN_ACT_RELU, .init = CG_NN_INIT_TORCH};
    cg_nn_mlp *m;
    CHECK_OK(cg_nn_mlp_create(&m, &cfg, 5));
    CHECK_OK(cg_nn_mlp_reserve(m, N));
    float *x = malloc(sizeof(float) * N * in_dim), *din = malloc(sizeof(float) * N * in_dim), dout[N * 2];
    gc_fill(x, N * in_dim, 4, -1, 1);
    gc_fill(dout, N * 2, 5, -1, 1);
    cg_nn_params *P = cg_nn_mlp_params(m);
    float *g1 = malloc(sizeof(float) * P->count);
    const float *o;
    const int c0 = in_dim - 3, nc = 3;
    float sh[G * 3];
    CHECK_OK(cg_nn_mlp_forward(m, x, N, &o));
    cg_nn_mlp_zero_grad(m);
    CHECK_OK(cg_nn_mlp_backward(m, dout, din));
    memcpy(g1, P->grad, sizeof(float) * P->count);
    cg_nn_mlp_zero_grad(m);
    CHECK_OK(cg_nn_mlp_backward_shared(m, dout, R, c0, nc, sh));
    CHECK(memcmp(g1, P->grad, sizeof(float) * P->count) == 0);
    double worst = 0, scale = 0;
    for (int g = 0; g < G; g++)
        for (int k = 0; k < nc; k++) {
            double ref = 0;
            for (int r = g * R; r < (g + 1) * R; r++) ref += din[(int64_t)r * in_dim + c0 + k];
            worst = fmax(worst, fabs(ref - sh[g * nc + k])), scale = fmax(scale, fabs(ref));
        }
    CHECK_MSG(worst <= 1e-5 * scale && scale > 0, "backward_shared (in_dim %d): max difference %g on a scale of %g", in_dim, worst, scale);
    printf("backward_shared (in_dim %d%s): max difference from summed din %.2e (scale %.3g)\n", in_dim,
           in_dim == H ? ", residual first layer" : "", worst, scale);
    CHECK_FAILS(cg_nn_mlp_backward_shared(m, dout, 9, c0, nc, sh), CG_ERR_ARG, "groups of 9");
    CHECK_FAILS(cg_nn_mlp_backward_shared(m, dout, R, in_dim - 1, 2, sh), CG_ERR_ARG, "columns");
    free(x), free(din), free(g1);
    cg_nn_mlp_destroy(m);
}

int main(void) {
    test_mlp_gradcheck(CG_NN_ACT_RELU, 1, "mlp resid relu");
    test_mlp_gradcheck(CG_NN_ACT_LEAKY_RELU, 0, "mlp leaky_relu");
    test_mlp_gradcheck(CG_NN_ACT_SILU, 1, "mlp resid silu");
    test_mlp_gradcheck(CG_NN_ACT_TANH, 1, "mlp resid tanh");
    test_mlp_matches_layers();
    test_backward_shared(20);
    test_backward_shared(12);
    test_linear_regression();
    test_regression_and_determinism();
    return cg_test_finish();
}
