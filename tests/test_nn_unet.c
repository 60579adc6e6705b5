/* A tiny conditional U-Net composed by hand from the layer kernels, gradient-checked end to
 * end (every parameter tensor and the input) against central finite differences: it
 * exercises the skip connection (h1 feeds both the down path and the concatenation, so its
 * gradient accumulates from two branches), the timestep embedding added per channel, group
 * norm + SiLU, average pooling down and nearest upsampling + convolution up.
 *   x[B][1][8][8], t[B]
 *   e  = Linear(8->4)(timestep_embedding(t, 8))                     [B][4]
 *   h1 = SiLU(GroupNorm_2(conv3x3(1->4)(x) + e))                   [B][4][8][8]
 *   h2 = ReLU(conv3x3(4->8)(avgpool2(h1)))                          [B][8][4][4]
 *   out = conv1x1(12->1)(concat(upsample2(h2), h1))                 [B][1][8][8]
 * h = 1e-3, atol = rtol = 2e-3, ReLU kinks skipped. */
#include "cryogen/nn.h"
#include "nn_gradcheck.h"

enum { B = 2, S = 64 };

typedef struct {
    cg_nn_params P;
    int lw, lb, c1w, c1b, gw, gb, c2w, c2b, c3w, c3b;
    cg_nn_conv_shape s1, s2, s3;
    cg_nn_pool_shape down, up;
    float x[B * S], gx[B * S], t[B];
    float emb[B * 8], e[B * 4], a1[B * 4 * S], a1e[B * 4 * S], n1[B * 4 * S], h1[B * 4 * S], mean[B * 2], rstd[B * 2];
    float d[B * 4 * 16], a2[B * 8 * 16], h2[B * 8 * 16], u[B * 8 * S], c[B * 12 * S], out[B * S];
    float ge[B * 4], ga1[B * 4 * S], gn1[B * 4 * S], gh1[B * 4 * S], gd[B * 4 * 16], ga2[B * 8 * 16], gh2[B * 8 * 16],
        gu[B * 8 * S], gc[B * 12 * S];
    float scratch[4 * 9 * S];
} unet;

#define PR(i) cg_nn_param(&n->P, n->i)
#define GR(i) cg_nn_grad(&n->P, n->i)

static void unet_fwd(void *p) {
    unet *n = p;
    cg_nn_timestep_embedding_forward(n->emb, n->t, B, 8, 100.0f);
    cg_nn_linear_forward(n->e, n->emb, PR(lw), PR(lb), B, 8, 4);
    cg_nn_conv_forward(n->a1, n->x, PR(c1w), PR(c1b), B, &n->s1, n->scratch);
    cg_nn_add_channel_forward(n->a1e, n->a1, n->e, B, 4, S);
    cg_nn_groupnorm_forward(n->n1, n->mean, n->rstd, n->a1e, PR(gw), PR(gb), B, 4, S, 2, 1e-5f);
    cg_nn_act_forward(n->h1, n->n1, B * 4 * S, CG_NN_ACT_SILU, 0);
    cg_nn_avgpool_forward(n->d, n->h1, B, &n->down);
    cg_nn_conv_forward(n->a2, n->d, PR(c2w), PR(c2b), B, &n->s2, n->scratch);
    cg_nn_act_forward(n->h2, n->a2, B * 8 * 16, CG_NN_ACT_RELU, 0);
    cg_nn_upsample_forward(n->u, n->h2, B, &n->up);
    cg_nn_concat_forward(n->c, n->u, n->h1, B, 8, 4, S);
    cg_nn_conv_forward(n->out, n->c, PR(c3w), PR(c3b), B, &n->s3, n->scratch);
}

static void unet_bwd(void *p, const float *dout) {
    unet *n = p;
    cg_nn_zero(n->ge, B * 4), cg_nn_zero(n->ga1, B * 4 * S), cg_nn_zero(n->gn1, B * 4 * S);
    cg_nn_zero(n->gh1, B * 4 * S), cg_nn_zero(n->gd, B * 4 * 16), cg_nn_zero(n->ga2, B * 8 * 16);
    cg_nn_zero(n->gh2, B * 8 * 16), cg_nn_zero(n->gu, B * 8 * S), cg_nn_zero(n->gc, B * 12 * S);
    cg_nn_conv_backward(n->gc, GR(c3w), GR(c3b), dout, n->c, PR(c3w), B, &n->s3, n->scratch);
    cg_nn_concat_backward(n->gu, n->gh1, n->gc, B, 8, 4, S);
    cg_nn_upsample_backward(n->gh2, n->gu, B, &n->up);
    cg_nn_act_backward(n->ga2, n->gh2, n->a2, B * 8 * 16, CG_NN_ACT_RELU, 0);
    cg_nn_conv_backward(n->gd, GR(c2w), GR(c2b), n->ga2, n->d, PR(c2w), B, &n->s2, n->scratch);
    cg_nn_avgpool_backward(n->gh1, n->gd, B, &n->down); /* second branch into h1: accumulates */
    cg_nn_act_backward(n->gn1, n->gh1, n->n1, B * 4 * S, CG_NN_ACT_SILU, 0);
    cg_nn_groupnorm_backward(n->ga1, GR(gw), GR(gb), n->gn1, n->a1e, n->mean, n->rstd, PR(gw), B, 4, S, 2);
    cg_nn_add_channel_backward(NULL, n->ge, n->ga1, B, 4, S); /* d(a1e)/d(a1) is the identity: ga1 reused */
    cg_nn_linear_backward(NULL, GR(lw), GR(lb), n->ge, n->emb, PR(lw), B, 8, 4);
    cg_nn_conv_backward(n->gx, GR(c1w), GR(c1b), n->ga1, n->x, PR(c1w), B, &n->s1, n->scratch);
}

int main(void) {
    static unet n;
    cg_nn_params_init(&n.P);
    struct { const char *name; int nd; int64_t shape[4]; int *idx; int fan_in; } T[] = {
        {"temb.weight", 2, {4, 8}, &n.lw, 8},     {"temb.bias", 1, {4}, &n.lb, 8},
        {"in.weight", 4, {4, 1, 3, 3}, &n.c1w, 9}, {"in.bias", 1, {4}, &n.c1b, 9},
        {"gn.weight", 1, {4}, &n.gw, 1},           {"gn.bias", 1, {4}, &n.gb, 1},
        {"down.weight", 4, {8, 4, 3, 3}, &n.c2w, 36}, {"down.bias", 1, {8}, &n.c2b, 36},
        {"out.weight", 4, {1, 12, 1, 1}, &n.c3w, 12}, {"out.bias", 1, {1}, &n.c3b, 12},
    };
    int nt = (int)(sizeof T / sizeof *T);
    for (int i = 0; i < nt; i++) CHECK_OK(cg_nn_params_add(&n.P, T[i].name, T[i].nd, T[i].shape, T[i].idx));
    CHECK_OK(cg_nn_params_alloc(&n.P));
    for (int i = 0; i < nt; i++)
        cg_nn_init_tensor(cg_nn_param(&n.P, *T[i].idx), n.P.tensors[*T[i].idx].count, T[i].fan_in, 1,
                          CG_NN_INIT_TORCH, 5, (uint64_t)i);
    gc_fill(cg_nn_param(&n.P, n.gw), 4, 8, 0.5f, 1.5f);
    CHECK_OK(cg_nn_conv_shape_2d(&n.s1, 1, 4, 8, 8, 3, 1, 1));
    CHECK_OK(cg_nn_conv_shape_2d(&n.s2, 4, 8, 4, 4, 3, 1, 1));
    CHECK_OK(cg_nn_conv_shape_2d(&n.s3, 12, 1, 8, 8, 1, 1, 0));
    CHECK_OK(cg_nn_pool_shape_2d(&n.down, 4, 8, 8, 2, 2));
    CHECK_OK(cg_nn_upsample_shape_2d(&n.up, 8, 4, 4, 2));
    gc_fill(n.x, B * S, 9, -1, 1);
    n.t[0] = 3.0f, n.t[1] = 40.0f;
    gc_case g = {.name = "tiny U-Net", .n_in = 2, .out = n.out, .n_out = B * S, .forward = unet_fwd,
                 .backward = unet_bwd, .ctx = &n, .h = 1e-3, .atol = 2e-3, .rtol = 2e-3, .kinks = 1,
                 .kink_tol = 2e-3, .max_points = 200};
    g.in[0] = (gc_tensor){"x", n.x, n.gx, B * S};
    g.in[1] = (gc_tensor){"theta", n.P.param, n.P.grad, n.P.count};
    gc_run(&g);
    cg_nn_params_free(&n.P);
    return cg_test_finish();
}
