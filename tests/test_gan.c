/* CryoGAN (include/cryogen/gan.h): gradients and a short training run.
 *  1. Simulator adjoint: <M P v, y> = <v, P^T M^T y> with CTF, shift and low-pass (rtol 1e-4),
 *     and the gradient of 0.5 |sim(v) - t|^2 at 8 voxels against central differences
 *     (the map is linear, so the difference is exact up to rounding; tol 1e-3 of max + 1e-3 rel).
 *  2. The gradient penalty's parameter gradient (cg_nn_gradient_penalty on OUR critic) against
 *     central differences of the penalty (float critic, penalty summed in double, h = 1e-3;
 *     float rounding of the input gradients limits this to about 1e-2 relative); entries
 *     whose left and right differences jump (an activation or max-pool winner changing
 *     within +-h) are skipped, at most 1 in 6. Tolerance 2e-3 max + 1e-2 rel.
 *  3. Generator gradient (critic input gradient through the simulator adjoint) against central
 *     differences of -mean D(sim(V) + noise) at 8 voxels (tol 2e-3 max + 2e-2 rel).
 *  4. D = 16 toy problem (two Gaussian blobs, CTF, noise): a fresh critic's Wasserstein
 *     estimate between data and simulated images is lower after 60 generator steps than at V = 0
 *     (measured 0.129 -> 0.044; asserted < 0.7x). The result aligned onto the truth
 *     (cg_align_volumes, both hands) is only PRINTED, with a centred Gaussian blob as a
 *     baseline: on this blob-like toy truth the blob scores as well as the 60-step result
 *     (correlation 0.881 vs 0.883, FSC area 0.287 vs 0.264), so no reconstruction-quality claim
 *     is asserted here; bench/gan.md has the D = 32 molecule run with its own baseline.
 *  5. Multi-CryoGAN generator (3D CNN, latent -> volume): its parameter gradient of
 *     sum w . G(z) against differences (2 entries per tensor, h = 2e-3, tol 1e-3 max + 1e-2
 *     rel), and the full generator loss -mean D(sim(G(z)) + noise) through the critic and the
 *     simulator adjoint against differences in the parameters (tol 2e-3 max + 2e-2 rel).
 *     Both functions are piecewise smooth (LeakyReLU, max pooling): where the left and right
 *     differences disagree (a kink within +-h) the derivative must match the one-sided
 *     difference of the kink-free side (fd_ratio); at most half of the entries may be kinks.
 *  6. Path clustering (cg_gan_path_clusters) on block matrices with known cuts (2 and 3
 *     blocks, with deterministic perturbations): the cuts and the proportions of the latent
 *     interval are recovered exactly.
 *  7. Generator EMA (cfg.ema_decay): after each step it equals the recurrence
 *     e = d e + (1 - d) w applied to the live volumes (rtol 1e-6), cg_gan_swap_ema exchanges
 *     and restores; a run saved after 2 steps and resumed for 1 gives the same EMA bytes as 3
 *     uninterrupted steps; resuming with the EMA on from a checkpoint without one starts it at
 *     the loaded weights.
 * References: Gupta et al., "CryoGAN", IEEE TCI 2021; Gulrajani et al. 2017; Gupta et al.,
 * "Multi-CryoGAN", 2020. */
#include "cryogen/gan.h"
#include "cryogen/geom.h"
#include "cryogen/image.h"
#include "cryogen/metrics.h"
#include "testutil.h"

enum { D = 16 };
static const double PX = 4.0;

static void blob_volume(float *v) {
    const double c = D / 2;
    for (int z = 0; z < D; z++)
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++) {
                double a = (x - c - 2) * (x - c - 2) + (y - c) * (y - c) + (z - c - 1) * (z - c - 1);
                double b = (x - c + 2.5) * (x - c + 2.5) + (y - c - 1.5) * (y - c - 1.5) + (z - c) * (z - c);
                v[(z * D + y) * D + x] = (float)(exp(-a / 4.0) + 0.6 * exp(-b / 2.0));
            }
}

static cg_sim_particle particle(uint64_t i) {
    cg_sim_particle p;
    memset(&p, 0, sizeof p);
    cg_rng r;
    cg_rng_init(&r, 11, CG_RNG_STREAM_POSE, i);
    cg_random_euler(&r, &p.euler_rad[0], &p.euler_rad[1], &p.euler_rad[2]);
    p.ctf = cg_ctf_params_default();
    p.ctf.defocus_u_A = 8000 + 3000 * cg_rng_uniform(&r);
    p.ctf.defocus_v_A = p.ctf.defocus_u_A - 300;
    p.ctf.defocus_angle_rad = 0.7;
    p.origin_A[0] = 4.0 * cg_rng_normal(&r), p.origin_A[1] = 4.0 * cg_rng_normal(&r);
    return p;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static void test_sim(void) {
    cg_gan_sim *s;
    CHECK_OK(cg_gan_sim_create(&s, D, PX));
    float *v = malloc(sizeof(float) * D * D * D), *pt = calloc(D * D * D, sizeof(float)), img[D * D], y[D * D], t[D * D];
    cg_rng r;
    cg_rng_init(&r, 5, CG_RNG_STREAM_USER, 0);
    for (int i = 0; i < D * D * D; i++) v[i] = (float)cg_rng_uniform(&r);
    for (int i = 0; i < D * D; i++) y[i] = (float)cg_rng_normal(&r), t[i] = (float)cg_rng_normal(&r);
    const double radii[2] = {D / 2.0, 3.5};
    for (int k = 0; k < 2; k++) {
        cg_sim_particle p = particle(k);
        memset(pt, 0, sizeof(float) * D * D * D);
        CHECK_OK(cg_gan_sim_forward(s, 0, v, &p, 1, radii[k], img));
        CHECK_OK(cg_gan_sim_adjoint(s, 1, y, &p, 1, radii[k], pt));
        double lhs = dot(img, y, D * D), rhs = dot(v, pt, D * D * D);
        printf("adjoint (r_lp %.1f px): <Mv, y> = %.8g, <v, M^T y> = %.8g\n", radii[k], lhs, rhs);
        CHECK_CLOSE(lhs, rhs, 1e-6 * fabs(lhs), 1e-4);
    }
    /* gradient of 0.5 |sim(v) - t|^2 against central differences at 8 voxels */
    cg_sim_particle p = particle(7);
    CHECK_OK(cg_gan_sim_forward(s, 0, v, &p, 1, D / 2.0, img));
    for (int i = 0; i < D * D; i++) y[i] = img[i] - t[i];
    memset(pt, 0, sizeof(float) * D * D * D);
    CHECK_OK(cg_gan_sim_adjoint(s, 0, y, &p, 1, D / 2.0, pt));
    double gmax = 0;
    for (int i = 0; i < D * D * D; i++) gmax = fmax(gmax, fabs(pt[i]));
    double worst = 0;
    for (int k = 0; k < 8; k++) {
        int vox = ((6 + k % 4) * D + 5 + k) * D + 6 + (k * 3) % 5;
        const float h = 0.25f, v0 = v[vox];
        double L[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            v[vox] = v0 + (sgn ? -h : h);
            cg_gan_sim_forward(s, 0, v, &p, 1, D / 2.0, img);
            double l = 0;
            for (int i = 0; i < D * D; i++) l += 0.5 * ((double)img[i] - t[i]) * ((double)img[i] - t[i]);
            L[sgn] = l;
        }
        v[vox] = v0;
        double num = (L[0] - L[1]) / (2 * h), err = fabs(num - pt[vox]);
        worst = fmax(worst, err / (1e-3 * gmax + 1e-3 * fabs(num)));
        CHECK_MSG(err <= 1e-3 * gmax + 1e-3 * fabs(num), "voxel %d: adjoint %.7g, difference %.7g", vox, pt[vox], num);
    }
    printf("simulator gradient: 8 voxels, worst err/tol %.3f (max |grad| %.4g)\n", worst, gmax);
    free(v), free(pt);
    cg_gan_sim_destroy(s);
}

static double penalty_of(cg_gan_critic *c, const float *x, int B, float *gx) {
    cg_gan_critic_set_batch(c, B);
    cg_gan_critic_fn(c, x, gx, NULL);
    double P = 0;
    for (int b = 0; b < B; b++) {
        double n2 = 0;
        for (int i = 0; i < D * D; i++) n2 += (double)gx[b * D * D + i] * gx[b * D * D + i];
        P += (sqrt(n2) - 1) * (sqrt(n2) - 1);
    }
    return 10.0 * P / B;
}

static void test_gp(void) {
    enum { B = 4 };
    cg_gan_critic_config cc = {.D = D, .channels = 4, .n_blocks = 0, .slope = 0.2f};
    cg_gan_critic *c;
    CHECK_OK(cg_gan_critic_create(&c, &cc, B, 3));
    cg_nn_params *P = cg_gan_critic_params(c);
    float x[B * D * D], gx[B * D * D];
    cg_rng r;
    cg_rng_init(&r, 9, CG_RNG_STREAM_USER, 1);
    for (int i = 0; i < B * D * D; i++) x[i] = (float)cg_rng_normal(&r);
    cg_nn_gp_config gc = {.lambda = 10.0f, .rel_step = 1e-3f};
    float *scratch = malloc(sizeof(float) * cg_nn_gradient_penalty_scratch_floats(B, D * D, P->count));
    float *grad = calloc(P->count, sizeof(float));
    double pen;
    cg_gan_critic_set_batch(c, B);
    CHECK_OK(cg_nn_gradient_penalty(&pen, grad, P->count, cg_gan_critic_fn, c, x, B, D * D, &gc, scratch));
    double p0 = penalty_of(c, x, B, gx);
    CHECK_CLOSE(pen, p0, 0, 1e-5);
    double *num = calloc(P->count, sizeof(double)), *jump = calloc(P->count, sizeof(double)), nmax = 0;
    char *ok = calloc(P->count, 1);
    int checked = 0, skipped = 0;
    for (int t = 0; t < P->n_tensors; t++)
        for (size_t j = 0; j < P->tensors[t].count; j++) {
            size_t k = P->tensors[t].offset + j;
            const float h = 1e-3f, t0 = P->param[k];
            P->param[k] = t0 + h;
            double Pp = penalty_of(c, x, B, gx);
            P->param[k] = t0 - h;
            double Pm = penalty_of(c, x, B, gx);
            P->param[k] = t0;
            num[k] = (Pp - Pm) / (2 * h);
            jump[k] = fabs((Pp - p0) / h - (p0 - Pm) / h); /* right minus left difference */
            nmax = fmax(nmax, fabs(num[k]));
        }
    /* a kink (activation pattern or max-pool winner changing within +-h) shows as a jump
     * between the one-sided differences far above the smooth curvature term h P'' */
    for (size_t k = 0; k < P->count; k++) {
        if (jump[k] > 0.2 * fabs(num[k]) + 2e-3 * nmax) { skipped++; continue; }
        ok[k] = 1, checked++;
    }
    double worst = 0;
    int bad = 0;
    for (size_t k = 0; k < P->count; k++) {
        if (!ok[k]) continue;
        double err = fabs(grad[k] - num[k]), tol = 2e-3 * nmax + 1e-2 * fabs(num[k]);
        worst = fmax(worst, err / tol);
        if (err > tol && bad++ < 5) fprintf(stderr, "  dP/dtheta[%zu] = %.7g, difference %.7g\n", k, grad[k], num[k]);
    }
    CHECK_MSG(bad == 0, "%d of %d penalty-gradient entries off", bad, checked);
    CHECK(skipped * 5 <= checked);
    printf("gradient penalty %.6g; %d critic parameters checked, %d skipped at kinks, worst err/tol %.3f\n", pen,
           checked, skipped, worst);
    free(scratch), free(grad), free(num), free(jump), free(ok);
    cg_gan_critic_destroy(c);
}

/* Toy dataset: n images of the blob volume with CTF, shifts and noise sd 0.5. */
typedef struct {
    float *images, *truth;
    cg_ctf_params *ctf;
    double *origin;
    cg_gan_data data;
} toy;

static void make_toy(toy *T, int n) {
    T->images = malloc(sizeof(float) * n * D * D), T->truth = malloc(sizeof(float) * D * D * D);
    T->ctf = malloc(sizeof(cg_ctf_params) * n), T->origin = malloc(sizeof(double) * 2 * n);
    blob_volume(T->truth);
    cg_gan_sim *s;
    CHECK_OK(cg_gan_sim_create(&s, D, PX));
    for (int i = 0; i < n; i++) {
        cg_sim_particle p = particle(1000 + i);
        CHECK_OK(cg_gan_sim_forward(s, 0, T->truth, &p, 1, D / 2.0, T->images + i * D * D));
        cg_image_add_noise(T->images + i * D * D, D * D, 0.5, 77, i);
        T->ctf[i] = p.ctf, T->origin[2 * i] = p.origin_A[0], T->origin[2 * i + 1] = p.origin_A[1];
    }
    cg_gan_sim_destroy(s);
    T->data = (cg_gan_data){.n = n, .D = D, .pixel_size_A = PX, .images = T->images, .ctf = T->ctf, .origin_A = T->origin};
}

static void free_toy(toy *T) { free(T->images), free(T->truth), free(T->ctf), free(T->origin); }

static void test_generator_grad(const toy *T) {
    cg_gan_config cfg = cg_gan_config_default();
    cfg.batch = 6, cfg.critic.channels = 4;
    cg_gan *g;
    CHECK_OK(cg_gan_create(&g, &cfg, &T->data));
    float *v = malloc(sizeof(float) * D * D * D), *grad = malloc(sizeof(float) * D * D * D);
    memcpy(v, T->truth, sizeof(float) * D * D * D);
    double loss;
    CHECK_OK(cg_gan_generator_grad(g, v, 3, &loss, grad));
    double gmax = 0, worst = 0;
    for (int i = 0; i < D * D * D; i++) gmax = fmax(gmax, fabs(grad[i]));
    int skipped = 0;
    for (int k = 0; k < 8; k++) {
        int vox = ((5 + k % 5) * D + 6 + k) * D + 5 + (k * 3) % 6;
        const float h = 1e-2f, v0 = v[vox];
        double Lp, Lm, l0 = loss;
        float *tmp = malloc(sizeof(float) * D * D * D);
        v[vox] = v0 + h, cg_gan_generator_grad(g, v, 3, &Lp, tmp);
        v[vox] = v0 - h, cg_gan_generator_grad(g, v, 3, &Lm, tmp);
        v[vox] = v0;
        free(tmp);
        double num = (Lp - Lm) / (2 * h), dr = (Lp - l0) / h, dl = (l0 - Lm) / h;
        if (fabs(dr - dl) > 0.05 * (fabs(num) + 1e-3 * gmax)) { skipped++; continue; }
        double err = fabs(num - grad[vox]), tol = 2e-3 * gmax + 2e-2 * fabs(num);
        worst = fmax(worst, err / tol);
        CHECK_MSG(err <= tol, "voxel %d: gradient %.7g, difference %.7g", vox, grad[vox], num);
    }
    CHECK(skipped <= 2);
    printf("generator gradient: loss %.6g, 8 voxels (%d at kinks), worst err/tol %.3f, max |grad| %.4g\n", loss,
           skipped, worst, gmax);
    free(v), free(grad);
    cg_gan_destroy(g);
}

static void test_training(const toy *T) {
    cg_gan_config cfg = cg_gan_config_default();
    cfg.batch = 16, cfg.critic.channels = 8, cfg.lr_gen = 0.02f, cfg.lr_critic = 1e-3f, cfg.seed = 4;
    cg_gan *g, *m0, *m1;
    CHECK_OK(cg_gan_create(&g, &cfg, &T->data));
    printf("noise sd estimated %.4f (true 0.5)\n", cg_gan_noise_sd(g));
    CHECK(fabs(cg_gan_noise_sd(g) - 0.5) < 0.1);
    double t0 = cg_time_s();
    cg_gan_stats st;
    const int steps = 60;
    for (int s = 0; s < steps; s++) {
        CHECK_OK(cg_gan_step(g, &st));
        if (s % 20 == 0 || s == steps - 1)
            printf("  step %3lld  W %.4f  gp %.4f  L_G %.4f\n", (long long)st.gen_step, st.w_estimate, st.gp, st.gen_loss);
    }
    double dt = cg_time_s() - t0;
    /* fresh critics (same seed) trained for 40 steps against V = 0 and against the result */
    cfg.seed = 99;
    CHECK_OK(cg_gan_create(&m0, &cfg, &T->data));
    CHECK_OK(cg_gan_create(&m1, &cfg, &T->data));
    memcpy(cg_gan_volume(m1), cg_gan_volume(g), sizeof(float) * D * D * D);
    double w0, w1;
    CHECK_OK(cg_gan_critic_only(m0, 40, &w0));
    CHECK_OK(cg_gan_critic_only(m1, 40, &w1));
    double corr = 0, n1 = 0, n2 = 0;
    const float *v = cg_gan_volume(g);
    for (int i = 0; i < D * D * D; i++) corr += v[i] * T->truth[i], n1 += v[i] * v[i], n2 += T->truth[i] * T->truth[i];
    printf("training: %d generator steps in %.1f s (%.0f images/s); fresh-critic W: V=0 %.4f, trained %.4f; "
           "corr(V, truth) without alignment %.3f\n",
           steps, dt, steps * (cfg.n_critic * 2 + 1) * cfg.batch / dt, w0, w1, corr / sqrt(n1 * n2 + 1e-30));
    CHECK_MSG(w1 < 0.7 * w0, "W estimate did not fall: %.4f -> %.4f", w0, w1);
    /* the result against the truth after alignment (rotation, shift, either hand) */
    cg_align_params ap;
    cg_align_params_default(&ap);
    ap.n_rotations = 2000, ap.coarse_box = 16, ap.refine_box = 16;
    cg_align_result ar;
    float *al = malloc(sizeof(float) * D * D * D);
    CHECK_OK(cg_align_volumes(T->truth, v, D, PX, &ap, &ar));
    CHECK_OK(cg_align_apply(v, D, &ar, al));
    cg_fsc_result fr;
    memset(&fr, 0, sizeof fr);
    CHECK_OK(cg_fsc_compute(T->truth, al, D, PX, NULL, &fr));
    printf("aligned to the truth (%s): correlation %.3f (other hand %.3f), FSC area %.3f, FSC 0.5 at %.1f A "
           "(Nyquist %.0f A)\n", ar.mirrored ? "mirrored" : "same hand", ar.score, ar.score_other_hand, fr.area,
           fr.res_fsc05_A, 2 * PX);
    /* baseline: a centred isotropic Gaussian of the truth's mass, aligned the same way */
    const double c = D / 2;
    double mass = 0, bmass = 0;
    for (int i = 0; i < D * D * D; i++) mass += T->truth[i];
    for (int z = 0; z < D; z++)
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++)
                bmass += al[(z * D + y) * D + x] = (float)exp(-((x - c) * (x - c) + (y - c) * (y - c) + (z - c) * (z - c)) / 8.0);
    for (int i = 0; i < D * D * D; i++) al[i] *= (float)(mass / bmass);
    cg_align_result br;
    CHECK_OK(cg_align_volumes(T->truth, al, D, PX, &ap, &br));
    float *bal = malloc(sizeof(float) * D * D * D);
    CHECK_OK(cg_align_apply(al, D, &br, bal));
    cg_fsc_result fb;
    memset(&fb, 0, sizeof fb);
    CHECK_OK(cg_fsc_compute(T->truth, bal, D, PX, NULL, &fb));
    printf("baseline (centred Gaussian blob, sigma 2 px): aligned correlation %.3f, FSC area %.3f, FSC 0.5 at %.1f A\n",
           br.score, fb.area, fb.res_fsc05_A);
    cg_fsc_result_free(&fb);
    free(bal);
    cg_fsc_result_free(&fr);
    free(al);
    cg_gan_destroy(g), cg_gan_destroy(m0), cg_gan_destroy(m1);
}

/* err/tol of an analytic derivative g against differences of L at x0 - h, x0, x0 + h, for a
 * piecewise smooth L (LeakyReLU): with a kink inside [x0 - h, x0 + h] (left and right
 * differences disagree) the derivative at x0 is the one-sided difference on the kink-free
 * side, so the closest of the central and both one-sided differences is used; else the
 * central one. tol = atol + rtol |difference|. */
static double fd_ratio(double g, const double L[3], double h, double atol, double rtol, int *kink) {
    double num = (L[2] - L[0]) / (2 * h), dr = (L[2] - L[1]) / h, dl = (L[1] - L[0]) / h;
    double err = fabs(num - g), tol = atol + rtol * fabs(num);
    *kink = fabs(dr - dl) > 0.02 * fabs(num) + atol;
    if (*kink) {
        err = fmin(err, fmin(fabs(dl - g), fabs(dr - g)));
        tol = atol + rtol * fmax(fabs(dl), fabs(dr));
    }
    if (err > tol) printf("  derivative %.7g, differences central %.7g, left %.7g, right %.7g\n", g, num, dl, dr);
    return err / tol;
}

/* 5a: the generator network alone: L = sum_i w_i G(z)_i, w fixed. */
static void test_mgen_grad(void) {
    cg_gan_mgen_config mc = {.D = D, .zdim = 3, .channels = 8, .slope = 0.2f, .scale = 0.5f};
    cg_gan_mgen *m;
    const int B = 2;
    CHECK_OK(cg_gan_mgen_create(&m, &mc, B, 7));
    cg_nn_params *P = cg_gan_mgen_params(m);
    const size_t n = (size_t)B * D * D * D;
    float z[6] = {0.3f, -1.2f, 0.8f, -0.4f, 0.5f, 1.1f}, *vol = malloc(n * sizeof(float)), *w = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) w[i] = (float)sin(0.37 * (double)i) + 0.2f;
    CHECK_OK(cg_gan_mgen_forward(m, z, B, vol));
    double minv = 1e30;
    for (size_t i = 0; i < n; i++) minv = fmin(minv, vol[i]);
    CHECK_MSG(minv > 0, "generated volume not positive (min %g)", minv);
    cg_nn_params_zero_grad(P);
    CHECK_OK(cg_gan_mgen_backward(m, w, P->grad));
    double gmax = 0, worst = 0;
    for (size_t i = 0; i < P->count; i++) gmax = fmax(gmax, fabs(P->grad[i]));
    int checked = 0, skipped = 0;
    for (int t = 0; t < P->n_tensors; t++)
        for (int e = 0; e < 2; e++) {
            const cg_nn_tensor *T = &P->tensors[t];
            size_t idx = T->offset + (e ? T->count - 1 : T->count / 3);
            const float x0 = P->param[idx], h = 2e-3f * fmaxf(1.0f, fabsf(x0));
            double L[3];
            for (int k = 0; k < 3; k++) {
                P->param[idx] = x0 + (k - 1) * h;
                CHECK_OK(cg_gan_mgen_forward(m, z, B, vol));
                L[k] = dot(w, vol, n);
            }
            P->param[idx] = x0;
            int kink;
            double r = fd_ratio(P->grad[idx], L, h, 1e-3 * gmax, 1e-2, &kink);
            skipped += kink, worst = fmax(worst, r), checked++;
            CHECK_MSG(r <= 1, "%s[%zu]: gradient off (err/tol %.3f)", T->name, idx - T->offset, r);
        }
    CHECK(skipped * 2 <= checked);
    printf("manifold generator network gradient: %d entries (%d at kinks: one-sided), worst err/tol %.3f\n", checked, skipped,
           worst);
    free(vol), free(w);
    cg_gan_mgen_destroy(m);
}

/* 5b: generator loss through critic and simulator, in the network's parameters. */
static void test_manifold_grad(const toy *T, float diversity_weight) {
    cg_gan_config cfg = cg_gan_config_default();
    cfg.batch = 6, cfg.critic.channels = 4, cfg.manifold = 1, cfg.n_vol = 3, cfg.diversity_weight = diversity_weight;
    cfg.gen.zdim = 3, cfg.gen.channels = 8, cfg.gen.scale = 2, cfg.seed = 11;
    cg_gan *g;
    CHECK_OK(cg_gan_create(&g, &cfg, &T->data));
    cg_nn_params *P = cg_gan_generator_params(g);
    float *grad = malloc(P->count * sizeof(float)), *tmp = malloc(P->count * sizeof(float));
    double loss;
    CHECK_OK(cg_gan_generator_param_grad(g, 3, &loss, grad));
    double gmax = 0, worst = 0;
    for (size_t i = 0; i < P->count; i++) gmax = fmax(gmax, fabs(grad[i]));
    CHECK(gmax > 0);
    int checked = 0, skipped = 0;
    for (int t = 0; t < P->n_tensors; t++)
        for (int e = 0; e < 2; e++) {
            const cg_nn_tensor *Tn = &P->tensors[t];
            size_t idx = Tn->offset + (e ? Tn->count - 1 : Tn->count / 2);
            const float x0 = P->param[idx], h = 2e-3f * fmaxf(1.0f, fabsf(x0));
            double L[3] = {0, loss, 0};
            P->param[idx] = x0 + h;
            CHECK_OK(cg_gan_generator_param_grad(g, 3, &L[2], tmp));
            P->param[idx] = x0 - h;
            CHECK_OK(cg_gan_generator_param_grad(g, 3, &L[0], tmp));
            P->param[idx] = x0;
            int kink;
            double r = fd_ratio(grad[idx], L, h, 2e-3 * gmax, 2e-2, &kink);
            skipped += kink, worst = fmax(worst, r), checked++;
            CHECK_MSG(r <= 1, "%s[%zu]: gradient off (err/tol %.3f)", Tn->name, idx - Tn->offset, r);
        }
    CHECK(skipped * 2 <= checked);
    printf("manifold generator loss gradient through the simulator (mode-seeking weight %g): loss %.6g, %d parameters (%d at kinks: one-sided), worst "
           "err/tol %.3f, max |grad| %.4g\n", diversity_weight, loss, checked, skipped, worst, gmax);
    free(grad), free(tmp);
    cg_gan_destroy(g);
}

/* 5c: the mode-seeking term's volume gradient against central differences; an unpaired last
 * volume gets none; identical latents contribute nothing. */
static void test_diversity(void) {
    const int nv = 3, zd = 4;
    const size_t D3 = 5 * 5 * 5;
    float *v = malloc(nv * D3 * sizeof(float)), *gv = calloc(nv * D3, sizeof(float));
    float z[12];
    for (size_t i = 0; i < nv * D3; i++) v[i] = (float)(0.5 + 0.4 * sin(1.7 * (double)i * (double)i + 0.3));
    for (int k = 0; k < nv * zd; k++) z[k] = (float)cos(2.1 * k);
    const double W = 0.01, scale = 0.5;
    double rho;
    const double L0 = cg_gan_diversity(v, z, nv, D3, zd, scale, W, &rho, gv);
    CHECK(L0 > 0 && rho > 0);
    CHECK_MSG(fabs(L0 - W / (rho + 1e-5)) < 1e-9 * L0, "L_div %g != W/(rho+eps) %g", L0, W / (rho + 1e-5));
    double worst = 0, gmax = 0;
    for (size_t i = 0; i < 2 * D3; i++) gmax = fmax(gmax, fabs(gv[i]));
    for (size_t i = 2 * D3; i < 3 * D3; i++) CHECK(gv[i] == 0);
    for (size_t i = 0; i < 2 * D3; i += 7) {
        const float x0 = v[i], h = 1.0f / 4096; /* exact in float near x0 */
        double L[3];
        for (int k = 0; k < 3; k += 2) {
            v[i] = x0 + (k - 1) * h;
            L[k] = cg_gan_diversity(v, z, nv, D3, zd, scale, W, NULL, NULL);
        }
        v[i] = x0, L[1] = L0;
        int kink;
        double r = fd_ratio(gv[i], L, h, 1e-3 * gmax, 1e-2, &kink);
        worst = fmax(worst, r);
        CHECK_MSG(r <= 1, "diversity gradient at voxel %zu off (err/tol %.3f)", i, r);
    }
    memcpy(z + zd, z, zd * sizeof(float)); /* pair (0, 1) with equal latents: skipped */
    CHECK(cg_gan_diversity(v, z, nv, D3, zd, scale, W, &rho, NULL) == 0 && rho == 0);
    printf("mode-seeking term: L_div %.5g, rho %.4g, gradient worst err/tol %.3f\n", L0, W / L0 - 1e-5, worst);
    free(v), free(gv);
}

static void test_path_clusters(void) {
    enum { N = 21 };
    double S[N * N], prop[8];
    int cut[8];
    const int state2[2] = {5, N}, state3[3] = {7, 13, N}; /* exclusive ends of each state's points */
    for (int K = 2; K <= 3; K++) {
        const int *ends = K == 2 ? state2 : state3;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int si = 0, sj = 0;
                while (i >= ends[si]) si++;
                while (j >= ends[sj]) sj++;
                double pert = 0.02 * sin(1.3 * i + 0.7 * j) * sin(0.9 * j + 0.7 * i); /* symmetric enough */
                S[i * N + j] = (si == sj ? 0.4 : 0.15) + pert;
            }
        double score;
        CHECK_OK(cg_gan_path_clusters(S, N, K, cut, prop, &score));
        for (int k = 0; k < K - 1; k++) CHECK_MSG(cut[k] == ends[k], "K %d: cut %d at %d, expected %d", K, k, cut[k], ends[k]);
        double lo = 0;
        for (int k = 0; k < K; k++) {
            double hi = k < K - 1 ? (ends[k] - 0.5) / (N - 1) : 1;
            CHECK_CLOSE(prop[k], hi - lo, 0, 1e-12);
            lo = hi;
        }
        CHECK(score > 0.2);
    }
    CHECK(cg_gan_path_clusters(S, N, 1, cut, prop, NULL) == CG_ERR_ARG);
    printf("path clusters: 2 and 3 blocks recovered (2 blocks: proportions %.3f %.3f)\n", 4.5 / 20, 15.5 / 20);
}

static void test_ema(const toy *T) {
    const size_t D3 = (size_t)D * D * D;
    cg_gan_config cfg = cg_gan_config_default();
    cfg.batch = 8, cfg.n_critic = 2, cfg.critic.channels = 4, cfg.lr_gen = 0.02f, cfg.lr_critic = 1e-3f, cfg.seed = 5;
    cfg.ema_decay = 0.75f;
    cg_gan *g, *h, *r;
    CHECK_OK(cg_gan_create(&g, &cfg, &T->data));
    float *e = malloc(sizeof(float) * D3), *got = malloc(sizeof(float) * D3);
    memcpy(e, cg_gan_volume(g), sizeof(float) * D3); /* the EMA starts at the initial (zero) volume */
    double worst = 0, emax = 0, dlive = 0;
    for (int s = 0; s < 3; s++) {
        CHECK_OK(cg_gan_step(g, NULL));
        const float *w = cg_gan_volume(g);
        for (size_t i = 0; i < D3; i++) e[i] = 0.75f * e[i] + 0.25f * w[i];
        memcpy(got, w, sizeof(float) * D3);
        CHECK_OK(cg_gan_swap_ema(g));
        const float *a = cg_gan_volume(g);
        for (size_t i = 0; i < D3; i++) {
            worst = fmax(worst, fabs(a[i] - e[i])), emax = fmax(emax, fabs(e[i]));
            dlive = fmax(dlive, fabs(a[i] - got[i]));
        }
        CHECK_OK(cg_gan_swap_ema(g));
        CHECK_MSG(!memcmp(cg_gan_volume(g), got, sizeof(float) * D3), "swapping twice did not restore the live volume");
    }
    printf("EMA (decay 0.75) after 3 steps: max |EMA - recurrence| %.3g (max |EMA| %.3g), max |EMA - live| %.3g\n",
           worst, emax, dlive);
    CHECK(emax > 0 && worst <= 1e-6 * emax && dlive > 1e-3 * emax);
    /* resume: 2 steps, save, load into a fresh trainer, 1 step == 3 uninterrupted steps */
    const char *dir = cg_test_tmpdir("gan_ema");
    CHECK_OK(cg_gan_create(&h, &cfg, &T->data));
    for (int s = 0; s < 2; s++) CHECK_OK(cg_gan_step(h, NULL));
    CHECK_OK(cg_gan_save(h, dir));
    cg_gan_destroy(h);
    CHECK_OK(cg_gan_create(&r, &cfg, &T->data));
    CHECK_OK(cg_gan_load(r, dir));
    CHECK_OK(cg_gan_step(r, NULL));
    CHECK_OK(cg_gan_swap_ema(g));
    CHECK_OK(cg_gan_swap_ema(r));
    CHECK_MSG(!memcmp(cg_gan_volume(g), cg_gan_volume(r), sizeof(float) * D3), "resumed EMA differs from the uninterrupted one");
    cg_gan_destroy(r);
    /* a checkpoint without an EMA: switching it on at resume starts it at the loaded volume */
    cg_gan_config c0 = cfg;
    c0.ema_decay = 0;
    CHECK_OK(cg_gan_create(&h, &c0, &T->data));
    CHECK(cg_gan_swap_ema(h) == CG_ERR_ARG);
    for (int s = 0; s < 2; s++) CHECK_OK(cg_gan_step(h, NULL));
    CHECK_OK(cg_gan_save(h, dir));
    CHECK_OK(cg_gan_create(&r, &cfg, &T->data));
    CHECK_OK(cg_gan_load(r, dir));
    CHECK_OK(cg_gan_swap_ema(r));
    CHECK_MSG(!memcmp(cg_gan_volume(h), cg_gan_volume(r), sizeof(float) * D3), "EMA switched on at resume is not the loaded volume");
    cg_gan_destroy(g), cg_gan_destroy(h), cg_gan_destroy(r);
    free(e), free(got);
}

/* Warm start: --init-generator takes the generator (and its EMA) from a run whose batch,
 * n_critic and critic differ, zeroes Adam's moments and the step, and refuses a generator of
 * another mode or shape with a message. */
static void test_init_generator(const toy *T) {
    const size_t D3 = (size_t)D * D * D;
    cg_gan_config a = cg_gan_config_default();
    a.batch = 8, a.n_critic = 2, a.critic.channels = 4, a.lr_gen = 0.02f, a.lr_critic = 1e-3f, a.seed = 5;
    a.ema_decay = 0.75f;
    cg_gan *g, *h;
    CHECK_OK(cg_gan_create(&g, &a, &T->data));
    for (int s = 0; s < 2; s++) CHECK_OK(cg_gan_step(g, NULL));
    const char *dir = cg_test_tmpdir("gan_init");
    CHECK_OK(cg_gan_save(g, dir));
    cg_gan_config b = a;
    b.batch = 6, b.n_critic = 3, b.critic.channels = 8, b.seed = 9;
    CHECK_OK(cg_gan_create(&h, &b, &T->data));
    CHECK(cg_gan_load(h, dir) == CG_ERR_FORMAT); /* a resume needs the same critic */
    CHECK_OK(cg_gan_init_generator(h, dir));
    CHECK_MSG(!memcmp(cg_gan_volume(h), cg_gan_volume(g), sizeof(float) * D3), "initialised volume differs");
    const cg_nn_params *P = cg_gan_generator_params(h);
    double mv = 0;
    for (size_t i = 0; i < P->count; i++) mv = fmax(mv, fabs(P->m[i]) + fabs(P->v[i]));
    CHECK_MSG(mv == 0 && P->step == 0 && cg_gan_gen_step(h) == 0, "Adam state or step not reset (max |m|+|v| %g)", mv);
    CHECK(cg_gan_generator_params(g)->step == 2);
    CHECK_OK(cg_gan_swap_ema(g));
    CHECK_OK(cg_gan_swap_ema(h));
    CHECK_MSG(!memcmp(cg_gan_volume(h), cg_gan_volume(g), sizeof(float) * D3), "initialised EMA differs");
    CHECK_OK(cg_gan_swap_ema(g));
    CHECK_OK(cg_gan_swap_ema(h));
    double w;
    CHECK_OK(cg_gan_critic_only(h, 2, &w));
    CHECK_OK(cg_gan_step(h, NULL));
    CHECK(cg_gan_gen_step(h) == 1);
    cg_gan_destroy(h);
    /* a manifold run cannot start from a voxel volume */
    cg_gan_config m = cg_gan_config_default();
    m.batch = 6, m.critic.channels = 4, m.manifold = 1, m.n_vol = 3, m.gen.zdim = 3, m.gen.channels = 8, m.seed = 11;
    CHECK_OK(cg_gan_create(&h, &m, &T->data));
    CHECK(cg_gan_init_generator(h, dir) == CG_ERR_FORMAT);
    CHECK_MSG(strstr(cg_last_error(), "voxel") != NULL, "message: %s", cg_last_error());
    CHECK_OK(cg_gan_save(h, dir));
    cg_gan_destroy(h);
    /* nor from a generator of another shape, or (path latent) another seed */
    cg_gan_config m2 = m;
    m2.gen.channels = 16;
    CHECK_OK(cg_gan_create(&h, &m2, &T->data));
    CHECK(cg_gan_init_generator(h, dir) == CG_ERR_FORMAT);
    CHECK_MSG(strstr(cg_last_error(), "generator shape") != NULL, "message: %s", cg_last_error());
    cg_gan_destroy(h);
    m2 = m, m2.seed = 12;
    CHECK_OK(cg_gan_create(&h, &m2, &T->data));
    CHECK(cg_gan_init_generator(h, dir) == CG_ERR_FORMAT);
    CHECK_MSG(strstr(cg_last_error(), "seed") != NULL, "message: %s", cg_last_error());
    cg_gan_destroy(h);
    m2 = m, m2.n_vol = 2, m2.critic.channels = 8, m2.batch = 4;
    CHECK_OK(cg_gan_create(&h, &m2, &T->data));
    CHECK_OK(cg_gan_init_generator(h, dir));
    cg_gan_destroy(h);
    cg_gan_destroy(g);
}

int main(void) {
    /* One thread: OpenMP's spinning barriers on a loaded 2-core machine made this test 4x
     * slower with 2 threads; thread-count independence is checked by test_train_gan_cli.sh. */
    cg_set_threads(1);
    test_sim();
    test_gp();
    toy T;
    make_toy(&T, 400);
    test_generator_grad(&T);
    test_mgen_grad();
    test_manifold_grad(&T, 0);
    test_diversity();
    test_manifold_grad(&T, 1e-4f);
    test_path_clusters();
    test_ema(&T);
    test_init_generator(&T);
    test_training(&T);
    free_toy(&T);
    return cg_test_finish();
}
