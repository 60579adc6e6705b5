/* Finite-difference gradient check harness for the nn layers (written once, used by every
 * layer test). The float layer is run on O(1) inputs; the scalar L = sum_i r_i out_i with a
 * fixed random projection r is accumulated in DOUBLE, and each checked input element x_k is
 * compared with the central difference
 *     num_k = (L(x + h e_k) - L(x - h e_k)) / (h+ + h-)
 * where h+ and h- are the steps actually representable in float. Only the outputs that depend
 * on x_k change between the two evaluations, so rounding noise stays near 1e-7 * |out| / h.
 * Pass: |analytic - num| <= atol + rtol * max(|analytic|, |num|).
 * Accumulation (+=) is checked too: gradient buffers start at 0.25, and 0.25 is subtracted.
 * Kinks (ReLU, LeakyReLU, max pooling): with `kinks` set, a point whose one-sided
 * differences disagree by more than kink_tol is skipped (at most a quarter may be). A kink
 * that goes undetected shifts the central difference by at most kink_tol / 2, so kink_tol
 * <= atol keeps such points from failing spuriously. */
#pragma once
#include "testutil.h"

#define GC_MAX_IN 8
typedef struct {
    const char *name;
    float *x, *grad; /* value and analytic gradient buffers, n floats each */
    size_t n;
} gc_tensor;

typedef struct {
    const char *name;
    gc_tensor in[GC_MAX_IN];
    int n_in;
    float *out;
    size_t n_out;
    void (*forward)(void *ctx);
    void (*backward)(void *ctx, const float *dout); /* accumulates into the in[].grad */
    void *ctx;
    double h, atol, rtol;
    int kinks;
    double kink_tol;
    int max_points; /* per tensor; 0 = 48 */
} gc_case;

static double gc_loss(gc_case *c, const double *r) {
    c->forward(c->ctx);
    double L = 0;
    for (size_t i = 0; i < c->n_out; i++) L += r[i] * (double)c->out[i];
    return L;
}

static inline void gc_fill(float *x, size_t n, uint64_t seed, float lo, float hi) {
    cg_rng g;
    cg_rng_init(&g, seed, CG_RNG_STREAM_USER, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * cg_rng_uniform(&g));
}

/* Returns the number of failed points (also counted by CHECK). */
static inline int gc_run(gc_case *c) {
    double *r = malloc(c->n_out * sizeof *r);
    float *rf = malloc(c->n_out * sizeof *rf);
    cg_rng g;
    cg_rng_init(&g, 1234, CG_RNG_STREAM_USER, 1);
    for (size_t i = 0; i < c->n_out; i++) {
        rf[i] = (float)(2.0 * cg_rng_uniform(&g) - 1.0);
        r[i] = rf[i];
    }
    for (int t = 0; t < c->n_in; t++)
        for (size_t i = 0; i < c->in[t].n; i++) c->in[t].grad[i] = 0.25f;
    c->forward(c->ctx);
    c->backward(c->ctx, rf);
    int fails = 0, checked = 0, skipped = 0, maxp = c->max_points ? c->max_points : 48;
    double worst = 0;
    for (int t = 0; t < c->n_in; t++) {
        gc_tensor *T = &c->in[t];
        size_t npts = T->n < (size_t)maxp ? T->n : (size_t)maxp;
        for (size_t p = 0; p < npts; p++) {
            size_t k = T->n <= (size_t)maxp ? p : (size_t)cg_rng_below(&g, T->n);
            float x0 = T->x[k];
            float xp = (float)(x0 + c->h), xm = (float)(x0 - c->h);
            T->x[k] = xp;
            double Lp = gc_loss(c, r);
            T->x[k] = xm;
            double Lm = gc_loss(c, r);
            T->x[k] = x0;
            double hp = (double)xp - x0, hm = x0 - (double)xm;
            double num = (Lp - Lm) / (hp + hm);
            if (c->kinks) {
                double L0 = gc_loss(c, r);
                double dr = (Lp - L0) / hp, dl = (L0 - Lm) / hm;
                if (fabs(dr - dl) > c->kink_tol) {
                    skipped++;
                    continue;
                }
            }
            double a = (double)T->grad[k] - 0.25;
            double err = fabs(a - num), tol = c->atol + c->rtol * fmax(fabs(a), fabs(num));
            if (err / tol > worst) worst = err / tol;
            checked++;
            if (err > tol) {
                if (fails < 5)
                    fprintf(stderr, "  %s: d/d%s[%zu]: analytic %.8g, numeric %.8g\n", c->name, T->name, k, a, num);
                fails++;
            }
        }
    }
    c->forward(c->ctx); /* leave outputs consistent with the restored inputs */
    CHECK_MSG(fails == 0, "%s: %d of %d gradient points off", c->name, fails, checked);
    CHECK_MSG(skipped * 4 <= checked + skipped, "%s: %d of %d points at kinks", c->name, skipped, checked + skipped);
    printf("gradcheck %-28s %4d points, %2d at kinks skipped, worst err/tol %.3f\n", c->name, checked, skipped,
           worst);
    free(r);
    free(rf);
    return fails;
}
