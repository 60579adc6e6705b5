/* Benchmark: one training step (forward, backward, Adam) of an MLP shaped like the VAE
 * decoder (cryoDRGN ResidLinearMLP: input 200, Linear 200->256 + ReLU, 3 residual layers of
 * 256 with ReLU, Linear 256->2), batch 16 images x 1,605 points = 25,680 rows, no input
 * gradient. Reports images/s and GFLOP/s of the best step (2 flops per multiply-add of the
 * GEMMs; elementwise work is not counted), next to the OpenBLAS sgemm rate measured in the
 * same run, alternating with the steps, on exactly the GEMM shapes of the step (forward,
 * weight and input gradients) as whole-matrix OpenBLAS-threaded calls.
 *
 * usage: bench_nn [--threads N] [--steps S] [--warmup W]   (default: threads 1 and 2)
 * Threads are set consistently for OpenMP and OpenBLAS (openblas_set_num_threads).
 * cpu_ms_best is the process CPU time of the best step: with one thread it is a measure that
 * other jobs on a shared machine barely disturb. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/nn.h"

void openblas_set_num_threads(int num_threads);

enum { IMAGES = 16, POINTS = 1605, ROWS = IMAGES * POINTS };

typedef struct {
    int m, n, k, ta, tb;
} gemm_shape;

/* The GEMMs of one step: per layer forward (rows x out x in), dW (out x in x rows) and,
 * except for the first layer, dX (rows x in x out). */
static int step_gemms(const cg_nn_mlp_config *c, gemm_shape *g) {
    int nl = c->n_hidden + 2, k = 0;
    for (int i = 0; i < nl; i++) {
        int din = i == 0 ? c->in_dim : c->hidden_dim, dout = i == nl - 1 ? c->out_dim : c->hidden_dim;
        g[k++] = (gemm_shape){ROWS, dout, din, 0, 1};
        g[k++] = (gemm_shape){dout, din, ROWS, 1, 0};
        if (i > 0) g[k++] = (gemm_shape){ROWS, din, dout, 0, 0};
    }
    return k;
}

/* One pass over the step's GEMM shapes with whole-matrix, OpenBLAS-threaded sgemm calls. */
static double time_sgemm(const cg_nn_mlp_config *c, float *A, float *B, float *C) {
    gemm_shape g[64];
    int n = step_gemms(c, g);
    double t0 = cg_time_s();
    for (int i = 0; i < n; i++) {
        int lda = g[i].ta ? g[i].m : g[i].k, ldb = g[i].tb ? g[i].k : g[i].n;
        cblas_sgemm(CblasRowMajor, g[i].ta ? CblasTrans : CblasNoTrans, g[i].tb ? CblasTrans : CblasNoTrans, g[i].m,
                    g[i].n, g[i].k, 1.0f, A, lda, B, ldb, 0.0f, C, g[i].n);
    }
    return cg_time_s() - t0;
}

static int run(int threads, int steps, int warmup) {
    openblas_set_num_threads(threads);
    cg_set_threads(threads);
    cg_nn_mlp_config cfg = {.in_dim = 200, .hidden_dim = 256, .out_dim = 2, .n_hidden = 3, .residual = 1,
                            .act = CG_NN_ACT_RELU, .init = CG_NN_INIT_TORCH};
    cg_nn_mlp *m;
    if (cg_nn_mlp_create(&m, &cfg, 1) != CG_OK || cg_nn_mlp_reserve(m, ROWS) != CG_OK) {
        fprintf(stderr, "bench_nn: %s\n", cg_last_error());
        return 1;
    }
    float *x = cg_alloc_aligned((size_t)ROWS * 200, 4, "x"), *y = cg_alloc_aligned((size_t)ROWS * 2, 4, "y");
    float *dout = cg_alloc_aligned((size_t)ROWS * 2, 4, "dout");
    float *A = cg_alloc_aligned((size_t)ROWS * 256, 4, "A"), *Bm = cg_alloc_aligned((size_t)ROWS * 256, 4, "B");
    float *Cm = cg_alloc_aligned((size_t)ROWS * 256, 4, "C");
    if (!x || !y || !dout || !A || !Bm || !Cm) return 1;
    cg_rng r;
    cg_rng_init(&r, 1, CG_RNG_STREAM_USER, 0);
    for (size_t i = 0; i < (size_t)ROWS * 200; i++) x[i] = (float)(2 * cg_rng_uniform(&r) - 1);
    for (size_t i = 0; i < (size_t)ROWS * 2; i++) y[i] = (float)cg_rng_normal(&r);
    for (size_t i = 0; i < (size_t)ROWS * 256; i++) A[i] = Bm[i] = x[i % ((size_t)ROWS * 200)];
    cg_nn_adam_config opt = cg_nn_adam_defaults();
    /* Steps and the sgemm reference alternate, so both see the same machine load; the best
     * of each is reported (the machine may be shared), and the mean of the steps too. */
    double best = 1e30, total = 0, loss = 0, t_gemm = 1e30, cpu_best = 1e30;
    for (int s = 0; s < warmup + steps; s++) {
        double t0 = cg_time_s(), c0 = cg_cpu_time_s();
        const float *pred;
        cg_nn_mlp_forward(m, x, ROWS, &pred);
        loss = cg_nn_mse_forward(pred, y, NULL, NULL, (size_t)ROWS * 2);
        cg_nn_mlp_zero_grad(m);
        cg_nn_zero(dout, (size_t)ROWS * 2);
        cg_nn_mse_backward(dout, pred, y, NULL, NULL, (size_t)ROWS * 2, 1.0f);
        cg_nn_mlp_backward(m, dout, NULL);
        cg_nn_mlp_update(m, &opt, 1e-4f);
        double t = cg_time_s() - t0, ct = cg_cpu_time_s() - c0;
        if (s >= warmup) total += t, best = t < best ? t : best, cpu_best = ct < cpu_best ? ct : cpu_best;
        double tg = time_sgemm(&cfg, A, Bm, Cm);
        if (s >= warmup && tg < t_gemm) t_gemm = tg;
    }
    double flops = cg_nn_mlp_flops(&cfg, ROWS, 0), mean = total / steps;
    printf("{\"impl\": \"cryogen\", \"threads\": %d, \"step_ms_mean\": %.2f, \"step_ms_best\": %.2f, "
           "\"images_per_s\": %.1f, \"gflops\": %.2f, \"sgemm_ms\": %.2f, \"sgemm_gflops\": %.2f, "
           "\"pct_of_sgemm\": %.1f, \"cpu_ms_best\": %.2f, \"gflop_per_step\": %.3f, \"loss\": %.6f}\n",
           threads, 1e3 * mean, 1e3 * best, IMAGES / best, flops / best * 1e-9, 1e3 * t_gemm, flops / t_gemm * 1e-9,
           100.0 * t_gemm / best, 1e3 * cpu_best, flops * 1e-9, loss);
    fflush(stdout);
    free(x), free(y), free(dout), free(A), free(Bm), free(Cm);
    cg_nn_mlp_destroy(m);
    return 0;
}

int main(int argc, char **argv) {
    int threads = 0, steps = 10, warmup = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) warmup = atoi(argv[i + 1]);
        else return fprintf(stderr, "usage: bench_nn [--threads N] [--steps S] [--warmup W]\n"), 2;
    }
    if (steps < 1) steps = 1;
    if (threads > 0) return run(threads, steps, warmup);
    return run(1, steps, warmup) || run(2, steps, warmup);
}
