/* Average and max pooling (no padding) and nearest-neighbour upsampling on
 * [B][c][d][h][w] (2D: d = 1). Every loop is parallel over (image, channel) planes, each of
 * which owns its output and its input gradient, so there are no races and no atomics;
 * overlapping windows accumulate in window order. Max pooling keeps the first maximum in
 * window order and its backward recomputes the argmax from the input. */
#include <string.h>

#include "cryogen/nn_layers.h"
#include "nn/nn_internal.h"

static cg_status pool_shape(cg_nn_pool_shape *s, int c, int d, int h, int w, int kd, int k, int sd, int stride) {
    *s = (cg_nn_pool_shape){c, d, h, w, kd, k, k, sd, stride, stride, 0, 0, 0};
    if (c <= 0 || d <= 0 || h <= 0 || w <= 0 || k <= 0 || stride <= 0 || kd <= 0 || sd <= 0 || d < kd || h < k || w < k)
        return cg_error(CG_ERR_ARG, "pool: bad shape (c %d, input %dx%dx%d, kernel %d, stride %d)", c, d, h, w, k,
                        stride);
    s->od = (d - kd) / sd + 1, s->oh = (h - k) / stride + 1, s->ow = (w - k) / stride + 1;
    return CG_OK;
}

cg_status cg_nn_pool_shape_2d(cg_nn_pool_shape *s, int c, int h, int w, int k, int stride) {
    return pool_shape(s, c, 1, h, w, 1, k, 1, stride);
}

cg_status cg_nn_pool_shape_3d(cg_nn_pool_shape *s, int c, int d, int h, int w, int k, int stride) {
    return pool_shape(s, c, d, h, w, k, k, stride, stride);
}

static cg_status up_shape(cg_nn_pool_shape *s, int c, int d, int h, int w, int fd, int f) {
    *s = (cg_nn_pool_shape){c, d, h, w, fd, f, f, fd, f, f, d * fd, h * f, w * f};
    if (c <= 0 || d <= 0 || h <= 0 || w <= 0 || f <= 0)
        return cg_error(CG_ERR_ARG, "upsample: bad shape (c %d, input %dx%dx%d, factor %d)", c, d, h, w, f);
    return CG_OK;
}

cg_status cg_nn_upsample_shape_2d(cg_nn_pool_shape *s, int c, int h, int w, int factor) {
    return up_shape(s, c, 1, h, w, 1, factor);
}

cg_status cg_nn_upsample_shape_3d(cg_nn_pool_shape *s, int c, int d, int h, int w, int factor) {
    return up_shape(s, c, d, h, w, factor, factor);
}

#define PLANE_LOOP(s, batch)                                                                         \
    const size_t isz = (size_t)(s)->d * (s)->h * (s)->w, osz = (size_t)(s)->od * (s)->oh * (s)->ow;  \
    const int64_t planes = (batch) * (s)->c;                                                        \
    CG_NN_PARALLEL_FOR_IF(planes * (int64_t)(isz > osz ? isz : osz) >= CG_NN_PAR_MIN)               \
    for (int64_t pl = 0; pl < planes; pl++)

/* Visit window (oz, oy, ox): index of each input element in window order. */
#define WINDOW(s, oz, oy, ox, idx)                                                                   \
    for (int kz = 0; kz < (s)->kd; kz++)                                                             \
        for (int ky = 0; ky < (s)->kh; ky++)                                                         \
            for (int kx = 0; kx < (s)->kw; kx++)                                                     \
                for (size_t idx = (((size_t)((oz) * (s)->sd + kz) * (s)->h + (size_t)((oy) * (s)->sh + ky)) * (s)->w + \
                                   (size_t)((ox) * (s)->sw + kx)),                                   \
                            once_ = 1;                                                               \
                     once_; once_ = 0)

#define OUT_LOOP(s)                                                                                  \
    for (int oz = 0; oz < (s)->od; oz++)                                                             \
        for (int oy = 0; oy < (s)->oh; oy++)                                                         \
            for (int ox = 0; ox < (s)->ow; ox++)

void cg_nn_avgpool_forward(float *out, const float *in, int64_t batch, const cg_nn_pool_shape *s) {
    const float inv = 1.0f / (float)(s->kd * s->kh * s->kw);
    PLANE_LOOP(s, batch) {
        const float *x = in + pl * isz;
        float *o = out + pl * osz;
        OUT_LOOP(s) {
            float acc = 0;
            WINDOW(s, oz, oy, ox, i) acc += x[i];
            o[((size_t)oz * s->oh + oy) * s->ow + ox] = acc * inv;
        }
    }
}

void cg_nn_avgpool_backward(float *din_g, const float *dout_g, int64_t batch, const cg_nn_pool_shape *s) {
    const float inv = 1.0f / (float)(s->kd * s->kh * s->kw);
    PLANE_LOOP(s, batch) {
        float *dx = din_g + pl * isz;
        const float *g = dout_g + pl * osz;
        OUT_LOOP(s) {
            float v = g[((size_t)oz * s->oh + oy) * s->ow + ox] * inv;
            WINDOW(s, oz, oy, ox, i) dx[i] += v;
        }
    }
}

void cg_nn_maxpool_forward(float *out, const float *in, int64_t batch, const cg_nn_pool_shape *s) {
    PLANE_LOOP(s, batch) {
        const float *x = in + pl * isz;
        float *o = out + pl * osz;
        OUT_LOOP(s) {
            float best = -INFINITY;
            WINDOW(s, oz, oy, ox, i) if (x[i] > best) best = x[i];
            o[((size_t)oz * s->oh + oy) * s->ow + ox] = best;
        }
    }
}

void cg_nn_maxpool_backward(float *din_g, const float *dout_g, const float *in, int64_t batch,
                            const cg_nn_pool_shape *s) {
    PLANE_LOOP(s, batch) {
        const float *x = in + pl * isz;
        float *dx = din_g + pl * isz;
        const float *g = dout_g + pl * osz;
        OUT_LOOP(s) {
            float best = -INFINITY;
            size_t arg = 0;
            int first = 1;
            WINDOW(s, oz, oy, ox, i) if (first || x[i] > best) best = x[i], arg = i, first = 0;
            dx[arg] += g[((size_t)oz * s->oh + oy) * s->ow + ox];
        }
    }
}

void cg_nn_upsample_forward(float *out, const float *in, int64_t batch, const cg_nn_pool_shape *s) {
    PLANE_LOOP(s, batch) {
        const float *x = in + pl * isz;
        float *o = out + pl * osz;
        OUT_LOOP(s) o[((size_t)oz * s->oh + oy) * s->ow + ox] =
            x[((size_t)(oz / s->kd) * s->h + (size_t)(oy / s->kh)) * s->w + (size_t)(ox / s->kw)];
    }
}

void cg_nn_upsample_backward(float *din_g, const float *dout_g, int64_t batch, const cg_nn_pool_shape *s) {
    PLANE_LOOP(s, batch) {
        float *dx = din_g + pl * isz;
        const float *g = dout_g + pl * osz;
        OUT_LOOP(s) dx[((size_t)(oz / s->kd) * s->h + (size_t)(oy / s->kh)) * s->w + (size_t)(ox / s->kw)] +=
            g[((size_t)oz * s->oh + oy) * s->ow + ox];
    }
}
