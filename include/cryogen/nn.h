/* cryogen neural-network core: parameter store, a sequential (residual) MLP container and
 * versioned checkpoints. The layer kernels are in nn_layers.h, losses in nn_loss.h, the
 * optimisers, schedules and initialisers in nn_optim.h; this header includes all three.
 * The module knows nothing of cryo-EM.
 *
 * Conventions (after llm.c, see docs/nn.md):
 *  - All parameters of a model live in ONE flat float buffer `param`, with one flat buffer
 *    each for gradients (`grad`), the optimiser moments (`m`, `v`) and optionally an
 *    exponential moving average (`ema`), all with the same layout. A table of named views
 *    (`cg_nn_tensor`) gives each tensor's offset and shape. Adam is one loop, a checkpoint is
 *    one table walk, an all-reduce would be one call.
 *  - Arrays are row-major; each declaration states its layout, e.g. W[Dout][Din].
 *  - Backward passes ACCUMULATE (+=) into parameter gradients; zero_grad clears them.
 *  - Activations and scratch come from an arena sized once per batch shape; no kernel allocates.
 *  - Determinism: no floating-point atomics; reductions over rows use fixed-size blocks summed
 *    in a fixed order, so a run with the same seed and thread count gives the same bytes.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cryogen/core.h"
#include "cryogen/nn_layers.h"
#include "cryogen/nn_loss.h"
#include "cryogen/nn_optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- parameter store ------- */
#define CG_NN_NAME_MAX 64 /* tensor name length including the terminating NUL */
#define CG_NN_MAX_DIM 6

/* A named view into the flat buffers. Offsets are in floats and 16-float (64-byte) aligned;
 * the padding between tensors stays zero in every buffer. */
typedef struct {
    char name[CG_NN_NAME_MAX];
    int ndim;
    int64_t shape[CG_NN_MAX_DIM];
    size_t offset; /* first float of this tensor in param/grad/m/v/ema */
    size_t count;  /* product of shape */
} cg_nn_tensor;

typedef struct cg_nn_params {
    cg_nn_tensor *tensors;
    int n_tensors, cap_tensors;
    size_t count;   /* floats in each flat buffer (with alignment padding) */
    float *param;   /* [count] */
    float *grad;    /* [count] */
    float *m, *v;   /* [count] Adam first/second moments */
    float *ema;     /* [count] exponential moving average of param, or NULL (cg_nn_params_enable_ema) */
    int64_t step;   /* optimiser steps taken (Adam bias correction uses step+1) */
} cg_nn_params;

/* Start an empty store (no allocation). */
void cg_nn_params_init(cg_nn_params *p);
/* Declare a tensor before cg_nn_params_alloc. shape[ndim] with ndim in 1..CG_NN_MAX_DIM, every
 * extent > 0. *index (optional) receives the tensor's index for cg_nn_param()/cg_nn_grad().
 * Errors: CG_ERR_ARG (bad shape, duplicate or over-long name, store already allocated),
 * CG_ERR_NOMEM. */
cg_status cg_nn_params_add(cg_nn_params *p, const char *name, int ndim, const int64_t *shape, int *index);
/* Allocate param (zeroed), grad, m, v (zeroed), 64-byte aligned. Call once, after all adds. */
cg_status cg_nn_params_alloc(cg_nn_params *p);
/* Allocate the EMA buffer and copy the current parameters into it. */
cg_status cg_nn_params_enable_ema(cg_nn_params *p);
/* Free all buffers and the table; p is left empty. Accepts NULL. */
void cg_nn_params_free(cg_nn_params *p);
/* Index of the tensor called `name`, or -1. */
int cg_nn_params_find(const cg_nn_params *p, const char *name);
static inline float *cg_nn_param(const cg_nn_params *p, int i) { return p->param + p->tensors[i].offset; }
static inline float *cg_nn_grad(const cg_nn_params *p, int i) { return p->grad + p->tensors[i].offset; }
/* grad = 0 over the whole flat buffer. */
void cg_nn_params_zero_grad(cg_nn_params *p);
/* Copy parameter values (not gradients or state) from src to dst; same table required. */
cg_status cg_nn_params_copy(cg_nn_params *dst, const cg_nn_params *src);

/* ---------------------------------------------------------------- MLP container --------- */
/* A sequential MLP in the shape of cryoDRGN's ResidLinearMLP:
 *   layer 0:            Linear(in_dim -> hidden_dim), activation
 *   layers 1..n_hidden: Linear(hidden -> hidden), activation      (residual: x + Wx + b)
 *   last layer:         Linear(hidden_dim -> out_dim), no activation
 * With `residual`, every layer whose input and output widths agree adds its input (layer 0
 * when in_dim == hidden_dim, the last when hidden_dim == out_dim, all hidden layers).
 * Parameters are named "l<i>.weight" [Dout][Din] and "l<i>.bias" [Dout] (PyTorch layout). */
typedef struct {
    int in_dim, hidden_dim, out_dim;
    int n_hidden;        /* hidden->hidden layers; total layers = n_hidden + 2 */
    int residual;        /* 0/1 */
    cg_nn_act act;       /* activation after every layer but the last */
    float leaky_slope;   /* for CG_NN_ACT_LEAKY_RELU */
    cg_nn_init init;     /* weight initialisation (biases: see cg_nn_init_tensor) */
} cg_nn_mlp_config;

typedef struct cg_nn_mlp cg_nn_mlp;
/* Threads: forward and backward parallelise with OpenMP over fixed row chunks and switch
 * OpenBLAS to one thread for their duration (restored on return), so do not call BLAS from
 * another thread meanwhile; one model must not be used from two threads at once. Results
 * do not depend on the OpenMP thread count. */

/* Build the model: parameter table, flat buffers, initial weights from the Philox stream
 * (seed, CG_RNG_STREAM_INIT, tensor index). No activation memory yet (see reserve).
 * *out is owned by the caller and freed with cg_nn_mlp_destroy. Errors: CG_ERR_ARG, NOMEM. */
cg_status cg_nn_mlp_create(cg_nn_mlp **out, const cg_nn_mlp_config *cfg, uint64_t seed);
void cg_nn_mlp_destroy(cg_nn_mlp *m); /* accepts NULL */
/* Size the activation arena for batches of up to max_rows rows (once per batch shape; a
 * larger later batch needs another reserve). Errors: CG_ERR_ARG, CG_ERR_NOMEM. */
cg_status cg_nn_mlp_reserve(cg_nn_mlp *m, int64_t max_rows);
/* Forward pass of n rows: in[n][in_dim] -> *out[n][out_dim] (a pointer into the model's
 * arena, valid until the next forward). `in` must stay unchanged until backward returns (it
 * is read again for the first layer's weight gradient). Errors: CG_ERR_ARG (n > reserved). */
cg_status cg_nn_mlp_forward(cg_nn_mlp *m, const float *in, int64_t n, const float **out);
void cg_nn_mlp_zero_grad(cg_nn_mlp *m);
/* Backward of the last forward: dout[n][out_dim] = dLoss/dout. Parameter gradients +=;
 * din[n][in_dim] (optional, NULL to skip) is WRITTEN (=) with dLoss/din. dout is not modified.
 * Errors: CG_ERR_ARG when no forward preceded. */
cg_status cg_nn_mlp_backward(cg_nn_mlp *m, const float *dout, float *din);
/* The same backward (parameter gradients +=) when only input columns [col0, col0 + ncol) are
 * wanted, each shared by consecutive groups of `group` rows (e.g. a latent code repeated on
 * every row of an image): dshared[n / group][ncol] (=) = sum over the group's rows of
 * dLoss/din at those columns. Skips the first layer's full input gradient (n x in_dim x
 * hidden multiply-adds): the rows' output gradients are summed per group first (in double),
 * then multiplied by the first layer's weight columns; equal to summing cg_nn_mlp_backward's
 * din up to float rounding, independent of the thread count. Errors: CG_ERR_ARG (no forward,
 * n not a multiple of group, columns out of range), CG_ERR_NOMEM. */
cg_status cg_nn_mlp_backward_shared(cg_nn_mlp *m, const float *dout, int64_t group, int col0, int ncol, float *dshared);
/* One Adam/AdamW step on all parameters at learning rate lr (see cg_nn_adam_step). */
void cg_nn_mlp_update(cg_nn_mlp *m, const cg_nn_adam_config *opt, float lr);
/* The model's parameter store (for checkpoints, clipping, EMA, named access). */
cg_nn_params *cg_nn_mlp_params(cg_nn_mlp *m);
const cg_nn_mlp_config *cg_nn_mlp_get_config(const cg_nn_mlp *m);
/* Floating-point operations of one forward and one backward (with input gradient or not) for
 * n rows: 2 multiply-adds per weight per row for each GEMM. */
double cg_nn_mlp_flops(const cg_nn_mlp_config *cfg, int64_t n, int with_din);

/* ---------------------------------------------------------------- checkpoints ----------- */
/* Versioned binary checkpoint, little-endian:
 *   "CGNNCKP\0" magic (8 bytes), u32 version (=1), u32 flags (bit0 Adam state, bit1 EMA),
 *   i64 step, u32 n_tensors, u32 config_bytes,
 *   per tensor: u32 name_len, name bytes, u32 ndim, i64 shape[ndim],
 *   config blob [config_bytes] (opaque to this module: the caller's model configuration),
 *   data: every tensor's param floats in table order, then m, then v (bit0), then ema (bit1),
 *   u64 FNV-1a hash of all bytes before it.
 * Written under a temporary name and renamed into place (cg_outfile). */
#define CG_NN_CKPT_VERSION 1u
typedef enum { CG_NN_CKPT_PARAMS = 0, CG_NN_CKPT_WITH_OPTIM = 1, CG_NN_CKPT_WITH_EMA = 2 } cg_nn_ckpt_flags;

/* Write p (params, plus Adam state / EMA per flags) and the config blob. Errors: CG_ERR_IO,
 * CG_ERR_ARG (EMA requested but not enabled). */
cg_status cg_nn_checkpoint_save(const char *path, const cg_nn_params *p, int flags, const void *config,
                                uint32_t config_bytes);
/* Read the config blob only (to build a matching model first). *config_bytes receives its
 * size; up to cap bytes are copied to config (may be NULL with cap 0). */
cg_status cg_nn_checkpoint_read_config(const char *path, void *config, size_t cap, uint32_t *config_bytes);
/* The flags word of a checkpoint (cg_nn_ckpt_flags bits: what it holds besides the
 * parameters), after validating its magic and version. */
cg_status cg_nn_checkpoint_read_flags(const char *path, uint32_t *flags);
/* Load into an allocated store whose table must match the file exactly (same names, order,
 * shapes); Adam state and EMA are loaded when present in the file (EMA only if enabled in
 * p; an EMA enabled in p that the file does not hold is set to the loaded parameters). Validates magic, version, table, sizes, the hash; on any mismatch returns
 * CG_ERR_FORMAT with a message naming the file and the first difference, and leaves p's
 * values unspecified. config (optional) must then match the stored blob byte for byte. */
cg_status cg_nn_checkpoint_load(const char *path, cg_nn_params *p, const void *expect_config,
                                uint32_t expect_config_bytes);

#ifdef __cplusplus
}
#endif
