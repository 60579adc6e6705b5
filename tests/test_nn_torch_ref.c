/* Training trajectories against PyTorch (Debian python3-torch 1.13), from the same initial
 * weights and data: scripts/make_nn_reference.py writes them under the build tree at test
 * time (skipped, with the reason, when /usr/bin/python3 cannot import torch).
 *  - residual ReLU MLP 8-32-32-32-3 (the cg_nn_mlp container), MSE, Adam, warm-up + cosine
 *    learning rate, global-norm clipping at 1.0, 20 steps;
 *  - small CNN composed by hand from the layer kernels and an arena: conv3x3 ReLU maxpool2
 *    conv3x3 GroupNorm(2) LeakyReLU(0.1) avgpool2 linear, MSE, AdamW, 10 steps.
 * Tolerances: every step's loss within rtol 1e-5; first- and last-step gradients and the
 * final weights within 1e-6 + 1e-4 |ref| (float summation orders differ from PyTorch's;
 * observed worst err/tol is about 0.05). */
#include "cryogen/nn.h"
#include "testutil.h"

typedef struct {
    char name[64];
    uint32_t n;
    float *data;
} ref_rec;
typedef struct {
    ref_rec r[128];
    int n;
} ref_file;

static void ref_load(ref_file *f, const char *path) {
    FILE *fp = fopen(path, "rb");
    f->n = 0;
    if (!fp) {
        CHECK_MSG(0, "cannot open %s", path);
        return;
    }
    ref_rec *r;
    while (f->n < 128 && (r = &f->r[f->n], fread(r->name, 1, 64, fp) == 64)) {
        if (fread(&r->n, 4, 1, fp) != 1) break;
        r->data = malloc((size_t)r->n * 4 + 4);
        if (fread(r->data, 4, r->n, fp) != r->n) break;
        f->n++;
    }
    fclose(fp);
}

static const ref_rec *ref_get(const ref_file *f, const char *name, size_t want) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->r[i].name, name)) {
            CHECK_MSG(want == 0 || f->r[i].n == want, "%s: %u values, want %zu", name, f->r[i].n, want);
            return &f->r[i];
        }
    fprintf(stderr, "reference record %s missing\n", name);
    exit(1);
}

static void ref_free(ref_file *f) {
    for (int i = 0; i < f->n; i++) free(f->r[i].data);
}

/* Compare every tensor of P (buffer param or grad) with records prefix.<name>. */
static void compare(const ref_file *f, const cg_nn_params *P, const float *buf, const char *prefix, double atol,
                    double rtol) {
    double worst = 0;
    for (int t = 0; t < P->n_tensors; t++) {
        char nm[128];
        snprintf(nm, sizeof nm, "%s.%s", prefix, P->tensors[t].name);
        const ref_rec *r = ref_get(f, nm, P->tensors[t].count);
        const float *x = buf + P->tensors[t].offset;
        int bad = 0;
        for (uint32_t i = 0; i < r->n; i++) {
            double err = fabs((double)x[i] - r->data[i]), tol = atol + rtol * fabs(r->data[i]);
            worst = fmax(worst, err / tol);
            if (err > tol && bad++ < 3) fprintf(stderr, "  %s[%u]: %.8g, torch %.8g\n", nm, i, x[i], r->data[i]);
        }
        CHECK_MSG(bad == 0, "%s: %d values differ from PyTorch", nm, bad);
    }
    printf("  %-6s vs torch: worst err/tol %.3f\n", prefix, worst);
}

static void load_init(const ref_file *f, cg_nn_params *P) {
    for (int t = 0; t < P->n_tensors; t++) {
        char nm[128];
        snprintf(nm, sizeof nm, "init.%s", P->tensors[t].name);
        const ref_rec *r = ref_get(f, nm, P->tensors[t].count);
        memcpy(cg_nn_param(P, t), r->data, r->n * 4);
    }
}

static void check_loss(const ref_file *f, int step, double loss) {
    const ref_rec *L = ref_get(f, "losses", 0);
    CHECK_MSG(fabs(loss - L->data[step]) <= 1e-5 * fabs(L->data[step]), "step %d: loss %.8g, torch %.8g", step, loss,
              L->data[step]);
}

static void test_mlp(const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/nn_ref_mlp.bin", dir);
    ref_file f;
    ref_load(&f, path);
    cg_nn_mlp_config cfg = {.in_dim = 8, .hidden_dim = 32, .out_dim = 3, .n_hidden = 2, .residual = 1,
                            .act = CG_NN_ACT_RELU, .init = CG_NN_INIT_TORCH};
    cg_nn_mlp *m;
    CHECK_OK(cg_nn_mlp_create(&m, &cfg, 0));
    CHECK_OK(cg_nn_mlp_reserve(m, 64));
    cg_nn_params *P = cg_nn_mlp_params(m);
    load_init(&f, P);
    const float *x = ref_get(&f, "x", 64 * 8)->data, *y = ref_get(&f, "y", 64 * 3)->data;
    cg_nn_adam_config opt = cg_nn_adam_defaults();
    cg_nn_lr_schedule sch = {.base_lr = 1e-2f, .min_lr = 1e-4f, .warmup_steps = 3, .total_steps = 20,
                             .decay = CG_NN_LR_COSINE};
    float dout[64 * 3];
    for (int step = 0; step < 20; step++) {
        const float *pred;
        CHECK_OK(cg_nn_mlp_forward(m, x, 64, &pred));
        check_loss(&f, step, cg_nn_mse_forward(pred, y, NULL, NULL, 64 * 3));
        cg_nn_mlp_zero_grad(m);
        memset(dout, 0, sizeof dout);
        cg_nn_mse_backward(dout, pred, y, NULL, NULL, 64 * 3, 1.0f);
        CHECK_OK(cg_nn_mlp_backward(m, dout, NULL));
        if (step == 0) compare(&f, P, P->grad, "grad0", 1e-6, 1e-4);
        if (step == 19) compare(&f, P, P->grad, "grad1", 1e-6, 1e-4);
        cg_nn_clip_grad_norm(P, 1.0);
        cg_nn_mlp_update(m, &opt, cg_nn_lr_at(&sch, step));
    }
    compare(&f, P, P->param, "final", 1e-6, 1e-4);
    cg_nn_mlp_destroy(m);
    ref_free(&f);
}

/* ---------------------------------------------------------------- hand-built CNN -------- */
enum { B = 4 };
typedef struct {
    cg_nn_params P;
    int c1w, c1b, c2w, c2b, gnw, gnb, fcw, fcb;
    cg_nn_conv_shape s1, s2;
    cg_nn_pool_shape mp, ap;
    cg_arena arena;
    /* activations [B][C][H][W] and their gradients, from the arena */
    float *a1, *r1, *p1, *a2, *n2, *l2, *p2, *out, *mean, *rstd, *scratch;
    float *ga1, *gr1, *gp1, *ga2, *gn2, *gl2, *gp2;
} cnn;

static cg_status cnn_build(cnn *c) {
    cg_nn_params_init(&c->P);
    cg_nn_params_add(&c->P, "c1.weight", 4, (int64_t[]){4, 2, 3, 3}, &c->c1w);
    cg_nn_params_add(&c->P, "c1.bias", 1, (int64_t[]){4}, &c->c1b);
    cg_nn_params_add(&c->P, "c2.weight", 4, (int64_t[]){8, 4, 3, 3}, &c->c2w);
    cg_nn_params_add(&c->P, "c2.bias", 1, (int64_t[]){8}, &c->c2b);
    cg_nn_params_add(&c->P, "gn.weight", 1, (int64_t[]){8}, &c->gnw);
    cg_nn_params_add(&c->P, "gn.bias", 1, (int64_t[]){8}, &c->gnb);
    cg_nn_params_add(&c->P, "fc.weight", 2, (int64_t[]){5, 72}, &c->fcw);
    cg_nn_params_add(&c->P, "fc.bias", 1, (int64_t[]){5}, &c->fcb);
    cg_status s = cg_nn_params_alloc(&c->P);
    if (s == CG_OK) s = cg_nn_conv_shape_2d(&c->s1, 2, 4, 12, 12, 3, 1, 1);
    if (s == CG_OK) s = cg_nn_pool_shape_2d(&c->mp, 4, 12, 12, 2, 2);
    if (s == CG_OK) s = cg_nn_conv_shape_2d(&c->s2, 4, 8, 6, 6, 3, 1, 1);
    if (s == CG_OK) s = cg_nn_pool_shape_2d(&c->ap, 8, 6, 6, 2, 2);
    if (s == CG_OK) s = cg_arena_init(&c->arena, 1 << 20);
    if (s != CG_OK) return s;
    cg_arena *a = &c->arena;
    size_t n1 = B * 4 * 144, n2 = B * 4 * 36, n3 = B * 8 * 36, n4 = B * 72;
    c->a1 = CG_ARENA_ALLOC(a, float, n1), c->r1 = CG_ARENA_ALLOC(a, float, n1), c->p1 = CG_ARENA_ALLOC(a, float, n2);
    c->a2 = CG_ARENA_ALLOC(a, float, n3), c->n2 = CG_ARENA_ALLOC(a, float, n3), c->l2 = CG_ARENA_ALLOC(a, float, n3);
    c->p2 = CG_ARENA_ALLOC(a, float, n4), c->out = CG_ARENA_ALLOC(a, float, B * 5);
    c->mean = CG_ARENA_ALLOC(a, float, B * 2), c->rstd = CG_ARENA_ALLOC(a, float, B * 2);
    size_t sc1 = cg_nn_conv_scratch_floats(&c->s1), sc2 = cg_nn_conv_scratch_floats(&c->s2);
    c->scratch = CG_ARENA_ALLOC(a, float, sc1 > sc2 ? sc1 : sc2);
    c->ga1 = CG_ARENA_ALLOC(a, float, n1), c->gr1 = CG_ARENA_ALLOC(a, float, n1), c->gp1 = CG_ARENA_ALLOC(a, float, n2);
    c->ga2 = CG_ARENA_ALLOC(a, float, n3), c->gn2 = CG_ARENA_ALLOC(a, float, n3), c->gl2 = CG_ARENA_ALLOC(a, float, n3);
    c->gp2 = CG_ARENA_ALLOC(a, float, n4);
    return c->gp2 ? CG_OK : CG_ERR_NOMEM;
}

#define PR(i) cg_nn_param(&c->P, c->i)
#define GR(i) cg_nn_grad(&c->P, c->i)

static void cnn_forward(cnn *c, const float *x) {
    cg_nn_conv_forward(c->a1, x, PR(c1w), PR(c1b), B, &c->s1, c->scratch);
    cg_nn_act_forward(c->r1, c->a1, B * 4 * 144, CG_NN_ACT_RELU, 0);
    cg_nn_maxpool_forward(c->p1, c->r1, B, &c->mp);
    cg_nn_conv_forward(c->a2, c->p1, PR(c2w), PR(c2b), B, &c->s2, c->scratch);
    cg_nn_groupnorm_forward(c->n2, c->mean, c->rstd, c->a2, PR(gnw), PR(gnb), B, 8, 36, 2, 1e-5f);
    cg_nn_act_forward(c->l2, c->n2, B * 8 * 36, CG_NN_ACT_LEAKY_RELU, 0.1f);
    cg_nn_avgpool_forward(c->p2, c->l2, B, &c->ap);
    cg_nn_linear_forward(c->out, c->p2, PR(fcw), PR(fcb), B, 72, 5);
}

static void cnn_backward(cnn *c, const float *x, const float *dout) {
    cg_nn_zero(c->ga1, B * 4 * 144), cg_nn_zero(c->gr1, B * 4 * 144), cg_nn_zero(c->gp1, B * 4 * 36);
    cg_nn_zero(c->ga2, B * 8 * 36), cg_nn_zero(c->gn2, B * 8 * 36), cg_nn_zero(c->gl2, B * 8 * 36);
    cg_nn_zero(c->gp2, B * 72);
    cg_nn_linear_backward(c->gp2, GR(fcw), GR(fcb), dout, c->p2, PR(fcw), B, 72, 5);
    cg_nn_avgpool_backward(c->gl2, c->gp2, B, &c->ap);
    cg_nn_act_backward(c->gn2, c->gl2, c->n2, B * 8 * 36, CG_NN_ACT_LEAKY_RELU, 0.1f);
    cg_nn_groupnorm_backward(c->ga2, GR(gnw), GR(gnb), c->gn2, c->a2, c->mean, c->rstd, PR(gnw), B, 8, 36, 2);
    cg_nn_conv_backward(c->gp1, GR(c2w), GR(c2b), c->ga2, c->p1, PR(c2w), B, &c->s2, c->scratch);
    cg_nn_maxpool_backward(c->gr1, c->gp1, c->r1, B, &c->mp);
    cg_nn_act_backward(c->ga1, c->gr1, c->a1, B * 4 * 144, CG_NN_ACT_RELU, 0);
    cg_nn_conv_backward(NULL, GR(c1w), GR(c1b), c->ga1, x, PR(c1w), B, &c->s1, c->scratch);
}

static void test_cnn(const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/nn_ref_cnn.bin", dir);
    ref_file f;
    ref_load(&f, path);
    cnn c;
    CHECK_OK(cnn_build(&c));
    load_init(&f, &c.P);
    const float *x = ref_get(&f, "x", B * 2 * 144)->data, *y = ref_get(&f, "y", B * 5)->data;
    cg_nn_adam_config opt = cg_nn_adam_defaults();
    opt.weight_decay = 0.01f, opt.decoupled = 1;
    float dout[B * 5];
    for (int step = 0; step < 10; step++) {
        cnn_forward(&c, x);
        check_loss(&f, step, cg_nn_mse_forward(c.out, y, NULL, NULL, B * 5));
        cg_nn_params_zero_grad(&c.P);
        memset(dout, 0, sizeof dout);
        cg_nn_mse_backward(dout, c.out, y, NULL, NULL, B * 5, 1.0f);
        cnn_backward(&c, x, dout);
        if (step == 0) compare(&f, &c.P, c.P.grad, "grad0", 1e-6, 1e-4);
        if (step == 9) compare(&f, &c.P, c.P.grad, "grad1", 1e-6, 1e-4);
        cg_nn_adam_step(&c.P, &opt, 5e-3f);
    }
    compare(&f, &c.P, c.P.param, "final", 1e-6, 1e-4);
    cg_nn_params_free(&c.P);
    cg_arena_free(&c.arena);
    ref_free(&f);
}

int main(void) {
    if (system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0)
        SKIP("/usr/bin/python3 cannot import torch (install Debian's python3-torch)");
    const char *src = getenv("CG_SOURCE_DIR");
    if (!src) src = "..";
    const char *dir = cg_test_tmpdir("nn_torch_ref");
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/scripts/make_nn_reference.py' '%s'", src, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "FAIL: %s failed\n", cmd);
        return 1;
    }
    printf("MLP (Adam, cosine warm-up, clipping):\n");
    test_mlp(dir);
    printf("CNN (conv, maxpool, groupnorm, avgpool, AdamW):\n");
    test_cnn(dir);
    return cg_test_finish();
}
