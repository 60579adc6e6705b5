/* Elementwise activations: ReLU, LeakyReLU, SiLU, tanh, softplus (PyTorch definitions, with
 * softplus linear above x = 20 and the left derivative at the ReLU kink). forward writes,
 * backward accumulates din_g += dout_g * f'(x). */
#include "cryogen/nn_layers.h"
#include "nn/nn_internal.h"

const char *cg_nn_act_name(cg_nn_act act) {
    switch (act) {
    case CG_NN_ACT_NONE: return "none";
    case CG_NN_ACT_RELU: return "relu";
    case CG_NN_ACT_LEAKY_RELU: return "leaky_relu";
    case CG_NN_ACT_SILU: return "silu";
    case CG_NN_ACT_TANH: return "tanh";
    case CG_NN_ACT_SOFTPLUS: return "softplus";
    }
    return "unknown";
}

void cg_nn_act_forward(float *out, const float *in, size_t n, cg_nn_act act, float slope) {
    CG_NN_PARALLEL_FOR_IF(n >= CG_NN_PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = cg_nn__act_f(in[i], act, slope);
}

void cg_nn_act_backward(float *din_g, const float *dout_g, const float *in, size_t n, cg_nn_act act, float slope) {
    CG_NN_PARALLEL_FOR_IF(n >= CG_NN_PAR_MIN)
    for (size_t i = 0; i < n; i++) din_g[i] += dout_g[i] * cg_nn__act_df(in[i], act, slope);
}
