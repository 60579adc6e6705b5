/* Joins for composing networks by hand: channel concatenation (U-Net skip connections),
 * elementwise sums (residual / skip connections) and a per-channel broadcast add (a timestep
 * embedding projected to C channels, added to every position of a feature map).
 * Layouts [B][C][S], S the spatial size (1 for feature vectors). */
#include <string.h>

#include "cryogen/nn_layers.h"
#include "nn/nn_internal.h"

void cg_nn_concat_forward(float *out, const float *a, const float *b, int64_t batch, int ca, int cb, int64_t S) {
    const size_t na = (size_t)ca * S, nb = (size_t)cb * S;
    for (int64_t i = 0; i < batch; i++) {
        memcpy(out + i * (na + nb), a + i * na, na * sizeof(float));
        memcpy(out + i * (na + nb) + na, b + i * nb, nb * sizeof(float));
    }
}

void cg_nn_concat_backward(float *da, float *db, const float *dout_g, int64_t batch, int ca, int cb, int64_t S) {
    const size_t na = (size_t)ca * S, nb = (size_t)cb * S;
    for (int64_t i = 0; i < batch; i++) {
        if (da) cg_nn_acc(da + i * na, dout_g + i * (na + nb), na);
        if (db) cg_nn_acc(db + i * nb, dout_g + i * (na + nb) + na, nb);
    }
}

void cg_nn_add_forward(float *out, const float *a, const float *b, size_t n) {
    CG_NN_PARALLEL_FOR_IF(n >= CG_NN_PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void cg_nn_add_channel_forward(float *out, const float *in, const float *e, int64_t batch, int C, int64_t S) {
    CG_NN_PARALLEL_FOR_IF(batch * C * S >= CG_NN_PAR_MIN)
    for (int64_t bc = 0; bc < batch * C; bc++)
        for (int64_t p = 0; p < S; p++) out[bc * S + p] = in[bc * S + p] + e[bc];
}

void cg_nn_add_channel_backward(float *din_g, float *de, const float *dout_g, int64_t batch, int C, int64_t S) {
    CG_NN_PARALLEL_FOR_IF(batch * C * S >= CG_NN_PAR_MIN)
    for (int64_t bc = 0; bc < batch * C; bc++) {
        double s = 0;
        for (int64_t p = 0; p < S; p++) {
            if (din_g) din_g[bc * S + p] += dout_g[bc * S + p];
            s += dout_g[bc * S + p];
        }
        if (de) de[bc] += (float)s;
    }
}
