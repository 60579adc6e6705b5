/* Reconstruction with known poses.
 *
 * - The fast CTF used for insertion equals physics' cg_ctf_eval (RELION getCTF formula).
 * - The gridding blob transform equals a direct numerical 3D Fourier transform of the
 *   Kaiser-Bessel blob b(r) = I0(alpha sqrt(1 - (r/a)^2)) / I0(alpha) (first principles, not
 *   the closed form used in the code).
 * - Clean projections of the built-in phantom (D = 64, N = 5,000 uniform random poses,
 *   random shifts up to 3 px, RELION origin convention) reconstruct the phantom with
 *   FSC >= 0.9 in every shell up to 0.8 Nyquist; the same with CTF-modulated images and CTF
 *   weighting (random defocus 1-3 um, astigmatism) on D = 48, N = 3,000.
 * - One thread and two threads give the same map to float rounding; two runs with two
 *   threads are bitwise identical.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/geom.h"
#include "cryogen/metrics.h"
#include "cryogen/phantom.h"
#include "cryogen/project.h"
#include "cryogen/recon.h"
#include "recon/recon_internal.h"
#include "testutil.h"

typedef struct {
    int D;
    float *images; /* n * D * D */
} stack;

static cg_status read_mem(void *user, int64_t i, float *out) {
    const stack *s = user;
    memcpy(out, s->images + (size_t)i * s->D * s->D, sizeof(float) * s->D * s->D);
    return CG_OK;
}

/* Simulate n clean images of vol: random pose, origin in A (|o| <= 3 px), optional CTF. */
static void simulate(const float *vol, int D, double px, int64_t n, int with_ctf, stack *s, double *euler,
                     double *origin_A, cg_ctf_params *ctfp) {
    cg_projector *proj;
    CHECK_OK(cg_projector_create(&proj, vol, D, 2));
    s->D = D;
    s->images = malloc(sizeof(float) * (size_t)n * D * D);
#pragma omp parallel
    {
        cg_image_fft *w;
        cg_image_fft_create(&w, D);
        cg_complex *spec = cg_fft_alloc_complex((size_t)D * (D / 2 + 1));
        float *c = malloc(sizeof(float) * D * (D / 2 + 1));
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            cg_rng r;
            cg_rng_init(&r, 77, CG_RNG_STREAM_POSE, (uint64_t)i);
            double *e = euler + 3 * i, A[9];
            cg_random_euler(&r, &e[0], &e[1], &e[2]);
            cg_euler_to_matrix(e[0], e[1], e[2], A);
            origin_A[2 * i] = (cg_rng_uniform(&r) - 0.5) * 6 * px;
            origin_A[2 * i + 1] = (cg_rng_uniform(&r) - 0.5) * 6 * px;
            cg_projector_slice(proj, A, spec);
            cg_spectrum_shift(spec, D, -origin_A[2 * i] / px, -origin_A[2 * i + 1] / px); /* image = proj moved by -o */
            ctfp[i] = cg_ctf_params_default();
            if (with_ctf) {
                ctfp[i].defocus_u_A = 10000 + 20000 * cg_rng_uniform(&r);
                ctfp[i].defocus_v_A = ctfp[i].defocus_u_A - 500 * cg_rng_uniform(&r);
                ctfp[i].defocus_angle_rad = CG_PI * cg_rng_uniform(&r);
                cg_ctf ctf;
                cg_ctf_init(&ctf, &ctfp[i]);
                cg_ctf_fill_half(&ctf, D, px, c);
                cg_spectrum_mul_real(spec, D, c);
            }
            cg_spectrum_to_image(w, spec, s->images + (size_t)i * D * D);
        }
        free(c);
        cg_fft_free(spec);
        cg_image_fft_destroy(w);
    }
    cg_projector_destroy(proj);
}

static void run_case(int D, int64_t n, int with_ctf, double px) {
    size_t nv = (size_t)D * D * D;
    float *vol = malloc(sizeof(float) * nv), *rec = malloc(sizeof(float) * nv);
    cg_phantom_volume(D, vol);
    double *euler = malloc(sizeof(double) * 3 * n), *origin = malloc(sizeof(double) * 2 * n);
    cg_ctf_params *ctfp = malloc(sizeof(cg_ctf_params) * n);
    stack s;
    double t0 = cg_time_s();
    simulate(vol, D, px, n, with_ctf, &s, euler, origin, ctfp);
    double t1 = cg_time_s();
    cg_recon_input in = {.n = n, .D = D, .pixel_size_A = px, .euler_rad = euler, .origin_A = origin,
                         .ctf = with_ctf ? ctfp : NULL, .read_image = read_mem, .user = &s};
    cg_recon_accum *acc;
    CHECK_OK(cg_recon_accum_create(&acc, D, 2));
    cg_recon_stats st;
    CHECK_OK(cg_recon_backproject(&in, acc, NULL, &st));
    CHECK(st.used == n && st.half_count[0] == (n + 1) / 2 && !st.subsets_from_file);
    double t2 = cg_time_s();
    CHECK_OK(cg_recon_finish(acc, -1, NULL, rec));
    double t3 = cg_time_s();
    cg_fsc_result f;
    CHECK_OK(cg_fsc_compute(vol, rec, D, px, NULL, &f));
    int smax = (int)floor(0.8 * D / 2), bad = 0;
    double worst = 1;
    for (int k = 1; k <= smax; k++) {
        if (f.fsc[k] < worst) worst = f.fsc[k];
        if (f.fsc[k] < 0.9) bad++;
    }
    double rho = cg_real_space_correlation(vol, rec, nv, NULL);
    printf("D=%d N=%lld ctf=%d: min FSC over shells 1..%d = %.4f (shell %d: %.4f, Nyquist %.4f), "
           "real-space corr %.5f; simulate %.1f s, insert %.1f s, finish %.1f s\n",
           D, (long long)n, with_ctf, smax, worst, smax, f.fsc[smax], f.fsc[D / 2], rho, t1 - t0, t2 - t1, t3 - t2);
    CHECK_MSG(bad == 0, "%d shells below 0.9", bad);
    CHECK(rho > 0.99);
    /* scale: the reconstruction reproduces the phantom's amplitude (RELION's scale) */
    cg_volume_stats a, b;
    cg_volume_stats_compute(vol, nv, NULL, &a);
    cg_volume_stats_compute(rec, nv, NULL, &b);
    printf("  max %.4f vs %.4f, std %.5f vs %.5f\n", a.max, b.max, a.std, b.std);
    CHECK_CLOSE(b.std, a.std, 0, 0.03);
    cg_fsc_result_free(&f);
    if (!with_ctf) { /* thread-count independence of the result (to float rounding) */
        float *rec1 = malloc(sizeof(float) * nv), *rec2 = malloc(sizeof(float) * nv);
        int saved = cg_get_threads();
        for (int pass = 0; pass < 2; pass++) {
            cg_set_threads(pass == 0 ? 1 : 2);
            cg_recon_accum *a2;
            CHECK_OK(cg_recon_accum_create(&a2, D, 2));
            cg_recon_input in2 = in;
            in2.n = 600;
            CHECK_OK(cg_recon_backproject(&in2, a2, NULL, NULL));
            CHECK_OK(cg_recon_finish(a2, 0, NULL, pass == 0 ? rec1 : rec2));
            cg_recon_accum_destroy(a2);
        }
        double md = 0, mx = 0;
        for (size_t i = 0; i < nv; i++) md = fmax(md, fabs(rec1[i] - rec2[i])), mx = fmax(mx, fabs(rec1[i]));
        printf("  1 vs 2 threads: max |diff| %.2e (max |v| %.3f)\n", md, mx);
        CHECK(md <= 1e-4 * mx);
        cg_recon_accum *a3;
        CHECK_OK(cg_recon_accum_create(&a3, D, 2));
        cg_recon_input in3 = in;
        in3.n = 600;
        CHECK_OK(cg_recon_backproject(&in3, a3, NULL, NULL));
        CHECK_OK(cg_recon_finish(a3, 0, NULL, rec1));
        CHECK(memcmp(rec1, rec2, sizeof(float) * nv) == 0);
        cg_recon_accum_destroy(a3);
        cg_set_threads(saved);
        free(rec1);
        free(rec2);
    }
    cg_recon_accum_destroy(acc);
    free(s.images);
    free(vol);
    free(rec);
    free(euler);
    free(origin);
    free(ctfp);
}

static void test_ctf_and_blob(void) {
    cg_ctf_params p = cg_ctf_params_default();
    p.defocus_u_A = 15000;
    p.defocus_v_A = 13000;
    p.defocus_angle_rad = 0.7;
    p.phase_shift_rad = 0.3;
    p.bfactor_A2 = 40;
    cg_ctf c;
    CHECK_OK(cg_ctf_init(&c, &p));
    const int D = 40;
    float fast[D * (D / 2 + 1)];
    cg__recon_ctf_half(&c, D, 1.3, fast);
    double md = 0;
    for (int iy = 0; iy < D; iy++)
        for (int ix = 0; ix <= D / 2; ix++) {
            int fy = cg_fft_freq(iy, D);
            double want = ix * ix + fy * fy <= D * D / 4 ? cg_ctf_eval(&c, ix / (D * 1.3), fy / (D * 1.3)) : 0.0;
            md = fmax(md, fabs(fast[iy * (D / 2 + 1) + ix] - want));
        }
    CHECK_MSG(md < 1e-6, "fast CTF differs by %g", md);
    /* blob transform by direct radial integration: FT(w) = 4 pi int b(r) r^2 sinc(2 pi w r) dr */
    const double a = 3.8, alpha = 15.0;
    double ft[3], ws[3] = {0.0, 0.1, 0.3};
    for (int k = 0; k < 3; k++) {
        double sum = 0, h = a / 20000;
        for (int i = 0; i < 20000; i++) {
            double r = (i + 0.5) * h, u = 1 - (r / a) * (r / a);
            double x = alpha * sqrt(u > 0 ? u : 0), i0 = 0, term = 1; /* b(r) up to 1 / I0(alpha) */
            for (int m = 0; m < 60; m++) { /* I0(x) = sum (x/2)^{2m} / (m!)^2 */
                if (m) term *= (x * x / 4) / ((double)m * m);
                i0 += term;
            }
            double b = i0;
            double arg = 2 * CG_PI * ws[k] * r, sinc = arg > 0 ? sin(arg) / arg : 1;
            sum += b * r * r * sinc * h;
        }
        ft[k] = sum;
    }
    for (int k = 1; k < 3; k++) {
        double want = ft[k] / ft[0], got = cg_recon_blob_ft(ws[k]);
        printf("blob FT at %.2f: table %.6f, numerical integral %.6f\n", ws[k], got, want);
        CHECK_CLOSE(got, want, 2e-4, 2e-3);
    }
    CHECK_CLOSE(cg_recon_blob_ft(0), 1.0, 1e-12, 0);
    CHECK(cg_recon_blob_ft(0.5) == 0.0);
}

/* The blocked 3D FFT equals cg_fft (bitwise on this machine; to 1e-6 relative required). */
static void test_fft3(void) {
    const int M = 40;
    size_t n = (size_t)M * M * M, nc = (size_t)M * M * (M / 2 + 1);
    float *r = cg_fft_alloc_real(n), *r2 = cg_fft_alloc_real(n), *back = cg_fft_alloc_real(n);
    cg_complex *a = cg_fft_alloc_complex(nc), *b = cg_fft_alloc_complex(nc);
    cg_rng rng;
    cg_rng_init(&rng, 5, CG_RNG_STREAM_USER, 0);
    for (size_t i = 0; i < n; i++) r[i] = r2[i] = (float)cg_rng_normal(&rng);
    int dims[3] = {M, M, M};
    cg_fft_plan *p;
    cg__fft3 *f;
    CHECK_OK(cg_fft_plan_create(&p, 3, dims));
    CHECK_OK(cg__fft3_create(&f, M));
    cg_fft_forward(p, r, a);
    CHECK_OK(cg__fft3_forward(f, r2, b));
    double md = 0, mx = 0;
    size_t same = 0;
    for (size_t i = 0; i < nc; i++) {
        md = fmax(md, cabsf(a[i] - b[i]));
        mx = fmax(mx, cabsf(a[i]));
        same += a[i] == b[i];
    }
    printf("blocked 3D FFT vs cg_fft (%d^3): max |diff| %.2e of %.2e, %zu of %zu values bitwise equal\n", M, md, mx,
           same, nc);
    CHECK(md <= 1e-6 * mx);
    CHECK_OK(cg__fft3_inverse(f, b, back));
    md = 0;
    for (size_t i = 0; i < n; i++) md = fmax(md, fabs(back[i] - r[i]));
    CHECK_MSG(md < 1e-5, "round trip error %g", md);
    cg__fft3_destroy(f);
    cg_fft_plan_destroy(p);
    cg_fft_free(r);
    cg_fft_free(r2);
    cg_fft_free(back);
    cg_fft_free(a);
    cg_fft_free(b);
}

/* The interleaved splat computes the same sums as physics' cg_backprojector_insert_weighted
 * (inputs zero on the radius D/2 itself, where physics uses < and RELION <=). */
static void test_splat_vs_physics(void) {
    const int D = 24, nh = D / 2 + 1, M = 2 * D;
    size_t ns = (size_t)D * nh, nH = (size_t)M * M * (M / 2 + 1);
    cg_complex *spec = cg_fft_alloc_complex(ns), *H1 = cg_fft_alloc_complex(nH), *H2 = cg_fft_alloc_complex(nH);
    float *w = malloc(sizeof(float) * ns), *W1 = malloc(sizeof(float) * nH), *W2 = malloc(sizeof(float) * nH);
    cg_backprojector *bp;
    cg__grid g;
    CHECK_OK(cg_backprojector_create_weighted(&bp, D, 2));
    CHECK_OK(cg__grid_create(&g, D));
    cg_rng r;
    cg_rng_init(&r, 8, CG_RNG_STREAM_USER, 0);
    for (int img = 0; img < 20; img++) {
        double a, b, c, A[9];
        cg_random_euler(&r, &a, &b, &c);
        cg_euler_to_matrix(a, b, c, A);
        for (int iy = 0; iy < D; iy++)
            for (int ix = 0; ix < nh; ix++) {
                int fy = cg_fft_freq(iy, D), on_edge = ix * ix + fy * fy >= D * D / 4;
                size_t k = (size_t)iy * nh + ix;
                spec[k] = on_edge ? 0 : (float)cg_rng_normal(&r) + I * (float)cg_rng_normal(&r);
                w[k] = on_edge ? 0 : (float)cg_rng_uniform(&r);
            }
        cg_backprojector_insert_weighted(bp, A, spec, w);
        cg__grid_splat(&g, A, spec, w);
    }
    CHECK_OK(cg_backprojector_get_grid(bp, H1, W1));
    cg__grid_fold(&g, H2, W2);
    double md = 0, mx = 0;
    for (size_t i = 0; i < nH; i++) {
        md = fmax(md, fmax(cabsf(H1[i] - H2[i]), fabsf(W1[i] - W2[i])));
        mx = fmax(mx, cabsf(H1[i]));
    }
    printf("interleaved splat vs physics' splat: max |diff| %.2e (max |value| %.2f)\n", md, mx);
    CHECK(md <= 1e-5 * mx);
    cg_backprojector_destroy(bp);
    cg__grid_free(&g);
    cg_fft_free(spec);
    cg_fft_free(H1);
    cg_fft_free(H2);
    free(w);
    free(W1);
    free(W2);
}

static void test_errors(void) {
    cg_recon_accum *a = NULL;
    CHECK_FAILS(cg_recon_accum_create(&a, 63, 1), CG_ERR_ARG, "even");
    CHECK_FAILS(cg_recon_accum_create(&a, 64, 3), CG_ERR_ARG, "halves");
    CHECK_OK(cg_recon_accum_create(&a, 16, 1));
    float vol[16 * 16 * 16];
    CHECK_FAILS(cg_recon_finish(a, 1, NULL, vol), CG_ERR_ARG, "half");
    cg_recon_input in = {.n = 0, .D = 16, .pixel_size_A = 1, .read_image = read_mem};
    CHECK_FAILS(cg_recon_backproject(&in, a, NULL, NULL), CG_ERR_ARG, "no particles");
    cg_recon_accum_destroy(a);
}

int main(void) {
    test_ctf_and_blob();
    test_fft3();
    test_splat_vs_physics();
    test_errors();
    run_case(64, 5000, 0, 2.0);
    run_case(48, 3000, 1, 2.5);
    return cg_test_finish();
}
