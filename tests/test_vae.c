/* VAE unit tests (include/cryogen/vae.h):
 *  - the disc lattice: |k| < D/2, half + mirror cover every point once, mirror = -k;
 *  - Hartley values against a double-precision DFT of the centred image (H = Re F - Im F), and
 *    the inverse relation Re F(k) = (H(k) + H(-k))/2, Im F(k) = (H(-k) - H(k))/2;
 *  - decoder half-lattice evaluation (mirroring) == full-lattice evaluation, for random
 *    rotations and for the identity (every point on the plane c_z = 0: the tie-break rule);
 *  - the volume is the inverse DFT of the decoder (a single-point check of the centring);
 *  - finite-difference gradient check of the whole loss (encoder -> reparameterisation ->
 *    decoder -> CTF -> Hartley MSE + beta KL) w.r.t. encoder and decoder parameters, for the
 *    variational and the deterministic encoder;
 *  - invalid configurations are refused with a message.
 */
#include <complex.h>
#include <math.h>

#include "cryogen/geom.h"
#include "cryogen/nn.h"
#include "cryogen/project.h"
#include "cryogen/vae.h"
#include "testutil.h"

static void test_lattice(void) {
    cg_vae_lattice L;
    CHECK_OK(cg_vae_lattice_init(&L, 16));
    int ok = 1;
    for (int i = 0; i < L.n; i++) ok &= 4 * (L.kx[i] * L.kx[i] + L.ky[i] * L.ky[i]) < 16 * 16;
    CHECK(ok);
    CHECK(L.n == 2 * (L.nh - 1) + 1);
    CHECK(L.kx[L.half[0]] == 0 && L.ky[L.half[0]] == 0 && L.mirror[0] == -1);
    int *seen = calloc((size_t)L.n, sizeof(int));
    for (int j = 0; j < L.nh; j++) {
        seen[L.half[j]]++;
        if (L.mirror[j] >= 0) {
            seen[L.mirror[j]]++;
            ok &= L.kx[L.mirror[j]] == -L.kx[L.half[j]] && L.ky[L.mirror[j]] == -L.ky[L.half[j]];
        }
    }
    for (int i = 0; i < L.n; i++) ok &= seen[i] == 1;
    CHECK_MSG(ok, "half + mirror must cover the disc once with mirror = -k");
    free(seen);
    cg_vae_lattice_free(&L);
    CHECK_FAILS(cg_vae_lattice_init(&L, 15), CG_ERR_ARG, "even");
}

static void test_hartley(void) {
    const int D = 12, W = D / 2 + 1;
    cg_vae_lattice L;
    CHECK_OK(cg_vae_lattice_init(&L, D));
    float img[D * D], H[D * D];
    cg_rng r;
    cg_rng_init(&r, 7, CG_RNG_STREAM_USER, 0);
    for (int i = 0; i < D * D; i++) img[i] = (float)cg_rng_normal(&r);
    cg_image_fft *w;
    CHECK_OK(cg_image_fft_create(&w, D));
    cg_complex spec[D * W];
    cg_image_to_spectrum(w, img, spec);
    cg_vae_hartley_from_spectrum(&L, spec, H);
    double err = 0, ref = 0, err2 = 0;
    for (int i = 0; i < L.n; i++) {
        double re = 0, im = 0; /* DFT of the image with pixel D/2 as the origin */
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++) {
                double ph = -2 * M_PI * (L.kx[i] * (x - D / 2) + L.ky[i] * (y - D / 2)) / (double)D;
                re += img[y * D + x] * cos(ph), im += img[y * D + x] * sin(ph);
            }
        err = fmax(err, fabs(H[i] - (re - im)));
        ref = fmax(ref, fabs(re - im));
    }
    CHECK_MSG(err < 1e-5 * ref, "Hartley vs double DFT: max error %g (scale %g)", err, ref);
    /* inverse relation on the half lattice, against the stored spectrum */
    for (int j = 1; j < L.nh; j++) {
        int a = L.half[j], b = L.mirror[j];
        double re = 0.5 * (H[a] + H[b]), im = 0.5 * (H[b] - H[a]);
        int kx = L.kx[a], ky = L.ky[a];
        cg_complex f = kx >= 0 ? spec[cg_fft_index(ky, D) * W + kx] : conjf(spec[cg_fft_index(-ky, D) * W - kx]);
        err2 = fmax(err2, fmax(fabs(re - crealf(f)), fabs(im - cimagf(f))));
    }
    CHECK_MSG(err2 < 1e-5 * ref, "F from H(k), H(-k): max error %g", err2);
    printf("hartley: max error vs double DFT %.2e, inverse relation %.2e (scale %.3g)\n", err, err2, ref);
    cg_image_fft_destroy(w);
    cg_vae_lattice_free(&L);
}

static cg_vae *small_model(int D, int zd, int batch, uint64_t seed, int pe) {
    cg_vae_config c = cg_vae_config_default(D, zd);
    c.enc_dim = 24, c.enc_layers = 1, c.dec_dim = 32, c.dec_layers = 2, c.batch = batch, c.seed = seed, c.pe = pe;
    c.lr = 1e-3;
    cg_vae *v = NULL;
    CHECK_OK(cg_vae_create(&v, &c));
    return v;
}

static void test_half_equals_full(int pe) {
    const int D = 16, zd = 3;
    cg_vae *v = small_model(D, zd, 2, 11, pe);
    if (!v) return;
    const cg_vae_lattice *L = cg_vae_get_lattice(v);
    float *Hh = malloc(sizeof(float) * L->n), *c = malloc(sizeof(float) * 3 * L->n);
    float *re = malloc(sizeof(float) * L->n), *im = malloc(sizeof(float) * L->n);
    float z[3] = {0.3f, -1.1f, 0.7f};
    cg_rng r;
    cg_rng_init(&r, 3, CG_RNG_STREAM_USER, 1);
    double worst = 0, scale = 0;
    for (int t = 0; t < 4; t++) {
        double A[9];
        if (t == 0) cg_euler_to_matrix(0, 0, 0, A);
        else cg_euler_to_matrix(2 * M_PI * cg_rng_uniform(&r), acos(2 * cg_rng_uniform(&r) - 1), 2 * M_PI * cg_rng_uniform(&r), A);
        CHECK_OK(cg_vae_decode_slice(v, A, z, Hh));
        for (int i = 0; i < L->n; i++)
            for (int a = 0; a < 3; a++) c[3 * i + a] = (float)((A[a] * L->kx[i] + A[3 + a] * L->ky[i]) / D);
        CHECK_OK(cg_vae_decode_points(v, c, L->n, z, re, im));
        for (int i = 0; i < L->n; i++) {
            worst = fmax(worst, fabs(Hh[i] - (re[i] - im[i])));
            scale = fmax(scale, fabs(re[i] - im[i]));
        }
    }
    CHECK_MSG(worst <= 1e-6 * scale, "half-lattice vs full-lattice decoder: max difference %g (scale %g)", worst, scale);
    printf("half == full lattice (%s): max difference %.2e, scale %.3g\n", pe ? "geom_lowf" : "gaussian", worst, scale);
    /* the volume is real and centred: its DFT at k (after moving voxel D/2 to 0) is the decoder */
    float *vol = malloc(sizeof(float) * D * D * D);
    CHECK_OK(cg_vae_volume(v, z, vol));
    float pt[3] = {2.0f / D, -1.0f / D, 3.0f / D}, pre, pim;
    CHECK_OK(cg_vae_decode_points(v, pt, 1, z, &pre, &pim));
    double fr = 0, fi = 0;
    for (int zz = 0; zz < D; zz++)
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++) {
                double ph = -2 * M_PI * (2 * (x - D / 2) - 1 * (y - D / 2) + 3 * (zz - D / 2)) / (double)D;
                fr += vol[(zz * D + y) * D + x] * cos(ph), fi += vol[(zz * D + y) * D + x] * sin(ph);
            }
    const double k = cg_vae_get_config(v)->norm_std;
    CHECK_CLOSE(fr, k * pre, 1e-4 * scale, 1e-4);
    CHECK_CLOSE(fi, k * pim, 1e-4 * scale, 1e-4);
    free(vol), free(Hh), free(c), free(re), free(im);
    cg_vae_destroy(v);
}

/* Loss at the current parameters (same batch, same noise rows). */
static const int64_t idx[3] = {4, 0, 2}; /* particles of the batch (table mode) */
static double loss_at(cg_vae *v, const float *y, const float *ctf, const float *ey, const float *ec, const double *A, int B) {
    cg_vae_losses l;
    cg_vae_loss_grad(v, y, ctf, ey, ec, A, idx, B, 5, &l);
    return l.loss;
}

/* sep: the encoder reads other inputs (ey, ec) than the decoder's targets (the controls of
 * --encoder-input); the gradients must follow the encoder's own input. */
static void test_gradients(int det, int table, int sep) {
    const int D = 10, zd = 2, B = 3;
    cg_vae_config c = cg_vae_config_default(D, zd);
    c.enc_dim = 12, c.enc_layers = 1, c.dec_dim = 16, c.dec_layers = 1, c.batch = B, c.seed = 5;
    c.beta = 50; /* large enough that the KL term matters in the check */
    c.act = CG_NN_ACT_TANH; /* smooth, so central differences have no kinks (ReLU: nn tests) */
    c.deterministic = det;
    c.table = table, c.n_table = 6;
    cg_vae *v = NULL;
    CHECK_OK(cg_vae_create(&v, &c));
    if (!v) return;
    const cg_vae_lattice *L = cg_vae_get_lattice(v);
    const int n = L->n;
    float *y = malloc(sizeof(float) * B * n), *ctf = malloc(sizeof(float) * B * n);
    double A[9 * B];
    cg_rng r;
    cg_rng_init(&r, 9, CG_RNG_STREAM_USER, 2);
    float *ey = NULL, *ec = NULL;
    for (int i = 0; i < B * n; i++) y[i] = (float)cg_rng_normal(&r), ctf[i] = (float)(2 * cg_rng_uniform(&r) - 1);
    for (int b = 0; b < B; b++) cg_euler_to_matrix(6 * cg_rng_uniform(&r), 3 * cg_rng_uniform(&r), 6 * cg_rng_uniform(&r), A + 9 * b);
    cg_vae_losses l;
    if (sep) {
        ey = malloc(sizeof(float) * B * n), ec = malloc(sizeof(float) * B * n);
        for (int i = 0; i < B * n; i++) ey[i] = (float)(2 * cg_rng_normal(&r)), ec[i] = (float)(2 * cg_rng_uniform(&r) - 1);
        /* the encoder reads ey: the loss changes with it, and ey = y gives the plain loss */
        const double plain = loss_at(v, y, ctf, NULL, NULL, A, B);
        CHECK(loss_at(v, y, ctf, y, ctf, A, B) == plain);
        CHECK(loss_at(v, y, ctf, ey, ec, A, B) != plain);
    }
    CHECK_OK(cg_vae_loss_grad(v, y, ctf, ey, ec, A, idx, B, 5, &l));
    CHECK(det ? l.kl == 0 && l.loss == l.mse : l.kl > 0 && l.mse > 0);
    int checked = 0, bad = 0;
    double worst = 0;
    for (int net = 0; net < 2; net++) {
        cg_nn_params *p = net ? cg_vae_decoder_params(v) : cg_vae_encoder_params(v);
        float *g = malloc(sizeof(float) * p->count);
        memcpy(g, p->grad, sizeof(float) * p->count);
        double gmax = 0;
        for (size_t i = 0; i < p->count; i++) gmax = fmax(gmax, fabs(g[i]));
        for (int t = 0; t < p->n_tensors; t++) {
            for (int k = 0; k < 4; k++) {
                size_t i = p->tensors[t].offset + (size_t)cg_rng_below(&r, p->tensors[t].count);
                if (table && !net) /* a row of a particle in the batch (others have zero gradient) */
                    i = p->tensors[t].offset + (size_t)(idx[k % 3] * zd + (int64_t)cg_rng_below(&r, zd));
                const float p0 = p->param[i], h = 3e-3f;
                p->param[i] = p0 + h;
                double lp = loss_at(v, y, ctf, ey, ec, A, B);
                p->param[i] = p0 - h;
                double lm = loss_at(v, y, ctf, ey, ec, A, B);
                p->param[i] = p0;
                double fd = (lp - lm) / (2.0 * h), d = fabs(fd - g[i]);
                /* float forward, loss summed in double, h = 1e-2 on a smooth loss (O(h^2)
                 * truncation): tolerance 1e-3 of the largest gradient + 1% */
                if (d > 1e-3 * gmax + 1e-2 * fabs(fd)) {
                    bad++;
                    fprintf(stderr, "  %s.%s[%zu]: analytic %.6g, central difference %.6g\n", net ? "dec" : "enc",
                            p->tensors[t].name, i - p->tensors[t].offset, g[i], fd);
                }
                worst = fmax(worst, d / (gmax + 1e-30));
                checked++;
            }
        }
        free(g);
    }
    CHECK_MSG(bad == 0, "%d of %d gradient entries disagree with central differences", bad, checked);
    printf("gradient check (%s %s%s): %d entries, %d outside tolerance, worst |diff| / max|g| = %.2e (loss %.5f, mse %.5f, KL %.4f)\n",
           det ? "deterministic" : "variational", table ? "table" : "encoder", sep ? ", encoder input separate" : "", checked, bad, worst, l.loss, l.mse, l.kl);
    free(y), free(ctf), free(ey), free(ec);
    cg_vae_destroy(v);
}

/* The controls' inputs: twins are one random cycle (a derangement), fixed by the seed; the
 * noise input is fixed per (seed, particle), white, CTF 1. */
static void test_controls(void) {
    enum { N = 1000 };
    int64_t *t = malloc(sizeof(int64_t) * N), *u = malloc(sizeof(int64_t) * N);
    char *seen = calloc(N, 1);
    CHECK_OK(cg_vae_twins(7, N, t));
    CHECK_OK(cg_vae_twins(7, N, u));
    int fixed = 0, same = 1, bad = 0;
    for (int i = 0; i < N; i++) {
        fixed += t[i] == i, same &= t[i] == u[i];
        if (t[i] < 0 || t[i] >= N || seen[t[i]]++) bad++;
    }
    CHECK_MSG(bad == 0 && fixed == 0 && same, "twins: %d not a permutation, %d fixed points, deterministic %d", bad, fixed, same);
    int64_t i = 0, len = 0;
    do i = t[i], len++;
    while (i != 0 && len <= N);
    CHECK_MSG(len == N, "twins: cycle through particle 0 has length %lld, want %d", (long long)len, N);
    CHECK_OK(cg_vae_twins(8, N, u));
    int moved = 0;
    for (int k = 0; k < N; k++) moved += t[k] != u[k];
    CHECK_MSG(moved > N / 2, "twins of seeds 7 and 8 differ at only %d of %d", moved, N);
    CHECK_OK(cg_vae_twins(7, 1, t));
    CHECK(t[0] == 0);
    CHECK_FAILS(cg_vae_twins(7, 0, t), CG_ERR_ARG, "0 particles");
    enum { M = 4000 };
    float *a = malloc(sizeof(float) * M), *b = malloc(sizeof(float) * M), *ca = malloc(sizeof(float) * M);
    cg_vae_noise_input(3, 5, M, a, ca);
    cg_vae_noise_input(3, 5, M, b, ca);
    CHECK(memcmp(a, b, sizeof(float) * M) == 0);
    cg_vae_noise_input(3, 6, M, b, ca);
    double m = 0, v2 = 0, cross = 0;
    int ones = 1;
    for (int k = 0; k < M; k++) m += a[k], v2 += (double)a[k] * a[k], cross += (double)a[k] * b[k], ones &= ca[k] == 1.0f;
    CHECK(ones);
    m /= M, v2 /= M, cross /= M;
    /* mean 0 +- 4/sqrt(M), variance 1 +- 4 sqrt(2/M), particles uncorrelated */
    CHECK_MSG(fabs(m) < 4 / sqrt(M) && fabs(v2 - 1) < 4 * sqrt(2.0 / M) && fabs(cross) < 4 / sqrt(M),
              "noise input: mean %g, mean square %g, cross %g", m, v2, cross);
    free(t), free(u), free(seen), free(a), free(b), free(ca);
}

static void test_bad_config(void) {
    cg_vae *v = NULL;
    cg_vae_config c = cg_vae_config_default(32, 0);
    CHECK_FAILS(cg_vae_create(&v, &c), CG_ERR_ARG, "--zdim 0");
    c = cg_vae_config_default(31, 2);
    CHECK_FAILS(cg_vae_create(&v, &c), CG_ERR_ARG, "box size 31");
    c = cg_vae_config_default(32, 2);
    c.batch = 0;
    CHECK_FAILS(cg_vae_create(&v, &c), CG_ERR_ARG, "--batch");
    c = cg_vae_config_default(32, 2);
    c.table = 1, c.n_table = 10, c.encoder_input = CG_VAE_ENC_PERMUTED;
    CHECK_FAILS(cg_vae_create(&v, &c), CG_ERR_ARG, "needs an encoder");
    c.table = 0, c.encoder_input = 4;
    CHECK_FAILS(cg_vae_create(&v, &c), CG_ERR_ARG, "encoder input 4");
    CHECK(v == NULL);
}

int main(void) {
    cg_set_threads(2);
    test_lattice();
    test_hartley();
    test_half_equals_full(CG_VAE_PE_GAUSSIAN);
    test_half_equals_full(CG_VAE_PE_GEOM_LOWF);
    test_gradients(0, 0, 0);
    test_gradients(1, 0, 0);
    test_gradients(0, 1, 0);
    test_gradients(1, 1, 0);
    test_gradients(0, 0, 1);
    test_gradients(1, 0, 1);
    test_controls();
    test_bad_config();
    return cg_test_finish();
}
