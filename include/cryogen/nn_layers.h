/* cryogen neural-network layers: forward/backward pairs on raw float arrays (after llm.c).
 *
 * Conventions, for every function here:
 *  - Outputs first, then inputs, then sizes. No allocation inside: scratch, when needed, is
 *    passed in (its size is given by a *_scratch_floats function).
 *  - Arrays are row-major with the layout written next to each argument: `in[n][din]`,
 *    images `[B][C][H][W]`, volumes `[B][C][D][H][W]`.
 *  - forward WRITES (=) its output. backward ACCUMULATES (+=) into every gradient it receives:
 *    parameter gradients and input gradients alike, so the caller zeroes gradient buffers once
 *    (cg_nn_params_zero_grad, or cg_nn_zero for activation gradients) and skip connections
 *    simply accumulate. A NULL gradient pointer skips that gradient.
 *  - Thread safety: functions are reentrant (no global state); they parallelise internally
 *    with OpenMP and OpenBLAS, so call them from one thread at a time per buffer.
 *  - Determinism: no floating-point atomics; reductions over the batch run in a fixed order
 *    independent of the thread count (BLAS results aside, which depend on its thread count).
 *  - Sizes are validated by the caller (these are kernels); shapes for convolutions and
 *    pooling are built and validated by cg_nn_conv_shape_* / cg_nn_pool_shape_*.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- helpers --------------- */
void cg_nn_zero(float *x, size_t n);                        /* x = 0 */
void cg_nn_acc(float *dst, const float *src, size_t n);     /* dst += src */
void cg_nn_scale(float *x, float s, size_t n);              /* x *= s */
/* Switch OpenBLAS to one thread (for GEMMs called inside OpenMP loops, where OpenBLAS's own pool
 * would fight OpenMP's) and return the previous count; restore it with cg_nn_blas_single_end.
 * Not thread-safe: call from the thread that runs the model. */
int cg_nn_blas_single_begin(void);
void cg_nn_blas_single_end(int saved);
/* Sum of x[0..n) in double, in fixed blocks summed in a fixed order (thread-count independent). */
double cg_nn_sum(const float *x, size_t n);
/* db[d] += sum over rows of g[n][d], columns in parallel, rows in order, double accumulation. */
void cg_nn_colsum_acc(float *db, const float *g, int64_t n, int d);

/* ---------------------------------------------------------------- linear ---------------- */
/* out[n][dout] = in[n][din] . W[dout][din]^T + b[dout]   (b may be NULL). One sgemm. */
void cg_nn_linear_forward(float *out, const float *in, const float *W, const float *b, int64_t n, int din,
                          int dout);
/* din_g[n][din] += dout_g . W;  dW[dout][din] += dout_g^T . in;  db[dout] += colsum(dout_g).
 * Any of din_g, dW, db may be NULL. */
void cg_nn_linear_backward(float *din_g, float *dW, float *db, const float *dout_g, const float *in,
                           const float *W, int64_t n, int din, int dout);
/* Residual linear block (cryoDRGN ResidLinear): out[n][d] = in + in . W^T + b, W[d][d]. */
void cg_nn_resid_linear_forward(float *out, const float *in, const float *W, const float *b, int64_t n, int d);
void cg_nn_resid_linear_backward(float *din_g, float *dW, float *db, const float *dout_g, const float *in,
                                 const float *W, int64_t n, int d);

/* ---------------------------------------------------------------- activations ----------- */
typedef enum {
    CG_NN_ACT_NONE = 0,
    CG_NN_ACT_RELU,
    CG_NN_ACT_LEAKY_RELU, /* x > 0 ? x : slope * x */
    CG_NN_ACT_SILU,       /* x * sigmoid(x) */
    CG_NN_ACT_TANH,
    CG_NN_ACT_SOFTPLUS,   /* log(1 + e^x), linear above x = 20 as in PyTorch */
} cg_nn_act;
const char *cg_nn_act_name(cg_nn_act act);
/* out[n] = f(in[n]); in == out allowed. slope is used by LEAKY_RELU only. */
void cg_nn_act_forward(float *out, const float *in, size_t n, cg_nn_act act, float slope);
/* din_g[n] += dout_g[n] * f'(in[n]) (in = the forward's input). At x = 0, ReLU and LeakyReLU
 * use the derivative from the left (0, slope), as PyTorch does. */
void cg_nn_act_backward(float *din_g, const float *dout_g, const float *in, size_t n, cg_nn_act act, float slope);

/* ---------------------------------------------------------------- positional encodings -- */
/* Geometric Fourier features of cryoDRGN's PositionalDecoder (Zhong et al. 2021, models.py):
 * coordinates in [-0.5, 0.5], D the box size, D2 = D/2, i = 0..enc_dim-1, t = i/(enc_dim-1):
 *   GEOM_LOWF:    f_i = D2 * (1/D2)^t              (wavelengths 2pi*2/D .. 2pi)
 *   GEOM_FT:      f_i = 2*D2*pi * (2/(2*D2))^t     (2/D .. 1)
 *   GEOM_FULL:    f_i = 2*D2*pi * (1/(2*D2*pi))^t  (2/D .. 2pi)
 *   GEOM_NOHIGHF: f_i = D2 * (2pi/D2)^t            (2pi*2/D .. 1)                        */
typedef enum { CG_NN_POSENC_GEOM_LOWF = 0, CG_NN_POSENC_GEOM_FT, CG_NN_POSENC_GEOM_FULL, CG_NN_POSENC_GEOM_NOHIGHF } cg_nn_posenc_kind;
/* freqs[enc_dim] (enc_dim >= 2, D >= 2 even). */
void cg_nn_posenc_geom_freqs(float *freqs, int enc_dim, int D, cg_nn_posenc_kind kind);
/* coords[n][3 + zdim] (x, y, z, then zdim latent values passed through);
 * out[n][6*enc_dim + zdim], per row: for c in x,y,z: sin(c*f_0..), cos(c*f_0..); then z. */
void cg_nn_posenc_geom_forward(float *out, const float *coords, const float *freqs, int64_t n, int enc_dim,
                               int zdim);
/* dcoords[n][3 + zdim] += d out / d coords . dout_g */
void cg_nn_posenc_geom_backward(float *dcoords, const float *dout_g, const float *coords, const float *freqs,
                                int64_t n, int enc_dim, int zdim);
/* Gaussian random Fourier features (Tancik et al. 2020; cryoDRGN "gaussian"): B[n_feat][3]
 * with entries N(0, sigma^2) from the stream (seed, CG_RNG_STREAM_INIT, index). */
void cg_nn_posenc_gaussian_init(float *B, int n_feat, float sigma, uint64_t seed, uint64_t index);
/* k_j = scale * sum_c coords[c] * B[j][c]; out[n][2*n_feat + zdim] = sin(k), cos(k), z.
 * (cryoDRGN uses scale = D/2.) */
void cg_nn_posenc_gaussian_forward(float *out, const float *coords, const float *B, int64_t n, int n_feat,
                                   int zdim, float scale);
void cg_nn_posenc_gaussian_backward(float *dcoords, const float *dout_g, const float *coords, const float *B,
                                    int64_t n, int n_feat, int zdim, float scale);
/* Sinusoidal timestep embedding (DDPM / "Attention is all you need"): half = dim/2,
 * f_i = max_period^(-i/half), out[n][dim] = cos(t*f_0..f_{half-1}), sin(t*f_0..); dim even. */
void cg_nn_timestep_embedding_forward(float *out, const float *t, int64_t n, int dim, float max_period);
void cg_nn_timestep_embedding_backward(float *dt, const float *dout_g, const float *t, int64_t n, int dim,
                                       float max_period);
/* Gaussian Fourier noise-level embedding (Song et al. 2021): w[half] fixed random,
 * out[n][2*half] = sin(2 pi t w), cos(2 pi t w). */
void cg_nn_fourier_embedding_forward(float *out, const float *t, const float *w, int64_t n, int half);
void cg_nn_fourier_embedding_backward(float *dt, const float *dout_g, const float *t, const float *w, int64_t n,
                                      int half);

/* ---------------------------------------------------------------- convolution ----------- */
/* Shape of a 2D or 3D convolution (2D: d = kd = sd = 1, pd = 0). Input [B][cin][d][h][w],
 * weight [cout][cin][kd][kh][kw], bias [cout], output [B][cout][od][oh][ow] with
 * o = (i + 2p - k)/s + 1. */
typedef struct {
    int cin, cout;
    int d, h, w;    /* input extent */
    int kd, kh, kw; /* kernel */
    int sd, sh, sw; /* stride */
    int pd, ph, pw; /* zero padding */
    int od, oh, ow; /* output extent (computed) */
} cg_nn_conv_shape;
/* Fill and validate (CG_ERR_ARG with a message on a non-positive size or empty output). */
cg_status cg_nn_conv_shape_2d(cg_nn_conv_shape *s, int cin, int cout, int h, int w, int k, int stride, int pad);
cg_status cg_nn_conv_shape_3d(cg_nn_conv_shape *s, int cin, int cout, int d, int h, int w, int k, int stride,
                              int pad);
/* Floats of scratch that forward/backward need (the im2col matrix of one image; 0 for a
 * 1x1x1 kernel with stride 1 and no padding). */
size_t cg_nn_conv_scratch_floats(const cg_nn_conv_shape *s);
/* out = conv(in, W) + b by im2col + sgemm per image. b may be NULL. */
void cg_nn_conv_forward(float *out, const float *in, const float *W, const float *b, int64_t batch,
                        const cg_nn_conv_shape *s, float *scratch);
/* din_g += conv^T(dout_g, W) (col2im); dW += dout_g . im2col(in)^T summed over images in
 * order; db += sum over images and positions. NULL skips. */
void cg_nn_conv_backward(float *din_g, float *dW, float *db, const float *dout_g, const float *in, const float *W,
                         int64_t batch, const cg_nn_conv_shape *s, float *scratch);

/* ---------------------------------------------------------------- pooling / resampling -- */
/* Pooling window over [B][c][d][h][w] (2D: d = kd = sd = 1): no padding, o = (i - k)/s + 1.
 * Also used for nearest-neighbour upsampling by factor k (o = i*k, s ignored). */
typedef struct {
    int c;
    int d, h, w;
    int kd, kh, kw;
    int sd, sh, sw;
    int od, oh, ow;
} cg_nn_pool_shape;
cg_status cg_nn_pool_shape_2d(cg_nn_pool_shape *s, int c, int h, int w, int k, int stride);
cg_status cg_nn_pool_shape_3d(cg_nn_pool_shape *s, int c, int d, int h, int w, int k, int stride);
/* Upsampling shape: output = input * factor in every (2D: h, w) dimension. */
cg_status cg_nn_upsample_shape_2d(cg_nn_pool_shape *s, int c, int h, int w, int factor);
cg_status cg_nn_upsample_shape_3d(cg_nn_pool_shape *s, int c, int d, int h, int w, int factor);
void cg_nn_avgpool_forward(float *out, const float *in, int64_t batch, const cg_nn_pool_shape *s);
void cg_nn_avgpool_backward(float *din_g, const float *dout_g, int64_t batch, const cg_nn_pool_shape *s);
/* Max pooling; ties go to the first element in window order (d, h, w). Backward recomputes
 * the argmax from `in` (no index buffer). */
void cg_nn_maxpool_forward(float *out, const float *in, int64_t batch, const cg_nn_pool_shape *s);
void cg_nn_maxpool_backward(float *din_g, const float *dout_g, const float *in, int64_t batch,
                            const cg_nn_pool_shape *s);
/* Nearest-neighbour upsampling: out[B][c][od][oh][ow] = in[..][z/k][y/k][x/k]; with a
 * following convolution this is the "upsample + conv" alternative to transposed convolution. */
void cg_nn_upsample_forward(float *out, const float *in, int64_t batch, const cg_nn_pool_shape *s);
void cg_nn_upsample_backward(float *din_g, const float *dout_g, int64_t batch, const cg_nn_pool_shape *s);

/* ---------------------------------------------------------------- normalisation --------- */
/* Group normalisation (Wu & He 2018) of in[B][C][S] (S = spatial size) with G groups (C % G
 * == 0); instance normalisation is G = C. gamma, beta [C] (NULL: 1, 0). Statistics use the
 * biased variance in double: y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps).
 * mean, rstd [B][G] are written by forward and read by backward. */
void cg_nn_groupnorm_forward(float *out, float *mean, float *rstd, const float *in, const float *gamma,
                             const float *beta, int64_t batch, int C, int64_t S, int G, float eps);
void cg_nn_groupnorm_backward(float *din_g, float *dgamma, float *dbeta, const float *dout_g, const float *in,
                              const float *mean, const float *rstd, const float *gamma, int64_t batch, int C,
                              int64_t S, int G);

/* ---------------------------------------------------------------- attention ------------- */
/* Single-head self-attention over the S positions of a feature map (DDPM / EDM U-Nets):
 * qkv[B][3C][S] holds q, k, v (C channels each); L[i][j] = q[:,i].k[:,j] / sqrt(C),
 * att[B][S][S] = softmax_j(L) (written, read by backward), out[B][C][S] = v att^T. */
void cg_nn_attention_forward(float *out, float *att, const float *qkv, int64_t batch, int C, int64_t S);
/* dqkv[B][3C][S] += d/dqkv given dout_g[B][C][S]; scratch: S*S floats. */
void cg_nn_attention_backward(float *dqkv, float *scratch, const float *dout_g, const float *qkv, const float *att,
                              int64_t batch, int C, int64_t S);

/* ---------------------------------------------------------------- joins ----------------- */
/* Channel concatenation: out[B][ca+cb][S] = a[B][ca][S] ++ b[B][cb][S]; for feature vectors
 * S = 1. Backward splits: da += dout[:, :ca], db += dout[:, ca:]. */
void cg_nn_concat_forward(float *out, const float *a, const float *b, int64_t batch, int ca, int cb, int64_t S);
void cg_nn_concat_backward(float *da, float *db, const float *dout_g, int64_t batch, int ca, int cb, int64_t S);
/* Skip connection / sum: out[n] = a[n] + b[n]. Backward is cg_nn_acc on each branch. */
void cg_nn_add_forward(float *out, const float *a, const float *b, size_t n);
/* Per-channel broadcast add (e.g. a timestep embedding into a feature map):
 * out[B][C][S] = in[B][C][S] + e[B][C]. Backward: din += dout, de[B][C] += sum_S dout. */
void cg_nn_add_channel_forward(float *out, const float *in, const float *e, int64_t batch, int C, int64_t S);
void cg_nn_add_channel_backward(float *din_g, float *de, const float *dout_g, int64_t batch, int C, int64_t S);

#ifdef __cplusplus
}
#endif
