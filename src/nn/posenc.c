/* Fourier-feature positional encodings and timestep / noise-level embeddings.
 *  - Geometric features of cryoDRGN's PositionalDecoder (Zhong et al., Nat. Methods 2021;
 *    cryodrgn/models.py positional_encoding_geom): per coordinate c in x, y, z the row holds
 *    sin(c f_0..f_{E-1}) then cos(c f_0..f_{E-1}); latent values follow unchanged.
 *  - Gaussian random Fourier features (Tancik et al., NeurIPS 2020; cryoDRGN "gaussian").
 *  - Sinusoidal timestep embedding (Ho et al. 2020, as in guided-diffusion: cos then sin).
 *  - Gaussian Fourier noise-level embedding (Song et al., ICLR 2021: sin then cos).
 * Angles are computed in float, as the PyTorch originals do. Backward passes give the
 * gradient with respect to the coordinates / times (+=); the frequencies are fixed. */
#include <math.h>

#include "cryogen/nn_layers.h"
#include "nn/nn_internal.h"

void cg_nn_posenc_geom_freqs(float *freqs, int enc_dim, int D, cg_nn_posenc_kind kind) {
    double D2 = D / 2, DD = 2 * (D / 2);
    for (int i = 0; i < enc_dim; i++) {
        double t = enc_dim > 1 ? (double)i / (enc_dim - 1) : 0.0, f;
        switch (kind) {
        case CG_NN_POSENC_GEOM_FT: f = DD * M_PI * pow(2.0 / DD, t); break;
        case CG_NN_POSENC_GEOM_FULL: f = DD * M_PI * pow(1.0 / DD / M_PI, t); break;
        case CG_NN_POSENC_GEOM_NOHIGHF: f = D2 * pow(2.0 * M_PI / D2, t); break;
        default: f = D2 * pow(1.0 / D2, t); break; /* GEOM_LOWF */
        }
        freqs[i] = (float)f;
    }
}

void cg_nn_posenc_geom_forward(float *out, const float *coords, const float *freqs, int64_t n, int enc_dim,
                               int zdim) {
    int din = 3 + zdim, dout = 6 * enc_dim + zdim;
    CG_NN_PARALLEL_FOR_IF(n * dout >= CG_NN_PAR_MIN)
    for (int64_t r = 0; r < n; r++) {
        const float *x = coords + r * din;
        float *o = out + r * dout;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < enc_dim; i++) {
                float k = x[c] * freqs[i];
                o[2 * c * enc_dim + i] = sinf(k);
                o[2 * c * enc_dim + enc_dim + i] = cosf(k);
            }
        for (int j = 0; j < zdim; j++) o[6 * enc_dim + j] = x[3 + j];
    }
}

void cg_nn_posenc_geom_backward(float *dcoords, const float *dout_g, const float *coords, const float *freqs,
                                int64_t n, int enc_dim, int zdim) {
    int din = 3 + zdim, dout = 6 * enc_dim + zdim;
    CG_NN_PARALLEL_FOR_IF(n * dout >= CG_NN_PAR_MIN)
    for (int64_t r = 0; r < n; r++) {
        const float *x = coords + r * din, *g = dout_g + r * dout;
        float *dx = dcoords + r * din;
        for (int c = 0; c < 3; c++) {
            float acc = 0;
            for (int i = 0; i < enc_dim; i++) {
                float k = x[c] * freqs[i];
                acc += freqs[i] * (cosf(k) * g[2 * c * enc_dim + i] - sinf(k) * g[2 * c * enc_dim + enc_dim + i]);
            }
            dx[c] += acc;
        }
        for (int j = 0; j < zdim; j++) dx[3 + j] += g[6 * enc_dim + j];
    }
}

void cg_nn_posenc_gaussian_init(float *B, int n_feat, float sigma, uint64_t seed, uint64_t index) {
    cg_rng g;
    cg_rng_init(&g, seed, CG_RNG_STREAM_INIT, index);
    for (int i = 0; i < 3 * n_feat; i++) B[i] = (float)(sigma * cg_rng_normal(&g));
}

void cg_nn_posenc_gaussian_forward(float *out, const float *coords, const float *B, int64_t n, int n_feat,
                                   int zdim, float scale) {
    int din = 3 + zdim, dout = 2 * n_feat + zdim;
    CG_NN_PARALLEL_FOR_IF(n * dout >= CG_NN_PAR_MIN)
    for (int64_t r = 0; r < n; r++) {
        const float *x = coords + r * din;
        float *o = out + r * dout;
        for (int j = 0; j < n_feat; j++) {
            const float *b = B + 3 * j;
            float k = x[0] * (b[0] * scale) + x[1] * (b[1] * scale) + x[2] * (b[2] * scale);
            o[j] = sinf(k);
            o[n_feat + j] = cosf(k);
        }
        for (int j = 0; j < zdim; j++) o[2 * n_feat + j] = x[3 + j];
    }
}

void cg_nn_posenc_gaussian_backward(float *dcoords, const float *dout_g, const float *coords, const float *B,
                                    int64_t n, int n_feat, int zdim, float scale) {
    int din = 3 + zdim, dout = 2 * n_feat + zdim;
    CG_NN_PARALLEL_FOR_IF(n * dout >= CG_NN_PAR_MIN)
    for (int64_t r = 0; r < n; r++) {
        const float *x = coords + r * din, *g = dout_g + r * dout;
        float *dx = dcoords + r * din;
        float a0 = 0, a1 = 0, a2 = 0;
        for (int j = 0; j < n_feat; j++) {
            const float *b = B + 3 * j;
            float k = x[0] * (b[0] * scale) + x[1] * (b[1] * scale) + x[2] * (b[2] * scale);
            float dk = cosf(k) * g[j] - sinf(k) * g[n_feat + j];
            a0 += dk * b[0] * scale, a1 += dk * b[1] * scale, a2 += dk * b[2] * scale;
        }
        dx[0] += a0, dx[1] += a1, dx[2] += a2;
        for (int j = 0; j < zdim; j++) dx[3 + j] += g[2 * n_feat + j];
    }
}

void cg_nn_timestep_embedding_forward(float *out, const float *t, int64_t n, int dim, float max_period) {
    int half = dim / 2;
    for (int64_t r = 0; r < n; r++)
        for (int i = 0; i < half; i++) {
            float f = (float)exp(-log((double)max_period) * i / half), a = t[r] * f;
            out[r * dim + i] = cosf(a);
            out[r * dim + half + i] = sinf(a);
        }
}

void cg_nn_timestep_embedding_backward(float *dt, const float *dout_g, const float *t, int64_t n, int dim,
                                       float max_period) {
    int half = dim / 2;
    for (int64_t r = 0; r < n; r++) {
        double acc = 0;
        for (int i = 0; i < half; i++) {
            float f = (float)exp(-log((double)max_period) * i / half), a = t[r] * f;
            acc += f * (-sinf(a) * dout_g[r * dim + i] + cosf(a) * dout_g[r * dim + half + i]);
        }
        dt[r] += (float)acc;
    }
}

void cg_nn_fourier_embedding_forward(float *out, const float *t, const float *w, int64_t n, int half) {
    const float two_pi = (float)(2.0 * M_PI);
    for (int64_t r = 0; r < n; r++)
        for (int i = 0; i < half; i++) {
            float a = t[r] * w[i] * two_pi;
            out[r * 2 * half + i] = sinf(a);
            out[r * 2 * half + half + i] = cosf(a);
        }
}

void cg_nn_fourier_embedding_backward(float *dt, const float *dout_g, const float *t, const float *w, int64_t n,
                                      int half) {
    const float two_pi = (float)(2.0 * M_PI);
    for (int64_t r = 0; r < n; r++) {
        double acc = 0;
        for (int i = 0; i < half; i++) {
            float a = t[r] * w[i] * two_pi;
            acc += w[i] * two_pi * (cosf(a) * dout_g[r * 2 * half + i] - sinf(a) * dout_g[r * 2 * half + half + i]);
        }
        dt[r] += (float)acc;
    }
}
