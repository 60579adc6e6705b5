/* 2D and 3D convolution (stride, zero padding) by im2col + sgemm, one image at a time
 * (Chellapilla et al. 2006; Caffe). A 2D convolution is the 3D one with depth 1.
 * Layouts: in [B][cin][d][h][w], W [cout][cin][kd][kh][kw] (PyTorch), b [cout],
 * out [B][cout][od][oh][ow]; the im2col matrix of one image is col[K][P] with
 * K = cin*kd*kh*kw (row k = ((c*kd + z)*kh + y)*kw + x) and P = od*oh*ow.
 *   forward:  out_b = W[cout][K] . col_b + b
 *   backward: dW += dout_b . col_b^T (images in order, sgemm beta 1);
 *             dcol = W^T . dout_b, scattered back by col2im (parallel over channels, each
 *             channel's rows in a fixed order: deterministic);
 *             db += sums over positions, images in order, in double.
 * im2col+sgemm was chosen over a direct loop nest: the GEMM runs near peak and the copy is
 * O(K*P), small beside the O(cout*K*P) product for the kernel sizes a U-Net uses.
 * A 1x1x1 kernel with stride 1 and no padding skips im2col (col_b is the image itself). */
#include <cblas.h>
#include <string.h>

#include "cryogen/nn_layers.h"
#include "nn/nn_internal.h"

static cg_status fill_shape(cg_nn_conv_shape *s) {
    int bad = s->cin <= 0 || s->cout <= 0 || s->d <= 0 || s->h <= 0 || s->w <= 0 || s->kd <= 0 || s->kh <= 0 ||
              s->kw <= 0 || s->sd <= 0 || s->sh <= 0 || s->sw <= 0 || s->pd < 0 || s->ph < 0 || s->pw < 0;
    if (!bad) {
        s->od = (s->d + 2 * s->pd - s->kd) / s->sd + 1;
        s->oh = (s->h + 2 * s->ph - s->kh) / s->sh + 1;
        s->ow = (s->w + 2 * s->pw - s->kw) / s->sw + 1;
        bad = s->d + 2 * s->pd < s->kd || s->h + 2 * s->ph < s->kh || s->w + 2 * s->pw < s->kw;
    }
    if (bad)
        return cg_error(CG_ERR_ARG, "conv: bad shape (cin %d, cout %d, input %dx%dx%d, kernel %dx%dx%d, stride %d, pad %d)",
                        s->cin, s->cout, s->d, s->h, s->w, s->kd, s->kh, s->kw, s->sh, s->ph);
    return CG_OK;
}

cg_status cg_nn_conv_shape_2d(cg_nn_conv_shape *s, int cin, int cout, int h, int w, int k, int stride, int pad) {
    *s = (cg_nn_conv_shape){cin, cout, 1, h, w, 1, k, k, 1, stride, stride, 0, pad, pad, 0, 0, 0};
    return fill_shape(s);
}

cg_status cg_nn_conv_shape_3d(cg_nn_conv_shape *s, int cin, int cout, int d, int h, int w, int k, int stride,
                              int pad) {
    *s = (cg_nn_conv_shape){cin, cout, d, h, w, k, k, k, stride, stride, stride, pad, pad, pad, 0, 0, 0};
    return fill_shape(s);
}

static int is_pointwise(const cg_nn_conv_shape *s) {
    return s->kd == 1 && s->kh == 1 && s->kw == 1 && s->sd == 1 && s->sh == 1 && s->sw == 1 && s->pd == 0 &&
           s->ph == 0 && s->pw == 0;
}

size_t cg_nn_conv_scratch_floats(const cg_nn_conv_shape *s) {
    if (is_pointwise(s)) return 0;
    return (size_t)s->cin * s->kd * s->kh * s->kw * (size_t)s->od * s->oh * s->ow;
}

/* col[K][P] from one image in[cin][d][h][w]. */
static void im2col(float *col, const float *in, const cg_nn_conv_shape *s) {
    const int K = s->cin * s->kd * s->kh * s->kw;
    const size_t P = (size_t)s->od * s->oh * s->ow;
    CG_NN_PARALLEL_FOR_IF((size_t)K * P >= CG_NN_PAR_MIN)
    for (int k = 0; k < K; k++) {
        int kx = k % s->kw, ky = (k / s->kw) % s->kh, kz = (k / (s->kw * s->kh)) % s->kd, c = k / (s->kw * s->kh * s->kd);
        const float *src = in + (size_t)c * s->d * s->h * s->w;
        float *dst = col + (size_t)k * P;
        for (int oz = 0; oz < s->od; oz++) {
            int iz = oz * s->sd - s->pd + kz;
            for (int oy = 0; oy < s->oh; oy++) {
                int iy = oy * s->sh - s->ph + ky;
                float *row = dst + ((size_t)oz * s->oh + oy) * s->ow;
                if (iz < 0 || iz >= s->d || iy < 0 || iy >= s->h) {
                    memset(row, 0, (size_t)s->ow * sizeof(float));
                    continue;
                }
                const float *srow = src + ((size_t)iz * s->h + iy) * s->w;
                for (int ox = 0; ox < s->ow; ox++) {
                    int ix = ox * s->sw - s->pw + kx;
                    row[ox] = ix >= 0 && ix < s->w ? srow[ix] : 0.0f;
                }
            }
        }
    }
}

/* din[cin][d][h][w] += col2im(col); parallel over input channels. */
static void col2im_acc(float *din, const float *col, const cg_nn_conv_shape *s) {
    const int kvol = s->kd * s->kh * s->kw;
    const size_t P = (size_t)s->od * s->oh * s->ow;
    CG_NN_PARALLEL_FOR_IF((size_t)s->cin * kvol * P >= CG_NN_PAR_MIN)
    for (int c = 0; c < s->cin; c++) {
        float *dst = din + (size_t)c * s->d * s->h * s->w;
        for (int kk = 0; kk < kvol; kk++) {
            int kx = kk % s->kw, ky = (kk / s->kw) % s->kh, kz = kk / (s->kw * s->kh);
            const float *src = col + ((size_t)c * kvol + kk) * P;
            for (int oz = 0; oz < s->od; oz++) {
                int iz = oz * s->sd - s->pd + kz;
                if (iz < 0 || iz >= s->d) continue;
                for (int oy = 0; oy < s->oh; oy++) {
                    int iy = oy * s->sh - s->ph + ky;
                    if (iy < 0 || iy >= s->h) continue;
                    const float *row = src + ((size_t)oz * s->oh + oy) * s->ow;
                    float *drow = dst + ((size_t)iz * s->h + iy) * s->w;
                    for (int ox = 0; ox < s->ow; ox++) {
                        int ix = ox * s->sw - s->pw + kx;
                        if (ix >= 0 && ix < s->w) drow[ix] += row[ox];
                    }
                }
            }
        }
    }
}

void cg_nn_conv_forward(float *out, const float *in, const float *W, const float *b, int64_t batch,
                        const cg_nn_conv_shape *s, float *scratch) {
    const int K = s->cin * s->kd * s->kh * s->kw;
    const size_t P = (size_t)s->od * s->oh * s->ow, in_sz = (size_t)s->cin * s->d * s->h * s->w;
    const int pw = is_pointwise(s);
    for (int64_t i = 0; i < batch; i++) {
        const float *col = in + i * in_sz;
        if (!pw) im2col(scratch, col, s), col = scratch;
        float *o = out + i * (size_t)s->cout * P;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cout, (int)P, K, 1.0f, W, K, col, (int)P, 0.0f, o,
                    (int)P);
        if (b)
            for (int c = 0; c < s->cout; c++)
                for (size_t p = 0; p < P; p++) o[c * P + p] += b[c];
    }
}

void cg_nn_conv_backward(float *din_g, float *dW, float *db, const float *dout_g, const float *in, const float *W,
                         int64_t batch, const cg_nn_conv_shape *s, float *scratch) {
    const int K = s->cin * s->kd * s->kh * s->kw;
    const size_t P = (size_t)s->od * s->oh * s->ow, in_sz = (size_t)s->cin * s->d * s->h * s->w;
    const int pw = is_pointwise(s);
    for (int64_t i = 0; i < batch; i++) {
        const float *g = dout_g + i * (size_t)s->cout * P;
        if (dW) {
            const float *col = in + i * in_sz;
            if (!pw) im2col(scratch, col, s), col = scratch;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cout, K, (int)P, 1.0f, g, (int)P, col, (int)P, 1.0f,
                        dW, K);
        }
        if (din_g) {
            float *di = din_g + i * in_sz;
            if (pw) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)P, s->cout, 1.0f, W, K, g, (int)P, 1.0f, di,
                            (int)P);
            } else {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)P, s->cout, 1.0f, W, K, g, (int)P, 0.0f,
                            scratch, (int)P);
                col2im_acc(di, scratch, s);
            }
        }
        if (db)
            for (int c = 0; c < s->cout; c++) {
                double acc = 0;
                for (size_t p = 0; p < P; p++) acc += g[c * P + p];
                db[c] += (float)acc;
            }
    }
}
