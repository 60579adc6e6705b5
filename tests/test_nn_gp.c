/* WGAN-GP gradient penalty: the parameter gradient from cg_nn_gradient_penalty (Hessian-
 * vector identity, central difference in the input direction, float layers) against
 * central finite differences of the penalty ITSELF, evaluated by an independent double-
 * precision copy of the critic (its forward and input gradient written out by hand here).
 * Critic (per sample): x[1][6][6] -> conv3x3 pad 1 (1->3) -> LeakyReLU(0.2) -> maxpool 2
 * -> linear 27->5 -> LeakyReLU(0.2) -> linear 5->1, batch 6, lambda 10.
 * Checks: the penalty value (rtol 1e-5); every parameter's gradient within
 * 2e-4 * max|grad| + 2e-3 |grad| (FD in double with h = 1e-6; points at kinks skipped); the
 * input gradient of the float critic against the double one (1e-5 relative to max). */
#include "cryogen/nn.h"
#include "testutil.h"

enum { B = 6, H = 6, C = 3, P1 = C * 9, NH = 5, DIM = H * H };

typedef struct {
    cg_nn_params P;
    int cw, cb, w1, b1, w2, b2;
    cg_nn_conv_shape cs;
    cg_nn_pool_shape ps;
    float a1[B * C * DIM], l1[B * C * DIM], p1[B * P1], h[B * NH], hl[B * NH], out[B];
    float ga1[B * C * DIM], gl1[B * C * DIM], gp1[B * P1], gh[B * NH], ghl[B * NH], ones[B];
    float scratch[9 * DIM];
} critic;

static float *gof(critic *c, float *base, int t) { return base ? base + c->P.tensors[t].offset : NULL; }

static cg_status critic_fn(void *ctx, const float *x, float *gx, float *gth) {
    critic *c = ctx;
    cg_nn_params *P = &c->P;
    cg_nn_conv_forward(c->a1, x, cg_nn_param(P, c->cw), cg_nn_param(P, c->cb), B, &c->cs, c->scratch);
    cg_nn_act_forward(c->l1, c->a1, B * C * DIM, CG_NN_ACT_LEAKY_RELU, 0.2f);
    cg_nn_maxpool_forward(c->p1, c->l1, B, &c->ps);
    cg_nn_linear_forward(c->h, c->p1, cg_nn_param(P, c->w1), cg_nn_param(P, c->b1), B, P1, NH);
    cg_nn_act_forward(c->hl, c->h, B * NH, CG_NN_ACT_LEAKY_RELU, 0.2f);
    cg_nn_linear_forward(c->out, c->hl, cg_nn_param(P, c->w2), cg_nn_param(P, c->b2), B, NH, 1);
    cg_nn_zero(c->ga1, B * C * DIM), cg_nn_zero(c->gl1, B * C * DIM), cg_nn_zero(c->gp1, B * P1);
    cg_nn_zero(c->gh, B * NH), cg_nn_zero(c->ghl, B * NH);
    if (gx) cg_nn_zero(gx, B * DIM);
    cg_nn_linear_backward(c->ghl, gof(c, gth, c->w2), gof(c, gth, c->b2), c->ones, c->hl, cg_nn_param(P, c->w2), B, NH, 1);
    cg_nn_act_backward(c->gh, c->ghl, c->h, B * NH, CG_NN_ACT_LEAKY_RELU, 0.2f);
    cg_nn_linear_backward(c->gp1, gof(c, gth, c->w1), gof(c, gth, c->b1), c->gh, c->p1, cg_nn_param(P, c->w1), B, P1, NH);
    cg_nn_maxpool_backward(c->gl1, c->gp1, c->l1, B, &c->ps);
    cg_nn_act_backward(c->ga1, c->gl1, c->a1, B * C * DIM, CG_NN_ACT_LEAKY_RELU, 0.2f);
    cg_nn_conv_backward(gx, gof(c, gth, c->cw), gof(c, gth, c->cb), c->ga1, x, cg_nn_param(P, c->cw), B, &c->cs,
                        c->scratch);
    return CG_OK;
}

/* ---------------------------------------------------------------- double reference ------ */
static double lrelu(double v) { return v > 0 ? v : 0.2 * v; }
static double dlrelu(double v) { return v > 0 ? 1.0 : 0.2; }

/* Input gradient g[DIM] of the critic at one sample, parameters th laid out like P.param. */
static void critic_grad_x_double(double *g, const double *x, const double *th, const critic *c) {
    const double *W = th + c->P.tensors[c->cw].offset, *bc = th + c->P.tensors[c->cb].offset;
    const double *W1 = th + c->P.tensors[c->w1].offset, *b1 = th + c->P.tensors[c->b1].offset;
    const double *W2 = th + c->P.tensors[c->w2].offset;
    double a1[C][H][H], p1[P1], h[NH], da1[C][H][H] = {{{0}}};
    int arg[P1];
    for (int ch = 0; ch < C; ch++)
        for (int y = 0; y < H; y++)
            for (int xx = 0; xx < H; xx++) {
                double s = bc[ch];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int iy = y + ky - 1, ix = xx + kx - 1;
                        if (iy >= 0 && iy < H && ix >= 0 && ix < H) s += W[ch * 9 + ky * 3 + kx] * x[iy * H + ix];
                    }
                a1[ch][y][xx] = s;
            }
    for (int ch = 0; ch < C; ch++)
        for (int py = 0; py < 3; py++)
            for (int px = 0; px < 3; px++) {
                int best = -1;
                double bv = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        int y = 2 * py + dy, xx = 2 * px + dx;
                        double v = lrelu(a1[ch][y][xx]);
                        if (best < 0 || v > bv) bv = v, best = y * H + xx;
                    }
                p1[ch * 9 + py * 3 + px] = bv, arg[ch * 9 + py * 3 + px] = best;
            }
    for (int j = 0; j < NH; j++) {
        h[j] = b1[j];
        for (int i = 0; i < P1; i++) h[j] += W1[j * P1 + i] * p1[i];
    }
    for (int i = 0; i < P1; i++) { /* d out / d p1, then through the max and the LeakyReLU */
        double d = 0;
        for (int j = 0; j < NH; j++) d += W2[j] * dlrelu(h[j]) * W1[j * P1 + i];
        int ch = i / 9, y = arg[i] / H, xx = arg[i] % H;
        da1[ch][y][xx] += d * dlrelu(a1[ch][y][xx]);
    }
    for (int i = 0; i < DIM; i++) g[i] = 0;
    for (int ch = 0; ch < C; ch++)
        for (int y = 0; y < H; y++)
            for (int xx = 0; xx < H; xx++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int iy = y + ky - 1, ix = xx + kx - 1;
                        if (iy >= 0 && iy < H && ix >= 0 && ix < H) g[iy * H + ix] += W[ch * 9 + ky * 3 + kx] * da1[ch][y][xx];
                    }
}

static double penalty_double(const double *xs, const double *th, const critic *c, double lambda) {
    double P = 0, g[DIM];
    for (int b = 0; b < B; b++) {
        critic_grad_x_double(g, xs + b * DIM, th, c);
        double nn = 0;
        for (int i = 0; i < DIM; i++) nn += g[i] * g[i];
        P += (sqrt(nn) - 1) * (sqrt(nn) - 1);
    }
    return lambda * P / B;
}

int main(void) {
    static critic c;
    cg_nn_params_init(&c.P);
    CHECK_OK(cg_nn_params_add(&c.P, "conv.weight", 4, (int64_t[]){C, 1, 3, 3}, &c.cw));
    CHECK_OK(cg_nn_params_add(&c.P, "conv.bias", 1, (int64_t[]){C}, &c.cb));
    CHECK_OK(cg_nn_params_add(&c.P, "fc1.weight", 2, (int64_t[]){NH, P1}, &c.w1));
    CHECK_OK(cg_nn_params_add(&c.P, "fc1.bias", 1, (int64_t[]){NH}, &c.b1));
    CHECK_OK(cg_nn_params_add(&c.P, "fc2.weight", 2, (int64_t[]){1, NH}, &c.w2));
    CHECK_OK(cg_nn_params_add(&c.P, "fc2.bias", 1, (int64_t[]){1}, &c.b2));
    CHECK_OK(cg_nn_params_alloc(&c.P));
    CHECK_OK(cg_nn_conv_shape_2d(&c.cs, 1, C, H, H, 3, 1, 1));
    CHECK_OK(cg_nn_pool_shape_2d(&c.ps, C, H, H, 2, 2));
    for (int t = 0; t < c.P.n_tensors; t++) {
        const cg_nn_tensor *T = &c.P.tensors[t];
        int64_t fan_in = T->ndim > 1 ? (int64_t)T->count / T->shape[0] : 9;
        cg_nn_init_tensor(cg_nn_param(&c.P, t), T->count, fan_in, 1, CG_NN_INIT_HE_UNIFORM, 17, (uint64_t)t);
    }
    for (int b = 0; b < B; b++) c.ones[b] = 1.0f;
    float x[B * DIM], gx[B * DIM];
    double xd[B * DIM];
    cg_rng r;
    cg_rng_init(&r, 3, CG_RNG_STREAM_USER, 0);
    for (int i = 0; i < B * DIM; i++) xd[i] = x[i] = (float)cg_rng_normal(&r);

    /* input gradient: float layers against the double critic */
    double *th = calloc(c.P.count, sizeof *th);
    for (size_t i = 0; i < c.P.count; i++) th[i] = c.P.param[i];
    CHECK_OK(critic_fn(&c, x, gx, NULL));
    double gd[DIM], gmax = 0, gerr = 0;
    for (int b = 0; b < B; b++) {
        critic_grad_x_double(gd, xd + b * DIM, th, &c);
        for (int i = 0; i < DIM; i++) gmax = fmax(gmax, fabs(gd[i])), gerr = fmax(gerr, fabs(gd[i] - gx[b * DIM + i]));
    }
    CHECK_MSG(gerr <= 1e-5 * gmax, "input gradient off by %g (max %g)", gerr, gmax);

    /* penalty and its parameter gradient */
    const double lambda = 10.0;
    cg_nn_gp_config cfg = {.lambda = (float)lambda, .rel_step = 1e-3f};
    size_t ns = cg_nn_gradient_penalty_scratch_floats(B, DIM, c.P.count);
    float *scratch = malloc(ns * sizeof(float)), *grad = calloc(c.P.count, sizeof(float));
    double pen = 0;
    CHECK_OK(cg_nn_gradient_penalty(&pen, grad, c.P.count, critic_fn, &c, x, B, DIM, &cfg, scratch));
    double pref = penalty_double(xd, th, &c, lambda);
    CHECK_CLOSE(pen, pref, 0, 1e-5);

    double *num = calloc(c.P.count, sizeof *num), nmax = 0;
    int skipped = 0, checked = 0;
    char *ok = calloc(c.P.count, 1);
    for (int t = 0; t < c.P.n_tensors; t++)
        for (size_t j = 0; j < c.P.tensors[t].count; j++) {
            size_t k = c.P.tensors[t].offset + j;
            const double hh = 1e-6, t0 = th[k];
            th[k] = t0 + hh;
            double Pp = penalty_double(xd, th, &c, lambda);
            th[k] = t0 - hh;
            double Pm = penalty_double(xd, th, &c, lambda);
            th[k] = t0;
            double dr = (Pp - pref) / hh, dl = (pref - Pm) / hh;
            num[k] = (Pp - Pm) / (2 * hh);
            if (fabs(dr - dl) > 1e-3 * (1 + fabs(num[k]))) { skipped++; continue; }
            ok[k] = 1, checked++;
            nmax = fmax(nmax, fabs(num[k]));
        }
    double worst = 0;
    int bad = 0;
    for (size_t k = 0; k < c.P.count; k++) {
        if (!ok[k]) continue;
        double err = fabs(grad[k] - num[k]), tol = 2e-4 * nmax + 2e-3 * fabs(num[k]);
        worst = fmax(worst, err / tol);
        if (err > tol && bad++ < 5) fprintf(stderr, "  dP/dtheta[%zu]: %.8g, finite difference %.8g\n", k, grad[k], num[k]);
    }
    CHECK_MSG(bad == 0, "%d of %d penalty-gradient entries off", bad, checked);
    CHECK(skipped * 10 <= checked);
    printf("gradient penalty %.6g (double %.6g); %d parameters checked, %d at kinks, worst err/tol %.3f\n", pen, pref,
           checked, skipped, worst);
    free(th), free(scratch), free(grad), free(num), free(ok);
    cg_nn_params_free(&c.P);
    return cg_test_finish();
}
