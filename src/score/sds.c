/* Score-distillation (SDS) reconstruction of a volume from ONE image, after Algorithm 1 of the
 * score-based random-tomography paper cited in issue 8: a trained 2D denoiser of projections is
 * the prior; the image itself is the view at the identity rotation.
 *
 *   v = 0
 *   repeat steps times:
 *     r_0 = P_I v - img                                  (data residual, identity view)
 *     for j = 1 .. M-1: A_j uniform random rotation, eps_j ~ N(0, I)
 *        p_j = P_{A_j} v,  r_j = p_j - D_t(p_j + t eps_j)   (score residual at the fixed level t)
 *     v -= lr (P_I^T r_0 + prior_weight sum_j P_{A_j}^T r_j)
 *
 * P is the real-space projector cg_project_real (line sums along z of the trilinearly
 * interpolated volume, CONVENTIONS.md) and P^T its EXACT adjoint cg_project_real_adjoint
 * (tests/test_score.c checks <Pv, y> = <v, P^T y>). The denoiser works in normalised units, so
 * D_t(x) in raw units is std * D((x - mean)/std; t) + mean and t is a normalised noise level
 * (t eps is added in normalised units). The residual r_j is NOT differentiated through the
 * denoiser (score distillation: the Jacobian of D is dropped). Plain SGD, no momentum.
 *
 * Scale of lr: P^T P has eigenvalues up to about D (a volume constant along the projection
 * direction), so the M-view sum has up to about M D; lr <= 0 selects 1 / (M D).
 * CTF: with c->ctf_half the identity view models the image as H P_I v, H the image's CTF as a
 * real symmetric Fourier filter of the centred D x D image (cg_image_to_spectrum,
 * cg_spectrum_mul_real, cg_spectrum_to_image: circular, no padding), so r_0 = H P_I v - img and
 * its back-projection is P_I^T H r_0 (H is self-adjoint; tests/test_score.c checks the pair).
 * The random views stay unfiltered: the prior is on whatever the denoiser was trained on.
 *
 * Determinism: rotations and eps come from (seed, CG_SCORE_STREAM_SDS, image_index) in a fixed
 * order; views are projected and back-projected in parallel into per-view buffers that are
 * summed in view order, so the result does not depend on the thread count (BLAS aside).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/geom.h"
#include "cryogen/project.h"
#include "cryogen/score.h"

void cg_sds_defaults(cg_sds_config *c) {
    c->steps = 300;
    c->n_random = 7;
    c->t = 0.5;
    c->lr = 0;
    c->prior_weight = 1;
    c->seed = 0;
    c->ctf_half = NULL;
}

/* img = H img in place (H: CTF filter of the centred image); spec: D x (D/2+1) scratch. */
static void ctf_filter(cg_image_fft *w, cg_complex *spec, const float *ctf_half, int D, float *img) {
    cg_image_to_spectrum(w, img, spec);
    cg_spectrum_mul_real(spec, D, ctf_half);
    cg_spectrum_to_image(w, spec, img);
}

static cg_status identity_op(const float *in, int D, const float *ctf_half, float *out, int adjoint) {
    static const double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    size_t S = (size_t)D * D;
    cg_image_fft *w = NULL;
    float *img = malloc(sizeof(float) * S);
    cg_complex *spec = malloc(sizeof(cg_complex) * (size_t)D * (D / 2 + 1));
    cg_status s = img && spec ? CG_OK : cg_error(CG_ERR_NOMEM, "sds identity view of %d^2", D);
    if (!s && ctf_half) s = cg_image_fft_create(&w, D);
    if (!s && !adjoint) {
        cg_project_real(in, D, I3, out);
        if (ctf_half) ctf_filter(w, spec, ctf_half, D, out);
    } else if (!s) {
        memcpy(img, in, sizeof(float) * S);
        if (ctf_half) ctf_filter(w, spec, ctf_half, D, img);
        cg_project_real_adjoint(img, D, I3, out);
    }
    cg_image_fft_destroy(w);
    free(img), free(spec);
    return s;
}

cg_status cg_sds_identity_project(const float *vol, int D, const float *ctf_half, float *img) {
    return identity_op(vol, D, ctf_half, img, 0);
}

cg_status cg_sds_identity_backproject(const float *img, int D, const float *ctf_half, float *vol) {
    return identity_op(img, D, ctf_half, vol, 1);
}

cg_status cg_sds_reconstruct(cg_score_net *net, const cg_sds_config *c, const float *img, int64_t image_index,
                             float *vol, double *trace) {
    const cg_score_config *cfg = cg_score_net_config(net);
    int D = cfg->D, M = c->n_random + 1;
    size_t S = (size_t)D * D, V = S * D;
    if (c->steps < 1 || c->n_random < 0 || !(c->t > 0) || !(c->prior_weight >= 0))
        return cg_error(CG_ERR_ARG, "sds: need steps >= 1, random views >= 0, t > 0, prior weight >= 0 (got %d, %d, %g, %g)",
                        c->steps, c->n_random, c->t, c->prior_weight);
    double lr = c->lr > 0 ? c->lr : 1.0 / ((double)M * D);
    cg_status s = c->n_random ? cg_score_net_reserve(net, c->n_random) : CG_OK;
    if (s) return s;
    float *proj = malloc(sizeof(float) * S * (size_t)M), *noisy = malloc(sizeof(float) * S * (size_t)M);
    float *bp = malloc(sizeof(float) * V * (size_t)M), *sig = malloc(sizeof(float) * (size_t)M);
    double *A = malloc(sizeof(double) * 9 * (size_t)M);
    cg_complex *spec = c->ctf_half ? malloc(sizeof(cg_complex) * (size_t)D * (D / 2 + 1)) : NULL;
    cg_image_fft *w = NULL;
    if (!proj || !noisy || !bp || !sig || !A || (c->ctf_half && !spec)) {
        free(proj), free(noisy), free(bp), free(sig), free(A), free(spec);
        return cg_error(CG_ERR_NOMEM, "sds buffers for %d views of %d^3", M, D);
    }
    if (c->ctf_half && (s = cg_image_fft_create(&w, D))) {
        free(proj), free(noisy), free(bp), free(sig), free(A), free(spec);
        return s;
    }
    memset(vol, 0, sizeof(float) * V);
    static const double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(A, I3, sizeof I3);
    cg_rng rng;
    cg_rng_init(&rng, c->seed, CG_SCORE_STREAM_SDS, (uint64_t)image_index);
    float mean = cfg->img_mean, std = cfg->img_std, inv = 1.0f / cfg->img_std;
    for (int step = 0; !s && step < c->steps; step++) {
        if (cg_interrupted()) {
            s = cg_error(CG_ERR_INTERRUPTED, "sds interrupted at step %d", step);
            break;
        }
        for (int j = 1; j < M; j++) {
            double rot, tilt, psi;
            cg_random_euler(&rng, &rot, &tilt, &psi);
            cg_euler_to_matrix(rot, tilt, psi, A + 9 * j);
        }
#pragma omp parallel for schedule(static)
        for (int j = 0; j < M; j++) cg_project_real(vol, D, A + 9 * j, proj + (size_t)j * S);
        for (int j = 1; j < M; j++) {
            float *q = noisy + (size_t)(j - 1) * S;
            const float *p = proj + (size_t)j * S;
            for (size_t i = 0; i < S; i++) q[i] = (p[i] - mean) * inv + (float)(c->t * cg_rng_normal(&rng));
            sig[j - 1] = (float)c->t;
        }
        /* prior weight 0 (data only): the noise is still drawn, so the stream stays aligned */
        if (M > 1 && c->prior_weight > 0) s = cg_score_denoise(net, noisy, noisy, sig, M - 1);
        if (s) break;
        /* residuals, in place in proj: view 0 (through the CTF) against the image, views j against D_t */
        if (c->ctf_half) ctf_filter(w, spec, c->ctf_half, D, proj);
        double r0 = 0;
        for (size_t i = 0; i < S; i++) {
            proj[i] -= img[i];
            r0 += (double)proj[i] * proj[i];
        }
        if (trace) trace[step] = r0 / (double)S;
        if (c->ctf_half) ctf_filter(w, spec, c->ctf_half, D, proj); /* H^T = H */
        for (int j = 1; j < M; j++) {
            float *p = proj + (size_t)j * S;
            const float *d = noisy + (size_t)(j - 1) * S;
            for (size_t i = 0; i < S; i++) p[i] = (float)c->prior_weight * (p[i] - (d[i] * std + mean));
        }
#pragma omp parallel for schedule(static)
        for (int j = 0; j < M; j++) {
            float *b = bp + (size_t)j * V;
            memset(b, 0, sizeof(float) * V);
            cg_project_real_adjoint(proj + (size_t)j * S, D, A + 9 * j, b);
        }
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < V; i++) {
            double g = 0;
            for (int j = 0; j < M; j++) g += bp[(size_t)j * V + i];
            vol[i] -= (float)(lr * g);
        }
    }
    free(proj), free(noisy), free(bp), free(sig), free(A), free(spec);
    cg_image_fft_destroy(w);
    return s;
}
