/* Score module unit tests (issue 8):
 *  1. EDM preconditioning coefficients equal Karras et al. 2022 Table 1 (and lambda c_out^2 = 1).
 *  2. The sampler's sigma schedule equals Eq. 5 written out independently (rho = 7, 0.002..80).
 *  3. Gradient check of the U-Net through the preconditioned, weighted loss: every parameter
 *     tensor (sampled points) and the noisy input, against central differences of the double
 *     loss. h = 5e-3, pass |a - n| <= 2e-5 + 2e-2 max(|a|, |n|) (SiLU and group norm are smooth;
 *     the float network limits the difference quotient to ~1e-6).
 *  4. The SDS step's back-projection is the exact adjoint of its projection:
 *     |<P_A v, y> - <v, P_A^T y>| <= 1e-5 |<P_A v, y>| for random A, v, y.
 *     With the image's CTF (cg_sds_identity_project/backproject, the operator pair of the
 *     identity view when the data have a CTF): |<H P v, y> - <v, P^T H y>| <= 1e-5 |<H P v, y>|,
 *     H not the identity (|H P v - P v| >= 0.1 |P v|); and data-only SDS (no random views) with
 *     that CTF fits an image made as H P v0: |H P v - img| after 600 steps <= 1% of |img|,
 *     while the same run without the CTF leaves >= 10% (it fits P v = img, the wrong model).
 *  5. A denoiser trained on ONE image reproduces it at small sigma: after 500 Adam steps,
 *     rms(D(x; s) - x) / rms(x) <= 0.02 at s = 0.01 (measured 0.0094 with 2 threads), i.e. the
 *     preconditioned denoiser is the identity (c_skip -> 1) plus a learned correction that stays
 *     small; and at s = 1 it pulls a noisy copy closer to the image than the noise was.
 *  6. The radial power spectrum used to compare samples with data is flat and equal to the
 *     variance for white noise (within 10% per shell).
 *  7. The training learning-rate schedule: linear warm-up, constant until the decay start, then
 *     cosine / linear to lr_min at the last step, equal to the formulas written out here.
 */
#include <math.h>

#include "cryogen/ctf.h"
#include "cryogen/geom.h"
#include "cryogen/project.h"
#include "cryogen/score.h"
#include "testutil.h"

static void test_precond(void) {
    double sd = 0.5;
    double sig[] = {0.002, 0.1, 0.5, 1.0, 80.0};
    for (int i = 0; i < 5; i++) {
        double s = sig[i];
        cg_edm_precond p = cg_edm_precond_at(s, sd);
        CHECK_CLOSE(p.c_skip, sd * sd / (s * s + sd * sd), 0, 1e-12);
        CHECK_CLOSE(p.c_out, s * sd / sqrt(s * s + sd * sd), 0, 1e-12);
        CHECK_CLOSE(p.c_in, 1 / sqrt(s * s + sd * sd), 0, 1e-12);
        CHECK_CLOSE(p.c_noise, 0.25 * log(s), 1e-15, 1e-12);
        CHECK_CLOSE(p.weight * p.c_out * p.c_out, 1.0, 0, 1e-12);
    }
}

static void test_schedule(void) {
    int N = 18;
    double t[19];
    cg_edm_sigma_schedule(t, N, 0.002, 80, 7);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double want = pow(pow(80, 1 / 7.0) + i / 17.0 * (pow(0.002, 1 / 7.0) - pow(80, 1 / 7.0)), 7);
        worst = fmax(worst, fabs(t[i] - want) / want);
    }
    CHECK_CLOSE(t[0], 80, 0, 1e-12);
    CHECK_CLOSE(t[N - 1], 0.002, 0, 1e-12);
    CHECK(t[N] == 0);
    CHECK_MSG(worst < 1e-12, "schedule relative error %.3g", worst);
    printf("schedule: 18 steps, 80 .. 0.002, max relative error vs Eq. 5 %.2e\n", worst);
}

static void test_lr_schedule(void) {
    cg_score_train_config tc;
    cg_score_train_defaults(&tc);
    tc.steps = 1000, tc.lr = 2e-3f, tc.warmup = 100, tc.lr_min = 1e-5f, tc.decay_start = 600;
    double worst = 0;
    for (int d = CG_NN_LR_CONSTANT; d <= CG_NN_LR_COSINE; d++) {
        tc.lr_decay = d;
        for (int64_t k = 0; k <= tc.steps; k++) {
            double want = 2e-3;
            if (k < 100) want = 2e-3 * (double)(k + 1) / 100;
            else if (k >= 600 && d != CG_NN_LR_CONSTANT) {
                double p = (double)(k - 600) / 400;
                double f = d == CG_NN_LR_LINEAR ? 1 - p : 0.5 * (1 + cos(M_PI * p));
                want = 1e-5 + (2e-3 - 1e-5) * f;
            }
            worst = fmax(worst, fabs(cg_score_lr_at(&tc, k) - want) / want);
        }
    }
    CHECK_MSG(worst < 1e-6, "learning-rate schedule relative error %.3g", worst);
    tc.lr_decay = CG_NN_LR_COSINE;
    CHECK_CLOSE(cg_score_lr_at(&tc, 599), 2e-3, 0, 1e-6); /* float */
    CHECK_CLOSE(cg_score_lr_at(&tc, 1000), 1e-5, 0, 1e-6);
    tc.decay_start = 0; /* decay starts right after the warm-up */
    CHECK_CLOSE(cg_score_lr_at(&tc, 100), 2e-3, 0, 1e-6);
    CHECK(cg_score_lr_at(&tc, 101) < cg_score_lr_at(&tc, 100));
    printf("lr schedule: warm-up, constant, linear/cosine decay to lr_min; max relative error %.2e\n", worst);
}

static cg_score_config tiny_config(int D) {
    cg_score_config c;
    cg_score_config_default(&c, D);
    c.base_channels = 4;
    c.ch_mult[0] = 1, c.ch_mult[1] = 2, c.ch_mult[2] = 2;
    c.emb_dim = 8;
    c.groups = 2;
    return c;
}

static void test_gradcheck(int res_blocks, int attn_levels) {
    enum { D = 8, B = 2, S = D * D };
    cg_score_config c = tiny_config(D);
    c.res_blocks = res_blocks;
    c.attn_levels = attn_levels;
    cg_score_net *net;
    CHECK_OK(cg_score_net_create(&net, &c, 11));
    CHECK_OK(cg_score_net_reserve(net, B));
    cg_nn_params *P = cg_score_net_params(net);
    /* non-trivial norm affine parameters and attention projections (which start at zero) so
     * that their gradients, and those of everything behind them, are exercised */
    cg_rng g;
    cg_rng_init(&g, 3, CG_RNG_STREAM_USER, 0);
    for (int i = 0; i < P->n_tensors; i++)
        if (strstr(P->tensors[i].name, ".norm.") || strstr(P->tensors[i].name, ".attn.proj."))
            for (size_t k = 0; k < P->tensors[i].count; k++)
                cg_nn_param(P, i)[k] += (float)(0.5 * (cg_rng_uniform(&g) - 0.5));
    float y[B * S], noise[B * S], dy[B * S], sigma[B] = {0.3f, 2.0f};
    for (int i = 0; i < B * S; i++) y[i] = (float)cg_rng_normal(&g) * 0.5f, noise[i] = (float)cg_rng_normal(&g);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < S; i++) noise[b * S + i] *= sigma[b];
    double L0;
    cg_nn_params_zero_grad(P);
    memset(dy, 0, sizeof dy);
    CHECK_OK(cg_score_loss(net, &L0, y, noise, sigma, B, 1, dy));
    /* the loss is a function of theta and of z = y + noise; perturb z through `noise` */
    float *grad = malloc(sizeof(float) * P->count);
    memcpy(grad, P->grad, sizeof(float) * P->count);
    double h = 5e-3, worst = 0;
    int checked = 0, fails = 0;
    for (int t = 0; t <= P->n_tensors; t++) {
        size_t n = t < P->n_tensors ? P->tensors[t].count : (size_t)B * S;
        int pts = n < 6 ? (int)n : 6;
        for (int p = 0; p < pts; p++) {
            size_t k = (size_t)cg_rng_below(&g, n);
            float *x = t < P->n_tensors ? cg_nn_param(P, t) + k : noise + k;
            double a = t < P->n_tensors ? grad[P->tensors[t].offset + k] : dy[k];
            float x0 = *x, xp = (float)(x0 + h), xm = (float)(x0 - h);
            double Lp, Lm;
            *x = xp;
            cg_score_loss(net, &Lp, y, noise, sigma, B, 0, NULL);
            *x = xm;
            cg_score_loss(net, &Lm, y, noise, sigma, B, 0, NULL);
            *x = x0;
            double num = (Lp - Lm) / ((double)xp - (double)xm);
            /* d loss / d z = d loss / d noise; the analytic dy is with respect to z = y + noise */
            double err = fabs(a - num), tol = 2e-5 + 2e-2 * fmax(fabs(a), fabs(num));
            if (err / tol > worst) worst = err / tol;
            checked++;
            if (err > tol) {
                if (fails++ < 5)
                    fprintf(stderr, "  d/d%s[%zu]: analytic %.8g numeric %.8g\n",
                            t < P->n_tensors ? P->tensors[t].name : "input", k, a, num);
            }
        }
    }
    CHECK_MSG(fails == 0, "%d of %d gradient points off", fails, checked);
    printf("gradcheck U-Net (%d residual blocks per stage, attention at %d levels) + EDM loss: %d points over %d "
           "tensors + input, loss %.5f, worst err/tol %.3f\n", res_blocks, attn_levels, checked, P->n_tensors, L0, worst);
    free(grad);
    cg_score_net_destroy(net);
}

static void test_adjoint(void) {
    enum { D = 16 };
    float *v = malloc(sizeof(float) * D * D * D), *bt = calloc(D * D * D, sizeof(float));
    float y[D * D], pv[D * D];
    cg_rng g;
    cg_rng_init(&g, 5, CG_RNG_STREAM_USER, 0);
    for (int i = 0; i < D * D * D; i++) v[i] = (float)cg_rng_normal(&g);
    for (int trial = 0; trial < 3; trial++) {
        double A[9], rot, tilt, psi;
        cg_random_euler(&g, &rot, &tilt, &psi);
        cg_euler_to_matrix(rot, tilt, psi, A);
        if (trial == 0) memcpy(A, (double[9]){1, 0, 0, 0, 1, 0, 0, 0, 1}, sizeof A);
        for (int i = 0; i < D * D; i++) y[i] = (float)cg_rng_normal(&g);
        memset(bt, 0, sizeof(float) * D * D * D);
        cg_project_real(v, D, A, pv);
        cg_project_real_adjoint(y, D, A, bt);
        double l = 0, r = 0;
        for (int i = 0; i < D * D; i++) l += (double)pv[i] * y[i];
        for (int i = 0; i < D * D * D; i++) r += (double)v[i] * bt[i];
        CHECK_MSG(fabs(l - r) <= 1e-5 * fabs(l), "<Pv,y> = %.9g, <v,P^T y> = %.9g", l, r);
        printf("adjoint (view %d): <Pv,y> %.6f <v,P^T y> %.6f rel %.2e\n", trial, l, r, fabs(l - r) / fabs(l));
    }
    free(v), free(bt);
}

static double sq(double x) { return x * x; }

static void test_ctf_identity_view(void) {
    enum { D = 16 };
    size_t V = (size_t)D * D * D, S = (size_t)D * D;
    float *v = malloc(sizeof(float) * V), *bt = calloc(V, sizeof(float)), *vol = malloc(sizeof(float) * V);
    float y[D * D], hpv[D * D], pv[D * D], ctf[D * (D / 2 + 1)];
    cg_ctf_params cp = cg_ctf_params_default();
    cp.defocus_u_A = 9000, cp.defocus_v_A = 8000, cp.defocus_angle_rad = 0.6;
    cg_ctf c;
    CHECK(cg_ctf_init(&c, &cp) == CG_OK);
    cg_ctf_fill_half_masked(&c, D, 3.0, 0.5 * D, ctf);
    cg_rng g;
    cg_rng_init(&g, 9, CG_RNG_STREAM_USER, 0);
    for (size_t i = 0; i < V; i++) v[i] = (float)cg_rng_normal(&g);
    for (size_t i = 0; i < S; i++) y[i] = (float)cg_rng_normal(&g);
    CHECK(cg_sds_identity_project(v, D, ctf, hpv) == CG_OK);
    CHECK(cg_sds_identity_project(v, D, NULL, pv) == CG_OK);
    CHECK(cg_sds_identity_backproject(y, D, ctf, bt) == CG_OK);
    double l = 0, r = 0, dn = 0, pn = 0;
    for (size_t i = 0; i < S; i++) l += (double)hpv[i] * y[i], dn += sq(hpv[i] - pv[i]), pn += sq(pv[i]);
    for (size_t i = 0; i < V; i++) r += (double)v[i] * bt[i];
    printf("CTF identity view: <HPv,y> %.6f <v,P^T H y> %.6f rel %.2e; |HPv - Pv| / |Pv| %.3f\n", l, r,
           fabs(l - r) / fabs(l), sqrt(dn / pn));
    CHECK_MSG(fabs(l - r) <= 1e-5 * fabs(l), "<HPv,y> = %.9g, <v,P^T H y> = %.9g", l, r);
    CHECK_MSG(sqrt(dn / pn) >= 0.1, "the CTF filter is nearly the identity (%.3g)", sqrt(dn / pn));

    /* data-only SDS against an image made through the CTF */
    cg_score_config cfg;
    cg_score_config_default(&cfg, D);
    cg_score_net *net = NULL;
    CHECK(cg_score_net_create(&net, &cfg, 1) == CG_OK);
    cg_sds_config sc;
    cg_sds_defaults(&sc);
    sc.n_random = 0, sc.steps = 600;
    for (int with = 1; net && with >= 0; with--) {
        sc.ctf_half = with ? ctf : NULL;
        CHECK(cg_sds_reconstruct(net, &sc, hpv, 0, vol, NULL) == CG_OK);
        CHECK(cg_sds_identity_project(vol, D, ctf, pv) == CG_OK); /* the true forward model */
        double e = 0, n = 0;
        for (size_t i = 0; i < S; i++) e += sq(pv[i] - hpv[i]), n += sq(hpv[i]);
        double ratio = sqrt(e / n);
        printf("data-only SDS on a CTF image, %s CTF: |HPv - img| / |img| %.3g\n", with ? "with" : "without", ratio);
        if (with) CHECK_MSG(ratio <= 0.01, "with the CTF the residual stays at %.3g of the initial", ratio);
        else CHECK_MSG(ratio >= 0.1, "without the CTF the residual drops to %.3g: the test cannot tell", ratio);
    }
    cg_score_net_destroy(net);
    free(v), free(bt), free(vol);
}

/* One image, tiny net: the preconditioned denoiser approaches the identity at small sigma. */
static void test_identity(void) {
    enum { D = 16, S = D * D, B = 8, STEPS = 500 };
    cg_score_config c = tiny_config(D);
    cg_score_net *net;
    CHECK_OK(cg_score_net_create(&net, &c, 2));
    CHECK_OK(cg_score_net_reserve(net, B));
    cg_nn_params *P = cg_score_net_params(net);
    float img[S], y[B * S], noise[B * S], sigma[B], out[S], xn[S];
    for (int j = 0; j < D; j++)
        for (int i = 0; i < D; i++) {
            double dx = i - D / 2 + 2, dy = j - D / 2 - 1;
            img[j * D + i] = (float)(2 * exp(-(dx * dx + 2 * dy * dy) / 10) - 0.4);
        }
    cg_nn_adam_config opt = cg_nn_adam_defaults();
    cg_rng g;
    for (int step = 0; step < STEPS; step++) {
        for (int b = 0; b < B; b++) {
            cg_rng_init(&g, 9, CG_RNG_STREAM_USER, (uint64_t)(step * B + b));
            sigma[b] = (float)exp(-1.2 + 1.2 * cg_rng_normal(&g));
            for (int i = 0; i < S; i++) y[b * S + i] = img[i], noise[b * S + i] = sigma[b] * (float)cg_rng_normal(&g);
        }
        double L;
        cg_nn_params_zero_grad(P);
        CHECK_OK(cg_score_loss(net, &L, y, noise, sigma, B, 1, NULL));
        cg_nn_adam_step(P, &opt, 3e-3f);
    }
    double rms_img = 0;
    for (int i = 0; i < S; i++) rms_img += (double)img[i] * img[i];
    rms_img = sqrt(rms_img / S);
    double s_list[2] = {0.01, 1.0}, rel[2], rel_noise[2];
    for (int k = 0; k < 2; k++) {
        cg_rng_init(&g, 10, CG_RNG_STREAM_USER, (uint64_t)k);
        /* sigma 0.01: the clean image itself (D(x; s) -> x as s -> 0); sigma 1: a noisy copy */
        for (int i = 0; i < S; i++) xn[i] = img[i] + (k ? (float)(s_list[k] * cg_rng_normal(&g)) : 0.0f);
        float sg = (float)s_list[k];
        CHECK_OK(cg_score_denoise(net, out, xn, &sg, 1));
        double e = 0, en = 0;
        for (int i = 0; i < S; i++) e += (out[i] - img[i]) * (double)(out[i] - img[i]), en += (xn[i] - img[i]) * (double)(xn[i] - img[i]);
        rel[k] = sqrt(e / S) / rms_img, rel_noise[k] = sqrt(en / S) / rms_img;
    }
    printf("identity: sigma 0.01: rms(D(x)-x)/rms(x) = %.5f; sigma 1: rms(D(x+n)-x)/rms(x) = %.4f (noise %.4f)\n",
           rel[0], rel[1], rel_noise[1]);
    (void)rel_noise[0];
    CHECK_MSG(rel[0] <= 0.02, "denoiser at sigma 0.01 is off the identity by %.4f (tolerance 0.02)", rel[0]);
    CHECK_MSG(rel[1] < 0.5 * rel_noise[1], "denoiser at sigma 1 leaves %.4f of %.4f", rel[1], rel_noise[1]);
    cg_score_net_destroy(net);
}

/* White noise of variance s^2 has a flat radial power spectrum equal to s^2 (Parseval with the
 * |F|^2 / D^2 normalisation): 400 images of 16^2, every shell 1..7 within 10% (the sparsest
 * shell holds >= 8 x 400 coefficients, relative standard error <= 2.5%). */
static void test_radial_power(void) {
    enum { D = 16, N = 400 };
    float *img = malloc(sizeof(float) * N * D * D);
    cg_rng g;
    cg_rng_init(&g, 21, CG_RNG_STREAM_USER, 0);
    for (int i = 0; i < N * D * D; i++) img[i] = (float)(0.7 * cg_rng_normal(&g));
    double p[D / 2 + 1], worst = 0;
    CHECK_OK(cg_score_radial_power(img, N, D, 0, p));
    for (int r = 1; r < D / 2; r++) worst = fmax(worst, fabs(p[r] / 0.49 - 1));
    CHECK_MSG(worst < 0.10, "white-noise spectrum off by %.3f", worst);
    printf("radial power of white noise (s^2 = 0.49): shells 1..7 within %.3f relative\n", worst);
    free(img);
}

int main(void) {
    cg_set_threads(2);
    test_precond();
    test_schedule();
    test_gradcheck(0, 0);
    test_gradcheck(2, 0);
    test_gradcheck(1, 2);
    test_adjoint();
    test_ctf_identity_view();
    test_identity();
    test_radial_power();
    test_lr_schedule();
    return cg_test_finish();
}
