/* Private helpers of the neural-network module: OpenMP pragmas that vanish without OpenMP,
 * and thresholds below which loops stay serial. Not installed. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef CG_HAVE_OPENMP
#include <omp.h>
#define CG_NN_PRAGMA(x) _Pragma(#x)
#else
#define CG_NN_PRAGMA(x)
#endif
/* Parallel for over an outer loop when it has at least `work` floats of work. */
#define CG_NN_PARALLEL_FOR_IF(cond) CG_NN_PRAGMA(omp parallel for schedule(static) if (cond))
/* Below this many elements an elementwise loop is not worth waking threads for. */
#define CG_NN_PAR_MIN 32768

/* Number of fixed chunks for deterministic reductions (independent of thread count). */
#define CG_NN_RED_CHUNKS 64

#include <math.h>

#include "cryogen/nn_layers.h"

/* Activation value and derivative at the input x (per element, inlined into fused loops). */
static inline float cg_nn__act_f(float x, cg_nn_act act, float slope) {
    switch (act) {
    case CG_NN_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case CG_NN_ACT_LEAKY_RELU: return x > 0.0f ? x : slope * x;
    case CG_NN_ACT_SILU: return x / (1.0f + expf(-x));
    case CG_NN_ACT_TANH: return tanhf(x);
    case CG_NN_ACT_SOFTPLUS: return x > 20.0f ? x : log1pf(expf(x));
    default: return x;
    }
}
static inline float cg_nn__act_df(float x, cg_nn_act act, float slope) {
    switch (act) {
    case CG_NN_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case CG_NN_ACT_LEAKY_RELU: return x > 0.0f ? 1.0f : slope;
    case CG_NN_ACT_SILU: {
        float s = 1.0f / (1.0f + expf(-x));
        return s * (1.0f + x * (1.0f - s));
    }
    case CG_NN_ACT_TANH: {
        float t = tanhf(x);
        return 1.0f - t * t;
    }
    case CG_NN_ACT_SOFTPLUS: return x > 20.0f ? 1.0f : 1.0f / (1.0f + expf(-x));
    default: return 1.0f;
    }
}
/* Whether the derivative can be computed from the output y = f(x) alone (all but SiLU), and
 * that derivative (slope > 0 assumed for LeakyReLU, so sign(y) = sign(x)). */
static inline int cg_nn__act_df_from_output_ok(cg_nn_act act) { return act != CG_NN_ACT_SILU; }
static inline float cg_nn__act_df_from_output(float y, cg_nn_act act, float slope) {
    switch (act) {
    case CG_NN_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case CG_NN_ACT_LEAKY_RELU: return y > 0.0f ? 1.0f : slope;
    case CG_NN_ACT_TANH: return 1.0f - y * y;
    case CG_NN_ACT_SOFTPLUS: return y > 20.0f ? 1.0f : -expm1f(-y); /* sigmoid(x) = 1 - e^-y */
    default: return 1.0f;
    }
}
