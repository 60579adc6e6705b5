/* Optimiser pieces and checkpoints:
 *  - Adam and AdamW against the textbook formulas evaluated in double (rtol 1e-5), over
 *    three steps with weight decay;
 *  - learning-rate schedules at known steps; global-norm clipping; EMA;
 *  - initialisers: sample mean/std of He-normal and Xavier-uniform within 3% and the
 *    same (seed, index) gives the same values;
 *  - checkpoints: bit-exact round trip (params, Adam state, EMA, step); clear failures on
 *    wrong magic, wrong version, tensor name and shape mismatch, tensor count, config
 *    mismatch, truncation at several points, trailing bytes and a flipped data byte. */
#include "cryogen/nn.h"
#include "testutil.h"

static void test_adam(int decoupled) {
    enum { N = 37 };
    float p[N], g[N], m[N] = {0}, v[N] = {0};
    double pd[N], md[N] = {0}, vd[N] = {0};
    cg_rng r;
    cg_rng_init(&r, 1, CG_RNG_STREAM_USER, 0);
    for (int i = 0; i < N; i++) pd[i] = p[i] = (float)cg_rng_normal(&r);
    cg_nn_adam_config c = cg_nn_adam_defaults();
    c.weight_decay = 0.05f, c.decoupled = decoupled;
    double lr = 0.01, worst = 0;
    for (int t = 1; t <= 3; t++) {
        for (int i = 0; i < N; i++) g[i] = (float)cg_rng_normal(&r);
        cg_nn_adam_update(p, g, m, v, N, &c, (float)lr, t);
        for (int i = 0; i < N; i++) {
            double gi = g[i];
            if (!decoupled) gi += c.weight_decay * pd[i];
            else pd[i] *= 1.0 - lr * c.weight_decay;
            md[i] = 0.9 * md[i] + 0.1 * gi;
            vd[i] = 0.999 * vd[i] + 0.001 * gi * gi;
            double mh = md[i] / (1 - pow(0.9, t)), vh = vd[i] / (1 - pow(0.999, t));
            pd[i] -= lr * mh / (sqrt(vh) + 1e-8);
            worst = fmax(worst, fabs(p[i] - pd[i]) / fmax(1e-3, fabs(pd[i])));
        }
    }
    CHECK_MSG(worst < 1e-5, "%s differs from the double formula by %g (relative)", decoupled ? "AdamW" : "Adam",
              worst);
}

static void test_schedule_clip_ema(void) {
    cg_nn_lr_schedule s = {.base_lr = 1.0f, .min_lr = 0.1f, .warmup_steps = 4, .total_steps = 14,
                           .decay = CG_NN_LR_COSINE};
    CHECK_CLOSE(cg_nn_lr_at(&s, 0), 0.25, 1e-7, 0);
    CHECK_CLOSE(cg_nn_lr_at(&s, 3), 1.0, 1e-7, 0);
    CHECK_CLOSE(cg_nn_lr_at(&s, 4), 1.0, 1e-7, 0);
    CHECK_CLOSE(cg_nn_lr_at(&s, 9), 0.55, 1e-6, 0);
    CHECK_CLOSE(cg_nn_lr_at(&s, 14), 0.1, 1e-7, 0);
    CHECK_CLOSE(cg_nn_lr_at(&s, 100), 0.1, 1e-7, 0);
    s.decay = CG_NN_LR_LINEAR;
    CHECK_CLOSE(cg_nn_lr_at(&s, 6), 0.82, 1e-6, 0);
    s.decay = CG_NN_LR_CONSTANT;
    CHECK_CLOSE(cg_nn_lr_at(&s, 50), 1.0, 0, 0);

    cg_nn_params P;
    cg_nn_params_init(&P);
    CHECK_OK(cg_nn_params_add(&P, "a", 1, (int64_t[]){3}, NULL));
    CHECK_OK(cg_nn_params_add(&P, "b", 2, (int64_t[]){2, 2}, NULL));
    CHECK_OK(cg_nn_params_alloc(&P));
    CHECK(P.tensors[1].offset == 16); /* 64-byte aligned views */
    float *ga = cg_nn_grad(&P, 0), *gb = cg_nn_grad(&P, 1);
    ga[0] = 3, ga[1] = 0, ga[2] = 0, gb[0] = 4, gb[1] = gb[2] = gb[3] = 0;
    CHECK_CLOSE(cg_nn_clip_grad_norm(&P, 10.0), 5.0, 1e-12, 0);
    CHECK(ga[0] == 3.0f); /* below the limit: untouched */
    CHECK_CLOSE(cg_nn_clip_grad_norm(&P, 1.0), 5.0, 1e-12, 0);
    CHECK_CLOSE(cg_nn_l2_norm(P.grad, P.count), 1.0, 1e-6, 0);
    cg_nn_param(&P, 0)[0] = 2.0f;
    CHECK_OK(cg_nn_params_enable_ema(&P));
    cg_nn_param(&P, 0)[0] = 4.0f;
    cg_nn_ema_update(&P, 0.75f);
    CHECK_CLOSE(P.ema[0], 2.5, 1e-7, 0);
    CHECK_FAILS(cg_nn_params_add(&P, "c", 1, (int64_t[]){1}, NULL), CG_ERR_ARG, "after allocation");
    cg_nn_params_free(&P);
    cg_nn_params_init(&P);
    CHECK_OK(cg_nn_params_add(&P, "a", 1, (int64_t[]){3}, NULL));
    CHECK_FAILS(cg_nn_params_add(&P, "a", 1, (int64_t[]){3}, NULL), CG_ERR_ARG, "duplicate");
    CHECK_FAILS(cg_nn_params_add(&P, "z", 2, (int64_t[]){3, 0}, NULL), CG_ERR_ARG, "bad extent");
    cg_nn_params_free(&P);
}

static void test_init(void) {
    enum { N = 40000 };
    static float w[N], w2[N];
    cg_nn_init_tensor(w, N, 200, 100, CG_NN_INIT_HE_NORMAL, 3, 1);
    double s = 0, ss = 0;
    for (int i = 0; i < N; i++) s += w[i], ss += (double)w[i] * w[i];
    CHECK_CLOSE(sqrt(ss / N), sqrt(2.0 / 200), 0, 0.03);
    CHECK(fabs(s / N) < 0.03 * sqrt(2.0 / 200));
    cg_nn_init_tensor(w, N, 200, 100, CG_NN_INIT_XAVIER_UNIFORM, 3, 2);
    double a = sqrt(6.0 / 300), mx = 0;
    ss = 0;
    for (int i = 0; i < N; i++) ss += (double)w[i] * w[i], mx = fmax(mx, fabs(w[i]));
    CHECK(mx <= a);
    CHECK_CLOSE(sqrt(ss / N), a / sqrt(3.0), 0, 0.03);
    cg_nn_init_tensor(w2, N, 200, 100, CG_NN_INIT_XAVIER_UNIFORM, 3, 2);
    CHECK(!memcmp(w, w2, sizeof w));
    cg_nn_init_tensor(w2, N, 200, 100, CG_NN_INIT_XAVIER_UNIFORM, 3, 3);
    CHECK(memcmp(w, w2, sizeof w));
}

/* ---------------------------------------------------------------- checkpoints ----------- */
static void build(cg_nn_params *P, const char *name1, int64_t rows) {
    cg_nn_params_init(P);
    CHECK_OK(cg_nn_params_add(P, name1, 2, (int64_t[]){rows, 5}, NULL));
    CHECK_OK(cg_nn_params_add(P, "l0.bias", 1, (int64_t[]){rows}, NULL));
    CHECK_OK(cg_nn_params_alloc(P));
}

static long file_len(const char *p) { return (long)cg_file_size(p); }

/* Copy src to dst, keeping the first `keep` bytes (-1: all), optionally flipping byte `flip`. */
static void mangle(const char *src, const char *dst, long keep, long flip, unsigned char x) {
    FILE *f = fopen(src, "rb");
    long n = file_len(src);
    unsigned char *b = malloc((size_t)n);
    CHECK(fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    if (flip >= 0) b[flip] ^= x;
    f = fopen(dst, "wb");
    fwrite(b, 1, (size_t)(keep < 0 ? n : keep), f);
    fclose(f);
    free(b);
}

static void test_checkpoint(void) {
    const char *dir = cg_test_tmpdir("nn_ckpt");
    char *path = cg_path_join(dir, "model.ckpt"), *bad = cg_path_join(dir, "bad.ckpt");
    cg_nn_params A, B;
    build(&A, "l0.weight", 4);
    build(&B, "l0.weight", 4);
    cg_rng r;
    cg_rng_init(&r, 5, CG_RNG_STREAM_USER, 0);
    for (int t = 0; t < A.n_tensors; t++) /* values only: the padding between views stays 0 */
        for (size_t j = 0; j < A.tensors[t].count; j++) {
            size_t i = A.tensors[t].offset + j;
            A.param[i] = (float)cg_rng_normal(&r), A.m[i] = (float)cg_rng_normal(&r), A.v[i] = (float)cg_rng_uniform(&r);
        }
    A.param[3] = -0.0f, A.param[4] = 1e-42f; /* signed zero and a subnormal survive */
    CHECK_OK(cg_nn_params_enable_ema(&A));
    A.ema[1] = 123.0f;
    A.step = 77;
    CHECK_OK(cg_nn_params_enable_ema(&B));
    const char cfg[] = "hidden=5";
    CHECK_OK(cg_nn_checkpoint_save(path, &A, CG_NN_CKPT_WITH_OPTIM | CG_NN_CKPT_WITH_EMA, cfg, sizeof cfg));
    CHECK_OK(cg_nn_checkpoint_load(path, &B, cfg, sizeof cfg));
    CHECK(!memcmp(A.param, B.param, A.count * 4) && !memcmp(A.m, B.m, A.count * 4));
    CHECK(!memcmp(A.v, B.v, A.count * 4) && !memcmp(A.ema, B.ema, A.count * 4) && B.step == 77);
    char got[32] = {0};
    uint32_t nb = 0;
    CHECK_OK(cg_nn_checkpoint_read_config(path, got, sizeof got, &nb));
    CHECK(nb == sizeof cfg && !strcmp(got, cfg));

    CHECK_FAILS(cg_nn_checkpoint_load(path, &B, "hidden=6", sizeof cfg), CG_ERR_FORMAT, "configuration differs");
    cg_nn_params C;
    build(&C, "l0.w", 4);
    CHECK_FAILS(cg_nn_checkpoint_load(path, &C, NULL, 0), CG_ERR_FORMAT, "is 'l0.weight' in the checkpoint but 'l0.w'");
    cg_nn_params_free(&C);
    build(&C, "l0.weight", 3);
    CHECK_FAILS(cg_nn_checkpoint_load(path, &C, NULL, 0), CG_ERR_FORMAT, "shape [4, 5] in the checkpoint but [3, 5]");
    cg_nn_params_free(&C);
    cg_nn_params_init(&C);
    CHECK_OK(cg_nn_params_add(&C, "x", 1, (int64_t[]){2}, NULL));
    CHECK_OK(cg_nn_params_alloc(&C));
    CHECK_FAILS(cg_nn_checkpoint_load(path, &C, NULL, 0), CG_ERR_FORMAT, "holds 2 tensors, the model has 1");
    cg_nn_params_free(&C);

    long n = file_len(path);
    mangle(path, bad, -1, 0, 0x20);
    CHECK_FAILS(cg_nn_checkpoint_load(bad, &B, NULL, 0), CG_ERR_FORMAT, "wrong magic");
    mangle(path, bad, -1, 8, 0x02); /* version 1 -> 3 */
    CHECK_FAILS(cg_nn_checkpoint_load(bad, &B, NULL, 0), CG_ERR_FORMAT, "version 3, this build reads version 1");
    long cuts[] = {0, 5, 20, 40, 70, n - 100, n - 9, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        mangle(path, bad, cuts[i], -1, 0);
        CHECK_FAILS(cg_nn_checkpoint_load(bad, &B, NULL, 0), CG_ERR_FORMAT, "truncated");
    }
    mangle(path, bad, -1, n - 30, 0x01);
    CHECK_FAILS(cg_nn_checkpoint_load(bad, &B, NULL, 0), CG_ERR_FORMAT, "checksum mismatch");
    FILE *f = fopen(bad, "wb");
    fclose(f);
    mangle(path, bad, -1, -1, 0);
    f = fopen(bad, "ab");
    fputc(0, f);
    fclose(f);
    CHECK_FAILS(cg_nn_checkpoint_load(bad, &B, NULL, 0), CG_ERR_FORMAT, "unexpected bytes");
    CHECK_FAILS(cg_nn_checkpoint_load("/nonexistent/x.ckpt", &B, NULL, 0), CG_ERR_IO, NULL);
    /* params-only checkpoint into a store with EMA: params load, EMA untouched */
    CHECK_OK(cg_nn_checkpoint_save(path, &A, CG_NN_CKPT_PARAMS, NULL, 0));
    CHECK_OK(cg_nn_checkpoint_load(path, &B, NULL, 0));
    CHECK(!memcmp(A.param, B.param, A.count * 4));
    cg_nn_params_free(&A);
    cg_nn_params_free(&B);
    free(path), free(bad);
}

int main(void) {
    test_adam(0);
    test_adam(1);
    test_schedule_clip_ema();
    test_init();
    test_checkpoint();
    return cg_test_finish();
}
